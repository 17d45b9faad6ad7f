//! Streaming translation: provider SSE in, client SSE out, chunk by chunk.
//!
//! A provider stream is parsed into SSE events ([`crate::http::sse::SseParser`], robust to any chunk
//! split), each event's data is decoded into `StreamEvent`s by the provider's decoder, and the
//! client's encoder writes those as its own events. Decoders and encoders keep only what the
//! formats force them to carry across events (which content block is open, the usage so far, a
//! finish reason that must wait for the usage), never the stream's text.
//!
//! Each event's data is parsed once, into views that borrow from it and name only the fields
//! used; output is serialised into a scratch buffer reused for the whole stream.
//!
//! Reasoning follows the rule of complete answers ([`crate::llm::ir::Reasoning`]): a client is
//! handed a signature only where it can hand it back to the models that made it. An Anthropic
//! client is shown Claude's reasoning only (a thinking block must carry a signature); reasoning
//! whose author a Converse stream only tells by the signature at its end is held until then,
//! the one place an encoder keeps a stream's text.

mod anthropic;
mod bedrock;
mod gemini;
mod openai;

use super::error::ProviderError;
use super::{FinishReason, TranslateError};
use crate::http::sse::{SseEvent, SseParser};
use crate::llm::api::WireApi;
use crate::llm::ir::Issuer;
use crate::llm::usage::Usage;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use std::marker::PhantomData;

/// What happened in a provider stream, in terms every client format can express.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StreamEvent<'a> {
    /// The message began; `id` is the provider's.
    Start {
        id: &'a str,
    },
    /// Answer text.
    Text(&'a str),
    /// A tool call began. `index` counts tool calls from 0, in order.
    ToolCallStart {
        index: u32,
        id: &'a str,
        name: &'a str,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolArgs {
        index: u32,
        json: &'a str,
    },
    /// A fragment of the model's reasoning ("thinking").
    Reasoning {
        text: &'a str,
        author: Author,
    },
    /// The signature of the reasoning block it ends, whole: Anthropic's `signature_delta` and
    /// Converse's `reasoningContent.signature` come once, at the end of their block (a later
    /// one replaces it, as Anthropic's SDKs take it).
    ReasoningSignature {
        signature: &'a str,
        issuer: Issuer,
    },
    /// Reasoning the provider encrypted, whole (Anthropic `redacted_thinking`, Converse
    /// `redactedContent`): opaque, only ever handed back.
    RedactedReasoning {
        data: &'a str,
        issuer: Issuer,
    },
    Finish(FinishReason),
    /// Usage so far (a complete snapshot: it replaces any earlier one).
    Usage(Usage),
    /// The provider reported an error mid-stream; nothing follows.
    Error(ProviderError<'a>),
    /// The provider ended the stream (or the stream ended).
    Done,
}

/// Whose model wrote reasoning text, as far as the provider's stream says when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Author {
    /// This family's models (a signature follows where they sign it).
    Known(Issuer),
    /// Not said yet: a signature may follow it. Converse carries Claude's signed reasoning and
    /// other models' unsigned reasoning in the same shape.
    Pending,
    /// Another model's, never signed (OpenAI-compatible servers).
    Unsigned,
}

enum Decoder {
    OpenAi(openai::Decoder),
    Anthropic(anthropic::Decoder),
    Gemini(gemini::Decoder),
    Bedrock(bedrock::Decoder),
}

impl Decoder {
    fn new(api: WireApi) -> Option<Self> {
        Some(match api {
            WireApi::OpenAiChat => Decoder::OpenAi(openai::Decoder::default()),
            WireApi::AnthropicMessages => Decoder::Anthropic(anthropic::Decoder::default()),
            WireApi::GeminiGenerate => Decoder::Gemini(gemini::Decoder::default()),
            WireApi::BedrockConverse => Decoder::Bedrock(bedrock::Decoder::default()),
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => return None,
        })
    }

    fn decode(
        &mut self,
        event: &SseEvent<'_>,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), TranslateError> {
        match self {
            Decoder::OpenAi(d) => d.decode(event, emit),
            Decoder::Anthropic(d) => d.decode(event, emit),
            Decoder::Gemini(d) => d.decode(event, emit),
            Decoder::Bedrock(d) => d.decode(event, emit),
        }
    }
}

enum Encoder {
    OpenAi(openai::Encoder),
    Anthropic(anthropic::Encoder),
    Gemini(gemini::Encoder),
}

