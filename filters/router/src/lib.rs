//! portcullis.router — picks the provider for each request by model and speaks its API.
//!
//! Two placements of the same .wasm:
//! - **downstream** (listener chain, first of the four): buffers the body (the model is in it;
//!   needs `allow_on_headers_stop_iteration`), plans the route in core
//!   (`portcullis_core::router::plan`), applies it (`:path`, `:authority`, cluster header,
//!   `clear_route_cache`, filter state, translated body) and translates the response back
//!   into the client's API, streaming included. See [`downstream`].
//! - **upstream** (on a failover aggregate cluster): Envoy retries a failed attempt on the next
//!   provider; this instance runs once per attempt and re-targets the request at the provider
//!   Envoy picked. See [`upstream`].
//!
//! Errors are answered locally in the client's API shape and never reach an upstream.

mod downstream;
mod response;
mod upstream;

use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::router::route::{Placement, RouteTable, RouterConfig};
use portcullis_host::root::{self, Plugin};
use proxy_wasm::traits::HttpContext;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Router>();
}}

pub struct Router {
    table: RouteTable,
    placement: Placement,
}

impl Plugin for Router {
    const NAME: &'static str = "portcullis.router";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: RouterConfig = config::parse(bytes)?;
        let placement = config.placement;
        Ok(Router { table: RouteTable::compile(config)?, placement })
    }

    fn http_context(plugin: Rc<Self>, context_id: u32) -> Box<dyn HttpContext> {
        match plugin.placement {
            Placement::Downstream => Box::new(downstream::RouterRequest::new(plugin, context_id)),
            Placement::Upstream => Box::new(upstream::AttemptRequest::new(context_id)),
        }
    }
}
