//! The usage flow against the in-memory host: what it counts and the host calls it makes.

use super::UsageConfig;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Request, Response};
use crate::router::Router;

fn decision(model: &str) -> Vec<u8> {
    let router = Router::configure(Some(
        br#"{"providers":{"openai":{"kind":"openai"}},"routes":[{"model":"gpt-*","provider":"openai","models":["gpt-4o"]}]}"#,
    ))
    .unwrap();
    let body = format!(r#"{{"model":"{model}","messages":[]}}"#);
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let plan = crate::router::plan::plan(&router.table, &request, body.as_bytes(), 0, None).unwrap();
    Decision::new(&plan, &plan.attempts[0]).encode().into_bytes()
}

const ANSWER: &str = r#"{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}"#;

#[test]
fn a_json_answer_is_counted_with_these_host_calls() {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision("gpt-4o"));
    host.filter_state.insert(contract::TENANT.into(), b"acme".to_vec());
    let config = UsageConfig::configure(None).unwrap();
    let mut flow = config.flow();
    host.exchange(flow.as_mut(), Request::json("/v1/chat/completions", "{}"), Response::json(200, ANSWER));
    let input = "portcullis_tokens_total;gen_ai_provider_name=openai;gen_ai_request_model=gpt-4o;tenant=acme;gen_ai_token_type=input";
    assert_eq!(host.counters.get(input), Some(&11));
    assert_eq!(
        host.call_names(),
        [
            "filter_state", // the router's record, at the request headers
            "filter_state", // tenant
            "header",       // content-type
            "body",
            "increment",
            "record",
            "increment",
            "record",
            "set_filter_state",
        ]
    );
}

#[test]
fn model_names_the_config_does_not_spell_out_are_labelled_other() {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision("gpt-attacker-chosen-123"));
    let mut flow = UsageConfig::configure(None).unwrap().flow();
    host.exchange(flow.as_mut(), Request::json("/v1/chat/completions", "{}"), Response::json(200, ANSWER));
    assert!(
        host.counters.keys().all(|k| k.contains("gen_ai_request_model=other;")),
        "{:?}",
        host.counters.keys()
    );
}

#[test]
fn a_routed_request_without_the_routers_record_is_refused_before_any_upstream_call() {
    let mut host = FakeHost::new();
    let mut flow = UsageConfig::configure(None).unwrap().flow();
    let out = host.exchange(
        flow.as_mut(),
        Request::json("/v1beta/models/gemini-2.5-flash:generateContent", "{}"),
        Response::json(200, ANSWER),
    );
    assert_eq!((out.status, out.json()["error"]["status"].as_str()), (500, Some("INTERNAL")));
    assert!(out.upstream.is_none());
}
