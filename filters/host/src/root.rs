//! The root context shared by the four filters: load config once, run each request's flow.

use crate::envoy::{self, EnvoyHost};
use crate::logger;
use portcullis_core::common::config::ConfigError;
use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::http::host::{self as port, Flow, HttpFlow};
use portcullis_core::llm::api::ErrorShape;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};
use std::rc::Rc;

/// A filter's compiled configuration, and the flow it runs per request.
pub trait Plugin: 'static {
    /// Used in log lines (`portcullis.router`).
    const NAME: &'static str;

    /// Parses and compiles the plugin config. Warnings are logged by the implementation.
    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// The core flow that handles one request.
    fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow>;
}

/// Installs the logger and the root context for `P`. Call from `proxy_wasm::main!`.
pub fn install<P: Plugin>() {
    logger::install();
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(PluginRoot::<P> { plugin: None }) });
}

pub struct PluginRoot<P> {
    plugin: Option<Rc<P>>,
}

impl<P: Plugin> Context for PluginRoot<P> {}

impl<P: Plugin> RootContext for PluginRoot<P> {
    fn on_configure(&mut self, _size: usize) -> bool {
        logger::follow_host_level();
        let bytes = envoy::plugin_configuration();
        match P::configure(bytes.as_deref()) {
            Ok(plugin) => {
                self.plugin = Some(Rc::new(plugin));
                log::info!("configured");
                true
            }
            Err(err) => {
                // One line, naming the field: what the operator greps Envoy's log for.
                log::error!("{err}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        logger::follow_host_level();
        Some(match &self.plugin {
            Some(plugin) => Box::new(FlowContext { flow: plugin.flow() }),
            None => Box::new(Unconfigured { name: P::NAME }),
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

fn action(flow: Flow) -> Action {
    match flow {
        Flow::Continue => Action::Continue,
        Flow::Pause => Action::Pause,
    }
}

/// Hands Envoy's callbacks to a core flow; decides nothing.
struct FlowContext {
    flow: Box<dyn HttpFlow>,
}

impl HttpContext for FlowContext {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        action(self.flow.on_request_headers(&mut EnvoyHost, end_of_stream))
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        action(self.flow.on_request_body(&mut EnvoyHost, size, end_of_stream))
    }

    fn on_http_response_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        action(self.flow.on_response_headers(&mut EnvoyHost, end_of_stream))
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        action(self.flow.on_response_body(&mut EnvoyHost, size, end_of_stream))
    }

    fn on_log(&mut self) {
        self.flow.on_log(&mut EnvoyHost);
    }
}

impl Context for FlowContext {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        self.flow.on_http_call_response(&mut EnvoyHost, token, body_size);
    }
}

/// Fails closed: a filter whose config did not load must not let requests through unchecked.
/// (Envoy normally refuses the plugin first; this covers a VM that lost its config.)
struct Unconfigured {
    name: &'static str,
}

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        log::error!("{}: request refused, plugin is not configured", self.name);
        let err = ClientError::new(ErrorKind::Unavailable, "gateway filter is not configured");
        port::send_error(&mut EnvoyHost, &err, ErrorShape::OpenAi);
        Action::Pause
    }
}
