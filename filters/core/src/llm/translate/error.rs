//! Provider error bodies in the client's error shape.
//!
//! SDKs pick their exception class from the HTTP status, and read the message from the body only
//! if the body has their provider's shape. So the status is kept, the message is kept, and the
//! type is mapped through a small common vocabulary ([`ErrorType`]). Error bodies are not
//! trusted to be well-formed: anything unparseable becomes a generic error naming the status.

use crate::llm::api::WireApi;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Error categories every API can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    TooLarge,
    RateLimit,
    Overloaded,
    Timeout,
    Server,
}

impl ErrorType {
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => ErrorType::Authentication,
            402 | 403 => ErrorType::Permission,
            404 => ErrorType::NotFound,
            413 => ErrorType::TooLarge,
            429 => ErrorType::RateLimit,
            503 | 529 => ErrorType::Overloaded,
            408 | 504 => ErrorType::Timeout,
            400..=499 => ErrorType::InvalidRequest,
            // 5xx, and 0 for an error that arrived mid-stream without a status.
            _ => ErrorType::Server,
        }
    }

    fn from_anthropic(kind: &str) -> Option<Self> {
        Some(match kind {
            "invalid_request_error" => ErrorType::InvalidRequest,
            "authentication_error" => ErrorType::Authentication,
            "permission_error" | "billing_error" => ErrorType::Permission,
            "not_found_error" => ErrorType::NotFound,
            "request_too_large" => ErrorType::TooLarge,
            "rate_limit_error" => ErrorType::RateLimit,
            "overloaded_error" => ErrorType::Overloaded,
            "timeout_error" => ErrorType::Timeout,
            "api_error" => ErrorType::Server,
            _ => return None,
        })
    }

    fn from_gemini(status: &str) -> Option<Self> {
        Some(match status {
            "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => ErrorType::InvalidRequest,
            "UNAUTHENTICATED" => ErrorType::Authentication,
            "PERMISSION_DENIED" => ErrorType::Permission,
            "NOT_FOUND" => ErrorType::NotFound,
            "RESOURCE_EXHAUSTED" => ErrorType::RateLimit,
            "UNAVAILABLE" => ErrorType::Overloaded,
            "DEADLINE_EXCEEDED" => ErrorType::Timeout,
            "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => ErrorType::Server,
            _ => return None,
        })
    }

    /// A Bedrock exception name (`ThrottlingException`; also as a stream event,
    /// `throttlingException`, or qualified, `com.amazon.coral.validate#ValidationException`).
    pub(crate) fn from_bedrock(name: &str) -> Option<Self> {
        let name = name.rsplit_once('#').map_or(name, |(_, n)| n);
        let name = name.split_once(':').map_or(name, |(n, _)| n);
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        Some(if is("ValidationException") {
            ErrorType::InvalidRequest
        } else if is("UnrecognizedClientException") || is("ExpiredTokenException") {
            ErrorType::Authentication
        } else if is("AccessDeniedException") {
            ErrorType::Permission
        } else if is("ResourceNotFoundException") {
            ErrorType::NotFound
        } else if is("ThrottlingException") || is("ServiceQuotaExceededException") {
            ErrorType::RateLimit
        } else if is("ServiceUnavailableException") || is("ModelNotReadyException") {
            ErrorType::Overloaded
        } else if is("ModelTimeoutException") {
            ErrorType::Timeout
        } else if is("InternalServerException")
            || is("ModelErrorException")
            || is("ModelStreamErrorException")
        {
            ErrorType::Server
        } else {
            return None;
        })
    }

    /// The Bedrock stream exception for this type (read back by [`ErrorType::from_bedrock`]).
    pub fn bedrock_exception(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest | ErrorType::TooLarge => "validationException",
            ErrorType::Authentication => "unrecognizedClientException",
            ErrorType::Permission => "accessDeniedException",
            ErrorType::NotFound => "resourceNotFoundException",
            ErrorType::RateLimit => "throttlingException",
            ErrorType::Overloaded => "serviceUnavailableException",
            ErrorType::Timeout => "modelTimeoutException",
            ErrorType::Server => "internalServerException",
        }
    }

    /// Bedrock's statuses: as HTTP's, except 424 (`ModelErrorException`: the model failed).
    fn from_bedrock_status(status: u16) -> Self {
        match status {
            424 => ErrorType::Server,
            _ => ErrorType::from_status(status),
        }
    }

    /// OpenAI's `type` and `code` (as `crate::common::error` renders the gateway's own errors).
    fn openai(self) -> (&'static str, Option<&'static str>) {
        match self {
            ErrorType::InvalidRequest => ("invalid_request_error", None),
            ErrorType::Authentication => ("invalid_request_error", Some("invalid_api_key")),
            ErrorType::Permission => ("permission_error", Some("permission_denied")),
            ErrorType::NotFound => ("invalid_request_error", Some("not_found")),
            ErrorType::TooLarge => ("invalid_request_error", Some("request_too_large")),
            ErrorType::RateLimit => ("rate_limit_exceeded", Some("rate_limit_exceeded")),
            ErrorType::Overloaded => ("api_error", Some("overloaded")),
            ErrorType::Timeout => ("api_error", Some("timeout")),
            ErrorType::Server => ("api_error", None),
        }
    }

    pub fn anthropic(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Permission => "permission_error",
            ErrorType::NotFound => "not_found_error",
            ErrorType::TooLarge => "request_too_large",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Overloaded => "overloaded_error",
            ErrorType::Timeout => "timeout_error",
            ErrorType::Server => "api_error",
        }
    }

    /// google.rpc.Code name.
    fn gemini(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest | ErrorType::TooLarge => "INVALID_ARGUMENT",
            ErrorType::Authentication => "UNAUTHENTICATED",
            ErrorType::Permission => "PERMISSION_DENIED",
            ErrorType::NotFound => "NOT_FOUND",
            ErrorType::RateLimit => "RESOURCE_EXHAUSTED",
            ErrorType::Overloaded => "UNAVAILABLE",
            ErrorType::Timeout => "DEADLINE_EXCEEDED",
            ErrorType::Server => "INTERNAL",
        }
    }

    /// An HTTP status for this type, where the error arrives without one (mid-stream).
    fn status(self) -> u16 {
        match self {
            ErrorType::InvalidRequest => 400,
            ErrorType::Authentication => 401,
            ErrorType::Permission => 403,
            ErrorType::NotFound => 404,
            ErrorType::TooLarge => 413,
            ErrorType::RateLimit => 429,
            ErrorType::Overloaded => 503,
            ErrorType::Timeout => 504,
            ErrorType::Server => 500,
        }
    }
}

