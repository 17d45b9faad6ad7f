//! The prompt flow against the in-memory host.

use super::Prompt;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Request, Response};
use crate::router::Router;
use serde_json::Value;

fn decision() -> Vec<u8> {
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
