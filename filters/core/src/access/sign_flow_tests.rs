//! Signing providers (AWS credentials) through the credentials flow on the in-memory host: the
//! upstream instance holds the request until its body is complete and signs what leaves; the
//! listener's instance sends no credential.

use super::credential::{CredentialStore, CredentialsConfig};
use super::flow::CredentialsFlow;
use super::sigv4;
use crate::common::config;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Outcome, Request, Response};
use crate::router::Router;
use std::rc::Rc;

const HOST: &str = "bedrock-runtime.us-east-1.amazonaws.com";
const NOW: u64 = 1_764_633_600;

fn store(placement: &str) -> Rc<CredentialStore> {
    let json = format!(
        r#"{{"placement": "{placement}", "providers": {{"bedrock": {{"aws": {{}}}}, "openai": {{"key": "sk-x"}}}}}}"#
    );
    let env = |name: &str| match name {
        "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string()),
        "AWS_SESSION_TOKEN" => Some("session-token-example".to_string()),
        _ => None,
    };
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    Rc::new(CredentialStore::compile(config, env).unwrap().0)
}

/// The router's record for a request routed to `provider`.
fn decision(provider: &str) -> Vec<u8> {
    let router = Router::configure(Some(
        format!(
            r#"{{"providers":{{"bedrock":{{"kind":"openai-compatible","host":"{HOST}"}},"openai":{{"kind":"openai"}}}},
               "routes":[{{"model":"m","provider":"{provider}"}}]}}"#
        )
        .as_bytes(),
    ))
    .unwrap();
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let plan = crate::router::plan::plan(&router.table, &request, br#"{"model":"m","messages":[]}"#, 0, None)
        .unwrap();
    Decision::new(&plan, &plan.attempts[0]).encode().into_bytes()
}

fn run(placement: &str, provider: &str, request: Request) -> (FakeHost, Outcome) {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision(provider));
    host.now_nanos = NOW.saturating_mul(1_000_000_000);
    let mut flow = CredentialsFlow::new(store(placement));
    let out = host.exchange(&mut flow, request, Response::json(200, "{}"));
    (host, out)
}

fn converse(chunks: &[&str]) -> Request {
    let mut r = Request::new("POST", "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse")
        .header(":authority", HOST)
        .header("content-type", "application/json");
    r.chunks = chunks.iter().map(|c| c.as_bytes().to_vec()).collect();
    r
}

#[test]
fn the_upstream_instance_signs_the_complete_body() {
    let body = [r#"{"messages":[{"role":"user","#, r#""content":[{"text":"hi"}]}]}"#];
    let (_, out) = run("upstream", "bedrock", converse(&body));
    let (headers, sent) = out.upstream.unwrap();
    assert_eq!(sent, body.concat().as_bytes(), "the body is held, not changed");
    assert_eq!(
        headers.get("content-length"),
        Some(body.concat().len().to_string().as_str()),
        "sent with its length"
    );
    assert_eq!(headers.get("x-amz-date"), Some("20251202T000000Z"));
    assert_eq!(headers.get("x-amz-security-token"), Some("session-token-example"));
    // The signature is over the whole body: the same request signed at once gives it.
    let expected = sigv4::sign(
        &sigv4::Request {
            method: "POST",
            path: "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
            query: "",
            headers: &[("host", HOST), ("content-type", "application/json")],
            body: body.concat().as_bytes(),
        },
        &sigv4::Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: crate::common::secret::Secret::new(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            ),
            session_token: Some(crate::common::secret::Secret::new("session-token-example".into())),
        },
        sigv4::Scope { region: "us-east-1", service: "bedrock" },
        "20251202T000000Z",
    );
    let authorization = expected.headers.iter().find(|(n, _)| *n == "authorization").unwrap();
    assert_eq!(headers.get("authorization"), Some(authorization.1.as_str()));
    assert!(authorization.1.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
}

#[test]
fn a_request_without_a_body_is_signed_at_its_headers() {
    let request = Request::new("GET", "/foundation-models").header(":authority", HOST);
    let (_, out) = run("upstream", "bedrock", request);
    let (headers, _) = out.upstream.unwrap();
    assert!(headers
        .get("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251202/us-east-1/bedrock/"));
}

#[test]
fn the_listener_instance_sends_no_credential_for_a_signing_provider() {
    let (host, out) = run("downstream", "bedrock", converse(&["{}"]));
    let (headers, _) = out.upstream.unwrap();
    assert_eq!(headers.get("authorization"), None);
    assert_eq!(headers.get("x-amz-date"), None);
    assert!(!host.calls.iter().any(|c| c.starts_with("body(")), "nothing held or read");
}

#[test]
fn other_providers_pass_the_upstream_instance_untouched() {
    let (host, out) = run("upstream", "openai", converse(&["{}"]));
    let (headers, _) = out.upstream.unwrap();
    assert_eq!(headers.get("authorization"), None, "keyed by the listener's instance, not here");
    assert!(!host.calls.iter().any(|c| c.starts_with("body(")));
}

#[test]
fn a_host_without_a_region_is_refused_in_the_clients_shape() {
    let request = converse(&["{}"]);
    let mut request = request;
    for (name, value) in &mut request.headers {
        if name == ":authority" {
            *value = "llm.internal".into();
        }
    }
    let (_, out) = run("upstream", "bedrock", request);
    assert!(out.upstream.is_none());
    assert_eq!(out.status, 503);
    assert_eq!(out.json()["error"]["message"], "the gateway cannot sign requests for this provider");
}

#[test]
fn aws_credentials_with_keys_are_a_config_error() {
    let json = r#"{"providers": {"b": {"keyEnv": "K", "aws": {}}}}"#;
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    assert_eq!(CredentialStore::compile(config, |_| None).unwrap_err().path, "providers.b.aws");
}

/// A store whose `bedrock` credentials come from the container credentials endpoint.
fn container_store() -> Rc<CredentialStore> {
    let json = r#"{"placement": "upstream", "providers": {"bedrock": {"aws": {"containerCredentials":
        {"cluster": "ecs-credentials", "path": "/v2/credentials/task", "refreshBeforeSeconds": 60}}}}}"#;
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    Rc::new(CredentialStore::compile(config, |_| None).unwrap().0)
}

