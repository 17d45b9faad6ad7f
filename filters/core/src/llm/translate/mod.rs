//! Translation between chat APIs: requests, responses, errors and streams.
//!
//! Requests and complete answers go through Portcullis's own intermediate form
//! ([`crate::llm::ir`]): each API has one module that reads its format into that form and writes
//! it back ([`openai`], [`anthropic`], [`gemini`], and [`bedrock`] — Converse, provider side
//! only: requests to it, answers from it), so a translation is one reader and one writer, and no
//! pair loses what a third format could not say. Streams use a smaller hub: every provider
//! stream is decoded into a handful of [`stream`] events (text, tool-call start, tool-call
//! arguments, finish, usage, error, done) and every client stream is encoded from them, so a
//! stream is translated event by event without ever holding it whole.
//!
//! Translation is faithful where the APIs overlap and explicit where they do not: a request
//! the target cannot express (`n` > 1, audio input, server tools …) is a [`TranslateError`]
//! rather than a silently different request. Things with no counterpart that do not change the
//! answer's meaning (Anthropic `top_k` to OpenAI, OpenAI `seed` to Anthropic) are dropped.
//! `response_format` has no Anthropic counterpart and is dropped too: the model still answers,
//! only without the JSON guarantee.
//!
//! Nothing here reads a clock: `created` is 0, ids are derived from the provider's ids
//! (`chatcmpl-<id>`, `msg_<id>`).
//!
//! Choices worth knowing:
//! - To OpenAI, the token limit is sent as `max_completion_tokens` (what current OpenAI models
//!   require; `max_tokens` is deprecated and rejected by reasoning models), and a stream request
//!   gets `stream_options.include_usage` so the client's stream can report usage.
//! - To Anthropic, `max_tokens` defaults to [`anthropic::DEFAULT_MAX_TOKENS`]; tool results
//!   are moved to the front of their user turn.
//! - Reasoning goes back only to the models that signed it ([`crate::llm::ir::Issuer`]: Claude's
//!   thinking to Anthropic and Converse, Gemini's thoughts to Gemini); clients are shown another
//!   model's without a signature (OpenAI clients as `reasoning_content`).
//! - To Gemini, tool and response schemas are rewritten to the subset Gemini accepts
//!   (`schema`), tool results are named from the call they answer, and call ids carry Gemini 3
//!   thought signatures (see [`gemini`]).
//! - To Bedrock Converse, turns of one role are merged (Converse wants them alternating), tool
//!   results become a user turn's `toolResult` blocks, and images must be inline (see
//!   [`bedrock`]).
//!
//! Embeddings have one translation, OpenAI's to Bedrock's embeddings models and back
//! ([`embeddings`]: Titan one text per call, Cohere batches).

pub mod anthropic;
pub mod bedrock;
pub mod embeddings;
pub mod error;
pub mod gemini;
pub mod openai;
mod schema;
pub mod stream;

use crate::llm::api::WireApi;
pub use crate::llm::ir::FinishReason;
use crate::llm::ir::{Answer, Conversation};
use serde::Deserialize;
use std::fmt;

pub use stream::StreamTranslator;

/// Why a body could not be translated. The router answers 400 for a request, 502 for a
/// response, whatever the kind; the kind says whose fault it is, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError {
    pub kind: TranslateErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranslateErrorKind {
    /// The body is not valid in its own API (not JSON, a field of the wrong type, a broken
    /// stream event).
    Malformed,
    /// Valid, but the other API cannot express it (`n` > 1, audio input, a server tool, a
    /// schema Gemini cannot take).
    Unsupported,
    /// No translation exists between the two APIs.
    NoTranslation,
}

