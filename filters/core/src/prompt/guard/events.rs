//! Guarding a provider's stream in place: SSE in, the same SSE out with every text masked.
//!
//! Each event is parsed; every text it carries — answer text, reasoning, refusals, tool-call
//! argument fragments — goes through the [`StreamMasker`] of its own text stream (one per
//! choice/content block/candidate and part), and the event leaves with what the masker
//! releases, which may be less text than came in (even none). Everything else in the event —
//! ids, indexes, usage, finish reasons — is left as it was, and an event whose texts did not
//! change leaves byte for byte as its data arrived.
//!
//! Held text must reach the client before its text stream ends. Where the event that ends it
//! (a finish reason, `content_block_stop`, `[DONE]`) carries text of that stream itself, the
//! rest is appended to that text; otherwise a minimal text event of the stream's own kind is
//! written just before it, copying the ids of the stream's events. At the end of the provider's
//! stream whatever is still held is released the same way.
//!
//! A `block` finding ends the stream: the event that completed the match is dropped, an error
//! event in the provider's format follows (the router translates it for the client like any
//! provider error), and nothing after it is sent.

use super::stream::StreamMasker;
use super::{Guards, Report};
use crate::http::sse::{write_event, SseError, SseEvent, SseParser};
use crate::llm::api::WireApi;
use crate::llm::translate::error::{ErrorType, ProviderError};
use crate::llm::view::TextKind;
use serde_json::{json, Map, Value};

/// Which text stream a text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    /// Choice (OpenAI), content block (Anthropic) or candidate (Gemini).
    group: u64,
    part: Part,
}

/// What a text is within its group; decides the shape of an event that releases held text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// OpenAI `delta.content`, Anthropic `text_delta`, Gemini `parts[].text`, Converse
    /// `delta.text`.
    Text,
    /// OpenAI `delta.reasoning_content` (DeepSeek and others), Anthropic `thinking_delta`.
    Reasoning,
    /// OpenAI `delta.refusal`.
    Refusal,
    /// Tool-call arguments: OpenAI `tool_calls[i].function.arguments` (i here), Anthropic
    /// `input_json_delta`, Converse `delta.toolUse.input`.
    Tool(u64),
}

impl Part {
    fn kind(self) -> TextKind {
        match self {
            Part::Tool(_) => TextKind::ToolCallArguments,
            _ => TextKind::Assistant,
        }
    }
}

/// Which text streams an event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    Nothing,
    Group(u64),
    All,
}

struct TextStream {
    key: Key,
    masker: StreamMasker,
}

/// One response stream's guard state. See the module docs.
pub struct GuardedStream {
    api: WireApi,
    parser: SseParser,
    streams: Vec<TextStream>,
    /// Top-level fields a released-text event copies (OpenAI `id`, `created`, `model`; Gemini
    /// `modelVersion`, `responseId`), from the latest event.
    ids: Map<String, Value>,
    cap: usize,
    /// For the error event: "response blocked by policy `p`".
    policy: String,
    report: Report,
    ended: bool,
}

impl GuardedStream {
    /// `None` for an API without text streams (embeddings).
    pub fn new(api: WireApi, policy: &str, cap: usize) -> Option<Self> {
        if api.is_embeddings() {
            return None;
        }
        Some(Self {
            api,
            parser: SseParser::default(),
            streams: Vec::new(),
            ids: Map::new(),
            cap,
            policy: policy.to_string(),
            report: Report::default(),
            ended: false,
        })
    }

    /// What fired so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Bytes of text held back now, across text streams.
    pub fn held(&self) -> usize {
        self.streams.iter().map(|s| s.masker.held_len()).sum()
    }

    /// Feeds the next chunk of the provider's stream; appends what may be sent to `out`. An
    /// event over the parser's bound ends the stream with an error event.
    pub fn push(&mut self, guards: &Guards, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), SseError> {
        if self.ended {
            return Ok(());
        }
        let mut parser = std::mem::take(&mut self.parser);
        let fed = parser.feed(chunk, |event| self.on_event(guards, &event, out));
        self.parser = parser;
        if let Err(e) = fed {
            self.end_with_error(out, "the provider's stream could not be read");
            return Err(e);
        }
        Ok(())
    }

    /// The provider's stream ended: a last unterminated event, then whatever is still held.
    pub fn finish(&mut self, guards: &Guards, out: &mut Vec<u8>) {
        let mut parser = std::mem::take(&mut self.parser);
        parser.finish(|event| self.on_event(guards, &event, out));
        self.parser = parser;
        if !self.ended {
            self.release(guards, Ends::All, &[], out);
        }
        self.ended = true;
    }

