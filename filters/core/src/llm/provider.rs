//! Provider facts: what each provider speaks, where it lives and how it authenticates.
//!
//! One page of facts per kind, kept apart from wire formats (`api`) and translation, so adding
//! a provider is a matter of adding a row here.

use crate::llm::api::WireApi;
use crate::llm::model_name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    #[serde(rename = "openai")]
    OpenAi,
    /// Azure OpenAI: the deployment is in the path, `api-version` in the query.
    Azure,
    Anthropic,
    /// Gemini on Google AI Studio (`generativelanguage.googleapis.com`).
    Gemini,
    /// Gemini on Vertex AI (project/location path form).
    Vertex,
    Mistral,
    Groq,
    Deepseek,
    Together,
    #[serde(rename = "openrouter")]
    OpenRouter,
    Vllm,
    Ollama,
    /// Any other server speaking OpenAI chat completions; set `host` and `basePath`.
    #[serde(rename = "openai-compatible")]
    OpenAiCompatible,
}

/// How a provider expects its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>` (OpenAI and compatibles; Vertex with an access token).
    Bearer,
    /// `api-key: <key>` (Azure OpenAI).
    AzureApiKey,
    /// `x-api-key: <key>` plus `anthropic-version`.
    AnthropicApiKey,
    /// `x-goog-api-key: <key>` (Gemini AI Studio).
    GoogApiKey,
}

impl ProviderKind {
    /// The wire API the provider's chat endpoint speaks.
    pub const fn chat_api(self) -> WireApi {
        match self {
            ProviderKind::Anthropic => WireApi::AnthropicMessages,
            ProviderKind::Gemini | ProviderKind::Vertex => WireApi::GeminiGenerate,
            _ => WireApi::OpenAiChat,
        }
    }

    /// The public endpoint's host, where there is one.
    pub const fn default_host(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("api.openai.com"),
            ProviderKind::Anthropic => Some("api.anthropic.com"),
            ProviderKind::Gemini => Some("generativelanguage.googleapis.com"),
            ProviderKind::Mistral => Some("api.mistral.ai"),
            ProviderKind::Groq => Some("api.groq.com"),
            ProviderKind::Deepseek => Some("api.deepseek.com"),
            ProviderKind::Together => Some("api.together.xyz"),
            ProviderKind::OpenRouter => Some("openrouter.ai"),
            // Per-resource or per-region hosts, or self-hosted: the operator must say.
            ProviderKind::Azure
            | ProviderKind::Vertex
            | ProviderKind::Vllm
            | ProviderKind::Ollama
            | ProviderKind::OpenAiCompatible => None,
        }
    }

    /// Path prefix of the OpenAI-style endpoints (`{base}/chat/completions`).
    pub const fn default_base_path(self) -> &'static str {
        match self {
            ProviderKind::Groq => "/openai/v1",
            ProviderKind::OpenRouter => "/api/v1",
            _ => "/v1",
        }
    }

    pub const fn auth_scheme(self) -> AuthScheme {
        match self {
            ProviderKind::Azure => AuthScheme::AzureApiKey,
            ProviderKind::Anthropic => AuthScheme::AnthropicApiKey,
            ProviderKind::Gemini => AuthScheme::GoogApiKey,
            _ => AuthScheme::Bearer,
        }
    }

    /// The model name is a segment of the request path (Azure's deployment, Gemini's and
    /// Vertex AI's model), not a body field: its name is held to
    /// [`model_name::check_path_segment`].
    pub const fn model_in_path(self) -> bool {
        matches!(self, ProviderKind::Azure | ProviderKind::Gemini | ProviderKind::Vertex)
    }

    pub const fn supports_embeddings(self) -> bool {
        !matches!(self, ProviderKind::Anthropic | ProviderKind::Gemini | ProviderKind::Vertex)
    }
}

/// Where one upstream request goes, once the provider and model are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: ProviderKind,
    pub host: String,
    pub base_path: String,
    pub api_version: Option<String>,
    pub project: Option<String>,
    pub location: Option<String>,
}

/// Azure's GA version that every current deployment accepts; override with `apiVersion`.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// The first Azure API version (`2024-08-01-preview`) that accepts `stream_options`; older
/// ones answer 400 "Unrecognized request argument supplied: stream_options".
pub const AZURE_STREAM_OPTIONS_SINCE: &str = "2024-08-01";

impl Endpoint {
    /// Whether the provider accepts OpenAI's `stream_options` (asking a stream for its usage):
    /// OpenAI does, Azure from [`AZURE_STREAM_OPTIONS_SINCE`] on. The OpenAI-compatible servers
    /// are left alone until verified: some (Mistral) refuse unknown request fields.
    pub fn accepts_stream_options(&self) -> bool {
        match self.kind {
            ProviderKind::OpenAi => true,
            // Versions are dates, `-preview` suffixed or not, so they order as strings; later
            // named versions (`preview`, `latest`) sort after every date.
            ProviderKind::Azure => self.azure_api_version() >= AZURE_STREAM_OPTIONS_SINCE,
            _ => false,
        }
    }

    fn azure_api_version(&self) -> &str {
        self.api_version.as_deref().unwrap_or(AZURE_DEFAULT_API_VERSION)
    }

