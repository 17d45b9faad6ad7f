//! The router's flows against the in-memory host: behaviour per request kind, and the exact
//! host calls each kind makes. A change that adds a call to the hot path fails here.

use super::attempt::AttemptFlow;
use super::flow::RouterFlow;
use super::Router;
use crate::contract;
use crate::http::fake_host::{FakeHost, Outcome, Request, Response};
use serde_json::{json, Value};
use std::rc::Rc;

const CONFIG: &str = r#"{
    "providers": {
        "openai": {"kind": "openai"},
        "anthropic": {"kind": "anthropic"},
        "gemini": {"kind": "gemini"},
        "azure": {"kind": "azure", "host": "acme.openai.azure.com"}
    },
    "routes": [
        {"model": "gpt-*", "provider": "openai", "models": ["gpt-4o"]},
        {"model": "claude-*", "provider": "anthropic"},
        {"model": "gemini-*", "provider": "gemini"},
        {"model": "azure-*", "provider": "azure"},
        {"model": "resilient", "provider": "openai", "upstreamModel": "gpt-4o",
         "fallbacks": [{"provider": "anthropic", "model": "claude-haiku-4-5"}],
         "failoverCluster": "resilient-failover"}
    ]
}"#;

fn router() -> Rc<Router> {
    Rc::new(Router::configure(Some(CONFIG.as_bytes())).unwrap())
}

fn run(request: Request, upstream: Response) -> (FakeHost, Outcome) {
    let mut host = FakeHost::new();
    let mut flow = RouterFlow::new(router());
    let outcome = host.exchange(&mut flow, request, upstream);
    (host, outcome)
}

fn chat(model: &str, extra: Value) -> String {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body.to_string()
}

fn openai_answer() -> Response {
    Response::json(
        200,
        r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
    )
}

fn anthropic_answer() -> Response {
    Response::json(
        200,
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#,
    )
}

#[test]
fn a_plain_chat_request_makes_these_host_calls() {
    let (host, out) = run(Request::json("/v1/chat/completions", &chat("gpt-4o", json!({}))), openai_answer());
    assert_eq!(out.status, 200);
    let (up, body) = out.upstream.clone().unwrap();
    assert_eq!(up.get(":authority"), Some("api.openai.com"));
    assert_eq!(up.get("x-portcullis-cluster"), Some("openai"));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["model"], "gpt-4o");
    assert_eq!(
        host.calls,
        [
            "headers(request)",
            // body complete: plan and apply (the client's path is already the provider's)
            "body(request)",
            "set_header(request, :authority)",
            "set_header(request, x-portcullis-cluster)",
            "clear_route_cache",
            "set_filter_state(portcullis.provider)",
            "set_filter_state(portcullis.model)",
            "set_filter_state(portcullis.decision)",
            "set_filter_state(portcullis.request_model)",
            "set_filter_state(portcullis.route)",
            // response: who answered, then pass the body untouched
            "headers(response)",
            "set_header(response, x-portcullis-provider)",
            "set_header(response, x-portcullis-attempts)",
            "set_filter_state(portcullis.attempts)",
        ]
    );
    assert_eq!(out.header("x-portcullis-provider"), Some("openai"));
}

#[test]
fn a_translated_request_rewrites_path_body_and_answer() {
    let (host, out) =
        run(Request::json("/v1/chat/completions", &chat("claude-haiku-4-5", json!({}))), anthropic_answer());
    let (up, body) = out.upstream.clone().unwrap();
    assert_eq!(up.get(":path"), Some("/v1/messages"));
    assert_eq!(up.get(contract_original_path()), Some("/v1/chat/completions"));
    assert_eq!(up.get("content-length"), Some(body.len().to_string().as_str()));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["max_tokens"], 4096);
    let answer = out.json();
    assert_eq!(answer["choices"][0]["message"]["content"], "hello");
    assert_eq!(out.header("content-length"), Some(out.body.len().to_string().as_str()));
    assert_eq!(
        host.call_names(),
        [
            "headers",
            "body",
            "set_header", // x-envoy-original-path
            "set_header", // :path
            "set_header", // :authority
            "set_header", // cluster
            "clear_route_cache",
            "set_filter_state",
            "set_filter_state",
            "set_filter_state",
            "set_filter_state",
            "set_filter_state",
            "replace_body",
            "set_header", // content-length
            "headers",
            "set_header",
            "set_header",
            "set_filter_state",
            "set_header",    // content-type
            "remove_header", // content-length, until the answer is complete
            // the answer, held until complete, then translated
            "body",
            "set_header", // content-length
            "replace_body",
        ]
    );
}

