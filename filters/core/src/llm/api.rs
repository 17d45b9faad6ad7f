//! Wire APIs: the request/response formats the gateway speaks, on either side.
//!
//! A client speaks one API (decided by its path); a provider speaks one (decided by its kind).
//! When they differ the router translates. Other filters learn the upstream API from filter state
//! and work on provider-native bodies through it.

use crate::common::error::ErrorKind;
use crate::http::host::Headers;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireApi {
    /// OpenAI `POST /v1/chat/completions`, also spoken by Azure and the OpenAI-compatible family.
    #[serde(rename = "openai-chat")]
    OpenAiChat,
    /// OpenAI `POST /v1/embeddings`.
    #[serde(rename = "openai-embeddings")]
    OpenAiEmbeddings,
    /// Anthropic `POST /v1/messages`.
    #[serde(rename = "anthropic-messages")]
    AnthropicMessages,
    /// Gemini `models/{model}:generateContent` and `:streamGenerateContent`.
    #[serde(rename = "gemini-generate")]
    GeminiGenerate,
    /// AWS Bedrock `model/{modelId}/converse` and `/converse-stream`: a provider-side format
    /// only (no client speaks it), so it is never a client's error shape.
    #[serde(rename = "bedrock-converse")]
    BedrockConverse,
    /// AWS Bedrock `model/{modelId}/invoke` with an embeddings model's own body (Titan Text
    /// Embeddings: one `inputText`; Cohere Embed: `texts[]`). Provider side only, like Converse.
    #[serde(rename = "bedrock-embeddings")]
    BedrockEmbeddings,
}

impl WireApi {
    pub const fn as_str(self) -> &'static str {
        match self {
            WireApi::OpenAiChat => "openai-chat",
            WireApi::OpenAiEmbeddings => "openai-embeddings",
            WireApi::AnthropicMessages => "anthropic-messages",
            WireApi::GeminiGenerate => "gemini-generate",
            WireApi::BedrockConverse => "bedrock-converse",
            WireApi::BedrockEmbeddings => "bedrock-embeddings",
        }
    }

    /// An embeddings API: no messages, no streams, no output tokens.
    pub const fn is_embeddings(self) -> bool {
        matches!(self, WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings)
    }

    /// One of Bedrock's runtime APIs: errors are `{"message"}` with the exception named by the
    /// status (and `x-amzn-ErrorType`).
    pub const fn is_bedrock(self) -> bool {
        matches!(self, WireApi::BedrockConverse | WireApi::BedrockEmbeddings)
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::OpenAiChat,
            Self::OpenAiEmbeddings,
            Self::AnthropicMessages,
            Self::GeminiGenerate,
            Self::BedrockConverse,
            Self::BedrockEmbeddings,
        ]
        .into_iter()
        .find(|api| api.as_str() == s)
    }

    /// The error shape clients of this API understand.
    pub const fn error_shape(self) -> ErrorShape {
        match self {
            // No client speaks Bedrock's APIs: their shape is never rendered for one (OpenAI's
            // stands in).
            WireApi::OpenAiChat
            | WireApi::OpenAiEmbeddings
            | WireApi::BedrockConverse
            | WireApi::BedrockEmbeddings => ErrorShape::OpenAi,
            WireApi::AnthropicMessages => ErrorShape::Anthropic,
            WireApi::GeminiGenerate => ErrorShape::Gemini,
        }
    }
}

impl fmt::Display for WireApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an error body is shaped for a client (defined with the errors, named here too).
pub use crate::common::error::ErrorShape;

/// A client request the gateway understands, classified from method and path alone (before the
/// body arrives, so the router knows whether to buffer it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    /// A request with a JSON body naming its model (`model` field).
    Inference(WireApi),
    /// A Gemini request: the model is in the path, streaming is in the verb.
    Gemini { model: String, stream: bool },
    /// `GET /v1/models` (OpenAI, or Anthropic by its version header) or `GET /v1beta/models`
    /// (Gemini, in this API), answered by the gateway from its route table.
    ListModels(WireApi),
}

impl ClientRequest {
    /// The API the client speaks: the shape of every answer the gateway gives it. (A model
    /// list's SDK is told apart by its headers: [`list_models_api`].)
    pub fn api(&self) -> WireApi {
        match self {
            ClientRequest::Inference(api) | ClientRequest::ListModels(api) => *api,
            ClientRequest::Gemini { .. } => WireApi::GeminiGenerate,
        }
    }
}

/// The API a request's client speaks, from method, path and headers alone — for a filter that
/// must answer a request the router did not route (or before it did). Paths of no API the
/// gateway knows: OpenAI's shape.
pub fn client_api(method: &str, path: &str, headers: &Headers) -> WireApi {
    match classify(method, path) {
        Some(ClientRequest::ListModels(classified)) => list_models_api(classified, headers),
        Some(request) => request.api(),
        None => refusal(method, path).map_or(WireApi::OpenAiChat, |r| r.api),
    }
}