    /// The `:path` for a request of `api` to `model`. `None` if the provider has no such
    /// endpoint (embeddings on Anthropic).
    /// The model is percent-encoded where it is a path segment (callers check it first with
    /// [`model_name::check_path_segment`]; this is the second line).
    pub fn path(&self, api: WireApi, model: &str, stream: bool) -> Option<String> {
        let kind = self.kind;
        let model = if kind.model_in_path() { model_name::path_segment(model) } else { String::new() };
        match (kind, api) {
            (ProviderKind::Azure, WireApi::OpenAiChat | WireApi::OpenAiEmbeddings) => {
                let op = if api == WireApi::OpenAiChat { "chat/completions" } else { "embeddings" };
                let version = self.azure_api_version();
                Some(format!("/openai/deployments/{model}/{op}?api-version={version}"))
            }
            (_, WireApi::OpenAiChat) if kind.chat_api() == WireApi::OpenAiChat => {
                Some(format!("{}/chat/completions", self.base_path))
            }
            (_, WireApi::OpenAiEmbeddings) if kind.supports_embeddings() => {
                Some(format!("{}/embeddings", self.base_path))
            }
            (ProviderKind::Anthropic, WireApi::AnthropicMessages) => Some("/v1/messages".to_string()),
            (ProviderKind::Gemini, WireApi::GeminiGenerate) => {
                Some(format!("/v1beta/models/{model}:{}", gemini_verb(stream)))
            }
            (ProviderKind::Vertex, WireApi::GeminiGenerate) => Some(format!(
                "/v1/projects/{}/locations/{}/publishers/google/models/{model}:{}",
                self.project.as_deref().unwrap_or_default(),
                self.location.as_deref().unwrap_or_default(),
                gemini_verb(stream)
            )),
            _ => None,
        }
    }
}

fn gemini_verb(stream: bool) -> &'static str {
    if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: ProviderKind) -> Endpoint {
        Endpoint {
            kind,
            host: kind.default_host().unwrap_or("example.internal").to_string(),
            base_path: kind.default_base_path().to_string(),
            api_version: None,
            project: Some("proj".into()),
            location: Some("us-central1".into()),
        }
    }

    #[test]
    fn paths_per_provider() {
        let chat = WireApi::OpenAiChat;
        assert_eq!(
            endpoint(ProviderKind::OpenAi).path(chat, "gpt-4o", false).as_deref(),
            Some("/v1/chat/completions")
        );
        assert_eq!(
            endpoint(ProviderKind::Groq).path(chat, "llama", true).as_deref(),
            Some("/openai/v1/chat/completions")
        );
        assert_eq!(
            endpoint(ProviderKind::Azure).path(chat, "prod-gpt4o", false).as_deref(),
            Some("/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21")
        );
        assert_eq!(
            endpoint(ProviderKind::Anthropic).path(WireApi::AnthropicMessages, "claude", true).as_deref(),
            Some("/v1/messages")
        );
        assert_eq!(
            endpoint(ProviderKind::Gemini).path(WireApi::GeminiGenerate, "gemini-2.5-flash", true).as_deref(),
            Some("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        );
        assert_eq!(
            endpoint(ProviderKind::Vertex)
                .path(WireApi::GeminiGenerate, "gemini-2.5-pro", false)
                .as_deref(),
            Some("/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent")
        );
    }

    #[test]
    fn stream_options_where_the_provider_accepts_them() {
        assert!(endpoint(ProviderKind::OpenAi).accepts_stream_options());
        let azure = |version: Option<&str>| Endpoint {
            api_version: version.map(str::to_string),
            ..endpoint(ProviderKind::Azure)
        };
        assert!(azure(None).accepts_stream_options(), "the default version has them");
        for version in ["2024-08-01-preview", "2024-10-21", "2025-04-01-preview", "preview", "latest"] {
            assert!(azure(Some(version)).accepts_stream_options(), "{version}");
        }
        for version in ["2024-06-01", "2024-07-01-preview", "2024-02-01", "2023-05-15"] {
            assert!(!azure(Some(version)).accepts_stream_options(), "{version}");
        }
        for kind in [ProviderKind::Anthropic, ProviderKind::Gemini, ProviderKind::Groq, ProviderKind::Mistral]
        {
            assert!(!endpoint(kind).accepts_stream_options(), "{kind:?}");
        }
    }

    #[test]
    fn no_embeddings_on_anthropic() {
        assert_eq!(endpoint(ProviderKind::Anthropic).path(WireApi::OpenAiEmbeddings, "x", false), None);
    }
}

impl ProviderKind {
    /// The config name of the kind (`openai`, `openai-compatible`, …), also used in filter state.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Mistral => "mistral",
            ProviderKind::Groq => "groq",
            ProviderKind::Deepseek => "deepseek",
            ProviderKind::Together => "together",
            ProviderKind::OpenRouter => "openrouter",
            ProviderKind::Vllm => "vllm",
            ProviderKind::Ollama => "ollama",
            ProviderKind::OpenAiCompatible => "openai-compatible",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

#[cfg(test)]
mod kind_name_tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in
            ["openai", "azure", "anthropic", "gemini", "vertex", "groq", "openrouter", "openai-compatible"]
        {
            assert_eq!(ProviderKind::parse(name).map(ProviderKind::as_str), Some(name));
        }
        assert_eq!(ProviderKind::parse("nope"), None);
    }
}
