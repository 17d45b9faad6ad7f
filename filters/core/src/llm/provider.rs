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
    /// AWS Bedrock's Converse API (`bedrock-runtime.<region>.amazonaws.com`): the model id is in
    /// the path; requests are signed (SigV4, the credentials filter's `aws`) or carry a Bedrock
    /// API key (`Authorization: Bearer`).
    Bedrock,
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
    /// Every kind, in the order the README lists them (the gateway config's JSON Schema offers
    /// them for completion).
    pub const ALL: [ProviderKind; 14] = [
        ProviderKind::OpenAi,
        ProviderKind::Azure,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Vertex,
        ProviderKind::Mistral,
        ProviderKind::Groq,
        ProviderKind::Deepseek,
        ProviderKind::Together,
        ProviderKind::OpenRouter,
        ProviderKind::Vllm,
        ProviderKind::Ollama,
        ProviderKind::OpenAiCompatible,
        ProviderKind::Bedrock,
    ];

    /// The wire API the provider's chat endpoint speaks.
    pub const fn chat_api(self) -> WireApi {
        match self {
            ProviderKind::Anthropic => WireApi::AnthropicMessages,
            ProviderKind::Gemini | ProviderKind::Vertex => WireApi::GeminiGenerate,
            ProviderKind::Bedrock => WireApi::BedrockConverse,
            ProviderKind::OpenAi
            | ProviderKind::Azure
            | ProviderKind::Mistral
            | ProviderKind::Groq
            | ProviderKind::Deepseek
            | ProviderKind::Together
            | ProviderKind::OpenRouter
            | ProviderKind::Vllm
            | ProviderKind::Ollama
            | ProviderKind::OpenAiCompatible => WireApi::OpenAiChat,
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
            // Per-resource or per-region hosts, or self-hosted: the operator must say (Bedrock's
            // follows from its region).
            ProviderKind::Azure
            | ProviderKind::Bedrock
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
            // Only the OpenAI-style family has OpenAI-style endpoints; the others' paths are
            // their own ([`Endpoint::path`]).
            ProviderKind::OpenAi
            | ProviderKind::Azure
            | ProviderKind::Anthropic
            | ProviderKind::Gemini
            | ProviderKind::Vertex
            | ProviderKind::Mistral
            | ProviderKind::Deepseek
            | ProviderKind::Together
            | ProviderKind::Vllm
            | ProviderKind::Ollama
            | ProviderKind::OpenAiCompatible
            | ProviderKind::Bedrock => "/v1",
        }
    }

    pub const fn auth_scheme(self) -> AuthScheme {
        match self {
            ProviderKind::Azure => AuthScheme::AzureApiKey,
            ProviderKind::Anthropic => AuthScheme::AnthropicApiKey,
            ProviderKind::Gemini => AuthScheme::GoogApiKey,
            // Vertex's bearer is an OAuth token; Bedrock's a Bedrock API key (or SigV4 instead).
            ProviderKind::Vertex
            | ProviderKind::Bedrock
            | ProviderKind::OpenAi
            | ProviderKind::Mistral
            | ProviderKind::Groq
            | ProviderKind::Deepseek
            | ProviderKind::Together
            | ProviderKind::OpenRouter
            | ProviderKind::Vllm
            | ProviderKind::Ollama
            | ProviderKind::OpenAiCompatible => AuthScheme::Bearer,
        }
    }

    /// The model name is a segment of the request path (Azure's deployment, Gemini's and
    /// Vertex AI's model), not a body field: its name is held to
    /// [`model_name::check_path_segment`].
    pub const fn model_in_path(self) -> bool {
        matches!(
            self,
            ProviderKind::Azure | ProviderKind::Gemini | ProviderKind::Vertex | ProviderKind::Bedrock
        )
    }

    /// Whether streams to this kind ask for their usage (`stream_options.include_usage`) unless
    /// the provider's `streamUsage` says otherwise: the servers documented to accept the field.
    /// Mistral refuses request fields it does not know (422); Together's acceptance is not
    /// established, nor a generic `openai-compatible` server's — their streams are counted from
    /// whatever usage they send, else by the usage filter's tokenizer.
    pub const fn asks_stream_usage(self) -> bool {
        matches!(
            self,
            ProviderKind::OpenAi
                | ProviderKind::Groq
                | ProviderKind::Deepseek
                | ProviderKind::OpenRouter
                | ProviderKind::Vllm
                | ProviderKind::Ollama
        )
    }

    /// The wire API of the provider's embeddings endpoint, if it has one the gateway serves
    /// `/v1/embeddings` with (Gemini's `:embedContent` is not one yet).
    pub const fn embeddings_api(self) -> Option<WireApi> {
        // Where a kind's chat speaks OpenAI's API its embeddings do too; Bedrock has its own.
        match self.chat_api() {
            WireApi::OpenAiChat => Some(WireApi::OpenAiEmbeddings),
            WireApi::BedrockConverse => Some(WireApi::BedrockEmbeddings),
            WireApi::AnthropicMessages
            | WireApi::GeminiGenerate
            | WireApi::OpenAiEmbeddings
            | WireApi::BedrockEmbeddings => None,
        }
    }
}

