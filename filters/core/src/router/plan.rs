//! The router's decision for one request: where it goes and what it becomes.
//!
//! Everything the router filter does between "the body is complete" and "continue" is here, as
//! a pure function of the route table, the classified request and its body, so it is tested
//! without Envoy. The filter only applies the plan: headers, filter state, body.
//!
//! A plan lists its [`Attempt`]s: the chosen provider and, on failover routes, the fallbacks in
//! order. Without failover the downstream router applies the first attempt itself. With
//! failover, Envoy's retry machinery picks the provider per attempt (aggregate cluster), and the
//! router placed as an *upstream* filter applies the attempt that matches the host Envoy chose;
//! the plan travels to it as JSON in filter state.

use crate::common::error::{ClientError, ErrorKind};
use crate::llm::api::{ClientRequest, WireApi};
use crate::llm::hidden_usage;
use crate::llm::model_name;
use crate::llm::provider::ProviderKind;
use crate::llm::translate;
use crate::router::route::{Choice, RouteTable};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::borrow::Cow;

/// One way to serve the request: a provider, its model name, and the request it expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub provider: String,
    pub kind: ProviderKind,
    pub cluster: String,
    /// `:authority` upstream.
    pub host: String,
    /// `:path` upstream.
    pub path: String,
    pub upstream_api: WireApi,
    pub upstream_model: String,
    /// `upstream_model` as metrics label it: the name if the config names it, else `other`
    /// ([`RouteTable::model_label`]).
    pub model_label: String,
    /// The provider accepts `stream_options`
    /// ([`Endpoint::accepts_stream_options`](crate::llm::provider::Endpoint::accepts_stream_options)).
    pub stream_options: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePlan {
    pub route: String,
    pub client_api: WireApi,
    pub request_model: String,
    pub stream: bool,
    /// OpenAI clients that asked for `stream_options.include_usage`.
    pub include_usage: bool,
    /// The cluster header's value: the provider's cluster, or the failover aggregate cluster.
    pub cluster: String,
    /// The first attempt, then the fallbacks in order.
    pub attempts: Vec<Attempt>,
    /// The prompt template the client chose, for the prompt filter (see
    /// [`TemplateSelection`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateSelection>,
    /// The client's body carries the selection fields, which must not reach a provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strip_selection: bool,
    /// An embeddings client asked for `encoding_format: base64`: a provider that answers floats
    /// (Bedrock) has its vectors encoded for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64_embeddings: bool,
}

/// A client's choice of prompt template, in the body (top-level `template` and `variables`,
/// which every official SDK can send as extra body fields) or in headers
/// ([`TEMPLATE_HEADER`], [`TEMPLATE_VARIABLES_HEADER`]). The router reads it because only the
/// router sees the client's own body (a translated body no longer has the fields) and removes
/// it; the prompt filter fills the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSelection {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The header naming a template (for clients that cannot add body fields).
pub const TEMPLATE_HEADER: &str = "x-prompt-template";
/// Its variables, a JSON object of strings.
pub const TEMPLATE_VARIABLES_HEADER: &str = "x-prompt-template-variables";

/// Body fields holding a template selection.
const SELECTION_FIELDS: [&str; 2] = ["template", "variables"];

impl RoutePlan {
    /// Whether Envoy fails over between attempts (the router then also runs upstream).
    pub fn failover(&self) -> bool {
        self.attempts.len() > 1
    }

    pub fn attempt_for(&self, provider: &str) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.provider == provider)
    }

    pub fn first(&self) -> Option<&Attempt> {
        self.attempts.first()
    }

    /// The request body `attempt` expects, from the client's body. `None`: send it unchanged.
    pub fn upstream_body(&self, attempt: &Attempt, body: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        let invalid = |message: String| ClientError::new(ErrorKind::InvalidRequest, message);
        if attempt.upstream_api != self.client_api {
            return translate::request_with(
                self.client_api,
                attempt.upstream_api,
                body,
                &attempt.upstream_model,
                self.stream,
                self.template.is_some(),
            )
            .map(Some)
            .map_err(|e| invalid(e.message));
        }
        // Same API: the model travels in the body for every API but Gemini (path). Rewrite
        // only if it was renamed, or to ask for usage the client did not.
        let rename =
            self.client_api != WireApi::GeminiGenerate && attempt.upstream_model != self.request_model;
        let add_usage = self.asks_usage_for_client(attempt);
        if !rename && !add_usage && !self.strip_selection {
            return Ok(None);
        }
        let remove: &[&str] = if self.strip_selection { &SELECTION_FIELDS } else { &[] };
        edit(body, rename.then_some(attempt.upstream_model.as_str()), add_usage, remove)
            .map(Some)
            .map_err(invalid)
    }

    /// The gateway asks `attempt` for the stream's usage although the client did not: an
    /// OpenAI stream reports usage only on request, and accounting must not depend on the
    /// client asking. The router then removes that chunk from the client's stream (see
    /// [`crate::llm::hidden_usage`]). Only for providers known to accept
    /// `stream_options` (other OpenAI-compatible servers may refuse unknown fields).
    pub fn asks_usage_for_client(&self, attempt: &Attempt) -> bool {
        self.stream
            && !self.include_usage
            && self.client_api == WireApi::OpenAiChat
            && attempt.upstream_api == WireApi::OpenAiChat
            && attempt.stream_options
    }
}

