//! Native timings of the guardrail hot paths, for working on them between `make bench` runs
//! (which measure the real thing, in Envoy): `cargo run --release -p portcullis-core --example
//! guard_cost`. Native code runs these roughly 2–3× faster than V8 runs the .wasm.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::cast_precision_loss)]

use portcullis_core::llm::api::WireApi;
use portcullis_core::llm::view::{RequestView, TextKind};
use portcullis_core::prompt::guard::detector::Detector;
use portcullis_core::prompt::guard::events::GuardedStream;
use portcullis_core::prompt::guard::{apply_to_texts, GuardConfig, Guards};
use serde_json::json;
use std::time::Instant;

fn time(label: &str, n: u32, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{label:<44} {:>8.2} µs", t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
}

fn main() {
    let configs: Vec<GuardConfig> = Detector::ALL
        .iter()
        .map(|d| serde_json::from_value(json!({"detector": d.name(), "action": "mask"})).unwrap())
        .collect();
    let guards = Guards::compile(configs, "g").unwrap();
    let text = "Summarise the quarterly report for the board in plain words, and list the risks. ".repeat(18);
    let body = json!({"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256, "messages": [
        {"role": "system", "content": "You are a careful assistant for a finance team. Answer briefly, cite figures exactly, and never guess."},
        {"role": "user", "content": text}]})
    .to_string();

    time("judge a 1.5 KB body unparsed", 5000, || {
        std::hint::black_box(guards.may_match_json(body.as_bytes()));
    });
    time("parse a 1.5 KB body into the view", 5000, || {
        std::hint::black_box(RequestView::parse(WireApi::OpenAiChat, body.as_bytes()).unwrap());
    });
    time("scan 1.5 KB of text (16 detectors)", 5000, || {
        std::hint::black_box(guards.scan(TextKind::User, &text));
    });
    let mut view = RequestView::parse(WireApi::OpenAiChat, body.as_bytes()).unwrap();
    time("apply to every text of the view", 5000, || {
        std::hint::black_box(apply_to_texts(&guards, |f| view.texts_mut(f)));
    });
    let big = text.repeat(66);
    time("scan 100 KB of text", 100, || {
        std::hint::black_box(guards.scan(TextKind::User, &big));
    });

    // A 20-chunk OpenAI stream of ordinary text.
    let reply = "The quarterly report shows revenue grew while costs stayed flat; the main risks are currency exposure and one large customer. ".repeat(2);
    let words: Vec<&str> = reply.split_inclusive(' ').collect();
    let mut sse = String::new();
    for piece in words.chunks(words.len() / 20 + 1) {
        let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": piece.concat()}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    let none = Guards::compile(vec![], "g").unwrap();
    for (label, g) in
        [("guard a 20-event stream (16 detectors)", &guards), ("  … the same with no guard", &none)]
    {
        time(label, 2000, || {
            let mut s = GuardedStream::new(WireApi::OpenAiChat, "p", 1024).unwrap();
            let mut out = Vec::new();
            for event in sse.split_inclusive("\n\n") {
                s.push(g, event.as_bytes(), &mut out).unwrap();
            }
            s.finish(g, &mut out);
            std::hint::black_box(out);
        });
    }
}
