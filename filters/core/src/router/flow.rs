//! The router in the listener's filter chain, per request: classify, plan, apply, translate the
//! response back.
//!
//! Request headers: strip every header a client may not set (internal `x-portcullis-*`, the
//! cluster and override headers, `x-envoy-original-path`), take a `?key=` credential off the
//! path (whatever the path), classify the call. LLM calls hold their headers until the body
//! names the model; list-model calls and paths of a known API the gateway does not serve are
//! answered here. Request body: [`plan`](super::plan::plan) it, apply the plan (path, host,
//! cluster header, route cache, filter state, body). Response: report the provider that
//! answered, and render the body in the client's API ([`ResponseBody`]) — including errors from
//! the provider or from Envoy itself, which must reach an SDK in a shape it can read.

use super::plan::{self, Attempt, RoutePlan, TemplateSelection, TEMPLATE_HEADER, TEMPLATE_VARIABLES_HEADER};
use super::response::{Origin, ResponseBody};
use super::route::pick_of;
use super::Router;
use crate::common::error::{ClientError, ErrorKind};
use crate::contract::record::ContractError;
use crate::contract::{self, decision::Decision};
use crate::http::host::{self, Flow, Headers, Host, HttpFlow, Side, LOCAL_REPLY_DETAILS};
use crate::http::sse;
use crate::llm::api::{self, ClientRequest, WireApi};
use crate::llm::translate::{AnswerContext, StreamTranslator};
use std::rc::Rc;

/// Where Envoy keeps a request's path when a route rewrites it; access logs read it first.
pub const ORIGINAL_PATH: &str = "x-envoy-original-path";

pub struct RouterFlow {
    router: Rc<Router>,
    /// Set when the request is an LLM call this filter routes.
    request: Option<ClientRequest>,
    /// The trusted override header's value, read before it is removed.
    override_provider: Option<String>,
    /// A template chosen by header (removed before the request leaves).
    header_template: Option<TemplateSelection>,
    /// `x-request-id`: weighted splits pick by it, so a retried request lands alike.
    request_id: String,
    /// The client sent `content-length` (a rewritten body must correct it).
    has_length: bool,
    /// The path the client asked for (no query), kept for `x-envoy-original-path` when the
    /// provider's differs.
    client_path: String,
    /// With its query (minus any `?key=`): `:path` is rewritten only if the provider's differs.
    client_full_path: String,
    plan: Option<RoutePlan>,
    response: Option<ResponseBody>,
    /// `GET /v1/models`, answered in this API's shape on the way back (see [`MODEL_LIST_CLUSTER`]).
    listing: Option<WireApi>,
    /// The router answered the request itself: its reply passes back untouched.
    replied: bool,
}

/// The cluster header's value for a model-list request: no such cluster exists, so Envoy answers
/// it locally (503) without calling anything, and the router replaces that answer with the
/// list. The request passes the filters after the router first, so the credentials filter
/// authenticates it like any other (401 for a missing or unknown key).
pub const MODEL_LIST_CLUSTER: &str = "portcullis.model-list";

impl RouterFlow {
    pub fn new(router: Rc<Router>) -> Self {
        Self {
            router,
            request: None,
            override_provider: None,
            header_template: None,
            request_id: String::new(),
            has_length: false,
            client_path: String::new(),
            client_full_path: String::new(),
            plan: None,
            response: None,
            listing: None,
            replied: false,
        }
    }

    /// Only the router may decide routing: drop every `x-portcullis-*` header a client sent,
    /// the configured cluster header, and the override header (after reading it). Also a
    /// client's `x-envoy-original-path` (Envoy does not sanitize it): access logs read it first,
    /// so only the router may set it.
    fn strip_internal_headers(&mut self, host: &mut dyn Host, headers: &Headers) {
        let table = &self.router.table;
        if let Some(name) = &table.override_header {
            self.override_provider = headers.get(name).filter(|v| !v.is_empty()).map(str::to_string);
        }
        for name in headers.names() {
            if name.starts_with("x-portcullis-")
                || name == table.cluster_header
                || table.override_header.as_deref() == Some(name)
                || name == ORIGINAL_PATH
                || name == TEMPLATE_HEADER
                || name == TEMPLATE_VARIABLES_HEADER
            {
                host.remove_header(Side::Request, name);
            }
        }
    }

    /// A template chosen by header: [`TEMPLATE_HEADER`] names it, [`TEMPLATE_VARIABLES_HEADER`]
    /// holds its variables as a JSON object.
    fn template_from_headers(headers: &Headers) -> Result<Option<TemplateSelection>, ClientError> {
        let Some(name) = headers.get(TEMPLATE_HEADER).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let variables = match headers.get(TEMPLATE_VARIABLES_HEADER) {
            Some(json) => Some(serde_json::from_str(json).map_err(|_| {
                ClientError::new(
                    ErrorKind::InvalidRequest,
                    format!("`{TEMPLATE_VARIABLES_HEADER}` is not a JSON object"),
                )
            })?),
            None => None,
        };
        Ok(Some(TemplateSelection { name: name.to_string(), variables }))
    }

