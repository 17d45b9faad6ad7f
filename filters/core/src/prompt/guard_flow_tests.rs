//! Guardrails through the prompt flow, against the in-memory host: requests, answers (JSON and
//! streamed), remote guards with every kind of answer, and what operators see.

use super::Prompt;
use crate::contract;
use crate::http::fake_host::{FakeHost, Outcome, Request, Response};
use serde_json::{json, Value};

/// The router's record: an OpenAI client, an Anthropic provider, model `claude-x`.
fn record(failover: bool) -> Vec<u8> {
    let mut r: Value = serde_json::from_slice(&super::flow_tests::decision()).unwrap();
    r["failover"] = json!(failover);
    serde_json::to_vec(&r).unwrap()
}

fn config(guards: Value) -> Vec<u8> {
    json!({"policies": {"strict": {"guards": guards}}, "defaultPolicy": "strict"}).to_string().into_bytes()
}

fn host(failover: bool) -> FakeHost {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), record(failover));
    host
}

fn anthropic_body(text: &str) -> String {
    json!({"model": "claude-x", "max_tokens": 50, "system": "be kind",
           "messages": [{"role": "user", "content": text}]})
    .to_string()
}

fn run(host: &mut FakeHost, guards: Value, body: &str, answer: Response) -> Outcome {
    let prompt =
        Prompt::configure_with_env(Some(&config(guards)), &|k| (k == "OPENAI_KEY").then(|| "sk-gw".into()))
            .unwrap();
    let mut flow = prompt.flow();
    host.exchange(flow.as_mut(), Request::json("/v1/messages", body).header("x-user", "ann"), answer)
}

fn sent(out: &Outcome) -> Value {
    serde_json::from_slice(&out.upstream.as_ref().expect("no upstream call").1).unwrap()
}

fn guardrail_state(host: &FakeHost) -> Value {
    serde_json::from_slice(host.filter_state.get(contract::GUARDRAIL).expect("no guardrail state")).unwrap()
}

const CARD: &str = "4111 1111 1111 1111";

#[test]
fn a_card_is_masked_before_the_provider_sees_it() {
    let mut host = host(false);
    let guards = json!({"request": [{"detector": "credit_card", "action": "mask", "keepLast": 4}]});
    let out = run(
        &mut host,
        guards,
        &anthropic_body(&format!("pay with {CARD} please")),
        Response::json(200, "{}"),
    );
    assert_eq!(sent(&out)["messages"][0]["content"], "pay with [CARD]1111 please");
    assert_eq!(
        host.counters.get(
            "portcullis_guardrail_checks_total;policy=strict;guard=credit_card;action=mask;phase=request"
        ),
        Some(&1)
    );
    let state = guardrail_state(&host);
    assert_eq!(state["phases"]["request"], json!([{"guard": "credit_card", "action": "mask", "count": 1}]));
    assert!(!state.to_string().contains("4111"));
}

#[test]
fn a_block_answers_in_the_clients_shape_before_any_upstream_call() {
    for (status, expected) in [(None, 403), (Some(451), 451)] {
        let mut host = host(false);
        let mut guards = json!({"request": [{"detector": "us_ssn", "action": "block"}]});
        if let Some(s) = status {
            guards["blockStatus"] = json!(s);
        }
        let out = run(&mut host, guards, &anthropic_body("my ssn is 123-45-6789"), Response::json(200, "{}"));
        assert_eq!(out.status, expected);
        assert!(out.upstream.is_none());
        let message = out.json()["error"]["message"].as_str().unwrap().to_string();
        assert_eq!(message, "request blocked by policy `strict`: guard `us_ssn`");
        assert!(!String::from_utf8_lossy(&out.body).contains("6789"));
        assert_eq!(guardrail_state(&host)["blocked"], json!({"phase": "request", "guard": "us_ssn"}));
    }
}

#[test]
fn a_clean_request_costs_four_host_calls_and_is_not_rewritten() {
    let mut host = host(false);
    let guards = json!({"request": [{"detector": "credit_card", "action": "mask"}, {"detector": "email", "action": "block"}]});
    let body = anthropic_body("nothing here");
    let out = run(&mut host, guards, &body, Response::json(200, "{}"));
    assert_eq!(out.upstream.unwrap().1, body.as_bytes());
    assert_eq!(host.call_names(), ["filter_state", "remove_header", "body"]);
}

