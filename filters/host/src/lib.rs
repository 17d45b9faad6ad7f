//! Host glue: the only crate that talks to the host (Envoy).
//!
//! A panic traps the whole VM (every later request on that worker), and the SDK's host calls
//! panic on host refusals and on non-UTF-8 header values. So this crate imports the proxy-wasm
//! ABI itself ([`abi`]: every call returns a `Result`, every value is bytes) and wraps it in
//! calls that turn failures into `None`/`false` plus a log line, so a filter decides what a
//! missing header or a refused write means instead of crashing. The SDK still provides the
//! callback dispatch (`proxy_wasm::traits`) and the allocator the host uses.
//!
//! [`root::PluginRoot`] removes the rest of the boilerplate: config parsing in `on_configure`,
//! a shared `Rc` of the compiled config per request, and a fail-closed context when the config
//! did not load.

pub mod abi;
pub mod http;
pub mod logger;
pub mod metrics;
pub mod root;
pub mod shared;
pub mod state;

pub use proxy_wasm;
