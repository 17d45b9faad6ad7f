//! Host glue: the only crate that talks to the host (Envoy).
//!
//! A panic traps the whole VM (every later request on that worker), and the SDK's host calls
//! panic on host refusals and on non-UTF-8 header values. So this crate imports the proxy-wasm
//! ABI itself ([`abi`]: every call returns a `Result`, every value is bytes), implements core's
//! host port over it ([`envoy::EnvoyHost`]), and runs each filter's core flow from Envoy's
//! callbacks ([`root`]). The SDK still provides the callback dispatch (`proxy_wasm::traits`) and
//! the allocator the host uses.

pub mod abi;
pub mod envoy;
pub mod logger;
pub mod metrics;
pub mod roles;
pub mod root;

pub use proxy_wasm;
