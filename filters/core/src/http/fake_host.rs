//! An in-memory [`Host`]: drives an [`HttpFlow`] through one exchange as Envoy would, and
//! records every host call, so flows are tested natively — behaviour and host-call sequence.
//!
//! What it reproduces of Envoy, because flows depend on it:
//! - a body callback that returns `Pause` makes the next one see the data buffered so far
//!   (`size` grows); `Continue` forwards what is buffered;
//! - headers a callback held (`Pause`) leave with the first body callback that continues, and a
//!   response header write after that is refused (Envoy answers `BadArgument`);
//! - a local reply sent while the request is processed passes through the flow's own response
//!   callbacks (as Envoy's local replies do), marked with its `response.code_details`;
//! - a request that is paused at its end and never continued is reported as stalled (in Envoy
//!   it would hang until a timeout);
//! - an HTTP call a callback starts is answered (by [`FakeHost::answer_calls`], else as a
//!   failed call) right after that callback returns, and a `resume` from the answer continues
//!   the paused side, as Envoy's `continue_stream` does.

use super::host::{Flow, Headers, Host, HttpFlow, SharedWrite, Side, LOCAL_REPLY_DETAILS};
use std::collections::BTreeMap;

/// What the client sends.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub headers: Vec<(String, String)>,
    /// Body pieces as they arrive (none: a request without a body).
    pub chunks: Vec<Vec<u8>>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        let headers = vec![(":method".into(), method.into()), (":path".into(), path.into())];
        Request { headers, chunks: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.chunks = vec![body.into()];
        self
    }

    /// A JSON POST to `path` with a content-length.
    pub fn json(path: &str, body: &str) -> Self {
        Request::new("POST", path)
            .header("content-type", "application/json")
            .header("content-length", &body.len().to_string())
            .body(body.as_bytes())
    }
}

/// What the upstream (the provider) answers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Vec<u8>>,
    /// `response.code_details`: `via_upstream` for a provider's answer.
    pub details: String,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response { status, headers: Vec::new(), chunks: Vec::new(), details: "via_upstream".into() }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Response::new(status)
            .header("content-type", "application/json")
            .chunks(vec![body.as_bytes().to_vec()])
    }

    pub fn sse(chunks: Vec<Vec<u8>>) -> Self {
        Response::new(200).header("content-type", "text/event-stream").chunks(chunks)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn chunks(mut self, chunks: Vec<Vec<u8>>) -> Self {
        self.chunks = chunks;
        self
    }
}

/// What one exchange came to.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The request as it left for the upstream (`None`: no upstream call).
    pub upstream: Option<(Headers, Vec<u8>)>,
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The flow paused at the end of a stream and never continued.
    pub stalled: bool,
}

impl Outcome {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// An HTTP call a flow started.
#[derive(Debug, Clone)]
pub struct Callout {
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
}

impl Callout {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Answers calls: `Some((status, body))`, or `None` for a call that fails (timeout, reset).
type Responder = Box<dyn FnMut(&Callout) -> Option<(u16, Vec<u8>)>>;

#[derive(Default)]
struct Calls {
    responder: Option<Responder>,
    /// Tokens started and not yet answered.
    pending: Vec<u32>,
    /// The answer being delivered (inside `on_http_call_response`).
    answering: Option<(Option<u16>, Vec<u8>)>,
    resumed: Vec<Side>,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").field("pending", &self.pending).finish_non_exhaustive()
    }
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct FakeHost {
    // Set directly by tests that drive a flow callback by callback (a stream cut off).
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) response_headers: Vec<(String, String)>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) response_body: Vec<u8>,
    response_headers_sent: bool,
    reply: Option<Reply>,
    pub filter_state: BTreeMap<String, Vec<u8>>,
    /// Envoy attributes by path joined with `/` (`response/code_details`).
    pub properties: BTreeMap<String, Vec<u8>>,
    pub shared: BTreeMap<String, (Vec<u8>, u32)>,
    pub now_nanos: u64,
    pub counters: BTreeMap<String, u64>,
    pub histograms: BTreeMap<String, Vec<u64>>,
    pub route_cache_cleared: u32,
    /// Envoy's own filter state set through `set_envoy_filter_state` (path → value).
    pub envoy_filter_state: BTreeMap<String, String>,
    /// Makes `set_envoy_filter_state` fail, as Envoy does for an unregistered key.
    pub refuse_envoy_filter_state: bool,
    /// Every host call, in order (`headers(request)`, `set_header(request, :path)`, …).
    pub calls: Vec<String>,
    /// Every HTTP call started, in order (token = position + 1).
    pub callouts: Vec<Callout>,
    /// Clusters Envoy would not know (a call to one is refused).
    pub unknown_clusters: Vec<String>,
    http_calls: Calls,
}