#[test]
fn under_failover_the_copy_each_attempt_translates_is_masked_too() {
    let mut host = host(true);
    let guards = json!({"request": [{"detector": "email", "action": "mask"}]});
    // Under failover the body is still the client's (OpenAI) format.
    let body =
        json!({"model": "claude-x", "messages": [{"role": "user", "content": "mail a.b@example.com"}]})
            .to_string();
    let out = run(&mut host, guards, &body, Response::json(200, "{}"));
    assert_eq!(sent(&out)["messages"][0]["content"], "mail [EMAIL]");
    let copy: Value = serde_json::from_slice(&host.filter_state[contract::REQUEST_BODY]).unwrap();
    assert_eq!(copy["messages"][0]["content"], "mail [EMAIL]");
}

fn webhook(extra: Value) -> Value {
    let mut w = json!({"cluster": "guard", "forwardHeaders": ["x-user"]});
    w.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({"request": [{"detector": "credit_card", "action": "mask"}], "webhook": w})
}

#[test]
fn the_webhook_sees_the_locally_masked_prompt_and_can_pass_mask_or_reject() {
    // pass
    let mut h = host(false);
    h.answer_calls(|_| Some((200, br#"{"action": {}}"#.to_vec())));
    let out =
        run(&mut h, webhook(json!({})), &anthropic_body(&format!("card {CARD}")), Response::json(200, "{}"));
    let call = &h.callouts[0];
    assert_eq!(
        (call.cluster.as_str(), call.header(":path"), call.header("x-user")),
        ("guard", Some("/request"), Some("ann"))
    );
    assert_eq!(
        call.json(),
        json!({"body": {"messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": "card [CARD]"}]}})
    );
    assert_eq!(sent(&out)["messages"][0]["content"], "card [CARD]");
    assert_eq!(
        h.counters
            .get("portcullis_guardrail_checks_total;policy=strict;guard=webhook;action=pass;phase=request"),
        Some(&1)
    );

    // mask
    let mut h = host(false);
    h.answer_calls(|_| {
        Some((200, json!({"action": {"body": {"messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hidden"}]}}}).to_string().into_bytes()))
    });
    let out = run(&mut h, webhook(json!({})), &anthropic_body("secret plan"), Response::json(200, "{}"));
    assert_eq!(sent(&out)["messages"][0]["content"], "hidden");

    // reject
    let mut h = host(false);
    h.answer_calls(|_| {
        Some((200, br#"{"action": {"body": "not allowed here", "status_code": 422}}"#.to_vec()))
    });
    let out = run(&mut h, webhook(json!({})), &anthropic_body("x"), Response::json(200, "{}"));
    assert_eq!(out.status, 422);
    assert!(out.upstream.is_none());
    assert_eq!(out.json()["error"]["message"], "request blocked by policy `strict`: not allowed here");
}

#[test]
fn a_webhook_that_does_not_answer_fails_open_or_closed_as_configured() {
    // Default responder: every call fails (as on a timeout).
    let mut h = host(false);
    let out =
        run(&mut h, webhook(json!({"failureMode": "open"})), &anthropic_body("x"), Response::json(200, "{}"));
    assert_eq!(out.status, 200);
    assert!(out.upstream.is_some());
    assert_eq!(
        h.counters
            .get("portcullis_guardrail_checks_total;policy=strict;guard=webhook;action=error;phase=request"),
        Some(&1)
    );

    let mut h = host(false);
    let out = run(&mut h, webhook(json!({})), &anthropic_body("x"), Response::json(200, "{}"));
    assert_eq!(out.status, 503);
    assert!(out.upstream.is_none());
    assert_eq!(out.json()["error"]["message"], "the webhook guardrail is unavailable");

    // A cluster Envoy does not know: the call never starts; same rules.
    let mut h = host(false);
    h.unknown_clusters.push("guard".into());
    let out = run(&mut h, webhook(json!({})), &anthropic_body("x"), Response::json(200, "{}"));
    assert_eq!(out.status, 503);
    let mut h = host(false);
    h.unknown_clusters.push("guard".into());
    let out =
        run(&mut h, webhook(json!({"failureMode": "open"})), &anthropic_body("x"), Response::json(200, "{}"));
    assert_eq!(out.status, 200);
}

#[test]
fn moderation_blocks_flagged_prompts_with_the_gateways_key() {
    let guards =
        json!({"moderation": {"cluster": "openai", "keyEnv": "OPENAI_KEY", "categories": {"violence": 0.5}}});
    let mut h = host(false);
    h.answer_calls(|call| {
        assert_eq!(call.header("authorization"), Some("Bearer sk-gw"));
        let flagged = call.json()["input"].to_string().contains("fight");
        let score = if flagged { 0.9 } else { 0.1 };
        Some((
            200,
            json!({"results": [{"flagged": flagged, "category_scores": {"violence": score}}]})
                .to_string()
                .into_bytes(),
        ))
    });
    let out = run(&mut h, guards.clone(), &anthropic_body("let us fight"), Response::json(200, "{}"));
    assert_eq!(out.status, 403);
    assert_eq!(
        out.json()["error"]["message"],
        "request blocked by policy `strict`: moderation flagged violence"
    );
    let mut h = host(false);
    h.answer_calls(|_| {
        Some((200, br#"{"results": [{"flagged": false, "category_scores": {"violence": 0.1}}]}"#.to_vec()))
    });
    let out = run(&mut h, guards, &anthropic_body("hello"), Response::json(200, "{}"));
    assert_eq!(out.status, 200);
}

fn anthropic_answer(text: &str) -> Response {
    Response::json(
        200,
        &json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 4}})
        .to_string(),
    )
}

