//! Retrieval through the prompt flow, against the in-memory host: the chain of calls, the
//! context in the provider's body, what operators see, and every failure.

use super::Prompt;
use crate::contract;
use crate::http::fake_host::{FakeHost, Outcome, Request, Response};
use serde_json::{json, Value};
use std::rc::Rc;

const COLLECTION_ID: &str = "570f378e-b8da-42f5-80a3-c30ec43e5758";

fn prompt(retrieval: Value, bindings: Value) -> Rc<Prompt> {
    let config = json!({"policies": {"kb": {"retrieval": retrieval}}, "bindings": bindings});
    Prompt::configure_with_env(Some(config.to_string().as_bytes()), &|k| {
        (k == "RAG_KEY").then(|| "vk-rag".into())
    })
    .unwrap()
}

fn chroma(extra: Value) -> Value {
    let mut r = json!({
        "embeddings": {"cluster": "portcullis-self", "model": "text-embedding-3-small", "keyEnv": "RAG_KEY"},
        "store": {"chroma": {"cluster": "chroma", "collection": "docs"}},
        "topK": 2,
    });
    r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    r
}

fn everything() -> Value {
    json!([{"model": "claude-*", "policy": "kb"}])
}

/// A host whose calls are answered like the gateway's embeddings and a Chroma server.
fn host() -> FakeHost {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), super::flow_tests::decision());
    host.answer_calls(|call| {
        let path = call.header(":path").unwrap_or_default().to_string();
        let answer = if path == "/v1/embeddings" {
            json!({"data": [{"embedding": [0.1, 0.2]}]})
        } else if path.ends_with("/collections/docs") {
            json!({"id": COLLECTION_ID, "name": "docs"})
        } else if path.ends_with("/query") {
            json!({"ids": [["refunds", "shipping"]], "documents": [["Refunds take 5 days.", "We ship daily."]],
                   "distances": [[0.1, 0.6]]})
        } else {
            return None;
        };
        Some((200, answer.to_string().into_bytes()))
    });
    host
}