    fn on_event(&mut self, guards: &Guards, event: &SseEvent<'_>, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let name = event.event_name();
        let data = event.data.as_ref();
        let parsed = match serde_json::from_slice::<Value>(data) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        let Some(mut body) = parsed else {
            // `[DONE]`, a ping, anything that is not a JSON object: passes, after what is held.
            if self.api == WireApi::OpenAiChat && data.trim_ascii() == b"[DONE]" {
                self.release(guards, Ends::All, &[], out);
            }
            if !self.ended {
                write_event(out, name, data);
            }
            return;
        };
        self.remember_ids(&body);
        let ends = ends(self.api, &body);
        // Pass 1: which keys carry text here (the last slot of an ending key takes the rest).
        let mut present: Vec<Key> = Vec::new();
        slots(self.api, &mut body, &mut |key, _| {
            present.push(key);
            false
        });
        // Pass 2: mask.
        let mut seen: Vec<Key> = Vec::new();
        let changed = slots(self.api, &mut body, &mut |key, text| {
            seen.push(key);
            let last_of_key =
                present.iter().filter(|k| **k == key).count() == seen.iter().filter(|k| **k == key).count();
            let at = stream_for(&mut self.streams, key);
            let Some(stream) = self.streams.get_mut(at) else { return false };
            let mut released = stream.masker.push(guards, key.part.kind(), text, self.cap, &mut self.report);
            if last_of_key && ending(ends, key) {
                released.push_str(&stream.masker.finish(guards, key.part.kind(), &mut self.report));
            }
            if released == *text {
                return false;
            }
            *text = released;
            true
        });
        let whole_changed = whole_slots(self.api, &mut body, &mut |text| {
            let findings = guards.scan(TextKind::ToolCallArguments, text);
            if findings.is_empty() {
                return false;
            }
            self.report.record(guards, &findings);
            let masked = guards.mask(text, &findings);
            let changed = masked != *text;
            *text = masked;
            changed
        });
        if self.report.blocked_by.is_some() {
            let guard = self.report.blocked_by.clone().unwrap_or_default();
            self.end_with_error(
                out,
                &format!("response blocked by policy `{}`: guard `{guard}`", self.policy),
            );
            return;
        }
        // Streams this event ends without carrying their text: their rest goes first.
        self.release(guards, ends, &present, out);
        if self.ended {
            return;
        }
        if changed || whole_changed {
            match serde_json::to_vec(&Value::Object(body)) {
                Ok(bytes) => write_event(out, name, &bytes),
                Err(_) => self.end_with_error(out, "the gateway could not re-encode a stream event"),
            }
        } else {
            write_event(out, name, data);
        }
    }

    /// Ends the text streams `ends` names, except those whose text the current event carries
    /// (`present`, already finished in place): each one's rest goes out as its own event.
    fn release(&mut self, guards: &Guards, ends: Ends, present: &[Key], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < self.streams.len() {
            let Some(stream) = self.streams.get_mut(i) else { break };
            let key = stream.key;
            if !ending(ends, key) {
                i = i.saturating_add(1);
                continue;
            }
            let rest = if present.contains(&key) {
                String::new()
            } else {
                stream.masker.finish(guards, key.part.kind(), &mut self.report)
            };
            self.streams.remove(i);
            if let Some(guard) = self.report.blocked_by.clone() {
                self.end_with_error(
                    out,
                    &format!("response blocked by policy `{}`: guard `{guard}`", self.policy),
                );
                return;
            }
            if !rest.is_empty() {
                let (name, event) = text_event(self.api, key, &rest, &self.ids);
                if let Ok(bytes) = serde_json::to_vec(&event) {
                    write_event(out, name, &bytes);
                }
            }
        }
    }

    fn remember_ids(&mut self, body: &Map<String, Value>) {
        let fields: &[&str] = match self.api {
            WireApi::OpenAiChat => &["id", "object", "created", "model", "system_fingerprint"],
            WireApi::GeminiGenerate => &["modelVersion", "responseId"],
            _ => &[],
        };
        for field in fields {
            if let Some(v) = body.get(*field) {
                self.ids.insert((*field).to_string(), v.clone());
            }
        }
    }

    fn end_with_error(&mut self, out: &mut Vec<u8>, message: &str) {
        log::debug!("{message}");
        error_event(self.api, ErrorType::Permission, message, out);
        self.streams.clear();
        self.ended = true;
    }
}

/// The position of `key`'s text stream, started if new.
fn stream_for(streams: &mut Vec<TextStream>, key: Key) -> usize {
    match streams.iter().position(|s| s.key == key) {
        Some(at) => at,
        None => {
            streams.push(TextStream { key, masker: StreamMasker::default() });
            streams.len().saturating_sub(1)
        }
    }
}

