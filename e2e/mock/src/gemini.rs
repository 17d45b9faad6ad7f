//! Gemini `generateContent` / `streamGenerateContent` (Google AI and Vertex AI paths share the
//! body format): request reading and `GenerateContentResponse` rendering.
//!
//! Streams are SSE with `alt=sse` (what the SDKs ask for), otherwise a JSON array sent element by
//! element, as the real API does. Every stream chunk carries `usageMetadata` with a running
//! candidate count, the last chunk's being final.

use crate::control::Controls;
use crate::conversation::{self, Answer, Conversation, Finish, ToolChoice, ToolDef};
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::sse;
use crate::tokens;
use bytes::Bytes;
use serde_json::{json, Value};

const ME: Provider = Provider::Gemini;

/// Answers `…/models/{model}:generateContent` and `:streamGenerateContent`.
pub fn generate(body: &Value, model: &str, stream: bool, sse_mode: bool, ctl: &Controls) -> Resp {
    let Some(conv) = read(body, model) else {
        return ME.error(400, "* GenerateContentRequest.contents: contents is not specified", ctl);
    };
    let answer = conversation::answer(&conv, ME.name(), ctl);
    let response_id = ids::new("");
    if !stream {
        let parts = parts(&answer.text, &answer);
        let out = response(model, &response_id, parts, Some(&answer.finish), &answer, answer.output_tokens);
        return respond::json(200, &out, ctl);
    }
    let chunks = chunks(model, &response_id, &answer, ctl);
    if sse_mode {
        let events = chunks.iter().map(sse::data_crlf).collect();
        respond::stream(events, "text/event-stream", ctl)
    } else {
        let last = chunks.len().saturating_sub(1);
        let events = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let open = if i == 0 { "[" } else { "" };
                let close = if i == last { "]" } else { ",\r\n" };
                Bytes::from(format!("{open}{c}{close}"))
            })
            .collect();
        respond::stream(events, "application/json; charset=UTF-8", ctl)
    }
}

/// Answers `:countTokens`.
pub fn count_tokens(body: &Value, model: &str, ctl: &Controls) -> Resp {
    // countTokens may wrap the request: {"generateContentRequest": {...}}.
    let inner = body.get("generateContentRequest").unwrap_or(body);
    let total = read(inner, model).map_or(0, |c| c.input_tokens);
    respond::json(200, &json!({"totalTokens": total}), ctl)
}

fn read(body: &Value, model: &str) -> Option<Conversation> {
    let contents = body.get("contents")?.as_array()?;
    let mut conv = Conversation::new(model.to_string());
    let system = body.pointer("/systemInstruction/parts").and_then(Value::as_array);
    for part in system.into_iter().flatten() {
        conv.add_text(part.get("text").and_then(Value::as_str).unwrap_or_default());
    }
    for content in contents {
        let role = content.get("role").and_then(Value::as_str).unwrap_or("user");
        let mut texts = Vec::new();
        let mut tool_result = None;
        for part in content.get("parts").and_then(Value::as_array).into_iter().flatten() {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                conv.add_text(t);
                texts.push(t);
            } else if let Some(args) = part.pointer("/functionCall/args") {
                conv.input_tokens += tokens::json(args);
            } else if let Some(fr) = part.get("functionResponse") {
                let response = fr.get("response").unwrap_or(&Value::Null);
                conv.input_tokens += tokens::json(response);
                tool_result = Some(response.to_string());
            }
        }
        conv.last_is_user = role == "user" && tool_result.is_none();
        conv.tool_result = tool_result;
        if role == "user" && !texts.is_empty() {
            conv.last_user_text = texts.join(" ");
        }
    }
    for tool in body.get("tools").and_then(Value::as_array).into_iter().flatten() {
        let decls = tool.get("functionDeclarations").and_then(Value::as_array);
        for decl in decls.into_iter().flatten() {
            conv.input_tokens += tokens::json(decl);
            if let Some(name) = decl.get("name").and_then(Value::as_str) {
                let schema = decl
                    .get("parametersJsonSchema")
                    .or_else(|| decl.get("parameters"))
                    .cloned()
                    .unwrap_or(Value::Null);
                conv.tools.push(ToolDef { name: name.to_string(), schema });
            }
        }
    }
    let calling = body.pointer("/toolConfig/functionCallingConfig");
    let allowed = calling
        .and_then(|c| c.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str);
    conv.tool_choice = match calling.and_then(|c| c.get("mode")).and_then(Value::as_str) {
        Some("NONE") => ToolChoice::None,
        Some("ANY") => allowed.map_or(ToolChoice::Any, |n| ToolChoice::Named(n.to_string())),
        _ => ToolChoice::Auto,
    };
    let config = body.get("generationConfig");
    conv.max_tokens = config.and_then(|c| c.get("maxOutputTokens")).and_then(Value::as_u64);
    conv.stop = config
        .and_then(|c| c.get("stopSequences"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Some(conv)
}

fn finish_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolUse => "STOP",
    }
}

/// Content parts: the text piece, or all function calls.
fn parts(text: &str, a: &Answer) -> Vec<Value> {
    if a.calls.is_empty() {
        vec![json!({"text": text})]
    } else {
        a.calls.iter().map(|c| json!({"functionCall": {"name": c.name, "args": c.args}})).collect()
    }
}

fn response(
    model: &str,
    response_id: &str,
    parts: Vec<Value>,
    finish: Option<&Finish>,
    a: &Answer,
    output_so_far: u64,
) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(f) = finish {
        candidate["finishReason"] = json!(finish_reason(f));
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": {
            // Cached content is part of the prompt's count; thoughts are counted apart.
            "promptTokenCount": a.input_tokens,
            "candidatesTokenCount": output_so_far,
            "cachedContentTokenCount": a.extra.cache_read.min(a.input_tokens),
            "thoughtsTokenCount": a.extra.reasoning,
            "totalTokenCount": a.input_tokens + output_so_far + a.extra.reasoning,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": a.input_tokens}],
        },
        "modelVersion": model,
        "responseId": response_id,
    })
}

/// Stream chunks: one per text piece (function calls arrive whole in one chunk), the last one
/// with the finish reason.
fn chunks(model: &str, response_id: &str, a: &Answer, ctl: &Controls) -> Vec<Value> {
    if !a.calls.is_empty() {
        let parts = parts("", a);
        return vec![response(model, response_id, parts, Some(&a.finish), a, a.output_tokens)];
    }
    let pieces = sse::split(&a.text, ctl.chunks);
    if pieces.is_empty() {
        return vec![response(model, response_id, parts("", a), Some(&a.finish), a, 0)];
    }
    let last = pieces.len() - 1;
    let mut so_far = 0;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            so_far += piece.len();
            let finish = (i == last).then_some(&a.finish);
            let words = tokens::words(&a.text[..so_far]);
            response(model, response_id, parts(piece, a), finish, a, words)
        })
        .collect()
}
