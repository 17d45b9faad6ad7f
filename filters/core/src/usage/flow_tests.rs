//! The usage flow against the in-memory host: what it counts, what it refuses, and the host
//! calls it makes.

use super::UsageConfig;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{FakeHost, Request, Response};
use crate::router::Router;
use serde_json::json;

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

const ANSWER: &str = r#"{"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"#;

fn host_for(model: &str) -> FakeHost {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision(model));
    host.filter_state.insert(contract::TENANT.into(), b"acme".to_vec());
    host
}

fn configured(config: serde_json::Value) -> std::rc::Rc<UsageConfig> {
    UsageConfig::configure(Some(config.to_string().as_bytes())).unwrap()
}

const LABELS: &str = "gen_ai_operation_name=chat;gen_ai_provider_name=openai;gen_ai_request_model=gpt-4o;gen_ai_response_model=gpt-4o-2024-08-06;tenant=acme;route=gpt-*;estimated=false";

fn chat(body: &serde_json::Value) -> Request {
    Request::json("/v1/chat/completions", &body.to_string())
}

#[test]
fn a_json_answer_is_counted_by_type_with_these_host_calls() {
    let mut host = host_for("gpt-4o");
    let config = configured(json!({"tokenizer": {"estimateMissing": false}}));
    let mut flow = config.flow();
    host.exchange(flow.as_mut(), Request::json("/v1/chat/completions", "{}"), Response::json(200, ANSWER));
    let count = |name: &str, token_type: &str| {
        host.counters.get(&format!("{name};{LABELS};gen_ai_token_type={token_type}")).copied()
    };
    assert_eq!(count("portcullis_tokens_total", "input"), Some(11));
    assert_eq!(count("portcullis_tokens_total", "output"), Some(7));
    assert_eq!(count("portcullis_tokens_total", "cache_read"), Some(4));
    assert_eq!(count("portcullis_tokens_total", "reasoning"), Some(2));
    assert_eq!(count("portcullis_tokens_total", "cache_write"), None, "zero counts add no series");
    let semconv = format!(
        "gen_ai_client_inference_usage_cache_read_input_tokens;{LABELS};gen_ai_token_modality=unknown"
    );
    assert_eq!(host.counters.get(&semconv), Some(&4));
    assert_eq!(
        host.histograms.get(&format!("gen_ai_client_inference_operation_input_tokens;{LABELS}")),
        Some(&vec![11])
    );
    let record: serde_json::Value = serde_json::from_slice(&host.filter_state[contract::USAGE]).unwrap();
    assert_eq!(record["cacheReadTokens"], 4);
    assert_eq!(record["responseModel"], "gpt-4o-2024-08-06");
    assert_eq!(record["estimated"], false);
    assert!(record.get("cost").is_none(), "no price table, no cost");
    assert_eq!(
        host.call_names(),
        [
            "filter_state", // the router's record, at the request headers
            "now",
            "filter_state", // tenant
            "header",       // :status
            "header",       // content-type
            "now",          // first byte
            "body",
            "now",
            "increment", // tokens: input, output, cache read, reasoning; each twice
            "increment",
            "increment",
            "increment",
            "increment",
            "increment",
            "increment",
            "increment",
            "record", // per-operation input and output
            "record",
            "record", // duration
            "increment",
            "set_filter_state",
        ]
    );
}

#[test]
fn previous_names_are_one_histogram_by_token_type() {
    let mut host = host_for("gpt-4o");
    let mut flow = configured(json!({"metricNames": "previous"})).flow();
    host.exchange(flow.as_mut(), chat(&json!({})), Response::json(200, ANSWER));
    assert_eq!(
        host.histograms.get(&format!("gen_ai_client_token_usage;{LABELS};gen_ai_token_type=output")),
        Some(&vec![7])
    );
    assert!(!host.counters.keys().any(|k| k.starts_with("gen_ai_client_inference")));
}

#[test]
fn cost_is_priced_per_token_type() {
    let mut host = host_for("gpt-4o");
    let config = json!({"prices": {"currency": "USD", "models": [
        {"model": "gpt-4o*", "input": 2.5, "output": 10.0, "cacheRead": 1.25}
    ]}});
    let mut flow = configured(config).flow();
    host.exchange(flow.as_mut(), chat(&json!({})), Response::json(200, ANSWER));
    // 7 plain input × 2.5 + 4 cached × 1.25 + 7 output (2 reasoning at the output price) × 10
    let micros = 7.0 * 2.5 + 4.0 * 1.25 + 70.0;
    assert_eq!(host.counters.get(&format!("portcullis_cost_micros_total;{LABELS};currency=USD")), Some(&93));
    let record: serde_json::Value = serde_json::from_slice(&host.filter_state[contract::USAGE]).unwrap();
    assert_eq!(record["cost"].as_f64(), Some(93.0 / 1e6));
    assert_eq!(micros, 92.5, "rounded to the nearest micro-unit");
    assert_eq!(record["currency"], "USD");
}

