//! The usage filter, per request: exact token usage per tenant, provider and model.
//!
//! Response bodies are observed as they pass, never held: JSON bodies are copied until complete
//! (bounded), SSE streams are parsed incrementally and only events that mention usage are
//! decoded. Usage goes to metrics (OpenTelemetry GenAI names) and to filter state for the access
//! log. The router's record is required on routed requests, and read at the request headers so
//! a missing router stops the request before any provider is called.

use super::UsageConfig;
use crate::common::metric::labelled;
use crate::contract::{
    self,
    decision::{self, Decision},
};
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::http::sse::{self, SseParser};
use crate::llm::api::WireApi;
use crate::llm::usage::{self, StreamUsage, Usage};
use std::rc::Rc;

/// Labels of one routed request. Every value is bounded: provider names and tenant ids come
/// from config, model names are labelled only if the config names them (else `other`).
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

pub struct UsageFlow {
    config: Rc<UsageConfig>,
    decision: Option<Decision>,
    observer: Option<Observer>,
    recorded: bool,
}

impl UsageFlow {
    pub fn new(config: Rc<UsageConfig>) -> Self {
        Self { config, decision: None, observer: None, recorded: false }
    }

    /// Which API the response is in, and its labels.
    fn served_by(&self, host: &mut dyn Host) -> Option<(WireApi, Labels)> {
        let decision = self.decision.as_ref()?;
        let tenant = host.filter_state(contract::TENANT).map(|t| String::from_utf8_lossy(&t).into_owned());
        let answering = decision::answering(host, decision)?;
        let labels = Labels {
            provider: answering.provider,
            model: answering.model_label,
            tenant: tenant.unwrap_or_default(),
        };
        Some((answering.api, labels))
    }

    fn record(&mut self, host: &mut dyn Host) {
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
        publish(host, &observer.labels, &usage);
    }
}

impl HttpFlow for UsageFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        match decision::require(host, "usage") {
            Ok(decision) => {
                self.decision = decision;
                Flow::Continue
            }
            Err((err, shape)) => {
                host::send_error(host, &err, shape);
                Flow::Pause
            }
        }
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if self.decision.is_none() {
            return Flow::Continue;
        }
        let Some((api, labels)) = self.served_by(host) else { return Flow::Continue };
        let is_sse = host.header(Side::Response, "content-type").is_some_and(|ct| sse::is_event_stream(&ct));
        let body = if is_sse {
            Body::Stream(Box::new((SseParser::default(), StreamUsage::new(api))))
        } else {
            Body::Json(Vec::new())
        };
        self.observer = Some(Observer { api, labels, body });
        Flow::Continue
    }

    fn on_response_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(observer) = &mut self.observer else {
            return Flow::Continue;
        };
        if let Some(chunk) = host.body(Side::Response, size) {
            match &mut observer.body {
                Body::Json(buf) if buf.len().saturating_add(chunk.len()) > self.config.max_json_bytes => {
                    observer.body = Body::TooLarge;
                }
                Body::Json(buf) => buf.extend_from_slice(&chunk),
                Body::TooLarge => {}
                Body::Stream(stream) => {
                    let (parser, acc) = &mut **stream;
                    if parser.feed(&chunk, |event| acc.observe(&event)).is_err() {
                        log::warn!("oversized SSE event, usage may be incomplete");
                    }
                }
            }
        }
        if end_of_stream {
            self.record(host);
        }
        Flow::Continue
    }

    fn on_log(&mut self, host: &mut dyn Host) {
        // A stream cut short still reports what it counted so far.
        self.record(host);
    }
}

fn publish(host: &mut dyn Host, labels: &Labels, usage: &Usage) {
    let base = [
        ("gen_ai_provider_name", labels.provider.as_str()),
        ("gen_ai_request_model", labels.model.as_str()),
        ("tenant", labels.tenant.as_str()),
    ];
    for (token_type, count) in [("input", usage.input), ("output", usage.output)] {
        let mut labels = base.to_vec();
        labels.push(("gen_ai_token_type", token_type));
        host.increment(&labelled("portcullis_tokens_total", &labels), count);
        // OpenTelemetry GenAI semantic convention: `gen_ai.client.token.usage`, a histogram.
        host.record(&labelled("gen_ai_client_token_usage", &labels), count);
    }
    if let Ok(json) = serde_json::to_vec(usage) {
        host.set_filter_state(contract::USAGE, &json);
    }
}
