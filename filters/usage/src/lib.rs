//! portcullis.usage — exact token usage per tenant, provider and model.
//!
//! Response bodies are observed as they pass, never held: JSON bodies are copied until complete
//! (bounded), SSE streams are parsed incrementally and only events that mention usage are
//! decoded. Usage goes to metrics (OpenTelemetry GenAI names) and to filter state for the access
//! log.

use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::common::metric::labelled;
use portcullis_core::contract;
use portcullis_core::http::sse::{self, SseParser};
use portcullis_core::llm::api::WireApi;
use portcullis_core::llm::usage::{self, StreamUsage, TokenUsage};
use portcullis_host::http::{self, Side};
use portcullis_host::metrics;
use portcullis_host::root::{self, Plugin};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use serde::Deserialize;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Usage>();
}}

/// Larger JSON responses are passed on without usage accounting rather than buffered.
const DEFAULT_MAX_JSON_BYTES: usize = 8 << 20;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageConfig {
    /// Upper bound on a non-streaming response body kept to read its usage.
    #[serde(default)]
    max_json_bytes: Option<usize>,
}

struct Usage {
    max_json_bytes: usize,
}

impl Plugin for Usage {
    const NAME: &'static str = "portcullis.usage";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: UsageConfig = config::parse(bytes)?;
        Ok(Usage { max_json_bytes: config.max_json_bytes.unwrap_or(DEFAULT_MAX_JSON_BYTES) })
    }

    fn http_context(plugin: Rc<Self>, _context_id: u32) -> Box<dyn HttpContext> {
        Box::new(UsageRequest { plugin, observer: None, recorded: false })
    }
}

/// Which API the response is in, and its labels. With failover the provider that answered is
/// known only from the upstream router's response headers (trusted only then: without
/// failover a provider could send them); otherwise from the router's filter state.
fn served_by() -> Option<(WireApi, Labels)> {
    let decision = filter_state::decision()?;
    let tenant = filter_state::get(contract::TENANT).unwrap_or_default();
    if decision.failover {
        let api =
            http::header(Side::Response, contract::RESPONSE_API_HEADER).and_then(|a| WireApi::parse(&a))?;
        let labels = Labels {
            provider: http::header(Side::Response, contract::RESPONSE_PROVIDER_HEADER).unwrap_or_default(),
            model: http::header(Side::Response, contract::RESPONSE_MODEL_HEADER).unwrap_or_default(),
            tenant,
        };
        return Some((api, labels));
    }
    let labels = Labels { provider: decision.provider, model: decision.model, tenant };
    Some((decision.upstream_api, labels))
}

/// Labels of one routed request.
struct Labels {
    provider: String,
    model: String,
    tenant: String,
}

enum Body {
    Json(Vec<u8>),
    /// The JSON body outgrew the bound: no usage from it.
    TooLarge,
    Stream(Box<(SseParser, StreamUsage)>),
}

struct Observer {
    api: WireApi,
    labels: Labels,
    body: Body,
}

struct UsageRequest {
    plugin: Rc<Usage>,
    observer: Option<Observer>,
    recorded: bool,
}

impl Context for UsageRequest {}

impl HttpContext for UsageRequest {
    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        let Some((api, labels)) = served_by() else { return Action::Continue };
        let is_sse = http::header(Side::Response, "content-type").is_some_and(|ct| sse::is_event_stream(&ct));
        let body = if is_sse {
            Body::Stream(Box::new((SseParser::default(), StreamUsage::new(api))))
        } else {
            Body::Json(Vec::new())
        };
        self.observer = Some(Observer { api, labels, body });
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(observer) = &mut self.observer else {
            return Action::Continue;
        };
        if let Some(chunk) = http::body(Side::Response, body_size) {
            match &mut observer.body {
                Body::Json(buf) if buf.len() + chunk.len() > self.plugin.max_json_bytes => {
                    observer.body = Body::TooLarge;
                }
                Body::Json(buf) => buf.extend_from_slice(&chunk),
                Body::TooLarge => {}
                Body::Stream(stream) => {
                    let (parser, acc) = &mut **stream;
                    if parser.feed(&chunk, |event| acc.observe(&event)).is_err() {
                        log::warn!("portcullis.usage: oversized SSE event, usage may be incomplete");
                    }
                }
            }
        }
        if end_of_stream {
            self.record();
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        // A stream cut short still reports what it counted so far.
        self.record();
    }
}

impl UsageRequest {
    fn record(&mut self) {
        if self.recorded {
            return;
        }
        let Some(observer) = &mut self.observer else {
            return;
        };
        self.recorded = true;
        let reported = match &mut observer.body {
            Body::Json(buf) => usage::from_json(observer.api, buf),
            Body::TooLarge => None,
            Body::Stream(stream) => {
                let (parser, acc) = &mut **stream;
                parser.finish(|event| acc.observe(&event));
                acc.usage()
            }
        };
        let Some(usage) = reported else { return };
        publish(&observer.labels, &usage);
    }
}

fn publish(labels: &Labels, usage: &TokenUsage) {
    let base = [
        ("gen_ai_provider_name", labels.provider.as_str()),
        ("gen_ai_request_model", labels.model.as_str()),
        ("tenant", labels.tenant.as_str()),
    ];
    for (token_type, count) in [("input", usage.input_tokens), ("output", usage.output_tokens)] {
        let mut labels = base.to_vec();
        labels.push(("gen_ai_token_type", token_type));
        metrics::count(&labelled("portcullis_tokens_total", &labels), count);
        // OpenTelemetry GenAI semantic convention: `gen_ai.client.token.usage`, a histogram.
        metrics::record(&labelled("gen_ai_client_token_usage", &labels), count);
    }
    if let Ok(json) = serde_json::to_string(usage) {
        filter_state::set(contract::USAGE, &json);
    }
}
