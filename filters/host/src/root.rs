//! The root context shared by the four filters (and the suite module): load config once, run
//! each request's flow.

use crate::abi;
use crate::envoy::{self, EnvoyHost};
use crate::logger;
use portcullis_core::common::config::ConfigError;
use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::http::host::{self as port, Flow, HttpFlow};
use portcullis_core::llm::api::ErrorShape;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};
use std::cell::Cell;

/// Makes the flow for one request, from a role's compiled config.
pub type Flows = Box<dyn Fn() -> Box<dyn HttpFlow>>;

/// A filter's role: its name (the plugin's `root_id`, and log lines) and how it compiles its
/// config into the flow it runs per request. Warnings are logged by `configure`.
pub struct Role {
    pub name: &'static str,
    pub configure: fn(Option<&[u8]>) -> Result<Flows, ConfigError>,
}

/// How often each root context asks Envoy for its log level ([`logger::follow_host_level`]).
const LOG_LEVEL_REFRESH_MS: u32 = 1000;

thread_local! {
    /// The roles this module serves, set once by `install*` (the SDK takes a plain `fn` as the
    /// root context factory, so it cannot capture them).
    static ROLES: Cell<&'static [Role]> = const { Cell::new(&[]) };
}

/// Installs the logger and a root context running `role`. Call from `proxy_wasm::main!`.
pub fn install(role: &'static Role) {
    install_suite(std::slice::from_ref(role));
}

/// Installs the logger and root contexts that each run one of `roles`, chosen by the plugin's
/// `root_id` when it is configured: one module (and, with one `vm_id`, one VM per worker) serves
/// every filter of the chain, each still its own plugin with its own config and place. A module
/// with one role runs it whatever the `root_id`.
pub fn install_suite(roles: &'static [Role]) {
    logger::install();
    ROLES.with(|r| r.set(roles));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        let roles = ROLES.with(Cell::get);
        let role = match roles {
            [only] => Some(only),
            _ => None,
        };
        Box::new(RoleRoot { roles, role, flows: None })
    });
}

struct RoleRoot {
    roles: &'static [Role],
    /// Known from the start in a filter's own module; from `root_id` in the suite.
    role: Option<&'static Role>,
    flows: Option<Flows>,
}

impl RoleRoot {
    fn role(&mut self) -> Result<&'static Role, String> {
        if let Some(role) = self.role {
            return Ok(role);
        }
        let root_id = envoy::plugin_root_id().unwrap_or_default();
        let role = self.roles.iter().find(|r| r.name == root_id).ok_or_else(|| {
            let names: Vec<&str> = self.roles.iter().map(|r| r.name).collect();
            format!(
                "config `root_id`: `{root_id}` is not a role of this module (one of: {})",
                names.join(", ")
            )
        })?;
        self.role = Some(role);
        Ok(role)
    }
}

impl Context for RoleRoot {}

impl RootContext for RoleRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        logger::follow_host_level();
        let role = match self.role() {
            Ok(role) => role,
            Err(err) => {
                log::error!("{err}");
                return false;
            }
        };
        let bytes = envoy::plugin_configuration();
        match (role.configure)(bytes.as_deref()) {
            Ok(flows) => {
                self.flows = Some(flows);
                if let Err(err) = abi::set_tick_period(LOG_LEVEL_REFRESH_MS) {
                    log::warn!("no tick: the log level is not followed after start ({err:?})");
                }
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

    fn on_tick(&mut self) {
        logger::follow_host_level();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(match &self.flows {
            Some(flows) => Box::new(FlowContext { flow: flows() }),
            None => Box::new(Unconfigured { name: self.role.map_or("portcullis", |r| r.name) }),
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
