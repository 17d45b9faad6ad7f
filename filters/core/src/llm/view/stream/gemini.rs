//! Gemini `GenerateContentResponse` chunks: `candidates[i].content.parts[].text` arrive in
//! pieces, `functionCall.args` whole (an object); a candidate's `finishReason` ends it.

use super::{first_finished, index_or, visit, Ends, Part, SlotVisitor, TextSlot};
use serde_json::{json, Map, Value};

pub(super) fn ends(body: &Map<String, Value>) -> Ends {
    first_finished(body.get("candidates"), "finishReason")
}

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut SlotVisitor<'_>) -> bool {
    let Some(Value::Array(candidates)) = body.get_mut("candidates") else { return false };
    let mut changed = false;
    for (i, candidate) in candidates.iter_mut().enumerate() {
        let group = index_or(candidate, i);
        let parts = candidate.get_mut("content").and_then(|c| c.get_mut("parts"));
        let Some(Value::Array(parts)) = parts else { continue };
        for part in parts.iter_mut() {
            changed |= visit(TextSlot { group, part: Part::Text }, part.get_mut("text"), f);
        }
    }
    changed
}

pub(super) fn whole_texts(body: &mut Map<String, Value>, f: &mut dyn FnMut(&mut String) -> bool) -> bool {
    let Some(Value::Array(candidates)) = body.get_mut("candidates") else { return false };
    let mut changed = false;
    for candidate in candidates.iter_mut() {
        let parts = candidate.get_mut("content").and_then(|c| c.get_mut("parts"));
        let Some(Value::Array(parts)) = parts else { continue };
        for part in parts.iter_mut() {
            if let Some(args) = part.get_mut("functionCall").and_then(|c| c.get_mut("args")) {
                changed |= every_string(args, f);
            }
        }
    }
    changed
}

fn every_string(value: &mut Value, f: &mut dyn FnMut(&mut String) -> bool) -> bool {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().fold(false, |c, v| every_string(v, f) | c),
        Value::Object(map) => map.values_mut().fold(false, |c, v| every_string(v, f) | c),
        _ => false,
    }
}

pub(super) fn text_event(
    slot: TextSlot,
    text: &str,
    ids: &Map<String, Value>,
) -> (Option<&'static str>, Value) {
    let mut event = ids.clone();
    event.insert(
        "candidates".into(),
        json!([{"content": {"role": "model", "parts": [{"text": text}]}, "index": slot.group}]),
    );
    (None, Value::Object(event))
}
