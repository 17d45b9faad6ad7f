//! portcullis.prompt — templates, decorators, parameters and guardrails on the prompt and answer.
//!
//! Glue only: the per-request logic is `portcullis_core::prompt`.

use portcullis_host::{roles, root};

proxy_wasm::main! {{
    root::install(&roles::PROMPT);
}}