/// Where one provider lives, and what its kind needs to build a request: each kind carries
/// its own settings (Azure's API version, Vertex AI's project and location, the base path of
/// the OpenAI-style family, Bedrock's region), so no kind has fields it does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `:authority` upstream.
    pub host: String,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settings {
    /// OpenAI and the OpenAI-compatible family: chat and embeddings under `base_path`.
    OpenAiStyle {
        kind: ProviderKind,
        base_path: String,
        /// Send `stream_options.include_usage` on streams ([`ProviderKind::asks_stream_usage`]
        /// unless the provider's `streamUsage` says otherwise).
        stream_usage: bool,
    },
    /// Azure OpenAI: the deployment is in the path, `api-version` in the query.
    Azure {
        api_version: String,
    },
    Anthropic,
    /// Gemini on Google AI Studio.
    Gemini,
    /// Gemini on Vertex AI.
    Vertex {
        project: String,
        location: String,
    },
    /// AWS Bedrock (the region names the host and scopes the signature).
    Bedrock {
        region: String,
    },
}

impl Endpoint {
    pub fn kind(&self) -> ProviderKind {
        match &self.settings {
            Settings::OpenAiStyle { kind, .. } => *kind,
            Settings::Azure { .. } => ProviderKind::Azure,
            Settings::Anthropic => ProviderKind::Anthropic,
            Settings::Gemini => ProviderKind::Gemini,
            Settings::Vertex { .. } => ProviderKind::Vertex,
            Settings::Bedrock { .. } => ProviderKind::Bedrock,
        }
    }
}

/// Azure's GA version that every current deployment accepts; override with `apiVersion`.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// The first Azure API version (`2024-08-01-preview`) that accepts `stream_options`; older
/// ones answer 400 "Unrecognized request argument supplied: stream_options".
pub const AZURE_STREAM_OPTIONS_SINCE: &str = "2024-08-01";

impl Endpoint {
    /// Whether the provider accepts OpenAI's `stream_options` (asking a stream for its usage):
    /// the OpenAI-style family per provider (`streamUsage`, defaulting to
    /// [`ProviderKind::asks_stream_usage`]), Azure from [`AZURE_STREAM_OPTIONS_SINCE`] on.
    pub fn accepts_stream_options(&self) -> bool {
        match &self.settings {
            Settings::OpenAiStyle { stream_usage, .. } => *stream_usage,
            // Versions are dates, `-preview` suffixed or not, so they order as strings; later
            // named versions (`preview`, `latest`) sort after every date.
            Settings::Azure { api_version } => api_version.as_str() >= AZURE_STREAM_OPTIONS_SINCE,
            Settings::Anthropic | Settings::Gemini | Settings::Vertex { .. } | Settings::Bedrock { .. } => {
                false
            }
        }
    }

