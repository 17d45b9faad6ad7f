//! portcullis.prompt — decorators (and, later, guardrails) on the provider-native body.
//!
//! Glue only: the per-request logic is `portcullis_core::prompt`.

use portcullis_core::common::config::ConfigError;
use portcullis_core::http::host::HttpFlow;
use portcullis_core::prompt::Prompt;
use portcullis_host::root::{self, Plugin};
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<PromptPlugin>();
}}

struct PromptPlugin(Rc<Prompt>);

impl Plugin for PromptPlugin {
    const NAME: &'static str = "portcullis.prompt";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(PromptPlugin(Prompt::configure(bytes)?))
    }

    fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        self.0.flow()
    }
}
