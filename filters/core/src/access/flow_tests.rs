//! The credentials flow against the in-memory host: behaviour and host calls per request kind.

use super::credential::{CredentialStore, CredentialsConfig};
use super::flow::CredentialsFlow;
use super::tenant::key_hash;
use crate::common::config;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Outcome, Request, Response};
use crate::router::Router;
use std::rc::Rc;

fn store(json: &str) -> Rc<CredentialStore> {
    let env = |name: &str| match name {
        "OPENAI_KEY" => Some("sk-provider-openai".to_string()),
        "OPENAI_KEY_2" => Some("sk-provider-openai-2".to_string()),
        "ANTHROPIC_KEY" => Some("sk-ant-provider".to_string()),
        _ => None,
    };
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    Rc::new(CredentialStore::compile(config, env).unwrap().0)
}

fn tenants() -> Rc<CredentialStore> {
    store(&format!(
        r#"{{"providers": {{"openai": {{"keyEnv": "OPENAI_KEY"}}, "anthropic": {{"keyEnv": "ANTHROPIC_KEY"}}}},
            "tenants": [{{"id": "acme", "keyHashes": ["{}"], "allow": [{{"provider": "openai", "models": ["gpt-4o*"]}}]}}]}}"#,
        key_hash("vk-acme")
    ))
}

/// The router's record for a request to `model` on OpenAI (as the router filter writes it).
fn decision(model: &str) -> Vec<u8> {
    let router = Router::configure(Some(
        br#"{"providers":{"openai":{"kind":"openai"},"anthropic":{"kind":"anthropic"}},
             "routes":[{"model":"gpt-*","provider":"openai"},{"model":"claude-*","provider":"anthropic"}]}"#,
    ))
    .unwrap();
    let body = format!(r#"{{"model":"{model}","messages":[]}}"#);
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let plan = crate::router::plan::plan(&router.table, &request, body.as_bytes(), 0, None).unwrap();
    Decision::new(&plan, &plan.attempts[0]).encode().into_bytes()
}

fn run(store: Rc<CredentialStore>, model: &str, request: Request, upstream: Response) -> (FakeHost, Outcome) {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision(model));
    host.now_nanos = 1_000 * 1_000_000_000;
    let mut flow = CredentialsFlow::new(store);
    let out = host.exchange(&mut flow, request, upstream);
    (host, out)
}

fn chat(key: &str) -> Request {
    Request::json("/v1/chat/completions", "{}").header("authorization", &format!("Bearer {key}"))
}

#[test]
fn a_tenant_request_makes_these_host_calls() {
    let (host, out) = run(tenants(), "gpt-4o", chat("vk-acme"), Response::json(200, "{}"));
    let (up, _) = out.upstream.unwrap();
    assert_eq!(up.get("authorization"), Some("Bearer sk-provider-openai"));
    assert_eq!(host.filter_state.get(contract::TENANT).map(Vec::as_slice), Some(&b"acme"[..]));
    assert_eq!(
        host.calls,
        [
            "headers(request)",
            "filter_state(portcullis.decision)",
            "remove_header(request, authorization)",
            "set_filter_state(portcullis.tenant)",
            "now",
            "shared_data(portcullis.credentials.cooldown.a80aadb77bef)",
            "set_header(request, authorization)",
            "header(response, :status)",
        ]
    );
}

#[test]
fn refusals_never_reach_the_provider_and_keep_no_client_credential() {
    for (request, model, status) in [
        (chat("vk-wrong"), "gpt-4o", 401),
        (Request::json("/v1/chat/completions", "{}"), "gpt-4o", 401),
        (chat("vk-acme"), "claude-haiku-4-5", 403),
        (chat("vk-acme"), "gpt-3.5", 403),
    ] {
        let (_, out) = run(tenants(), model, request, Response::json(200, "{}"));
        assert_eq!(out.status, status, "{model}: {}", String::from_utf8_lossy(&out.body));
        assert!(out.upstream.is_none());
        assert!(out.json()["error"]["message"].is_string());
    }
}

