//! OpenAI chat completions: `messages[]` with `content` a string or text parts; assistant
//! `tool_calls[].function.arguments` (a JSON string); answers in `choices[].message`.

use super::{insert, list, visit_string, MutVisitor, Position, Role, TextKind, ViewError};
use serde_json::{json, Map, Value};

fn kind_of(role: Option<&str>) -> TextKind {
    match role {
        Some("system" | "developer") => TextKind::System,
        Some("assistant") => TextKind::Assistant,
        Some("tool" | "function") => TextKind::ToolResult,
        _ => TextKind::User,
    }
}

/// A message's `content`, a string or an array of parts (text parts visited).
pub(super) fn content(content: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    match content {
        Value::String(text) => f(kind, text),
        Value::Array(parts) => parts.iter_mut().fold(false, |changed, part| {
            let is_text = part.get("type").and_then(Value::as_str) == Some("text");
            let visited = is_text && part.get_mut("text").is_some_and(|t| visit_string(t, kind, f));
            visited | changed
        }),
        _ => false,
    }
}

fn tool_calls(message: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let Some(Value::Array(calls)) = message.get_mut("tool_calls") else { return false };
    calls.iter_mut().fold(false, |changed, call| {
        let args = call.get_mut("function").and_then(|f| f.get_mut("arguments"));
        args.is_some_and(|a| visit_string(a, TextKind::ToolCallArguments, f)) | changed
    })
}

pub(super) fn request_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let Some(Value::Array(messages)) = body.get_mut("messages") else { return false };
    messages.iter_mut().fold(false, |changed, message| {
        let Some(message) = message.as_object_mut() else { return changed };
        let kind = kind_of(message.get("role").and_then(Value::as_str));
        let mut visited = message.get_mut("content").is_some_and(|c| content(c, kind, f));
        visited |= tool_calls(message, f);
        visited | changed
    })
}

pub(super) fn response_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let Some(Value::Array(choices)) = body.get_mut("choices") else { return false };
    choices.iter_mut().fold(false, |changed, choice| {
        let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) else { return changed };
        let mut visited = message.get_mut("content").is_some_and(|c| content(c, TextKind::Assistant, f));
        visited |= tool_calls(message, f);
        visited | changed
    })
}

pub(super) fn add_message(
    body: &mut Map<String, Value>,
    role: Role,
    position: Position,
    text: &str,
) -> Result<bool, ViewError> {
    let role = match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    insert(list(body, "messages")?, position, json!({"role": role, "content": text}));
    Ok(true)
}

pub(super) fn message_count(body: &Map<String, Value>) -> usize {
    body.get("messages").and_then(Value::as_array).map_or(0, Vec::len)
}
