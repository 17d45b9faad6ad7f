//! AWS Bedrock's Converse API: `POST /model/{modelId}/converse` (JSON) and
//! `/model/{modelId}/converse-stream` (AWS's binary event stream: each event a frame with a
//! prelude, `:event-type` / `:content-type` / `:message-type` headers, a JSON payload and CRC32s).
//!
//! The mock does not check signatures: the tests put a botocore-backed SigV4 checkpoint in front
//! of it (e2e/harness/sigv4_proxy.py), so signatures are verified by an implementation
//! independent of the gateway's.

use crate::control::Controls;
use crate::conversation::{self, Answer, Conversation, Finish, ToolChoice, ToolDef};
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::sse;
use crate::tokens;
use bytes::Bytes;
use serde_json::{json, Value};

const ME: Provider = Provider::Bedrock;

/// What a `/model/{modelId}/…` call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Converse,
    ConverseStream,
    /// InvokeModel: the body is the model's own (the mock serves embeddings models).
    Invoke,
}

/// `/model/{modelId}/converse`, `/converse-stream` or `/invoke` → (model id, decoded; op).
pub fn route(path: &str) -> Option<(String, Op)> {
    let rest = path.strip_prefix("/model/")?;
    let (model, op) = rest.split_once('/')?;
    let op = match op {
        "converse" => Op::Converse,
        "converse-stream" => Op::ConverseStream,
        "invoke" => Op::Invoke,
        _ => return None,
    };
    let model = percent_decode(model)?;
    (!model.is_empty()).then_some((model, op))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Answers Converse and ConverseStream.
pub fn converse(body: &Value, model: &str, stream: bool, ctl: &Controls) -> Resp {
    let Some(conv) = read(body, model) else {
        return ME.error(400, "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null", ctl);
    };
    let answer = conversation::answer(&conv, ME.name(), ctl);
    if !stream {
        let out = json!({
            "output": {"message": {"role": "assistant", "content": content(&answer)}},
            "stopReason": stop_reason(&answer.finish),
            "usage": usage(&answer),
            "metrics": {"latencyMs": 1},
        });
        let mut resp = respond::json(200, &out, ctl);
        ME.tag(&mut resp);
        return resp;
    }
    let mut resp = respond::stream(frames(&answer, ctl), "application/vnd.amazon.eventstream", ctl);
    ME.tag(&mut resp);
    resp
}

fn read(body: &Value, model: &str) -> Option<Conversation> {
    let messages = body.get("messages")?.as_array()?;
    let mut conv = Conversation::new(model.to_string());
    for block in body.get("system").and_then(Value::as_array).into_iter().flatten() {
        conv.add_text(block.get("text").and_then(Value::as_str).unwrap_or_default());
    }
    for message in messages {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("user");
        let mut texts = Vec::new();
        let mut tool_result = None;
        for block in message.get("content").and_then(Value::as_array).into_iter().flatten() {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                conv.add_text(t);
                texts.push(t);
            } else if let Some(input) = block.pointer("/toolUse/input") {
                conv.input_tokens += tokens::json(input);
            } else if let Some(result) = block.get("toolResult") {
                let parts = result.get("content").and_then(Value::as_array).into_iter().flatten();
                let text: Vec<String> = parts
                    .map(|p| match (p.get("text").and_then(Value::as_str), p.get("json")) {
                        (Some(t), _) => t.to_string(),
                        (None, Some(j)) => j.to_string(),
                        _ => String::new(),
                    })
                    .collect();
                let text = text.join(" ");
                conv.input_tokens += tokens::text(&text);
                tool_result = Some(text);
            }
        }
        conv.last_is_user = role == "user" && tool_result.is_none();
        conv.tool_result = tool_result;
        if role == "user" && !texts.is_empty() {
            conv.last_user_text = texts.join(" ");
        }
    }
    let config = body.get("toolConfig");
    for tool in config.and_then(|c| c.get("tools")).and_then(Value::as_array).into_iter().flatten() {
        let Some(spec) = tool.get("toolSpec") else { continue };
        conv.input_tokens += tokens::json(spec);
        if let Some(name) = spec.get("name").and_then(Value::as_str) {
            let schema = spec.pointer("/inputSchema/json").cloned().unwrap_or(Value::Null);
            conv.tools.push(ToolDef { name: name.to_string(), schema });
        }
    }
    let choice = config.and_then(|c| c.get("toolChoice"));
    conv.tool_choice = match choice {
        Some(c) if c.get("any").is_some() => ToolChoice::Any,
        Some(c) => match c.pointer("/tool/name").and_then(Value::as_str) {
            Some(name) => ToolChoice::Named(name.to_string()),
            None => ToolChoice::Auto,
        },
        None => ToolChoice::Auto,
    };
    let inference = body.get("inferenceConfig");
    conv.max_tokens = inference.and_then(|c| c.get("maxTokens")).and_then(Value::as_u64);
    conv.stop = inference
        .and_then(|c| c.get("stopSequences"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Some(conv)
}

fn stop_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::StopSequence(_) => "stop_sequence",
        Finish::ToolUse => "tool_use",
    }
}