/// The only fields the router reads from a body before deciding.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(borrow, default)]
    encoding_format: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    template: Option<Cow<'a, str>>,
    #[serde(default)]
    variables: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// Plans a request. `pick` chooses among weighted targets (see `route::pick_of`);
/// `override_provider` is the trusted override header's value, if configured and present.
pub fn plan(
    table: &RouteTable,
    request: &ClientRequest,
    body: &[u8],
    pick: u64,
    override_provider: Option<&str>,
) -> Result<RoutePlan, ClientError> {
    plan_with(table, request, body, pick, override_provider, None)
}

/// [`plan`], with a template selection from headers (the body's wins).
pub fn plan_with(
    table: &RouteTable,
    request: &ClientRequest,
    body: &[u8],
    pick: u64,
    override_provider: Option<&str>,
    header_template: Option<TemplateSelection>,
) -> Result<RoutePlan, ClientError> {
    let invalid = |msg: String| ClientError::new(ErrorKind::InvalidRequest, msg);
    let (client_api, path_model, path_stream) = match request {
        ClientRequest::Inference(api) => (*api, None, false),
        ClientRequest::Gemini { model, stream } => (WireApi::GeminiGenerate, Some(model.as_str()), *stream),
        ClientRequest::ListModels(_) => return Err(invalid("listing models has no route".into())),
    };
    // JSON is UTF-8 (RFC 8259): a body that is not is refused here rather than passed to a
    // provider (the fields the router reads are parsed; the rest is only skipped).
    std::str::from_utf8(body).map_err(|_| invalid("request body is not valid UTF-8".into()))?;
    let head: Head<'_> =
        serde_json::from_slice(body).map_err(|e| invalid(format!("request body is not valid JSON: {e}")))?;
    let request_model = match (path_model, head.model.as_deref()) {
        (Some(m), _) => m,
        (None, Some(m)) => m,
        (None, None) => "",
    };
    model_name::check(request_model).map_err(|e| invalid(e.message()))?;
    let stream = path_stream || head.stream.unwrap_or(false);
    let include_usage = head.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
    let strip_selection = head.template.is_some() || head.variables.is_some();
    let base64_embeddings =
        client_api == WireApi::OpenAiEmbeddings && head.encoding_format.as_deref() == Some("base64");
    let template = match (head.template, head.variables) {
        (Some(name), variables) => Some(TemplateSelection { name: name.into_owned(), variables }),
        (None, Some(_)) => return Err(invalid("`variables` without `template`".into())),
        (None, None) => header_template,
    };
    let not_found = || {
        ClientError::new(
            ErrorKind::ModelNotFound,
            format!("The model `{request_model}` does not exist or you do not have access to it."),
        )
    };

    let decision = table.resolve(request_model, pick);
    let (route, choices, failover_cluster) = match (override_provider, decision) {
        (Some(name), decision) => {
            let provider = table.provider(name).ok_or_else(|| {
                invalid(format!("the provider override names an unknown provider `{name}`"))
            })?;
            // Keep the route's model name for that provider when the route has one.
            let routed = decision.as_ref().and_then(|d| {
                std::iter::once(&d.primary).chain(&d.fallbacks).find(|c| c.provider.name == name).cloned()
            });
            let choice =
                routed.unwrap_or(Choice { provider, upstream_model: Cow::Owned(request_model.to_string()) });
            (format!("override:{name}"), vec![choice], None)
        }
        (None, Some(d)) => {
            let mut choices = vec![d.primary];
            choices.extend(d.fallbacks);
            (d.route.to_string(), choices, d.failover_cluster)
        }
        (None, None) => return Err(not_found()),
    };

    let mut attempts = Vec::with_capacity(choices.len());
    for choice in choices {
        let endpoint = &choice.provider.endpoint;
        let upstream_api = match client_api {
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => endpoint.kind().embeddings_api(),
            WireApi::OpenAiChat
            | WireApi::AnthropicMessages
            | WireApi::GeminiGenerate
            | WireApi::BedrockConverse => Some(endpoint.kind().chat_api()),
        };
        let model = choice.upstream_model.into_owned();
        if endpoint.kind() == ProviderKind::Bedrock {
            // Bedrock's model ids and inference profiles carry `:` (`…-v1:0`), sent as `%3A`.
            model_name::check_bedrock_model(&model).map_err(|e| invalid(e.message()))?;
        } else if endpoint.kind().model_in_path() {
            model_name::check_path_segment(&model).map_err(|e| invalid(e.message()))?;
        }
        let unsupported = || {
            invalid(format!(
                "model `{request_model}` does not support {client_api} (provider {})",
                choice.provider.name
            ))
        };
        let upstream_api = upstream_api.ok_or_else(unsupported)?;
        let path = endpoint.path(upstream_api, &model, stream).ok_or_else(unsupported)?;
        attempts.push(Attempt {
            provider: choice.provider.name.clone(),
            kind: endpoint.kind(),
            cluster: choice.provider.cluster.clone(),
            host: endpoint.host.clone(),
            path,
            upstream_api,
            model_label: table.model_label(&model).to_string(),
            upstream_model: model,
            stream_options: endpoint.accepts_stream_options(),
        });
    }
    let cluster = match (failover_cluster, attempts.first()) {
        (Some(c), _) => c.to_string(),
        (None, Some(first)) => first.cluster.clone(),
        (None, None) => return Err(not_found()),
    };
    Ok(RoutePlan {
        route,
        client_api,
        request_model: request_model.to_string(),
        stream,
        include_usage,
        cluster,
        attempts,
        template,
        strip_selection,
        base64_embeddings,
    })
}

