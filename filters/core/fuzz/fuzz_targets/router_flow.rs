//! The router's whole per-request flow (classification, planning, translation both ways, error
//! rendering) on an arbitrary request and an arbitrary provider answer, through the in-memory
//! host: never a panic, never a stalled request.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::http::fake_host::{FakeHost, Request, Response};
use portcullis_core::router::Router;
use std::rc::Rc;

const CONFIG: &str = r#"{
    "providers": {"openai": {"kind": "openai"}, "anthropic": {"kind": "anthropic"},
                  "gemini": {"kind": "gemini"}, "azure": {"kind": "azure", "host": "a"}},
    "routes": [{"model": "gpt-*", "provider": "openai"}, {"model": "claude-*", "provider": "anthropic"},
               {"model": "gemini-*", "provider": "gemini"}, {"model": "azure-*", "provider": "azure"}]
}"#;

const PATHS: [&str; 6] = [
    "/v1/chat/completions",
    "/v1/messages",
    "/v1beta/models/gemini-x:generateContent",
    "/v1beta/models/claude-x:streamGenerateContent?alt=sse",
    "/v1/embeddings",
    "/v1/models",
];

fn router() -> Rc<Router> {
    // One compiled config per process (the flow takes an Rc, which is not Sync).
    thread_local!(static R: Rc<Router> = Rc::new(Router::configure(Some(CONFIG.as_bytes())).unwrap()));
    R.with(Rc::clone)
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = common::take(data);
    // The input is: request body, 0xff, answer body.
    let (body, answer) = match rest.iter().position(|b| *b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b""[..]),
    };
    let path = PATHS[usize::from(selector) % PATHS.len()];
    let method = if path == "/v1/models" { "GET" } else { "POST" };
    let request = Request::new(method, path).body(body.to_vec());
    let status = [200u16, 200, 400, 429, 500, 503][usize::from(selector / 6) % 6];
    let content_type = if selector & 0x80 != 0 { "text/event-stream" } else { "application/json" };
    let upstream = Response::new(status)
        .header("content-type", content_type)
        .chunks(common::chunks(answer, selector).into_iter().map(<[u8]>::to_vec).collect());
    let mut host = FakeHost::new();
    let mut flow = router().flow();
    let out = host.exchange(flow.as_mut(), request, upstream);
    assert!(!out.stalled, "a request stalled");
});