/// An error event in `api`'s stream format (what a provider sends when a stream fails).
pub fn error_event(api: WireApi, kind: ErrorType, message: &str, out: &mut Vec<u8>) {
    let error = ProviderError { kind, message: message.into() };
    let mut data = Vec::new();
    error.write(api, 0, &mut data);
    let name = match api {
        WireApi::AnthropicMessages => Some("error"),
        // Converse names the exception in the event (its SSE form: `translate::stream`).
        WireApi::BedrockConverse => Some(kind.bedrock_exception()),
        _ => None,
    };
    write_event(out, name, &data);
}

fn ending(ends: Ends, key: Key) -> bool {
    match ends {
        Ends::Nothing => false,
        Ends::Group(g) => key.group == g,
        Ends::All => true,
    }
}

fn index_or(v: &Value, position: usize) -> u64 {
    v.get("index").and_then(Value::as_u64).unwrap_or(position as u64)
}

/// Which text streams an event ends.
fn ends(api: WireApi, body: &Map<String, Value>) -> Ends {
    match api {
        WireApi::OpenAiChat => first_finished(body.get("choices"), "finish_reason"),
        WireApi::GeminiGenerate => first_finished(body.get("candidates"), "finishReason"),
        WireApi::AnthropicMessages => match body.get("type").and_then(Value::as_str) {
            Some("content_block_stop") => {
                body.get("index").and_then(Value::as_u64).map_or(Ends::Nothing, Ends::Group)
            }
            Some("message_delta" | "message_stop") => Ends::All,
            _ => Ends::Nothing,
        },
        // Converse events are told apart by their names, which this does not see; their
        // fields tell them apart as well: `messageStop` alone has a `stopReason`, and
        // `contentBlockStop` is a bare `contentBlockIndex`.
        WireApi::BedrockConverse => {
            if body.contains_key("stopReason") {
                Ends::All
            } else if body.len() == 1 {
                body.get("contentBlockIndex").and_then(Value::as_u64).map_or(Ends::Nothing, Ends::Group)
            } else {
                Ends::Nothing
            }
        }
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => Ends::Nothing,
    }
}

/// The group of the first choice/candidate with a finish reason. (Several finishing in one
/// event — possible with `n > 1` — end together: everything.)
fn first_finished(list: Option<&Value>, field: &str) -> Ends {
    let Some(items) = list.and_then(Value::as_array) else { return Ends::Nothing };
    let finished: Vec<u64> = items
        .iter()
        .enumerate()
        .filter(|(_, c)| c.get(field).is_some_and(|f| !f.is_null()))
        .map(|(i, c)| index_or(c, i))
        .collect();
    match finished.as_slice() {
        [] => Ends::Nothing,
        [one] => Ends::Group(*one),
        _ => Ends::All,
    }
}

/// Visits every streamed text of an event, mutably, with its key. Returns whether `f` changed
/// one.
fn slots(api: WireApi, body: &mut Map<String, Value>, f: &mut dyn FnMut(Key, &mut String) -> bool) -> bool {
    let mut changed = false;
    let mut visit = |key: Key, v: Option<&mut Value>| {
        if let Some(Value::String(text)) = v {
            changed |= f(key, text);
        }
    };
    match api {
        WireApi::OpenAiChat => {
            let Some(Value::Array(choices)) = body.get_mut("choices") else { return false };
            for (i, choice) in choices.iter_mut().enumerate() {
                let group = index_or(choice, i);
                let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) else { continue };
                visit(Key { group, part: Part::Text }, delta.get_mut("content"));
                visit(Key { group, part: Part::Reasoning }, delta.get_mut("reasoning_content"));
                visit(Key { group, part: Part::Refusal }, delta.get_mut("refusal"));
                let Some(Value::Array(calls)) = delta.get_mut("tool_calls") else { continue };
                for (j, call) in calls.iter_mut().enumerate() {
                    let tool = index_or(call, j);
                    let arguments = call.get_mut("function").and_then(|f| f.get_mut("arguments"));
                    visit(Key { group, part: Part::Tool(tool) }, arguments);
                }
            }
        }
        WireApi::AnthropicMessages => {
            let group = body.get("index").and_then(Value::as_u64).unwrap_or(0);
            match body.get("type").and_then(Value::as_str) {
                Some("content_block_delta") => {
                    let Some(delta) = body.get_mut("delta").and_then(Value::as_object_mut) else {
                        return false;
                    };
                    let (part, field) = match delta.get("type").and_then(Value::as_str) {
                        Some("text_delta") => (Part::Text, "text"),
                        Some("input_json_delta") => (Part::Tool(0), "partial_json"),
                        Some("thinking_delta") => (Part::Reasoning, "thinking"),
                        _ => return false,
                    };
                    visit(Key { group, part }, delta.get_mut(field));
                }
                Some("content_block_start") => {
                    let Some(block) = body.get_mut("content_block").and_then(Value::as_object_mut) else {
                        return false;
                    };
                    visit(Key { group, part: Part::Text }, block.get_mut("text"));
                    visit(Key { group, part: Part::Reasoning }, block.get_mut("thinking"));
                }
                _ => {}
            }
        }
        WireApi::GeminiGenerate => {
            let Some(Value::Array(candidates)) = body.get_mut("candidates") else { return false };
            for (i, candidate) in candidates.iter_mut().enumerate() {
                let group = index_or(candidate, i);
                let parts = candidate.get_mut("content").and_then(|c| c.get_mut("parts"));
                let Some(Value::Array(parts)) = parts else { continue };
                for part in parts.iter_mut() {
                    visit(Key { group, part: Part::Text }, part.get_mut("text"));
                }
            }
        }
        WireApi::BedrockConverse => {
            let group = body.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
            let Some(delta) = body.get_mut("delta").and_then(Value::as_object_mut) else { return false };
            visit(Key { group, part: Part::Text }, delta.get_mut("text"));
            let input = delta.get_mut("toolUse").and_then(|t| t.get_mut("input"));
            visit(Key { group, part: Part::Tool(0) }, input);
            let reasoning = delta.get_mut("reasoningContent").and_then(|r| r.get_mut("text"));
            visit(Key { group, part: Part::Reasoning }, reasoning);
        }
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => {}
    }
    changed
}