    /// The `:path` for a request of `api` to `model`. `None` if the provider has no such
    /// endpoint (embeddings on Anthropic).
    /// The model is percent-encoded where it is a path segment (callers check it first with
    /// [`model_name::check_path_segment`]; this is the second line).
    pub fn path(&self, api: WireApi, model: &str, stream: bool) -> Option<String> {
        let segment = || model_name::path_segment(model);
        match (&self.settings, api) {
            (Settings::Azure { api_version }, WireApi::OpenAiChat | WireApi::OpenAiEmbeddings) => {
                let op = if api == WireApi::OpenAiChat { "chat/completions" } else { "embeddings" };
                Some(format!("/openai/deployments/{}/{op}?api-version={api_version}", segment()))
            }
            (Settings::OpenAiStyle { base_path, .. }, WireApi::OpenAiChat) => {
                Some(format!("{base_path}/chat/completions"))
            }
            (Settings::OpenAiStyle { base_path, .. }, WireApi::OpenAiEmbeddings) => {
                Some(format!("{base_path}/embeddings"))
            }
            (Settings::Anthropic, WireApi::AnthropicMessages) => Some("/v1/messages".to_string()),
            (Settings::Gemini, WireApi::GeminiGenerate) => {
                Some(format!("/v1beta/models/{}:{}", segment(), gemini_verb(stream)))
            }
            (Settings::Vertex { project, location }, WireApi::GeminiGenerate) => Some(format!(
                "/v1/projects/{project}/locations/{location}/publishers/google/models/{}:{}",
                segment(),
                gemini_verb(stream)
            )),
            (Settings::Bedrock { .. }, WireApi::BedrockConverse) => {
                let op = if stream { "converse-stream" } else { "converse" };
                Some(format!("/model/{}/{op}", segment()))
            }
            (Settings::Bedrock { .. }, WireApi::BedrockEmbeddings) => {
                Some(format!("/model/{}/invoke", segment()))
            }
            // Every other pair: no such endpoint. Listed by API so that a new one must be
            // placed here.
            (
                _,
                WireApi::OpenAiChat
                | WireApi::OpenAiEmbeddings
                | WireApi::AnthropicMessages
                | WireApi::GeminiGenerate
                | WireApi::BedrockConverse
                | WireApi::BedrockEmbeddings,
            ) => None,
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

    #[test]
    fn bedrock_paths_carry_the_model_id_encoded() {
        let bedrock = endpoint(ProviderKind::Bedrock);
        let converse = WireApi::BedrockConverse;
        assert_eq!(
            bedrock.path(converse, "anthropic.claude-3-5-haiku-20241022-v1:0", false).as_deref(),
            Some("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse")
        );
        assert_eq!(
            bedrock.path(converse, "us.amazon.nova-lite-v1:0", true).as_deref(),
            Some("/model/us.amazon.nova-lite-v1%3A0/converse-stream")
        );
        assert_eq!(
            bedrock.path(WireApi::BedrockEmbeddings, "amazon.titan-embed-text-v2:0", false).as_deref(),
            Some("/model/amazon.titan-embed-text-v2%3A0/invoke")
        );
        assert_eq!(bedrock.path(WireApi::OpenAiEmbeddings, "cohere.embed-english-v3", false), None);
        assert_eq!(ProviderKind::Bedrock.embeddings_api(), Some(WireApi::BedrockEmbeddings));
        assert_eq!(ProviderKind::Bedrock.chat_api(), WireApi::BedrockConverse);
    }

    #[test]
    fn all_lists_every_kind_once() {
        // The match has no wildcard: a new kind fails to compile here until it is placed in ALL.
        let position = |k: ProviderKind| match k {
            ProviderKind::OpenAi => 0,
            ProviderKind::Azure => 1,
            ProviderKind::Anthropic => 2,
            ProviderKind::Gemini => 3,
            ProviderKind::Vertex => 4,
            ProviderKind::Mistral => 5,
            ProviderKind::Groq => 6,
            ProviderKind::Deepseek => 7,
            ProviderKind::Together => 8,
            ProviderKind::OpenRouter => 9,
            ProviderKind::Vllm => 10,
            ProviderKind::Ollama => 11,
            ProviderKind::OpenAiCompatible => 12,
            ProviderKind::Bedrock => 13,
        };
        for (i, kind) in ProviderKind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i);
        }
    }

    fn endpoint(kind: ProviderKind) -> Endpoint {
        let settings = match kind {
            ProviderKind::Azure => Settings::Azure { api_version: AZURE_DEFAULT_API_VERSION.into() },
            ProviderKind::Anthropic => Settings::Anthropic,
            ProviderKind::Gemini => Settings::Gemini,
            ProviderKind::Vertex => {
                Settings::Vertex { project: "proj".into(), location: "us-central1".into() }
            }
            ProviderKind::Bedrock => Settings::Bedrock { region: "us-east-1".into() },
            kind => Settings::OpenAiStyle {
                kind,
                base_path: kind.default_base_path().into(),
                stream_usage: kind.asks_stream_usage(),
            },
        };
        Endpoint { host: kind.default_host().unwrap_or("example.internal").to_string(), settings }
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
        let azure = |version: &str| Endpoint {
            settings: Settings::Azure { api_version: version.to_string() },
            ..endpoint(ProviderKind::Azure)
        };
        assert!(azure(AZURE_DEFAULT_API_VERSION).accepts_stream_options(), "the default version has them");
        for version in ["2024-08-01-preview", "2024-10-21", "2025-04-01-preview", "preview", "latest"] {
            assert!(azure(version).accepts_stream_options(), "{version}");
        }
        for version in ["2024-06-01", "2024-07-01-preview", "2024-02-01", "2023-05-15"] {
            assert!(!azure(version).accepts_stream_options(), "{version}");
        }
        for kind in [
            ProviderKind::Groq,
            ProviderKind::Deepseek,
            ProviderKind::OpenRouter,
            ProviderKind::Vllm,
            ProviderKind::Ollama,
        ] {
            assert!(endpoint(kind).accepts_stream_options(), "{kind:?}");
        }
        for kind in [
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
            ProviderKind::Mistral,
            ProviderKind::Together,
            ProviderKind::OpenAiCompatible,
        ] {
            assert!(!endpoint(kind).accepts_stream_options(), "{kind:?}");
        }
        let asked = Endpoint {
            settings: Settings::OpenAiStyle {
                kind: ProviderKind::Mistral,
                base_path: "/v1".into(),
                stream_usage: true,
            },
            ..endpoint(ProviderKind::Mistral)
        };
        assert!(asked.accepts_stream_options(), "`streamUsage` overrides the preset");
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
            ProviderKind::Bedrock => "bedrock",
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
