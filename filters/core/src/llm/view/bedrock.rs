//! Bedrock Converse: `system[]` (`{"text"}` entries) and `messages[]` whose `content[]` blocks
//! hold `text`, `toolUse.input` (an object) or `toolResult.content[]` (`text` or `json`
//! entries); answers are `output.message.content[]`.
//!
//! Converse wants user and assistant turns to alternate, so an added message next to a turn of
//! its own role joins that turn (after any tool results leading it) instead of standing alone.

use super::{
    is_user_question, list, visit_leaves, visit_string, MutVisitor, Position, Role, TextKind, ViewError,
};
use serde_json::{json, Map, Value};

fn blocks(content: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    let Some(blocks) = content.as_array_mut() else { return false };
    blocks.iter_mut().fold(false, |changed, block| block_texts(block, kind, f) | changed)
}

fn block_texts(block: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    let Some(block) = block.as_object_mut() else { return false };
    let mut changed = block.get_mut("text").is_some_and(|t| visit_string(t, kind, f));
    changed |= block
        .get_mut("toolUse")
        .and_then(|t| t.get_mut("input"))
        .is_some_and(|i| visit_leaves(i, TextKind::ToolCallArguments, f));
    if let Some(Value::Array(results)) = block.get_mut("toolResult").and_then(|r| r.get_mut("content")) {
        for result in results.iter_mut() {
            changed |= result.get_mut("text").is_some_and(|t| visit_string(t, TextKind::ToolResult, f));
            changed |= result.get_mut("json").is_some_and(|j| visit_leaves(j, TextKind::ToolResult, f));
        }
    }
    changed
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
    body.get_mut("output")
        .and_then(|o| o.get_mut("message"))
        .and_then(|m| m.get_mut("content"))
        .is_some_and(|c| blocks(c, TextKind::Assistant, f))
}

pub(super) fn add_message(
    body: &mut Map<String, Value>,
    role: Role,
    position: Position,
    text: &str,
) -> Result<bool, ViewError> {
    let block = json!({"text": text});
    let role = match role {
        Role::System => {
            super::insert(list(body, "system")?, position, block);
            return Ok(true);
        }
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let messages = list(body, "messages")?;
    let at = match position {
        Position::Prepend => 0,
        Position::Append => messages.len(),
        // Without a user question, the message goes last.
        Position::BeforeLastUser => messages.iter().rposition(is_user_question).unwrap_or(messages.len()),
    };
    let role_of = |m: &Value| m.get("role").and_then(Value::as_str) == Some(role);
    if messages.get(at).is_some_and(role_of) {
        let content = content_of(messages.get_mut(at))?;
        let after_results = content.iter().take_while(|b| b.get("toolResult").is_some()).count();
        content.insert(after_results, block);
    } else if let Some(previous) = at.checked_sub(1).and_then(|p| messages.get_mut(p)).filter(|m| role_of(m))
    {
        content_of(Some(previous))?.push(block);
    } else {
        messages.insert(at, json!({"role": role, "content": [block]}));
    }
    Ok(true)
}

fn content_of(message: Option<&mut Value>) -> Result<&mut Vec<Value>, ViewError> {
    message
        .and_then(|m| m.get_mut("content"))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| ViewError::field("messages[].content", "an array"))
}

pub(super) fn message_count(body: &Map<String, Value>) -> usize {
    let system = usize::from(body.get("system").and_then(Value::as_array).is_some_and(|s| !s.is_empty()));
    system.saturating_add(body.get("messages").and_then(Value::as_array).map_or(0, Vec::len))
}