fn contract_original_path() -> &'static str {
    super::flow::ORIGINAL_PATH
}

#[test]
fn a_translated_stream_is_not_held() {
    let events = vec![
        b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":2,\"output_tokens\":0}}}\n\n".to_vec(),
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"he\"}}\n\n".to_vec(),
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_vec(),
    ];
    let request = Request::json("/v1/chat/completions", &chat("claude-x", json!({"stream": true})));
    let (host, out) = run(request, Response::sse(events));
    let text = String::from_utf8(out.body.clone()).unwrap();
    assert!(text.contains(r#""content":"he""#) && text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(out.header("content-type"), Some("text/event-stream"));
    let response_calls: Vec<&str> =
        host.calls.iter().skip_while(|c| *c != "headers(response)").map(String::as_str).collect();
    assert_eq!(
        response_calls,
        [
            "headers(response)",
            "set_header(response, x-portcullis-provider)",
            "set_header(response, x-portcullis-attempts)",
            "set_filter_state(portcullis.attempts)",
            "set_header(response, content-type)",
            "remove_header(response, content-length)",
            "body(response)",
            "replace_body(response)",
            "body(response)",
            "replace_body(response)",
            "body(response)",
            "replace_body(response)",
        ]
    );
}

#[test]
fn an_untranslatable_answer_becomes_a_502_in_the_clients_shape() {
    for body in ["<html>oops</html>", "[1,2]", "{\"content\":7}", "{\"error\":{\"message\":\"quota\"}}", ""] {
        let upstream =
            Response::new(200).header("content-type", "application/json").chunks(vec![body.into()]);
        let (_, out) = run(Request::json("/v1/chat/completions", &chat("claude-x", json!({}))), upstream);
        assert_eq!(out.status, 502, "{body:?}: {}", String::from_utf8_lossy(&out.body));
        assert!(out.json()["error"]["message"].is_string(), "{body:?}");
        assert_eq!(out.header("content-length"), Some(out.body.len().to_string().as_str()));
        assert!(!out.stalled);
    }
    let upstream = Response::json(200, "{\"error\":{\"message\":\"quota exceeded\"}}");
    let request = Request::json(
        "/v1/messages",
        r#"{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    let (_, out) = run(request, upstream);
    assert_eq!((out.status, out.json()["type"].as_str()), (502, Some("error")));
    assert_eq!(out.json()["error"]["message"], "quota exceeded");
}

#[test]
fn provider_errors_reach_the_client_in_its_shape() {
    // Already in the client's shape: passes as sent (OpenAI's `code` survives).
    let sent = r#"{"error":{"message":"too long","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#;
    let (_, out) =
        run(Request::json("/v1/chat/completions", &chat("gpt-4o", json!({}))), Response::json(400, sent));
    assert_eq!((out.status, out.body.as_slice()), (400, sent.as_bytes()));
    // HTML from a proxy in front of the provider: wrapped.
    let html =
        Response::new(502).header("content-type", "text/html").chunks(vec![b"<html>bad</html>".to_vec()]);
    let (_, out) = run(Request::json("/v1/chat/completions", &chat("gpt-4o", json!({}))), html);
    assert_eq!(out.status, 502);
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("<html>bad</html>"));
    // An empty error body, on a Gemini client: the gateway answers in Gemini's shape.
    let request = Request::json(
        "/v1beta/models/gpt-4o:generateContent",
        r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
    );
    let (_, out) = run(request, Response::new(503));
    assert_eq!((out.status, out.json()["error"]["status"].as_str()), (503, Some("UNAVAILABLE")));
}

#[test]
fn envoys_plain_text_replies_are_rendered_in_the_clients_shape() {
    let mut reset = Response::new(503)
        .header("content-type", "text/plain")
        .chunks(vec![b"upstream connect error or disconnect/reset before headers".to_vec()]);
    reset.details = "upstream_reset_before_response_started{connection_failure}".into();
    let (_, out) =
        run(Request::json("/v1/messages", r#"{"model":"claude-x","max_tokens":5,"messages":[]}"#), reset);
    assert_eq!(out.status, 503);
    assert_eq!(out.json()["type"], "error");
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("upstream connect error"));
}

#[test]
fn refusals_make_one_call_and_never_reach_upstream() {
    for (request, status) in [
        (Request::json("/v1/chat/completions", &chat("gemini-x/../../v1beta/files", json!({}))), 400),
        (Request::json("/v1/chat/completions", &chat("azure-x?api-version=1", json!({}))), 400),
        (Request::json("/v1/chat/completions", &chat("gpt-4o\r\nx: 1", json!({}))), 400),
        (Request::json("/v1/chat/completions", &chat("llama-3", json!({}))), 404),
        (Request::json("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[\"\u{fffd}\"]}"), 200),
        (Request::json("/v1/chat/completions", "[]"), 400),
    ] {
        let (host, out) = run(request, openai_answer());
        assert_eq!(out.status, status, "{}", String::from_utf8_lossy(&out.body));
        if status != 200 {
            assert!(out.upstream.is_none());
            assert_eq!(host.call_names(), ["headers", "body", "send_reply"]);
        }
    }
    let invalid_utf8 =
        Request::new("POST", "/v1/chat/completions").body(b"{\"model\":\"gpt-4o\",\"x\":\"\xff\"}".to_vec());
    let (_, out) = run(invalid_utf8, openai_answer());
    assert_eq!(out.status, 400);
    assert!(out.upstream.is_none());
}

#[test]
fn paths_of_other_apis_are_refused_in_their_shape_and_query_keys_leave_every_path() {
    let (host, out) = run(Request::json("/v1beta/models/g:countTokens?key=secret-vk", "{}"), openai_answer());
    assert_eq!((out.status, out.json()["error"]["status"].as_str()), (501, Some("UNIMPLEMENTED")));
    assert!(host.calls.contains(&"set_header(request, x-goog-api-key)".to_string()));
    // Not an API the gateway speaks: left to Envoy, still without the key.
    let (_, out) = run(Request::new("GET", "/healthz?key=secret-vk"), Response::new(200));
    let (up, _) = out.upstream.unwrap();
    assert_eq!((up.get(":path"), up.get("x-goog-api-key")), (Some("/healthz"), Some("secret-vk")));
}

#[test]
fn internal_headers_from_a_client_are_removed() {
    let request = Request::json("/v1/chat/completions", &chat("gpt-4o", json!({})))
        .header("x-portcullis-cluster", "anthropic")
        .header("x-portcullis-anything", "1")
        .header("x-envoy-original-path", "/forged");
    let (_, out) = run(request, openai_answer());
    let (up, _) = out.upstream.unwrap();
    assert_eq!(up.get("x-portcullis-cluster"), Some("openai"));
    assert_eq!((up.get("x-portcullis-anything"), up.get("x-envoy-original-path")), (None, None));
}

#[test]
fn a_model_list_passes_the_chain_and_is_answered_on_the_way_back() {
    let mut host = FakeHost::new();
    let mut flow = RouterFlow::new(router());
    // Envoy's own answer for the cluster that does not exist, replaced by the list.
    let mut no_cluster = Response::new(503).chunks(vec![b"no healthy upstream".to_vec()]);
    no_cluster.details = "cluster_not_found".into();
    let out = host.exchange(
        &mut flow,
        Request::new("GET", "/v1/models").header("anthropic-version", "2023-06-01"),
        no_cluster,
    );
    assert_eq!(out.status, 200);
    let list = out.json();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gpt-4o", "resilient"]);
    // A filter after the router refused it (401): that answer stands.
    let mut host = FakeHost::new();
    let mut flow = RouterFlow::new(router());
    let mut refused = Response::json(401, "{\"error\":{}}");
    refused.details = crate::http::host::LOCAL_REPLY_DETAILS.into();
    assert_eq!(host.exchange(&mut flow, Request::new("GET", "/v1/models"), refused).status, 401);
}

#[test]
fn a_failover_request_hands_its_plan_to_the_attempts() {
    let (host, out) =
        run(Request::json("/v1/chat/completions", &chat("resilient", json!({}))), openai_answer());
    let (up, body) = out.upstream.unwrap();
    assert_eq!(up.get("x-portcullis-cluster"), Some("resilient-failover"));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["model"],
        "resilient",
        "translated per attempt"
    );
    assert!(host.filter_state.contains_key(contract::ROUTE_PLAN));
    assert_eq!(host.filter_state.get(contract::REQUEST_BODY).map(Vec::as_slice), Some(body.as_slice()));

    // The upstream instance, for the attempt Envoy sent to Anthropic.
    let mut attempt_host = FakeHost::new();
    attempt_host.filter_state = host.filter_state.clone();
    attempt_host.properties.insert(
        "xds/upstream_host_metadata/filter_metadata/portcullis/provider".into(),
        b"anthropic".to_vec(),
    );
    let mut flow = AttemptFlow::default();
    let out = attempt_host.exchange(
        &mut flow,
        Request::json("/v1/chat/completions", "{\"rewritten\":1}"),
        anthropic_answer(),
    );
    let (up, body) = out.upstream.clone().unwrap();
    assert_eq!((up.get(":path"), up.get(":authority")), (Some("/v1/messages"), Some("api.anthropic.com")));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["model"],
        "claude-haiku-4-5",
        "from the original"
    );
    assert_eq!(out.header("x-portcullis-provider"), Some("anthropic"));
    assert_eq!(
        attempt_host.calls,
        [
            "filter_state(portcullis.route_plan)",
            "property(xds/upstream_host_metadata/filter_metadata/portcullis/provider)",
            "set_header(request, :path)",
            "set_header(request, :authority)",
            "remove_header(request, content-length)",
            "set_filter_state(portcullis.attempt_provider)",
            "filter_state(portcullis.request_body)",
            "replace_body(request)",
            "set_header(response, x-portcullis-provider)",
        ]
    );
}

#[test]
fn a_request_without_a_failover_plan_costs_the_upstream_instance_two_calls() {
    // Without a plan the instance is on a Bedrock cluster: one call to find no plan, one to see
    // whether the answer is an event stream.
    let mut host = FakeHost::new();
    let mut flow = AttemptFlow::default();
    host.exchange(&mut flow, Request::json("/v1/chat/completions", "{}"), openai_answer());
    assert_eq!(host.calls, ["filter_state(portcullis.route_plan)", "header(response, content-type)"]);
}

#[test]
fn a_bedrock_event_stream_leaves_the_upstream_instance_as_sse() {
    fn frame(event: &str, payload: &str) -> Vec<u8> {
        let headers: Vec<u8> =
            [(":event-type", event), (":content-type", "application/json"), (":message-type", "event")]
                .iter()
                .flat_map(|(n, v)| {
                    let mut h = vec![n.len() as u8];
                    h.extend_from_slice(n.as_bytes());
                    h.push(7);
                    h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                    h.extend_from_slice(v.as_bytes());
                    h
                })
                .collect();
        let mut out =
            ([16, headers.len(), payload.len()].iter().sum::<usize>() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
        out.extend_from_slice(&headers);
        out.extend_from_slice(payload.as_bytes());
        out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
        out
    }
    let bytes = [
        frame("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#),
        frame("messageStop", r#"{"stopReason":"end_turn"}"#),
    ]
    .concat();
    // Cut mid-frame: the first piece completes nothing.
    let answer = Response::new(200)
        .header("content-type", "application/vnd.amazon.eventstream")
        .header("content-length", &bytes.len().to_string())
        .chunks(vec![bytes[..10].to_vec(), bytes[10..].to_vec()]);
    let mut host = FakeHost::new();
    let out =
        host.exchange(&mut AttemptFlow::default(), Request::json("/model/m/converse-stream", "{}"), answer);
    assert_eq!(out.header("content-type"), Some("text/event-stream"));
    assert_eq!(out.header("content-length"), None);
    assert_eq!(
        String::from_utf8(out.body).unwrap(),
        "event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"text\":\"hi\"}}\n\nevent: messageStop\ndata: {\"stopReason\":\"end_turn\"}\n\n"
    );
}

#[test]
fn stalls_never_happen_on_any_answer_split() {
    // The answer arrives in many pieces; held bodies are rendered once, at the end.
    let body = r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    for size in [1, 7, 50] {
        let chunks = body.as_bytes().chunks(size).map(<[u8]>::to_vec).collect();
        let upstream = Response::new(200).header("content-type", "application/json").chunks(chunks);
        let (_, out) = run(Request::json("/v1/chat/completions", &chat("claude-x", json!({}))), upstream);
        assert!(!out.stalled);
        assert_eq!(out.json()["choices"][0]["message"]["content"], "hello");
    }
}

#[test]
fn a_template_choice_leaves_the_body_and_travels_in_the_record() {
    let body = chat("gpt-4o", json!({"template": "support", "variables": {"question": "hi"}}));
    let (host, out) = run(Request::json("/v1/chat/completions", &body), openai_answer());
    let (_, sent) = out.upstream.unwrap();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert!(sent.get("template").is_none() && sent.get("variables").is_none(), "{sent}");
    let record: Value = serde_json::from_slice(&host.filter_state[contract::DECISION]).unwrap();
    assert_eq!(record["template"], json!({"name": "support", "variables": {"question": "hi"}}));
    assert_eq!(record["route"], "gpt-*");

    // By header (removed before the request leaves), on a translated route.
    let request = Request::json("/v1/chat/completions", &chat("claude-x", json!({})))
        .header("x-prompt-template", "support")
        .header("x-prompt-template-variables", r#"{"question":"by header"}"#);
    let (host, out) = run(request, anthropic_answer());
    let (up, _) = out.upstream.unwrap();
    assert_eq!((up.get("x-prompt-template"), up.get("x-prompt-template-variables")), (None, None));
    let record: Value = serde_json::from_slice(&host.filter_state[contract::DECISION]).unwrap();
    assert_eq!(record["template"]["variables"]["question"], "by header");

    for (request, words) in [
        (
            Request::json("/v1/chat/completions", &chat("gpt-4o", json!({"variables": {"a": "b"}}))),
            "without `template`",
        ),
        (Request::json("/v1/chat/completions", &chat("gpt-4o", json!({"template": 7}))), "not valid JSON"),
        (
            Request::json("/v1/chat/completions", &chat("gpt-4o", json!({})))
                .header("x-prompt-template", "t")
                .header("x-prompt-template-variables", "nope"),
            "not a JSON object",
        ),
    ] {
        let (_, out) = run(request, openai_answer());
        assert_eq!(out.status, 400);
        assert!(out.json()["error"]["message"].as_str().unwrap().contains(words), "{}", out.json());
    }
}

#[test]
fn answers_are_asked_for_uncompressed() {
    // The answer is read on its way back; a compressed one could be neither translated, counted
    // nor guarded.
    let request = Request::json("/v1/chat/completions", &chat("gpt-4o", json!({})))
        .header("accept-encoding", "gzip, deflate, br, zstd");
    let (_, out) = run(request, openai_answer());
    let (headers, _) = out.upstream.unwrap();
    assert_eq!(headers.get("accept-encoding"), None);
}

#[test]
fn internal_headers_from_a_provider_are_removed_but_retrievals_own_stays() {
    let answer =
        || openai_answer().header("x-portcullis-anything", "1").header(contract::RAG_DOCUMENTS_HEADER, "a,b");
    let request = || Request::json("/v1/chat/completions", &chat("gpt-4o", json!({})));
    let (_, out) = run(request(), answer());
    assert_eq!(
        (out.header("x-portcullis-anything"), out.header(contract::RAG_DOCUMENTS_HEADER)),
        (None, None)
    );
    // After a retrieval the prompt filter (before the router on the way back) owns the header.
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::RAG.into(), b"{}".to_vec());
    let out = host.exchange(&mut RouterFlow::new(router()), request(), answer());
    assert_eq!(
        (out.header("x-portcullis-anything"), out.header(contract::RAG_DOCUMENTS_HEADER)),
        (None, Some("a,b"))
    );
}

#[test]
fn a_failover_answer_that_does_not_say_who_served_it_is_refused_not_guessed() {
    let request = || Request::json("/v1/chat/completions", &chat("resilient", json!({})));
    // The upstream router ran: Anthropic's answer, translated for the OpenAI client.
    let (_, out) = run(request(), anthropic_answer().header(contract::RESPONSE_PROVIDER_HEADER, "anthropic"));
    assert_eq!(out.status, 200);
    assert_eq!(out.json()["choices"][0]["message"]["content"], "hello");

    // It did not (a cluster without it): the body's API is unknown, so nothing is translated
    // as if the first attempt had answered.
    for (answer, reason) in [
        (anthropic_answer(), "no_answering_provider"),
        (anthropic_answer().header(contract::RESPONSE_PROVIDER_HEADER, "gemini"), "unknown_provider"),
    ] {
        let (host, out) = run(request(), answer);
        assert_eq!(out.status, 502, "{reason}");
        assert!(
            out.json()["error"]["message"].as_str().unwrap().contains("misconfigured"),
            "{:?}",
            out.json()
        );
        assert_eq!(
            host.counters.get(&format!("portcullis_contract_errors_total;filter=router;reason={reason}")),
            Some(&1)
        );
    }
    // Errors stay errors: Envoy's own replies under failover carry no provider either.
    let (host, out) = run(request(), Response::json(503, "no healthy upstream"));
    assert_eq!(out.status, 503);
    assert!(host.counters.is_empty());
}

#[test]
fn an_unusable_plan_stops_the_attempt_before_any_provider_call() {
    for (plan, reason) in [
        (b"{\"v\":99,\"plan\":{}}".to_vec(), "plan_version"),
        (b"{\"route\":\"x\"}".to_vec(), "plan_version"),
        (b"{\"v\":1,\"plan\":7}".to_vec(), "plan_unreadable"),
    ] {
        let mut host = FakeHost::new();
        host.filter_state.insert(contract::ROUTE_PLAN.into(), plan);
        let mut flow = AttemptFlow::default();
        let out = host.exchange(&mut flow, Request::json("/v1/chat/completions", "{}"), openai_answer());
        assert!(out.upstream.is_none(), "{reason}");
        assert_eq!(out.status, 500);
        assert_eq!(
            host.counters.get(&format!("portcullis_contract_errors_total;filter=router;reason={reason}")),
            Some(&1)
        );
        assert!(!host.filter_state.contains_key(contract::ATTEMPT_PROVIDER));
    }
}