impl FakeHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// How HTTP calls are answered (default: every call fails, as on a timeout).
    pub fn answer_calls(&mut self, responder: impl FnMut(&Callout) -> Option<(u16, Vec<u8>)> + 'static) {
        self.http_calls.responder = Some(Box::new(responder));
    }

    /// Delivers the answers to the calls `flow` started, then tells whether `side` (paused by
    /// the callback that returned `flow_result`) goes on.
    fn settle(&mut self, flow: &mut dyn HttpFlow, side: Side, flow_result: Flow) -> Flow {
        while !self.http_calls.pending.is_empty() {
            let token = self.http_calls.pending.remove(0);
            let call = self.callouts.get((token as usize).saturating_sub(1)).cloned();
            let answer = match (&mut self.http_calls.responder, call) {
                (Some(responder), Some(call)) => responder(&call),
                _ => None,
            };
            let size = answer.as_ref().map_or(0, |(_, body)| body.len());
            self.http_calls.answering = Some(match answer {
                Some((status, body)) => (Some(status), body),
                None => (None, Vec::new()),
            });
            flow.on_http_call_response(self, token, size);
            self.http_calls.answering = None;
        }
        let resumed = self.http_calls.resumed.contains(&side);
        self.http_calls.resumed.clear();
        if resumed {
            Flow::Continue
        } else {
            flow_result
        }
    }

    /// Runs one exchange: the request through `flow`, then `upstream`'s answer (if the request
    /// got that far) or the local reply back through it.
    pub fn exchange(&mut self, flow: &mut dyn HttpFlow, request: Request, upstream: Response) -> Outcome {
        let mut outcome = Outcome::default();
        // A host reused for another exchange starts with empty buffers (a refused request
        // leaves its body behind).
        self.request_body.clear();
        self.response_body.clear();
        self.request_headers = request.headers;
        let no_body = request.chunks.is_empty();
        let held = self.call_request_headers(flow, no_body);
        let mut forwarded = Vec::new();
        let mut request_done = no_body && held == Flow::Continue;
        if self.reply.is_none() && !no_body {
            let last = request.chunks.len().saturating_sub(1);
            for (i, chunk) in request.chunks.iter().enumerate() {
                self.request_body.extend_from_slice(chunk);
                let size = self.request_body.len();
                let result = flow.on_request_body(self, size, i == last);
                if self.settle(flow, Side::Request, result) == Flow::Continue {
                    forwarded.append(&mut self.request_body);
                    request_done = i == last;
                }
                if self.reply.is_some() {
                    break;
                }
            }
        }
        if self.reply.is_none() && !request_done {
            outcome.stalled = true;
            return outcome;
        }
        let response = match self.reply.take() {
            Some(reply) => {
                let length = reply.body.len().to_string();
                let mut r = Response::new(reply.status).chunks(vec![reply.body]);
                r.headers = reply.headers;
                r.headers.push(("content-length".into(), length));
                r.details = LOCAL_REPLY_DETAILS.into();
                r
            }
            None => {
                outcome.upstream = Some((Headers(self.request_headers.clone()), forwarded));
                upstream
            }
        };
        self.respond(flow, response, &mut outcome);
        flow.on_log(self);
        outcome
    }

    fn call_request_headers(&mut self, flow: &mut dyn HttpFlow, end_of_stream: bool) -> Flow {
        let result = flow.on_request_headers(self, end_of_stream);
        self.settle(flow, Side::Request, result)
    }

    fn respond(&mut self, flow: &mut dyn HttpFlow, response: Response, outcome: &mut Outcome) {
        self.response_headers = response.headers;
        self.response_headers.insert(0, (":status".into(), response.status.to_string()));
        self.properties.insert("response/code_details".into(), response.details.into_bytes());
        self.response_headers_sent = false;
        let chunks: Vec<Vec<u8>> = response.chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let held = flow.on_response_headers(self, chunks.is_empty());
        let held = self.settle(flow, Side::Response, held);
        if let Some(reply) = self.reply.take() {
            // A reply while the response headers are still here replaces the response.
            self.finish_with_reply(reply, outcome);
            return;
        }
        if held == Flow::Continue {
            self.response_headers_sent = true;
        }
        let mut body = Vec::new();
        let last = chunks.len().saturating_sub(1);
        let mut done = chunks.is_empty() && held == Flow::Continue;
        for (i, chunk) in chunks.iter().enumerate() {
            self.response_body.extend_from_slice(chunk);
            let size = self.response_body.len();
            let result = flow.on_response_body(self, size, i == last);
            if self.settle(flow, Side::Response, result) == Flow::Continue {
                body.append(&mut self.response_body);
                self.response_headers_sent = true;
                done = i == last;
            }
            if let Some(reply) = self.reply.take() {
                self.finish_with_reply(reply, outcome);
                return;
            }
        }
        outcome.stalled = !done;
        outcome.status = self.status();
        outcome.headers = Headers(self.response_headers.clone());
        outcome.body = body;
    }

    fn finish_with_reply(&mut self, mut reply: Reply, outcome: &mut Outcome) {
        // Envoy frames a local reply with its length.
        reply.headers.push(("content-length".into(), reply.body.len().to_string()));
        outcome.status = reply.status;
        outcome.headers = Headers(reply.headers);
        outcome.body = reply.body;
    }

    fn status(&self) -> u16 {
        self.response_headers
            .iter()
            .find(|(n, _)| n == ":status")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    }

    fn map(&mut self, side: Side) -> &mut Vec<(String, String)> {
        match side {
            Side::Request => &mut self.request_headers,
            Side::Response => &mut self.response_headers,
        }
    }

    fn buffer(&mut self, side: Side) -> &mut Vec<u8> {
        match side {
            Side::Request => &mut self.request_body,
            Side::Response => &mut self.response_body,
        }
    }

    fn log(&mut self, call: String) {
        self.calls.push(call);
    }

    /// The calls' names only (`headers`, `set_header`, …): the shape of a request's host traffic.
    pub fn call_names(&self) -> Vec<&str> {
        self.calls.iter().map(|c| c.split('(').next().unwrap_or_default()).collect()
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Request => "request",
        Side::Response => "response",
    }
}