/// Classifies a request by method and path. `None`: not an LLM API the gateway knows.
pub fn classify(method: &str, path: &str) -> Option<ClientRequest> {
    let path_only = path.split_once('?').map_or(path, |(p, _)| p);
    let path_only = path_only.trim_end_matches('/');
    match (method, path_only) {
        ("POST", "/v1/chat/completions" | "/chat/completions") => {
            Some(ClientRequest::Inference(WireApi::OpenAiChat))
        }
        ("POST", "/v1/embeddings" | "/embeddings") => {
            Some(ClientRequest::Inference(WireApi::OpenAiEmbeddings))
        }
        ("POST", "/v1/messages") => Some(ClientRequest::Inference(WireApi::AnthropicMessages)),
        ("GET", "/v1/models" | "/models") => Some(ClientRequest::ListModels(WireApi::OpenAiChat)),
        ("GET", "/v1beta/models") => Some(ClientRequest::ListModels(WireApi::GeminiGenerate)),
        ("POST", p) => gemini_model_call(p),
        _ => None,
    }
}

/// Whose SDK asks `GET /v1/models` (classified as OpenAI's): Anthropic's and Google's call the
/// same path, and their own headers tell them apart. The list, and any refusal, is answered in
/// that SDK's shape.
pub fn list_models_api(classified: WireApi, headers: &Headers) -> WireApi {
    if classified != WireApi::OpenAiChat {
        classified
    } else if headers.get("anthropic-version").is_some() {
        WireApi::AnthropicMessages
    } else if headers.get("x-goog-api-key").is_some() || headers.get("x-goog-api-client").is_some() {
        WireApi::GeminiGenerate
    } else {
        WireApi::OpenAiChat
    }
}

/// A path in one of the LLM APIs the gateway serves, which it does not serve: answered in that
/// API's error shape instead of reaching Envoy's default route (whose 404 is OpenAI's shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub api: WireApi,
    pub kind: ErrorKind,
    pub message: String,
}

/// `None`: not a path of an API the gateway speaks (left to Envoy's own routes), or a path
/// [`classify`] accepts.
pub fn refusal(method: &str, path: &str) -> Option<Refusal> {
    let path_only = path.split_once('?').map_or(path, |(p, _)| p).trim_end_matches('/');
    let refuse = |api, kind, message: String| Some(Refusal { api, kind, message });
    let wrong_method = |api| {
        refuse(api, ErrorKind::MethodNotAllowed, format!("{method} is not allowed on {path_only}; use POST"))
    };
    match path_only {
        "/v1/chat/completions" | "/chat/completions" | "/v1/embeddings" | "/embeddings"
            if method != "POST" =>
        {
            wrong_method(WireApi::OpenAiChat)
        }
        "/v1/messages" if method != "POST" => wrong_method(WireApi::AnthropicMessages),
        p if p.starts_with("/v1/messages/") => refuse(
            WireApi::AnthropicMessages,
            ErrorKind::NotImplemented,
            format!("{path_only} is not supported by this gateway"),
        ),
        p if p == "/v1beta" || p.starts_with("/v1beta/") || is_gemini_model_method(p) => {
            let unsupported = [
                "countTokens",
                "embedContent",
                "batchEmbedContents",
                "generateContent",
                "streamGenerateContent",
            ];
            let verb = p.rsplit_once(':').map(|(_, v)| v).filter(|v| unsupported.contains(v));
            match verb {
                Some(v @ ("generateContent" | "streamGenerateContent")) if method != "POST" => refuse(
                    WireApi::GeminiGenerate,
                    ErrorKind::MethodNotAllowed,
                    format!("{method} is not allowed on :{v}; use POST"),
                ),
                Some(v) if !matches!(v, "generateContent" | "streamGenerateContent") => refuse(
                    WireApi::GeminiGenerate,
                    ErrorKind::NotImplemented,
                    format!(":{v} is not supported by this gateway"),
                ),
                _ => refuse(
                    WireApi::GeminiGenerate,
                    ErrorKind::NotFound,
                    format!("no Gemini API at {path_only}"),
                ),
            }
        }
        _ => None,
    }
}

/// `/v1/models/{model}:{verb}`: google-genai's default (`/v1/`) form of a model method.
fn is_gemini_model_method(path: &str) -> bool {
    path.strip_prefix("/v1/models/").is_some_and(|rest| rest.contains(':'))
}

/// Gemini's API also takes the key as a query parameter (`?key=…`). Returns the path without
/// it and the decoded key, so the key can travel as `x-goog-api-key` — where the credentials
/// filter reads, checks and removes client keys — and never sits in a logged path. Other
/// parameters (`alt=sse`) are kept as sent. `None`: no `key` parameter.
pub fn take_query_key(path: &str) -> Option<(String, String)> {
    let (base, query) = path.split_once('?')?;
    let mut key = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if name == "key" {
            // The first one counts, as for a header sent twice; every one leaves the path.
            if key.is_none() {
                key = form_urlencoded::parse(pair.as_bytes()).next().map(|(_, v)| v.into_owned());
            }
        } else if !pair.is_empty() {
            kept.push(pair);
        }
    }
    let key = key.filter(|k| !k.is_empty())?;
    let path = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Some((path, key))
}

