//! The router's decision as the filters after it read it: one filter-state value.
//!
//! Every host call that returns data costs a crossing into the VM (≈ 0.3–0.7 µs on Envoy 1.40,
//! see the benchmark's cost table), so the fields the other filters need travel together as one
//! JSON record ([`DECISION`](crate::contract::DECISION)) instead of one key each. The
//! public keys meant for access logs (`provider`, `model`, `request_model`, `route`) are still
//! written one by one: `%FILTER_STATE(wasm.portcullis.provider:PLAIN)%` cannot read into JSON.

use super::plan;
pub use super::record::RecordError;
use super::record::{self, ContractError};
use crate::common::error::{ClientError, ErrorKind};
use crate::http::host::Host;
use crate::llm::api::{self, ClientRequest, ErrorShape, WireApi};
use crate::llm::provider::ProviderKind;
use crate::router::plan::{Attempt, RoutePlan, TemplateSelection};
use serde::{Deserialize, Serialize};

/// The record's format version. A reader that finds another (a partial upgrade of the filters)
/// refuses the request rather than guess at fields. 2: `route` and `template`.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// [`VERSION`] of the writer.
    #[serde(rename = "v")]
    pub version: u32,
    /// Provider name (`providers.<name>` in the router's config).
    pub provider: String,
    /// Its kind: which auth scheme the credentials filter uses.
    pub kind: ProviderKind,
    /// Model name sent to the provider.
    pub model: String,
    /// `model` as metrics label it (`other` for a name the config does not spell out).
    pub model_label: String,
    /// Model name the client asked for.
    pub request_model: String,
    /// Route name (what prompt policies bind to).
    pub route: String,
    /// The prompt template the client chose, if any (filled by the prompt filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateSelection>,
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
            version: VERSION,
            provider: attempt.provider.clone(),
            kind: attempt.kind,
            model: attempt.upstream_model.clone(),
            model_label: attempt.model_label.clone(),
            request_model: plan.request_model.clone(),
            route: plan.route.clone(),
            template: plan.template.clone(),
            upstream_api: attempt.upstream_api,
            client_api: plan.client_api,
            stream: plan.stream,
            failover: plan.failover(),
        }
    }

    /// The API of the request body the filters after the router see: the upstream API, or the
    /// client's under failover (each attempt is translated upstream, after them).
    pub fn body_api(&self) -> WireApi {
        if self.failover {
            self.client_api
        } else {
            self.upstream_api
        }
    }

    pub fn encode(&self) -> String {
        // Only strings, enums and bools: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a record. The key is never client-controlled, but a reader must not trust a value
    /// it cannot parse, nor one of another version.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        record::decode(bytes, VERSION)
    }

    /// The record in filter state ([`DECISION`](crate::contract::DECISION)).
    pub fn read(host: &mut dyn Host) -> Result<Self, RecordError> {
        record::read(host, crate::contract::DECISION, VERSION)
    }
}

/// Who answered a request: the provider and what its attempt speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answering {
    pub provider: String,
    /// The API of the answer's body.
    pub api: WireApi,
    /// The model sent to that provider (what it bills).
    pub model: String,
    pub model_label: String,
}

/// Who answered. Without failover, the decision's provider. With failover, the provider Envoy
/// ended with, known only from the upstream router's response header (trusted only then: a
/// provider could send it) and looked up in the route plan.
///
/// Fails closed: a failover answer whose provider cannot be told (no header, an unreadable plan
/// or one of another version, a provider outside the plan) is counted in
/// `portcullis_contract_errors_total{filter,reason}` and is an error the caller must act on —
/// refuse the answer, charge what was reserved — never a reason to skip its checks. `Err`
/// carries the message for the client.
pub fn answering(host: &mut dyn Host, decision: &Decision, filter: &str) -> Result<Answering, String> {
    if !decision.failover {
        return Ok(Answering {
            provider: decision.provider.clone(),
            api: decision.upstream_api,
            model: decision.model.clone(),
            model_label: decision.model_label.clone(),
        });
    }
    attribute(host).map_err(|e| e.count(host, filter))
}

fn attribute(host: &mut dyn Host) -> Result<Answering, ContractError> {
    let provider = host
        .header(crate::http::host::Side::Response, crate::contract::RESPONSE_PROVIDER_HEADER)
        .ok_or(ContractError::NoAnsweringProvider)?;
    let plan = plan::read(host).map_err(ContractError::Plan)?;
    let attempt = plan.attempt_for(&provider).ok_or(ContractError::UnknownProvider)?;
    Ok(Answering {
        api: attempt.upstream_api,
        model: attempt.upstream_model.clone(),
        model_label: attempt.model_label.clone(),
        provider,
    })
}

