//! Sampling parameters, format-neutrally: each [`Param`] has a name per wire format, and a
//! value shape per format where they differ (`stop` is a string or a list in OpenAI's, always a
//! list elsewhere; the response format is OpenAI's `response_format` object or Gemini's
//! `responseMimeType`/`responseSchema`). Converse keeps its four in `inferenceConfig`.
//!
//! A parameter a format cannot express (a seed or a response format on Anthropic) is reported
//! as such ([`ParamSupport::Unsupported`]) rather than written where the provider would refuse
//! it.

use super::{Request, View, ViewError};
use crate::llm::api::WireApi;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A sampling parameter a policy may default, force or bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    Temperature,
    TopP,
    /// The cap on output tokens: `max_completion_tokens` (OpenAI; `max_tokens` is read too),
    /// `max_tokens` (Anthropic), `generationConfig.maxOutputTokens` (Gemini).
    MaxOutputTokens,
    /// Stop sequences, as a list.
    Stop,
    Seed,
    /// `text` or `json` (JSON mode).
    ResponseFormat,
}

/// Parameter values as configured (camelCase names, one shape for every format).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    #[serde(default)]
    pub seed: Option<i64>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseFormat {
    Text,
    Json,
}

impl Params {
    /// The set values, each as its neutral JSON value.
    pub fn values(&self) -> Vec<(Param, Value)> {
        let mut out = Vec::new();
        if let Some(v) = self.temperature {
            out.push((Param::Temperature, json!(v)));
        }
        if let Some(v) = self.top_p {
            out.push((Param::TopP, json!(v)));
        }
        if let Some(v) = self.max_output_tokens {
            out.push((Param::MaxOutputTokens, json!(v)));
        }
        if let Some(v) = &self.stop {
            out.push((Param::Stop, json!(v)));
        }
        if let Some(v) = self.seed {
            out.push((Param::Seed, json!(v)));
        }
        if let Some(v) = self.response_format {
            let name = if v == ResponseFormat::Json { "json" } else { "text" };
            out.push((Param::ResponseFormat, json!(name)));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.values().is_empty()
    }
}

/// Whether a format can carry a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSupport {
    Supported,
    Unsupported,
}

/// Where a parameter lives in a format: the object holding it (`None`: the body itself;
/// Gemini's `generationConfig`, Converse's `inferenceConfig`) and its key there.
fn location(api: WireApi, param: Param) -> Option<(Option<&'static str>, &'static str)> {
    const GEMINI: Option<&str> = Some("generationConfig");
    const BEDROCK: Option<&str> = Some("inferenceConfig");
    Some(match (api, param) {
        (WireApi::OpenAiChat, Param::Temperature) => (None, "temperature"),
        (WireApi::OpenAiChat, Param::TopP) => (None, "top_p"),
        (WireApi::OpenAiChat, Param::MaxOutputTokens) => (None, "max_completion_tokens"),
        (WireApi::OpenAiChat, Param::Stop) => (None, "stop"),
        (WireApi::OpenAiChat, Param::Seed) => (None, "seed"),
        (WireApi::OpenAiChat, Param::ResponseFormat) => (None, "response_format"),
        (WireApi::AnthropicMessages, Param::Temperature) => (None, "temperature"),
        (WireApi::AnthropicMessages, Param::TopP) => (None, "top_p"),
        (WireApi::AnthropicMessages, Param::MaxOutputTokens) => (None, "max_tokens"),
        (WireApi::AnthropicMessages, Param::Stop) => (None, "stop_sequences"),
        (WireApi::GeminiGenerate, Param::Temperature) => (GEMINI, "temperature"),
        (WireApi::GeminiGenerate, Param::TopP) => (GEMINI, "topP"),
        (WireApi::GeminiGenerate, Param::MaxOutputTokens) => (GEMINI, "maxOutputTokens"),
        (WireApi::GeminiGenerate, Param::Stop) => (GEMINI, "stopSequences"),
        (WireApi::GeminiGenerate, Param::Seed) => (GEMINI, "seed"),
        (WireApi::GeminiGenerate, Param::ResponseFormat) => (GEMINI, "responseMimeType"),
        (WireApi::BedrockConverse, Param::Temperature) => (BEDROCK, "temperature"),
        (WireApi::BedrockConverse, Param::TopP) => (BEDROCK, "topP"),
        (WireApi::BedrockConverse, Param::MaxOutputTokens) => (BEDROCK, "maxTokens"),
        (WireApi::BedrockConverse, Param::Stop) => (BEDROCK, "stopSequences"),
        _ => return None,
    })
}

