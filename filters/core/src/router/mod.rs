//! The router filter's logic: the route table (model → provider), the plan for one request,
//! and the per-request flows — [`flow`] in the listener's chain, [`attempt`] once per failover
//! attempt as an upstream filter — with the response rendering they share ([`response`]).

pub mod attempt;
pub mod flow;
pub mod plan;
pub mod response;
pub mod route;

use crate::common::config::{self, ConfigError};
use crate::http::host::HttpFlow;
use route::{Placement, RouteTable, RouterConfig};
use std::rc::Rc;

/// The router's compiled config.
pub struct Router {
    pub table: RouteTable,
    pub placement: Placement,
}

impl Router {
    pub fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: RouterConfig = config::parse(bytes)?;
        let placement = config.placement;
        Ok(Router { table: RouteTable::compile(config)?, placement })
    }

    /// The flow for one request.
    pub fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        match self.placement {
            Placement::Downstream => Box::new(flow::RouterFlow::new(Rc::clone(self))),
            Placement::Upstream => Box::new(attempt::AttemptFlow::default()),
        }
    }
}

#[cfg(test)]
mod flow_tests;
