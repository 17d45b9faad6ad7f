//! Server-sent-event framing, and splitting a reply into stream chunks.
//!
//! OpenAI sends bare `data:` events ending in `data: [DONE]`, Anthropic names every event, and
//! Gemini separates events with CRLF; these helpers produce exactly those byte shapes.

use bytes::Bytes;
use serde_json::Value;

/// `data: <json>\n\n`
pub fn data(json: &Value) -> Bytes {
    format!("data: {json}\n\n").into()
}

/// `data: <json>\r\n\r\n` (Gemini's separator).
pub fn data_crlf(json: &Value) -> Bytes {
    format!("data: {json}\r\n\r\n").into()
}

/// `event: <name>\ndata: <json>\n\n`
pub fn named(event: &str, json: &Value) -> Bytes {
    format!("event: {event}\ndata: {json}\n\n").into()
}

/// OpenAI's terminator.
pub fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// Splits `s` into at most `n` non-empty pieces of near-equal character counts, which
/// concatenate back to `s`. An empty `s` gives no pieces.
pub fn split(s: &str, n: usize) -> Vec<&str> {
    let chars = s.chars().count();
    let n = n.clamp(1, chars.max(1));
    let mut pieces = Vec::with_capacity(n);
    let mut rest = s;
    for i in 0..n {
        let take = chars * (i + 1) / n - chars * i / n;
        let at = rest.char_indices().nth(take).map_or(rest.len(), |(b, _)| b);
        let (piece, tail) = rest.split_at(at);
        if !piece.is_empty() {
            pieces.push(piece);
        }
        rest = tail;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_evenly_and_losslessly() {
        assert_eq!(split("abcdefg", 3), vec!["ab", "cd", "efg"]);
        assert_eq!(split("ab", 5), vec!["a", "b"]);
        assert!(split("", 5).is_empty());
        assert_eq!(split("héllo wörld", 4).concat(), "héllo wörld");
    }
}
