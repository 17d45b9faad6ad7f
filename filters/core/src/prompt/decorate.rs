//! Prompt decorators: messages the gateway adds to every request.
//!
//! Decorators run after the router, on the provider-native body, so each wire format gets its
//! own placement: a system decorator becomes an OpenAI `system` message, part of Anthropic's
//! top-level `system`, or Gemini's `systemInstruction`.

use crate::llm::api::WireApi;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptConfig {
    #[serde(default)]
    pub decorators: Vec<Decorator>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decorator {
    pub role: Role,
    pub content: String,
    #[serde(default)]
    pub position: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// Before the client's own system text or messages.
    #[default]
    Prepend,
    /// After them.
    Append,
}

/// Why a body could not be decorated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub &'static str);

/// Applies `decorators` to a request body in `api`'s format. Returns whether anything changed.
pub fn apply(api: WireApi, body: &mut Value, decorators: &[Decorator]) -> Result<bool, ShapeError> {
    if decorators.is_empty() || api == WireApi::OpenAiEmbeddings {
        return Ok(false);
    }
    let obj = body.as_object_mut().ok_or(ShapeError("request body is not a JSON object"))?;
    for d in decorators {
        match api {
            WireApi::OpenAiChat => {
                let role = match d.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                let messages = array_field(obj, "messages")?;
                insert(messages, d.position, json!({"role": role, "content": d.content}));
            }
            WireApi::AnthropicMessages => match d.role {
                Role::System => decorate_anthropic_system(obj, d)?,
                Role::User | Role::Assistant => {
                    let role = if d.role == Role::User { "user" } else { "assistant" };
                    insert(
                        array_field(obj, "messages")?,
                        d.position,
                        json!({"role": role, "content": d.content}),
                    );
                }
            },
            WireApi::GeminiGenerate => match d.role {
                Role::System => {
                    let instruction = obj
                        .entry("systemInstruction")
                        .or_insert_with(|| json!({"parts": []}))
                        .as_object_mut()
                        .ok_or(ShapeError("`systemInstruction` is not an object"))?;
                    insert(array_field(instruction, "parts")?, d.position, json!({"text": d.content}));
                }
                Role::User | Role::Assistant => {
                    let role = if d.role == Role::User { "user" } else { "model" };
                    let part = json!({"role": role, "parts": [{"text": d.content}]});
                    insert(array_field(obj, "contents")?, d.position, part);
                }
            },
            WireApi::OpenAiEmbeddings => {}
        }
    }
    Ok(true)
}

fn array_field<'a>(
    obj: &'a mut Map<String, Value>,
    field: &'static str,
) -> Result<&'a mut Vec<Value>, ShapeError> {
    obj.entry(field)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or(ShapeError("a messages field is not an array"))
}

fn insert(list: &mut Vec<Value>, position: Position, item: Value) {
    match position {
        Position::Prepend => list.insert(0, item),
        Position::Append => list.push(item),
    }
}

/// Anthropic's `system` is a string or an array of text blocks; keep whichever the client used.
fn decorate_anthropic_system(obj: &mut Map<String, Value>, d: &Decorator) -> Result<(), ShapeError> {
    match obj.get_mut("system") {
        None | Some(Value::Null) => {
            obj.insert("system".into(), Value::String(d.content.clone()));
        }
        Some(Value::String(existing)) => {
            *existing = match d.position {
                Position::Prepend => format!("{}\n\n{existing}", d.content),
                Position::Append => format!("{existing}\n\n{}", d.content),
            };
        }
        Some(Value::Array(blocks)) => insert(blocks, d.position, json!({"type": "text", "text": d.content})),
        Some(_) => return Err(ShapeError("`system` is neither a string nor an array")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decorators(json: &str) -> Vec<Decorator> {
        serde_json::from_str::<PromptConfig>(json).unwrap().decorators
    }

    #[test]
    fn openai_system_prepended_and_user_appended() {
        let d = decorators(
            r#"{"decorators":[{"role":"system","content":"Be brief."},{"role":"user","content":"Sign off.","position":"append"}]}"#,
        );
        let mut body = json!({"model":"m","messages":[{"role":"user","content":"hi"}]});
        assert!(apply(WireApi::OpenAiChat, &mut body, &d).unwrap());
        assert_eq!(
            body["messages"],
            json!([{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"user","content":"Sign off."}])
        );
    }

    #[test]
    fn anthropic_system_string_and_blocks() {
        let d = decorators(r#"{"decorators":[{"role":"system","content":"Be brief."}]}"#);
        let mut body = json!({"system":"You are kind.","messages":[]});
        apply(WireApi::AnthropicMessages, &mut body, &d).unwrap();
        assert_eq!(body["system"], "Be brief.\n\nYou are kind.");
        let mut body = json!({"system":[{"type":"text","text":"A"}],"messages":[]});
        apply(WireApi::AnthropicMessages, &mut body, &d).unwrap();
        assert_eq!(body["system"], json!([{"type":"text","text":"Be brief."},{"type":"text","text":"A"}]));
        let mut body = json!({"messages":[]});
        apply(WireApi::AnthropicMessages, &mut body, &d).unwrap();
        assert_eq!(body["system"], "Be brief.");
    }

    #[test]
    fn gemini_system_instruction() {
        let d = decorators(r#"{"decorators":[{"role":"system","content":"Be brief."}]}"#);
        let mut body = json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}]});
        apply(WireApi::GeminiGenerate, &mut body, &d).unwrap();
        assert_eq!(body["systemInstruction"], json!({"parts":[{"text":"Be brief."}]}));
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let d = decorators(r#"{"decorators":[{"role":"system","content":"x"}]}"#);
        assert!(apply(WireApi::OpenAiChat, &mut json!([1, 2]), &d).is_err());
        assert!(apply(WireApi::OpenAiChat, &mut json!({"messages": "no"}), &d).is_err());
        assert!(apply(WireApi::AnthropicMessages, &mut json!({"system": 3}), &d).is_err());
    }

    #[test]
    fn embeddings_untouched() {
        let d = decorators(r#"{"decorators":[{"role":"system","content":"x"}]}"#);
        let mut body = json!({"input":"x"});
        assert!(!apply(WireApi::OpenAiEmbeddings, &mut body, &d).unwrap());
        assert_eq!(body, json!({"input":"x"}));
    }
}
