//! portcullis_suite.wasm — the router, credentials, prompt and usage filters in one module.
//!
//! Each plugin of the chain still has its own config, place and failure policy; its `root_id`
//! (`portcullis.router`, `portcullis.credentials`, `portcullis.prompt`, `portcullis.usage`)
//! picks the role. Plugins that also share a `vm_id` and `vm_config` share one VM per worker
//! instead of four (README, "One VM for the suite").

use portcullis_host::{roles, root};

proxy_wasm::main! {{
    root::install_suite(&roles::ALL);
}}
