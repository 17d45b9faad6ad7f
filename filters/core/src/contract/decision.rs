//! The router's decision as the filters after it read it: one filter-state value.
//!
//! Every host call that returns data costs a crossing into the VM (≈ 0.3–0.7 µs on Envoy 1.40,
//! see the benchmark's cost table), so the fields the other filters need travel together as one
//! JSON record ([`DECISION`](crate::contract::DECISION)) instead of one key each. The
//! public keys meant for access logs (`provider`, `model`, `request_model`, `route`) are still
//! written one by one: `%FILTER_STATE(wasm.portcullis.provider:PLAIN)%` cannot read into JSON.

use crate::llm::api::WireApi;
use crate::llm::provider::ProviderKind;
use crate::router::plan::{Attempt, RoutePlan};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Provider name (`providers.<name>` in the router's config).
    pub provider: String,
    /// Its kind: which auth scheme the credentials filter uses.
    pub kind: ProviderKind,
    /// Model name sent to the provider.
    pub model: String,
    /// Model name the client asked for.
    pub request_model: String,
    /// The API the upstream request speaks (what usage parses, what prompt decorates).
    pub upstream_api: WireApi,
    /// The API the client speaks (the shape of every local error reply).
    pub client_api: WireApi,
    pub stream: bool,
    /// Envoy fails over between providers: the provider is chosen per attempt, by the
    /// router placed as an upstream filter, and `provider`/`model` name the first attempt.
    pub failover: bool,
}

impl Decision {
    pub fn new(plan: &RoutePlan, attempt: &Attempt) -> Self {
        Self {
            provider: attempt.provider.clone(),
            kind: attempt.kind,
            model: attempt.upstream_model.clone(),
            request_model: plan.request_model.clone(),
            upstream_api: attempt.upstream_api,
            client_api: plan.client_api,
            stream: plan.stream,
            failover: plan.failover(),
        }
    }

    pub fn encode(&self) -> String {
        // Only strings, enums and bools: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `None` for anything the router did not write (the key is never client-controlled, but
    /// a reader must not trust a value it cannot parse).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RoutePlan {
        let attempt = |provider: &str, api| Attempt {
            provider: provider.into(),
            kind: ProviderKind::Anthropic,
            cluster: provider.into(),
            host: "api.anthropic.com".into(),
            path: "/v1/messages".into(),
            upstream_api: api,
            upstream_model: "claude-sonnet-4-5".into(),
            stream_options: false,
        };
        RoutePlan {
            route: "claude".into(),
            client_api: WireApi::OpenAiChat,
            request_model: "smart".into(),
            stream: true,
            include_usage: false,
            cluster: "anthropic".into(),
            attempts: vec![attempt("anthropic", WireApi::AnthropicMessages)],
        }
    }

    #[test]
    fn round_trips_through_its_encoding() {
        let plan = plan();
        let decision = Decision::new(&plan, &plan.attempts[0]);
        assert_eq!(decision.provider, "anthropic");
        assert_eq!(decision.request_model, "smart");
        assert_eq!(decision.upstream_api, WireApi::AnthropicMessages);
        assert!(!decision.failover);
        let encoded = decision.encode();
        assert!(encoded.contains("\"upstreamApi\":\"anthropic-messages\""), "{encoded}");
        assert_eq!(Decision::decode(encoded.as_bytes()), Some(decision));
    }

    #[test]
    fn failover_follows_the_plan() {
        let mut plan = plan();
        plan.attempts.push(plan.attempts[0].clone());
        assert!(Decision::new(&plan, &plan.attempts[0]).failover);
    }

    #[test]
    fn anything_else_decodes_to_none() {
        assert_eq!(Decision::decode(b"true"), None);
        assert_eq!(Decision::decode(b"{\"provider\":\"x\"}"), None);
        assert_eq!(Decision::decode(b""), None);
    }
}