impl Encoder {
    fn new(api: WireApi, client_model: &str, include_usage: bool) -> Option<Self> {
        Some(match api {
            WireApi::OpenAiChat => Encoder::OpenAi(openai::Encoder::new(client_model, include_usage)),
            WireApi::AnthropicMessages => Encoder::Anthropic(anthropic::Encoder::new(client_model)),
            WireApi::GeminiGenerate => Encoder::Gemini(gemini::Encoder::new(client_model)),
            // No client speaks Bedrock's APIs; embeddings do not stream.
            WireApi::OpenAiEmbeddings | WireApi::BedrockConverse | WireApi::BedrockEmbeddings => return None,
        })
    }

    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        match self {
            Encoder::OpenAi(e) => e.encode(event, out),
            Encoder::Anthropic(e) => e.encode(event, out),
            Encoder::Gemini(e) => e.encode(event, out),
        }
    }
}

/// Translates one provider stream into the client's format.
pub struct StreamTranslator {
    from: WireApi,
    to: WireApi,
    parser: SseParser,
    decoder: Option<Decoder>,
    encoder: Option<Encoder>,
}

impl StreamTranslator {
    /// `from`: the provider's API; `to`: the client's. `client_model` goes in every event that
    /// names a model. `include_usage`: an OpenAI client asked for `stream_options.include_usage`
    /// (see [`super::client_wants_usage`]); other clients always get usage.
    pub fn new(from: WireApi, to: WireApi, client_model: &str, include_usage: bool) -> Self {
        Self {
            from,
            to,
            parser: SseParser::default(),
            decoder: Decoder::new(from),
            encoder: Encoder::new(to, client_model, include_usage),
        }
    }

    /// The id of the provider's answer, for a provider whose stream carries none (Bedrock:
    /// its `x-amzn-requestid`): the client's message id derives from it.
    pub fn with_response_id(mut self, id: &str) -> Self {
        if let Some(Decoder::Bedrock(d)) = &mut self.decoder {
            d.id = id.to_string();
        }
        self
    }

    /// Feeds the next chunk of the provider's stream; appends the client's bytes to `out`.
    ///
    /// A provider event that cannot be read (not valid JSON, over the size bound) ends the
    /// client's stream with an error event in its format after everything before it was
    /// translated, and is returned for the log; the rest of the provider's stream is dropped
    /// (it cannot be trusted after a broken event).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let (Some(decoder), Some(encoder)) = (&mut self.decoder, &mut self.encoder) else {
            return Err(TranslateError::unsupported_pair(self.from, self.to));
        };
        let mut failure = None;
        let fed = self.parser.feed(chunk, |event| {
            if failure.is_none() {
                if let Err(e) = decoder.decode(&event, &mut |ev| encoder.encode(ev, out)) {
                    failure = Some(e);
                }
            }
        });
        let failure = match fed {
            Err(e) => Some(TranslateError::malformed(format!("provider stream: {e}"))),
            Ok(()) => failure,
        };
        match failure {
            None => Ok(()),
            Some(e) => {
                let message = format!("the provider's stream could not be translated: {}", e.message);
                encoder.encode(StreamEvent::Error(ProviderError::server(&message)), out);
                encoder.encode(StreamEvent::Done, out);
                Err(e)
            }
        }
    }

    /// The provider's stream ended: translates a last unterminated event, closes what is open
    /// and writes the client format's terminator (`[DONE]`, `message_stop`) if the provider's
    /// stream did not end with its own. Calling it again does nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let (Some(decoder), Some(encoder)) = (&mut self.decoder, &mut self.encoder) else {
            return Err(TranslateError::unsupported_pair(self.from, self.to));
        };
        let mut failure = None;
        self.parser.finish(|event| {
            if let Err(e) = decoder.decode(&event, &mut |ev| encoder.encode(ev, out)) {
                failure.get_or_insert(e);
            }
        });
        encoder.encode(StreamEvent::Done, out);
        failure.map_or(Ok(()), Err)
    }
}

/// Parses an event's data as `T`.
fn parse<'a, T: Deserialize<'a>>(api: WireApi, data: &'a [u8]) -> Result<T, TranslateError> {
    serde_json::from_slice(data)
        .map_err(|e| TranslateError::malformed(format!("invalid {api} stream event: {e}")))
}