    fn client_api(&self) -> WireApi {
        self.request.as_ref().map_or(WireApi::OpenAiChat, ClientRequest::api)
    }

    fn reject(&mut self, host: &mut dyn Host, err: &ClientError) -> Flow {
        log::debug!("{} {}", err.status(), err.message);
        host::send_error(host, err, self.client_api().error_shape());
        self.replied = true;
        Flow::Pause
    }

    /// Applies a plan; returns the body to send instead of the client's, if it changes.
    fn apply(
        &self,
        host: &mut dyn Host,
        plan: &RoutePlan,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let first = plan.first().ok_or_else(|| ClientError::new(ErrorKind::Internal, "empty route plan"))?;
        // The provider's path replaces the client's, here or per attempt upstream (visible to
        // the access log either way); keep the client's where Envoy's own rewrites keep it.
        if plan.failover() || first.path.split('?').next() != Some(self.client_path.as_str()) {
            host.set_header(Side::Request, ORIGINAL_PATH, &self.client_path);
        }
        let new_body = if plan.failover() {
            // The upstream router translates per attempt; check every attempt now so a request
            // that cannot be translated fails here, before any provider is called.
            for attempt in &plan.attempts {
                plan.upstream_body(attempt, body)?;
            }
            let record = contract::plan::encode(plan)
                .map_err(|e| ClientError::new(ErrorKind::Internal, e.to_string()))?;
            host.set_filter_state(contract::ROUTE_PLAN, &record);
            host.set_filter_state(contract::REQUEST_BODY, body);
            None
        } else {
            if first.path != self.client_full_path {
                host.set_header(Side::Request, ":path", &first.path);
            }
            host.set_header(Side::Request, ":authority", &first.host);
            plan.upstream_body(first, body)?
        };
        host.set_header(Side::Request, &self.router.table.cluster_header, &plan.cluster);
        host.clear_route_cache();
        publish_attempt(host, plan, first);
        host.set_filter_state(contract::REQUEST_MODEL, plan.request_model.as_bytes());
        host.set_filter_state(contract::ROUTE, plan.route.as_bytes());
        log::debug!(
            "model {} -> {} ({}) via route {}{}",
            plan.request_model,
            first.provider,
            first.upstream_model,
            plan.route,
            if plan.failover() { " with failover" } else { "" }
        );
        Ok(new_body)
    }

    /// Reports which provider answered and decides how the body reaches the client.
    fn on_routed_response(
        &mut self,
        host: &mut dyn Host,
        headers: &Headers,
        status: u16,
    ) -> Option<ResponseBody> {
        let plan = self.plan.as_ref()?;
        let served_by = if plan.failover() {
            headers.get(contract::RESPONSE_PROVIDER_HEADER).and_then(|p| plan.attempt_for(p))
        } else {
            None
        };
        let attempt = served_by.or(plan.first())?;
        let attempts = headers.get("x-envoy-attempt-count").unwrap_or("1");
        host.set_header(Side::Response, contract::RESPONSE_PROVIDER_HEADER, &attempt.provider);
        host.set_header(Side::Response, contract::RESPONSE_ATTEMPTS_HEADER, attempts);
        if served_by.is_some_and(|served| Some(served) != plan.first()) {
            publish_attempt(host, plan, attempt);
        }
        host.set_filter_state(contract::ATTEMPTS, attempts.as_bytes());
        if status >= 400 {
            return None; // an error: decided by the caller, from where it came
        }
        let is_sse = headers.get("content-type").is_some_and(sse::is_event_stream);
        let guarded = headers.get(contract::HOLD_ANSWER_HEADER).is_some();
        Some(if attempt.upstream_api == plan.client_api {
            if is_sse && plan.asks_usage_for_client(attempt) {
                ResponseBody::HideUsage(Default::default(), Vec::new())
            } else if !is_sse && guarded {
                ResponseBody::Json {
                    from: attempt.upstream_api,
                    model: attempt.upstream_model.clone(),
                    guarded,
                    context: AnswerContext::default(),
                }
            } else {
                ResponseBody::Pass
            }
        } else if is_sse {
            let translator = StreamTranslator::new(
                attempt.upstream_api,
                plan.client_api,
                &attempt.upstream_model,
                plan.include_usage,
            )
            .with_response_id(&answer_context(plan, attempt, headers).response_id);
            ResponseBody::Stream(Box::new(translator), Vec::new())
        } else {
            let context = answer_context(plan, attempt, headers);
            ResponseBody::Json {
                from: attempt.upstream_api,
                model: attempt.upstream_model.clone(),
                guarded,
                context,
            }
        })
    }

