//! Incremental Server-Sent Events parsing.
//!
//! Provider streams arrive in chunks cut anywhere: inside a line, between `\r` and `\n`, inside
//! a multi-byte UTF-8 character. The parser only hands out complete events, so consumers never
//! see a split. An event that fits in one chunk is borrowed from it (no copy); only the
//! unfinished tail of a chunk is kept, in a buffer reused across chunks and bounded by
//! `max_event_bytes` so a stream without blank lines cannot grow memory without limit.

use std::borrow::Cow;

/// Whether a `content-type` value announces Server-Sent Events (parameters and case ignored).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type.get(..17).is_some_and(|t| t.eq_ignore_ascii_case("text/event-stream"))
}

/// Default bound on one buffered, unfinished event.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a [u8]>,
    /// The `data:` lines, joined with `\n`.
    pub data: Cow<'a, [u8]>,
}

impl SseEvent<'_> {
    pub fn event_name(&self) -> Option<&str> {
        self.event.and_then(|e| std::str::from_utf8(e).ok())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseError {
    /// An unfinished event grew past the bound.
    EventTooLarge { limit: usize },
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => write!(f, "SSE event larger than {limit} bytes"),
        }
    }
}

#[derive(Debug)]
pub struct SseParser {
    pending: Vec<u8>,
    max_event_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> Self {
        Self { pending: Vec::new(), max_event_bytes }
    }

    /// Feeds the next chunk; calls `on_event` for every event it completes, in order.
    pub fn feed<F: FnMut(SseEvent<'_>)>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), SseError> {
        if self.pending.is_empty() {
            let used = parse_complete_events(chunk, false, &mut on_event);
            self.pending.extend_from_slice(chunk.get(used..).unwrap_or_default());
        } else {
            self.pending.extend_from_slice(chunk);
            let used = parse_complete_events(&self.pending, false, &mut on_event);
            self.pending.drain(..used);
        }
        if self.pending.len() > self.max_event_bytes {
            self.pending.clear();
            return Err(SseError::EventTooLarge { limit: self.max_event_bytes });
        }
        Ok(())
    }

    /// End of stream: an unterminated last event is still delivered (strict SSE would drop it,
    /// but a provider that forgets the final blank line should not lose its usage report).
    pub fn finish<F: FnMut(SseEvent<'_>)>(&mut self, mut on_event: F) {
        let pending = std::mem::take(&mut self.pending);
        parse_complete_events(&pending, true, &mut on_event);
    }

    /// Bytes held back, waiting for the rest of an event.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// Parses every complete event in `input`, returning how many bytes they used. With `at_end`,
/// the input is the whole rest of the stream: a trailing `\r` ends its line and a last event
/// without a blank line is complete.
fn parse_complete_events<F: FnMut(SseEvent<'_>)>(input: &[u8], at_end: bool, on_event: &mut F) -> usize {
    let mut event_start = 0;
    let mut pos = 0;
    loop {
        let Some((line_end, next)) = next_line(input, pos, at_end) else {
            if at_end && event_start < input.len() {
                dispatch(input.get(event_start..).unwrap_or_default(), on_event);
                return input.len();
            }
            return event_start;
        };
        if line_end == pos {
            // Blank line: the event [event_start, pos) is complete.
            dispatch(input.get(event_start..pos).unwrap_or_default(), on_event);
            event_start = next;
        }
        pos = next;
    }
}

/// Finds the end of the line starting at `pos`: (end of its content, start of the next line).
fn next_line(input: &[u8], pos: usize, at_end: bool) -> Option<(usize, usize)> {
    let rest = input.get(pos..)?;
    let at = memchr::memchr2(b'\n', b'\r', rest)?;
    // Positions are within `input`, so they are far from overflowing.
    let end = pos.checked_add(at)?;
    let after = end.checked_add(1)?;
    if input.get(end) == Some(&b'\n') {
        return Some((end, after));
    }
    // `\r`: a line end by itself, or the first half of `\r\n` whose second half may not have
    // arrived yet.
    match input.get(after) {
        Some(b'\n') => Some((end, after.checked_add(1)?)),
        Some(_) => Some((end, after)),
        None if at_end => Some((end, after)),
        None => None,
    }
}

/// Builds the event from its lines and hands it out, unless it has no data (per the spec).
fn dispatch<F: FnMut(SseEvent<'_>)>(block: &[u8], on_event: &mut F) {
    let mut event = None;
    let mut data: Option<Cow<'_, [u8]>> = None;
    let mut pos = 0;
    while pos < block.len() {
        let (end, next) = next_line(block, pos, true).unwrap_or((block.len(), block.len()));
        let line = block.get(pos..end).unwrap_or_default();
        pos = next;
        if line.first().is_none_or(|b| *b == b':') {
            continue;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let (field, rest) = line.split_at(colon);
                let value = rest.get(1..).unwrap_or_default();
                (field, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => event = Some(value),
            b"data" => {
                data = Some(match data {
                    None => Cow::Borrowed(value),
                    Some(prev) => {
                        let mut joined = prev.into_owned();
                        joined.push(b'\n');
                        joined.extend_from_slice(value);
                        Cow::Owned(joined)
                    }
                })
            }
            _ => {}
        }
    }
    if let Some(data) = data {
        on_event(SseEvent { event, data });
    }
}

/// Appends one event in wire form. A newline in `data` becomes a break between `data:` lines
/// (which SSE joins back with `\n`); a carriage return, which SSE would read as a line break
/// too, is dropped, as are line breaks in the name — so bytes from a provider (Bedrock's
/// event-stream payloads) cannot forge events. JSON from serde has none of them.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        push_without(out, name.as_bytes(), b'\r', b'\n');
        out.push(b'\n');
    }
    for line in data.split(|&b| b == b'\n') {
        out.extend_from_slice(b"data: ");
        push_without(out, line, b'\r', b'\r');
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// `bytes` without any `a` or `b`; copied whole (after one SIMD scan) in the usual case of none.
fn push_without(out: &mut Vec<u8>, bytes: &[u8], a: u8, b: u8) {
    if memchr::memchr2(a, b, bytes).is_none() {
        out.extend_from_slice(bytes);
    } else {
        out.extend(bytes.iter().copied().filter(|&x| x != a && x != b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_content_types() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("application/json"));
        assert!(!is_event_stream("text/event"));
        assert!(!is_event_stream(""));
    }

    type Owned = (Option<String>, String);

    fn collect(chunks: &[&[u8]]) -> Vec<Owned> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser
                .feed(chunk, |e| {
                    out.push((
                        e.event_name().map(str::to_string),
                        String::from_utf8(e.data.to_vec()).unwrap(),
                    ))
                })
                .unwrap();
        }
        parser.finish(|e| {
            out.push((e.event_name().map(str::to_string), String::from_utf8(e.data.to_vec()).unwrap()))
        });
        out
    }

    /// Every split of `input` into two chunks yields the same events as the whole.
    fn assert_split_invariant(input: &[u8], expected: &[Owned]) {
        assert_eq!(collect(&[input]), expected, "whole input");
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(collect(&[a, b]), expected, "split at {cut}");
        }
        // And byte by byte, the worst case for buffering.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(collect(&bytes), expected, "byte by byte");
    }

