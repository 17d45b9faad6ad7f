//! The prompt filter, per request: decorators on the provider-native body.
//!
//! Runs after the router, so the body is already in the provider's format; the router's
//! record names that format (and is required on routed requests). The body is parsed once into
//! the format-neutral [`RequestView`], the policies run on it, and it is written back only if
//! one of them changed something.

use super::decorate::{self, PromptConfig};
use crate::common::error::{ClientError, ErrorKind};
use crate::contract::decision;
use crate::http::host::{self, Flow, Host, HttpFlow, Side};
use crate::llm::api::WireApi;
use crate::llm::view::{RequestView, ViewError};
use std::rc::Rc;

pub struct PromptFlow {
    config: Rc<PromptConfig>,
    /// Set when this request's body is to be decorated.
    upstream_api: Option<WireApi>,
    client_api: Option<WireApi>,
}

impl PromptFlow {
    pub fn new(config: Rc<PromptConfig>) -> Self {
        Self { config, upstream_api: None, client_api: None }
    }
}

impl HttpFlow for PromptFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        if self.config.decorators.is_empty() || end_of_stream {
            return Flow::Continue;
        }
        let decision = match decision::require(host, "prompt") {
            Ok(decision) => decision,
            Err((err, shape)) => {
                host::send_error(host, &err, shape);
                return Flow::Pause;
            }
        };
        self.upstream_api = decision.as_ref().map(|d| d.upstream_api);
        self.client_api = decision.map(|d| d.client_api);
        if self.upstream_api.is_some() {
            host.remove_header(Side::Request, "content-length");
        }
        Flow::Continue
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(api) = self.upstream_api else {
            return Flow::Continue;
        };
        if !end_of_stream {
            return Flow::Pause;
        }
        let body = host.body(Side::Request, size).unwrap_or_default();
        let decorated = RequestView::parse(api, &body).and_then(|mut view| {
            decorate::apply(&mut view, &self.config.decorators)?;
            Ok(view.into_bytes())
        });
        match decorated {
            Ok(Some(new_body)) => {
                host.replace_body(Side::Request, size, &new_body);
                Flow::Continue
            }
            Ok(None) => Flow::Continue,
            Err(ViewError(why)) => {
                log::debug!("{why}");
                let shape = self.client_api.unwrap_or(api).error_shape();
                host::send_error(host, &ClientError::new(ErrorKind::InvalidRequest, why), shape);
                Flow::Pause
            }
        }
    }
}
