//! The router's decision for one request: where it goes and what it becomes.
//!
//! Everything the router filter does between "the body is complete" and "continue" is here, as
//! a pure function of the route table, the classified request and its body, so it is tested
//! without Envoy. The filter only applies the plan: headers, filter state, body.

use crate::api::{ClientRequest, WireApi};
use crate::error::{ClientError, ErrorKind};
use crate::provider::ProviderKind;
use crate::route::RouteTable;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    pub route: String,
    pub provider: String,
    pub provider_kind: ProviderKind,
    pub cluster: String,
    /// `:authority` for the upstream request.
    pub host: String,
    /// `:path` for the upstream request.
    pub path: String,
    pub client_api: WireApi,
    pub upstream_api: WireApi,
    pub request_model: String,
    pub upstream_model: String,
    pub stream: bool,
    /// The rewritten body, or `None` when the client's body goes upstream unchanged.
    pub body: Option<Vec<u8>>,
}

/// The only fields the router reads from a body that needs no rewriting.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
}

pub fn plan(
    table: &RouteTable,
    request: &ClientRequest,
    body: &[u8],
) -> Result<RoutePlan, ClientError> {
    let invalid = |msg: String| ClientError::new(ErrorKind::InvalidRequest, msg);
    let (client_api, path_model, path_stream) = match request {
        ClientRequest::Inference(api) => (*api, None, false),
        ClientRequest::Gemini { model, stream } => {
            (WireApi::GeminiGenerate, Some(model.as_str()), *stream)
        }
        ClientRequest::ListModels => return Err(invalid("listing models has no route".into())),
    };
    let head: Head<'_> = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("request body is not valid JSON: {e}")))?;
    let request_model = match (path_model, head.model.as_deref()) {
        (Some(m), _) => m,
        (None, Some(m)) if !m.is_empty() => m,
        _ => return Err(invalid("you must provide a model parameter".into())),
    };
    let stream = path_stream || head.stream.unwrap_or(false);

    let decision = table.resolve(request_model, 0).ok_or_else(|| {
        ClientError::new(
            ErrorKind::ModelNotFound,
            format!("The model `{request_model}` does not exist or you do not have access to it."),
        )
    })?;
    let provider = decision.primary.provider;
    let kind = provider.endpoint.kind;
    let upstream_api = match client_api {
        WireApi::OpenAiEmbeddings => WireApi::OpenAiEmbeddings,
        _ => kind.chat_api(),
    };
    if upstream_api != client_api {
        return Err(ClientError::new(
            ErrorKind::NotImplemented,
            format!(
                "model `{request_model}` is served by a {} provider; translation from {client_api} is not available in this build",
                kind.as_str()
            ),
        ));
    }
    let upstream_model = decision.primary.upstream_model.into_owned();
    let path = provider
        .endpoint
        .path(upstream_api, &upstream_model, stream)
        .ok_or_else(|| {
            invalid(format!(
                "model `{request_model}` does not support {client_api}"
            ))
        })?;

    // The model travels in the body for every API but Gemini (path). Rewrite only if renamed.
    let body = if client_api != WireApi::GeminiGenerate && upstream_model != request_model {
        Some(with_model(body, &upstream_model).map_err(invalid)?)
    } else {
        None
    };

    Ok(RoutePlan {
        route: decision.route.to_string(),
        provider: provider.name.clone(),
        provider_kind: kind,
        cluster: provider.cluster.clone(),
        host: provider.endpoint.host.clone(),
        path,
        client_api,
        upstream_api,
        request_model: request_model.to_string(),
        upstream_model,
        stream,
        body,
    })
}

fn with_model(body: &[u8], model: &str) -> Result<Vec<u8>, String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("request body is not valid JSON: {e}"))?;
    let obj = value
        .as_object_mut()
        .ok_or("request body is not a JSON object")?;
    obj.insert("model".into(), serde_json::Value::String(model.to_string()));
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

/// `GET /v1/models`, OpenAI's list format, from the route table's exact names.
pub fn model_list(table: &RouteTable) -> Vec<u8> {
    let data: Vec<_> = table
        .listed_models()
        .map(|(id, provider)| {
            serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": provider.name})
        })
        .collect();
    serde_json::json!({"object": "list", "data": data})
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
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
                {"model": "gemini-*", "provider": "gemini"}
            ]
        }"#;
        RouteTable::compile(config::parse(Some(cfg.as_bytes())).unwrap()).unwrap()
    }

    const CHAT: ClientRequest = ClientRequest::Inference(WireApi::OpenAiChat);

    #[test]
    fn openai_request_to_openai_passes_body_through() {
        let p = plan(
            &table(),
            &CHAT,
            br#"{"model":"gpt-4o","stream":true,"messages":[]}"#,
        )
        .unwrap();
        assert_eq!(p.cluster, "openai-cluster");
        assert_eq!(p.host, "api.openai.com");
        assert_eq!(p.path, "/v1/chat/completions");
        assert!(p.stream);
        assert_eq!(p.body, None);
    }

    #[test]
    fn alias_rewrites_model_and_keeps_other_fields_in_order() {
        let p = plan(
            &table(),
            &CHAT,
            br#"{"model":"fast","messages":[{"role":"user","content":"hi"}],"x_unknown":1}"#,
        )
        .unwrap();
        assert_eq!(
            (
                p.request_model.as_str(),
                p.upstream_model.as_str(),
                p.route.as_str()
            ),
            ("fast", "gpt-4o-mini", "fast")
        );
        let body = String::from_utf8(p.body.unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x_unknown":1}"#
        );
    }

    #[test]
    fn gemini_native_model_from_path() {
        let req = ClientRequest::Gemini {
            model: "gemini-2.5-flash".into(),
            stream: true,
        };
        let p = plan(&table(), &req, br#"{"contents":[]}"#).unwrap();
        assert_eq!(
            p.path,
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert!(p.stream);
    }

    #[test]
    fn anthropic_native_passthrough() {
        let req = ClientRequest::Inference(WireApi::AnthropicMessages);
        let p = plan(
            &table(),
            &req,
            br#"{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}"#,
        )
        .unwrap();
        assert_eq!(
            (p.path.as_str(), p.host.as_str()),
            ("/v1/messages", "api.anthropic.com")
        );
    }

    #[test]
    fn errors_have_the_right_kind() {
        let t = table();
        let kind = |body: &[u8]| plan(&t, &CHAT, body).unwrap_err().kind;
        assert_eq!(kind(b"{not json"), ErrorKind::InvalidRequest);
        assert_eq!(kind(b"[]"), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"messages":[]}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":""}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":42}"#), ErrorKind::InvalidRequest);
        assert_eq!(kind(br#"{"model":"llama-3"}"#), ErrorKind::ModelNotFound);
        assert_eq!(
            kind(br#"{"model":"claude-x","messages":[]}"#),
            ErrorKind::NotImplemented
        );
        let embed = ClientRequest::Inference(WireApi::OpenAiEmbeddings);
        assert_eq!(
            plan(&t, &embed, br#"{"model":"claude-x","input":"a"}"#)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn model_list_shows_exact_names() {
        let v: Value = serde_json::from_slice(&model_list(&table())).unwrap();
        assert_eq!(
            v,
            json!({"object":"list","data":[{"id":"fast","object":"model","created":0,"owned_by":"openai"}]})
        );
    }
}