#[test]
fn a_missing_or_foreign_record_fails_closed() {
    let mut host = FakeHost::new();
    let mut flow = CredentialsFlow::new(tenants());
    let out = host.exchange(&mut flow, chat("vk-acme"), Response::json(200, "{}"));
    assert_eq!(out.status, 500);
    assert!(out.upstream.is_none());
    assert_eq!(
        host.counters.get("portcullis_contract_errors_total;filter=credentials;reason=missing"),
        Some(&1)
    );

    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), br#"{"v":99}"#.to_vec());
    let mut flow = CredentialsFlow::new(tenants());
    let out = host.exchange(&mut flow, chat("vk-acme"), Response::json(200, "{}"));
    assert_eq!(out.status, 500);
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("version 99"));

    // Not an LLM call: no record expected, the request is only authenticated.
    let mut host = FakeHost::new();
    let mut flow = CredentialsFlow::new(tenants());
    let out = host.exchange(
        &mut flow,
        Request::new("GET", "/healthz").header("authorization", "Bearer vk-acme"),
        Response::new(200),
    );
    assert_eq!(out.status, 200);
}

#[test]
fn a_provider_429_cools_the_key_and_the_next_request_takes_another() {
    let pool = store(
        r#"{"providers": {"openai": {"keys": [{"keyEnv": "OPENAI_KEY"}, {"keyEnv": "OPENAI_KEY_2"}], "cooldownSeconds": 60}}}"#,
    );
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision("gpt-4o"));
    host.now_nanos = 1_000 * 1_000_000_000;
    let mut flow = CredentialsFlow::new(Rc::clone(&pool));
    let limited = Response::json(429, "{}").header("retry-after", "20");
    let out = host.exchange(&mut flow, chat("x"), limited);
    assert_eq!(out.upstream.unwrap().0.get("authorization"), Some("Bearer sk-provider-openai"));
    let entry = host.shared.values().next().map(|(v, _)| String::from_utf8_lossy(v).into_owned());
    assert_eq!(entry.as_deref(), Some("1020 hinted"));
    // Same worker (same pool, same rotation): the next request skips the cooling key.
    let mut flow = CredentialsFlow::new(pool);
    let out = host.exchange(&mut flow, chat("x"), Response::json(200, "{}"));
    assert_eq!(out.upstream.unwrap().0.get("authorization"), Some("Bearer sk-provider-openai-2"));
}

/// Upstream, per failover attempt: the attempt's provider and the plan come from the router's
/// records; one that cannot be used stops the attempt (no key guessed, none sent).
#[test]
fn an_attempt_with_unusable_records_is_refused_before_any_key_is_injected() {
    let router = Router::configure(Some(
        br#"{"providers":{"openai":{"kind":"openai"},"anthropic":{"kind":"anthropic"}},
             "routes":[{"model":"resilient","provider":"openai","fallbacks":[{"provider":"anthropic","model":"claude-x"}],
                        "failoverCluster":"resilient-failover"}]}"#,
    ))
    .unwrap();
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let plan = crate::router::plan::plan(
        &router.table,
        &request,
        br#"{"model":"resilient","messages":[]}"#,
        0,
        None,
    )
    .unwrap();
    let plan = contract::plan::encode(&plan).unwrap();
    let store = store(
        r#"{"placement": "upstream", "providers": {"openai": {"keyEnv": "OPENAI_KEY"}, "anthropic": {"keyEnv": "ANTHROPIC_KEY"}}}"#,
    );
    let attempt = |record: &[u8], plan: &[u8]| {
        let mut host = FakeHost::new();
        host.filter_state.insert(contract::ATTEMPT_PROVIDER.into(), record.to_vec());
        host.filter_state.insert(contract::ROUTE_PLAN.into(), plan.to_vec());
        let mut flow = CredentialsFlow::new(Rc::clone(&store));
        let out = host.exchange(&mut flow, Request::json("/v1/messages", "{}"), Response::json(200, "{}"));
        (host, out)
    };
    let anthropic = contract::attempt::AttemptRecord::new("anthropic").encode();
    let (_, out) = attempt(&anthropic, &plan);
    let (up, _) = out.upstream.unwrap();
    assert_eq!(up.get("x-api-key"), Some("sk-ant-provider"));

    for (record, plan, reason) in [
        (b"anthropic".to_vec(), plan.clone(), "attempt_unreadable"),
        (br#"{"v":2,"provider":"anthropic"}"#.to_vec(), plan.clone(), "attempt_version"),
        (anthropic.clone(), b"{}".to_vec(), "plan_version"),
        (contract::attempt::AttemptRecord::new("gemini").encode(), plan.clone(), "unknown_provider"),
    ] {
        let (host, out) = attempt(&record, &plan);
        assert!(out.upstream.is_none(), "{reason}");
        assert_eq!(out.status, 500, "{reason}");
        assert_eq!(
            host.counters
                .get(&format!("portcullis_contract_errors_total;filter=credentials;reason={reason}")),
            Some(&1),
            "{reason}: {:?}",
            host.counters
        );
    }
}