#[test]
fn model_names_the_config_does_not_spell_out_are_labelled_other() {
    let mut host = host_for("gpt-attacker-chosen-123");
    let mut flow = UsageConfig::configure(None).unwrap().flow();
    host.exchange(flow.as_mut(), Request::json("/v1/chat/completions", "{}"), Response::json(200, ANSWER));
    assert!(
        host.counters
            .keys()
            .filter(|k| k.contains("gen_ai_request_model"))
            .all(|k| k.contains("gen_ai_request_model=other;gen_ai_response_model=other;")),
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

#[test]
#[cfg(feature = "tokenizer")]
fn a_prompt_over_max_prompt_tokens_gets_400_without_an_upstream_call() {
    let config = configured(json!({"limits": [{"model": "gpt-*", "maxPromptTokens": 20}]}));
    let long =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": vec!["word"; 40].join(" ")}]});
    let mut host = host_for("gpt-4o");
    let out = host.exchange(config.flow().as_mut(), chat(&long), Response::json(200, ANSWER));
    assert_eq!(out.status, 400);
    assert!(out.upstream.is_none());
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    // 40 × " word" = 40 tokens, + 3 for the message + 3 for the reply.
    assert!(message.contains("the prompt is 46 tokens, over this route's limit of 20"), "{message}");
    assert_eq!(
        host.counters.get("portcullis_usage_refusals_total;reason=prompt_tokens;budget=unknown;route=gpt-*"),
        Some(&1)
    );
    let short = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let mut host = host_for("gpt-4o");
    let out = host.exchange(config.flow().as_mut(), chat(&short), Response::json(200, ANSWER));
    assert_eq!(out.status, 200);
}

#[test]
fn a_token_budget_admits_by_estimate_settles_by_usage_and_refuses_with_openai_headers() {
    let config = configured(json!({"budgets": [{"name": "acme-minute", "tokens": 100, "window": "minute"}]}));
    let body = json!({"model": "gpt-4o", "max_tokens": 30, "messages": [{"role": "user", "content": "hi"}]});
    let mut host = host_for("gpt-4o");
    host.now_nanos = 1_000 * 1_000_000_000;
    let out = host.exchange(config.flow().as_mut(), chat(&body), Response::json(200, ANSWER));
    assert_eq!(out.status, 200);
    // Estimate: body bytes / 3 + max_tokens 30, reserved before the provider answered.
    let estimate = (body.to_string().len() as u64).div_ceil(3) + 30;
    assert_eq!(out.header("x-ratelimit-limit-tokens"), Some("100"));
    assert_eq!(out.header("x-ratelimit-remaining-tokens"), Some((100 - estimate).to_string().as_str()));
    assert_eq!(out.header("x-ratelimit-reset-tokens"), Some("20s"));
    // Settled to the provider's 18.
    let ledger = host.shared["portcullis.budget;acme-minute;acme"].0.clone();
    assert_eq!(u64::from_le_bytes(ledger[8..16].try_into().unwrap()), 18);
    // 18 spent + another estimate fits; a third does not.
    let out = host.exchange(config.flow().as_mut(), chat(&body), Response::json(200, ANSWER));
    assert_eq!(out.status, 200);
    let big = json!({"model": "gpt-4o", "max_tokens": 90, "messages": [{"role": "user", "content": "hi"}]});
    let out = host.exchange(config.flow().as_mut(), chat(&big), Response::json(200, ANSWER));
    assert_eq!(out.status, 429);
    assert!(out.upstream.is_none());
    assert_eq!(out.json()["error"]["type"], "rate_limit_exceeded");
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("budget `acme-minute` exceeded"));
    assert_eq!(out.header("retry-after"), Some("20"));
    assert_eq!(out.header("x-ratelimit-remaining-tokens"), Some("64"));
    // The refused request reserved nothing.
    let ledger = host.shared["portcullis.budget;acme-minute;acme"].0.clone();
    assert_eq!(u64::from_le_bytes(ledger[8..16].try_into().unwrap()), 36);
    // A new window.
    host.now_nanos = 1_020 * 1_000_000_000;
    let out = host.exchange(config.flow().as_mut(), chat(&body), Response::json(200, ANSWER));
    assert_eq!(out.status, 200, "{}", String::from_utf8_lossy(&out.body));
}

#[test]
fn a_request_that_gets_no_answer_gives_its_reservation_back() {
    let config = configured(json!({"budgets": [{"name": "b", "tokens": 10000, "window": "day"}]}));
    let mut host = host_for("gpt-4o");
    let mut flow = config.flow();
    let body = json!({"model": "gpt-4o", "messages": []}).to_string();
    host.request_body = body.clone().into_bytes();
    flow.on_request_headers(&mut host, false);
    flow.on_request_body(&mut host, body.len(), true);
    assert!(!host.shared.is_empty(), "{:?}", host.calls);
    flow.on_log(&mut host);
    let ledger = host.shared["portcullis.budget;b;acme"].0.clone();
    assert_eq!(u64::from_le_bytes(ledger[8..16].try_into().unwrap()), 0);
    assert!(host
        .counters
        .keys()
        .any(|k| k.starts_with("portcullis_requests_total") && k.contains("error_type=no_response")));
}

#[test]
#[cfg(feature = "tokenizer")]
fn a_stream_cut_off_is_counted_by_the_tokenizer_and_marked_estimated() {
    let config = configured(json!({}));
    let mut host = host_for("gpt-4o");
    let mut flow = config.flow();
    let body = json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "Say hello to the world"}]})
        .to_string();
    host.request_body = body.clone().into_bytes();
    flow.on_request_headers(&mut host, false);
    flow.on_request_body(&mut host, body.len(), true);
    host.response_headers =
        vec![(":status".into(), "200".into()), ("content-type".into(), "text/event-stream".into())];
    flow.on_response_headers(&mut host, false);
    let chunk = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello world, how are\"}}],\"usage\":null}\n\n";
    host.response_body = chunk.to_vec();
    flow.on_response_body(&mut host, chunk.len(), false);
    // The connection drops: no end of stream.
    flow.on_log(&mut host);
    let record: serde_json::Value = serde_json::from_slice(&host.filter_state[contract::USAGE]).unwrap();
    assert_eq!(record["estimated"], true);
    // "Hello world, how are" is 5 tokens; the prompt's text 5 + 3 + 3.
    assert_eq!((record["inputTokens"].as_u64(), record["outputTokens"].as_u64()), (Some(11), Some(5)));
    assert!(host.counters.keys().any(|k| k.contains("estimated=true")));
    assert!(host
        .counters
        .keys()
        .any(|k| k.starts_with("portcullis_requests_total") && k.contains("error_type=stream_cut")));
    assert!(host.histograms.keys().any(|k| k.starts_with("gen_ai_server_time_to_first_token")));
}