/// Texts that arrive whole in one event (Gemini's function-call arguments): masked on the
/// spot, every string inside.
fn whole_slots(api: WireApi, body: &mut Map<String, Value>, f: &mut dyn FnMut(&mut String) -> bool) -> bool {
    if api != WireApi::GeminiGenerate {
        return false;
    }
    let Some(Value::Array(candidates)) = body.get_mut("candidates") else { return false };
    let mut changed = false;
    for candidate in candidates.iter_mut() {
        let parts = candidate.get_mut("content").and_then(|c| c.get_mut("parts"));
        let Some(Value::Array(parts)) = parts else { continue };
        for part in parts.iter_mut() {
            if let Some(args) = part.get_mut("functionCall").and_then(|c| c.get_mut("args")) {
                changed |= every_string(args, f);
            }
        }
    }
    changed
}

fn every_string(value: &mut Value, f: &mut dyn FnMut(&mut String) -> bool) -> bool {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().fold(false, |c, v| every_string(v, f) | c),
        Value::Object(map) => map.values_mut().fold(false, |c, v| every_string(v, f) | c),
        _ => false,
    }
}

/// A minimal event carrying `text` for the text stream `key`, with the stream's ids.
fn text_event(api: WireApi, key: Key, text: &str, ids: &Map<String, Value>) -> (Option<&'static str>, Value) {
    let group = key.group;
    match api {
        WireApi::AnthropicMessages => {
            let delta = match key.part {
                Part::Tool(_) => json!({"type": "input_json_delta", "partial_json": text}),
                Part::Reasoning => json!({"type": "thinking_delta", "thinking": text}),
                Part::Text | Part::Refusal => json!({"type": "text_delta", "text": text}),
            };
            (
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": group, "delta": delta}),
            )
        }
        WireApi::BedrockConverse => {
            let delta = match key.part {
                Part::Tool(_) => json!({"toolUse": {"input": text}}),
                Part::Reasoning => json!({"reasoningContent": {"text": text}}),
                Part::Text | Part::Refusal => json!({"text": text}),
            };
            (Some("contentBlockDelta"), json!({"contentBlockIndex": group, "delta": delta}))
        }
        WireApi::GeminiGenerate => {
            let mut event = ids.clone();
            event.insert(
                "candidates".into(),
                json!([{"content": {"role": "model", "parts": [{"text": text}]}, "index": group}]),
            );
            (None, Value::Object(event))
        }
        _ => {
            let delta = match key.part {
                Part::Tool(tool) => json!({"tool_calls": [{"index": tool, "function": {"arguments": text}}]}),
                Part::Reasoning => json!({"reasoning_content": text}),
                Part::Refusal => json!({"refusal": text}),
                Part::Text => json!({"content": text}),
            };
            let mut event = ids.clone();
            event.insert("choices".into(), json!([{"index": group, "delta": delta, "finish_reason": null}]));
            (None, Value::Object(event))
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
#[path = "events_tests.rs"]
mod tests;