/// The request's own cap on output tokens ([`Param::MaxOutputTokens`]) read straight from its
/// bytes, without a view: the usage filter's admission needs only this field, and a view of a
/// long prompt would build every message. Embeddings produce no output: 0.
pub fn output_cap(api: WireApi, body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct OpenAi {
        max_completion_tokens: Option<u64>,
        max_tokens: Option<u64>,
    }
    #[derive(Deserialize)]
    struct Anthropic {
        max_tokens: Option<u64>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Gemini {
        generation_config: Option<GenerationConfig>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GenerationConfig {
        max_output_tokens: Option<u64>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Bedrock {
        inference_config: Option<InferenceConfig>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct InferenceConfig {
        max_tokens: Option<u64>,
    }
    match api {
        WireApi::OpenAiChat => {
            serde_json::from_slice::<OpenAi>(body).ok().and_then(|b| b.max_completion_tokens.or(b.max_tokens))
        }
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => Some(0),
        WireApi::AnthropicMessages => serde_json::from_slice::<Anthropic>(body).ok()?.max_tokens,
        WireApi::GeminiGenerate => {
            serde_json::from_slice::<Gemini>(body).ok()?.generation_config?.max_output_tokens
        }
        WireApi::BedrockConverse => {
            serde_json::from_slice::<Bedrock>(body).ok()?.inference_config?.max_tokens
        }
    }
}

impl View<Request> {
    pub fn supports(&self, param: Param) -> ParamSupport {
        match location(self.api, param) {
            Some(_) => ParamSupport::Supported,
            None => ParamSupport::Unsupported,
        }
    }

    /// A parameter's value, neutral shape (`stop` as a list, the response format as `"json"` or
    /// `"text"`). `None`: not set (or not expressible in this format).
    pub fn param(&self, param: Param) -> Option<Value> {
        let (container, key) = location(self.api, param)?;
        let holder = match container {
            Some(name) => self.body.get(name)?.as_object()?,
            None => &self.body,
        };
        let value = holder.get(key).filter(|v| !v.is_null());
        match (self.api, param) {
            // OpenAI: the deprecated `max_tokens` counts when the current name is absent.
            (WireApi::OpenAiChat, Param::MaxOutputTokens) => {
                value.or_else(|| holder.get("max_tokens")).cloned()
            }
            (WireApi::OpenAiChat, Param::Stop) => match value? {
                Value::String(s) => Some(json!([s])),
                other => Some(other.clone()),
            },
            (WireApi::OpenAiChat, Param::ResponseFormat) => {
                let kind = value?.get("type")?.as_str()?;
                Some(json!(if kind == "text" { "text" } else { "json" }))
            }
            (WireApi::GeminiGenerate, Param::ResponseFormat) => {
                let mime = value?.as_str()?;
                Some(json!(if mime == "application/json" { "json" } else { "text" }))
            }
            _ => value.cloned(),
        }
    }

    /// Sets a parameter (neutral shape, as [`View::param`] returns it). Unsupported in this
    /// format: nothing is written.
    pub fn set_param(&mut self, param: Param, value: &Value) -> Result<ParamSupport, ViewError> {
        let Some((container, key)) = location(self.api, param) else {
            return Ok(ParamSupport::Unsupported);
        };
        let value = match (self.api, param) {
            (WireApi::OpenAiChat, Param::ResponseFormat) => {
                let json = value.as_str() == Some("json");
                json!({"type": if json { "json_object" } else { "text" }})
            }
            (WireApi::GeminiGenerate, Param::ResponseFormat) => {
                json!(if value.as_str() == Some("json") { "application/json" } else { "text/plain" })
            }
            _ => value.clone(),
        };
        let holder = match container {
            Some(name) => self
                .body
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(|| ViewError::field(name, "an object"))?,
            None => &mut self.body,
        };
        if self.api == WireApi::OpenAiChat && param == Param::MaxOutputTokens {
            // One cap, under the current name.
            holder.remove("max_tokens");
        }
        holder.insert(key.to_string(), value);
        self.changed = true;
        Ok(ParamSupport::Supported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::view::RequestView;

    fn view(api: WireApi, body: Value) -> RequestView {
        RequestView::parse(api, body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn each_parameter_under_each_formats_name() {
        let cases = [
            (
                WireApi::OpenAiChat,
                json!({"temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "stop": "END", "seed": 7, "response_format": {"type": "json_object"}}),
            ),
            (
                WireApi::AnthropicMessages,
                json!({"temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "stop_sequences": ["END"]}),
            ),
            (
                WireApi::GeminiGenerate,
                json!({"generationConfig": {"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 10, "stopSequences": ["END"], "seed": 7, "responseMimeType": "application/json"}}),
            ),
            (
                WireApi::BedrockConverse,
                json!({"inferenceConfig": {"temperature": 0.5, "topP": 0.9, "maxTokens": 10, "stopSequences": ["END"]}}),
            ),
        ];
        for (api, body) in cases {
            let v = view(api, body);
            assert_eq!(v.param(Param::Temperature), Some(json!(0.5)), "{api}");
            assert_eq!(v.param(Param::TopP), Some(json!(0.9)), "{api}");
            assert_eq!(v.param(Param::MaxOutputTokens), Some(json!(10)), "{api}");
            assert_eq!(v.param(Param::Stop), Some(json!(["END"])), "{api}");
            if !matches!(api, WireApi::AnthropicMessages | WireApi::BedrockConverse) {
                assert_eq!(v.param(Param::Seed), Some(json!(7)), "{api}");
                assert_eq!(v.param(Param::ResponseFormat), Some(json!("json")), "{api}");
            }
        }
    }

    #[test]
    fn setting_writes_the_formats_own_shape() {
        let mut v = view(WireApi::OpenAiChat, json!({"max_tokens": 99}));
        v.set_param(Param::MaxOutputTokens, &json!(50)).unwrap();
        v.set_param(Param::ResponseFormat, &json!("json")).unwrap();
        let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
        assert_eq!(out, json!({"max_completion_tokens": 50, "response_format": {"type": "json_object"}}));

        let mut v = view(WireApi::GeminiGenerate, json!({"contents": []}));
        v.set_param(Param::Temperature, &json!(0.1)).unwrap();
        v.set_param(Param::ResponseFormat, &json!("json")).unwrap();
        let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
        assert_eq!(
            out["generationConfig"],
            json!({"temperature": 0.1, "responseMimeType": "application/json"})
        );

        let mut v = view(WireApi::BedrockConverse, json!({"messages": []}));
        v.set_param(Param::MaxOutputTokens, &json!(64)).unwrap();
        let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
        assert_eq!(out["inferenceConfig"], json!({"maxTokens": 64}));

        let mut v = view(WireApi::AnthropicMessages, json!({"max_tokens": 10}));
        assert_eq!(v.set_param(Param::Seed, &json!(1)).unwrap(), ParamSupport::Unsupported);
        assert!(!v.changed(), "nothing written where the provider would refuse it");
    }

    #[test]
    fn a_generation_config_of_the_wrong_type_is_an_error() {
        let mut v = view(WireApi::GeminiGenerate, json!({"generationConfig": 3}));
        assert!(v.set_param(Param::Temperature, &json!(0.1)).is_err());
        assert_eq!(v.param(Param::Temperature), None);
    }
}
