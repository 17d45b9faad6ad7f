//! OpenAI chat completion chunks: `choices[i].delta` carries `content`, `reasoning_content`,
//! `refusal` and `tool_calls[j].function.arguments`; a choice's `finish_reason` ends it.

use super::{first_finished, index_or, visit, Ends, Part, SlotVisitor, TextSlot};
use serde_json::{json, Map, Value};

pub(super) fn ends(body: &Map<String, Value>) -> Ends {
    first_finished(body.get("choices"), "finish_reason")
}

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut SlotVisitor<'_>) -> bool {
    let Some(Value::Array(choices)) = body.get_mut("choices") else { return false };
    let mut changed = false;
    for (i, choice) in choices.iter_mut().enumerate() {
        let group = index_or(choice, i);
        let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) else { continue };
        changed |= visit(TextSlot { group, part: Part::Text }, delta.get_mut("content"), f);
        changed |= visit(TextSlot { group, part: Part::Reasoning }, delta.get_mut("reasoning_content"), f);
        changed |= visit(TextSlot { group, part: Part::Refusal }, delta.get_mut("refusal"), f);
        let Some(Value::Array(calls)) = delta.get_mut("tool_calls") else { continue };
        for (j, call) in calls.iter_mut().enumerate() {
            let tool = index_or(call, j);
            let arguments = call.get_mut("function").and_then(|f| f.get_mut("arguments"));
            changed |= visit(TextSlot { group, part: Part::Tool(tool) }, arguments, f);
        }
    }
    changed
}

pub(super) fn text_event(
    slot: TextSlot,
    text: &str,
    ids: &Map<String, Value>,
) -> (Option<&'static str>, Value) {
    let delta = match slot.part {
        Part::Tool(tool) => json!({"tool_calls": [{"index": tool, "function": {"arguments": text}}]}),
        Part::Reasoning => json!({"reasoning_content": text}),
        Part::Refusal => json!({"refusal": text}),
        Part::Text => json!({"content": text}),
    };
    let mut event = ids.clone();
    event.insert("choices".into(), json!([{"index": slot.group, "delta": delta, "finish_reason": null}]));
    (None, Value::Object(event))
}
