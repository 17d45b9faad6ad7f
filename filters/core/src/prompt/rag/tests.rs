//! Retrieval's pieces: config errors with field paths, the template, selection and the context
//! cap, injection in every wire format, and reading each store's answers.

use super::context::{Cap, Injection, Placement};
use super::store::{Store, StoreCall};
use super::{embed, Document, Retrieval};
use crate::common::config::ConfigError;
use crate::llm::api::WireApi;
use crate::llm::view::RequestView;
use serde_json::{json, Value};

fn env(name: &str) -> Option<String> {
    match name {
        "RAG_KEY" => Some("vk-rag".into()),
        "CHROMA_TOKEN" => Some("ct-1".into()),
        _ => None,
    }
}

fn chroma() -> Value {
    json!({"chroma": {"cluster": "chroma", "collection": "docs"}})
}

fn embeddings() -> Value {
    json!({"cluster": "portcullis-self", "model": "text-embedding-3-small", "keyEnv": "RAG_KEY"})
}

fn compile(config: Value) -> Result<Retrieval, ConfigError> {
    Retrieval::compile(
        serde_json::from_value(config).map_err(|e| ConfigError::new("", e.to_string()))?,
        "r",
        &env,
    )
}

fn body(call: &crate::prompt::guard::remote::Call) -> Value {
    serde_json::from_slice(&call.body).unwrap()
}

fn doc(id: &str, text: &str, score: f64) -> Document {
    Document { id: id.into(), text: text.into(), score }
}

#[test]
fn config_errors_name_the_field() {
    let err = |config: Value| compile(config).unwrap_err().path;
    assert_eq!(err(json!({"store": chroma()})), "r.embeddings", "Chroma is queried by vector");
    let base = |extra: Value| {
        let mut c = json!({"store": chroma(), "embeddings": embeddings()});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c
    };
    assert!(compile(base(json!({}))).is_ok());
    assert_eq!(err(base(json!({"topK": 0}))), "r.topK");
    assert_eq!(err(base(json!({"minScore": 2.0}))), "r.minScore");
    assert_eq!(err(base(json!({"maxContextChars": 0}))), "r.maxContextChars");
    assert_eq!(err(base(json!({"maxContextTokens": 0}))), "r.maxContextTokens");
    assert_eq!(err(base(json!({"template": "no placeholder"}))), "r.template");
    assert_eq!(err(base(json!({"template": "{{context}} {{who}}"}))), "r.template");
    assert_eq!(err(base(json!({"template": "{{context"}))), "r.template");
    let mut e = embeddings();
    e["keyEnv"] = json!("UNSET");
    assert_eq!(err(json!({"store": chroma(), "embeddings": e})), "r.embeddings.keyEnv");
    e["keyEnv"] = json!("sk-live-pasted");
    let pasted = compile(json!({"store": chroma(), "embeddings": e})).unwrap_err();
    assert!(!pasted.message.contains("sk-live"), "{pasted:?}");
    let bad_collection = json!({"chroma": {"cluster": "chroma", "collection": "../x"}});
    assert_eq!(
        err(json!({"store": bad_collection, "embeddings": embeddings()})),
        "r.store.chroma.collection"
    );
    let no_cluster = json!({"chroma": {"cluster": "a b", "collection": "docs"}});
    assert_eq!(err(json!({"store": no_cluster, "embeddings": embeddings()})), "r.store.chroma.cluster");
    let http = json!({"http": {"cluster": "kb", "path": "retrieve"}});
    assert_eq!(err(json!({"store": http})), "r.store.http.path");
    let token = json!({"http": {"cluster": "kb", "path": "/retrieve", "tokenEnv": "UNSET"}});
    assert_eq!(err(json!({"store": token})), "r.store.http.tokenEnv");
    assert!(
        compile(json!({"store": {"http": {"cluster": "kb", "path": "/retrieve"}}})).is_ok(),
        "embeds itself"
    );
}

