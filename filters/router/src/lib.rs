//! portcullis.router — picks the provider for each request by model and sends it there.
//!
//! Request path: buffer the body (the model is in it; needs `allow_on_headers_stop_iteration`),
//! plan the route in core (`portcullis_core::plan`), then apply the plan: `:path`,
//! `:authority`, the cluster header, `clear_route_cache`, filter state for the other filters,
//! and the rewritten body. Errors are answered locally in the client's API shape and never reach
//! an upstream.

use portcullis_core::api::{self, ClientRequest, WireApi};
use portcullis_core::config::{self, ConfigError};
use portcullis_core::plan::{self, RoutePlan};
use portcullis_core::route::{RouteTable, RouterConfig};
use portcullis_core::state;
use portcullis_host::http::{self, Side};
use portcullis_host::root::{self, Plugin};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

proxy_wasm::main! {{
    root::install::<Router>();
}}

struct Router {
    table: RouteTable,
}

impl Plugin for Router {
    const NAME: &'static str = "portcullis.router";

    fn configure(bytes: Option<&[u8]>) -> Result<Self, ConfigError> {
        let config: RouterConfig = config::parse(bytes)?;
        Ok(Router {
            table: RouteTable::compile(config)?,
        })
    }

    fn http_context(plugin: Rc<Self>, context_id: u32) -> Box<dyn HttpContext> {
        Box::new(RouterRequest {
            plugin,
            context_id,
            request: None,
        })
    }
}

struct RouterRequest {
    plugin: Rc<Router>,
    context_id: u32,
    /// Set when the request is an LLM call this filter routes.
    request: Option<ClientRequest>,
}

impl RouterRequest {
    /// Only the router may decide routing: drop every `x-portcullis-*` header (and the
    /// configured cluster header) a client sent.
    fn strip_internal_headers(&self) {
        let cluster_header = &self.plugin.table.cluster_header;
        for (name, _) in http::headers(Side::Request) {
            if name.starts_with("x-portcullis-") || name == *cluster_header {
                http::remove_header(Side::Request, &name);
            }
        }
    }

    fn apply(&self, plan: &RoutePlan, body_size: usize) {
        http::set_header(Side::Request, ":path", &plan.path);
        http::set_header(Side::Request, ":authority", &plan.host);
        http::set_header(
            Side::Request,
            &self.plugin.table.cluster_header,
            &plan.cluster,
        );
        http::clear_route_cache();
        if let Some(body) = &plan.body {
            http::replace_body(Side::Request, body_size, body);
        }
        filter_state::set(state::PROVIDER, &plan.provider);
        filter_state::set(state::PROVIDER_KIND, plan.provider_kind.as_str());
        filter_state::set(state::MODEL, &plan.upstream_model);
        filter_state::set(state::REQUEST_MODEL, &plan.request_model);
        filter_state::set(state::ROUTE, &plan.route);
        filter_state::set(state::CLIENT_API, plan.client_api.as_str());
        filter_state::set(state::UPSTREAM_API, plan.upstream_api.as_str());
        filter_state::set(state::STREAM, if plan.stream { "true" } else { "false" });
        log::debug!(
            "portcullis.router #{}: model {} -> provider {} ({}), route {}",
            self.context_id,
            plan.request_model,
            plan.provider,
            plan.upstream_model,
            plan.route
        );
    }

    fn client_api(&self) -> WireApi {
        match &self.request {
            Some(ClientRequest::Inference(api)) => *api,
            Some(ClientRequest::Gemini { .. }) => WireApi::GeminiGenerate,
            _ => WireApi::OpenAiChat,
        }
    }
}

impl Context for RouterRequest {}

impl HttpContext for RouterRequest {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        self.strip_internal_headers();
        let method = http::header(Side::Request, ":method").unwrap_or_default();
        let path = http::header(Side::Request, ":path").unwrap_or_default();
        match api::classify(&method, &path) {
            // Not an LLM API call: leave it to Envoy's own routes.
            None => Action::Continue,
            Some(ClientRequest::ListModels) => {
                http::send(
                    200,
                    &[("content-type", "application/json")],
                    &plan::model_list(&self.plugin.table),
                );
                Action::Pause
            }
            Some(request) => {
                self.request = Some(request);
                if end_of_stream {
                    let err = portcullis_core::error::ClientError::new(
                        portcullis_core::error::ErrorKind::InvalidRequest,
                        "request body is required",
                    );
                    http::send_error(&err, self.client_api().error_shape());
                    return Action::Pause;
                }
                // The body may be rewritten; Envoy does not fix the length for us.
                http::remove_header(Side::Request, "content-length");
                // Hold the headers until the body names the model (allow_on_headers_stop_iteration).
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(request) = &self.request else {
            return Action::Continue;
        };
        if !end_of_stream {
            return Action::Pause;
        }
        let body = http::body(Side::Request, body_size).unwrap_or_default();
        match plan::plan(&self.plugin.table, request, &body) {
            Ok(plan) => {
                self.apply(&plan, body_size);
                Action::Continue
            }
            Err(err) => {
                log::debug!(
                    "portcullis.router #{}: {} {}",
                    self.context_id,
                    err.status(),
                    err.message
                );
                http::send_error(&err, self.client_api().error_shape());
                Action::Pause
            }
        }
    }
}
