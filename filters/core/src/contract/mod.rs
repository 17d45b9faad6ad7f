//! The contract between the filters, in one place.
//!
//! The router decides, the other filters read. Decisions travel as Envoy filter state (set with
//! `set_property([KEY])`, which Envoy stores as `wasm.KEY`), never as request headers, because a
//! client can forge a header but not filter state. Access logs read the same values with
//! `%FILTER_STATE(wasm.portcullis.provider:PLAIN)%`.
//!
//! | key (`wasm.` + …)            | written by                         | read by                                  |
//! |------------------------------|------------------------------------|------------------------------------------|
//! | `portcullis.decision`        | router (downstream), versioned      | credentials, prompt, usage (required)    |
//! | `portcullis.provider`, `.model`, `.request_model`, `.route`, `.attempts` | router | access logs      |
//! | `portcullis.route_plan`      | router, failover requests only, versioned | router and credentials upstream, prompt, usage |
//! | `portcullis.request_body`    | router, failover requests only      | router upstream (each attempt)           |
//! | `portcullis.attempt_provider`| router upstream, per attempt, versioned | credentials upstream                 |
//! | `portcullis.tenant`          | credentials                         | usage, prompt (bindings), access logs    |
//! | `portcullis.template`        | prompt                              | access logs                              |
//! | `portcullis.guardrail`       | prompt: what its guards did (never a matched value) | access logs              |
//! | `portcullis.answer_status`   | prompt, when it refused an answer   | router: the status to answer with        |
//! | `portcullis.usage`           | usage                               | access logs                              |
//!
//! Every record carries a version ([`record`]): the [`decision`], the route [`plan`] and the
//! [`attempt`] record. A filter that needs one and finds none, an unreadable one or one of
//! another version — no router before it, a cluster without the upstream filters, or a partial
//! upgrade of the WasmPlugins — fails closed and counts
//! `portcullis_contract_errors_total{filter,reason}` ([`record::ContractError`]); it never skips
//! its checks:
//! - no usable decision on a request the router routes (an LLM call, by method and path):
//!   credentials, prompt and usage answer 500 in the client's API shape ([`decision::require`]).
//!   Requests the router does not route need no record.
//! - a failover request whose plan the upstream router or credentials cannot read: that attempt
//!   is answered 500 and nothing reaches a provider.
//! - a failover answer whose provider cannot be told (no [`RESPONSE_PROVIDER_HEADER`], an
//!   unusable plan, a provider outside it — [`decision::answering`]): the prompt filter refuses
//!   the answer it cannot guard (a 502, or an error event in a stream), the usage filter charges
//!   what it reserved and records the request as estimated, and the router answers 502 instead
//!   of translating a body whose API it does not know.
//!
//! `reason` is `missing`, `unreadable`, `version` (the decision); `plan_missing`,
//! `plan_unreadable`, `plan_version`; `attempt_unreadable`, `attempt_version`;
//! `no_answering_provider`, `unknown_provider`.
//!
//! Two response headers cross between filters: [`RESPONSE_PROVIDER_HEADER`] from the upstream
//! to the downstream filters, trusted only on failover requests, and [`HOLD_ANSWER_HEADER`] from
//! the prompt filter to the router. The router removes both (every `x-portcullis-*` header)
//! before the client sees the response.
//!
//! Where the final request body is known (for a signer such as AWS SigV4, which must sign the
//! bytes that leave Envoy): after the last filter that may rewrite it. In the listener chain the
//! prompt filter runs after credentials, so a signed provider is signed per attempt by the
//! upstream placement (which runs after every downstream filter), never downstream.

pub mod attempt;
pub mod decision;
pub mod plan;
pub mod record;

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
/// The prompt template a request was filled from, written by the prompt filter.
pub const TEMPLATE: &str = "portcullis.template";
/// Token usage of the response as JSON, written by the usage filter.
pub const USAGE: &str = "portcullis.usage";
/// What the prompt filter's guards did, as JSON: policy, per phase the guards that fired with
/// their action and count, and which one blocked. Never a matched value.
pub const GUARDRAIL: &str = "portcullis.guardrail";
/// What the prompt filter's retrieval did, as JSON: policy, outcome, the injected documents' ids
/// and scores, the calls' duration. Never a document's text or the question.
pub const RAG: &str = "portcullis.rag";
/// The status of an answer the prompt filter refused (its body is then an error already in the
/// client's shape): the router answers with it instead of translating.
pub const ANSWER_STATUS: &str = "portcullis.answer_status";

/// The name under which other filters read a key (`get_property(["filter_state", …])`).
pub fn envoy_name(key: &str) -> String {
    format!("wasm.{key}")
}

/// The route plan ([`plan`]), for the upstream (per-attempt) router; set only when Envoy fails
/// over between providers (aggregate cluster + retries) and the router also runs upstream.
pub const ROUTE_PLAN: &str = "portcullis.route_plan";
/// The client's original request body, for the upstream router: a retried attempt may see the
/// body an earlier attempt rewrote, so each attempt translates from this copy.
pub const REQUEST_BODY: &str = "portcullis.request_body";
/// Number of upstream attempts that served the request (1 without failover).
pub const ATTEMPTS: &str = "portcullis.attempts";
/// Written by the upstream router for the filters after it in the same attempt (credentials):
/// the provider of *this* attempt ([`attempt::AttemptRecord`]; the rest is in [`ROUTE_PLAN`]).
pub const ATTEMPT_PROVIDER: &str = "portcullis.attempt_provider";

/// The response header the upstream router sets on each attempt's response so the downstream
/// filters know which provider answered (the rest follows from the [`ROUTE_PLAN`]). Trusted
/// only when the [`DECISION`] says `failover` (otherwise a provider could send it); the
/// downstream router removes every `x-portcullis-*` response header and sets this one itself
/// for the client.
pub const RESPONSE_PROVIDER_HEADER: &str = "x-portcullis-provider";
/// Response header the prompt filter adds when its guards may refuse a complete (JSON) answer:
/// the router, after it on the response path and allowed to hold response headers
/// (`allow_on_headers_stop_iteration`), then holds them until the body is complete, so a refusal
/// can still change the status. A header rather than filter state because the router already
/// reads a snapshot of the response headers: answers without it cost nothing. A provider
/// sending it only makes the router wait for the body; what the router obeys, the refusal
/// status, is filter state ([`ANSWER_STATUS`]).
pub const HOLD_ANSWER_HEADER: &str = "x-portcullis-hold-answer";
/// Response header listing the documents retrieval injected (a policy's `documentsHeader`). The
/// prompt filter removes a provider's copy and sets its own; the router, which removes every
/// other `x-portcullis-*` response header, keeps this one only when a retrieval ran ([`RAG`]).
pub const RAG_DOCUMENTS_HEADER: &str = "x-portcullis-rag-documents";
/// Response header telling the client how many attempts it took.
pub const RESPONSE_ATTEMPTS_HEADER: &str = "x-portcullis-attempts";
