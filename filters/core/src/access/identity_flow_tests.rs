//! The credentials flow with a cloud-identity credential, against the in-memory host: one fetch
//! serves many requests and every worker, refresh before expiry, failures fall back or refuse.

use super::credential::{CredentialStore, CredentialsConfig};
use super::flow::CredentialsFlow;
use crate::common::config;
use crate::contract::{self, decision::Decision};
use crate::http::fake_host::{Callout, FakeHost, Outcome, Request, Response};
use crate::router::Router;
use std::cell::Cell;
use std::rc::Rc;

const GCP: &str = r#"{"providers": {"vertex": {"identity": {"gcpMetadata": {"cluster": "gcp-metadata"},
                                    "refreshBeforeSeconds": 60}}}}"#;

fn store(json: &str) -> Rc<CredentialStore> {
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    Rc::new(CredentialStore::compile(config, |_| None).unwrap().0)
}

fn decision() -> Vec<u8> {
    let router = Router::configure(Some(
        br#"{"providers":{"vertex":{"kind":"vertex","host":"us-central1-aiplatform.googleapis.com","project":"p","location":"us-central1"}},
             "routes":[{"model":"gemini-*","provider":"vertex"}]}"#,
    ))
    .unwrap();
    let request = crate::llm::api::ClientRequest::Inference(crate::llm::api::WireApi::OpenAiChat);
    let body = br#"{"model":"gemini-2.5-flash","messages":[]}"#;
    let plan = crate::router::plan::plan(&router.table, &request, body, 0, None).unwrap();
    Decision::new(&plan, &plan.attempts[0]).encode().into_bytes()
}

/// A host (a worker) at `now` seconds whose metadata server answers each call with `answer`.
fn host(now: u64, answer: impl Fn(&Callout) -> Option<(u16, Vec<u8>)> + 'static) -> FakeHost {
    let mut host = FakeHost::new();
    host.filter_state.insert(contract::DECISION.into(), decision());
    host.now_nanos = now.saturating_mul(1_000_000_000);
    host.answer_calls(answer);
    host
}

