//! portcullis.prompt — decorators (and, later, guardrails) on the provider-native body.
//!
//! Runs after the router, so the body is already in the provider's format; the upstream API
//! comes from filter state and `portcullis_core::prompt::decorate` places each decorator accordingly.

use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::llm::api::WireApi;
use portcullis_core::prompt::decorate::{self, PromptConfig};
use portcullis_host::http::{self, Side};
use portcullis_host::root::{self, Plugin};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Prompt>();
}}

struct Prompt {
    config: PromptConfig,
}

impl Plugin for Prompt {
    const NAME: &'static str = "portcullis.prompt";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(Prompt { config: config::parse(bytes)? })
    }

    fn http_context(plugin: Rc<Self>, context_id: u32) -> Box<dyn HttpContext> {
        Box::new(PromptRequest { plugin, context_id, upstream_api: None, client_api: None })
    }
}

struct PromptRequest {
    plugin: Rc<Prompt>,
    context_id: u32,
    /// Set when this request's body is to be decorated.
    upstream_api: Option<WireApi>,
    client_api: Option<WireApi>,
}

impl Context for PromptRequest {}

impl HttpContext for PromptRequest {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        if self.plugin.config.decorators.is_empty() || end_of_stream {
            return Action::Continue;
        }
        let decision = filter_state::decision();
        self.upstream_api = decision.as_ref().map(|d| d.upstream_api);
        self.client_api = decision.map(|d| d.client_api);
        if self.upstream_api.is_some() {
            http::remove_header(Side::Request, "content-length");
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(api) = self.upstream_api else {
            return Action::Continue;
        };
        if !end_of_stream {
            return Action::Pause;
        }
        let body = http::body(Side::Request, body_size).unwrap_or_default();
        let decorated = serde_json::from_slice(&body).map_err(|e| e.to_string()).and_then(|mut value| {
            match decorate::apply(api, &mut value, &self.plugin.config.decorators) {
                Ok(true) => serde_json::to_vec(&value).map(Some).map_err(|e| e.to_string()),
                Ok(false) => Ok(None),
                Err(shape) => Err(shape.0.to_string()),
            }
        });
        match decorated {
            Ok(Some(new_body)) => {
                http::replace_body(Side::Request, body_size, &new_body);
                Action::Continue
            }
            Ok(None) => Action::Continue,
            Err(why) => {
                log::debug!("portcullis.prompt #{}: {why}", self.context_id);
                let shape = self.client_api.unwrap_or(api).error_shape();
                http::send_error(&ClientError::new(ErrorKind::InvalidRequest, why), shape);
                Action::Pause
            }
        }
    }
}
