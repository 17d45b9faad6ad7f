//! OpenAI chat streams: `data: {chat.completion.chunk}` events, then `data: [DONE]`.
//!
//! Tool calls arrive as a first delta with `index`, `id` and `name`, then argument fragments
//! with the same `index`. Usage, when `stream_options.include_usage` was set, comes in a last
//! chunk with no choices.
//!
//! OpenAI's own API streams no reasoning; compatible servers do, unsigned, in
//! `delta.reasoning_content` (DeepSeek, vLLM, LiteLLM) or `delta.reasoning` (OpenRouter,
//! newer vLLM, Ollama). An OpenAI client is written the first, which the clients of those
//! servers show and OpenAI's SDKs pass over; no signature or encrypted reasoning, which it
//! could hand to no one.

use super::{parse, write_json, Author, First, ProviderError, StreamEvent};
use crate::http::sse::{write_event, SseEvent};
use crate::llm::api::WireApi;
use crate::llm::translate::anthropic::openai_id;
use crate::llm::translate::{FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::openai as oa;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write;
use std::marker::PhantomData;

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
    reasoning_content: Lenient<'a>,
    #[serde(default, borrow)]
    reasoning: Lenient<'a>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

impl DeltaView<'_> {
    /// Servers moving from one name to the other send both, with the same text.
    fn reasoning(&self) -> Option<&str> {
        [&self.reasoning_content, &self.reasoning]
            .into_iter()
            .filter_map(|f| f.0.as_deref())
            .find(|t| !t.is_empty())
    }
}

/// A text field of a compatible server's own: its text, or none if it holds anything else (a
/// field read for what it adds must not fail a chunk that reads otherwise).
#[derive(Default)]
struct Lenient<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LenientVisitor<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
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
                if let Some(text) = delta.reasoning() {
                    emit(StreamEvent::Reasoning { text, author: Author::Unsigned });
                }
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
    reasoning_content: Option<&'a str>,
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
            StreamEvent::Reasoning { text, .. } => {
                self.ensure_started(out);
                self.delta(out, DeltaOut { reasoning_content: Some(text), ..DeltaOut::default() }, None);
            }
            // Nothing an OpenAI client could hand back.
            StreamEvent::ReasoningSignature { .. } | StreamEvent::RedactedReasoning { .. } => {}
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
        self.delta(out, DeltaOut { role: Some("assistant"), content: Some(""), ..DeltaOut::default() }, None);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::translated;
    use crate::llm::api::WireApi;
    use serde_json::Value;

    fn deltas(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| e["choices"][0]["delta"].as_object())
            .map(|d| Value::from(d.clone()).to_string())
            .collect()
    }

    #[test]
    fn reasoning_under_either_name_is_read_once_and_written_as_reasoning_content() {
        let input = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"A\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning\":\"B\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"C\",\"reasoning\":\"C\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"\",\"reasoning\":\"D\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning\":{\"effort\":\"high\"},\"content\":\"E\"}}]}\n\n\
data: [DONE]\n\n";
        let events = translated(WireApi::OpenAiChat, WireApi::OpenAiChat, input);
        assert_eq!(
            deltas(&events),
            [
                r#"{"role":"assistant","content":""}"#,
                r#"{"reasoning_content":"A"}"#,
                r#"{"reasoning_content":"B"}"#,
                r#"{"reasoning_content":"C"}"#,
                r#"{"reasoning_content":"D"}"#,
                r#"{"content":"E"}"#,
            ]
        );
    }

    #[test]
    fn signatures_and_redacted_reasoning_are_not_shown() {
        let input = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"opaque\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}\n\n";
        let events = translated(WireApi::AnthropicMessages, WireApi::OpenAiChat, input);
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains("opaque") && !text.contains("\"s\""), "{text}");
    }
}