/// Content blocks: the text, or one `toolUse` per call.
fn content(a: &Answer) -> Vec<Value> {
    if a.calls.is_empty() {
        return vec![json!({"text": a.text})];
    }
    a.calls
        .iter()
        .map(|c| json!({"toolUse": {"toolUseId": ids::new("tooluse_"), "name": c.name, "input": c.args}}))
        .collect()
}

/// Bedrock counts cached prompt tokens apart from `inputTokens`, as Anthropic does.
fn usage(a: &Answer) -> Value {
    let mut u = json!({
        "inputTokens": a.input_tokens,
        "outputTokens": a.output_tokens,
        "totalTokens": a.input_tokens + a.output_tokens + a.extra.cache_read + a.extra.cache_write,
    });
    if a.extra.cache_read > 0 {
        u["cacheReadInputTokens"] = json!(a.extra.cache_read);
    }
    if a.extra.cache_write > 0 {
        u["cacheWriteInputTokens"] = json!(a.extra.cache_write);
    }
    u
}

/// The stream's events, each an event-stream frame.
fn frames(a: &Answer, ctl: &Controls) -> Vec<Bytes> {
    let mut events = vec![frame("messageStart", &json!({"role": "assistant"}))];
    if a.calls.is_empty() {
        for piece in sse::split(&a.text, ctl.chunks) {
            events
                .push(frame("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": piece}})));
        }
        events.push(frame("contentBlockStop", &json!({"contentBlockIndex": 0})));
    } else {
        for (i, c) in a.calls.iter().enumerate() {
            let start = json!({"toolUse": {"toolUseId": ids::new("tooluse_"), "name": c.name}});
            events.push(frame("contentBlockStart", &json!({"contentBlockIndex": i, "start": start})));
            let delta = json!({"toolUse": {"input": c.args_json}});
            events.push(frame("contentBlockDelta", &json!({"contentBlockIndex": i, "delta": delta})));
            events.push(frame("contentBlockStop", &json!({"contentBlockIndex": i})));
        }
    }
    events.push(frame("messageStop", &json!({"stopReason": stop_reason(&a.finish)})));
    events.push(frame("metadata", &json!({"usage": usage(a), "metrics": {"latencyMs": 1}})));
    events
}

/// One event-stream message: total length, headers length, prelude CRC, headers (each: name
/// length, name, type 7 = string, value length, value), payload, message CRC — big-endian.
pub fn frame(event_type: &str, payload: &Value) -> Bytes {
    let payload = payload.to_string();
    let mut headers = Vec::new();
    for (name, value) in
        [(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")]
    {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7);
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(payload.as_bytes());
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(out)
}

/// The exception name Bedrock puts in `x-amzn-ErrorType` for `status`.
pub fn error_type(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_the_model_id() {
        assert_eq!(
            route("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"),
            Some(("anthropic.claude-3-5-haiku-20241022-v1:0".to_string(), Op::ConverseStream))
        );
        assert_eq!(
            route("/model/amazon.nova-lite-v1:0/converse"),
            Some(("amazon.nova-lite-v1:0".to_string(), Op::Converse))
        );
        assert_eq!(route("/model/x/invoke"), Some(("x".to_string(), Op::Invoke)));
        assert_eq!(route("/model//converse"), None);
        assert_eq!(route("/model/x/invoke-with-response-stream"), None);
        assert_eq!(route("/model/%zz/converse"), None);
    }

    #[test]
    fn a_frame_has_its_lengths_and_crcs() {
        let f = frame("messageStop", &json!({"stopReason": "end_turn"}));
        let total = u32::from_be_bytes(f[0..4].try_into().unwrap()) as usize;
        assert_eq!(total, f.len());
        let headers = u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize;
        assert_eq!(u32::from_be_bytes(f[8..12].try_into().unwrap()), crc32fast::hash(&f[0..8]));
        assert_eq!(u32::from_be_bytes(f[total - 4..].try_into().unwrap()), crc32fast::hash(&f[..total - 4]));
        assert_eq!(&f[12 + headers..total - 4], br#"{"stopReason":"end_turn"}"#);
        assert_eq!(f[12] as usize, ":event-type".len());
    }
}
