//! Incremental decoding of AWS's binary event-stream framing (`application/vnd.amazon.eventstream`,
//! Bedrock's ConverseStream answers).
//!
//! Each message is a 12-byte prelude — total length, headers length (big-endian u32) and the
//! prelude's CRC32 — then the headers, the payload and the CRC32 of everything before it.
//! Chunks arrive cut anywhere; the decoder keeps only the unfinished message (bounded by
//! [`MAX_MESSAGE_BYTES`], checked from the prelude before anything is buffered), hands out
//! complete messages, and stops at the first corrupt one: a stream cannot be resynchronised after a
//! bad length or CRC, so the caller ends it with an error event. CRC32 is `crc32fast`'s.

/// Largest message accepted (AWS's own limit for an event-stream message).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
const PRELUDE: usize = 12;
/// Prelude plus the message CRC.
const OVERHEAD: usize = 16;

/// A header's value (the framing's typed values; Bedrock sends strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    Timestamp(i64),
    Uuid([u8; 16]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// A string header (`:message-type`, `:event-type`, `:exception-type`, `:content-type`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Why a stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    PreludeCrc,
    MessageCrc,
    /// A length that cannot be (shorter than the framing, longer than [`MAX_MESSAGE_BYTES`],
    /// headers longer than the message).
    Length(usize),
    /// A header that does not parse (unknown type, a length past its end, a name not UTF-8).
    Header,
    /// The stream ended inside a message.
    Truncated,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::PreludeCrc => f.write_str("event stream: prelude checksum mismatch"),
            FrameError::MessageCrc => f.write_str("event stream: message checksum mismatch"),
            FrameError::Length(n) => write!(f, "event stream: impossible message length {n}"),
            FrameError::Header => f.write_str("event stream: malformed header"),
            FrameError::Truncated => f.write_str("event stream: ended inside a message"),
        }
    }
}

#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    failed: bool,
}

impl Decoder {
    /// Feeds a chunk; returns the messages it completes, in order, and the error that ended the
    /// stream if one did (nothing is returned after it).
    pub fn push(&mut self, chunk: &[u8]) -> (Vec<Message>, Option<FrameError>) {
        let mut out = Vec::new();
        if self.failed {
            return (out, None);
        }
        self.buf.extend_from_slice(chunk);
        let mut start = 0usize;
        loop {
            let rest = self.buf.get(start..).unwrap_or_default();
            match next_message(rest) {
                Ok(Some((message, used))) => {
                    out.push(message);
                    start = start.saturating_add(used);
                }
                Ok(None) => break,
                Err(e) => {
                    self.failed = true;
                    self.buf = Vec::new();
                    return (out, Some(e));
                }
            }
        }
        self.buf.drain(..start.min(self.buf.len()));
        (out, None)
    }

    /// The stream ended: an unfinished message is an error.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.failed || self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }

    /// Bytes held for an unfinished message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// The first message of `bytes`, if complete, and the bytes it took.
fn next_message(bytes: &[u8]) -> Result<Option<(Message, usize)>, FrameError> {
    let (Some(total), Some(headers_len), Some(prelude_crc)) =
        (be32(bytes, 0), be32(bytes, 4), be32(bytes, 8))
    else {
        return Ok(None);
    };
    if crc32fast::hash(bytes.get(..8).unwrap_or_default()) != prelude_crc {
        return Err(FrameError::PreludeCrc);
    }
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let headers_len = usize::try_from(headers_len).unwrap_or(usize::MAX);
    if !(OVERHEAD..=MAX_MESSAGE_BYTES).contains(&total) || headers_len > total.saturating_sub(OVERHEAD) {
        return Err(FrameError::Length(total));
    }
    let Some(message) = bytes.get(..total) else { return Ok(None) };
    let body_end = total.saturating_sub(4);
    let crc_ok =
        be32(message, body_end) == Some(crc32fast::hash(message.get(..body_end).unwrap_or_default()));
    if !crc_ok {
        return Err(FrameError::MessageCrc);
    }
    let headers_end = PRELUDE.saturating_add(headers_len);
    let headers = parse_headers(message.get(PRELUDE..headers_end).unwrap_or_default())?;
    let payload = message.get(headers_end..body_end).unwrap_or_default().to_vec();
    Ok(Some((Message { headers, payload }, total)))
}

fn parse_headers(mut bytes: &[u8]) -> Result<Vec<(String, HeaderValue)>, FrameError> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], FrameError> {
        let (head, tail) = bytes.split_at_checked(n).ok_or(FrameError::Header)?;
        *bytes = tail;
        Ok(head)
    }
    fn fixed<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], FrameError> {
        take(bytes, N)?.try_into().map_err(|_| FrameError::Header)
    }
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let [name_len] = fixed::<1>(&mut bytes)?;
        let name =
            std::str::from_utf8(take(&mut bytes, usize::from(name_len))?).map_err(|_| FrameError::Header)?;
        let [kind] = fixed::<1>(&mut bytes)?;
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(fixed(&mut bytes)?)),
            3 => HeaderValue::Short(i16::from_be_bytes(fixed(&mut bytes)?)),
            4 => HeaderValue::Int(i32::from_be_bytes(fixed(&mut bytes)?)),
            5 => HeaderValue::Long(i64::from_be_bytes(fixed(&mut bytes)?)),
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes(fixed(&mut bytes)?));
                let raw = take(&mut bytes, len)?;
                if kind == 6 {
                    HeaderValue::Bytes(raw.to_vec())
                } else {
                    HeaderValue::String(std::str::from_utf8(raw).map_err(|_| FrameError::Header)?.to_string())
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(fixed(&mut bytes)?)),
            9 => HeaderValue::Uuid(fixed(&mut bytes)?),
            _ => return Err(FrameError::Header),
        };
        headers.push((name.to_string(), value));
    }
    Ok(headers)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test data sizes
pub(crate) mod tests;
