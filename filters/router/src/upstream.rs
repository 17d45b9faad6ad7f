//! The router as an upstream filter on a failover aggregate cluster: once per attempt.
//!
//! Envoy's router picked a host for this attempt (the first provider, or the next after a
//! 429/5xx/refused connection/timeout). The provider is in the host's metadata
//! (`filter_metadata.portcullis.provider`); the downstream router's plan says what that
//! provider expects. This instance re-targets the request (`:path`, `:authority`, body from
//! the client's original) and tells the filters after it, and the downstream filters via
//! response headers, which provider this attempt went to.

use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::contract;
use portcullis_core::router::plan::{Attempt, RoutePlan};
use portcullis_host::http::{self, Side};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

/// Where the provider name is in an endpoint's metadata.
const HOST_PROVIDER: [&str; 5] =
    ["xds", "upstream_host_metadata", "filter_metadata", "portcullis", "provider"];

pub struct AttemptRequest {
    context_id: u32,
    plan: Option<RoutePlan>,
    attempt: Option<Attempt>,
}

impl AttemptRequest {
    pub fn new(context_id: u32) -> Self {
        Self { context_id, plan: None, attempt: None }
    }

    fn fail(&self, message: &str) -> Action {
        log::error!("#{}: {message}", self.context_id);
        let shape = self
            .plan
            .as_ref()
            .map_or(portcullis_core::llm::api::ErrorShape::OpenAi, |p| p.client_api.error_shape());
        http::send_error(&ClientError::new(ErrorKind::Internal, message), shape);
        Action::Pause
    }
}

fn host_provider() -> Option<String> {
    let raw = filter_state::property(&HOST_PROVIDER)?;
    let text = String::from_utf8(raw).ok()?;
    Some(text.trim_matches('"').to_string()).filter(|s| !s.is_empty())
}

impl Context for AttemptRequest {}

impl HttpContext for AttemptRequest {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let Some(json) = filter_state::get(contract::ROUTE_PLAN) else {
            // Not a failover request: the downstream router already did everything.
            return Action::Continue;
        };
        let Ok(plan) = serde_json::from_str::<RoutePlan>(&json) else {
            return self.fail("failover plan in filter state is unreadable");
        };
        let provider = host_provider();
        let attempt = match provider.as_deref().and_then(|p| plan.attempt_for(p)).or(plan.first()) {
            Some(a) => a.clone(),
            None => return self.fail("failover plan has no attempts"),
        };
        if provider.as_deref() != Some(attempt.provider.as_str()) {
            log::warn!(
                "#{}: upstream host has no `portcullis.provider` metadata matching the plan; using {}",
                self.context_id,
                attempt.provider
            );
        }
        http::set_header(Side::Request, ":path", &attempt.path);
        http::set_header(Side::Request, ":authority", &attempt.host);
        http::remove_header(Side::Request, "content-length");
        filter_state::set(contract::ATTEMPT_PROVIDER, &attempt.provider);
        log::debug!("#{}: attempt to {} ({})", self.context_id, attempt.provider, attempt.upstream_model);
        self.plan = Some(plan);
        self.attempt = Some(attempt);
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let (Some(plan), Some(attempt)) = (&self.plan, &self.attempt) else { return Action::Continue };
        if !end_of_stream {
            return Action::Pause;
        }
        // Always from the client's original: this attempt's body may be an earlier attempt's
        // rewrite.
        let Some(original) = filter_state::get_bytes(contract::REQUEST_BODY) else {
            return self.fail("original request body missing from filter state");
        };
        let body = match plan.upstream_body(attempt, &original) {
            Ok(Some(b)) => b,
            Ok(None) => original,
            Err(err) => return self.fail(&err.message),
        };
        http::replace_body(Side::Request, body_size, &body);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        if let Some(attempt) = &self.attempt {
            http::set_header(Side::Response, contract::RESPONSE_PROVIDER_HEADER, &attempt.provider);
            http::set_header(Side::Response, contract::RESPONSE_MODEL_HEADER, &attempt.upstream_model);
            http::set_header(Side::Response, contract::RESPONSE_API_HEADER, attempt.upstream_api.as_str());
        }
        Action::Continue
    }
}