#[test]
fn the_template_is_split_once_so_placeholders_in_documents_stay_text() {
    let cap = Cap::compile(None, None, "r").unwrap();
    let t =
        Injection::compile("Q: {{question}}\n{{ context }}", Placement::System, cap, "r.template").unwrap();
    assert_eq!(
        t.render("doc says {{question}}", "why {{context}}?"),
        "Q: why {{context}}?\ndoc says {{question}}"
    );
}

#[test]
fn selection_keeps_the_best_documents_above_the_minimum() {
    let docs = vec![
        doc("a", "A", 0.2),
        doc("b", "B", 0.9),
        doc("c", "C", 0.5),
        doc("e", "", 0.99),
        doc("n", "N", f64::NAN),
    ];
    let ids = |d: Vec<Document>| d.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(Injection::select(docs.clone(), None, 10)), ["b", "c", "a"]);
    assert_eq!(ids(Injection::select(docs.clone(), Some(0.4), 10)), ["b", "c"]);
    assert_eq!(ids(Injection::select(docs, None, 1)), ["b"]);
}

#[test]
fn the_context_cap_cuts_the_document_that_crosses_it_and_stops() {
    let docs = [doc("a", "alpha", 0.9), doc("b", "bravo", 0.8), doc("c", "charlie", 0.7)];
    let whole = |chars: usize| {
        let cap = Cap::compile(Some(chars), None, "r").unwrap();
        Injection::compile("{{context}}", Placement::System, cap, "r").unwrap()
    };
    let (all, used) = whole(10_000).render_context(&docs);
    assert_eq!(used.len(), 3);
    assert_eq!(all, "<document id=\"a\">\nalpha\n</document>\n<document id=\"b\">\nbravo\n</document>\n<document id=\"c\">\ncharlie\n</document>");
    let first = "<document id=\"a\">\nalpha\n</document>".chars().count();
    let (cut, used) = whole(first + 10).render_context(&docs);
    assert_eq!(cut.chars().count(), first + 10);
    assert_eq!(used.len(), 2, "the second document is in, cut");
    let (exact, used) = whole(first).render_context(&docs);
    assert_eq!((exact.chars().count(), used.len()), (first, 1));
    // Tokens count 4 characters each; with both caps the smaller wins.
    assert_eq!(Cap::compile(Some(100), Some(10), "r").unwrap().chars, 40);
    assert_eq!(Cap::compile(None, None, "r").unwrap().chars, super::DEFAULT_MAX_CONTEXT_CHARS);
    // Multi-byte text is cut at a character, never inside one.
    let (wide, _) = whole(20).render_context(&[doc("ü", "ééééééééééééééééé", 1.0)]);
    assert_eq!(wide.chars().count(), 20);
    // An id cannot close its attribute or break the line.
    let (quoted, _) = whole(100).render_context(&[doc("a\"b\nc", "t", 1.0)]);
    assert!(quoted.starts_with("<document id=\"a_b_c\">"), "{quoted}");
}

fn inject(api: WireApi, body: Value, placement: Placement) -> Value {
    let cap = Cap::compile(None, None, "r").unwrap();
    let injection = Injection::compile("CTX {{context}}", placement, cap, "r").unwrap();
    let mut view = RequestView::parse(api, body.to_string().as_bytes()).unwrap();
    injection.inject(&mut view, &injection.render("docs", "q")).unwrap();
    serde_json::from_slice(&view.into_bytes().expect("changed")).unwrap()
}