    /// A failover answer (2xx) that does not say which attempt served it, or names a provider
    /// outside the plan: the upstream router did not run on that attempt.
    fn unattributed(&self, headers: &Headers, status: u16) -> Option<ContractError> {
        let plan = self.plan.as_ref().filter(|p| p.failover())?;
        if !(200..300).contains(&status) {
            return None; // errors are Envoy's own replies as often as a provider's
        }
        match headers.get(contract::RESPONSE_PROVIDER_HEADER) {
            None => Some(ContractError::NoAnsweringProvider),
            Some(p) if plan.attempt_for(p).is_none() => Some(ContractError::UnknownProvider),
            Some(_) => None,
        }
    }

    /// The provider's API for an error response (the attempt that answered, or the first).
    fn provider_api(&self, headers: &Headers) -> Option<WireApi> {
        let plan = self.plan.as_ref()?;
        let served = headers.get(contract::RESPONSE_PROVIDER_HEADER).filter(|_| plan.failover());
        served.and_then(|p| plan.attempt_for(p)).or(plan.first()).map(|a| a.upstream_api)
    }
}

/// A Gemini client's `?key=` becomes its `x-goog-api-key` header (unless it sent one), and leaves
/// the path: the credentials filter checks and removes keys in headers, and a path is logged.
fn move_query_key(host: &mut dyn Host, headers: &Headers, path: &str, key: &str) {
    host.set_header(Side::Request, ":path", path);
    if headers.get("x-goog-api-key").is_none() {
        host.set_header(Side::Request, "x-goog-api-key", key);
    }
}

/// What the answer's headers tell its translation ([`AnswerContext::from_headers`]).
fn answer_context(plan: &RoutePlan, attempt: &Attempt, headers: &Headers) -> AnswerContext {
    AnswerContext::from_headers(attempt.upstream_api, plan.base64_embeddings, &mut |name| {
        headers.get(name).map(str::to_string)
    })
}

/// Filter state naming the provider that serves (or is about to serve) the request.
fn publish_attempt(host: &mut dyn Host, plan: &RoutePlan, attempt: &Attempt) {
    host.set_filter_state(contract::PROVIDER, attempt.provider.as_bytes());
    host.set_filter_state(contract::MODEL, attempt.upstream_model.as_bytes());
    host.set_filter_state(contract::DECISION, Decision::new(plan, attempt).encode().as_bytes());
}