impl TranslateError {
    pub fn new(kind: TranslateErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(TranslateErrorKind::Malformed, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(TranslateErrorKind::Unsupported, message)
    }

    fn unsupported_pair(from: WireApi, to: WireApi) -> Self {
        Self::new(
            TranslateErrorKind::NoTranslation,
            format!("translation from {from} to {to} is not supported"),
        )
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TranslateError {}

/// What translating an answer needs beyond its body: from the client's request, and from the
/// provider's response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerContext {
    /// The client asked for `encoding_format: base64` embeddings (the provider answers floats).
    pub base64_embeddings: bool,
    /// Input tokens a provider reports in a header (Bedrock InvokeModel's
    /// `x-amzn-bedrock-input-token-count`; Cohere's answer has no count of its own).
    pub input_tokens: Option<u64>,
    /// The answer's id where its body has none (Bedrock's `x-amzn-requestid`); empty if unknown.
    pub response_id: String,
}

impl AnswerContext {
    /// What the provider's response headers tell about an answer of `api`, in one place: Bedrock
    /// answers carry their id only in `x-amzn-requestid`, and Cohere embeddings on Bedrock their
    /// input count only in `x-amzn-bedrock-input-token-count`. `header` reads one response
    /// header; no other API's answer needs one.
    pub fn from_headers(
        api: WireApi,
        base64_embeddings: bool,
        header: &mut dyn FnMut(&str) -> Option<String>,
    ) -> Self {
        let (response_id, input_tokens) = match api {
            WireApi::BedrockConverse => (bedrock_request_id(header), None),
            WireApi::BedrockEmbeddings => {
                let usage = crate::llm::usage::from_bedrock_headers(header).map(|u| u.input);
                (bedrock_request_id(header), usage)
            }
            WireApi::OpenAiChat
            | WireApi::OpenAiEmbeddings
            | WireApi::AnthropicMessages
            | WireApi::GeminiGenerate => (String::new(), None),
        };
        Self { base64_embeddings, input_tokens, response_id }
    }
}

/// Bedrock's request id, only an id's own characters: it becomes part of a JSON string and an
/// SSE line.
fn bedrock_request_id(header: &mut dyn FnMut(&str) -> Option<String>) -> String {
    header("x-amzn-requestid")
        .map(|id| {
            id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(64).collect()
        })
        .unwrap_or_default()
}

/// Client request body (client's API) → provider request body (provider's API).
///
/// `upstream_model` goes in the body where the format has one (not Gemini: its model is in the
/// path). `stream` is whether the client asked for streaming (Gemini's is from its path); the
/// body's own `stream` field is not consulted.
pub fn request(
    from: WireApi,
    to: WireApi,
    body: &[u8],
    upstream_model: &str,
    stream: bool,
) -> Result<Vec<u8>, TranslateError> {
    request_with(from, to, body, upstream_model, stream, false)
}

/// [`request`]; `filled_later`: the conversation may be empty, because the gateway adds to it
/// after translating (a prompt template).
pub fn request_with(
    from: WireApi,
    to: WireApi,
    body: &[u8],
    upstream_model: &str,
    stream: bool,
    filled_later: bool,
) -> Result<Vec<u8>, TranslateError> {
    // The model id names the body's family (Titan or Cohere).
    if (from, to) == (WireApi::OpenAiEmbeddings, WireApi::BedrockEmbeddings) {
        return embeddings::request_to_bedrock(parse(from, "request", body)?, upstream_model);
    }
    if from == to || !reads_requests(from) || !writes_requests(to) {
        return Err(TranslateError::unsupported_pair(from, to));
    }
    let conversation = read_request(from, body, filled_later)?;
    write_request(to, conversation, upstream_model, stream, filled_later)
}

/// Whether the gateway reads requests of `api` (what clients speak).
fn reads_requests(api: WireApi) -> bool {
    match api {
        WireApi::OpenAiChat | WireApi::AnthropicMessages | WireApi::GeminiGenerate => true,
        WireApi::BedrockConverse | WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => false,
    }
}

/// Whether the gateway writes chat requests of `api` (what providers speak).
fn writes_requests(api: WireApi) -> bool {
    match api {
        WireApi::OpenAiChat
        | WireApi::AnthropicMessages
        | WireApi::GeminiGenerate
        | WireApi::BedrockConverse => true,
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => false,
    }
}

/// A client's request in the intermediate form. `empty_ok`: the gateway adds to the
/// conversation after translating (a prompt template), so it may be empty.
fn read_request(api: WireApi, body: &[u8], empty_ok: bool) -> Result<Conversation, TranslateError> {
    match api {
        WireApi::OpenAiChat => openai::request_to_ir(parse(api, "request", body)?, empty_ok),
        WireApi::AnthropicMessages => anthropic::request_to_ir(parse(api, "request", body)?, empty_ok),
        WireApi::GeminiGenerate => gemini::request_to_ir(parse(api, "request", body)?, empty_ok),
        WireApi::BedrockConverse | WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => Err(
            TranslateError::new(TranslateErrorKind::NoTranslation, format!("{api} requests are not read")),
        ),
    }
}

/// The provider's request for `conversation`. `model` goes in the body where the format has
/// one (not Gemini's nor Converse's: their model is in the path).
fn write_request(
    api: WireApi,
    conversation: Conversation,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<Vec<u8>, TranslateError> {
    Ok(match api {
        WireApi::OpenAiChat => to_vec(&openai::request_from_ir(conversation, model, stream)),
        WireApi::AnthropicMessages => {
            to_vec(&anthropic::request_from_ir(conversation, model, stream, empty_ok)?)
        }
        WireApi::GeminiGenerate => to_vec(&gemini::request_from_ir(conversation, empty_ok)?),
        WireApi::BedrockConverse => to_vec(&bedrock::request_from_ir(conversation, empty_ok)?),
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => {
            return Err(TranslateError::new(
                TranslateErrorKind::NoTranslation,
                format!("{api} requests are not written from a conversation"),
            ))
        }
    })
}

/// Complete provider response body (provider's API) → the client's API. `client_model` is the
/// model name the client asked for; it goes in the response's model field.
pub fn response(
    from: WireApi,
    to: WireApi,
    body: &[u8],
    client_model: &str,
) -> Result<Vec<u8>, TranslateError> {
    response_with(from, to, body, client_model, &AnswerContext::default())
}

/// [`response`], with what the request and the response headers tell ([`AnswerContext`]).
pub fn response_with(
    from: WireApi,
    to: WireApi,
    body: &[u8],
    client_model: &str,
    context: &AnswerContext,
) -> Result<Vec<u8>, TranslateError> {
    if (from, to) == (WireApi::BedrockEmbeddings, WireApi::OpenAiEmbeddings) {
        return Ok(to_vec(&embeddings::response_to_openai(
            parse(from, "response", body)?,
            client_model,
            context,
        )?));
    }
    // Answers come from the APIs requests are written in and go to those clients speak.
    if from == to || !writes_requests(from) || !reads_requests(to) {
        return Err(TranslateError::unsupported_pair(from, to));
    }
    // The wire types are lenient (every field defaults), so an error envelope on a 200, as some
    // OpenAI-compatible servers send, would otherwise read as an empty answer.
    if is_error_envelope(body) {
        return Err(TranslateError::malformed(format!("the {from} response is an error, not an answer")));
    }
    let answer = read_answer(from, body, context)?;
    write_answer(to, answer, client_model)
}

/// A provider's answer in the intermediate form.
fn read_answer(api: WireApi, body: &[u8], context: &AnswerContext) -> Result<Answer, TranslateError> {
    Ok(match api {
        WireApi::OpenAiChat => openai::answer_to_ir(parse(api, "response", body)?),
        WireApi::AnthropicMessages => anthropic::answer_to_ir(parse(api, "response", body)?),
        WireApi::GeminiGenerate => gemini::answer_to_ir(parse(api, "response", body)?),
        WireApi::BedrockConverse => {
            bedrock::answer_to_ir(parse(api, "response", body)?, &context.response_id)
        }
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => {
            return Err(TranslateError::new(
                TranslateErrorKind::NoTranslation,
                format!("{api} answers are not read"),
            ))
        }
    })
}

/// The answer for a client of `api` that asked for `model`.
fn write_answer(api: WireApi, answer: Answer, model: &str) -> Result<Vec<u8>, TranslateError> {
    Ok(match api {
        WireApi::OpenAiChat => to_vec(&openai::answer_from_ir(answer, model)),
        WireApi::AnthropicMessages => to_vec(&anthropic::answer_from_ir(answer, model)?),
        WireApi::GeminiGenerate => to_vec(&gemini::answer_from_ir(answer, model)?),
        WireApi::BedrockConverse | WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => {
            return Err(TranslateError::new(
                TranslateErrorKind::NoTranslation,
                format!("{api} answers are not written"),
            ))
        }
    })
}

/// `{"error": …}` (non-null) at the top level: an error, whatever the status said.
fn is_error_envelope(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        error: Option<serde::de::IgnoredAny>,
    }
    // Answers rarely contain the key at all: skip the second parse for them.
    memchr::memmem::find(body, b"\"error\"").is_some()
        && serde_json::from_slice::<Probe>(body).is_ok_and(|p| p.error.is_some())
}

/// A provider error body (any status) → the client's error shape, keeping the provider's
/// message and mapping its type. Never fails: a body that is not a known error shape becomes a
/// generic error carrying the status (and the body's text, if short).
pub fn error(from: WireApi, to: WireApi, status: u16, body: &[u8]) -> Vec<u8> {
    let parsed = error::ProviderError::parse(from, status, body);
    parsed.render(to, status)
}

/// A provider's error body for a client of `to`: `None` when it can pass unchanged (same API,
/// already in that API's error shape, so fields such as OpenAI's `code` survive), otherwise the
/// body rendered in the client's shape — also for an empty body or an HTML page from a proxy in
/// front of the provider, which SDKs cannot read.
pub fn error_for_client(from: WireApi, to: WireApi, status: u16, body: &[u8]) -> Option<Vec<u8>> {
    if from.error_shape() == to.error_shape() && error::in_shape(to, body) {
        return None;
    }
    Some(error(from, to, status, body))
}

/// Whether an OpenAI chat request asked for usage in its stream
/// (`stream_options.include_usage`). False for anything else.
pub fn client_wants_usage(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Head {
        stream_options: Option<Options>,
    }
    #[derive(Deserialize)]
    struct Options {
        include_usage: Option<bool>,
    }
    serde_json::from_slice::<Head>(body)
        .ok()
        .and_then(|h| h.stream_options)
        .and_then(|o| o.include_usage)
        .unwrap_or(false)
}

fn parse<'a, T: Deserialize<'a>>(api: WireApi, what: &str, body: &'a [u8]) -> Result<T, TranslateError> {
    serde_json::from_slice(body)
        .map_err(|e| TranslateError::malformed(format!("invalid {api} {what} body: {e}")))
}

fn to_vec<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising these types into memory cannot fail: every map key is a string.
    serde_json::to_vec(value).unwrap_or_default()
}

impl FinishReason {
    pub(crate) fn from_openai(reason: &str) -> Self {
        match reason {
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            _ => FinishReason::Stop,
        }
    }

