//! Gemini streams (`:streamGenerateContent?alt=sse`): `data: {GenerateContentResponse}` per
//! chunk, no terminator.
//!
//! Usage may be on every chunk (the last is final), `finishReason` is on the last candidate
//! chunk, and a `functionCall` part arrives whole, never fragmented. Thoughts are parts with
//! `thought: true`, a `thoughtSignature` on the part it signs (a call's goes in its id, as for
//! complete answers).

use super::{parse, write_json, Author, First, ProviderError, StreamEvent};
use crate::http::sse::{write_event, SseEvent};
use crate::llm::api::WireApi;
use crate::llm::ir::Issuer;
use crate::llm::translate::gemini::call_id;
use crate::llm::translate::{FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::gemini as gm;
use serde::{Deserialize, Serialize};
use serde_json::value::Value;
use std::borrow::Cow;

// ---------------------------------------------------------------------------------------------
// Provider side

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkView<'a> {
    #[serde(default, borrow)]
    candidates: First<CandidateView<'a>>,
    #[serde(default)]
    usage_metadata: Option<gm::UsageMetadata>,
    #[serde(default, borrow)]
    response_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    prompt_feedback: Option<FeedbackView<'a>>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CandidateView<'a> {
    #[serde(default, borrow)]
    content: Option<ContentView<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ContentView<'a> {
    #[serde(default, borrow)]
    parts: Vec<PartView<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartView<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default, borrow)]
    thought_signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function_call: Option<CallView<'a>>,
}

#[derive(Deserialize)]
struct CallView<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackView<'a> {
    #[serde(default, borrow)]
    block_reason: Option<Cow<'a, str>>,
}

#[derive(Default)]
pub(super) struct Decoder {
    started: bool,
    tool_calls: u32,
    args_scratch: Vec<u8>,
}

impl Decoder {
    pub(super) fn decode(
        &mut self,
        event: &SseEvent<'_>,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), TranslateError> {
        let data = event.data.trim_ascii();
        if data.is_empty() {
            return Ok(());
        }
        let chunk: ChunkView<'_> = parse(WireApi::GeminiGenerate, data)?;
        if chunk.error.is_some() {
            emit(StreamEvent::Error(ProviderError::parse(WireApi::GeminiGenerate, 0, data)));
            return Ok(());
        }
        if !self.started {
            self.started = true;
            // Gemini counts the prompt in its first chunk: reported before the start, so a
            // client format that states input tokens up front (Anthropic's `message_start`)
            // has them. (A snapshot: the one at the end of the chunk replaces it.)
            if let Some(usage) = &chunk.usage_metadata {
                emit(StreamEvent::Usage(Usage::from_gemini(usage)));
            }
            emit(StreamEvent::Start { id: chunk.response_id.as_deref().unwrap_or_default() });
        }
        let mut finish = None;
        if let Some(candidate) = chunk.candidates.0 {
            for part in candidate.content.into_iter().flat_map(|c| c.parts) {
                if part.thought == Some(true) {
                    if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
                        emit(StreamEvent::Reasoning { text, author: Author::Known(Issuer::Gemini) });
                    }
                    if let Some(signature) = part.thought_signature.as_deref().filter(|s| !s.is_empty()) {
                        emit(StreamEvent::ReasoningSignature { signature, issuer: Issuer::Gemini });
                    }
                    continue;
                }
                if let Some(call) = part.function_call {
                    let index = self.tool_calls;
                    self.tool_calls = self.tool_calls.saturating_add(1);
                    let id = match call.id {
                        Some(id) => id.into_owned(),
                        None => call_id(index as usize, part.thought_signature.as_deref()),
                    };
                    emit(StreamEvent::ToolCallStart { index, id: &id, name: &call.name });
                    self.args_scratch.clear();
                    let args = call.args.unwrap_or_else(|| Value::Object(Default::default()));
                    if serde_json::to_writer(&mut self.args_scratch, &args).is_ok() {
                        if let Ok(json) = std::str::from_utf8(&self.args_scratch) {
                            emit(StreamEvent::ToolArgs { index, json });
                        }
                    }
                } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
                    emit(StreamEvent::Text(text));
                }
            }
            if let Some(reason) = candidate.finish_reason.as_deref() {
                finish = Some(FinishReason::from_gemini(reason, self.tool_calls > 0));
            }
        } else if chunk.prompt_feedback.is_some_and(|f| f.block_reason.is_some()) {
            finish = Some(FinishReason::ContentFilter);
        }
        if let Some(reason) = finish {
            emit(StreamEvent::Finish(reason));
        }
        if let Some(usage) = &chunk.usage_metadata {
            emit(StreamEvent::Usage(Usage::from_gemini(usage)));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Client side (Gemini clients reaching other providers)

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChunkOut<'a> {
    candidates: [CandidateOut<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_metadata: Option<gm::UsageMetadata>,
    model_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
    index: u32,
}

#[derive(Serialize)]
struct ContentOut<'a> {
    role: &'static str,
    parts: &'a [PartOut<'a>],
}

#[derive(Serialize)]
#[serde(untagged)]
enum PartOut<'a> {
    Text {
        text: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    Thought {
        text: &'a str,
        thought: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        thought_signature: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    FunctionCall {
        function_call: CallOut<'a>,
    },
}

#[derive(Serialize)]
struct CallOut<'a> {
    name: &'a str,
    args: Value,
}

