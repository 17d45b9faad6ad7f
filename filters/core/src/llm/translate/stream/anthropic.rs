//! Anthropic Messages streams: named events.
//!
//! `message_start` (id, prompt usage) · per content block `content_block_start` /
//! `content_block_delta` (`text_delta`, `input_json_delta` …) / `content_block_stop`, each with
//! the block's `index` · `message_delta` (stop reason, running output usage) · `message_stop`.
//! Plus `ping` and `error`. The SDKs dispatch on the `event:` line, so every event has one.

use super::{parse, write_json, ProviderError, StreamEvent};
use crate::http::sse::{write_event, SseEvent};
use crate::llm::api::WireApi;
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
                // thinking, server tools …: not translated.
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
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
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
}

pub(super) struct Encoder {
    model: String,
    started: bool,
    /// The content block being written.
    open: Option<Open>,
    next_block: u32,
    /// (tool-call index, content block index).
    tool_blocks: Vec<(u32, u32)>,
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

    fn open_block(&mut self, kind: fn(u32) -> Open) -> u32 {
        let index = self.next_block;
        self.next_block = self.next_block.saturating_add(1);
        self.open = Some(kind(index));
        index
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some(Open::Text(index) | Open::Tool(index)) = self.open.take() {
            self.write(out, &EventOut::ContentBlockStop { index });
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, event: &EventOut<'_>) {
        write_json(out, &mut self.scratch, Some(event.name()), event);
    }
}