/// The client's body with another `model`, usage requested and/or gateway fields removed; every
/// other field as sent.
fn edit(body: &[u8], model: Option<&str>, add_usage: bool, remove: &[&str]) -> Result<Vec<u8>, String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let obj = value.as_object_mut().ok_or("request body is not a JSON object")?;
    for field in remove {
        obj.shift_remove(*field);
    }
    if let Some(model) = model {
        obj.insert("model".into(), serde_json::Value::String(model.to_string()));
    }
    if add_usage {
        hidden_usage::request_usage(obj);
    }
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

/// The model list in the client's API: the route table's exact model names (wildcards name no
/// model), each with the fields its SDK requires.
pub fn model_list(table: &RouteTable, api: WireApi) -> Vec<u8> {
    let models = table.listed_models();
    let list = match api {
        WireApi::AnthropicMessages => {
            let data: Vec<_> = models
                .map(|(id, _)| {
                    // `created_at` is required; the gateway does not know it: the epoch.
                    json!({"type": "model", "id": id, "display_name": id, "created_at": "1970-01-01T00:00:00Z"})
                })
                .collect();
            let first_id = data.first().map(|m| m["id"].clone());
            let last_id = data.last().map(|m| m["id"].clone());
            json!({"data": data, "has_more": false, "first_id": first_id, "last_id": last_id})
        }
        WireApi::GeminiGenerate => {
            let data: Vec<_> = models
                .map(|(id, _)| {
                    json!({"name": format!("models/{id}"), "displayName": id,
                           "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]})
                })
                .collect();
            json!({"models": data})
        }
        WireApi::OpenAiChat
        | WireApi::OpenAiEmbeddings
        | WireApi::BedrockConverse
        | WireApi::BedrockEmbeddings => {
            let data: Vec<_> = models
                .map(|(id, provider)| json!({"id": id, "object": "model", "created": 0, "owned_by": provider.name}))
                .collect();
            json!({"object": "list", "data": data})
        }
    };
    list.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::config;
    use serde_json::{json, Value};

    fn table() -> RouteTable {
        let cfg = r#"{
            "providers": {
                "openai": {"kind": "openai", "cluster": "openai-cluster"},
                "claude": {"kind": "anthropic"},
                "gemini": {"kind": "gemini"}
            },
            "routes": [
                {"model": "gpt-*", "provider": "openai"},
                {"model": "fast", "provider": "openai", "upstreamModel": "gpt-4o-mini"},
                {"model": "claude-*", "provider": "claude"},
                {"model": "gemini-*", "provider": "gemini"},
                {"model": "resilient", "provider": "openai", "upstreamModel": "gpt-4o",
                 "fallbacks": [{"provider": "claude", "model": "claude-haiku-4-5"}],
                 "failoverCluster": "resilient-failover"}
            ]
        }"#;
        RouteTable::compile(config::parse(Some(cfg.as_bytes())).unwrap()).unwrap()
    }

    const CHAT: ClientRequest = ClientRequest::Inference(WireApi::OpenAiChat);

    fn plan_chat(body: &[u8]) -> Result<RoutePlan, ClientError> {
        plan(&table(), &CHAT, body, 0, None)
    }

    #[test]
    fn openai_request_to_openai_passes_body_through() {
        let body =
            br#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
        let p = plan_chat(body).unwrap();
        assert_eq!(p.cluster, "openai-cluster");
        assert!(p.stream && p.include_usage && !p.failover());
        let a = p.first().unwrap();
        assert_eq!((a.host.as_str(), a.path.as_str()), ("api.openai.com", "/v1/chat/completions"));
        assert_eq!(p.upstream_body(a, body).unwrap(), None);
    }

    #[test]
    fn an_openai_stream_is_asked_for_usage_the_client_did_not_request() {
        let body = br#"{"model":"fast","stream":true,"messages":[]}"#;
        let p = plan_chat(body).unwrap();
        let a = p.first().unwrap();
        assert!(p.asks_usage_for_client(a));
        let out = String::from_utf8(p.upstream_body(a, body).unwrap().unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"gpt-4o-mini","stream":true,"messages":[],"stream_options":{"include_usage":true}}"#
        );
        // Not streaming: the JSON response carries usage anyway.
        let p = plan_chat(br#"{"model":"gpt-4o","messages":[]}"#).unwrap();
        assert!(!p.asks_usage_for_client(p.first().unwrap()));
        // Another API: the translation asks for usage itself.
        let p = plan_chat(br#"{"model":"claude-x","stream":true,"messages":[]}"#).unwrap();
        assert!(!p.asks_usage_for_client(p.first().unwrap()));
    }

    #[test]
    fn alias_rewrites_model_and_keeps_other_fields_in_order() {
        let body = br#"{"model":"fast","messages":[{"role":"user","content":"hi"}],"x_unknown":1}"#;
        let p = plan_chat(body).unwrap();
        let a = p.first().unwrap();
        assert_eq!(
            (p.request_model.as_str(), a.upstream_model.as_str(), p.route.as_str()),
            ("fast", "gpt-4o-mini", "fast")
        );
        let out = String::from_utf8(p.upstream_body(a, body).unwrap().unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x_unknown":1}"#
        );
    }

    #[test]
    fn cross_api_routes_translate_the_body() {
        let body =
            br#"{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
        let p = plan_chat(body).unwrap();
        let a = p.first().unwrap();
        assert_eq!((a.upstream_api, a.path.as_str()), (WireApi::AnthropicMessages, "/v1/messages"));
        let out: Value = serde_json::from_slice(&p.upstream_body(a, body).unwrap().unwrap()).unwrap();
        assert_eq!(out["model"], "claude-haiku-4-5");
        assert_eq!(out["messages"][0]["role"], "user");
    }

    #[test]
    fn failover_route_lists_attempts_in_order_on_the_aggregate_cluster() {
        let p = plan_chat(br#"{"model":"resilient","messages":[]}"#).unwrap();
        assert!(p.failover());
        assert_eq!(p.cluster, "resilient-failover");
        let names: Vec<_> =
            p.attempts.iter().map(|a| (a.provider.as_str(), a.upstream_model.as_str())).collect();
        assert_eq!(names, [("openai", "gpt-4o"), ("claude", "claude-haiku-4-5")]);
        assert_eq!(p.attempt_for("claude").unwrap().path, "/v1/messages");
        // The plan travels to the upstream filter as JSON.
        let back: RoutePlan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn override_header_picks_the_provider() {
        let t = table();
        let body = br#"{"model":"gpt-4o","messages":[]}"#;
        let p = plan(&t, &CHAT, body, 0, Some("gemini")).unwrap();
        assert_eq!((p.first().unwrap().provider.as_str(), p.route.as_str()), ("gemini", "override:gemini"));
        let p = plan(&t, &CHAT, br#"{"model":"resilient","messages":[]}"#, 0, Some("claude")).unwrap();
        assert_eq!(
            p.first().unwrap().upstream_model,
            "claude-haiku-4-5",
            "the route's name for that provider"
        );
        assert!(!p.failover());
        assert_eq!(plan(&t, &CHAT, body, 0, Some("nope")).unwrap_err().kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn gemini_native_model_from_path() {
        let req = ClientRequest::Gemini { model: "gemini-2.5-flash".into(), stream: true };
        let p = plan(&table(), &req, br#"{"contents":[]}"#, 0, None).unwrap();
        assert_eq!(p.first().unwrap().path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assert!(p.stream);
    }

    #[test]
    fn errors_have_the_right_kind() {
        let kind = |body: &[u8]| plan_chat(body).unwrap_err().kind;
        assert_eq!(kind(b"{not json"), ErrorKind::InvalidRequest);
        assert_eq!(kind(b"[]"), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"messages":[]}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":""}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":42}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":"llama-3"}"#), ErrorKind::ModelNotFound);
        let embed = ClientRequest::Inference(WireApi::OpenAiEmbeddings);
        let err = plan(&table(), &embed, br#"{"model":"claude-x","input":"a"}"#, 0, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn embeddings_to_bedrock_are_translated_for_the_models_family() {
        let cfg = r#"{
            "providers": {"bedrock": {"kind": "bedrock", "region": "eu-west-1"}},
            "routes": [
                {"model": "titan", "provider": "bedrock", "upstreamModel": "amazon.titan-embed-text-v2:0"},
                {"model": "nova", "provider": "bedrock", "upstreamModel": "amazon.nova-lite-v1:0"}
            ]
        }"#;
        let table = || RouteTable::compile(config::parse(Some(cfg.as_bytes())).unwrap()).unwrap();
        let plan_chat = |body: &[u8]| plan(&table(), &CHAT, body, 0, None);
        let embed = ClientRequest::Inference(WireApi::OpenAiEmbeddings);
        let body = br#"{"model":"titan","input":"hello","encoding_format":"base64"}"#;
        let p = plan(&table(), &embed, body, 0, None).unwrap();
        let a = p.first().unwrap();
        assert_eq!(a.upstream_api, WireApi::BedrockEmbeddings);
        assert_eq!(
            (a.host.as_str(), a.path.as_str()),
            ("bedrock-runtime.eu-west-1.amazonaws.com", "/model/amazon.titan-embed-text-v2%3A0/invoke")
        );
        assert!(p.base64_embeddings);
        let sent: Value = serde_json::from_slice(&p.upstream_body(a, body).unwrap().unwrap()).unwrap();
        assert_eq!(sent, json!({"inputText": "hello"}));
        // A chat model on Bedrock is no embeddings model: refused before any call.
        let p = plan(&table(), &embed, br#"{"model":"nova","input":"x"}"#, 0, None).unwrap();
        let err = p.upstream_body(p.first().unwrap(), br#"{"model":"nova","input":"x"}"#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert!(err.message.contains("not a Bedrock embeddings model"), "{}", err.message);
        // Floats unless asked: and never for chat.
        let p = plan(&table(), &embed, br#"{"model":"titan","input":"x"}"#, 0, None).unwrap();
        assert!(!p.base64_embeddings);
        let p = plan_chat(br#"{"model":"nova","encoding_format":"base64","messages":[]}"#).unwrap();
        assert!(!p.base64_embeddings);
    }

    #[test]
    fn model_list_shows_exact_names() {
        let v: Value = serde_json::from_slice(&model_list(&table(), WireApi::OpenAiChat)).unwrap();
        let ids: Vec<_> = v["data"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
        assert_eq!(ids, [json!("fast"), json!("resilient")]);
        assert_eq!((&v["object"], &v["data"][0]["owned_by"]), (&json!("list"), &json!("openai")));
    }

    #[test]
    fn model_list_in_gemini_shape() {
        let v: Value = serde_json::from_slice(&model_list(&table(), WireApi::GeminiGenerate)).unwrap();
        assert_eq!(v["models"][0]["name"], "models/fast");
        assert_eq!(
            v["models"][1]["supportedGenerationMethods"],
            json!(["generateContent", "streamGenerateContent"])
        );
    }

    #[test]
    fn model_list_in_anthropic_shape() {
        let v: Value = serde_json::from_slice(&model_list(&table(), WireApi::AnthropicMessages)).unwrap();
        assert_eq!(
            v,
            json!({"data": [
                {"type": "model", "id": "fast", "display_name": "fast", "created_at": "1970-01-01T00:00:00Z"},
                {"type": "model", "id": "resilient", "display_name": "resilient", "created_at": "1970-01-01T00:00:00Z"}
            ], "has_more": false, "first_id": "fast", "last_id": "resilient"})
        );
    }
}