impl HttpFlow for RouterFlow {
    fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        let headers = host.headers(Side::Request);
        self.strip_internal_headers(host, &headers);
        let method = headers.get(":method").unwrap_or_default();
        let full_path = headers.get(":path").unwrap_or_default();
        // A `?key=` credential never stays in a path, routed or not: paths are logged.
        let moved = api::take_query_key(full_path);
        if let Some((rest, key)) = &moved {
            move_query_key(host, &headers, rest, key);
        }
        let path = moved.as_ref().map_or(full_path, |(rest, _)| rest.as_str());
        match api::classify(method, path) {
            None => match api::refusal(method, path) {
                Some(refusal) => {
                    let err = ClientError::new(refusal.kind, refusal.message);
                    host::send_error(host, &err, refusal.api.error_shape());
                    self.replied = true;
                    Flow::Pause
                }
                // Not an LLM API call: leave it to Envoy's own routes.
                None => Flow::Continue,
            },
            Some(ClientRequest::ListModels(api)) => {
                self.listing = Some(api::list_models_api(api, &headers));
                host.set_header(Side::Request, &self.router.table.cluster_header, MODEL_LIST_CLUSTER);
                host.clear_route_cache();
                Flow::Continue
            }
            Some(request) => {
                self.request = Some(request);
                // The answer is read on its way back (translated, counted, guarded): ask for it
                // uncompressed. (SDKs offer gzip, br and zstd; a provider would take them up.)
                if headers.get("accept-encoding").is_some() {
                    host.remove_header(Side::Request, "accept-encoding");
                }
                match Self::template_from_headers(&headers) {
                    Ok(selection) => self.header_template = selection,
                    Err(err) => return self.reject(host, &err),
                }
                self.request_id = headers.get("x-request-id").unwrap_or_default().to_string();
                self.has_length = headers.get("content-length").is_some();
                self.client_path = path.split('?').next().unwrap_or_default().to_string();
                self.client_full_path = path.to_string();
                if end_of_stream {
                    return self.reject(
                        host,
                        &ClientError::new(ErrorKind::InvalidRequest, "request body is required"),
                    );
                }
                // Hold the headers until the body names the model (allow_on_headers_stop_iteration).
                Flow::Pause
            }
        }
    }

    fn on_request_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let Some(request) = &self.request else { return Flow::Continue };
        if !end_of_stream {
            return Flow::Pause;
        }
        let body = host.body(Side::Request, size).unwrap_or_default();
        let planned = plan::plan_with(
            &self.router.table,
            request,
            &body,
            pick_of(&self.request_id),
            self.override_provider.as_deref(),
            self.header_template.take(),
        );
        let plan = match planned {
            Ok(plan) => plan,
            Err(err) => return self.reject(host, &err),
        };
        match self.apply(host, &plan, &body) {
            Ok(Some(new_body)) => {
                host.replace_body(Side::Request, size, &new_body);
                // The headers are still held, so the length can be corrected rather than
                // dropped: the upload stays as the client framed it (length or chunked).
                if self.has_length {
                    host.set_header(Side::Request, "content-length", &new_body.len().to_string());
                }
            }
            Ok(None) => {}
            Err(err) => return self.reject(host, &err),
        }
        self.plan = Some(plan);
        Flow::Continue
    }

    fn on_response_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Flow {
        if let Some(api) = self.listing {
            // Refused by a filter after the router (the gateway's own reply): as it is.
            if host.property(&["response", "code_details"]).unwrap_or_default()
                != LOCAL_REPLY_DETAILS.as_bytes()
            {
                let body = plan::model_list(&self.router.table, api);
                host.send_reply(200, &[("content-type", "application/json")], &body);
            }
            return Flow::Continue;
        }
        if self.request.is_none() || self.replied {
            return Flow::Continue; // not an LLM call, or answered by the router itself
        }
        // One snapshot serves every read below (each read is a crossing into the VM).
        let headers = host.headers(Side::Response);
        for name in headers.names().filter(|n| n.starts_with("x-portcullis-")) {
            if name == contract::RAG_DOCUMENTS_HEADER && host.filter_state(contract::RAG).is_some() {
                continue; // the prompt filter's own (asked only when the header is there)
            }
            host.remove_header(Side::Response, name);
        }
        let status = headers.get(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
        if let Some(failure) = self.unattributed(&headers, status) {
            // A body whose API is unknown cannot be translated, nor trusted to be what was
            // guarded: refused, never passed on as if the first attempt had answered.
            let message = failure.count(host, "router");
            host::send_error(
                host,
                &ClientError::new(ErrorKind::BadGateway, message),
                self.client_api().error_shape(),
            );
            return Flow::Continue;
        }
        let body = match self.on_routed_response(host, &headers, status) {
            Some(body) => body,
            None if status >= 400 => {
                // An error: from the provider, from Envoy (plain text), or the gateway's own
                // (already in the client's shape). Asked only here: success is the hot path.
                let details = host.property(&["response", "code_details"]).unwrap_or_default();
                if details == LOCAL_REPLY_DETAILS.as_bytes() {
                    return Flow::Continue;
                }
                let origin = match self.provider_api(&headers) {
                    Some(api) if details == b"via_upstream" => Origin::Provider(api),
                    _ => Origin::Envoy,
                };
                ResponseBody::Error { origin, status }
            }
            None => return Flow::Continue,
        };
        if end_of_stream && body.holds_headers() {
            // Nothing to read and no body can be added to a headers-only response: answer in
            // the client's shape instead (an empty 200 to translate is no answer either).
            let err = match body {
                ResponseBody::Error { origin: Origin::Envoy, status } => {
                    super::response::envoy_reply(status, b"")
                }
                ResponseBody::Error { status, .. } => ClientError::for_status(
                    status,
                    format!("the provider answered HTTP {status} without a body"),
                ),
                _ => ClientError::new(ErrorKind::BadGateway, "the provider answered without a body"),
            };
            host::send_error(host, &err, self.client_api().error_shape());
            return Flow::Continue;
        }
        if let Some(content_type) = body.content_type() {
            host.set_header(Side::Response, "content-type", content_type);
        }
        if !matches!(body, ResponseBody::Pass) {
            host.remove_header(Side::Response, "content-length");
        }
        let hold = body.holds_headers();
        self.response = Some(body);
        if hold {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }

    fn on_response_body(&mut self, host: &mut dyn Host, size: usize, end_of_stream: bool) -> Flow {
        let client_api = self.client_api();
        let Some(body) = &mut self.response else { return Flow::Continue };
        let (flow, problem) = body.on_body(host, client_api, size, end_of_stream);
        if let Some(problem) = problem {
            log::warn!("response translation: {problem}");
        }
        flow
    }
}
