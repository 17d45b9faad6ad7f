//! OpenAI chat streams: `data: {chat.completion.chunk}` events, then `data: [DONE]`.
//!
//! Tool calls arrive as a first delta with `index`, `id` and `name`, then argument fragments
//! with the same `index`. Usage, when `stream_options.include_usage` was set, comes in a last
//! chunk with no choices.

use super::{parse, write_json, First, ProviderError, StreamEvent};
use crate::http::sse::{write_event, SseEvent};
use crate::llm::api::WireApi;
use crate::llm::translate::anthropic::openai_id;
use crate::llm::translate::{FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::openai as oa;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write;

// ---------------------------------------------------------------------------------------------
// Provider side

#[derive(Deserialize)]
struct ChunkView<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: First<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<oa::Usage>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(default, borrow)]
    delta: Option<DeltaView<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaView<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallView<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionView<'a>>,
}

#[derive(Deserialize)]
struct FunctionView<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Default)]
pub(super) struct Decoder {
    started: bool,
    /// Tool-call indexes already announced.
    tool_calls: Vec<u32>,
    /// For ids a provider did not send.
    id_scratch: String,
}

impl Decoder {
    pub(super) fn decode(
        &mut self,
        event: &SseEvent<'_>,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), TranslateError> {
        let data = event.data.trim_ascii();
        if data == b"[DONE]" {
            emit(StreamEvent::Done);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: ChunkView<'_> = parse(WireApi::OpenAiChat, data)?;
        if chunk.error.is_some() {
            emit(StreamEvent::Error(ProviderError::parse(WireApi::OpenAiChat, 0, data)));
            return Ok(());
        }
        // Azure opens with a chunk of content-filter results and no id: wait for a real one.
        if let Some(id) = chunk.id.as_deref().filter(|id| !id.is_empty()) {
            if !self.started {
                self.started = true;
                emit(StreamEvent::Start { id });
            }
        }
        if let Some(choice) = chunk.choices.0 {
            if let Some(delta) = choice.delta {
                for text in [&delta.content, &delta.refusal].into_iter().flatten() {
                    if !text.is_empty() {
                        emit(StreamEvent::Text(text));
                    }
                }
                for (position, call) in delta.tool_calls.iter().flatten().enumerate() {
                    let index = call.index.unwrap_or(position as u32);
                    let (name, arguments) = match &call.function {
                        Some(f) => (f.name.as_deref(), f.arguments.as_deref()),
                        None => (None, None),
                    };
                    if !self.tool_calls.contains(&index) {
                        self.tool_calls.push(index);
                        let id = match call.id.as_deref() {
                            Some(id) if !id.is_empty() => id,
                            _ => {
                                self.id_scratch.clear();
                                let _ = write!(self.id_scratch, "call_{index}");
                                &self.id_scratch
                            }
                        };
                        emit(StreamEvent::ToolCallStart { index, id, name: name.unwrap_or_default() });
                    }
                    if let Some(json) = arguments.filter(|a| !a.is_empty()) {
                        emit(StreamEvent::ToolArgs { index, json });
                    }
                }
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                let mut reason = FinishReason::from_openai(reason);
                if reason == FinishReason::Stop && !self.tool_calls.is_empty() {
                    // Some compatible servers say `stop` after tool calls.
                    reason = FinishReason::ToolCalls;
                }
                emit(StreamEvent::Finish(reason));
            }
        }
        if let Some(usage) = &chunk.usage {
            emit(StreamEvent::Usage(Usage::from_openai(usage)));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

#[derive(Serialize)]
struct ChunkOut<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChoiceOut<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<oa::Usage>,
}

#[derive(Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    delta: DeltaOut<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct DeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallOut<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

pub(super) struct Encoder {
    model: String,
    include_usage: bool,
    /// `chatcmpl-…`, once the provider's id is known.
    id: Option<String>,
    usage: Option<Usage>,
    done: bool,
    scratch: Vec<u8>,
}

impl Encoder {
    pub(super) fn new(model: &str, include_usage: bool) -> Self {
        Self {
            model: model.to_string(),
            include_usage,
            id: None,
            usage: None,
            done: false,
            scratch: Vec::new(),
        }
    }

    pub(super) fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id } => {
                if self.id.is_none() {
                    self.start(id, out);
                }
            }
            StreamEvent::Text(text) => {
                self.ensure_started(out);
                self.delta(out, DeltaOut { content: Some(text), ..DeltaOut::default() }, None);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.ensure_started(out);
                let call = ToolCallOut {
                    index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionOut { name: Some(name), arguments: "" },
                };
                self.tool_delta(out, call);
            }
            StreamEvent::ToolArgs { index, json } => {
                self.ensure_started(out);
                let call = ToolCallOut {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionOut { name: None, arguments: json },
                };
                self.tool_delta(out, call);
            }
            StreamEvent::Finish(reason) => {
                self.ensure_started(out);
                self.delta(out, DeltaOut::default(), Some(reason.openai()));
            }
            StreamEvent::Usage(usage) => self.usage = Some(usage),
            StreamEvent::Error(error) => {
                self.scratch.clear();
                error.write(WireApi::OpenAiChat, 0, &mut self.scratch);
                write_event(out, None, &self.scratch);
                self.done = true;
            }
            StreamEvent::Done => {
                self.ensure_started(out);
                if let (true, Some(usage)) = (self.include_usage, self.usage) {
                    let chunk = ChunkOut {
                        id: self.id.as_deref().unwrap_or_default(),
                        object: "chat.completion.chunk",
                        created: 0,
                        model: &self.model,
                        choices: &[],
                        usage: Some(usage.to_openai()),
                    };
                    write_json(out, &mut self.scratch, None, &chunk);
                }
                write_event(out, None, b"[DONE]");
                self.done = true;
            }
        }
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.id.is_none() {
            self.start("", out);
        }
    }

    /// The first chunk: the assistant role, no content yet.
    fn start(&mut self, provider_id: &str, out: &mut Vec<u8>) {
        self.id = Some(openai_id(provider_id));
        self.delta(out, DeltaOut { role: Some("assistant"), content: Some(""), tool_calls: None }, None);
    }

    fn tool_delta(&mut self, out: &mut Vec<u8>, call: ToolCallOut<'_>) {
        self.delta(out, DeltaOut { tool_calls: Some([call]), ..DeltaOut::default() }, None);
    }

    fn delta(&mut self, out: &mut Vec<u8>, delta: DeltaOut<'_>, finish_reason: Option<&str>) {
        let choice = ChoiceOut { index: 0, delta, logprobs: None, finish_reason };
        let chunk = ChunkOut {
            id: self.id.as_deref().unwrap_or_default(),
            object: "chat.completion.chunk",
            created: 0,
            model: &self.model,
            choices: std::slice::from_ref(&choice),
            usage: None,
        };
        write_json(out, &mut self.scratch, None, &chunk);
    }
}
