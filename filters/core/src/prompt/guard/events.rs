//! Guarding a provider's stream in place: SSE in, the same SSE out with every text masked.
//!
//! Format-neutral: where each format's texts sit, which event ends them and how to write one
//! is the stream view's ([`crate::llm::view::stream`]). Each event is parsed; every text it carries — answer text, reasoning, refusals, tool-call
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
use crate::llm::view::stream::{self as view, Ends, TextSlot};
use crate::llm::view::TextKind;
use serde_json::{Map, Value};

struct TextStream {
    key: TextSlot,
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
            if view::is_done_marker(self.api, data) {
                self.release(guards, Ends::All, &[], out);
            }
            if !self.ended {
                write_event(out, name, data);
            }
            return;
        };
        self.remember_ids(&body);
        let ends = view::ends(self.api, &body);
        // Pass 1: which keys carry text here (the last slot of an ending key takes the rest).
        let mut present: Vec<TextSlot> = Vec::new();
        view::texts_mut(self.api, &mut body, &mut |key, _| {
            present.push(key);
            false
        });
        // Pass 2: mask.
        let mut seen: Vec<TextSlot> = Vec::new();
        let changed = view::texts_mut(self.api, &mut body, &mut |key, text| {
            seen.push(key);
            let last_of_key =
                present.iter().filter(|k| **k == key).count() == seen.iter().filter(|k| **k == key).count();
            let at = stream_for(&mut self.streams, key);
            let Some(stream) = self.streams.get_mut(at) else { return false };
            let mut released = stream.masker.push(guards, key.part.kind(), text, self.cap, &mut self.report);
            if last_of_key && ends.covers(key) {
                released.push_str(&stream.masker.finish(guards, key.part.kind(), &mut self.report));
            }
            if released == *text {
                return false;
            }
            *text = released;
            true
        });
        let whole_changed = view::whole_texts_mut(self.api, &mut body, &mut |text| {
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
    fn release(&mut self, guards: &Guards, ends: Ends, present: &[TextSlot], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < self.streams.len() {
            let Some(stream) = self.streams.get_mut(i) else { break };
            let key = stream.key;
            if !ends.covers(key) {
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
                if let Some((name, event)) = view::text_event(self.api, key, &rest, &self.ids) {
                    if let Ok(bytes) = serde_json::to_vec(&event) {
                        write_event(out, name, &bytes);
                    }
                }
            }
        }
    }

    fn remember_ids(&mut self, body: &Map<String, Value>) {
        for field in view::id_fields(self.api) {
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
fn stream_for(streams: &mut Vec<TextStream>, key: TextSlot) -> usize {
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
    ProviderError { kind, message: message.into() }.write_event(api, out);
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
#[path = "events_tests.rs"]
mod tests;
