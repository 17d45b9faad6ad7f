//! Request, response and error translation between every pair of APIs, on arbitrary bytes,
//! through the intermediate form; a translated request also read back by its own format.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::llm::translate;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = common::take(data);
    let (from, to) = common::pair(selector);
    let stream = selector & 0x80 != 0;
    if from != to {
        if let Ok(out) = translate::request(from, to, body, common::model_for(to), stream) {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&out).is_ok(),
                "a translated request is JSON"
            );
            // What one format's writer wrote, that format's reader reads: back through the
            // intermediate form it may be unsupported, never malformed.
            if let Err(e) = translate::request(to, from, &out, common::model_for(from), stream) {
                assert_ne!(e.kind, translate::TranslateErrorKind::Malformed, "{}", e.message);
            }
        }
        if let Ok(out) = translate::response(from, to, body, "fuzz-model") {
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "a translated answer is JSON");
        }
    }
    let status = 400 + u16::from(selector % 200);
    let rendered = translate::error(from, to, status, body);
    assert!(translate::error::in_shape(to, &rendered), "an error is rendered in the client's shape");
    let _ = translate::error_for_client(from, to, status, body);
});
