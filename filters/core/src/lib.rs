//! Portcullis core: everything the four filters know, with no proxy-wasm in sight.
//!
//! The filter crates are thin glue: a proxy-wasm callback reads bytes from the host, hands them
//! to a function here, and writes the answer back. Keeping the logic here means it is tested
//! natively and fast (`cargo test -p portcullis-core`), and a reader finds any behaviour in two
//! hops: the filter's glue, then the module named after the concept.
//!
//! Modules, by concern:
//! - [`llm`]: the LLM APIs — which API a request speaks ([`llm::api`]), provider facts
//!   ([`llm::provider`]), typed wire formats ([`llm::wire`]), translation between them, JSON and
//!   streams ([`llm::translate`]), and token usage as providers report it ([`llm::usage`]).
//! - [`router`]: the route table (model → provider) and the plan for one request.
//! - [`access`]: tenants and virtual keys, scopes, provider credentials and key pools.
//! - [`prompt`]: prompt decorators.
//! - [`usage`]: token usage per request, to metrics and the access log.
//! - [`contract`]: the filter-state keys and records the filters pass to each other.
//! - [`http`]: Server-Sent Events.
//! - [`common`]: config parsing with field paths, errors in the client's API shape, metric
//!   names that carry labels.

pub mod access;
pub mod common;
pub mod contract;
pub mod http;
pub mod llm;
pub mod prompt;
pub mod router;
pub mod usage;