#[test]
fn injection_as_system_text_in_every_format() {
    let openai = inject(
        WireApi::OpenAiChat,
        json!({"messages": [{"role": "system", "content": "own"}, {"role": "user", "content": "q"}]}),
        Placement::System,
    );
    assert_eq!(openai["messages"][0], json!({"role": "system", "content": "CTX docs"}));
    assert_eq!(openai["messages"][1]["content"], "own");
    let anthropic = inject(
        WireApi::AnthropicMessages,
        json!({"system": "own", "messages": [{"role": "user", "content": "q"}]}),
        Placement::System,
    );
    assert_eq!(anthropic["system"], "CTX docs\n\nown");
    let blocks = inject(
        WireApi::AnthropicMessages,
        json!({"system": [{"type": "text", "text": "own", "cache_control": {"type": "ephemeral"}}], "messages": []}),
        Placement::System,
    );
    assert_eq!(blocks["system"][0], json!({"type": "text", "text": "CTX docs"}));
    assert_eq!(
        blocks["system"][1]["cache_control"],
        json!({"type": "ephemeral"}),
        "the client's cache mark stays"
    );
    let gemini = inject(
        WireApi::GeminiGenerate,
        json!({"contents": [{"role": "user", "parts": [{"text": "q"}]}]}),
        Placement::System,
    );
    assert_eq!(gemini["systemInstruction"], json!({"parts": [{"text": "CTX docs"}]}));
}

