//! Anthropic Messages: `system` (a string or text blocks) and `messages[]` whose `content` is a
//! string or blocks — `text`, `tool_use` (its `input` object), `tool_result` (a string or
//! blocks); answers are `content` blocks.

use super::{insert, visit_leaves, visit_string, MutVisitor, Position, Role, TextKind, ViewError};
use serde_json::{json, Map, Value};

fn blocks(content: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    match content {
        Value::String(text) => f(kind, text),
        Value::Array(blocks) => {
            blocks.iter_mut().fold(false, |changed, block| block_texts(block, kind, f) | changed)
        }
        _ => false,
    }
}

fn block_texts(block: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    let Some(block) = block.as_object_mut() else { return false };
    match block.get("type").and_then(Value::as_str) {
        Some("text") => block.get_mut("text").is_some_and(|t| visit_string(t, kind, f)),
        Some("tool_use") => {
            block.get_mut("input").is_some_and(|i| visit_leaves(i, TextKind::ToolCallArguments, f))
        }
        Some("tool_result") => block.get_mut("content").is_some_and(|c| blocks(c, TextKind::ToolResult, f)),
        _ => false,
    }
}

pub(super) fn request_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let mut changed = body.get_mut("system").is_some_and(|s| blocks(s, TextKind::System, f));
    if let Some(Value::Array(messages)) = body.get_mut("messages") {
        for message in messages.iter_mut() {
            let kind = match message.get("role").and_then(Value::as_str) {
                Some("assistant") => TextKind::Assistant,
                _ => TextKind::User,
            };
            changed |= message.get_mut("content").is_some_and(|c| blocks(c, kind, f));
        }
    }
    changed
}

pub(super) fn response_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    body.get_mut("content").is_some_and(|c| blocks(c, TextKind::Assistant, f))
}

pub(super) fn add_message(
    body: &mut Map<String, Value>,
    role: Role,
    position: Position,
    text: &str,
) -> Result<bool, ViewError> {
    let role = match role {
        // `system` is a string or an array of text blocks; the client's choice is kept.
        Role::System => {
            match body.get_mut("system") {
                None | Some(Value::Null) => {
                    body.insert("system".into(), Value::String(text.to_string()));
                }
                Some(Value::String(existing)) => {
                    *existing = match position {
                        Position::Prepend | Position::BeforeLastUser => format!("{text}\n\n{existing}"),
                        Position::Append => format!("{existing}\n\n{text}"),
                    };
                }
                Some(Value::Array(blocks)) => insert(blocks, position, json!({"type": "text", "text": text})),
                Some(_) => return Err(ViewError::field("system", "a string or an array")),
            }
            return Ok(true);
        }
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    insert(super::list(body, "messages")?, position, json!({"role": role, "content": text}));
    Ok(true)
}

pub(super) fn message_count(body: &Map<String, Value>) -> usize {
    let system = usize::from(body.get("system").is_some_and(|s| !s.is_null()));
    system.saturating_add(body.get("messages").and_then(Value::as_array).map_or(0, Vec::len))
}
