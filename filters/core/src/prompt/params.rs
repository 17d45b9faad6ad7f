//! Sampling parameters by policy: defaults (set when the client did not), overrides (set
//! whatever it sent), and a ceiling on output tokens (clamp, or refuse naming the limit) —
//! written once, through the view's per-format parameter names
//! ([`crate::llm::view::params`]).

use super::policy::{Ceiling, CeilingAction};
use crate::llm::view::params::{Param, Params};
use crate::llm::view::{RequestView, ViewError};

/// Why a request's parameters were refused (a 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

impl From<ViewError> for ParamError {
    fn from(e: ViewError) -> Self {
        ParamError(e.0)
    }
}

/// Sets each of `defaults` the request does not set.
pub fn apply_defaults(view: &mut RequestView, defaults: &Params) -> Result<(), ParamError> {
    for (param, value) in defaults.values() {
        if view.param(param).is_none() {
            view.set_param(param, &value)?;
        }
    }
    Ok(())
}

/// Sets each of `overrides`, whatever the request sent.
pub fn apply_overrides(view: &mut RequestView, overrides: &Params) -> Result<(), ParamError> {
    for (param, value) in overrides.values() {
        view.set_param(param, &value)?;
    }
    Ok(())
}

/// Holds the request's output-token cap to `ceiling`. A request that sets none gets the
/// ceiling (a provider's own default may be far above it).
pub fn apply_ceiling(view: &mut RequestView, ceiling: &Ceiling) -> Result<(), ParamError> {
    let asked = view.param(Param::MaxOutputTokens);
    let asked = match asked {
        None => None,
        Some(v) => {
            Some(v.as_u64().ok_or_else(|| ParamError("the output token cap is not a whole number".into()))?)
        }
    };
    match asked {
        Some(n) if n <= ceiling.limit => Ok(()),
        Some(n) if ceiling.action == CeilingAction::Reject => Err(ParamError(format!(
            "the request asks for {n} output tokens; the limit here is {}",
            ceiling.limit
        ))),
        _ => {
            view.set_param(Param::MaxOutputTokens, &serde_json::json!(ceiling.limit))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::api::WireApi;
    use serde_json::{json, Value};

    fn view(api: WireApi, body: Value) -> RequestView {
        RequestView::parse(api, body.to_string().as_bytes()).unwrap()
    }

    fn params(v: Value) -> Params {
        serde_json::from_value(v).unwrap()
    }

    fn body(v: RequestView) -> Value {
        serde_json::from_slice(&v.into_bytes().unwrap_or_default()).unwrap_or(Value::Null)
    }

    #[test]
    fn defaults_fill_gaps_and_overrides_win() {
        let mut v = view(WireApi::OpenAiChat, json!({"temperature": 0.9, "messages": []}));
        apply_defaults(&mut v, &params(json!({"temperature": 0.2, "topP": 0.5}))).unwrap();
        apply_overrides(&mut v, &params(json!({"seed": 42}))).unwrap();
        let out = body(v);
        assert_eq!(
            (out["temperature"].clone(), out["top_p"].clone(), out["seed"].clone()),
            (json!(0.9), json!(0.5), json!(42))
        );

        let mut v =
            view(WireApi::GeminiGenerate, json!({"contents": [], "generationConfig": {"temperature": 0.9}}));
        apply_overrides(&mut v, &params(json!({"temperature": 0.1, "stop": ["END"]}))).unwrap();
        assert_eq!(body(v)["generationConfig"], json!({"temperature": 0.1, "stopSequences": ["END"]}));
    }

    #[test]
    fn the_ceiling_clamps_refuses_or_fills_in() {
        let clamp = Ceiling { limit: 100, action: CeilingAction::Clamp };
        let reject = Ceiling { limit: 100, action: CeilingAction::Reject };
        let mut v = view(WireApi::AnthropicMessages, json!({"max_tokens": 500}));
        apply_ceiling(&mut v, &clamp).unwrap();
        assert_eq!(body(v)["max_tokens"], 100);
        let mut v = view(WireApi::OpenAiChat, json!({"max_tokens": 500}));
        let err = apply_ceiling(&mut v, &reject).unwrap_err();
        assert!(err.0.contains("500") && err.0.contains("100"), "{err:?}");
        let mut v = view(WireApi::GeminiGenerate, json!({"contents": []}));
        apply_ceiling(&mut v, &reject).unwrap();
        assert_eq!(body(v)["generationConfig"]["maxOutputTokens"], 100, "absent: the ceiling");
        let mut v = view(WireApi::OpenAiChat, json!({"max_completion_tokens": 50}));
        apply_ceiling(&mut v, &reject).unwrap();
        assert!(!v.changed(), "under the ceiling: untouched");
        let mut v = view(WireApi::OpenAiChat, json!({"max_completion_tokens": "lots"}));
        assert!(apply_ceiling(&mut v, &reject).is_err());
    }
}
