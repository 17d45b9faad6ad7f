//! Bedrock ConverseStream, provider side only (no client speaks it).
//!
//! Bedrock frames its stream in AWS's binary event-stream (`crate::http::eventstream`); before
//! the stream hub each message becomes one SSE event whose `event:` is the message's
//! `:event-type` (an exception's `:exception-type`, an error frame's `:error-code`) and whose
//! `data:` is its JSON payload (each event's two lines are shown on one here):
//!
//! ```text
//! event: messageStart        data: {"role":"assistant"}
//! event: contentBlockStart   data: {"start":{"toolUse":{"toolUseId":"t1","name":"f"}},"contentBlockIndex":1}
//! event: contentBlockDelta   data: {"contentBlockIndex":0,"delta":{"text":"Hi"}}
//! event: contentBlockDelta   data: {"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":"}}}
//! event: contentBlockDelta   data: {"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hm"}}}
//! event: contentBlockStop    data: {"contentBlockIndex":0}
//! event: messageStop         data: {"stopReason":"end_turn"}
//! event: metadata            data: {"usage":{"inputTokens":10,…},"metrics":{"latencyMs":100}}
//! event: throttlingException data: {"message":"…"}
//! ```
//!
//! Text blocks have no start event; a tool-use block starts with its id and name, and its
//! input arrives as JSON text fragments. A reasoning block has no start event either: its
//! `reasoningContent` deltas (a union) carry its `text`, then its `signature`, or its
//! `redactedContent` (base64, passed on as it is, as complete answers do). Only Claude signs or
//! redacts its reasoning, and the text's author is known only when the signature comes
//! ([`Author::Pending`]). The stop reason (`messageStop`) comes before the usage (`metadata`,
//! the last event): the finish is passed on as it comes, and the client encoders hold it until
//! the usage, as they do for the other providers. Converse streams carry no message id. An
//! event of no Converse type is an error if it looks like one (see `is_error`), otherwise a
//! newer event and passed over.

