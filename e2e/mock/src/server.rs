//! One request, end to end: route it, match a rule, record it, apply the controls, answer.

use crate::admin;
use crate::anthropic;
use crate::bedrock;
use crate::bedrock_embeddings;
use crate::control::Controls;
use crate::embeddings;
use crate::gemini;
use crate::moderations;
use crate::openai;
use crate::provider::{injected_message, Provider};
use crate::record::{Recorded, Recorder};
use crate::respond::{self, Resp};
use crate::rules::{Rules, Target};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request};
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;

/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 64 << 20;

/// Shared by every connection.
pub struct State {
    pub rules: Rules,
    /// `None` with `--no-record`.
    pub recorder: Option<Recorder>,
    pub verbose: bool,
}

/// Returned by the service to make hyper drop the connection without a response.
#[derive(Debug)]
pub struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

/// The endpoints the mock impersonates.
enum Route {
    /// Chat completions; the Azure deployment names the model.
    Chat(Provider, Option<String>),
    Embeddings(Provider, Option<String>),
    Models,
    Model(String),
    Messages,
    CountTokens,
    Moderations,
    Gemini {
        model: String,
        method: String,
    },
    /// Bedrock Converse (`stream`: ConverseStream); the model id is decoded from the path.
    Bedrock {
        model: String,
        op: bedrock::Op,
    },
    NotFound,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let post = method == Method::POST;
        let get = method == Method::GET;
        match path {
            "/v1/chat/completions" | "/chat/completions" if post => {
                return Route::Chat(Provider::OpenAi, None)
            }
            "/openai/v1/chat/completions" if post => return Route::Chat(Provider::Azure, None),
            "/v1/embeddings" | "/embeddings" if post => return Route::Embeddings(Provider::OpenAi, None),
            "/openai/v1/embeddings" if post => return Route::Embeddings(Provider::Azure, None),
            "/v1/models" if get => return Route::Models,
            "/v1/messages" if post => return Route::Messages,
            "/v1/messages/count_tokens" if post => return Route::CountTokens,
            "/v1/moderations" if post => return Route::Moderations,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/openai/deployments/") {
            if let Some((deployment, op)) = rest.split_once('/') {
                let deployment = Some(deployment.to_string());
                match op {
                    "chat/completions" if post => return Route::Chat(Provider::Azure, deployment),
                    "embeddings" if post => return Route::Embeddings(Provider::Azure, deployment),
                    _ => {}
                }
            }
        }
        if post {
            if let Some((model, method)) = gemini_path(path) {
                return Route::Gemini { model, method };
            }
            if let Some((model, op)) = bedrock::route(path) {
                return Route::Bedrock { model, op };
            }
        }
        if let Some(id) = path.strip_prefix("/v1/models/") {
            if get && !id.is_empty() && !id.contains('/') {
                return Route::Model(id.to_string());
            }
        }
        Route::NotFound
    }

    fn provider(&self) -> Provider {
        match self {
            Route::Chat(p, _) | Route::Embeddings(p, _) => *p,
            Route::Messages | Route::CountTokens => Provider::Anthropic,
            Route::Gemini { .. } => Provider::Gemini,
            Route::Bedrock { .. } => Provider::Bedrock,
            Route::Models | Route::Model(_) | Route::Moderations | Route::NotFound => Provider::OpenAi,
        }
    }

    /// The model the path names, if any.
    fn path_model(&self) -> Option<&str> {
        match self {
            Route::Chat(_, d) | Route::Embeddings(_, d) => d.as_deref(),
            Route::Gemini { model, .. } | Route::Bedrock { model, .. } => Some(model),
            _ => None,
        }
    }

    fn needs_body(&self) -> bool {
        !matches!(self, Route::Models | Route::Model(_) | Route::NotFound)
    }
}

/// `{version}/models/{model}:{method}` or Vertex's
/// `{version}/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{method}`.
fn gemini_path(path: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let shape_ok = match segs.as_slice() {
        [v, "models", _] => v.starts_with("v1"),
        [v, "projects", _, "locations", _, "publishers", _, "models", _] => v.starts_with("v1"),
        _ => false,
    };
    if !shape_ok {
        return None;
    }
    let (model, method) = segs.last()?.split_once(':')?;
    Some((model.to_string(), method.to_string()))
}

