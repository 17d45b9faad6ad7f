//! Usage the gateway asks an OpenAI stream for on the client's behalf, and hides from it.
//!
//! OpenAI reports a stream's token usage only when the request says
//! `stream_options.include_usage`. A client that streams without it would otherwise be invisible
//! to usage accounting and token budgets, so the router adds the option to the upstream request
//! ([`request_usage`]) and removes the extra final chunk — `"choices": []` plus `"usage"` — from
//! what the client receives ([`UsageChunkFilter`]), after the usage filter has read it. The
//! client gets the stream it asked for, byte for byte in every other event.

use crate::http::sse::{self, SseError, SseEvent, SseParser};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Sets `stream_options.include_usage: true` in an OpenAI chat request object.
pub fn request_usage(request: &mut Map<String, Value>) {
    let options = request.entry("stream_options").or_insert_with(|| Value::Object(Map::new()));
    if !options.is_object() {
        *options = Value::Object(Map::new());
    }
    if let Value::Object(options) = options {
        options.insert("include_usage".into(), Value::Bool(true));
    }
}

/// Whether an OpenAI chat chunk is the usage-only chunk `include_usage` adds.
pub fn is_usage_chunk(data: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Chunk {
        #[serde(default)]
        choices: Option<Vec<IgnoredAny>>,
        #[serde(default)]
        usage: Option<IgnoredAny>,
    }
    // Cheap test first: every content chunk has a non-empty `choices`.
    if memchr::memmem::find(data, b"\"usage\"").is_none() {
        return false;
    }
    matches!(
        serde_json::from_slice::<Chunk>(data),
        Ok(Chunk { choices: Some(choices), usage: Some(_) }) if choices.is_empty()
    )
}

/// Passes an OpenAI SSE stream through, minus the usage-only chunk.
#[derive(Debug, Default)]
pub struct UsageChunkFilter {
    parser: SseParser,
}

impl UsageChunkFilter {
    /// Appends to `out` what the client receives of `chunk`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), SseError> {
        self.parser.feed(chunk, |event| emit(&event, out))
    }

    /// End of stream: whatever the last chunk left unterminated.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.parser.finish(|event| emit(&event, out));
    }
}

fn emit(event: &SseEvent<'_>, out: &mut Vec<u8>) {
    if !is_usage_chunk(&event.data) {
        sse::write_event(out, event.event_name(), &event.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn include_usage_is_added_and_other_options_kept() {
        let mut body = json!({"model": "gpt-4o", "stream": true});
        request_usage(body.as_object_mut().unwrap());
        assert_eq!(body["stream_options"], json!({"include_usage": true}));

        let mut body = json!({"stream_options": {"include_usage": false, "other": 1}});
        request_usage(body.as_object_mut().unwrap());
        assert_eq!(body["stream_options"], json!({"include_usage": true, "other": 1}));

        let mut body = json!({"stream_options": null});
        request_usage(body.as_object_mut().unwrap());
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    }

    #[test]
    fn only_the_usage_only_chunk_is_recognised() {
        assert!(is_usage_chunk(br#"{"id":"c","choices":[],"usage":{"prompt_tokens":3}}"#));
        assert!(!is_usage_chunk(br#"{"id":"c","choices":[{"delta":{"content":"x"}}],"usage":null}"#));
        assert!(!is_usage_chunk(br#"{"id":"c","choices":[{"delta":{"content":"\"usage\""}}]}"#));
        assert!(!is_usage_chunk(b"[DONE]"));
        assert!(!is_usage_chunk(br#"{"error":{"message":"usage"}}"#));
    }

    const STREAM: &str = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn the_usage_chunk_is_removed_at_any_split() {
        let expected = STREAM.replace(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
            "",
        );
        for at in 0..=STREAM.len() {
            let mut filter = UsageChunkFilter::default();
            let mut out = Vec::new();
            filter.push(&STREAM.as_bytes()[..at], &mut out).unwrap();
            filter.push(&STREAM.as_bytes()[at..], &mut out).unwrap();
            filter.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "split at {at}");
        }
    }
}
