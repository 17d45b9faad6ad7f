//! Guardrails on arbitrary input: a provider stream guarded with every detector (and a
//! custom pattern and a phrase) never panics, its output does not depend on where the input
//! was split, and the cheap judgement of a JSON body never says "nothing" about a body one of
//! whose texts has a finding.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::llm::view::{RequestView, TextKind};
use portcullis_core::prompt::guard::detector::Detector;
use portcullis_core::prompt::guard::events::GuardedStream;
use portcullis_core::prompt::guard::{GuardConfig, Guards};
use std::sync::OnceLock;

fn guards() -> &'static Guards {
    static GUARDS: OnceLock<Guards> = OnceLock::new();
    GUARDS.get_or_init(|| {
        let mut configs: Vec<serde_json::Value> = Detector::ALL
            .iter()
            .map(|d| serde_json::json!({"detector": d.name(), "action": "mask"}))
            .collect();
        configs.push(serde_json::json!({"patterns": ["x{3,}y"], "action": "mask", "name": "custom"}));
        configs.push(serde_json::json!({"phrases": ["secret plan"], "action": "block"}));
        let configs: Vec<GuardConfig> =
            configs.into_iter().map(|c| serde_json::from_value(c).unwrap()).collect();
        Guards::compile(configs, "fuzz").unwrap()
    })
}

/// `None` for an API without answer streams (embeddings).
fn guard(api: portcullis_core::llm::api::WireApi, pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let mut s = GuardedStream::new(api, "fuzz", 256)?;
    let mut out = Vec::new();
    for piece in pieces {
        let _ = s.push(guards(), piece, &mut out);
    }
    s.finish(guards(), &mut out);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let (selector, input) = common::take(data);
    let api = common::api(selector);
    let whole = guard(api, &[input]);
    let split = guard(api, &common::chunks(input, selector));
    assert_eq!(whole, split, "a split changed the guarded stream");

    let g = guards();
    if let Ok(mut view) = RequestView::parse(api, input) {
        let mut found = false;
        view.texts(&mut |kind, text| found |= !g.scan(kind, text).is_empty());
        if found {
            assert!(g.may_match_json(input), "the JSON gate hid a finding");
        }
    }
    if let Ok(text) = std::str::from_utf8(input) {
        let findings = g.scan(TextKind::User, text);
        let _ = g.mask(text, &findings);
    }
});
