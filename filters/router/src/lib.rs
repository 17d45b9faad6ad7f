//! portcullis.router — picks the provider for each request by model and speaks its API.
//!
//! Glue only: the per-request logic is `portcullis_core::router` (the listener-chain flow and
//! the per-attempt upstream flow, chosen by the config's `placement`).

use portcullis_core::common::config::ConfigError;
use portcullis_core::http::host::HttpFlow;
use portcullis_core::router::Router;
use portcullis_host::root::{self, Plugin};
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<RouterPlugin>();
}}

struct RouterPlugin(Rc<Router>);

impl Plugin for RouterPlugin {
    const NAME: &'static str = "portcullis.router";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(RouterPlugin(Rc::new(Router::configure(bytes)?)))
    }

    fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        self.0.flow()
    }
}
