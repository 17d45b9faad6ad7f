//! Anthropic Messages streams: named events.
//!
//! `message_start` (id, prompt usage) · per content block `content_block_start` /
//! `content_block_delta` (`text_delta`, `input_json_delta`, `thinking_delta`,
//! `signature_delta`) / `content_block_stop`, each with the block's `index` · `message_delta`
//! (stop reason, running output usage) · `message_stop`. Plus `ping` and `error`. The SDKs
//! dispatch on the `event:` line, so every event has one.
//!
//! A thinking block opens as `{"type":"thinking","thinking":"","signature":""}`, its text comes
//! in `thinking_delta`s and its signature in one `signature_delta` before the block's stop; a
//! `redacted_thinking` block opens with its `data` and stops.

use super::{parse, write_json, Author, ProviderError, StreamEvent};
use crate::http::sse::{write_event, SseEvent};
use crate::llm::api::WireApi;
use crate::llm::ir::Issuer;
use crate::llm::translate::anthropic::anthropic_id;
use crate::llm::translate::{FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::anthropic as an;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

// ---------------------------------------------------------------------------------------------
// Provider side

#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: u32,
    #[serde(default, borrow)]
    message: Option<MessageView<'a>>,
    #[serde(default, borrow)]
    content_block: Option<BlockView<'a>>,
    #[serde(default, borrow)]
    delta: Option<DeltaView<'a>>,
    #[serde(default)]
    usage: Option<UsageView>,
}

#[derive(Deserialize)]
struct MessageView<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    usage: Option<UsageView>,
}

#[derive(Deserialize)]
struct BlockView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaView<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

/// Fields present replace the running values; absent ones keep them.
#[derive(Deserialize)]
struct UsageView {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

#[derive(Default)]
pub(super) struct Decoder {
    usage: an::Usage,
    /// (content block index, tool-call index) of each tool_use block.
    tool_blocks: Vec<(u32, u32)>,
}

impl Decoder {
    pub(super) fn decode(
        &mut self,
        event: &SseEvent<'_>,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), TranslateError> {
        let data: &[u8] = &event.data;
        let ev: EventView<'_> = parse(WireApi::AnthropicMessages, data)?;
        match ev.kind.as_ref() {
            "message_start" => {
                let message = ev.message;
                emit(StreamEvent::Start { id: message.as_ref().map_or("", |m| &m.id) });
                if let Some(u) = message.and_then(|m| m.usage) {
                    self.observe(&u);
                    emit(StreamEvent::Usage(Usage::from_anthropic(&self.usage)));
                }
            }
            "content_block_start" => match ev.content_block {
                Some(block) if block.kind == "text" => {
                    if let Some(text) = block.text.as_deref().filter(|t| !t.is_empty()) {
                        emit(StreamEvent::Text(text));
                    }
                }
                Some(block) if block.kind == "tool_use" => {
                    let index = self.tool_blocks.len() as u32;
                    self.tool_blocks.push((ev.index, index));
                    emit(StreamEvent::ToolCallStart {
                        index,
                        id: block.id.as_deref().unwrap_or_default(),
                        name: block.name.as_deref().unwrap_or_default(),
                    });
                }
                // Empty so far, as a rule: the text and the signature come as deltas.
                Some(block) if block.kind == "thinking" => {
                    reasoning(block.thinking.as_deref(), block.signature.as_deref(), emit)
                }
                Some(block) if block.kind == "redacted_thinking" => {
                    if let Some(data) = block.data.as_deref().filter(|d| !d.is_empty()) {
                        emit(StreamEvent::RedactedReasoning { data, issuer: Issuer::Claude });
                    }
                }
                // server tools …: not translated.
                _ => {}
            },
            "content_block_delta" => {
                let Some(delta) = ev.delta else {
                    return Ok(());
                };
                match delta.kind.as_deref() {
                    Some("text_delta") => {
                        if let Some(text) = delta.text.as_deref().filter(|t| !t.is_empty()) {
                            emit(StreamEvent::Text(text));
                        }
                    }
                    Some("input_json_delta") => {
                        let tool = self.tool_blocks.iter().find(|(block, _)| *block == ev.index);
                        if let (Some(&(_, index)), Some(json)) =
                            (tool, delta.partial_json.as_deref().filter(|j| !j.is_empty()))
                        {
                            emit(StreamEvent::ToolArgs { index, json });
                        }
                    }
                    Some("thinking_delta") => reasoning(delta.thinking.as_deref(), None, emit),
                    Some("signature_delta") => reasoning(None, delta.signature.as_deref(), emit),
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = ev.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                    emit(StreamEvent::Finish(FinishReason::from_anthropic(reason)));
                }
                if let Some(u) = ev.usage {
                    self.observe(&u);
                    emit(StreamEvent::Usage(Usage::from_anthropic(&self.usage)));
                }
            }
            "message_stop" => emit(StreamEvent::Done),
            "error" => emit(StreamEvent::Error(ProviderError::parse(WireApi::AnthropicMessages, 0, data))),
            // ping, content_block_stop, anything newer.
            _ => {}
        }
        Ok(())
    }

