//! Anthropic Messages events: `content_block_delta` carries `text_delta`, `thinking_delta` or
//! `input_json_delta` for the block at `index`, `content_block_start` may open a block with
//! text; `content_block_stop` ends one block, `message_delta`/`message_stop` all of them.

use super::{visit, Ends, Part, SlotVisitor, TextSlot};
use serde_json::{json, Map, Value};

pub(super) fn ends(body: &Map<String, Value>) -> Ends {
    match body.get("type").and_then(Value::as_str) {
        Some("content_block_stop") => {
            body.get("index").and_then(Value::as_u64).map_or(Ends::Nothing, Ends::Group)
        }
        Some("message_delta" | "message_stop") => Ends::All,
        _ => Ends::Nothing,
    }
}

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut SlotVisitor<'_>) -> bool {
    let group = body.get("index").and_then(Value::as_u64).unwrap_or(0);
    match body.get("type").and_then(Value::as_str) {
        Some("content_block_delta") => {
            let Some(delta) = body.get_mut("delta").and_then(Value::as_object_mut) else { return false };
            let (part, field) = match delta.get("type").and_then(Value::as_str) {
                Some("text_delta") => (Part::Text, "text"),
                Some("input_json_delta") => (Part::Tool(0), "partial_json"),
                Some("thinking_delta") => (Part::Reasoning, "thinking"),
                _ => return false,
            };
            visit(TextSlot { group, part }, delta.get_mut(field), f)
        }
        Some("content_block_start") => {
            let Some(block) = body.get_mut("content_block").and_then(Value::as_object_mut) else {
                return false;
            };
            let text = visit(TextSlot { group, part: Part::Text }, block.get_mut("text"), f);
            text | visit(TextSlot { group, part: Part::Reasoning }, block.get_mut("thinking"), f)
        }
        _ => false,
    }
}

pub(super) fn text_event(slot: TextSlot, text: &str) -> (Option<&'static str>, Value) {
    let delta = match slot.part {
        Part::Tool(_) => json!({"type": "input_json_delta", "partial_json": text}),
        Part::Reasoning => json!({"type": "thinking_delta", "thinking": text}),
        Part::Text | Part::Refusal => json!({"type": "text_delta", "text": text}),
    };
    (Some("content_block_delta"), json!({"type": "content_block_delta", "index": slot.group, "delta": delta}))
}