fn token(name: &str, expires_in: u64) -> Option<(u16, Vec<u8>)> {
    Some((
        200,
        format!(r#"{{"access_token":"{name}","expires_in":{expires_in},"token_type":"Bearer"}}"#)
            .into_bytes(),
    ))
}

fn request(host: &mut FakeHost, store: &Rc<CredentialStore>, upstream: Response) -> Outcome {
    let mut flow = CredentialsFlow::new(Rc::clone(store));
    let chat = Request::json("/v1/chat/completions", "{}").header("authorization", "Bearer client-key");
    host.exchange(&mut flow, chat, upstream)
}

fn sent_authorization(out: &Outcome) -> Option<String> {
    out.upstream.as_ref().and_then(|(h, _)| h.get("authorization").map(str::to_owned))
}

#[test]
fn one_fetch_serves_many_requests() {
    let store = store(GCP);
    let mut host = host(1000, |_| token("ya29.first", 3600));
    let out = request(&mut host, &store, Response::json(200, "{}"));
    assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer ya29.first"));
    let [call] = host.callouts.as_slice() else { panic!("one fetch") };
    assert_eq!(call.cluster, "gcp-metadata");
    assert_eq!(call.header(":path"), Some("/computeMetadata/v1/instance/service-accounts/default/token"));
    assert_eq!(call.header("metadata-flavor"), Some("Google"));
    for _ in 0..5 {
        let out = request(&mut host, &store, Response::json(200, "{}"));
        assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer ya29.first"));
    }
    assert_eq!(host.callouts.len(), 1, "cached in shared data");
    assert_eq!(
        host.counters
            .get("portcullis_credentials_token_fetches_total;gen_ai_provider_name=vertex;outcome=ok"),
        Some(&1)
    );
}

#[test]
fn another_worker_uses_the_shared_token_and_it_is_refreshed_before_expiry() {
    let store = store(GCP);
    let fetched = Rc::new(Cell::new(0u32));
    let count = Rc::clone(&fetched);
    let mut first = host(1000, move |_| {
        count.set(count.get().saturating_add(1));
        token(&format!("ya29.n{}", count.get()), 100)
    });
    request(&mut first, &store, Response::json(200, "{}"));
    // Another worker: same shared data, no call of its own.
    let mut second = host(1010, |_| panic!("no fetch while the token is fresh"));
    second.shared = first.shared.clone();
    let out = request(&mut second, &store, Response::json(200, "{}"));
    assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer ya29.n1"));
    // 60 s before expiry the next request fetches a new one.
    first.now_nanos = 1041 * 1_000_000_000;
    let out = request(&mut first, &store, Response::json(200, "{}"));
    assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer ya29.n2"));
    assert_eq!(fetched.get(), 2);
}

#[test]
fn a_failed_fetch_without_a_valid_token_refuses_in_the_clients_shape() {
    let store = store(GCP);
    for answer in [None, Some((500, b"internal".to_vec())), Some((200, b"{}".to_vec()))] {
        let mut host = host(1000, move |_| answer.clone());
        let out = request(&mut host, &store, Response::json(200, "{}"));
        assert!(out.upstream.is_none(), "nothing reaches the provider");
        assert_eq!(out.status, 503);
        assert_eq!(
            out.json()["error"]["message"],
            "the gateway could not get a credential for provider `vertex`"
        );
        assert_eq!(
            host.counters
                .get("portcullis_credentials_token_fetches_total;gen_ai_provider_name=vertex;outcome=error"),
            Some(&1)
        );
    }
}

#[test]
fn a_failed_refresh_keeps_using_the_still_valid_token() {
    let store = store(GCP);
    let mut host = host(1000, |_| token("ya29.old", 100));
    request(&mut host, &store, Response::json(200, "{}"));
    host.answer_calls(|_| None);
    host.now_nanos = 1050 * 1_000_000_000; // inside the refresh window, still valid
    let out = request(&mut host, &store, Response::json(200, "{}"));
    assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer ya29.old"));
    assert_eq!(
        host.counters
            .get("portcullis_credentials_token_fetches_total;gen_ai_provider_name=vertex;outcome=stale"),
        Some(&1)
    );
    // Expired: refused.
    host.now_nanos = 1101 * 1_000_000_000;
    assert_eq!(request(&mut host, &store, Response::json(200, "{}")).status, 503);
}

#[test]
fn a_token_the_provider_refuses_is_dropped() {
    let store = store(GCP);
    let fetched = Rc::new(Cell::new(0u32));
    let count = Rc::clone(&fetched);
    let mut host = host(1000, move |_| {
        count.set(count.get().saturating_add(1));
        token("ya29.revoked", 3600)
    });
    let mut refused = Response::json(401, r#"{"error":{"code":401}}"#);
    refused.details = "via_upstream".into();
    request(&mut host, &store, refused);
    request(&mut host, &store, Response::json(200, "{}"));
    assert_eq!(fetched.get(), 2, "the 401 made the next request fetch");
}

#[test]
fn azure_imds_is_asked_for_the_openai_resource_and_its_expiry_read() {
    let store = store(r#"{"providers": {"vertex": {"identity": {"azureImds": {"cluster": "imds"}}}}}"#);
    let mut host = host(1000, |_| {
        Some((
            200,
            br#"{"access_token":"eyJ0.x","expires_in":"3599","expires_on":"4599","token_type":"Bearer"}"#
                .to_vec(),
        ))
    });
    let out = request(&mut host, &store, Response::json(200, "{}"));
    assert_eq!(sent_authorization(&out).as_deref(), Some("Bearer eyJ0.x"));
    let call = &host.callouts[0];
    assert_eq!(call.header("metadata"), Some("true"));
    assert!(call.header(":path").unwrap().contains("resource=https%3A%2F%2Fcognitiveservices.azure.com"));
}

#[test]
fn keys_and_identity_together_are_a_config_error() {
    let json = r#"{"providers": {"v": {"keyEnv": "K", "identity": {"gcpMetadata": {"cluster": "c"}}}}}"#;
    let config: CredentialsConfig = config::parse(Some(json.as_bytes())).unwrap();
    assert_eq!(CredentialStore::compile(config, |_| None).unwrap_err().path, "providers.v.identity");
}
