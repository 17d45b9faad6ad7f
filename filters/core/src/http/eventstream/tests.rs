//! The decoder on well-formed streams cut at every byte offset, on a frame botocore decodes, and
//! on every kind of corruption.

use super::*;
use proptest::prelude::*;

/// A message as AWS frames it (string headers), CRCs by crc32fast. (The encoder is test code:
/// the filters only decode; the SSE rewrite's tests frame with it too.)
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = (OVERHEAD + h.len() + payload.len()) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    out
}

pub(crate) fn event(kind: &str, payload: &str) -> Vec<u8> {
    frame(
        &[(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")],
        payload.as_bytes(),
    )
}

fn stream() -> Vec<u8> {
    [
        event("messageStart", r#"{"role":"assistant"}"#),
        event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Hé"}}"#),
        event("messageStop", r#"{"stopReason":"end_turn"}"#),
        event("metadata", r#"{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}"#),
    ]
    .concat()
}

fn decode(pieces: &[&[u8]]) -> (Vec<Message>, Option<FrameError>, Result<(), FrameError>) {
    let mut d = Decoder::default();
    let mut all = Vec::new();
    let mut error = None;
    for p in pieces {
        let (messages, e) = d.push(p);
        all.extend(messages);
        error = error.or(e);
    }
    (all, error, d.finish())
}

#[test]
fn a_frame_botocore_decodes() {
    // Encoded by hand from the format (struct + zlib.crc32) and decoded by botocore's
    // EventStreamBuffer to these headers and this payload.
    let hex = "000000a2000000579acad7c80b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a2248656c6c6f227d2c2270223a2261626364227d1ee2dd14";
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let (messages, error, end) = decode(&[&bytes]);
    assert_eq!((error, end), (None, Ok(())));
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].header(":event-type"), Some("contentBlockDelta"));
    assert_eq!(messages[0].header(":message-type"), Some("event"));
    assert_eq!(messages[0].payload, br#"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"}"#);
    assert_eq!(
        bytes,
        event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"}"#)
    );
}

#[test]
fn split_at_every_byte_offset_and_byte_by_byte() {
    let bytes = stream();
    let (whole, error, end) = decode(&[&bytes]);
    assert_eq!((whole.len(), error, end), (4, None, Ok(())));
    assert_eq!(whole[1].payload, r#"{"contentBlockIndex":0,"delta":{"text":"Hé"}}"#.as_bytes());
    for at in 0..=bytes.len() {
        let (a, b) = bytes.split_at(at);
        assert_eq!(decode(&[a, b]).0, whole, "split at {at}");
    }
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(decode(&singles).0, whole);
}

#[test]
fn only_the_unfinished_message_is_held() {
    let bytes = stream();
    let first = event("messageStart", r#"{"role":"assistant"}"#).len();
    let mut d = Decoder::default();
    let (messages, _) = d.push(&bytes[..first + 5]);
    assert_eq!((messages.len(), d.buffered()), (1, 5));
}

#[test]
fn a_bad_checksum_anywhere_ends_the_stream_with_an_error_never_a_panic() {
    let bytes = stream();
    let whole = decode(&[&bytes]).0;
    // Where each message ends.
    let ends: Vec<usize> = [
        r#"{"role":"assistant"}"#,
        r#"{"contentBlockIndex":0,"delta":{"text":"Hé"}}"#,
        r#"{"stopReason":"end_turn"}"#,
        r#"{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}"#,
    ]
    .iter()
    .zip(["messageStart", "contentBlockDelta", "messageStop", "metadata"])
    .scan(0, |end, (payload, kind)| {
        *end += event(kind, payload).len();
        Some(*end)
    })
    .collect();
    assert_eq!(ends.last(), Some(&bytes.len()));
    for at in 0..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[at] ^= 0x20;
        let intact = ends.iter().filter(|end| **end <= at).count();
        for split in [0, at, corrupt.len()] {
            let (a, b) = corrupt.split_at(split);
            let (messages, error, _) = decode(&[a, b]);
            let error = error.unwrap_or_else(|| panic!("byte {at} flipped, split at {split}: no error"));
            assert!(
                matches!(error, FrameError::PreludeCrc | FrameError::MessageCrc | FrameError::Length(_)),
                "{error:?}"
            );
            // The messages before the corrupt one arrive, intact; none after it.
            assert_eq!(messages, whole[..intact], "byte {at}, split at {split}");
        }
    }
}

#[test]
fn impossible_lengths_fail_before_anything_is_buffered() {
    let mut big = Vec::new();
    big.extend_from_slice(&(64u32 * 1024 * 1024).to_be_bytes());
    big.extend_from_slice(&0u32.to_be_bytes());
    big.extend_from_slice(&crc32fast::hash(&big).to_be_bytes());
    let mut d = Decoder::default();
    assert_eq!(d.push(&big).1, Some(FrameError::Length(64 * 1024 * 1024)));
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.push(&stream()).0, vec![], "nothing after an error");

    let mut small = Vec::new();
    small.extend_from_slice(&8u32.to_be_bytes());
    small.extend_from_slice(&0u32.to_be_bytes());
    small.extend_from_slice(&crc32fast::hash(&small).to_be_bytes());
    assert_eq!(Decoder::default().push(&small).1, Some(FrameError::Length(8)));

    let mut headers_too_long = Vec::new();
    headers_too_long.extend_from_slice(&20u32.to_be_bytes());
    headers_too_long.extend_from_slice(&10u32.to_be_bytes());
    headers_too_long.extend_from_slice(&crc32fast::hash(&headers_too_long).to_be_bytes());
    assert_eq!(Decoder::default().push(&headers_too_long).1, Some(FrameError::Length(20)));
}

#[test]
fn a_truncated_stream_and_malformed_headers() {
    let bytes = stream();
    let (_, error, end) = decode(&[&bytes[..bytes.len() - 3]]);
    assert_eq!((error, end), (None, Err(FrameError::Truncated)));
    // A header of an unknown type (10), with valid checksums around it.
    let mut h = vec![1u8, b'x', 10];
    h.extend_from_slice(b"zz");
    let total = (OVERHEAD + h.len()) as u32;
    let mut m = Vec::new();
    m.extend_from_slice(&total.to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    m.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
    assert_eq!(decode(&[&m]).1, Some(FrameError::Header));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn any_messages_any_chunking(
        messages in proptest::collection::vec(("[a-z:-]{1,20}", "[ -~]{0,40}", proptest::collection::vec(any::<u8>(), 0..200)), 0..6),
        cuts in proptest::collection::vec(0usize..2000, 0..12),
    ) {
        let bytes: Vec<u8> = messages.iter().flat_map(|(n, v, p)| frame(&[(n.as_str(), v.as_str())], p)).collect();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        bounds.extend([0, bytes.len()]);
        bounds.sort_unstable();
        let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
        let (decoded, error, end) = decode(&pieces);
        prop_assert_eq!(error, None);
        prop_assert_eq!(end, Ok(()));
        prop_assert_eq!(decoded.len(), messages.len());
        for (m, (n, v, p)) in decoded.iter().zip(&messages) {
            prop_assert_eq!(m.header(n), Some(v.as_str()));
            prop_assert_eq!(&m.payload, p);
        }
    }
}
