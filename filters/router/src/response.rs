//! Translating a provider's response into the client's API, JSON or SSE, as it passes.

use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::llm::api::WireApi;
use portcullis_core::llm::hidden_usage::UsageChunkFilter;
use portcullis_core::llm::translate::{self, StreamTranslator};
use portcullis_core::router::plan::{Attempt, RoutePlan};
use portcullis_host::http::{self, Side};
use proxy_wasm::types::Action;

enum Mode {
    /// A complete JSON body, translated at the end (buffered by Envoy meanwhile).
    Json,
    /// A provider error body, in the client's error shape.
    Error(u16),
    /// SSE, translated chunk by chunk: never buffered whole.
    Stream(Box<StreamTranslator>, Vec<u8>),
    /// The client's own API, minus the usage chunk the gateway asked for on its behalf.
    HideUsage(UsageChunkFilter, Vec<u8>),
}

pub struct ResponseTranslation {
    from: WireApi,
    to: WireApi,
    /// The model that answered, reported to the client as OpenAI does (an alias resolves to
    /// the real name), whether or not the response was translated.
    model: String,
    mode: Mode,
    problem: Option<String>,
}

impl ResponseTranslation {
    /// `is_sse`: the response's content type is `text/event-stream`.
    pub fn new(plan: &RoutePlan, attempt: &Attempt, status: u16, is_sse: bool) -> Self {
        let from = attempt.upstream_api;
        let to = plan.client_api;
        let mode = if status >= 400 {
            Mode::Error(status)
        } else if is_sse {
            let translator = StreamTranslator::new(from, to, &attempt.upstream_model, plan.include_usage);
            Mode::Stream(Box::new(translator), Vec::new())
        } else {
            Mode::Json
        };
        Self { from, to, model: attempt.upstream_model.clone(), mode, problem: None }
    }

    /// A stream in the client's API whose usage chunk the gateway requested
    /// (`RoutePlan::asks_usage_for_client`): everything else passes unchanged.
    pub fn hiding_usage(plan: &RoutePlan, attempt: &Attempt) -> Self {
        Self {
            from: attempt.upstream_api,
            to: plan.client_api,
            model: attempt.upstream_model.clone(),
            mode: Mode::HideUsage(UsageChunkFilter::default(), Vec::new()),
            problem: None,
        }
    }

    /// The content type of the translated body, where it changes.
    pub fn content_type(&self) -> Option<&'static str> {
        match self.mode {
            Mode::Stream(..) => Some("text/event-stream"),
            Mode::HideUsage(..) => None,
            Mode::Json | Mode::Error(_) => Some("application/json"),
        }
    }

    pub fn take_problem(&mut self) -> Option<String> {
        self.problem.take()
    }

    pub fn on_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &mut self.mode {
            Mode::Stream(translator, out) => {
                out.clear();
                let chunk = http::body(Side::Response, body_size).unwrap_or_default();
                if let Err(e) = translator.push(&chunk, out) {
                    self.problem = Some(e.message);
                }
                if end_of_stream {
                    if let Err(e) = translator.finish(out) {
                        self.problem = Some(e.message);
                    }
                }
                http::replace_body(Side::Response, body_size, out);
                Action::Continue
            }
            Mode::HideUsage(filter, out) => {
                out.clear();
                let chunk = http::body(Side::Response, body_size).unwrap_or_default();
                if filter.push(&chunk, out).is_err() {
                    self.problem = Some("oversized SSE event".into());
                }
                if end_of_stream {
                    filter.finish(out);
                }
                http::replace_body(Side::Response, body_size, out);
                Action::Continue
            }
            Mode::Json | Mode::Error(_) if !end_of_stream => Action::Pause,
            Mode::Json => {
                let body = http::body(Side::Response, body_size).unwrap_or_default();
                let translated =
                    translate::response(self.from, self.to, &body, &self.model).unwrap_or_else(|e| {
                        // The provider said something we cannot read: the client gets a 502 in
                        // its own shape rather than a body its SDK cannot parse.
                        let err = ClientError::new(
                            ErrorKind::BadGateway,
                            format!("the provider's response could not be translated: {}", e.message),
                        );
                        self.problem = Some(e.message);
                        http::set_header(Side::Response, ":status", "502");
                        err.body(self.to.error_shape())
                    });
                http::replace_body(Side::Response, body_size, &translated);
                Action::Continue
            }
            Mode::Error(status) => {
                let body = http::body(Side::Response, body_size).unwrap_or_default();
                let translated = translate::error(self.from, self.to, *status, &body);
                http::replace_body(Side::Response, body_size, &translated);
                Action::Continue
            }
        }
    }
}