/// Whether `body` is an error in `api`'s own shape, which its SDK reads as is: OpenAI
/// `{"error":{"message":…}}`, Anthropic `{"type":"error","error":{"type":…,"message":…}}`,
/// Gemini `{"error":{"code":…,"message":…,"status":…}}`, Bedrock `{"message":…}`.
pub fn in_shape(api: WireApi, body: &[u8]) -> bool {
    if api.is_bedrock() {
        #[derive(Deserialize)]
        struct Bare<'a> {
            #[serde(borrow)]
            #[allow(dead_code)]
            message: Cow<'a, str>,
        }
        return serde_json::from_slice::<Bare<'_>>(body).is_ok();
    }
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow)]
        error: ShapeDetail<'a>,
    }
    #[derive(Deserialize)]
    struct ShapeDetail<'a> {
        #[serde(borrow)]
        #[allow(dead_code)]
        message: Cow<'a, str>,
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        status: Option<Cow<'a, str>>,
    }
    let Ok(shape) = serde_json::from_slice::<Shape<'_>>(body) else {
        return false;
    };
    match api {
        WireApi::AnthropicMessages => shape.kind.as_deref() == Some("error") && shape.error.kind.is_some(),
        WireApi::GeminiGenerate => shape.error.status.is_some(),
        WireApi::OpenAiChat | WireApi::OpenAiEmbeddings => true,
        WireApi::BedrockConverse | WireApi::BedrockEmbeddings => false,
    }
}

/// A provider's error, read from any of the four shapes (and the looser ones compatible
/// servers use: `{"error": "text"}`, `{"message": …}`, `{"detail": …}`). Bedrock's is
/// `{"message": …}` (some AWS services write `Message`, and `__type` naming the exception).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError<'a> {
    pub kind: ErrorType,
    pub message: Cow<'a, str>,
}

/// Bound on the body text quoted in a generic error.
const MAX_QUOTED: usize = 512;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    error: Option<Detail<'a>>,
    #[serde(borrow, alias = "Message")]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    /// AWS: the exception's name.
    #[serde(rename = "__type", borrow)]
    aws_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Detail<'a> {
    Object {
        #[serde(borrow)]
        message: Option<Cow<'a, str>>,
        /// OpenAI and Anthropic.
        #[serde(rename = "type", borrow)]
        kind: Option<Cow<'a, str>>,
        /// Gemini.
        #[serde(borrow)]
        status: Option<Cow<'a, str>>,
    },
    Text(#[serde(borrow)] Cow<'a, str>),
}

impl<'a> ProviderError<'a> {
    /// Reads an error body. `status` decides the type when the body does not (OpenAI's types
    /// vary between compatible servers; its statuses do not).
    pub fn parse(api: WireApi, status: u16, body: &'a [u8]) -> Self {
        Self::parse_known(api, status, body).unwrap_or_else(|| Self::generic(status, body))
    }

