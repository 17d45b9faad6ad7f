//! Portcullis core: everything the four filters know, with no proxy-wasm in sight.
//!
//! The filter crates are thin glue: a proxy-wasm callback reads bytes from the host, hands them
//! to a function here, and writes the answer back. Keeping the logic here means it is tested
//! natively and fast (`cargo test -p portcullis-core`), and a reader finds any behaviour in two
//! hops: the filter's glue, then the module named after the concept.
//!
//! Each filter's per-request logic is an [`http::host::HttpFlow`]: a state machine that sees
//! Envoy only through the small [`http::host::Host`] port (headers, body, filter state, shared
//! data, clock, local replies, metrics) and decides everything; the cdylibs only hand Envoy's
//! callbacks to it. [`http::fake_host::FakeHost`] runs a flow through a whole exchange in memory
//! and records every host call, so flows are tested natively, host-call sequence included.
//!
//! Modules, by concern:
//! - [`llm`]: the LLM APIs — which API a request speaks ([`llm::api`]), provider facts
//!   ([`llm::provider`]), model names ([`llm::model_name`]), typed wire formats ([`llm::wire`]),
//!   the format-neutral view every policy works on ([`llm::view`]), translation between formats,
//!   JSON and streams ([`llm::translate`]), and token usage ([`llm::usage`]).
//! - [`router`]: the route table (model → provider), the plan for one request, and the router's
//!   flows (listener chain and per failover attempt).
//! - [`access`]: tenants and virtual keys, scopes, provider credentials and key pools, and the
//!   credentials filter's flow.
//! - [`prompt`]: prompt decorators and the prompt filter's flow.
//! - [`usage`]: token accounting per request, to metrics and the access log.
//! - [`contract`]: what the filters pass each other (filter-state keys, the versioned router
//!   record, who writes and who reads).
//! - [`http`]: the host port, its in-memory twin, Server-Sent Events.
//! - [`common`]: config parsing with field paths, errors in the client's API shape, metric
//!   names that carry labels.

// Under wasm-bindgen-test (wasm32-unknown-unknown, `make test-core`) every `#[test]` in the crate
// is a `#[wasm_bindgen_test]`: e2e/wasm/test-attr.
#[cfg(all(test, target_arch = "wasm32", target_os = "unknown"))]
#[macro_use]
extern crate portcullis_wasm_test;

pub mod access;
pub mod common;
pub mod contract;
pub mod http;
pub mod llm;
pub mod prompt;
pub mod router;
pub mod usage;