    fn observe(&mut self, u: &UsageView) {
        let usage = &mut self.usage;
        for (field, value) in [
            (&mut usage.input_tokens, u.input_tokens),
            (&mut usage.output_tokens, u.output_tokens),
            (&mut usage.cache_creation_input_tokens, u.cache_creation_input_tokens),
            (&mut usage.cache_read_input_tokens, u.cache_read_input_tokens),
        ] {
            if let Some(value) = value {
                *field = value;
            }
        }
    }
}

/// Claude's reasoning text and signature, where not empty.
fn reasoning(text: Option<&str>, signature: Option<&str>, emit: &mut dyn FnMut(StreamEvent<'_>)) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        emit(StreamEvent::Reasoning { text, author: Author::Known(Issuer::Claude) });
    }
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        emit(StreamEvent::ReasoningSignature { signature, issuer: Issuer::Claude });
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventOut<'a> {
    MessageStart { message: MessageOut<'a> },
    ContentBlockStart { index: u32, content_block: BlockOut<'a> },
    ContentBlockDelta { index: u32, delta: DeltaOut<'a> },
    ContentBlockStop { index: u32 },
    MessageDelta { delta: MessageDeltaOut<'a>, usage: an::Usage },
    MessageStop,
}

impl EventOut<'_> {
    fn name(&self) -> &'static str {
        match self {
            EventOut::MessageStart { .. } => "message_start",
            EventOut::ContentBlockStart { .. } => "content_block_start",
            EventOut::ContentBlockDelta { .. } => "content_block_delta",
            EventOut::ContentBlockStop { .. } => "content_block_stop",
            EventOut::MessageDelta { .. } => "message_delta",
            EventOut::MessageStop => "message_stop",
        }
    }
}

#[derive(Serialize)]
struct MessageOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: [(); 0],
    stop_reason: Option<&'a str>,
    stop_sequence: Option<&'a str>,
    usage: an::Usage,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text { text: &'a str },
    ToolUse { id: &'a str, name: &'a str, input: Empty },
    Thinking { thinking: &'a str, signature: &'a str },
    RedactedThinking { data: &'a str },
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

/// Named as Anthropic's delta `type`s.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
    ThinkingDelta { thinking: &'a str },
    SignatureDelta { signature: &'a str },
}

#[derive(Serialize)]
struct MessageDeltaOut<'a> {
    stop_reason: Option<&'a str>,
    stop_sequence: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(u32),
    Tool(u32),
    /// `signed`: its signature was written, so more reasoning is another block.
    Thinking {
        index: u32,
        signed: bool,
    },
}

pub(super) struct Encoder {
    model: String,
    started: bool,
    /// The content block being written.
    open: Option<Open>,
    next_block: u32,
    /// (tool-call index, content block index).
    tool_blocks: Vec<(u32, u32)>,
    /// Reasoning by an author not known yet ([`Author::Pending`]): written when its signature
    /// says it is Claude's, dropped when anything else comes first.
    pending: String,
    finish: Option<FinishReason>,
    usage: Usage,
    done: bool,
    scratch: Vec<u8>,
}

impl Encoder {
    pub(super) fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            started: false,
            open: None,
            next_block: 0,
            tool_blocks: Vec::new(),
            pending: String::new(),
            finish: None,
            usage: Usage::default(),
            done: false,
            scratch: Vec::new(),
        }
    }

    pub(super) fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id } => self.start(id, out),
            StreamEvent::Text(text) => {
                self.start("", out);
                self.pending.clear();
                let index = match self.open {
                    Some(Open::Text(index)) => index,
                    _ => {
                        self.close(out);
                        let index = self.open_block(Open::Text);
                        let block = BlockOut::Text { text: "" };
                        self.write(out, &EventOut::ContentBlockStart { index, content_block: block });
                        index
                    }
                };
                self.write(out, &EventOut::ContentBlockDelta { index, delta: DeltaOut::TextDelta { text } });
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.start("", out);
                self.pending.clear();
                self.close(out);
                let block = self.open_block(Open::Tool);
                self.tool_blocks.push((index, block));
                self.write(
                    out,
                    &EventOut::ContentBlockStart {
                        index: block,
                        content_block: BlockOut::ToolUse { id, name, input: Empty {} },
                    },
                );
            }
            StreamEvent::ToolArgs { index, json } => {
                let block = self.tool_blocks.iter().find(|(tool, _)| *tool == index);
                if let Some(&(_, block)) = block {
                    self.write(
                        out,
                        &EventOut::ContentBlockDelta {
                            index: block,
                            delta: DeltaOut::InputJsonDelta { partial_json: json },
                        },
                    );
                }
            }
            StreamEvent::Reasoning { text, author } => self.reasoning(text, author, out),
            StreamEvent::ReasoningSignature { signature, issuer } => self.signature(signature, issuer, out),
            StreamEvent::RedactedReasoning { data, issuer } => self.redacted(data, issuer, out),
            // Both wait for the end: OpenAI reports usage after the finish reason, and
            // Anthropic puts them in one `message_delta`.
            StreamEvent::Finish(reason) => self.finish = Some(reason),
            StreamEvent::Usage(usage) => self.usage = usage,
            StreamEvent::Error(error) => {
                self.scratch.clear();
                error.write(WireApi::AnthropicMessages, 0, &mut self.scratch);
                write_event(out, Some("error"), &self.scratch);
                self.done = true;
            }
            StreamEvent::Done => {
                self.start("", out);
                self.close(out);
                let delta = MessageDeltaOut {
                    stop_reason: self.finish.map(FinishReason::anthropic),
                    stop_sequence: None,
                };
                let usage = self.usage.to_anthropic();
                self.write(out, &EventOut::MessageDelta { delta, usage });
                self.write(out, &EventOut::MessageStop);
                self.done = true;
            }
        }
    }