/// Serialises `value` into `scratch` (reused) and appends it to `out` as one SSE event.
fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, scratch: &mut Vec<u8>, event: Option<&str>, value: &T) {
    scratch.clear();
    if serde_json::to_writer(&mut *scratch, value).is_ok() {
        crate::http::sse::write_event(out, event, scratch);
    }
}

/// The first element of a JSON array (the rest skipped unparsed); `null` or absent: none.
/// Choices and candidates past the first are not translated (`n` > 1 is refused up front), and
/// this keeps a chunk's parse free of a `Vec`.
pub(crate) struct First<T>(pub Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }
        }
        deserializer.deserialize_any(FirstVisitor(PhantomData))
    }
}

/// A whole provider stream translated, as the data of the client's events, parsed (the
/// terminator `[DONE]` as a JSON string).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) fn translated(from: WireApi, to: WireApi, input: &str) -> Vec<serde_json::Value> {
    let mut t = StreamTranslator::new(from, to, "m", true);
    let mut out = Vec::new();
    t.push(input.as_bytes(), &mut out).unwrap();
    t.finish(&mut out).unwrap();
    let mut events = Vec::new();
    let mut parser = SseParser::default();
    let mut take = |e: SseEvent<'_>| {
        let data =
            serde_json::from_slice(&e.data).unwrap_or_else(|_| String::from_utf8_lossy(&e.data).into());
        events.push(data);
    };
    parser.feed(&out, &mut take).unwrap();
    parser.finish(&mut take);
    events
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn first_of_array() {
        #[derive(serde::Deserialize)]
        struct S {
            #[serde(default)]
            a: First<u32>,
        }
        let first = |s: &str| serde_json::from_str::<S>(s).unwrap().a.0;
        assert_eq!(first(r#"{"a":[1,{"x":2},3]}"#), Some(1));
        assert_eq!(first(r#"{"a":[]}"#), None);
        assert_eq!(first(r#"{"a":null}"#), None);
        assert_eq!(first(r#"{}"#), None);
        assert!(serde_json::from_str::<S>(r#"{"a":["x"]}"#).is_err());
    }

    #[test]
    fn malformed_event_is_an_error_after_what_came_before() {
        let mut t = StreamTranslator::new(WireApi::AnthropicMessages, WireApi::OpenAiChat, "m", false);
        let mut out = Vec::new();
        let input = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"x\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n\
event: content_block_delta\ndata: {oops\n\n";
        let err = t.push(input, &mut out).unwrap_err();
        assert!(err.message.contains("invalid anthropic-messages stream event"), "{err}");
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains(r#""role":"assistant""#) && text.contains(r#""content":"a""#), "{text}");
        // The client's stream ends with an error event, and nothing follows it.
        let last = text.trim_end().rsplit("\n\n").next().unwrap_or_default();
        assert!(last.starts_with("data: {\"error\"") && last.contains("could not be translated"), "{text}");
        let before = out.len();
        t.push(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n", &mut out).unwrap();
        t.finish(&mut out).unwrap();
        assert_eq!(out.len(), before, "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn finish_is_idempotent_and_terminates_an_empty_stream() {
        let mut t = StreamTranslator::new(WireApi::OpenAiChat, WireApi::AnthropicMessages, "m", false);
        let mut out = Vec::new();
        t.finish(&mut out).unwrap();
        let first = out.clone();
        t.finish(&mut out).unwrap();
        assert_eq!(out, first);
        let text = String::from_utf8(out).unwrap();
        let names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
        assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
        // And nothing after the end.
        let mut more = Vec::new();
        t.push(b"data: {\"id\":\"late\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", &mut more)
            .unwrap();
        assert!(more.is_empty());
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut t = StreamTranslator::new(WireApi::GeminiGenerate, WireApi::OpenAiChat, "m", false);
        let mut out = Vec::new();
        let big = vec![b'x'; crate::http::sse::DEFAULT_MAX_EVENT_BYTES + 1];
        assert!(t.push(b"data: ", &mut out).is_ok());
        assert!(t.push(&big, &mut out).is_err());
    }

    #[test]
    fn unsupported_pairs_fail_without_panicking() {
        let mut t = StreamTranslator::new(WireApi::OpenAiEmbeddings, WireApi::OpenAiChat, "m", false);
        let mut out = Vec::new();
        assert!(t.push(b"data: {}\n\n", &mut out).is_err());
        assert!(t.finish(&mut out).is_err());
        assert!(out.is_empty());
    }
}
