//! [`Host`] over the proxy-wasm ABI: the one implementation of core's host port.
//!
//! Every call tolerates what a client or provider can send: header values are bytes on the wire,
//! and a value that is not UTF-8 is read with its invalid bytes replaced (U+FFFD), never trusted
//! as text and never a reason to trap. Refused writes are `false` plus a log line.

use crate::abi::{self, Buffer, HostError, Map, Stream};
use crate::metrics;
use portcullis_core::http::host::{Headers, Host, SharedWrite, Side, LOCAL_REPLY_DETAILS};

/// Envoy, for the request being handled (the ABI addresses the current context implicitly).
pub struct EnvoyHost;

const fn headers_of(side: Side) -> Map {
    match side {
        Side::Request => Map::RequestHeaders,
        Side::Response => Map::ResponseHeaders,
    }
}

const fn body_of(side: Side) -> Buffer {
    match side {
        Side::Request => Buffer::RequestBody,
        Side::Response => Buffer::ResponseBody,
    }
}

/// Header bytes as text: invalid UTF-8 is replaced, so it can never match a key or a name.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Host for EnvoyHost {
    fn headers(&mut self, side: Side) -> Headers {
        let pairs = abi::get_map(headers_of(side)).unwrap_or_default();
        Headers(pairs.into_iter().map(|(n, v)| (text(n), text(v))).collect())
    }

    fn header(&mut self, side: Side, name: &str) -> Option<String> {
        abi::get_map_value(headers_of(side), name).ok().flatten().map(text)
    }

    fn set_header(&mut self, side: Side, name: &str, value: &str) -> bool {
        match abi::set_map_value(headers_of(side), name, value.as_bytes()) {
            Ok(()) => true,
            Err(err) => {
                log::warn!("could not set {side:?} header {name}: {err:?}");
                false
            }
        }
    }

    fn remove_header(&mut self, side: Side, name: &str) {
        if let Err(err) = abi::remove_map_value(headers_of(side), name) {
            log::warn!("could not remove {side:?} header {name}: {err:?}");
        }
    }

    fn body(&mut self, side: Side, size: usize) -> Option<Vec<u8>> {
        if size == 0 {
            return Some(Vec::new());
        }
        abi::get_buffer(body_of(side), 0, size).ok().flatten()
    }

    fn replace_body(&mut self, side: Side, size: usize, body: &[u8]) -> bool {
        match abi::set_buffer(body_of(side), 0, size, body) {
            Ok(()) => true,
            Err(err) => {
                log::warn!("could not replace the {side:?} body: {err:?}");
                false
            }
        }
    }

    fn filter_state(&mut self, key: &str) -> Option<Vec<u8>> {
        let name = portcullis_core::contract::envoy_name(key);
        abi::get_property(&["filter_state", &name]).ok().flatten()
    }

    fn set_filter_state(&mut self, key: &str, value: &[u8]) {
        if let Err(err) = abi::set_property(&[key], value) {
            log::warn!("could not set filter state {key}: {err:?}");
        }
    }

    fn property(&mut self, path: &[&str]) -> Option<Vec<u8>> {
        abi::get_property(path).ok().flatten()
    }

    fn shared_data(&mut self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        abi::get_shared_data(key).unwrap_or_else(|err| {
            log::warn!("could not read shared data {key}: {err:?}");
            (None, None)
        })
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> SharedWrite {
        match abi::set_shared_data(key, value, cas) {
            Ok(()) => SharedWrite::Written,
            Err(HostError::CasMismatch) => SharedWrite::Conflict,
            Err(err) => {
                log::warn!("could not write shared data {key}: {err:?}");
                SharedWrite::Failed
            }
        }
    }

    fn now_nanos(&mut self) -> u64 {
        abi::now_nanos().unwrap_or(0)
    }

    fn send_reply(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let pairs: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        if let Err(err) = abi::send_local_response(u32::from(status), LOCAL_REPLY_DETAILS, &pairs, body) {
            log::error!("local reply failed: {err:?}");
        }
    }

    fn clear_route_cache(&mut self) {
        if let Err(err) = abi::call_foreign_function("clear_route_cache", &[]) {
            log::error!("clear_route_cache failed: {err:?}");
        }
    }

    fn set_envoy_filter_state(&mut self, path: &str, value: &str) -> bool {
        let args = portcullis_core::http::foreign::filter_state_arguments(path, value);
        match abi::call_foreign_function("set_envoy_filter_state", &args) {
            Ok(_) => true,
            Err(err) => {
                log::error!("set_envoy_filter_state({path}) failed: {err:?}");
                false
            }
        }
    }

    fn increment(&mut self, metric: &str, by: u64) {
        metrics::count(metric, by);
    }

    fn record(&mut self, metric: &str, value: u64) {
        metrics::record(metric, value);
    }

    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, String> {
        abi::dispatch_http_call(cluster, headers, body, timeout_ms).map_err(|err| match err {
            HostError::BadArgument => format!("Envoy refused the call (is `{cluster}` a cluster?)"),
            other => format!("Envoy could not start the call: {other:?}"),
        })
    }

    fn call_response(&mut self, body_size: usize) -> (Option<u16>, Vec<u8>) {
        // A failed or timed-out call arrives with no headers at all.
        let status = abi::get_map_value(Map::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok());
        let body = if body_size == 0 {
            None
        } else {
            abi::get_buffer(Buffer::HttpCallResponseBody, 0, body_size).ok().flatten()
        };
        (status, body.unwrap_or_default())
    }

    fn resume(&mut self, side: Side) {
        let stream = match side {
            Side::Request => Stream::Request,
            Side::Response => Stream::Response,
        };
        if let Err(err) = abi::continue_stream(stream) {
            log::error!("could not resume the {side:?}: {err:?}");
        }
    }
}

/// The plugin configuration bytes, if any.
pub fn plugin_configuration() -> Option<Vec<u8>> {
    abi::get_buffer(Buffer::PluginConfiguration, 0, usize::MAX).ok().flatten()
}

/// The plugin's `root_id` (Istio: the WasmPlugin's `pluginName`), while it is configured.
pub fn plugin_root_id() -> Option<String> {
    let bytes = abi::get_property(&["plugin_root_id"]).ok().flatten()?;
    String::from_utf8(bytes).ok()
}
