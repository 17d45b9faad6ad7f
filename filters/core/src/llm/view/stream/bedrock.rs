//! Bedrock ConverseStream events, in the SSE form the upstream router rewrites them into:
//! `contentBlockDelta` carries `delta.text`, `delta.toolUse.input` or
//! `delta.reasoningContent.text` for the block at `contentBlockIndex`.
//!
//! Events are told apart by their names, which this does not see; their fields tell them apart
//! as well: `messageStop` alone has a `stopReason`, and `contentBlockStop` is a bare
//! `contentBlockIndex`.

use super::{visit, Ends, Part, SlotVisitor, TextSlot};
use serde_json::{json, Map, Value};

pub(super) fn ends(body: &Map<String, Value>) -> Ends {
    if body.contains_key("stopReason") {
        Ends::All
    } else if body.len() == 1 {
        body.get("contentBlockIndex").and_then(Value::as_u64).map_or(Ends::Nothing, Ends::Group)
    } else {
        Ends::Nothing
    }
}

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut SlotVisitor<'_>) -> bool {
    let group = body.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
    let Some(delta) = body.get_mut("delta").and_then(Value::as_object_mut) else { return false };
    let mut changed = visit(TextSlot { group, part: Part::Text }, delta.get_mut("text"), f);
    let input = delta.get_mut("toolUse").and_then(|t| t.get_mut("input"));
    changed |= visit(TextSlot { group, part: Part::Tool(0) }, input, f);
    let reasoning = delta.get_mut("reasoningContent").and_then(|r| r.get_mut("text"));
    changed | visit(TextSlot { group, part: Part::Reasoning }, reasoning, f)
}

pub(super) fn text_event(slot: TextSlot, text: &str) -> (Option<&'static str>, Value) {
    let delta = match slot.part {
        Part::Tool(_) => json!({"toolUse": {"input": text}}),
        Part::Reasoning => json!({"reasoningContent": {"text": text}}),
        Part::Text | Part::Refusal => json!({"text": text}),
    };
    (Some("contentBlockDelta"), json!({"contentBlockIndex": slot.group, "delta": delta}))
}
