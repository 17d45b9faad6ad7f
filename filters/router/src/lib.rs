//! portcullis.router — picks the provider for each request by model and speaks its API.
//!
//! Glue only: the per-request logic is `portcullis_core::router` (the listener-chain flow and
//! the per-attempt upstream flow, chosen by the config's `placement`).

use portcullis_host::{roles, root};

proxy_wasm::main! {{
    root::install(&roles::ROUTER);
}}
