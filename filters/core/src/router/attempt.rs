//! The router as an upstream filter on a failover aggregate cluster: once per attempt.
//!
//! Envoy's router picked a host for this attempt (the first provider, or the next after a
//! 429/5xx/refused connection/timeout). The provider is in the host's metadata
//! (`filter_metadata.portcullis.provider`); the downstream router's plan says what that
//! provider expects. This flow re-targets the request (`:path`, `:authority`, body from the
//! client's original) and tells the filters after it, and the downstream filters via response
//! headers, which provider this attempt went to.
//!
//! On a Bedrock cluster (with or without failover) it also rewrites a ConverseStream answer's
//! binary event stream into SSE as it arrives ([`eventstream_sse`]), so every filter after it
//! reads one text form of stream.

use super::plan::{Attempt, RoutePlan};
use crate::common::error::{ClientError, ErrorKind};
use crate::contract;
use crate::contract::attempt::AttemptRecord;
use crate::contract::record::{ContractError, RecordError};
use crate::http::eventstream_sse::{self, Reframer};
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::llm::api::ErrorShape;
use crate::llm::provider::ProviderKind;

/// Where the provider name is in an endpoint's metadata.
const HOST_PROVIDER: [&str; 5] =
    ["xds", "upstream_host_metadata", "filter_metadata", "portcullis", "provider"];

#[derive(Default)]
pub struct AttemptFlow {
    plan: Option<RoutePlan>,
    attempt: Option<Attempt>,
    /// The answer is an event stream being rewritten into SSE.
    reframe: Option<Reframer>,
}

impl AttemptFlow {
    fn fail(&self, host: &mut dyn Host, message: &str) -> Flow {
        log::error!("{message}");
        let shape = self.plan.as_ref().map_or(ErrorShape::OpenAi, |p| p.client_api.error_shape());
        host::send_error(host, &ClientError::new(ErrorKind::Internal, message), shape);
        Flow::Pause
    }
}

fn host_provider(host: &mut dyn Host) -> Option<String> {
    let raw = host.property(&HOST_PROVIDER)?;
    let text = String::from_utf8(raw).ok()?;
    Some(text.trim_matches('"').to_string()).filter(|s| !s.is_empty())
}

impl HttpFlow for AttemptFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        let plan = match contract::plan::read(host) {
            Ok(plan) => plan,
            // Not a failover request: the downstream router already did everything.
            Err(RecordError::Missing) => return Flow::Continue,
            Err(e) => {
                let message = ContractError::Plan(e).count(host, "router");
                return self.fail(host, &message);
            }
        };
        let provider = host_provider(host);
        let attempt = match provider.as_deref().and_then(|p| plan.attempt_for(p)).or(plan.first()) {
            Some(a) => a.clone(),
            None => return self.fail(host, "failover plan has no attempts"),
        };
        if provider.as_deref() != Some(attempt.provider.as_str()) {
            log::warn!(
                "upstream host has no `portcullis.provider` metadata matching the plan; using {}",
                attempt.provider
            );
        }
        host.set_header(Side::Request, ":path", &attempt.path);
        host.set_header(Side::Request, ":authority", &attempt.host);
        host.remove_header(Side::Request, "content-length");
        host.set_filter_state(contract::ATTEMPT_PROVIDER, &AttemptRecord::new(&attempt.provider).encode());
        log::debug!("attempt to {} ({})", attempt.provider, attempt.upstream_model);
        self.plan = Some(plan);
        self.attempt = Some(attempt);
        Flow::Continue
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let (Some(plan), Some(attempt)) = (&self.plan, &self.attempt) else { return Flow::Continue };
        if !end_of_stream {
            return Flow::Pause;
        }
        // Always from the client's original: this attempt's body may be an earlier attempt's
        // rewrite.
        let Some(original) = host.filter_state(contract::REQUEST_BODY) else {
            return self.fail(host, "original request body missing from filter state");
        };
        let body = match plan.upstream_body(attempt, &original) {
            Ok(Some(b)) => b,
            Ok(None) => original,
            Err(err) => return self.fail(host, &err.message),
        };
        host.replace_body(Side::Request, size, &body);
        Flow::Continue
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, _end_of_stream: bool) -> Flow {
        if let Some(attempt) = &self.attempt {
            host.set_header(Side::Response, contract::RESPONSE_PROVIDER_HEADER, &attempt.provider);
        }
        // Only Bedrock answers in event streams: other attempts pay no extra host call. (Without
        // an attempt this instance is on a Bedrock cluster of its own.)
        let bedrock = self.attempt.as_ref().is_none_or(|a| a.kind == ProviderKind::Bedrock);
        let event_stream = bedrock
            && host
                .header(Side::Response, "content-type")
                .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with(eventstream_sse::CONTENT_TYPE));
        if event_stream {
            host.set_header(Side::Response, "content-type", "text/event-stream");
            host.remove_header(Side::Response, "content-length");
            self.reframe = Some(Reframer::default());
        }
        Flow::Continue
    }

    fn on_response_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(reframe) = &mut self.reframe else { return Flow::Continue };
        let chunk = host.body(Side::Response, size).unwrap_or_default();
        let mut out = reframe.push(&chunk);
        if end_of_stream {
            out.extend(reframe.finish());
        }
        host.replace_body(Side::Response, size, &out);
        Flow::Continue
    }
}
