//! The host port: everything a filter's per-request logic asks of Envoy, as one small trait.
//!
//! Each filter's request flow lives in core as an [`HttpFlow`]: a state machine whose callbacks
//! receive a `&mut dyn Host` and decide everything — which headers to read, strip or set, what
//! the body becomes, what goes to filter state, when to answer locally. `filters/host`
//! implements [`Host`] once over the proxy-wasm ABI, and each cdylib only hands Envoy's callbacks
//! to its flow. [`super::fake_host::FakeHost`] implements it in memory, so every flow is unit
//! tested natively, including the exact sequence of host calls a request makes (each call is a
//! crossing into and out of the VM, the dominant per-request cost; a change that adds one to the
//! hot path fails a test instead of hiding in the benchmark's noise).
//!
//! Writes report refusal (`false`) rather than failing: Envoy refuses, for example, a response
//! header write once the headers have left, and a flow must not assume it succeeded.

use crate::common::error::{ClientError, ErrorShape};

/// Which side of the exchange a header or body call addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// What a callback tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Headers: hold them (the body comes first). Body: buffer it until a later callback.
    Pause,
}

/// A snapshot of one side's headers (names lowercase, as Envoy gives them). Values that were
/// not UTF-8 on the wire have their invalid bytes replaced (U+FFFD), so they never match a key,
/// a name or a pattern by accident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// A compare-and-swap write to shared data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedWrite {
    Written,
    /// Another worker wrote since the read: read again.
    Conflict,
    Failed,
}

/// Envoy, as one request's flow sees it.
pub trait Host {
    /// All headers of a side, in one call.
    fn headers(&mut self, side: Side) -> Headers;
    /// One header (prefer [`Host::headers`] when reading several).
    fn header(&mut self, side: Side, name: &str) -> Option<String>;
    fn set_header(&mut self, side: Side, name: &str, value: &str) -> bool;
    fn remove_header(&mut self, side: Side, name: &str);
    /// The body buffered so far: `size` bytes, as the body callback was told.
    fn body(&mut self, side: Side, size: usize) -> Option<Vec<u8>>;
    /// Replaces the buffered body (`size` bytes) with `body`.
    fn replace_body(&mut self, side: Side, size: usize, body: &[u8]) -> bool;
    /// A Portcullis filter-state key (`wasm.<key>` in Envoy) for this request.
    fn filter_state(&mut self, key: &str) -> Option<Vec<u8>>;
    fn set_filter_state(&mut self, key: &str, value: &[u8]);
    /// Any Envoy attribute (`["response", "code_details"]`, `["xds", …]`).
    fn property(&mut self, path: &[&str]) -> Option<Vec<u8>>;
    /// A shared-data value (every worker sees it) and its version.
    fn shared_data(&mut self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Writes `value` if the version is still `cas` (`None`: the key is new).
    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> SharedWrite;
    /// Wall clock, nanoseconds since the Unix epoch (0 if the host cannot tell).
    fn now_nanos(&mut self) -> u64;
    /// Answers the request locally; no upstream is called (or its answer is replaced).
    fn send_reply(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]);
    /// Makes Envoy pick the route again after a routing header changed.
    fn clear_route_cache(&mut self);
    /// Sets one of Envoy's own (registered) filter-state keys, such as
    /// `envoy.ratelimit.hits_addend`, for this request. `false` if Envoy refused.
    fn set_envoy_filter_state(&mut self, path: &str, value: &str) -> bool;
    /// Adds to a counter, by its full (labelled) name.
    fn increment(&mut self, metric: &str, by: u64);
    /// Records a histogram sample.
    fn record(&mut self, metric: &str, value: u64);
    /// Starts an HTTP call to Envoy cluster `cluster` (`headers` must name `:method`, `:path`
    /// and `:authority`). Its answer, or its failure, comes to
    /// [`HttpFlow::on_http_call_response`] with the token returned here. `Err`: the call could
    /// not start (Envoy refuses an unknown cluster this way).
    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, String>;
    /// Inside [`HttpFlow::on_http_call_response`]: the call's status (`None`: it failed or timed
    /// out) and body.
    fn call_response(&mut self, body_size: usize) -> (Option<u16>, Vec<u8>);
    /// Resumes the request or the response after a callback returned `Pause`.
    fn resume(&mut self, side: Side);
}

/// One request's logic in one filter. Callbacks Envoy makes, in its order; defaults pass.
pub trait HttpFlow {
    fn on_request_headers(&mut self, _host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        Flow::Continue
    }
    fn on_request_body(&mut self, _host: &mut dyn Host, _size: usize, _end_of_stream: bool) -> Flow {
        Flow::Continue
    }
    fn on_response_headers(&mut self, _host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        Flow::Continue
    }
    fn on_response_body(&mut self, _host: &mut dyn Host, _size: usize, _end_of_stream: bool) -> Flow {
        Flow::Continue
    }
    /// The answer to a call started with [`Host::dispatch`].
    fn on_http_call_response(&mut self, _host: &mut dyn Host, _token: u32, _body_size: usize) {}
    /// After the exchange, also for requests whose headers the filter never saw.
    fn on_log(&mut self, _host: &mut dyn Host) {}
}

/// `%RESPONSE_CODE_DETAILS%` of every local reply a Portcullis filter sends: how a filter that
/// sees a response (`response.code_details`) tells the gateway's own answers from Envoy's.
pub const LOCAL_REPLY_DETAILS: &str = "portcullis";

/// Answers locally with `err` in the client's API shape.
pub fn send_error(host: &mut dyn Host, err: &ClientError, shape: ErrorShape) {
    let headers = err.headers();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    host.send_reply(err.status(), &pairs, &err.body(shape));
}

/// Retries of a compare-and-swap before giving up (only under heavy write contention).
const CAS_ATTEMPTS: usize = 8;

/// Replaces shared-data `key` with `next(current)`, atomically with respect to other workers.
/// `next` returning `None` leaves it as it is. False if it could not be written.
pub fn update_shared(
    host: &mut dyn Host,
    key: &str,
    next: impl Fn(Option<&[u8]>) -> Option<Vec<u8>>,
) -> bool {
    for _ in 0..CAS_ATTEMPTS {
        let (current, cas) = host.shared_data(key);
        let Some(value) = next(current.as_deref()) else {
            return true;
        };
        // A key that does not exist yet has no version: the first write is unconditional (two
        // workers creating it at once: the later write wins).
        match host.set_shared_data(key, &value, cas) {
            SharedWrite::Written => return true,
            SharedWrite::Conflict => continue,
            SharedWrite::Failed => return false,
        }
    }
    log::warn!("shared data {key} kept changing; update dropped");
    false
}

/// Whole seconds since the Unix epoch.
pub fn now_seconds(host: &mut dyn Host) -> u64 {
    host.now_nanos() / 1_000_000_000
}
