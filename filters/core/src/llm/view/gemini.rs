//! Gemini generateContent: `systemInstruction.parts[]` and `contents[]` (role `user` or
//! `model`) whose `parts[]` hold `text`, `functionCall.args` or `functionResponse.response`;
//! answers are `candidates[].content.parts[]`.

use super::{insert, list, visit_leaves, visit_string, MutVisitor, Position, Role, TextKind, ViewError};
use serde_json::{json, Map, Value};

fn parts(content: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    let Some(Value::Array(parts)) = content.get_mut("parts") else { return false };
    parts.iter_mut().fold(false, |changed, part| {
        let Some(part) = part.as_object_mut() else { return changed };
        let mut visited = part.get_mut("text").is_some_and(|t| visit_string(t, kind, f));
        visited |= part
            .get_mut("functionCall")
            .and_then(|c| c.get_mut("args"))
            .is_some_and(|a| visit_leaves(a, TextKind::ToolCallArguments, f));
        visited |= part
            .get_mut("functionResponse")
            .and_then(|r| r.get_mut("response"))
            .is_some_and(|r| visit_leaves(r, TextKind::ToolResult, f));
        visited | changed
    })
}

pub(super) fn request_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let mut changed = body.get_mut("systemInstruction").is_some_and(|s| parts(s, TextKind::System, f));
    if let Some(Value::Array(contents)) = body.get_mut("contents") {
        for content in contents.iter_mut() {
            let kind = match content.get("role").and_then(Value::as_str) {
                Some("model") => TextKind::Assistant,
                _ => TextKind::User,
            };
            changed |= parts(content, kind, f);
        }
    }
    changed
}

pub(super) fn response_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let Some(Value::Array(candidates)) = body.get_mut("candidates") else { return false };
    candidates.iter_mut().fold(false, |changed, candidate| {
        candidate.get_mut("content").is_some_and(|c| parts(c, TextKind::Assistant, f)) | changed
    })
}

pub(super) fn add_message(
    body: &mut Map<String, Value>,
    role: Role,
    position: Position,
    text: &str,
) -> Result<bool, ViewError> {
    match role {
        Role::System => {
            let instruction = body
                .entry("systemInstruction")
                .or_insert_with(|| json!({"parts": []}))
                .as_object_mut()
                .ok_or_else(|| ViewError::field("systemInstruction", "an object"))?;
            insert(list(instruction, "parts")?, position, json!({"text": text}));
        }
        Role::User | Role::Assistant => {
            let role = if role == Role::User { "user" } else { "model" };
            insert(list(body, "contents")?, position, json!({"role": role, "parts": [{"text": text}]}));
        }
    }
    Ok(true)
}

pub(super) fn message_count(body: &Map<String, Value>) -> usize {
    let system = usize::from(body.get("systemInstruction").is_some_and(|s| !s.is_null()));
    system.saturating_add(body.get("contents").and_then(Value::as_array).map_or(0, Vec::len))
}
