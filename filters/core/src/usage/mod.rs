//! The usage filter's logic: exact token usage per request, to metrics and the access log
//! ([`flow`]).

pub mod flow;

use crate::common::config::{self, ConfigError};
use crate::http::host::HttpFlow;
use serde::Deserialize;
use std::rc::Rc;

/// Larger JSON responses are passed on without usage accounting rather than buffered.
const DEFAULT_MAX_JSON_BYTES: usize = 8 << 20;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageConfigFile {
    /// Upper bound on a non-streaming response body kept to read its usage.
    #[serde(default)]
    max_json_bytes: Option<usize>,
}

/// The usage filter's compiled config.
#[derive(Debug)]
pub struct UsageConfig {
    pub max_json_bytes: usize,
}

impl UsageConfig {
    pub fn configure(bytes: Option<&[u8]>) -> Result<Rc<Self>, ConfigError> {
        let file: UsageConfigFile = config::parse(bytes)?;
        Ok(Rc::new(UsageConfig { max_json_bytes: file.max_json_bytes.unwrap_or(DEFAULT_MAX_JSON_BYTES) }))
    }

    pub fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        Box::new(flow::UsageFlow::new(Rc::clone(self)))
    }
}

#[cfg(test)]
mod flow_tests;