    /// `message_start`, once. Prompt tokens are not known yet when translating from OpenAI:
    /// they are 0 here and real in `message_delta`.
    fn start(&mut self, provider_id: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = anthropic_id(provider_id);
        let message = MessageOut {
            id: &id,
            kind: "message",
            role: "assistant",
            model: &self.model,
            content: [],
            stop_reason: None,
            stop_sequence: None,
            usage: self.usage.to_anthropic(),
        };
        write_json(out, &mut self.scratch, Some("message_start"), &EventOut::MessageStart { message });
    }

    /// Claude's reasoning is written as it comes, reasoning by an author not known yet waits
    /// for its signature, and another model's is not shown: a thinking block needs Claude's
    /// signature.
    fn reasoning(&mut self, text: &str, author: Author, out: &mut Vec<u8>) {
        match author {
            Author::Known(Issuer::Claude) => {
                let index = self.thinking_block(out);
                let delta = DeltaOut::ThinkingDelta { thinking: text };
                self.write(out, &EventOut::ContentBlockDelta { index, delta });
            }
            Author::Pending => self.pending.push_str(text),
            Author::Known(Issuer::Gemini) | Author::Unsigned => {}
        }
    }

    /// Claude's signature ends its thinking block: the open one, or one of the reasoning held
    /// for it (or a block of the signature alone, for reasoning not shown). A later signature
    /// of the same block replaces it.
    fn signature(&mut self, signature: &str, issuer: Issuer, out: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        if issuer == Issuer::Claude {
            let index = match self.open {
                Some(Open::Thinking { index, signed: true }) if pending.is_empty() => index,
                _ => self.thinking_block(out),
            };
            if !pending.is_empty() {
                let delta = DeltaOut::ThinkingDelta { thinking: &pending };
                self.write(out, &EventOut::ContentBlockDelta { index, delta });
            }
            let delta = DeltaOut::SignatureDelta { signature };
            self.write(out, &EventOut::ContentBlockDelta { index, delta });
            self.open = Some(Open::Thinking { index, signed: true });
        }
        // Kept for its capacity.
        self.pending = pending;
        self.pending.clear();
    }

    /// Claude's encrypted reasoning: a block of its own, opened with the data and stopped.
    fn redacted(&mut self, data: &str, issuer: Issuer, out: &mut Vec<u8>) {
        self.pending.clear();
        if issuer != Issuer::Claude {
            return;
        }
        self.start("", out);
        self.close(out);
        let index = self.next_index();
        let block = BlockOut::RedactedThinking { data };
        self.write(out, &EventOut::ContentBlockStart { index, content_block: block });
        self.write(out, &EventOut::ContentBlockStop { index });
    }

    /// The open thinking block not signed yet, or a new one.
    fn thinking_block(&mut self, out: &mut Vec<u8>) -> u32 {
        self.start("", out);
        if let Some(Open::Thinking { index, signed: false }) = self.open {
            return index;
        }
        self.close(out);
        let index = self.open_block(|index| Open::Thinking { index, signed: false });
        let block = BlockOut::Thinking { thinking: "", signature: "" };
        self.write(out, &EventOut::ContentBlockStart { index, content_block: block });
        index
    }

