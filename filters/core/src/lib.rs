//! Portcullis core: everything the four filters know, with no proxy-wasm in sight.
//!
//! The filter crates are thin glue: a proxy-wasm callback reads bytes from the host, hands them
//! to a function here, and writes the answer back. Keeping the logic here means it is tested
//! natively and fast (`cargo test -p portcullis-core`), and a reader finds any behaviour in two
//! hops: the filter's glue, then the module named after the concept.
//!
//! Modules, by concept:
//! - [`config`]: JSON plugin config parsing with field-path errors; each filter's config type
//!   lives beside its logic ([`route`], [`credential`], [`decorate`], [`usage`]).
//! - [`api`]: which wire API a request speaks (OpenAI chat, Anthropic Messages, Gemini …).
//! - [`provider`]: provider facts: wire API, default host, paths, auth scheme.
//! - [`route`]: the compiled route table: model name → provider + upstream model.
//! - [`plan`]: the router's decision for one request (path, host, cluster, body).
//! - [`decision`]: that decision as the filters after the router read it (one filter-state value).
//! - [`error`]: errors to clients, rendered in the client's own API shape.
//! - [`sse`]: incremental Server-Sent Events parsing, robust to any chunk split.
//! - [`usage`]: token usage reported by providers, JSON and streaming.
//! - [`hidden_usage`]: usage the gateway asks an OpenAI stream for on the client's behalf.
//! - [`decorate`]: prompt decorators (messages added to every request).
//! - [`credential`]: provider credentials and the header scheme each provider expects.
//! - [`tenant`]: who is calling (virtual keys, stored hashed; trusted identity headers) and
//!   which providers and models they may use.
//! - [`keypool`]: several keys per provider, round robin, cooldown after 401/429.
//! - [`metric`]: metric names that carry labels through Envoy's tag extraction.
//! - [`state`]: the filter-state keys that form the contract between the filters.
//! - [`wire`]: typed wire formats of the chat APIs (OpenAI, Anthropic, Gemini), unknown fields
//!   kept.
//! - [`translate`]: requests, responses, errors and SSE streams translated between chat APIs.

pub mod api;
pub mod config;
pub mod credential;
pub mod decision;
pub mod decorate;
pub mod error;
pub mod hidden_usage;
pub mod keypool;
pub mod metric;
pub mod plan;
pub mod provider;
pub mod route;
pub mod sse;
pub mod state;
pub mod tenant;
pub mod translate;
pub mod usage;
pub mod wire;
