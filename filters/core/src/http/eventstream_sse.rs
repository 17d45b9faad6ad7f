//! AWS event stream → SSE: Bedrock's ConverseStream answer rewritten, chunk by chunk, into the
//! text form every later reader of a stream handles (the stream hub's Converse decoder, the
//! usage filter, the stream guards): one SSE event per message, named by its `:event-type`
//! (an exception by its `:exception-type`), its JSON payload as data.
//!
//! It runs where the answer first arrives — the router's upstream instance on the provider's
//! cluster — so the listener's filters never see binary framing. A corrupt frame (bad length or
//! CRC) or a stream cut inside a message ends the stream with an `internalServerException` event
//! naming the fault; nothing after it is passed on. Nothing but the unfinished message is kept.

use super::eventstream::{Decoder, FrameError, Message};
use super::sse;

/// The content type of an event-stream answer.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

#[derive(Debug, Default)]
pub struct Reframer {
    decoder: Decoder,
    ended: bool,
}

impl Reframer {
    /// The SSE text for the messages `chunk` completes (empty while a message is unfinished).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        let (messages, error) = self.decoder.push(chunk);
        for message in &messages {
            write_event(&mut out, message);
        }
        if let Some(e) = error {
            self.end_with(&mut out, &e);
        }
        out
    }

    /// The stream ended: an unfinished message becomes the error event.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let (false, Err(e)) = (self.ended, self.decoder.finish()) {
            self.end_with(&mut out, &e);
        }
        out
    }

    fn end_with(&mut self, out: &mut Vec<u8>, error: &FrameError) {
        self.ended = true;
        log::warn!("bedrock stream: {error}");
        let payload = serde_json::json!({"message": error.to_string()}).to_string();
        sse::write_event(out, Some("internalServerException"), payload.as_bytes());
    }
}

fn write_event(out: &mut Vec<u8>, message: &Message) {
    let name = match message.header(":message-type") {
        Some("exception") => message.header(":exception-type"),
        Some("error") => Some(message.header(":error-code").unwrap_or("internalServerException")),
        _ => message.header(":event-type"),
    };
    sse::write_event(out, Some(name.unwrap_or("unknown")), &message.payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::eventstream::tests::{event, frame};

    fn stream() -> Vec<u8> {
        [
            event("messageStart", r#"{"role":"assistant"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Hé"}}"#),
            event("messageStop", r#"{"stopReason":"end_turn"}"#),
            event(
                "metadata",
                r#"{"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4},"metrics":{"latencyMs":1}}"#,
            ),
        ]
        .concat()
    }

    const EXPECTED: &str = "event: messageStart\ndata: {\"role\":\"assistant\"}\n\n\
        event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hé\"}}\n\n\
        event: messageStop\ndata: {\"stopReason\":\"end_turn\"}\n\n\
        event: metadata\ndata: {\"usage\":{\"inputTokens\":3,\"outputTokens\":1,\"totalTokens\":4},\"metrics\":{\"latencyMs\":1}}\n\n";

    fn run(chunks: &[&[u8]]) -> String {
        let mut r = Reframer::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(r.push(c));
        }
        out.extend(r.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_split_gives_the_same_events() {
        let bytes = stream();
        assert_eq!(run(&[&bytes]), EXPECTED);
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(run(&[a, b]), EXPECTED, "split at {at}");
        }
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(&single), EXPECTED);
    }

    #[test]
    fn exceptions_are_named_by_their_type() {
        let bytes = frame(
            &[
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            br#"{"message":"Too many tokens"}"#,
        );
        assert_eq!(run(&[&bytes]), "event: throttlingException\ndata: {\"message\":\"Too many tokens\"}\n\n");
    }

    #[test]
    fn a_corrupt_frame_ends_the_stream_with_an_error_event() {
        let mut bytes = stream();
        let second = event("messageStart", r#"{"role":"assistant"}"#).len().saturating_add(20);
        bytes[second] ^= 0x40; // inside the second message: its CRC no longer matches
        let out = run(&[&bytes]);
        assert!(out.starts_with("event: messageStart\n"), "{out}");
        assert!(out.ends_with("event: internalServerException\ndata: {\"message\":\"event stream: message checksum mismatch\"}\n\n"), "{out}");
        assert_eq!(out.matches("event: ").count(), 2, "nothing after the fault");
    }

    #[test]
    fn a_stream_cut_inside_a_message_ends_with_an_error_event() {
        let bytes = stream();
        let out = run(&[&bytes[..bytes.len().saturating_sub(3)]]);
        assert!(out.ends_with("event: internalServerException\ndata: {\"message\":\"event stream: ended inside a message\"}\n\n"), "{out}");
    }

    #[test]
    fn payload_newlines_become_data_lines() {
        let bytes = event("metadata", "{\n\"usage\": {}\n}");
        assert_eq!(run(&[&bytes]), "event: metadata\ndata: {\ndata: \"usage\": {}\ndata: }\n\n");
    }
}
