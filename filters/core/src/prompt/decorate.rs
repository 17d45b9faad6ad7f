//! Prompt decorators: messages the gateway adds to every request, written once over the
//! format-neutral view: a system decorator becomes an OpenAI `system` message, part of
//! Anthropic's top-level `system`, or Gemini's `systemInstruction`
//! ([`RequestView::add_message`]).

use crate::llm::view::{Position, RequestView, Role, ViewError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decorator {
    pub role: Role,
    pub content: String,
    /// Before (default) or after the client's own system text or messages.
    #[serde(default)]
    pub position: Position,
}

/// Applies `decorators`, in order.
pub fn apply(view: &mut RequestView, decorators: &[Decorator]) -> Result<(), ViewError> {
    for d in decorators {
        view.add_message(d.role, d.position, &d.content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::api::WireApi;
    use serde_json::{json, Value};

    fn decorate(api: WireApi, body: Value, config: &str) -> Value {
        let decorators = serde_json::from_str::<crate::prompt::PromptConfig>(config).unwrap().decorators;
        let mut view = RequestView::parse(api, body.to_string().as_bytes()).unwrap();
        apply(&mut view, &decorators).unwrap();
        view.into_bytes().map_or(body, |b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn decorators_apply_in_order_in_each_format() {
        let config = r#"{"decorators":[{"role":"system","content":"Be brief."},{"role":"user","content":"Sign off.","position":"append"}]}"#;
        let out = decorate(
            WireApi::OpenAiChat,
            json!({"model":"m","messages":[{"role":"user","content":"hi"}]}),
            config,
        );
        assert_eq!(
            out["messages"],
            json!([{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"user","content":"Sign off."}])
        );
        let out =
            decorate(WireApi::AnthropicMessages, json!({"system":"You are kind.","messages":[]}), config);
        assert_eq!(out["system"], "Be brief.\n\nYou are kind.");
        assert_eq!(out["messages"], json!([{"role":"user","content":"Sign off."}]));
        let out = decorate(
            WireApi::GeminiGenerate,
            json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}]}),
            config,
        );
        assert_eq!(out["systemInstruction"], json!({"parts":[{"text":"Be brief."}]}));
        let out = decorate(WireApi::OpenAiEmbeddings, json!({"input":"x"}), config);
        assert_eq!(out, json!({"input":"x"}));
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = crate::common::config::parse::<crate::prompt::PromptConfig>(Some(
            br#"{"decorators":[{"role":"robot","content":"x"}]}"#,
        ))
        .unwrap_err();
        assert_eq!(err.path, "decorators[0].role");
    }
}