    fn open_block(&mut self, kind: fn(u32) -> Open) -> u32 {
        let index = self.next_index();
        self.open = Some(kind(index));
        index
    }

    fn next_index(&mut self) -> u32 {
        let index = self.next_block;
        self.next_block = self.next_block.saturating_add(1);
        index
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some(Open::Text(index) | Open::Tool(index) | Open::Thinking { index, .. }) = self.open.take() {
            self.write(out, &EventOut::ContentBlockStop { index });
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, event: &EventOut<'_>) {
        write_json(out, &mut self.scratch, Some(event.name()), event);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::translated;
    use crate::llm::api::WireApi;
    use serde_json::Value;

    /// An Anthropic client's content-block events, each as `type index what` (what: the block's
    /// type and the delta's text, signature or data).
    fn blocks(events: &[Value]) -> Vec<String> {
        let text = |v: &Value| {
            ["text", "thinking", "signature", "data", "partial_json"]
                .iter()
                .find_map(|k| v[*k].as_str())
                .unwrap_or_default()
                .to_string()
        };
        events
            .iter()
            .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("content_block")))
            .map(|e| {
                let what = match e["type"].as_str().unwrap() {
                    "content_block_start" => {
                        format!(
                            "{} {}",
                            e["content_block"]["type"].as_str().unwrap(),
                            text(&e["content_block"])
                        )
                    }
                    "content_block_delta" => {
                        format!("{} {}", e["delta"]["type"].as_str().unwrap(), text(&e["delta"]))
                    }
                    _ => String::new(),
                };
                format!("{} {} {}", e["type"].as_str().unwrap(), e["index"], what).trim_end().to_string()
            })
            .collect()
    }

    fn event(name: &str, data: &str) -> String {
        format!("event: {name}\ndata: {data}\n\n")
    }

    #[test]
    fn claudes_thinking_is_written_as_it_comes_with_its_signature_and_redacted_blocks() {
        let input = [
            event("message_start", r#"{"type":"message_start","message":{"id":"msg_1"}}"#),
            event("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hm"}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"m."}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s1"}}"#),
            event("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
            event("content_block_start", r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"opaque"}}"#),
            event("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
            // Thinking shown as omitted: a signature alone.
            event("content_block_start", r#"{"type":"content_block_start","index":2,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":2,"delta":{"type":"signature_delta","signature":"s2"}}"#),
            event("content_block_stop", r#"{"type":"content_block_stop","index":2}"#),
            event("content_block_start", r#"{"type":"content_block_start","index":3,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":3,"delta":{"type":"thinking_delta","thinking":"Again."}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":3,"delta":{"type":"signature_delta","signature":"s3"}}"#),
            event("content_block_stop", r#"{"type":"content_block_stop","index":3}"#),
            event("content_block_start", r#"{"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#),
            event("content_block_delta", r#"{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#),
            event("content_block_stop", r#"{"type":"content_block_stop","index":4}"#),
            event("message_stop", r#"{"type":"message_stop"}"#),
        ]
        .concat();
        let events = translated(WireApi::AnthropicMessages, WireApi::AnthropicMessages, &input);
        assert_eq!(
            blocks(&events),
            [
                "content_block_start 0 thinking",
                "content_block_delta 0 thinking_delta Hm",
                "content_block_delta 0 thinking_delta m.",
                "content_block_delta 0 signature_delta s1",
                "content_block_stop 0",
                "content_block_start 1 redacted_thinking opaque",
                "content_block_stop 1",
                "content_block_start 2 thinking",
                "content_block_delta 2 signature_delta s2",
                "content_block_stop 2",
                "content_block_start 3 thinking",
                "content_block_delta 3 thinking_delta Again.",
                "content_block_delta 3 signature_delta s3",
                "content_block_stop 3",
                "content_block_start 4 tool_use",
                "content_block_delta 4 input_json_delta {}",
                "content_block_stop 4",
            ]
        );
        let start = events.iter().find(|e| e["type"] == "content_block_start").unwrap();
        assert_eq!(
            start["content_block"],
            serde_json::json!({"type": "thinking", "thinking": "", "signature": ""})
        );
    }

    #[test]
    fn another_models_reasoning_is_not_shown() {
        let openai = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"Hm.\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let gemini = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hm.\",\"thought\":true,\"thoughtSignature\":\"g\"}]}}]}\n\n\
data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"finishReason\":\"STOP\"}]}\n\n";
        for (from, input) in [(WireApi::OpenAiChat, openai), (WireApi::GeminiGenerate, gemini)] {
            let events = translated(from, WireApi::AnthropicMessages, input);
            assert_eq!(
                blocks(&events),
                ["content_block_start 0 text", "content_block_delta 0 text_delta Hi", "content_block_stop 0"],
                "{from}"
            );
        }
    }
}