/// `/v1beta/models/{model}:generateContent` (also `/v1/…`, and `:streamGenerateContent`).
fn gemini_model_call(path: &str) -> Option<ClientRequest> {
    let rest = path.strip_prefix("/v1beta/models/").or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, verb) = rest.rsplit_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let stream = match verb {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    Some(ClientRequest::Gemini { model: model.to_string(), stream })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_key_is_taken_off_the_path() {
        let take = take_query_key;
        assert_eq!(
            take("/v1beta/models/g:streamGenerateContent?alt=sse&key=vk%2B1"),
            Some(("/v1beta/models/g:streamGenerateContent?alt=sse".into(), "vk+1".into()))
        );
        assert_eq!(
            take("/v1beta/models/g:generateContent?key=k"),
            Some(("/v1beta/models/g:generateContent".into(), "k".into()))
        );
        assert_eq!(take("/v1beta/models/g:generateContent?alt=sse"), None);
        assert_eq!(take("/v1beta/models/g:generateContent?key="), None);
        assert_eq!(take("/v1beta/models/g:generateContent"), None);
        assert_eq!(take("/p?monkey=1&key=k"), Some(("/p?monkey=1".into(), "k".into())));
        assert_eq!(take("/p?key=a&x=1&key=b"), Some(("/p?x=1".into(), "a".into())));
    }

    #[test]
    fn classifies_known_paths() {
        assert_eq!(
            classify("POST", "/v1/chat/completions"),
            Some(ClientRequest::Inference(WireApi::OpenAiChat))
        );
        assert_eq!(
            classify("POST", "/v1/messages?beta=true"),
            Some(ClientRequest::Inference(WireApi::AnthropicMessages))
        );
        assert_eq!(classify("GET", "/v1/models"), Some(ClientRequest::ListModels(WireApi::OpenAiChat)));
        assert_eq!(
            classify("GET", "/v1beta/models?pageSize=50"),
            Some(ClientRequest::ListModels(WireApi::GeminiGenerate))
        );
        assert_eq!(
            classify("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
            Some(ClientRequest::Gemini { model: "gemini-2.5-flash".into(), stream: true })
        );
        assert_eq!(
            classify("POST", "/v1/models/gemini-2.5-pro:generateContent"),
            Some(ClientRequest::Gemini { model: "gemini-2.5-pro".into(), stream: false })
        );
    }

    #[test]
    fn rejects_unknown_paths() {
        assert_eq!(classify("GET", "/v1/chat/completions"), None);
        assert_eq!(classify("POST", "/v1/files"), None);
        assert_eq!(classify("POST", "/v1beta/models/x:countTokens"), None);
        assert_eq!(classify("POST", "/v1beta/models/:generateContent"), None);
    }

    #[test]
    fn paths_of_known_apis_are_refused_in_their_shape() {
        let r = |m, p| refusal(m, p).map(|r| (r.api, r.kind));
        assert_eq!(
            r("GET", "/v1/chat/completions"),
            Some((WireApi::OpenAiChat, ErrorKind::MethodNotAllowed))
        );
        assert_eq!(r("GET", "/v1/messages"), Some((WireApi::AnthropicMessages, ErrorKind::MethodNotAllowed)));
        assert_eq!(
            r("POST", "/v1/messages/count_tokens"),
            Some((WireApi::AnthropicMessages, ErrorKind::NotImplemented))
        );
        assert_eq!(
            r("POST", "/v1beta/models/g:countTokens?key=k"),
            Some((WireApi::GeminiGenerate, ErrorKind::NotImplemented))
        );
        assert_eq!(
            r("POST", "/v1/models/g:embedContent"),
            Some((WireApi::GeminiGenerate, ErrorKind::NotImplemented))
        );
        assert_eq!(
            r("GET", "/v1beta/models/g:generateContent"),
            Some((WireApi::GeminiGenerate, ErrorKind::MethodNotAllowed))
        );
        assert_eq!(r("GET", "/v1beta/files"), Some((WireApi::GeminiGenerate, ErrorKind::NotFound)));
        assert_eq!(
            r("POST", "/v1beta/models/a/b:generateContent"),
            Some((WireApi::GeminiGenerate, ErrorKind::NotFound))
        );
        // Other services behind the same Envoy, and the paths the gateway serves: not refused.
        assert_eq!(r("GET", "/healthz"), None);
        assert_eq!(r("POST", "/v1/files"), None);
        assert_eq!(r("POST", "/v1/chat/completions"), None);
        assert_eq!(r("GET", "/v1/models"), None);
    }

    #[test]
    fn wire_api_names_round_trip() {
        for api in [
            WireApi::OpenAiChat,
            WireApi::OpenAiEmbeddings,
            WireApi::AnthropicMessages,
            WireApi::GeminiGenerate,
            WireApi::BedrockConverse,
            WireApi::BedrockEmbeddings,
        ] {
            assert_eq!(WireApi::parse(api.as_str()), Some(api));
        }
    }
}
