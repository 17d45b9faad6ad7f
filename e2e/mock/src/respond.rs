//! Building responses: JSON with a content-length, or an event stream, both honouring the
//! first-byte delay, chunk gap and truncation the request asked for.

use crate::body::MockBody;
use crate::control::Controls;
use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::Value;

pub type Resp = Response<MockBody>;

/// A JSON response.
pub fn json(status: u16, value: &Value, ctl: &Controls) -> Resp {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut body = MockBody::full(bytes).first_byte_after(ctl.first_byte);
    if let Some(n) = ctl.truncate {
        body = body.truncate_bytes(n);
    }
    with_type(status, body, "application/json")
}

/// An event stream of `events`, one write each.
pub fn stream(events: Vec<Bytes>, content_type: &'static str, ctl: &Controls) -> Resp {
    let mut body = MockBody::stream(events, ctl.chunk_delay).first_byte_after(ctl.first_byte);
    if let Some(n) = ctl.truncate {
        body = body.truncate_after(n);
    }
    let mut resp = with_type(200, body, content_type);
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// A plain-text response (admin API).
pub fn text(status: u16, text: &'static str) -> Resp {
    with_type(status, MockBody::full(text), "text/plain; charset=utf-8")
}

/// Raw JSON bytes (admin API).
pub fn json_bytes(status: u16, bytes: Vec<u8>) -> Resp {
    with_type(status, MockBody::full(bytes), "application/json")
}

fn with_type(status: u16, body: MockBody, content_type: &'static str) -> Resp {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Sets a header whose value may come from the client (invalid values are skipped).
pub fn set_header(resp: &mut Resp, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}
