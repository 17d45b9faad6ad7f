//! The router in the listener's filter chain: plan, apply, translate the response back.

use crate::response::ResponseTranslation;
use crate::Router;
use portcullis_core::common::error::{ClientError, ErrorKind};
use portcullis_core::contract;
use portcullis_core::contract::decision::Decision;
use portcullis_core::http::sse;
use portcullis_core::llm::api::{self, ClientRequest, WireApi};
use portcullis_core::router::plan::{self, Attempt, RoutePlan};
use portcullis_core::router::route::pick_of;
use portcullis_host::http::{self, Headers, Side};
use portcullis_host::state as filter_state;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

/// Where Envoy keeps a request's path when a route rewrites it; access logs read it first.
const ORIGINAL_PATH: &str = "x-envoy-original-path";

pub struct RouterRequest {
    plugin: Rc<Router>,
    context_id: u32,
    /// Set when the request is an LLM call this filter routes.
    request: Option<ClientRequest>,
    /// The trusted override header's value, read before it is removed.
    override_provider: Option<String>,
    /// `x-request-id`: weighted splits pick by it, so a retried request lands alike.
    request_id: String,
    /// The client sent `content-length` (a rewritten body must correct it).
    has_length: bool,
    /// The path the client asked for (no query), kept for `x-envoy-original-path` when the
    /// provider's differs.
    client_path: String,
    plan: Option<RoutePlan>,
    response: Option<ResponseTranslation>,
}

impl RouterRequest {
    pub fn new(plugin: Rc<Router>, context_id: u32) -> Self {
        Self {
            plugin,
            context_id,
            request: None,
            override_provider: None,
            request_id: String::new(),
            has_length: false,
            client_path: String::new(),
            plan: None,
            response: None,
        }
    }

    /// Only the router may decide routing: drop every `x-portcullis-*` header a client sent,
    /// the configured cluster header, and the override header (after reading it). Also a
    /// client's `x-envoy-original-path` (Envoy does not sanitize it): access logs read it first,
    /// so only the router may set it.
    fn strip_internal_headers(&mut self, headers: &Headers) {
        let table = &self.plugin.table;
        if let Some(name) = &table.override_header {
            self.override_provider = headers.get(name).filter(|v| !v.is_empty()).map(str::to_string);
        }
        for name in headers.names() {
            if name.starts_with("x-portcullis-")
                || name == table.cluster_header
                || table.override_header.as_deref() == Some(name)
                || name == ORIGINAL_PATH
            {
                http::remove_header(Side::Request, name);
            }
        }
    }

    fn client_api(&self) -> WireApi {
        match &self.request {
            Some(ClientRequest::Inference(api)) => *api,
            Some(ClientRequest::Gemini { .. }) => WireApi::GeminiGenerate,
            _ => WireApi::OpenAiChat,
        }
    }

    fn reject(&self, err: &ClientError) -> Action {
        log::debug!("#{}: {} {}", self.context_id, err.status(), err.message);
        http::send_error(err, self.client_api().error_shape());
        Action::Pause
    }

    /// Applies a plan; returns the body to send instead of the client's, if it changes.
    fn apply(&self, plan: &RoutePlan, body: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        let first = plan.first().ok_or_else(|| ClientError::new(ErrorKind::Internal, "empty route plan"))?;
        // The provider's path replaces the client's, here or per attempt upstream (visible to
        // the access log either way); keep the client's where Envoy's own rewrites keep it.
        if plan.failover() || first.path.split('?').next() != Some(self.client_path.as_str()) {
            http::set_header(Side::Request, ORIGINAL_PATH, &self.client_path);
        }
        let new_body = if plan.failover() {
            // The upstream router translates per attempt; check every attempt now so a request
            // that cannot be translated fails here, before any provider is called.
            for attempt in &plan.attempts {
                plan.upstream_body(attempt, body)?;
            }
            let json = serde_json::to_string(plan)
                .map_err(|e| ClientError::new(ErrorKind::Internal, e.to_string()))?;
            filter_state::set(contract::ROUTE_PLAN, &json);
            filter_state::set_bytes(contract::REQUEST_BODY, body);
            None
        } else {
            http::set_header(Side::Request, ":path", &first.path);
            http::set_header(Side::Request, ":authority", &first.host);
            plan.upstream_body(first, body)?
        };
        http::set_header(Side::Request, &self.plugin.table.cluster_header, &plan.cluster);
        http::clear_route_cache();
        publish_attempt(plan, first);
        filter_state::set(contract::REQUEST_MODEL, &plan.request_model);
        filter_state::set(contract::ROUTE, &plan.route);
        log::debug!(
            "#{}: model {} -> {} ({}) via route {}{}",
            self.context_id,
            plan.request_model,
            first.provider,
            first.upstream_model,
            plan.route,
            if plan.failover() { " with failover" } else { "" }
        );
        Ok(new_body)
    }
}

/// A Gemini client's `?key=` becomes its `x-goog-api-key` header (unless it sent one), and leaves
/// the path: the credentials filter checks and removes keys in headers, and a path is logged.
fn move_query_key(headers: &Headers, path: &str, key: &str) {
    http::set_header(Side::Request, ":path", path);
    if headers.get("x-goog-api-key").is_none() {
        http::set_header(Side::Request, "x-goog-api-key", key);
    }
}