use super::{parse, Author, ProviderError, StreamEvent};
use crate::http::sse::SseEvent;
use crate::llm::api::WireApi;
use crate::llm::ir::Issuer;
use crate::llm::translate::{FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::bedrock as br;
use serde::Deserialize;
use std::borrow::Cow;

/// The events of a Converse stream.
const EVENTS: [&str; 6] =
    ["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"];

/// An event that is no Converse event is an error when it is named as an exception, or is an
/// error frame (named by its error code, with no payload or a `message`). Anything else is a
/// newer event, passed over.
fn is_error(name: &str, data: &[u8]) -> bool {
    name.ends_with("Exception")
        || (!name.is_empty() && data.is_empty())
        || ProviderError::parse_known(WireApi::BedrockConverse, 0, data).is_some()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    #[serde(default)]
    content_block_index: u32,
    #[serde(default, borrow)]
    start: Option<StartView<'a>>,
    #[serde(default, borrow)]
    delta: Option<DeltaView<'a>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<br::Usage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartView<'a> {
    #[serde(default, borrow)]
    tool_use: Option<ToolStartView<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStartView<'a> {
    #[serde(default, borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaView<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_use: Option<ToolDeltaView<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<ReasoningDeltaView<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDeltaView<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolDeltaView<'a> {
    #[serde(default, borrow)]
    input: Cow<'a, str>,
}

impl ReasoningDeltaView<'_> {
    fn emit(&self, emit: &mut dyn FnMut(StreamEvent<'_>)) {
        let issuer = Issuer::Claude;
        if let Some(text) = self.text.as_deref().filter(|t| !t.is_empty()) {
            emit(StreamEvent::Reasoning { text, author: Author::Pending });
        }
        if let Some(signature) = self.signature.as_deref().filter(|s| !s.is_empty()) {
            emit(StreamEvent::ReasoningSignature { signature, issuer });
        }
        if let Some(data) = self.redacted_content.as_deref().filter(|d| !d.is_empty()) {
            emit(StreamEvent::RedactedReasoning { data, issuer });
        }
    }
}

#[derive(Default)]
pub(super) struct Decoder {
    /// The message id (Converse streams carry none: the response's `x-amzn-requestid`).
    pub(super) id: String,
    started: bool,
    stopped: bool,
    /// (content block index, tool-call index) of each tool-use block.
    tool_blocks: Vec<(u32, u32)>,
}

impl Decoder {
    pub(super) fn decode(
        &mut self,
        event: &SseEvent<'_>,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), TranslateError> {
        let data = event.data.trim_ascii();
        let name = event.event_name().unwrap_or_default();
        if !EVENTS.contains(&name) && is_error(name, data) {
            emit(StreamEvent::Error(ProviderError::bedrock_exception(name, data)));
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let ev: EventView<'_> = parse(WireApi::BedrockConverse, data)?;
        if !self.started && name != "metadata" {
            self.started = true;
            emit(StreamEvent::Start { id: &self.id });
        }
        match name {
            "contentBlockStart" => {
                if let Some(tool) = ev.start.and_then(|s| s.tool_use) {
                    let index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((ev.content_block_index, index));
                    emit(StreamEvent::ToolCallStart { index, id: &tool.tool_use_id, name: &tool.name });
                }
            }
            "contentBlockDelta" => {
                let Some(delta) = ev.delta else { return Ok(()) };
                if let Some(text) = delta.text.as_deref().filter(|t| !t.is_empty()) {
                    emit(StreamEvent::Text(text));
                } else if let Some(tool) = delta.tool_use.filter(|t| !t.input.is_empty()) {
                    let block = ev.content_block_index;
                    if let Some(&(_, index)) = self.tool_blocks.iter().find(|(b, _)| *b == block) {
                        emit(StreamEvent::ToolArgs { index, json: &tool.input });
                    }
                } else if let Some(reasoning) = delta.reasoning_content {
                    reasoning.emit(emit);
                }
                // citations …: not translated.
            }
            "messageStop" => {
                self.stopped = true;
                let reason = ev.stop_reason.as_deref().map_or(FinishReason::Stop, FinishReason::from_bedrock);
                emit(StreamEvent::Finish(reason));
            }
            "metadata" => {
                if let Some(usage) = &ev.usage {
                    emit(StreamEvent::Usage(Usage::from_bedrock(usage)));
                }
                // The last event of a stream that stopped.
                if self.stopped {
                    emit(StreamEvent::Done);
                }
            }
            // messageStart, contentBlockStop, anything newer.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::llm::api::WireApi;
    use crate::llm::translate::StreamTranslator;

    fn to_anthropic(input: &str) -> String {
        let mut t = StreamTranslator::new(WireApi::BedrockConverse, WireApi::AnthropicMessages, "m", false);
        let mut out = Vec::new();
        t.push(input.as_bytes(), &mut out).unwrap();
        t.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_exception_keeps_its_kind() {
        for (name, kind) in [
            ("throttlingException", "rate_limit_error"),
            ("validationException", "invalid_request_error"),
            ("internalServerException", "api_error"),
            ("modelStreamErrorException", "api_error"),
            ("serviceUnavailableException", "overloaded_error"),
            ("accessDeniedException", "permission_error"),
            ("somethingNewException", "api_error"),
        ] {
            let out = to_anthropic(&format!("event: {name}\ndata: {{\"message\":\"m-{name}\"}}\n\n"));
            assert!(out.contains(&format!(r#""type":"{kind}","message":"m-{name}""#)), "{name}: {out}");
        }
    }

    #[test]
    fn an_error_frame_named_by_its_code_is_an_error() {
        let out = to_anthropic("event: InternalFailure\ndata: \n\n");
        assert!(
            out.contains(r#""type":"api_error","message":"the provider's stream failed: InternalFailure""#),
            "{out}"
        );
        let out = to_anthropic("event: unknown\ndata: {\"message\":\"boom\"}\n\n");
        assert!(out.contains(r#""message":"boom""#), "{out}");
        // A newer event type is passed over.
        let out = to_anthropic("event: somethingNew\ndata: {\"x\":1}\n\n");
        assert!(!out.contains("\"error\""), "{out}");
    }

    /// Reasoning of a model that does not sign it (DeepSeek-R1, gpt-oss on Bedrock), then text.
    const UNSIGNED: &str = "event: messageStart\ndata: {\"role\":\"assistant\"}\n\n\
event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"Hm\"}}}\n\n\
event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"m.\"}}}\n\n\
event: contentBlockStop\ndata: {\"contentBlockIndex\":0}\n\n\
event: contentBlockDelta\ndata: {\"contentBlockIndex\":1,\"delta\":{\"text\":\"Hi\"}}\n\n\
event: messageStop\ndata: {\"stopReason\":\"end_turn\"}\n\n";

    #[test]
    fn unsigned_reasoning_is_not_shown_to_an_anthropic_client_but_is_to_others() {
        let out = to_anthropic(UNSIGNED);
        assert!(!out.contains("thinking") && !out.contains("Hm"), "{out}");
        assert!(out.contains(r#""index":0,"content_block":{"type":"text","text":""}"#), "{out}");
        let events = super::super::translated(WireApi::BedrockConverse, WireApi::OpenAiChat, UNSIGNED);
        let reasoning: Vec<&str> =
            events.iter().filter_map(|e| e["choices"][0]["delta"]["reasoning_content"].as_str()).collect();
        assert_eq!(reasoning, ["Hm", "m."]);
    }

    #[test]
    fn a_stream_ending_in_unsigned_reasoning_closes_without_it() {
        let input = UNSIGNED.split("event: contentBlockStop").next().unwrap();
        let out = to_anthropic(input);
        assert!(!out.contains("content_block_start") && out.contains("message_stop"), "{out}");
    }

    #[test]
    fn a_stream_without_names_or_ending_still_closes() {
        // Unnamed events are not Converse events: passed over, and the client's stream ends.
        let out = to_anthropic("data: {\"contentBlockIndex\":0,\"delta\":{\"text\":\"x\"}}\n\n");
        assert!(!out.contains("\"x\""), "{out}");
        assert!(out.contains("message_stop"), "{out}");
    }
}
