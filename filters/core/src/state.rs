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