/// The router's record for this request, for a filter that needs it.
///
/// Fails closed: on a request the router would route (an LLM call, by method and path) a
/// missing, unreadable or other-version record is an error — a 500 in the client's API shape,
/// counted in `portcullis_contract_errors_total{filter,reason}` — never a reason to skip the
/// filter's checks. `Ok(None)`: a request the router does not route (another path), or one it
/// answered itself. `filter` names the reader in the metric and the log.
pub fn require(host: &mut dyn Host, filter: &str) -> Result<Option<Decision>, (ClientError, ErrorShape)> {
    let failure = match Decision::read(host) {
        Ok(decision) => return Ok(Some(decision)),
        Err(e) => e,
    };
    // Only now is the request's path read: the common case costs no extra host call.
    let method = host.header(crate::http::host::Side::Request, ":method").unwrap_or_default();
    let path = host.header(crate::http::host::Side::Request, ":path").unwrap_or_default();
    let shape = match api::classify(&method, &path) {
        // Not a call the router routes: nothing was expected.
        Some(ClientRequest::ListModels(_)) | None if failure == RecordError::Missing => return Ok(None),
        Some(request) => request.api().error_shape(),
        None => ErrorShape::OpenAi,
    };
    let message = ContractError::Decision(failure).count(host, filter);
    Err((ClientError::new(ErrorKind::Internal, message), shape))
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
            model_label: "claude-sonnet-4-5".into(),
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
            template: None,
            strip_selection: false,
            base64_embeddings: false,
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
        assert!(encoded.starts_with("{\"v\":2,"), "{encoded}");
        assert_eq!(Decision::decode(encoded.as_bytes()), Ok(decision));
    }

    #[test]
    fn failover_follows_the_plan() {
        let mut plan = plan();
        plan.attempts.push(plan.attempts[0].clone());
        assert!(Decision::new(&plan, &plan.attempts[0]).failover);
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        assert_eq!(Decision::decode(b"true"), Err(RecordError::Unreadable));
        assert_eq!(Decision::decode(b""), Err(RecordError::Unreadable));
        assert_eq!(Decision::decode(b"{\"provider\":\"x\"}"), Err(RecordError::Version(0)));
        assert_eq!(Decision::decode(b"{\"v\":3,\"provider\":\"x\"}"), Err(RecordError::Version(3)));
        assert_eq!(Decision::decode(b"{\"v\":2,\"provider\":\"x\"}"), Err(RecordError::Unreadable));
        assert_eq!(Decision::decode(b"{\"v\":1,\"provider\":\"x\"}"), Err(RecordError::Version(1)));
    }

    #[test]
    fn a_routed_request_without_a_record_fails_closed() {
        use crate::http::fake_host::{FakeHost, Request};
        let mut host = FakeHost::new();
        let mut flow = Probe(None);
        host.exchange(
            &mut flow,
            Request::json("/v1/messages", "{}"),
            crate::http::fake_host::Response::new(200),
        );
        let (err, shape) = flow.0.unwrap().unwrap_err();
        assert_eq!((err.status(), shape), (500, ErrorShape::Anthropic));
        assert_eq!(
            host.counters.get("portcullis_contract_errors_total;filter=test;reason=missing"),
            Some(&1)
        );

        // Another path: nothing expected, nothing counted.
        let mut host = FakeHost::new();
        let mut flow = Probe(None);
        host.exchange(&mut flow, Request::new("GET", "/healthz"), crate::http::fake_host::Response::new(200));
        assert_eq!(flow.0.unwrap(), Ok(None));
        assert!(host.counters.is_empty());

        // A record of another version.
        let mut host = FakeHost::new();
        host.filter_state.insert(crate::contract::DECISION.into(), b"{\"v\":7}".to_vec());
        let mut flow = Probe(None);
        host.exchange(
            &mut flow,
            Request::json("/v1/chat/completions", "{}"),
            crate::http::fake_host::Response::new(200),
        );
        let (err, shape) = flow.0.unwrap().unwrap_err();
        assert_eq!((err.status(), shape), (500, ErrorShape::OpenAi));
        assert!(err.message.contains("version 7"), "{}", err.message);
    }

    type Required = Result<Option<Decision>, (ClientError, ErrorShape)>;
    struct Probe(Option<Required>);
    impl crate::http::host::HttpFlow for Probe {
        fn on_request_headers(&mut self, host: &mut dyn Host, _: bool) -> crate::http::host::Flow {
            self.0 = Some(require(host, "test"));
            crate::http::host::Flow::Continue
        }
    }
}