#[test]
fn a_global_budget_holds_the_headers_sets_the_estimate_then_the_remainder() {
    use crate::http::host::Flow;
    use crate::usage::global::HITS_ADDEND;
    let config = configured(json!({"globalBudget": {"reserve": 5}, "tokenizer": {"estimateMissing": false}}));
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let mut host = host_for("gpt-4o");
    let mut flow = config.flow();
    host.request_body = body.clone().into_bytes();
    // Held: the rate limit filter after this one must not run before the addend is set.
    assert_eq!(flow.on_request_headers(&mut host, false), Flow::Pause);
    assert!(host.envoy_filter_state.is_empty());
    assert_eq!(flow.on_request_body(&mut host, body.len(), true), Flow::Continue);
    let estimate = (body.len() as u64).div_ceil(3) + 5;
    assert_eq!(host.envoy_filter_state[HITS_ADDEND], estimate.to_string());
    // The provider counted 18 (ANSWER): less than the estimate, nothing more to charge.
    host.response_headers =
        vec![(":status".into(), "200".into()), ("content-type".into(), "application/json".into())];
    flow.on_response_headers(&mut host, false);
    host.response_body = ANSWER.as_bytes().to_vec();
    flow.on_response_body(&mut host, ANSWER.len(), true);
    assert_eq!(host.envoy_filter_state[HITS_ADDEND], "0");
    flow.on_log(&mut host);
    assert_eq!(host.envoy_filter_state[HITS_ADDEND], "0");
}

#[test]
fn a_global_budget_charges_the_usage_beyond_the_estimate() {
    let config = configured(json!({"globalBudget": {"reserve": 1}}));
    let body = json!({"model": "gpt-4o", "max_tokens": 2, "messages": []});
    let mut host = host_for("gpt-4o");
    let big = ANSWER.replace(
        r#""completion_tokens":7,"total_tokens":18"#,
        r#""completion_tokens":500,"total_tokens":511"#,
    );
    let out = host.exchange(config.flow().as_mut(), chat(&body), Response::json(200, &big));
    assert_eq!(out.status, 200);
    let estimate = (body.to_string().len() as u64).div_ceil(3) + 2;
    assert_eq!(host.envoy_filter_state[crate::usage::global::HITS_ADDEND], (511 - estimate).to_string());
    assert_eq!(
        host.calls.iter().filter(|c| c.starts_with("set_envoy_filter_state")).count(),
        2,
        "once at admission, once at the end"
    );
}