    pub(crate) fn openai(self) -> &'static str {
        match self {
            FinishReason::Stop | FinishReason::StopSequence => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
        }
    }
}

/// A `data:<mime>[;params];base64,<data>` URL, split. `None` for anything else.
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    let header = header.strip_suffix(";base64")?;
    let mime = header.split(';').next().unwrap_or(header);
    Some((mime, data))
}

pub(crate) fn data_url(mime: &str, data: &str) -> String {
    format!("data:{mime};base64,{data}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn data_urls() {
        assert_eq!(parse_data_url("data:image/png;base64,AAAA"), Some(("image/png", "AAAA")));
        assert_eq!(parse_data_url("data:image/png;name=x.png;base64,AA=="), Some(("image/png", "AA==")));
        assert_eq!(parse_data_url("data:text/plain,hello"), None);
        assert_eq!(parse_data_url("https://x/y.png"), None);
    }

    #[test]
    fn bedrock_error_bodies_are_always_rendered_for_the_client() {
        let body = br#"{"message":"Too many requests, please wait before trying again."}"#;
        assert!(error::in_shape(WireApi::BedrockConverse, body));
        let out = error_for_client(WireApi::BedrockConverse, WireApi::OpenAiChat, 429, body).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["type"], "rate_limit_exceeded");
        assert_eq!(v["error"]["message"], "Too many requests, please wait before trying again.");
    }

    #[test]
    fn wants_usage() {
        assert!(client_wants_usage(br#"{"stream":true,"stream_options":{"include_usage":true}}"#));
        assert!(!client_wants_usage(br#"{"stream":true}"#));
        assert!(!client_wants_usage(b"garbage"));
    }
}