/// The service function.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    if state.verbose {
        eprintln!("{} {}", parts.method, parts.uri);
    }
    if let Some(what) = path.strip_prefix("/__mock/") {
        return Ok(admin::handle(&state, &parts.method, what, body).await);
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let ctl = Controls::default();
            return Ok(Provider::OpenAi.error(413, "Request body too large", &ctl));
        }
        Err(_) => return Err(Dropped),
    };
    let route = Route::parse(&parts.method, path);
    let body_json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let model = route.path_model().or_else(|| body_json.as_ref()?.get("model")?.as_str());
    let target = Target { path, model, headers: &parts.headers };
    let matched = state.rules.take_match(&target);
    if let Some(recorder) = &state.recorder {
        recorder.push(Recorded {
            method: parts.method.to_string(),
            path: path.to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            json: body_json.clone(),
            rule_id: matched.as_ref().map(|(id, _)| *id),
        });
    }
    let mut ctl = Controls::from_headers(&parts.headers);
    if let Some((_, rule)) = &matched {
        ctl.apply(rule);
    }
    if ctl.close_connection {
        return Err(Dropped);
    }
    if !ctl.latency.is_zero() {
        tokio::time::sleep(ctl.latency).await;
    }
    if let Some(raw) = matched.as_ref().and_then(|(_, rule)| rule.raw.as_ref()) {
        return Ok(raw.respond(&ctl));
    }
    let provider = route.provider();
    if let Some(status) = ctl.status {
        return Ok(provider.error(status, &injected_message(status), &ctl));
    }
    if let Route::NotFound = route {
        let msg = format!("Invalid URL ({} {path})", parts.method);
        let body =
            json!({"error": {"message": msg, "type": "invalid_request_error", "param": null, "code": null}});
        return Ok(respond::json(404, &body, &ctl));
    }
    let body = match (route.needs_body(), &body_json) {
        (false, _) => Value::Null,
        (true, Some(v)) if v.is_object() => body_json.unwrap_or_default(),
        (true, _) => return Ok(provider.error(400, invalid_json_message(provider), &ctl)),
    };
    Ok(match route {
        Route::Chat(Provider::Azure, _) if !openai::azure_knows_stream_options(parts.uri.query(), &body) => {
            Provider::Azure.error(400, "Unrecognized request argument supplied: stream_options", &ctl)
        }
        Route::Chat(p, d) => openai::chat(p, &body, d.as_deref(), &ctl),
        Route::Embeddings(p, d) => embeddings::openai(p, &body, d.as_deref(), &ctl),
        Route::Models => openai::models(&ctl),
        Route::Model(id) => openai::model(&id, &ctl),
        Route::Messages => anthropic::messages(&body, &ctl),
        Route::CountTokens => anthropic::count_tokens(&body, &ctl),
        Route::Moderations => moderations::moderations(&body, &ctl),
        Route::Gemini { model, method } => {
            let sse_mode = parts.uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
            match method.as_str() {
                "generateContent" => gemini::generate(&body, &model, false, false, &ctl),
                "streamGenerateContent" => gemini::generate(&body, &model, true, sse_mode, &ctl),
                "countTokens" => gemini::count_tokens(&body, &model, &ctl),
                "embedContent" => embeddings::gemini(&body, false, &ctl),
                "batchEmbedContents" => embeddings::gemini(&body, true, &ctl),
                _ => {
                    let msg = format!("Method not found: {method}");
                    Provider::Gemini.error(404, &msg, &ctl)
                }
            }
        }
        Route::Bedrock { model, op } => match op {
            bedrock::Op::Converse => bedrock::converse(&body, &model, false, &ctl),
            bedrock::Op::ConverseStream => bedrock::converse(&body, &model, true, &ctl),
            bedrock::Op::Invoke => bedrock_embeddings::invoke(&body, &model, &ctl),
        },
        Route::NotFound => Provider::OpenAi.error(404, "Not found", &ctl),
    })
}

fn invalid_json_message(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi | Provider::Azure => {
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
        }
        Provider::Anthropic => "There was an error parsing the body of your request: invalid JSON",
        Provider::Gemini => "Invalid JSON payload received.",
        Provider::Bedrock => "Malformed input request, please reformat your input and try again.",
    }
}