#[test]
fn without_a_global_budget_no_addend_and_no_held_headers() {
    use crate::http::host::Flow;
    let config = configured(json!({}));
    let mut host = host_for("gpt-4o");
    let mut flow = config.flow();
    assert_eq!(flow.on_request_headers(&mut host, false), Flow::Continue);
    let out =
        host.exchange(config.flow().as_mut(), chat(&json!({"model": "gpt-4o"})), Response::json(200, ANSWER));
    assert_eq!(out.status, 200);
    assert!(host.envoy_filter_state.is_empty());
}

#[test]
fn a_request_with_no_answer_settles_nothing_more() {
    let config = configured(json!({"globalBudget": {}}));
    let body = json!({"model": "gpt-4o", "messages": []}).to_string();
    let mut host = host_for("gpt-4o");
    let mut flow = config.flow();
    host.request_body = body.clone().into_bytes();
    flow.on_request_headers(&mut host, false);
    flow.on_request_body(&mut host, body.len(), true);
    assert_eq!(
        host.envoy_filter_state[crate::usage::global::HITS_ADDEND],
        ((body.len() as u64).div_ceil(3) + 1024).to_string()
    );
    flow.on_log(&mut host);
    assert_eq!(host.envoy_filter_state[crate::usage::global::HITS_ADDEND], "0");
}

#[test]
fn a_request_a_local_budget_refuses_sets_no_global_addend() {
    let config = configured(json!({
        "globalBudget": {},
        "budgets": [{"name": "tiny", "tokens": 5, "window": "day"}],
    }));
    let mut host = host_for("gpt-4o");
    let out = host.exchange(
        config.flow().as_mut(),
        chat(&json!({"model": "gpt-4o", "messages": []})),
        Response::json(200, ANSWER),
    );
    assert_eq!(out.status, 429);
    assert!(host.envoy_filter_state.is_empty(), "{:?}", host.envoy_filter_state);
}

/// A failover answer whose provider cannot be told is still recorded — estimated, for the
/// provider `unknown`, its reservation kept — and counted as a contract error.
#[test]
fn a_failover_answer_that_cannot_be_attributed_is_recorded_and_charged_not_skipped() {
    let mut record: serde_json::Value = serde_json::from_slice(&decision("gpt-4o")).unwrap();
    record["failover"] = json!(true);
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), serde_json::to_vec(&record).unwrap());
    host.filter_state.insert(contract::TENANT.into(), b"acme".to_vec());
    let config = configured(json!({
        "tokenizer": {"estimateMissing": false},
        "budgets": [{"name": "b", "tokens": 10000, "window": "day"}]
    }));
    let mut flow = config.flow();
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]});
    host.exchange(flow.as_mut(), chat(&body), Response::json(200, ANSWER));
    assert_eq!(
        host.counters.get("portcullis_contract_errors_total;filter=usage;reason=no_answering_provider"),
        Some(&1)
    );
    let usage: serde_json::Value = serde_json::from_slice(&host.filter_state[contract::USAGE]).unwrap();
    assert_eq!(usage["estimated"], true);
    assert_eq!(usage["outputTokens"], 0);
    assert!(
        host.counters.keys().any(|k| k.starts_with("portcullis_requests_total") && k.contains("gen_ai_provider_name=unknown")),
        "{:?}",
        host.counters.keys().collect::<Vec<_>>()
    );
    // The reservation (the prompt plus the reserve) stays charged: not settled to the answer's
    // 18 tokens, which cannot be read, nor given back.
    let ledger = host.shared["portcullis.budget;b;acme"].0.clone();
    let spent = u64::from_le_bytes(ledger[8..16].try_into().unwrap());
    assert!(spent > 18, "spent {spent}");
}

/// Under failover the body after the router is still the client's (each attempt is translated
/// upstream): a Gemini client's output cap is read as Gemini's, not as the first provider's.
#[test]
fn under_failover_the_output_cap_is_read_in_the_clients_format() {
    let mut record: serde_json::Value = serde_json::from_slice(&decision("gpt-4o")).unwrap();
    record["failover"] = json!(true);
    record["clientApi"] = json!("gemini-generate");
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), serde_json::to_vec(&record).unwrap());
    host.filter_state.insert(contract::TENANT.into(), b"acme".to_vec());
    let config = configured(json!({"budgets": [{"name": "b", "tokens": 10000, "window": "day"}]}));
    let mut flow = config.flow();
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                      "generationConfig": {"maxOutputTokens": 77}})
    .to_string();
    host.request_body = body.clone().into_bytes();
    flow.on_request_headers(&mut host, false);
    flow.on_request_body(&mut host, body.len(), true);
    let ledger = host.shared["portcullis.budget;b;acme"].0.clone();
    let prompt = body.len().div_ceil(3) as u64;
    assert_eq!(u64::from_le_bytes(ledger[8..16].try_into().unwrap()), prompt + 77);
}