/// A tool call being collected: Gemini clients get each call whole.
struct PendingCall {
    index: u32,
    name: String,
    args: String,
}

pub(super) struct Encoder {
    model: String,
    response_id: String,
    calls: Vec<PendingCall>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
    scratch: Vec<u8>,
}

impl Encoder {
    pub(super) fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            response_id: String::new(),
            calls: Vec::new(),
            finish: None,
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
                if self.response_id.is_empty() {
                    let id = crate::llm::translate::anthropic::strip_openai_prefix(id);
                    self.response_id.push_str(id);
                }
            }
            StreamEvent::Text(text) => {
                self.flush(out, None, None);
                self.chunk(out, &[PartOut::Text { text }], None, None);
            }
            // Shown whoever wrote it, as a complete answer's; signed only when Gemini's.
            StreamEvent::Reasoning { text, .. } => self.thought(out, text, None),
            StreamEvent::ReasoningSignature { signature, issuer: Issuer::Gemini } => {
                self.thought(out, "", Some(signature))
            }
            // Nothing a Gemini client could hand back.
            StreamEvent::ReasoningSignature { issuer: Issuer::Claude, .. }
            | StreamEvent::RedactedReasoning { .. } => {}
            StreamEvent::ToolCallStart { index, name, .. } => {
                self.calls.push(PendingCall { index, name: name.to_string(), args: String::new() })
            }
            StreamEvent::ToolArgs { index, json } => {
                if let Some(call) = self.calls.iter_mut().find(|c| c.index == index) {
                    call.args.push_str(json);
                }
            }
            StreamEvent::Finish(reason) => self.finish = Some(reason),
            StreamEvent::Usage(usage) => self.usage = Some(usage),
            StreamEvent::Error(error) => {
                self.scratch.clear();
                error.write(WireApi::GeminiGenerate, 0, &mut self.scratch);
                write_event(out, None, &self.scratch);
                self.done = true;
            }
            StreamEvent::Done => {
                let finish = self.finish.map(FinishReason::gemini);
                let usage = self.usage.map(|u| u.to_gemini());
                self.flush(out, finish, usage);
                self.done = true;
            }
        }
    }

    /// Writes the collected tool calls (and, at the end, the finish reason and usage).
    fn flush(&mut self, out: &mut Vec<u8>, finish: Option<&str>, usage: Option<gm::UsageMetadata>) {
        let calls = std::mem::take(&mut self.calls);
        if calls.is_empty() && finish.is_none() && usage.is_none() {
            return;
        }
        let mut parts: Vec<PartOut<'_>> = calls
            .iter()
            .map(|c| PartOut::FunctionCall {
                function_call: CallOut {
                    name: &c.name,
                    args: serde_json::from_str(&c.args).unwrap_or_else(|_| Value::Object(Default::default())),
                },
            })
            .collect();
        if parts.is_empty() {
            // Gemini's finish reason rides on a chunk with content, and clients read
            // `candidates[0].content.parts` on every chunk: an empty text part, not none.
            parts.push(PartOut::Text { text: "" });
        }
        self.chunk(out, &parts, finish, usage);
    }

    /// A thought part (after the calls collected before it).
    fn thought(&mut self, out: &mut Vec<u8>, text: &str, thought_signature: Option<&str>) {
        self.flush(out, None, None);
        self.chunk(out, &[PartOut::Thought { text, thought: true, thought_signature }], None, None);
    }

    fn chunk(
        &mut self,
        out: &mut Vec<u8>,
        parts: &[PartOut<'_>],
        finish_reason: Option<&str>,
        usage_metadata: Option<gm::UsageMetadata>,
    ) {
        let chunk = ChunkOut {
            candidates: [CandidateOut {
                content: (!parts.is_empty()).then_some(ContentOut { role: "model", parts }),
                finish_reason,
                index: 0,
            }],
            usage_metadata,
            model_version: &self.model,
            response_id: &self.response_id,
        };
        write_json(out, &mut self.scratch, None, &chunk);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::translated;
    use crate::llm::api::WireApi;
    use serde_json::{json, Value};

    fn parts(events: &[Value]) -> Vec<Value> {
        events
            .iter()
            .flat_map(|e| e["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    #[test]
    fn thoughts_keep_only_geminis_signature() {
        let gemini = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hm.\",\"thought\":true,\"thoughtSignature\":\"g\"}]}}]}\n\n\
data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"finishReason\":\"STOP\"}]}\n\n";
        assert_eq!(
            parts(&translated(WireApi::GeminiGenerate, WireApi::GeminiGenerate, gemini)),
            [
                json!({"text": "Hm.", "thought": true}),
                json!({"text": "", "thought": true, "thoughtSignature": "g"}),
                json!({"text": "Hi"}),
                json!({"text": ""}),
            ]
        );
        let anthropic = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hm.\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"claude\"}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"opaque\"}}\n\n";
        assert_eq!(
            parts(&translated(WireApi::AnthropicMessages, WireApi::GeminiGenerate, anthropic)),
            [json!({"text": "Hm.", "thought": true})]
        );
    }

    #[test]
    fn calls_collected_before_a_thought_are_written_before_it() {
        let openai = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"Next.\"}}]}\n\ndata: [DONE]\n\n";
        assert_eq!(
            parts(&translated(WireApi::OpenAiChat, WireApi::GeminiGenerate, openai)),
            [json!({"functionCall": {"name": "f", "args": {}}}), json!({"text": "Next.", "thought": true})]
        );
    }
}
