//! The prompt filter's logic: decorators ([`decorate`]) and the per-request [`flow`].

pub mod decorate;
pub mod flow;

use crate::common::config::{self, ConfigError};
use crate::http::host::HttpFlow;
use decorate::PromptConfig;
use std::rc::Rc;

/// The prompt filter's compiled config.
pub struct Prompt {
    config: Rc<PromptConfig>,
}

impl Prompt {
    pub fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(Prompt { config: Rc::new(config::parse(bytes)?) })
    }

    pub fn flow(&self) -> Box<dyn HttpFlow> {
        Box::new(flow::PromptFlow::new(Rc::clone(&self.config)))
    }
}

#[cfg(test)]
mod flow_tests;
