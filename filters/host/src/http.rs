//! Headers, bodies, local replies and route-cache control for the current HTTP context.

use portcullis_core::api::ErrorShape;
use portcullis_core::error::ClientError;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

/// Which side of the stream a header or body call addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

impl Side {
    const fn headers(self) -> MapType {
        match self {
            Side::Request => MapType::HttpRequestHeaders,
            Side::Response => MapType::HttpResponseHeaders,
        }
    }
    const fn body(self) -> BufferType {
        match self {
            Side::Request => BufferType::HttpRequestBody,
            Side::Response => BufferType::HttpResponseBody,
        }
    }
}

pub fn header(side: Side, name: &str) -> Option<String> {
    hostcalls::get_map_value(side.headers(), name).ok().flatten()
}

/// All headers of one side, fetched in one host call. Reading several headers this way is
/// cheaper than one `header` call each: every call that returns data crosses into the VM.
pub fn headers(side: Side) -> Headers {
    Headers(hostcalls::get_map(side.headers()).unwrap_or_default())
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

/// Sets (replaces) a header. Returns false if the host refused.
pub fn set_header(side: Side, name: &str, value: &str) -> bool {
    let ok = hostcalls::set_map_value(side.headers(), name, Some(value)).is_ok();
    if !ok {
        log::warn!("portcullis: could not set header {name}");
    }
    ok
}

pub fn remove_header(side: Side, name: &str) {
    if hostcalls::remove_map_value(side.headers(), name).is_err() {
        log::warn!("portcullis: could not remove header {name}");
    }
}

/// The buffered body, `size` bytes from the start (the size a body callback was given).
pub fn body(side: Side, size: usize) -> Option<Vec<u8>> {
    if size == 0 {
        return Some(Vec::new());
    }
    hostcalls::get_buffer(side.body(), 0, size).ok().flatten().map(|b| b.to_vec())
}

/// Replaces the buffered body (`size` = the size the callback was given) with `value`.
pub fn replace_body(side: Side, size: usize, value: &[u8]) -> bool {
    let ok = hostcalls::set_buffer(side.body(), 0, size, value).is_ok();
    if !ok {
        log::warn!("portcullis: could not replace the {side:?} body");
    }
    ok
}

/// Answers the request locally with `err` in the client's API shape. No upstream is called.
pub fn send_error(err: &ClientError, shape: ErrorShape) {
    let headers = err.headers();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    send(err.status(), &pairs, &err.body(shape));
}

/// Answers the request locally.
pub fn send(status: u16, headers: &[(&str, &str)], body: &[u8]) {
    if let Err(status_err) = hostcalls::send_http_response(u32::from(status), headers.to_vec(), Some(body)) {
        log::error!("portcullis: local reply failed: {status_err:?}");
    }
}

/// Makes Envoy re-evaluate the route after a routing header changed.
pub fn clear_route_cache() {
    if let Err(err) = hostcalls::call_foreign_function("clear_route_cache", Some(&[])) {
        log::error!("portcullis: clear_route_cache failed: {err:?}");
    }
}

/// The plugin configuration bytes, if any.
pub fn plugin_configuration() -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX).ok().flatten().map(|b| b.to_vec())
}