#[test]
fn a_json_answer_is_masked() {
    let mut h = host(false);
    let guards = json!({"response": [{"detector": "email", "action": "mask"}]});
    let out = run(&mut h, guards, &anthropic_body("hi"), anthropic_answer("write to ann@example.com"));
    assert_eq!(out.json()["content"][0]["text"], "write to [EMAIL]");
    assert!(
        out.header(contract::HOLD_ANSWER_HEADER).is_none(),
        "nothing can refuse it: the router need not wait"
    );
    assert!(out.header("content-length").is_none());
}

#[test]
fn a_refused_json_answer_asks_the_router_to_hold_and_tells_it_the_status() {
    let mut h = host(false);
    let guards = json!({"response": [{"detector": "openai_key", "action": "block"}]});
    let out = run(
        &mut h,
        guards,
        &anthropic_body("hi"),
        anthropic_answer("key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"),
    );
    assert_eq!(out.header(contract::HOLD_ANSWER_HEADER), Some("1"));
    assert_eq!(h.filter_state.get(contract::ANSWER_STATUS).map(Vec::as_slice), Some(&b"403"[..]));
    // The body is already in the client's (OpenAI) shape.
    assert_eq!(out.json()["error"]["message"], "response blocked by policy `strict`: guard `openai_key`");
    assert!(!String::from_utf8_lossy(&out.body).contains("sk-proj"));
}

#[test]
fn the_response_webhook_can_mask_a_json_answer() {
    let mut h = host(false);
    h.answer_calls(|call| {
        assert_eq!(call.header(":path"), Some("/response"));
        assert_eq!(call.header("x-user"), Some("ann"), "forwarded in both phases");
        assert_eq!(call.json()["body"]["choices"][0]["message"]["content"], "the plan is X");
        Some((200, br#"{"action": {"body": {"choices": [{"message": {"role": "assistant", "content": "[withheld]"}}]}}}"#.to_vec()))
    });
    let guards =
        json!({"webhook": {"cluster": "guard", "phases": ["response"], "forwardHeaders": ["x-user"]}});
    let out = run(&mut h, guards, &anthropic_body("hi"), anthropic_answer("the plan is X"));
    assert_eq!(out.json()["content"][0]["text"], "[withheld]");
    assert_eq!(h.callouts.len(), 1, "the request phase has no webhook");
}

#[test]
fn a_streamed_answer_is_masked_across_chunks() {
    let mut h = host(false);
    let guards = json!({"response": [{"detector": "email", "action": "mask"}]});
    let delta = |t: &str| {
        format!(
            "event: content_block_delta\ndata: {}\n\n",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})
        )
    };
    let chunks = vec![
        delta("mail ann@exa").into_bytes(),
        delta("mple.com").into_bytes(),
        b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".to_vec(),
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_vec(),
    ];
    let out = run(&mut h, guards, &anthropic_body("hi"), Response::sse(chunks));
    let body = String::from_utf8(out.body).unwrap();
    assert!(body.contains("[EMAIL]") && !body.contains("ann@") && !body.contains("exa"), "{body}");
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_eq!(
        h.counters
            .get("portcullis_guardrail_checks_total;policy=strict;guard=email;action=mask;phase=response"),
        Some(&1)
    );
}