    fn ev(event: Option<&str>, data: &str) -> Owned {
        (event.map(str::to_string), data.to_string())
    }

    #[test]
    fn openai_style_stream() {
        let input = b"data: {\"a\":1}\n\ndata: {\"b\":\"\xc3\xa9t\xc3\xa9\"}\n\ndata: [DONE]\n\n";
        assert_split_invariant(
            input,
            &[ev(None, "{\"a\":1}"), ev(None, "{\"b\":\"\u{e9}t\u{e9}\"}"), ev(None, "[DONE]")],
        );
    }

    #[test]
    fn anthropic_style_with_crlf_and_comments() {
        let input =
            b": keepalive\r\nevent: message_start\r\ndata: {\"x\":1}\r\n\r\nevent: ping\r\ndata: {}\r\n\r\n";
        assert_split_invariant(input, &[ev(Some("message_start"), "{\"x\":1}"), ev(Some("ping"), "{}")]);
    }

    #[test]
    fn bare_cr_line_endings_and_multiline_data() {
        let input = b"data:first\rdata: second\r\rdata:x\n\n";
        assert_split_invariant(input, &[ev(None, "first\nsecond"), ev(None, "x")]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert_split_invariant(b"event: ping\n\n: only a comment\n\ndata: y\n\n", &[ev(None, "y")]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_at_finish() {
        assert_split_invariant(b"data: a\n\ndata: tail", &[ev(None, "a"), ev(None, "tail")]);
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut parser = SseParser::new(16);
        let err = parser.feed(b"data: 0123456789abcdefghij", |_| {}).unwrap_err();
        assert_eq!(err, SseError::EventTooLarge { limit: 16 });
        assert_eq!(parser.pending_len(), 0);
    }

    #[test]
    fn complete_events_in_one_chunk_are_borrowed() {
        let mut parser = SseParser::default();
        let mut borrowed = 0;
        parser
            .feed(b"data: a\n\ndata: b\n\n", |e| {
                if matches!(e.data, Cow::Borrowed(_)) {
                    borrowed += 1
                }
            })
            .unwrap();
        assert_eq!(borrowed, 2);
        assert_eq!(parser.pending_len(), 0);
    }

    #[test]
    fn written_events_cannot_be_split_by_carriage_returns() {
        let mut out = Vec::new();
        write_event(&mut out, Some("na\r\nme"), b"{\"a\":1}\r\ndata: forged\r");
        assert_eq!(out, b"event: name\ndata: {\"a\":1}\ndata: data: forged\n\n");
    }

    #[test]
    fn write_event_round_trips() {
        let mut out = Vec::new();
        write_event(&mut out, Some("message_delta"), b"{\"a\":1}");
        write_event(&mut out, None, b"line1\nline2");
        assert_eq!(out, b"event: message_delta\ndata: {\"a\":1}\n\ndata: line1\ndata: line2\n\n");
        assert_eq!(collect(&[&out]), [ev(Some("message_delta"), "{\"a\":1}"), ev(None, "line1\nline2")]);
    }
}
