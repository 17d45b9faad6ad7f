//! OpenAI Chat Completions (and Azure OpenAI, which shares the body format): request reading and
//! `chat.completion` / `chat.completion.chunk` rendering.

use crate::control::Controls;
use crate::conversation::{self, content_texts, Answer, Conversation, Finish, ToolChoice, ToolDef};
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::sse;
use crate::tokens;
use bytes::Bytes;
use serde_json::{json, Value};

/// Answers `POST /v1/chat/completions` (or Azure's deployment form, `model` = the deployment).
pub fn chat(provider: Provider, body: &Value, model: Option<&str>, ctl: &Controls) -> Resp {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        let msg = "Missing required parameter: 'messages'.";
        return provider.error(400, msg, ctl);
    };
    let model = model.or_else(|| body.get("model").and_then(Value::as_str)).unwrap_or_default();
    let conv = read(body, messages, model);
    let answer = conversation::answer(&conv, provider.name(), ctl);
    let mut resp = if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let usage = body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
        respond::stream(stream(&conv.model, &answer, usage, ctl), "text/event-stream; charset=utf-8", ctl)
    } else {
        respond::json(200, &completion(&conv.model, &answer), ctl)
    };
    provider.tag(&mut resp);
    resp
}

/// Whether an Azure request may carry `stream_options`: API versions before 2024-08-01(-preview)
/// refuse the field (400 "Unrecognized request argument supplied"), as Azure does. Versions are
/// dates and order as strings; a request without `stream_options` always may, and so does one
/// without a version (Azure's `/openai/v1/` API, whose path Groq's also is).
pub fn azure_knows_stream_options(query: Option<&str>, body: &Value) -> bool {
    let version = query.into_iter().flat_map(|q| q.split('&')).find_map(|kv| kv.strip_prefix("api-version="));
    body.get("stream_options").is_none() || version.is_none_or(|v| v >= "2024-08-01")
}

fn read(body: &Value, messages: &[Value], model: &str) -> Conversation {
    let mut conv = Conversation::new(model.to_string());
    for msg in messages {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or_default();
        let texts = msg.get("content").map(content_texts).unwrap_or_default();
        texts.iter().for_each(|t| conv.add_text(t));
        for call in msg.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let args = call.pointer("/function/arguments").and_then(Value::as_str);
            conv.input_tokens += tokens::text(args.unwrap_or_default());
        }
        conv.last_is_user = role == "user";
        conv.tool_result = None;
        match role {
            "user" => conv.last_user_text = texts.join(" "),
            "tool" | "function" => conv.tool_result = Some(texts.join(" ")),
            _ => {}
        }
    }
    for tool in body.get("tools").and_then(Value::as_array).into_iter().flatten() {
        conv.input_tokens += tokens::json(tool);
        if let Some(name) = tool.pointer("/function/name").and_then(Value::as_str) {
            let schema = tool.pointer("/function/parameters").cloned().unwrap_or(Value::Null);
            conv.tools.push(ToolDef { name: name.to_string(), schema });
        }
    }
    conv.tool_choice = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => ToolChoice::None,
        Some(Value::String(s)) if s == "required" => ToolChoice::Any,
        Some(choice @ Value::Object(_)) => choice
            .pointer("/function/name")
            .and_then(Value::as_str)
            .map_or(ToolChoice::Auto, |n| ToolChoice::Named(n.to_string())),
        _ => ToolChoice::Auto,
    };
    conv.max_tokens =
        body.get("max_completion_tokens").or_else(|| body.get("max_tokens")).and_then(Value::as_u64);
    conv.stop = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
        _ => Vec::new(),
    };
    conv
}

fn finish_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::StopSequence(_) => "stop",
        Finish::Length => "length",
        Finish::ToolUse => "tool_calls",
    }
}

fn usage(a: &Answer) -> Value {
    json!({
        // Cached tokens are part of the prompt's count; reasoning tokens are billed as output.
        "prompt_tokens": a.input_tokens,
        "completion_tokens": a.output_tokens + a.extra.reasoning,
        "total_tokens": a.input_tokens + a.output_tokens + a.extra.reasoning,
        "prompt_tokens_details": {"cached_tokens": a.extra.cache_read.min(a.input_tokens), "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": a.extra.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

fn call_id(i: usize) -> String {
    format!("{}{i}", ids::new("call_"))
}

fn completion(model: &str, a: &Answer) -> Value {
    let mut message = json!({"role": "assistant", "content": null, "refusal": null, "annotations": []});
    if a.calls.is_empty() {
        message["content"] = json!(a.text);
    } else {
        let calls: Vec<Value> = a
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"id": call_id(i), "type": "function",
                "function": {"name": c.name, "arguments": c.args_json}})
            })
            .collect();
        message["tool_calls"] = json!(calls);
    }
    json!({
        "id": ids::new("chatcmpl-"),
        "object": "chat.completion",
        "created": ids::now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null,
                     "finish_reason": finish_reason(&a.finish)}],
        "usage": usage(a),
        "service_tier": "default",
        "system_fingerprint": "fp_mock",
    })
}

/// The chunk events: role, content (or tool call) deltas, finish, optional usage, `[DONE]`.
fn stream(model: &str, a: &Answer, include_usage: bool, ctl: &Controls) -> Vec<Bytes> {
    let id = ids::new("chatcmpl-");
    let created = ids::now();
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        sse::data(&c)
    };
    let mut events = Vec::new();
    if a.calls.is_empty() {
        events.push(chunk(json!({"role": "assistant", "content": "", "refusal": null}), None));
        for piece in sse::split(&a.text, ctl.chunks) {
            events.push(chunk(json!({"content": piece}), None));
        }
    } else {
        events.push(chunk(json!({"role": "assistant", "content": null, "refusal": null}), None));
        for (i, call) in a.calls.iter().enumerate() {
            let head = json!({"index": i, "id": call_id(i), "type": "function",
                              "function": {"name": call.name, "arguments": ""}});
            events.push(chunk(json!({"tool_calls": [head]}), None));
            for piece in sse::split(&call.args_json, ctl.chunks) {
                let frag = json!({"index": i, "function": {"arguments": piece}});
                events.push(chunk(json!({"tool_calls": [frag]}), None));
            }
        }
    }
    events.push(chunk(json!({}), Some(finish_reason(&a.finish))));
    if include_usage {
        let last = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock", "choices": [], "usage": usage(a),
        });
        events.push(sse::data(&last));
    }
    events.push(sse::done());
    events
}

/// `GET /v1/models`.
pub fn models(ctl: &Controls) -> Resp {
    let data: Vec<Value> = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "text-embedding-3-small"]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "portcullis-mock"}))
        .collect();
    respond::json(200, &json!({"object": "list", "data": data}), ctl)
}

/// `GET /v1/models/{id}`: every id exists.
pub fn model(id: &str, ctl: &Controls) -> Resp {
    let out = json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "portcullis-mock"});
    respond::json(200, &out, ctl)
}
