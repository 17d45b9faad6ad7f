//! portcullis.usage — exact token usage per tenant, provider and model.
//!
//! Glue only: the per-request logic is `portcullis_core::usage`.

use portcullis_core::common::config::ConfigError;
use portcullis_core::http::host::HttpFlow;
use portcullis_core::usage::UsageConfig;
use portcullis_host::root::{self, Plugin};
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Usage>();
}}

struct Usage(Rc<UsageConfig>);

impl Plugin for Usage {
    const NAME: &'static str = "portcullis.usage";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(Usage(UsageConfig::configure(bytes)?))
    }

    fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        self.0.flow()
    }
}
