//! Anthropic Messages API: request reading, `message` JSON and the named-event stream
//! (`message_start` … `message_stop`).

use crate::control::Controls;
use crate::conversation::{self, content_texts, Answer, Conversation, Finish, ToolChoice, ToolDef};
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::sse;
use crate::tokens;
use bytes::Bytes;
use serde_json::{json, Value};

const ME: Provider = Provider::Anthropic;

/// Answers `POST /v1/messages`.
pub fn messages(body: &Value, ctl: &Controls) -> Resp {
    let Some(conv) = read(body) else {
        return ME.error(400, "messages: Field required", ctl);
    };
    let answer = conversation::answer(&conv, ME.name(), ctl);
    let mut resp = if body.get("stream").and_then(Value::as_bool) == Some(true) {
        respond::stream(stream(&conv.model, &answer, ctl), "text/event-stream; charset=utf-8", ctl)
    } else {
        respond::json(200, &message(&conv.model, &answer), ctl)
    };
    ME.tag(&mut resp);
    resp
}

/// Answers `POST /v1/messages/count_tokens`.
pub fn count_tokens(body: &Value, ctl: &Controls) -> Resp {
    let Some(conv) = read(body) else {
        return ME.error(400, "messages: Field required", ctl);
    };
    respond::json(200, &json!({"input_tokens": conv.input_tokens}), ctl)
}

fn read(body: &Value) -> Option<Conversation> {
    let messages = body.get("messages")?.as_array()?;
    let model = body.get("model").and_then(Value::as_str).unwrap_or_default();
    let mut conv = Conversation::new(model.to_string());
    if let Some(system) = body.get("system") {
        content_texts(system).iter().for_each(|t| conv.add_text(t));
    }
    for msg in messages {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = msg.get("content").unwrap_or(&Value::Null);
        let texts = content_texts(content);
        texts.iter().for_each(|t| conv.add_text(t));
        let mut tool_result = None;
        for block in content.as_array().into_iter().flatten() {
            match block.get("type").and_then(Value::as_str) {
                Some("tool_use") => {
                    conv.input_tokens += block.get("input").map_or(0, tokens::json);
                }
                Some("tool_result") => {
                    let result = block.get("content").map(content_texts).unwrap_or_default();
                    conv.input_tokens += result.iter().map(|t| tokens::text(t)).sum::<u64>();
                    tool_result = Some(result.join(" "));
                }
                _ => {}
            }
        }
        conv.last_is_user = role == "user" && tool_result.is_none();
        conv.tool_result = tool_result;
        if role == "user" && !texts.is_empty() {
            conv.last_user_text = texts.join(" ");
        }
    }
    for tool in body.get("tools").and_then(Value::as_array).into_iter().flatten() {
        conv.input_tokens += tokens::json(tool);
        if let Some(name) = tool.get("name").and_then(Value::as_str) {
            let schema = tool.get("input_schema").cloned().unwrap_or(Value::Null);
            conv.tools.push(ToolDef { name: name.to_string(), schema });
        }
    }
    let choice = body.get("tool_choice");
    conv.tool_choice = match choice.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("none") => ToolChoice::None,
        Some("any") => ToolChoice::Any,
        Some("tool") => choice
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map_or(ToolChoice::Any, |n| ToolChoice::Named(n.to_string())),
        _ => ToolChoice::Auto,
    };
    conv.max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    conv.stop = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Some(conv)
}

fn stop_reason(f: &Finish) -> (&'static str, Value) {
    match f {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", json!(s)),
        Finish::ToolUse => ("tool_use", Value::Null),
    }
}

/// Anthropic counts cache reads and writes apart from `input_tokens`.
fn usage(a: &Answer, output: u64) -> Value {
    json!({"input_tokens": a.input_tokens, "cache_creation_input_tokens": a.extra.cache_write,
           "cache_read_input_tokens": a.extra.cache_read, "output_tokens": output, "service_tier": "standard"})
}

fn message(model: &str, a: &Answer) -> Value {
    let content: Vec<Value> = if a.calls.is_empty() {
        vec![json!({"type": "text", "text": a.text})]
    } else {
        a.calls
            .iter()
            .map(|c| json!({"type": "tool_use", "id": ids::new("toolu_"), "name": c.name, "input": c.args}))
            .collect()
    };
    let (reason, sequence) = stop_reason(&a.finish);
    json!({
        "id": ids::new("msg_"), "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": reason, "stop_sequence": sequence,
        "usage": usage(a, a.output_tokens),
    })
}

fn stream(model: &str, a: &Answer, ctl: &Controls) -> Vec<Bytes> {
    let start = json!({
        "id": ids::new("msg_"), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": usage(a, 1),
    });
    let mut events = vec![sse::named("message_start", &json!({"type": "message_start", "message": start}))];
    // (block, deltas): a text block with text deltas, or one tool_use block per call.
    let blocks: Vec<(Value, Vec<Value>)> = if a.calls.is_empty() {
        let deltas = sse::split(&a.text, ctl.chunks)
            .into_iter()
            .map(|t| json!({"type": "text_delta", "text": t}))
            .collect();
        vec![(json!({"type": "text", "text": ""}), deltas)]
    } else {
        a.calls
            .iter()
            .map(|c| {
                let block =
                    json!({"type": "tool_use", "id": ids::new("toolu_"), "name": c.name, "input": {}});
                let deltas = sse::split(&c.args_json, ctl.chunks)
                    .into_iter()
                    .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                    .collect();
                (block, deltas)
            })
            .collect()
    };
    for (index, (block, deltas)) in blocks.into_iter().enumerate() {
        events.push(sse::named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        if index == 0 {
            events.push(sse::named("ping", &json!({"type": "ping"})));
        }
        for delta in deltas {
            events.push(sse::named(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push(sse::named("content_block_stop", &json!({"type": "content_block_stop", "index": index})));
    }
    let (reason, sequence) = stop_reason(&a.finish);
    events.push(sse::named(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": {"output_tokens": a.output_tokens}}),
    ));
    events.push(sse::named("message_stop", &json!({"type": "message_stop"})));
    events
}