impl Host for FakeHost {
    fn headers(&mut self, side: Side) -> Headers {
        self.log(format!("headers({})", side_name(side)));
        Headers(self.map(side).clone())
    }

    fn header(&mut self, side: Side, name: &str) -> Option<String> {
        self.log(format!("header({}, {name})", side_name(side)));
        self.map(side).iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn set_header(&mut self, side: Side, name: &str, value: &str) -> bool {
        self.log(format!("set_header({}, {name})", side_name(side)));
        if side == Side::Response && self.response_headers_sent {
            return false;
        }
        let map = self.map(side);
        map.retain(|(n, _)| n != name);
        map.push((name.to_string(), value.to_string()));
        true
    }

    fn remove_header(&mut self, side: Side, name: &str) {
        self.log(format!("remove_header({}, {name})", side_name(side)));
        self.map(side).retain(|(n, _)| n != name);
    }

    fn body(&mut self, side: Side, size: usize) -> Option<Vec<u8>> {
        self.log(format!("body({})", side_name(side)));
        let buffer = self.buffer(side);
        Some(buffer.get(..size.min(buffer.len())).unwrap_or_default().to_vec())
    }

    fn replace_body(&mut self, side: Side, size: usize, body: &[u8]) -> bool {
        self.log(format!("replace_body({})", side_name(side)));
        let buffer = self.buffer(side);
        let size = size.min(buffer.len());
        buffer.splice(..size, body.iter().copied());
        true
    }

    fn filter_state(&mut self, key: &str) -> Option<Vec<u8>> {
        self.log(format!("filter_state({key})"));
        self.filter_state.get(key).cloned()
    }

    fn set_filter_state(&mut self, key: &str, value: &[u8]) {
        self.log(format!("set_filter_state({key})"));
        self.filter_state.insert(key.to_string(), value.to_vec());
    }

    fn property(&mut self, path: &[&str]) -> Option<Vec<u8>> {
        let path = path.join("/");
        self.log(format!("property({path})"));
        self.properties.get(&path).cloned()
    }

    fn shared_data(&mut self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        self.log(format!("shared_data({key})"));
        match self.shared.get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        }
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> SharedWrite {
        self.log(format!("set_shared_data({key})"));
        let current = self.shared.get(key).map(|(_, c)| *c);
        if cas.is_some() && cas != current {
            return SharedWrite::Conflict;
        }
        let next = current.unwrap_or(0).wrapping_add(1).max(1);
        self.shared.insert(key.to_string(), (value.to_vec(), next));
        SharedWrite::Written
    }

    fn now_nanos(&mut self) -> u64 {
        self.log("now".into());
        self.now_nanos
    }

    fn send_reply(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        self.log(format!("send_reply({status})"));
        let headers = headers.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect();
        self.reply = Some(Reply { status, headers, body: body.to_vec() });
    }

    fn clear_route_cache(&mut self) {
        self.log("clear_route_cache".into());
        self.route_cache_cleared = self.route_cache_cleared.saturating_add(1);
    }

    fn set_envoy_filter_state(&mut self, path: &str, value: &str) -> bool {
        self.log(format!("set_envoy_filter_state({path}={value})"));
        if self.refuse_envoy_filter_state {
            return false;
        }
        self.envoy_filter_state.insert(path.to_string(), value.to_string());
        true
    }

    fn increment(&mut self, metric: &str, by: u64) {
        self.log(format!("increment({metric})"));
        let counter = self.counters.entry(metric.to_string()).or_default();
        *counter = counter.saturating_add(by);
    }

    fn record(&mut self, metric: &str, value: u64) {
        self.log(format!("record({metric})"));
        self.histograms.entry(metric.to_string()).or_default().push(value);
    }

    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, String> {
        self.log(format!("dispatch({cluster})"));
        if self.unknown_clusters.iter().any(|c| c == cluster) {
            return Err(format!("Envoy refused the call (is `{cluster}` a cluster?)"));
        }
        let headers = headers.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect();
        self.callouts.push(Callout { cluster: cluster.into(), headers, body: body.to_vec(), timeout_ms });
        let token = u32::try_from(self.callouts.len()).unwrap_or(u32::MAX);
        self.http_calls.pending.push(token);
        Ok(token)
    }

    fn call_response(&mut self, _body_size: usize) -> (Option<u16>, Vec<u8>) {
        self.log("call_response".into());
        self.http_calls.answering.clone().unwrap_or((None, Vec::new()))
    }

    fn resume(&mut self, side: Side) {
        self.log(format!("resume({})", side_name(side)));
        self.http_calls.resumed.push(side);
    }
}
