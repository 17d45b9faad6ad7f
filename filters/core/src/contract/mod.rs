//! Filter-state keys: the contract between the filters.
//!
//! The router decides, the other filters read. Decisions travel as Envoy filter state (set with
//! `set_property([KEY])`, which Envoy stores as `wasm.KEY`), never as request headers, because a
//! client can forge a header but not filter state. Access logs read the same values with
//! `%FILTER_STATE(wasm.portcullis.provider:PLAIN)%`.

pub mod decision;

/// Provider name, as configured in the router (`providers.<name>`).
pub const PROVIDER: &str = "portcullis.provider";
/// Model name sent to the provider.
pub const MODEL: &str = "portcullis.model";
/// Model name the client asked for.
pub const REQUEST_MODEL: &str = "portcullis.request_model";
/// Route name.
pub const ROUTE: &str = "portcullis.route";
/// Everything the filters after the router need, as one JSON record
/// ([`Decision`](crate::contract::decision::Decision)): one host call per reader instead of one per field.
pub const DECISION: &str = "portcullis.decision";
/// Tenant id, written by the credentials filter.
pub const TENANT: &str = "portcullis.tenant";
/// Token usage of the response as JSON, written by the usage filter.
pub const USAGE: &str = "portcullis.usage";

/// The name under which other filters read a key (`get_property(["filter_state", …])`).
pub fn envoy_name(key: &str) -> String {
    format!("wasm.{key}")
}

/// The route plan as JSON, for the upstream (per-attempt) router; set only when Envoy fails
/// over between providers (aggregate cluster + retries) and the router also runs upstream.
pub const ROUTE_PLAN: &str = "portcullis.route_plan";
/// The client's original request body, for the upstream router: a retried attempt may see the
/// body an earlier attempt rewrote, so each attempt translates from this copy.
pub const REQUEST_BODY: &str = "portcullis.request_body";
/// Number of upstream attempts that served the request (1 without failover).
pub const ATTEMPTS: &str = "portcullis.attempts";
/// Written by the upstream router for the filters after it in the same attempt (credentials):
/// the provider of *this* attempt (the rest is in [`ROUTE_PLAN`]).
pub const ATTEMPT_PROVIDER: &str = "portcullis.attempt_provider";

/// Response headers the upstream router sets on each attempt's response so the downstream
/// filters know which provider answered. Trusted only when the [`DECISION`] says `failover` (otherwise a
/// provider could send them); the downstream router removes them before the client sees the
/// response, except `x-portcullis-provider` which it sets itself.
pub const RESPONSE_PROVIDER_HEADER: &str = "x-portcullis-provider";
pub const RESPONSE_MODEL_HEADER: &str = "x-portcullis-model";
pub const RESPONSE_API_HEADER: &str = "x-portcullis-upstream-api";
/// Response header telling the client how many attempts it took.
pub const RESPONSE_ATTEMPTS_HEADER: &str = "x-portcullis-attempts";
