//! The RLS call: descriptors in, limitador's verdict out, one JSON line logged per call.

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::Code;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitService;
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use limitador::limit::Context;
use limitador::RateLimiter;
use std::collections::HashMap;
use std::io::Write;

/// The descriptor entry that marks a settle call (Envoy's `apply_on_stream_done` descriptors).
const PHASE: &str = "phase";
const SETTLE: &str = "settle";

pub struct Service {
    limiter: RateLimiter,
}

impl Service {
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: tonic::Request<RateLimitRequest>,
    ) -> Result<tonic::Response<RateLimitResponse>, tonic::Status> {
        let request = request.into_inner();
        let descriptors: Vec<HashMap<String, String>> = request
            .descriptors
            .iter()
            .map(|d| d.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
            .collect();
        let settle = descriptors.iter().any(|d| d.get(PHASE).is_some_and(|p| p == SETTLE));
        let namespace = request.domain.as_str().into();
        let mut ctx = Context::default();
        ctx.list_binding("descriptors".to_string(), descriptors.clone());

        let delta = u64::from(request.hits_addend);
        // An admission of 0 counts as 1 (the protocol's default); a settle of 0 charges nothing.
        let charge = delta.max(1);
        let (code, headers, remaining, body) = if settle {
            if delta > 0 {
                self.limiter.update_counters(&namespace, &ctx, delta).map_err(unavailable)?;
            }
            (Code::Ok, Vec::new(), None, String::new())
        } else {
            let mut result =
                self.limiter.check_rate_limited_and_update(&namespace, &ctx, charge).map_err(unavailable)?;
            if result.limit_name.as_deref() == Some(crate::redis_counters::UNAVAILABLE) {
                return Err(tonic::Status::unavailable("the counters' storage (Redis) could not be reached"));
            }
            let remaining = result.counters.iter().filter_map(|c| c.remaining()).min();
            let mut headers: Vec<HeaderValue> = result
                .response_header()
                .into_iter()
                .map(|(key, value)| HeaderValue {
                    key: key.to_ascii_lowercase(),
                    value,
                    ..Default::default()
                })
                .collect();
            if !result.limited {
                (Code::Ok, headers, remaining, String::new())
            } else {
                // The counter that refused is the first with too little left for this call.
                let refusing = result.counters.iter().find(|c| c.remaining().is_none_or(|r| r < charge));
                let reset = refusing.and_then(|c| c.expires_in()).map_or(1, |d| d.as_secs().max(1));
                headers.push(HeaderValue {
                    key: "retry-after".into(),
                    value: reset.to_string(),
                    ..Default::default()
                });
                let name = result.limit_name.clone().unwrap_or_else(|| "budget".into());
                let left = refusing.and_then(|c| c.remaining()).unwrap_or(0);
                let max = refusing.map_or(0, |c| c.max_value());
                let body = format!(
                    "global budget `{name}` exhausted: {charge} tokens requested, {left} of {max} left; it resets in {reset}s"
                );
                (Code::OverLimit, headers, remaining, body)
            }
        };

        let line = serde_json::json!({
            "domain": request.domain,
            "descriptors": descriptors,
            "hits_addend": request.hits_addend,
            "phase": if settle { SETTLE } else { "admit" },
            "code": if code == Code::Ok { "OK" } else { "OVER_LIMIT" },
            "remaining": remaining,
        });
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").ok();
        out.flush().ok();

        Ok(tonic::Response::new(RateLimitResponse {
            overall_code: code as i32,
            response_headers_to_add: headers,
            raw_body: body.into_bytes(),
            ..Default::default()
        }))
    }
}

/// Storage failures are the service's, not the client's: Envoy's
/// `failure_mode_deny` decides what the request gets.
fn unavailable(e: limitador::errors::LimitadorError) -> tonic::Status {
    tonic::Status::unavailable(format!("limitador: {e}"))
}
