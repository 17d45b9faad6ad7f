//! Filter-state keys: the contract between the filters.
//!
//! The router decides, the other filters read. Decisions travel as Envoy filter state (set with
//! `set_property([KEY])`, which Envoy stores as `wasm.KEY`), never as request headers, because a
//! client can forge a header but not filter state. Access logs read the same values with
//! `%FILTER_STATE(wasm.portcullis.provider:PLAIN)%`.

/// Provider name, as configured in the router (`providers.<name>`).
pub const PROVIDER: &str = "portcullis.provider";
/// Provider kind (`openai`, `anthropic`, …): tells credentials which auth scheme to use.
pub const PROVIDER_KIND: &str = "portcullis.provider_kind";
/// Model name sent to the provider.
pub const MODEL: &str = "portcullis.model";
/// Model name the client asked for.
pub const REQUEST_MODEL: &str = "portcullis.request_model";
/// Route name.
pub const ROUTE: &str = "portcullis.route";
/// Wire API of the upstream request (`openai-chat`, `anthropic-messages`, …).
pub const UPSTREAM_API: &str = "portcullis.upstream_api";
/// Wire API the client spoke.
pub const CLIENT_API: &str = "portcullis.client_api";
/// `true` when the request asked for a streamed response.
pub const STREAM: &str = "portcullis.stream";
/// Tenant id, written by the credentials filter.
pub const TENANT: &str = "portcullis.tenant";
/// Token usage of the response as JSON, written by the usage filter.
pub const USAGE: &str = "portcullis.usage";

/// The name under which other filters read a key (`get_property(["filter_state", …])`).
pub fn envoy_name(key: &str) -> String {
    format!("wasm.{key}")
}

/// `true` when the request goes through Envoy's failover (aggregate cluster + retries) and the
/// router also runs as an upstream filter, once per attempt.
pub const FAILOVER: &str = "portcullis.failover";
/// The route plan as JSON, for the upstream (per-attempt) router.
pub const ROUTE_PLAN: &str = "portcullis.route_plan";
/// The client's original request body, for the upstream router: a retried attempt may see the
/// body an earlier attempt rewrote, so each attempt translates from this copy.
pub const REQUEST_BODY: &str = "portcullis.request_body";
/// Number of upstream attempts that served the request (1 without failover).
pub const ATTEMPTS: &str = "portcullis.attempts";
/// Written by the upstream router for the filters after it in the same attempt (credentials):
/// the provider of *this* attempt and its kind.
pub const ATTEMPT_PROVIDER: &str = "portcullis.attempt_provider";
pub const ATTEMPT_PROVIDER_KIND: &str = "portcullis.attempt_provider_kind";

/// Response headers the upstream router sets on each attempt's response so the downstream
/// filters know which provider answered. Trusted only when [`FAILOVER`] is set (otherwise a
/// provider could send them); the downstream router removes them before the client sees the
/// response, except `x-portcullis-provider` which it sets itself.
pub const RESPONSE_PROVIDER_HEADER: &str = "x-portcullis-provider";
pub const RESPONSE_MODEL_HEADER: &str = "x-portcullis-model";
pub const RESPONSE_API_HEADER: &str = "x-portcullis-upstream-api";
/// Response header telling the client how many attempts it took.
pub const RESPONSE_ATTEMPTS_HEADER: &str = "x-portcullis-attempts";