#[test]
fn injection_as_a_user_message_before_the_question_in_every_format() {
    let openai = inject(
        WireApi::OpenAiChat,
        json!({"messages": [
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "a"},
            {"role": "user", "content": "q"}]}),
        Placement::User,
    );
    let roles: Vec<&str> =
        openai["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "user"]);
    assert_eq!(openai["messages"][2]["content"], "CTX docs");
    assert_eq!(openai["messages"][3]["content"], "q");

    // A tool round trip: the context goes before the question, never between a tool call and
    // its result.
    let anthropic = inject(
        WireApi::AnthropicMessages,
        json!({"messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}]}),
        Placement::User,
    );
    assert_eq!(anthropic["messages"][0], json!({"role": "user", "content": "CTX docs"}));
    assert_eq!(anthropic["messages"][1]["content"], "q");
    assert_eq!(anthropic["messages"][3]["content"][0]["type"], "tool_result");

    let gemini = inject(
        WireApi::GeminiGenerate,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
        Placement::User,
    );
    assert_eq!(gemini["contents"][0], json!({"role": "user", "parts": [{"text": "CTX docs"}]}));
    assert_eq!(gemini["contents"][1]["parts"][0]["text"], "q");

    // No user question at all: last.
    let none = inject(
        WireApi::OpenAiChat,
        json!({"messages": [{"role": "system", "content": "s"}]}),
        Placement::User,
    );
    assert_eq!(none["messages"][1], json!({"role": "user", "content": "CTX docs"}));
}

#[test]
fn the_embeddings_call_and_its_answer() {
    let r = compile(json!({"store": chroma(), "embeddings": embeddings()})).unwrap();
    let call = r.embeddings.as_ref().unwrap().call("what is x?");
    assert_eq!(call.cluster, "portcullis-self");
    assert!(call.headers.contains(&("authorization".into(), "Bearer vk-rag".into())));
    assert!(call.headers.contains(&(":path".into(), "/v1/embeddings".into())));
    assert!(call.headers.contains(&(":authority".into(), "portcullis-self".into())));
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "text-embedding-3-small", "input": "what is x?", "encoding_format": "float"})
    );
    assert!(!format!("{r:?}").contains("vk-rag"), "the key never prints");

    assert_eq!(embed::vector(Some(200), br#"{"data":[{"embedding":[0.5,-1]}]}"#), Ok(vec![0.5, -1.0]));
    for (status, body) in [
        (None, &b""[..]),
        (Some(401), br#"{"error":{}}"#),
        (Some(200), b"not json"),
        (Some(200), br#"{"data":[]}"#),
        (Some(200), br#"{"data":[{"embedding":[]}]}"#),
        (Some(200), br#"{"data":[{"embedding":["x"]}]}"#),
    ] {
        assert!(embed::vector(status, body).is_err(), "{status:?} {}", String::from_utf8_lossy(body));
    }
}

#[test]
fn chroma_resolves_the_collection_once_then_queries_by_id() {
    let r = compile(json!({"store": {"chroma": {"cluster": "chroma", "collection": "docs", "tokenEnv": "CHROMA_TOKEN"}}, "embeddings": embeddings(), "topK": 2})).unwrap();
    let base = "/api/v2/tenants/default_tenant/databases/default_database/collections";
    let StoreCall::Resolve(resolve) = r.store.next_call("q", Some(&[0.5]), 2, "p") else {
        panic!("resolve first")
    };
    assert_eq!(
        resolve.headers[..2],
        [(":method".into(), "GET".into()), (":path".into(), format!("{base}/docs"))]
    );
    assert!(resolve.headers.contains(&("x-chroma-token".into(), "ct-1".into())));
    assert!(r.store.resolved(Some(404), b"{}").unwrap_err().contains("no collection `docs`"));
    assert!(r.store.resolved(Some(200), br#"{"id":"../../x"}"#).is_err(), "an id goes into a path: checked");
    r.store.resolved(Some(200), br#"{"id":"570f378e-b8da-42f5-80a3-c30ec43e5758","name":"docs"}"#).unwrap();
    let StoreCall::Query(query) = r.store.next_call("q", Some(&[0.5]), 2, "p") else { panic!("then query") };
    assert!(query
        .headers
        .contains(&(":path".into(), format!("{base}/570f378e-b8da-42f5-80a3-c30ec43e5758/query"))));
    assert_eq!(
        body(&query),
        json!({"query_embeddings": [[0.5]], "n_results": 2, "include": ["documents", "distances"]})
    );
    let answer = br#"{"ids":[["a","b","c"]],"documents":[["doc A",null,"doc C"]],"distances":[[0.1,0.2,0.5]],"metadatas":null}"#;
    let docs = r.store.documents(Some(200), answer).unwrap();
    assert_eq!(docs, [doc("a", "doc A", 0.9), doc("c", "doc C", 0.5)], "a document without text is dropped");
    assert!(r.store.documents(Some(200), b"{}").is_err());
    // Re-created collection: the id is forgotten and resolved again.
    assert!(r.store.documents(Some(404), b"{}").is_err());
    assert!(matches!(r.store.next_call("q", Some(&[0.5]), 2, "p"), StoreCall::Resolve(_)));
}

#[test]
fn the_generic_store_contract() {
    let store = Store::compile(
        serde_json::from_value(
            json!({"http": {"cluster": "kb", "path": "/retrieve", "tokenEnv": "CHROMA_TOKEN"}}),
        )
        .unwrap(),
        "s",
        &env,
    )
    .unwrap();
    let StoreCall::Query(call) = store.next_call("why?", Some(&[1.0, 0.0]), 4, "kb") else { panic!() };
    assert_eq!(body(&call), json!({"query": "why?", "embedding": [1.0, 0.0], "topK": 4, "policy": "kb"}));
    assert!(call.headers.contains(&("authorization".into(), "Bearer ct-1".into())));
    let StoreCall::Query(call) = store.next_call("why?", None, 4, "kb") else { panic!() };
    assert!(body(&call).get("embedding").is_none(), "a store that embeds itself gets the text only");
    let docs = store
        .documents(Some(200), br#"{"documents":[{"id":"x","text":"X","score":0.7,"metadata":{"k":1}}]}"#)
        .unwrap();
    assert_eq!(docs, [doc("x", "X", 0.7)]);
    assert!(store.documents(Some(200), br#"{"documents":[{"id":"x"}]}"#).is_err());
    assert!(store.documents(Some(500), b"").is_err());
    assert!(store.documents(None, b"").is_err());
}

#[test]
fn the_documents_header_is_always_a_valid_bounded_value() {
    let docs = [doc("a", "t", 1.0), doc("b,c\r\nX-Evil: 1", "t", 0.9), doc("é", "t", 0.8)];
    let used: Vec<&Document> = docs.iter().collect();
    assert_eq!(super::record::header_value(&used), "a,b_c__X-Evil:_1,_");
    let long = doc(&"x".repeat(600), "t", 1.0);
    assert_eq!(super::record::header_value(&[&long, &long]).len(), 600, "the second would pass the bound");
}
