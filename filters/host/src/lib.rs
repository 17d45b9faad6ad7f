//! Host glue: the only crate that calls `proxy_wasm::hostcalls`.
//!
//! The SDK's trait helpers (`self.get_http_request_header(..)` and friends) `unwrap()` host
//! errors, and a panic traps the whole VM (every request on that worker). These wrappers use the
//! fallible hostcalls and turn failures into `None`/`false` plus a log line, so a filter decides
//! what a missing header or a refused write means instead of crashing.
//!
//! [`root::PluginRoot`] removes the rest of the boilerplate: config parsing in `on_configure`,
//! a shared `Rc` of the compiled config per request, and a fail-closed context when the config
//! did not load.

pub mod http;
pub mod metrics;
pub mod root;
pub mod shared;
pub mod state;

pub use proxy_wasm;
