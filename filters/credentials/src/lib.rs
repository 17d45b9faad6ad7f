//! portcullis.credentials — who is calling, what they may use, and the provider key to send.
//!
//! Glue only: the per-request logic is `portcullis_core::access::flow`. Provider keys come from
//! the VM's environment (`vm_config.environment_variables`), read once at configure.

use portcullis_host::{roles, root};

proxy_wasm::main! {{
    root::install(&roles::CREDENTIALS);
}}
