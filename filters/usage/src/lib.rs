//! portcullis.usage — exact token usage per tenant, provider and model.
//!
//! Glue only: the per-request logic is `portcullis_core::usage`.

use portcullis_host::{roles, root};

proxy_wasm::main! {{
    root::install(&roles::USAGE);
}}