    /// Like [`ProviderError::parse`], but `None` for a body in no known error shape.
    pub fn parse_known(api: WireApi, status: u16, body: &'a [u8]) -> Option<Self> {
        let by_status = if api.is_bedrock() {
            ErrorType::from_bedrock_status(status)
        } else {
            ErrorType::from_status(status)
        };
        let envelope = match serde_json::from_slice::<Envelope<'a>>(body) {
            Ok(envelope) => envelope,
            // Gemini streams wrap errors in an array.
            Err(_) => serde_json::from_slice::<Vec<Envelope<'a>>>(body).ok()?.into_iter().next()?,
        };
        let (message, kind) = match envelope.error {
            Some(Detail::Object { message, kind, status: rpc }) => {
                let kind = match api {
                    WireApi::AnthropicMessages => kind.as_deref().and_then(ErrorType::from_anthropic),
                    WireApi::GeminiGenerate => rpc.as_deref().and_then(ErrorType::from_gemini),
                    WireApi::OpenAiChat
                    | WireApi::OpenAiEmbeddings
                    | WireApi::BedrockConverse
                    | WireApi::BedrockEmbeddings => match kind.as_deref() {
                        Some("insufficient_quota") => Some(ErrorType::RateLimit),
                        _ => None,
                    },
                };
                (message, kind)
            }
            Some(Detail::Text(text)) => (Some(text), None),
            None => {
                let kind = match api {
                    api if api.is_bedrock() => envelope.aws_type.as_deref().and_then(ErrorType::from_bedrock),
                    _ => None,
                };
                (envelope.message.or(envelope.detail), kind)
            }
        };
        message.map(|message| ProviderError { kind: kind.unwrap_or(by_status), message })
    }

    /// A Bedrock stream's exception event: its name is the type, its data `{"message": …}`.
    pub(crate) fn bedrock_exception(name: &str, data: &'a [u8]) -> Self {
        let mut error = Self::parse_known(WireApi::BedrockConverse, 0, data).unwrap_or_else(|| {
            let message = format!("the provider's stream failed: {name}");
            ProviderError { kind: ErrorType::Server, message: Cow::Owned(message) }
        });
        if let Some(kind) = ErrorType::from_bedrock(name) {
            error.kind = kind;
        }
        error
    }

    /// The gateway's own server-side error.
    pub fn server(message: &'a str) -> Self {
        ProviderError { kind: ErrorType::Server, message: Cow::Borrowed(message) }
    }

    /// An error from a body in no known shape.
    fn generic(status: u16, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("provider returned HTTP {status}")
        } else {
            let mut end = text.len().min(MAX_QUOTED);
            while !text.is_char_boundary(end) {
                end = end.saturating_sub(1);
            }
            format!("provider returned HTTP {status}: {}", &text[..end])
        };
        ProviderError { kind: ErrorType::from_status(status), message: Cow::Owned(message) }
    }

    /// The body for a client of `api`.
    pub fn render(&self, api: WireApi, status: u16) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(api, status, &mut out);
        out
    }

    /// Appends the body for a client of `api` (`status` 0: none known, derive it).
    pub fn write(&self, api: WireApi, status: u16, out: &mut Vec<u8>) {
        let status = if status == 0 { self.kind.status() } else { status };
        let message = self.message.as_ref();
        let result = match api {
            WireApi::AnthropicMessages => serde_json::to_writer(
                &mut *out,
                &AnthropicError {
                    kind: "error",
                    error: AnthropicDetail { kind: self.kind.anthropic(), message },
                },
            ),
            WireApi::GeminiGenerate => serde_json::to_writer(
                &mut *out,
                &GeminiError { error: GeminiDetail { code: status, message, status: self.kind.gemini() } },
            ),
            // Only for a provider-format stream (no client speaks Converse).
            WireApi::BedrockConverse | WireApi::BedrockEmbeddings => {
                serde_json::to_writer(&mut *out, &BedrockError { message })
            }
            WireApi::OpenAiChat | WireApi::OpenAiEmbeddings => {
                let (kind, code) = self.kind.openai();
                serde_json::to_writer(
                    &mut *out,
                    &OpenAiError { error: OpenAiDetail { message, kind, param: None, code } },
                )
            }
        };
        // Writing to a Vec cannot fail.
        debug_assert!(result.is_ok());
    }

    /// Appends an error *event* in `api`'s stream format: what a provider sends when a stream
    /// fails (Anthropic names it `error`, Converse's SSE form names the exception).
    pub fn write_event(&self, api: WireApi, out: &mut Vec<u8>) {
        let mut data = Vec::new();
        self.write(api, 0, &mut data);
        let name = match api {
            WireApi::AnthropicMessages => Some("error"),
            WireApi::BedrockConverse => Some(self.kind.bedrock_exception()),
            WireApi::OpenAiChat
            | WireApi::GeminiGenerate
            | WireApi::OpenAiEmbeddings
            | WireApi::BedrockEmbeddings => None,
        };
        crate::http::sse::write_event(out, name, &data);
    }
}

#[derive(Serialize)]
struct OpenAiError<'a> {
    error: OpenAiDetail<'a>,
}

#[derive(Serialize)]
struct OpenAiDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct BedrockError<'a> {
    message: &'a str,
}

#[derive(Serialize)]
struct AnthropicError<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    error: AnthropicDetail<'a>,
}

#[derive(Serialize)]
struct AnthropicDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct GeminiError<'a> {
    error: GeminiDetail<'a>,
}

#[derive(Serialize)]
struct GeminiDetail<'a> {
    code: u16,
    message: &'a str,
    status: &'a str,
}
