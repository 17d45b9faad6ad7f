//! Headers, bodies, local replies and route-cache control for the current HTTP context.
//!
//! Every call here tolerates what a client or provider can send: header values are bytes on the
//! wire, and a value that is not UTF-8 is read with its invalid bytes replaced (U+FFFD), never
//! trusted as text and never a reason to trap. Writes report refusal as `false` plus a log line.

use crate::abi::{self, Buffer, Map, Stream};
use portcullis_core::common::error::ClientError;
use portcullis_core::llm::api::ErrorShape;

/// Which side of the stream a header or body call addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

impl Side {
    const fn headers(self) -> Map {
        match self {
            Side::Request => Map::RequestHeaders,
            Side::Response => Map::ResponseHeaders,
        }
    }
    const fn body(self) -> Buffer {
        match self {
            Side::Request => Buffer::RequestBody,
            Side::Response => Buffer::ResponseBody,
        }
    }
    const fn stream(self) -> Stream {
        match self {
            Side::Request => Stream::Request,
            Side::Response => Stream::Response,
        }
    }
}

/// Header bytes as text: invalid UTF-8 is replaced, so it can never match a key or a name.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

pub fn header(side: Side, name: &str) -> Option<String> {
    abi::get_map_value(side.headers(), name).ok().flatten().map(text)
}

/// All headers of one side, fetched in one host call. Reading several headers this way is
/// cheaper than one `header` call each: every call that returns data crosses into the VM.
pub fn headers(side: Side) -> Headers {
    let pairs = abi::get_map(side.headers()).unwrap_or_default();
    Headers(pairs.into_iter().map(|(n, v)| (text(n), text(v))).collect())
}

/// A snapshot of a header map (names as Envoy gives them: lowercase).
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// Sets (replaces) a header. Returns false if the host refused (e.g. the headers already left).
pub fn set_header(side: Side, name: &str, value: &str) -> bool {
    match abi::set_map_value(side.headers(), name, value.as_bytes()) {
        Ok(()) => true,
        Err(err) => {
            log::warn!("could not set {side:?} header {name}: {err:?}");
            false
        }
    }
}

pub fn remove_header(side: Side, name: &str) {
    if let Err(err) = abi::remove_map_value(side.headers(), name) {
        log::warn!("could not remove {side:?} header {name}: {err:?}");
    }
}

/// The buffered body, `size` bytes from the start (the size a body callback was given).
pub fn body(side: Side, size: usize) -> Option<Vec<u8>> {
    if size == 0 {
        return Some(Vec::new());
    }
    abi::get_buffer(side.body(), 0, size).ok().flatten()
}

/// Replaces the buffered body (`size` = the size the callback was given) with `value`.
pub fn replace_body(side: Side, size: usize, value: &[u8]) -> bool {
    match abi::set_buffer(side.body(), 0, size, value) {
        Ok(()) => true,
        Err(err) => {
            log::warn!("could not replace the {side:?} body: {err:?}");
            false
        }
    }
}

/// Resumes a side this filter paused (from a later callback than the one that paused it).
pub fn resume(side: Side) -> bool {
    abi::continue_stream(side.stream()).is_ok()
}

/// `%RESPONSE_CODE_DETAILS%` of every local reply a Portcullis filter sends: how a later look at
/// a response (`response.code_details`) tells the gateway's own answers from Envoy's.
pub const LOCAL_REPLY_DETAILS: &str = "portcullis";

/// Answers the request locally with `err` in the client's API shape. No upstream is called.
pub fn send_error(err: &ClientError, shape: ErrorShape) {
    let headers = err.headers();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    send(err.status(), &pairs, &err.body(shape));
}

/// Answers the request locally.
pub fn send(status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let pairs: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
    if let Err(err) = abi::send_local_response(u32::from(status), LOCAL_REPLY_DETAILS, &pairs, body) {
        log::error!("local reply failed: {err:?}");
    }
}

/// Makes Envoy re-evaluate the route after a routing header changed.
pub fn clear_route_cache() {
    if let Err(err) = abi::call_foreign_function("clear_route_cache", &[]) {
        log::error!("clear_route_cache failed: {err:?}");
    }
}

/// The plugin configuration bytes, if any.
pub fn plugin_configuration() -> Option<Vec<u8>> {
    abi::get_buffer(Buffer::PluginConfiguration, 0, usize::MAX).ok().flatten()
}
