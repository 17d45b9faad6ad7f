//! A proxy-wasm HTTP filter that does nothing — or exactly one kind of host work per request.
//!
//! With an empty plugin configuration every callback takes the SDK's default (Continue): Envoy
//! still creates a context per request and calls into the VM for each callback, so a chain of
//! these measures the fixed price of wasm filters (`make bench`, row "4 empty wasm filters").
//!
//! A configuration of comma-separated probes makes it do one kind of work the Portcullis
//! filters do, so `e2e/bench/costs.py` can price each mechanism on its own:
//!
//! | probe          | per request                                                          |
//! |----------------|----------------------------------------------------------------------|
//! | `headers`      | `get_map` of the request headers (every header copied into the VM)   |
//! | `get:N`        | N `get_map_value` of single request headers                          |
//! | `set:N`        | N `set_map_value` of request headers                                 |
//! | `buffer`       | request body buffered whole (Pause), then copied into the VM          |
//! | `rewrite`      | with `buffer`: the body written back (`set_buffer`)                  |
//! | `route`        | the cluster header set and `clear_route_cache` called                |
//! | `setprop:N`    | N `set_property` (filter state) of a short value                     |
//! | `getprop:N`    | N `get_property` of filter state                                     |
//! | `respheaders`  | `get_map` of the response headers and 2 headers set                  |
//! | `respbuffer`   | response body buffered whole (Pause), then copied into the VM        |
//! | `metric:N`     | N counter increments                                                 |
//! | `logprop:N`    | N `get_property` calls in `on_log`                                    |
//! | `trap`         | panics (traps the VM) on a request carrying `x-trap-vm` — for the test  |
//! |                | of what `failure_policy` does with a dead VM (e2e/tests/test_vm_failure) |

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { probes: Rc::new(Probes::default()) })
    });
}}

#[derive(Default, Clone)]
struct Probes {
    headers: bool,
    get: usize,
    set: usize,
    buffer: bool,
    rewrite: bool,
    route: bool,
    setprop: usize,
    getprop: usize,
    respheaders: bool,
    respbuffer: bool,
    metric: usize,
    logprop: usize,
    trap: bool,
    metric_id: Option<u32>,
}

impl Probes {
    fn parse(text: &str) -> Probes {
        let mut p = Probes::default();
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (name, n) = match token.split_once(':') {
                Some((name, n)) => (name, n.parse().unwrap_or(1)),
                None => (token, 1),
            };
            match name {
                "headers" => p.headers = true,
                "get" => p.get = n,
                "set" => p.set = n,
                "buffer" => p.buffer = true,
                "rewrite" => p.rewrite = true,
                "route" => p.route = true,
                "setprop" => p.setprop = n,
                "getprop" => p.getprop = n,
                "respheaders" => p.respheaders = true,
                "respbuffer" => p.respbuffer = true,
                "metric" => p.metric = n,
                "logprop" => p.logprop = n,
                "trap" => p.trap = true,
                _ => proxy_wasm::hostcalls::log(LogLevel::Error, &format!("unknown probe {name}"))
                    .unwrap_or(()),
            }
        }
        p
    }
}

struct Root {
    probes: Rc<Probes>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let text = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let mut probes = Probes::parse(&text);
        if probes.metric > 0 {
            probes.metric_id = hostcalls::define_metric(MetricType::Counter, "bench_probe_requests").ok();
        }
        self.probes = Rc::new(probes);
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Noop { p: self.probes.clone() }))
    }
}

struct Noop {
    p: Rc<Probes>,
}

impl Context for Noop {}

const PROP_KEYS: [&str; 10] = [
    "bench.p0", "bench.p1", "bench.p2", "bench.p3", "bench.p4", "bench.p5", "bench.p6", "bench.p7",
    "bench.p8", "bench.p9",
];

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        let p = &self.p;
        if p.trap && hostcalls::get_map_value(MapType::HttpRequestHeaders, "x-trap-vm").ok().flatten().is_some() {
            panic!("trap requested");
        }
        if p.headers {
            let _ = hostcalls::get_map(MapType::HttpRequestHeaders);
        }
        for _ in 0..p.get {
            let _ = hostcalls::get_map_value(MapType::HttpRequestHeaders, ":path");
        }
        for i in 0..p.set {
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, PROP_KEYS[i % 10], Some("v"));
        }
        for i in 0..p.setprop {
            let _ = hostcalls::set_property(vec![PROP_KEYS[i % 10]], Some(b"some-value"));
        }
        for i in 0..p.getprop {
            let _ = hostcalls::get_property(vec!["filter_state", PROP_KEYS[i % 10]]);
        }
        if let Some(id) = p.metric_id {
            for _ in 0..p.metric {
                let _ = hostcalls::increment_metric(id, 1);
            }
        }
        if p.route && !p.buffer {
            route();
        }
        if p.buffer && !end_of_stream {
            let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, "content-length");
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if !self.p.buffer {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body =
            hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size).ok().flatten().unwrap_or_default();
        if self.p.rewrite {
            let _ = hostcalls::set_buffer(BufferType::HttpRequestBody, 0, size, &body);
        }
        if self.p.route {
            route();
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        if self.p.respheaders {
            let _ = hostcalls::get_map(MapType::HttpResponseHeaders);
            let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "x-bench-a", Some("a"));
            let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "x-bench-b", Some("b"));
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if !self.p.respbuffer {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let _ = hostcalls::get_buffer(BufferType::HttpResponseBody, 0, size);
        Action::Continue
    }

    fn on_log(&mut self) {
        for i in 0..self.p.logprop {
            let _ = hostcalls::get_property(vec!["filter_state", PROP_KEYS[i % 10]]);
        }
    }
}

fn route() {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, "x-portcullis-cluster", Some("openai"));
    let _ = hostcalls::call_foreign_function("clear_route_cache", Some(&[]));
}