fn credentials_answer(id: &str) -> Option<(u16, Vec<u8>)> {
    let body = format!(
        r#"{{"AccessKeyId":"{id}","SecretAccessKey":"container-secret","Token":"container-token","Expiration":"2025-12-02T01:00:00Z"}}"#
    );
    Some((200, body.into_bytes()))
}

fn run_on(host: &mut FakeHost, store: &Rc<CredentialStore>, request: Request) -> Outcome {
    host.filter_state.insert(contract::DECISION.into(), decision("bedrock"));
    let mut flow = CredentialsFlow::new(Rc::clone(store));
    host.exchange(&mut flow, request, Response::json(200, "{}"))
}

#[test]
fn container_credentials_are_fetched_once_and_sign_every_request() {
    let store = container_store();
    let mut host = FakeHost::new();
    host.now_nanos = NOW.saturating_mul(1_000_000_000);
    host.answer_calls(|call| {
        assert_eq!(
            (call.cluster.as_str(), call.header(":path")),
            ("ecs-credentials", Some("/v2/credentials/task"))
        );
        credentials_answer("ASIAFIRST")
    });
    for _ in 0..3 {
        let out = run_on(&mut host, &store, converse(&[r#"{"messages":[]}"#]));
        let (headers, _) = out.upstream.unwrap();
        assert!(headers
            .get("authorization")
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=ASIAFIRST/20251202/"));
        assert_eq!(headers.get("x-amz-security-token"), Some("container-token"));
    }
    assert_eq!(host.callouts.len(), 1, "one fetch, cached for every request and worker");
}

#[test]
fn container_credentials_failing_with_nothing_cached_refuse() {
    let store = container_store();
    let mut host = FakeHost::new();
    host.now_nanos = NOW.saturating_mul(1_000_000_000);
    host.answer_calls(|_| Some((500, b"no".to_vec())));
    let out = run_on(&mut host, &store, converse(&["{}"]));
    assert!(out.upstream.is_none());
    assert_eq!(out.status, 503);
    assert_eq!(
        out.json()["error"]["message"],
        "the gateway could not get a credential for provider `bedrock`"
    );
}

#[test]
fn container_credentials_are_refreshed_before_they_expire() {
    let store = container_store();
    let mut host = FakeHost::new();
    host.now_nanos = NOW.saturating_mul(1_000_000_000);
    host.answer_calls(|_| credentials_answer("ASIAFIRST"));
    run_on(&mut host, &store, converse(&["{}"]));
    // 30 s before the 01:00 expiry (inside the 60 s refresh window): a new fetch.
    host.now_nanos = NOW.saturating_add(3_570).saturating_mul(1_000_000_000);
    host.answer_calls(|_| credentials_answer("ASIASECOND"));
    let out = run_on(&mut host, &store, converse(&["{}"]));
    assert!(out.upstream.unwrap().0.get("authorization").unwrap().contains("Credential=ASIASECOND/"));
    assert_eq!(host.callouts.len(), 2);
}

#[test]
fn an_unreadable_cached_entry_refuses_instead_of_holding_the_request() {
    let store = container_store();
    let mut host = FakeHost::new();
    host.now_nanos = NOW.saturating_mul(1_000_000_000);
    // A fresh entry whose value is not `<id>:<secret>:<token>`.
    let source_key = host.shared.keys().next().cloned();
    assert!(source_key.is_none());
    host.answer_calls(|_| credentials_answer("ASIAFIRST"));
    run_on(&mut host, &store, converse(&["{}"]));
    let key = host.shared.keys().next().cloned().unwrap();
    let (_, version) = host.shared.get(&key).cloned().unwrap();
    host.shared.insert(key, (b"1764640800 0 not-credentials".to_vec(), version));
    let out = run_on(&mut host, &store, converse(&["{}"]));
    assert!(!out.stalled, "never held forever");
    assert_eq!(out.status, 503);
    assert!(out.upstream.is_none());
}