fn anthropic_body(text: &str) -> String {
    json!({"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
        .to_string()
}

fn run(host: &mut FakeHost, prompt: &Rc<Prompt>, body: &str) -> Outcome {
    let mut flow = prompt.flow();
    host.exchange(flow.as_mut(), Request::json("/v1/messages", body), Response::json(200, "{}"))
}

fn sent(out: &Outcome) -> Value {
    serde_json::from_slice(&out.upstream.as_ref().expect("no upstream call").1).unwrap()
}

fn paths(host: &FakeHost) -> Vec<String> {
    host.callouts.iter().map(|c| c.header(":path").unwrap_or_default().to_string()).collect()
}

#[test]
fn the_question_is_embedded_the_store_asked_and_the_context_injected() {
    let mut h = host();
    let p = prompt(chroma(json!({"documentsHeader": true, "minScore": 0.5})), everything());
    let out = run(&mut h, &p, &anthropic_body("How long do refunds take?"));
    let base = "/api/v2/tenants/default_tenant/databases/default_database/collections";
    assert_eq!(
        paths(&h),
        ["/v1/embeddings".to_string(), format!("{base}/docs"), format!("{base}/{COLLECTION_ID}/query")]
    );
    let embed = &h.callouts[0];
    assert_eq!(
        (embed.cluster.as_str(), embed.header("authorization")),
        ("portcullis-self", Some("Bearer vk-rag"))
    );
    assert_eq!(embed.json()["input"], "How long do refunds take?");
    assert_eq!(h.callouts[2].json()["query_embeddings"], json!([[0.1f32, 0.2f32]]));

    // Anthropic provider: the context is the system text; only documents above minScore.
    let system = sent(&out)["system"].as_str().unwrap().to_string();
    assert!(system.contains("<document id=\"refunds\">\nRefunds take 5 days.\n</document>"), "{system}");
    assert!(!system.contains("We ship daily"), "score 0.4 < minScore 0.5");
    assert_eq!(sent(&out)["messages"][0]["content"], "How long do refunds take?");

    assert_eq!(h.counters.get("portcullis_rag_retrievals_total;policy=kb;outcome=hit"), Some(&1));
    assert_eq!(h.histograms.get("portcullis_rag_retrieval_duration_ms;policy=kb").map(Vec::len), Some(1));
    let state: Value = serde_json::from_slice(&h.filter_state[contract::RAG]).unwrap();
    assert_eq!(state["documents"], json!([{"id": "refunds", "score": 0.9}]));
    assert!(!state.to_string().contains("Refunds take"), "ids and scores, never text");
    assert_eq!(out.header(contract::RAG_DOCUMENTS_HEADER), Some("refunds"));

    // The collection's id is kept: the next request makes two calls.
    let mut h2 = host();
    run(&mut h2, &p, &anthropic_body("again?"));
    assert_eq!(paths(&h2).len(), 2);
}

#[test]
fn a_user_placement_and_the_question_in_the_template() {
    let mut h = host();
    let p = prompt(
        chroma(json!({"placement": "user", "template": "Context:\n{{context}}\nAnswer: {{question}}"})),
        everything(),
    );
    let out = run(&mut h, &p, &anthropic_body("refunds?"));
    let messages = sent(&out)["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 2);
    let injected = messages[0]["content"].as_str().unwrap();
    assert!(
        injected.starts_with("Context:\n<document id=\"refunds\">") && injected.ends_with("Answer: refunds?")
    );
    assert_eq!(messages[1]["content"], "refunds?");
}

#[test]
fn failures_answer_without_context_or_503_as_configured() {
    // Nothing answers (as on a timeout): open answers without context.
    let mut h = FakeHost::new();
    h.filter_state.insert(contract::DECISION.into(), super::flow_tests::decision());
    let body = anthropic_body("refunds?");
    let out = run(&mut h, &prompt(chroma(json!({})), everything()), &body);
    assert_eq!(out.status, 200);
    assert_eq!(out.upstream.as_ref().unwrap().1, body.as_bytes(), "sent as the client wrote it");
    assert_eq!(h.counters.get("portcullis_rag_retrievals_total;policy=kb;outcome=error"), Some(&1));
    assert_eq!(paths(&h), ["/v1/embeddings"], "no store call without a vector");

    // Closed: 503 in the client's (OpenAI) shape, no provider call.
    let mut h = FakeHost::new();
    h.filter_state.insert(contract::DECISION.into(), super::flow_tests::decision());
    let out = run(&mut h, &prompt(chroma(json!({"failureMode": "closed"})), everything()), &body);
    assert_eq!(out.status, 503);
    assert!(out.upstream.is_none());
    assert_eq!(out.json()["error"]["message"], "retrieval is unavailable");

    // The store fails after the embeddings answered; and a cluster Envoy does not know.
    for unknown in [false, true] {
        let mut h = host();
        if unknown {
            h.unknown_clusters.push("chroma".into());
        } else {
            h.answer_calls(|call| match call.header(":path") {
                Some("/v1/embeddings") => Some((200, br#"{"data":[{"embedding":[1]}]}"#.to_vec())),
                _ => Some((500, b"{}".to_vec())),
            });
        }
        let out = run(&mut h, &prompt(chroma(json!({"failureMode": "closed"})), everything()), &body);
        assert_eq!(out.status, 503, "unknown cluster: {unknown}");
    }
}

#[test]
fn no_question_no_policy_or_no_documents_make_no_change() {
    // No user text: skipped, no call.
    let mut h = host();
    let p = prompt(chroma(json!({})), everything());
    let body =
        json!({"model": "claude-x", "max_tokens": 5, "messages": [{"role": "assistant", "content": "hi"}]})
            .to_string();
    let out = run(&mut h, &p, &body);
    assert!(h.callouts.is_empty());
    assert_eq!(out.upstream.unwrap().1, body.as_bytes());
    assert_eq!(h.counters.get("portcullis_rag_retrievals_total;policy=kb;outcome=skipped"), Some(&1));

    // A route no binding names: no retrieval call, the body is not even read.
    let mut h = host();
    let p = prompt(chroma(json!({})), json!([{"model": "gpt-*", "policy": "kb"}]));
    run(&mut h, &p, &anthropic_body("refunds?"));
    assert!(h.callouts.is_empty());
    assert_eq!(h.call_names(), ["filter_state"]);

    // Nothing scores high enough: the body goes unchanged.
    let mut h = host();
    let body = anthropic_body("refunds?");
    let out = run(&mut h, &prompt(chroma(json!({"minScore": 0.95})), everything()), &body);
    assert_eq!(out.upstream.unwrap().1, body.as_bytes());
    assert_eq!(h.counters.get("portcullis_rag_retrievals_total;policy=kb;outcome=empty"), Some(&1));
}

#[test]
fn a_generic_store_that_embeds_itself() {
    let mut h = FakeHost::new();
    h.filter_state.insert(contract::DECISION.into(), super::flow_tests::decision());
    h.answer_calls(|call| {
        assert_eq!(call.json(), json!({"query": "refunds?", "topK": 3, "policy": "kb"}));
        Some((200, br#"{"documents":[{"id":"r","text":"Refunds take 5 days.","score":0.8}]}"#.to_vec()))
    });
    let p = prompt(json!({"store": {"http": {"cluster": "kb", "path": "/retrieve"}}}), everything());
    let out = run(&mut h, &p, &anthropic_body("refunds?"));
    assert!(sent(&out)["system"].as_str().unwrap().contains("Refunds take 5 days."));
}

#[test]
fn a_long_question_is_cut_before_it_is_embedded() {
    let mut h = host();
    let p = prompt(chroma(json!({"maxQueryChars": 5})), everything());
    run(&mut h, &p, &anthropic_body("ééééééééé"));
    assert_eq!(h.callouts[0].json()["input"], "ééééé");
}

#[test]
fn a_providers_copy_of_the_documents_header_never_passes() {
    for documents_header in [true, false] {
        let mut h = host();
        let p = prompt(chroma(json!({"documentsHeader": documents_header})), everything());
        let mut flow = p.flow();
        let answer = Response::json(200, "{}").header(contract::RAG_DOCUMENTS_HEADER, "forged");
        let out =
            h.exchange(flow.as_mut(), Request::json("/v1/messages", &anthropic_body("refunds?")), answer);
        let expected = documents_header.then_some("refunds,shipping");
        assert_eq!(out.header(contract::RAG_DOCUMENTS_HEADER), expected);
    }
}

#[test]
fn a_recreated_collection_is_found_again_within_the_request() {
    let p = prompt(chroma(json!({})), everything());
    run(&mut host(), &p, &anthropic_body("refunds?")); // resolves and keeps the id
    let mut h = FakeHost::new();
    h.filter_state.insert(contract::DECISION.into(), super::flow_tests::decision());
    h.answer_calls(|call| {
        let path = call.header(":path").unwrap_or_default();
        let answer = if path == "/v1/embeddings" {
            json!({"data": [{"embedding": [0.1]}]})
        } else if path.ends_with("/collections/docs") {
            json!({"id": "0000aaaa-0000-4000-8000-000000000000"})
        } else if path.contains(COLLECTION_ID) {
            return Some((404, br#"{"error":"NotFoundError"}"#.to_vec()));
        } else {
            json!({"ids": [["new"]], "documents": [["New text."]], "distances": [[0.0]]})
        };
        Some((200, answer.to_string().into_bytes()))
    });
    let out = run(&mut h, &p, &anthropic_body("refunds?"));
    assert_eq!(paths(&h).len(), 4, "embed, stale query, resolve, query: {:?}", paths(&h));
    assert!(sent(&out)["system"].as_str().unwrap().contains("New text."));
}

#[test]
fn the_query_can_span_the_last_user_turns() {
    let body = json!({"model": "claude-x", "max_tokens": 5, "messages": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "What about refunds?"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "text", "text": "shipping?"}]}]})
    .to_string();
    let mut h = host();
    run(&mut h, &prompt(chroma(json!({"queryTurns": 2})), everything()), &body);
    assert_eq!(h.callouts[0].json()["input"], "What about refunds?\nand\nshipping?");
    let mut h = host();
    run(&mut h, &prompt(chroma(json!({})), everything()), &body);
    assert_eq!(h.callouts[0].json()["input"], "and\nshipping?", "default: the last turn");
    let err = Prompt::configure_with_env(
        Some(
            json!({"policies": {"kb": {"retrieval": chroma(json!({"queryTurns": 0}))}}})
                .to_string()
                .as_bytes(),
        ),
        &|k| (k == "RAG_KEY").then(|| "vk-rag".into()),
    )
    .unwrap_err();
    assert_eq!(err.path, "policies.kb.retrieval.queryTurns");
}
