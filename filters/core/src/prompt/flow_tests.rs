//! The prompt flow against the in-memory host.

use super::Prompt;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Request, Response};
use crate::router::Router;
use serde_json::{json, Value};

pub(super) fn decision() -> Vec<u8> {
    let router = Router::configure(Some(
        br#"{"providers":{"anthropic":{"kind":"anthropic"}},"routes":[{"model":"claude-*","provider":"anthropic"}]}"#,
    ))
    .unwrap();
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let plan =
        crate::router::plan::plan(&router.table, &request, br#"{"model":"claude-x"}"#, 0, None).unwrap();
    Decision::new(&plan, &plan.attempts[0]).encode().into_bytes()
}

const DECORATE: &str = r#"{"decorators":[{"role":"system","content":"Be brief."}]}"#;

#[test]
fn a_decorator_lands_in_the_providers_format() {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision());
    let mut flow = Prompt::configure(Some(DECORATE.as_bytes())).unwrap().flow();
    let body = r#"{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let out = host.exchange(flow.as_mut(), Request::json("/v1/messages", body), Response::json(200, "{}"));
    let (_, sent) = out.upstream.unwrap();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(
        host.call_names(),
        ["filter_state", "remove_header", "body", "replace_body"],
        "record, content-length, body in, body out"
    );
}

#[test]
fn without_decorators_the_filter_makes_no_host_call() {
    let mut host = FakeHost::new();
    let mut flow = Prompt::configure(None).unwrap().flow();
    host.exchange(flow.as_mut(), Request::json("/v1/chat/completions", "{}"), Response::json(200, "{}"));
    assert!(host.calls.is_empty(), "{:?}", host.calls);
}

#[test]
fn a_missing_record_fails_closed_when_there_is_work_to_do() {
    let mut host = FakeHost::new();
    let mut flow = Prompt::configure(Some(DECORATE.as_bytes())).unwrap().flow();
    let out = host.exchange(flow.as_mut(), Request::json("/v1/messages", "{}"), Response::json(200, "{}"));
    assert_eq!((out.status, out.json()["type"].as_str()), (500, Some("error")));
}

// --- templates, policies and bindings ------------------------------------------------------

const TEMPLATES: &str = r#"{
    "templates": {
        "support": {
            "messages": [
                {"role": "system", "content": "You answer for {{company}}."},
                {"role": "user", "content": "Customer asks: {{question}}"}
            ],
            "variables": {"company": {"default": "Acme"}, "question": {"maxLength": 200}},
            "parameters": {"temperature": 0.2}
        },
        "gpt-only": {"messages": [{"role": "user", "content": "x"}], "models": ["gpt-*"]}
    },
    "policies": {
        "strict": {"allowUntemplated": false},
        "acme": {"decorators": [{"role": "system", "content": "Acme rules."}],
                 "overrides": {"temperature": 0.0}, "maxOutputTokens": {"limit": 64, "action": "clamp"}}
    },
    "bindings": [
        {"route": "locked", "policy": "strict"},
        {"tenant": "acme", "policy": "acme"}
    ]
}"#;

/// The router's record for a request to `model` (route = model) from a client of `client`
/// speaking to an Anthropic provider, with the template selection `template`.
fn record(template: Option<serde_json::Value>, route: &str) -> Vec<u8> {
    let mut record: Value = serde_json::from_slice(&decision()).unwrap();
    record["route"] = json!(route);
    if let Some(t) = template {
        record["template"] = t;
    }
    serde_json::to_vec(&record).unwrap()
}

fn run_templated(
    template: Option<Value>,
    route: &str,
    tenant: Option<&str>,
    body: &str,
) -> (FakeHost, crate::http::fake_host::Outcome) {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), record(template, route));
    if let Some(t) = tenant {
        host.filter_state.insert(contract::TENANT.into(), t.as_bytes().to_vec());
    }
    let mut flow = Prompt::configure(Some(TEMPLATES.as_bytes())).unwrap().flow();
    let out = host.exchange(flow.as_mut(), Request::json("/v1/messages", body), Response::json(200, "{}"));
    (host, out)
}

const EMPTY: &str = r#"{"model":"claude-x","max_tokens":500,"messages":[]}"#;

#[test]
fn a_template_is_filled_into_the_providers_format() {
    let selection = json!({"name": "support", "variables": {"question": "Where is {{company}}? \"}]"}});
    let (host, out) = run_templated(Some(selection), "claude-*", None, EMPTY);
    let (_, sent) = out.upstream.unwrap();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["system"], "You answer for Acme.");
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "Customer asks: Where is {{company}}? \"}]"}])
    );
    assert_eq!(sent["temperature"], 0.2, "the template's parameter, as a default");
    assert_eq!(host.filter_state.get(contract::TEMPLATE).map(Vec::as_slice), Some(&b"support"[..]));
    assert_eq!(host.counters.get("portcullis_prompt_templates_total;template=support"), Some(&1));
}

#[test]
fn template_mistakes_are_400s_in_the_clients_shape_before_any_upstream_call() {
    for (selection, words) in [
        (json!({"name": "nope"}), "unknown template `nope`"),
        (json!({"name": "support"}), "needs variable `question`"),
        (json!({"name": "support", "variables": {"question": "x", "extra": "y"}}), "no variable `extra`"),
        (json!({"name": "gpt-only"}), "not for model"),
    ] {
        let (_, out) = run_templated(Some(selection), "claude-*", None, EMPTY);
        assert_eq!(out.status, 400);
        assert!(out.upstream.is_none());
        let message = out.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(words), "{message}");
    }
}

#[test]
fn a_route_that_requires_a_template_refuses_before_reading_the_body() {
    let (host, out) = run_templated(None, "locked", None, EMPTY);
    assert_eq!(out.status, 400);
    assert!(!host.calls.iter().any(|c| c.starts_with("body")), "{:?}", host.calls);
    let (_, out) = run_templated(
        Some(json!({"name": "support", "variables": {"question": "q"}})),
        "locked",
        None,
        EMPTY,
    );
    assert_eq!(out.status, 200);
}

#[test]
fn a_tenants_binding_applies_to_that_tenant_only() {
    let (_, out) = run_templated(None, "claude-*", Some("acme"), EMPTY);
    let sent: Value = serde_json::from_slice(&out.upstream.unwrap().1).unwrap();
    assert_eq!(
        (sent["system"].as_str(), sent["temperature"].clone(), sent["max_tokens"].clone()),
        (Some("Acme rules."), json!(0.0), json!(64))
    );
    let (host, out) = run_templated(None, "claude-*", Some("other"), EMPTY);
    assert_eq!(out.upstream.unwrap().1, EMPTY.as_bytes(), "untouched");
    assert!(!host.calls.iter().any(|c| c.starts_with("body")), "not even read: {:?}", host.calls);
}