#[test]
fn error_answers_are_not_guarded() {
    let mut h = host(false);
    let guards = json!({"response": [{"detector": "email", "action": "block"}]});
    let err = r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad a@b.co"}}"#;
    let out = run(&mut h, guards, &anthropic_body("hi"), Response::json(400, err));
    assert_eq!(out.body, err.as_bytes());
}

#[test]
fn a_compressed_answer_cannot_be_checked_and_is_refused() {
    let guards = json!({"response": [{"detector": "email", "action": "mask"}]});
    let mut h = host(false);
    let gzip = Response::json(200, "\u{1f}\u{8b}not really gzip").header("content-encoding", "gzip");
    let out = run(&mut h, guards.clone(), &anthropic_body("hi"), gzip);
    assert_eq!(out.header(contract::HOLD_ANSWER_HEADER), Some("1"));
    assert_eq!(h.filter_state.get(contract::ANSWER_STATUS).map(Vec::as_slice), Some(&b"502"[..]));
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("compressed"));
    assert!(out.header("content-encoding").is_none());

    let mut h = host(false);
    let stream =
        Response::sse(vec![b"\x1f\x8bgarbage".to_vec(), b"more".to_vec()]).header("content-encoding", "br");
    let out = run(&mut h, guards, &anthropic_body("hi"), stream);
    let body = String::from_utf8(out.body).unwrap();
    assert!(body.starts_with("event: error\n") && body.contains("compressed"), "{body}");
    assert!(!body.contains("garbage") && !body.contains("more"));
}

/// A failover answer whose provider cannot be told: the guards cannot know how to read it, so
/// it is refused (a 502 for a complete answer, an error event ending a stream) and counted —
/// never passed on unguarded.
#[test]
fn a_failover_answer_that_cannot_be_attributed_is_refused_not_passed_unguarded() {
    let guards = json!({"response": [{"detector": "email", "action": "mask"}]});
    let contract_errors = |h: &FakeHost, reason: &str| {
        h.counters.get(&format!("portcullis_contract_errors_total;filter=prompt;reason={reason}")).copied()
    };
    // No provider header: the upstream router never ran on the attempt.
    let mut h = host(true);
    let out =
        run(&mut h, guards.clone(), &anthropic_body("hi"), anthropic_answer("write to ann@example.com"));
    assert_eq!(out.header(contract::HOLD_ANSWER_HEADER), Some("1"));
    assert_eq!(h.filter_state.get(contract::ANSWER_STATUS).map(Vec::as_slice), Some(&b"502"[..]));
    assert!(!String::from_utf8_lossy(&out.body).contains("ann@"));
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("misconfigured"), "{:?}", out.json());
    assert_eq!(contract_errors(&h, "no_answering_provider"), Some(1));

    // A header, but a plan of another version.
    let mut h = host(true);
    h.filter_state.insert(contract::ROUTE_PLAN.into(), br#"{"v":99,"plan":{}}"#.to_vec());
    let answer =
        anthropic_answer("write to ann@example.com").header(contract::RESPONSE_PROVIDER_HEADER, "anthropic");
    let out = run(&mut h, guards.clone(), &anthropic_body("hi"), answer);
    assert_eq!(h.filter_state.get(contract::ANSWER_STATUS).map(Vec::as_slice), Some(&b"502"[..]));
    assert!(!String::from_utf8_lossy(&out.body).contains("ann@"));
    assert_eq!(contract_errors(&h, "plan_version"), Some(1));

    // A stream: its text never passes; one error event instead.
    let mut h = host(true);
    h.filter_state.insert(contract::ROUTE_PLAN.into(), b"not json".to_vec());
    let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ann@example.com"}});
    let chunk = format!("event: content_block_delta\ndata: {delta}\n\n").into_bytes();
    let stream =
        Response::sse(vec![chunk.clone(), chunk]).header(contract::RESPONSE_PROVIDER_HEADER, "anthropic");
    let out = run(&mut h, guards, &anthropic_body("hi"), stream);
    let body = String::from_utf8(out.body).unwrap();
    assert!(body.starts_with("event: error\n") && body.contains("misconfigured"), "{body}");
    assert!(!body.contains("ann@"), "{body}");
    assert_eq!(body.matches("event: error").count(), 1, "{body}");
    assert_eq!(contract_errors(&h, "plan_unreadable"), Some(1));
}
