//! Verbatim replies: what a misbehaving provider sends (HTML on a 200, a JSON array, invalid
//! UTF-8, a header value that is not text, an SSE stream that breaks off mid-event …).
//!
//! Set with a rule's `raw` field. Text fields are sent as their UTF-8 bytes; the `…Hex` twins
//! carry arbitrary bytes. A body given as `chunks` is streamed one write per chunk (chunked
//! transfer, `chunkDelayMs` apart); `repeat` sends the body that many times, for huge answers.

use crate::body::MockBody;
use crate::control::Controls;
use crate::respond::Resp;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawReply {
    #[serde(default = "ok")]
    pub status: u16,
    /// `[name, value]` pairs (no content-type is added unless given here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers_hex: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks_hex: Vec<String>,
    /// Send `body` this many times (one write each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<usize>,
}

fn ok() -> u16 {
    200
}

/// Decodes hex; invalid input gives no bytes (a rule is test input, not client input).
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok()))
        .collect()
}

impl RawReply {
    pub fn respond(&self, ctl: &Controls) -> Resp {
        let single = self.body_hex.as_deref().map(hex).or_else(|| self.body.clone().map(String::into_bytes));
        let mut chunks: Vec<Bytes> =
            self.chunks.iter().map(|c| Bytes::from(c.clone().into_bytes())).collect();
        chunks.extend(self.chunks_hex.iter().map(|c| Bytes::from(hex(c))));
        let body = match (single, self.repeat) {
            (Some(b), Some(n)) => MockBody::stream(vec![Bytes::from(b); n], ctl.chunk_delay),
            (Some(b), None) if chunks.is_empty() => MockBody::full(b),
            (Some(b), None) => {
                chunks.insert(0, Bytes::from(b));
                MockBody::stream(chunks, ctl.chunk_delay)
            }
            (None, _) if chunks.is_empty() => MockBody::empty(),
            (None, _) => MockBody::stream(chunks, ctl.chunk_delay),
        };
        let mut body = body.first_byte_after(ctl.first_byte);
        if let Some(n) = ctl.truncate {
            body = body.truncate_after(n);
        }
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let text = self.headers.iter().map(|(n, v)| (n, v.clone().into_bytes()));
        let bytes = self.headers_hex.iter().map(|(n, v)| (n, hex(v)));
        for (name, value) in text.chain(bytes) {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(&value))
            {
                resp.headers_mut().append(n, v);
            }
        }
        resp
    }
}