/// Whose SDK asks `GET /v1/models`: Anthropic's and Google's call the same path as OpenAI's,
/// and their own headers tell them apart.
fn list_api_of_client(headers: &Headers) -> WireApi {
    if headers.get("anthropic-version").is_some() {
        WireApi::AnthropicMessages
    } else if headers.get("x-goog-api-key").is_some() || headers.get("x-goog-api-client").is_some() {
        WireApi::GeminiGenerate
    } else {
        WireApi::OpenAiChat
    }
}

/// Filter state naming the provider that serves (or is about to serve) the request.
fn publish_attempt(plan: &RoutePlan, attempt: &Attempt) {
    filter_state::set(contract::PROVIDER, &attempt.provider);
    filter_state::set(contract::MODEL, &attempt.upstream_model);
    filter_state::set(contract::DECISION, &Decision::new(plan, attempt).encode());
}

impl Context for RouterRequest {}

impl HttpContext for RouterRequest {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        let headers = http::headers(Side::Request);
        self.strip_internal_headers(&headers);
        let method = headers.get(":method").unwrap_or_default();
        let path = headers.get(":path").unwrap_or_default();
        match api::classify(method, path) {
            // Not an LLM API call: leave it to Envoy's own routes.
            None => Action::Continue,
            Some(ClientRequest::ListModels(api)) => {
                let api = match api {
                    WireApi::OpenAiChat => list_api_of_client(&headers),
                    api => api,
                };
                let body = plan::model_list(&self.plugin.table, api);
                http::send(200, &[("content-type", "application/json")], &body);
                Action::Pause
            }
            Some(request) => {
                if let (ClientRequest::Gemini { .. }, Some((rest, key))) =
                    (&request, api::take_query_key(path))
                {
                    move_query_key(&headers, &rest, &key);
                }
                self.request = Some(request);
                self.request_id = headers.get("x-request-id").unwrap_or_default().to_string();
                self.has_length = headers.get("content-length").is_some();
                // Without the query: a Gemini client may send its key as `?key=`.
                self.client_path = path.split('?').next().unwrap_or_default().to_string();
                if end_of_stream {
                    return self
                        .reject(&ClientError::new(ErrorKind::InvalidRequest, "request body is required"));
                }
                // Hold the headers until the body names the model (allow_on_headers_stop_iteration).
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(request) = &self.request else { return Action::Continue };
        if !end_of_stream {
            return Action::Pause;
        }
        let body = http::body(Side::Request, body_size).unwrap_or_default();
        let planned = plan::plan(
            &self.plugin.table,
            request,
            &body,
            pick_of(&self.request_id),
            self.override_provider.as_deref(),
        );
        let plan = match planned {
            Ok(plan) => plan,
            Err(err) => return self.reject(&err),
        };
        match self.apply(&plan, &body) {
            Ok(Some(new_body)) => {
                http::replace_body(Side::Request, body_size, &new_body);
                // The headers are still held, so the length can be corrected rather than
                // dropped: the upload stays as the client framed it (length or chunked).
                if self.has_length {
                    http::set_header(Side::Request, "content-length", &new_body.len().to_string());
                }
            }
            Ok(None) => {}
            Err(err) => return self.reject(&err),
        }
        self.plan = Some(plan);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        let Some(plan) = &self.plan else { return Action::Continue };
        // One snapshot serves every read below (each read is a crossing into the VM).
        let headers = http::headers(Side::Response);
        let served_by = if plan.failover() {
            headers.get(contract::RESPONSE_PROVIDER_HEADER).and_then(|p| plan.attempt_for(p))
        } else {
            None
        };
        let attempt = served_by.or(plan.first());
        for name in headers.names().filter(|n| n.starts_with("x-portcullis-")) {
            http::remove_header(Side::Response, name);
        }
        let Some(attempt) = attempt else { return Action::Continue };
        let attempts = headers.get("x-envoy-attempt-count").unwrap_or("1");
        http::set_header(Side::Response, contract::RESPONSE_PROVIDER_HEADER, &attempt.provider);
        http::set_header(Side::Response, contract::RESPONSE_ATTEMPTS_HEADER, attempts);
        if served_by.is_some_and(|served| Some(served) != plan.first()) {
            publish_attempt(plan, attempt);
        }
        filter_state::set(contract::ATTEMPTS, attempts);
        if end_of_stream {
            return Action::Continue;
        }
        let status = headers.get(":status").and_then(|s| s.parse().ok()).unwrap_or(200);
        let is_sse = headers.get("content-type").is_some_and(sse::is_event_stream);
        if attempt.upstream_api == plan.client_api {
            if status < 400 && is_sse && plan.asks_usage_for_client(attempt) {
                http::remove_header(Side::Response, "content-length");
                self.response = Some(ResponseTranslation::hiding_usage(plan, attempt));
            }
            return Action::Continue;
        }
        let translation = ResponseTranslation::new(plan, attempt, status, is_sse);
        if let Some(ct) = translation.content_type() {
            http::set_header(Side::Response, "content-type", ct);
        }
        http::remove_header(Side::Response, "content-length");
        self.response = Some(translation);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(translation) = &mut self.response else { return Action::Continue };
        let action = translation.on_body(body_size, end_of_stream);
        if let Some(problem) = translation.take_problem() {
            log::warn!("#{}: response translation: {problem}", self.context_id);
        }
        action
    }
}
