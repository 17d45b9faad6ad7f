//! Usage from JSON answers and from streams, every API: never panics; a split stream counts the
//! same as the whole.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::http::sse::SseParser;
use portcullis_core::llm::usage::{self, StreamUsage};

fn stream_usage(api: portcullis_core::llm::api::WireApi, pieces: &[&[u8]]) -> Option<usage::Usage> {
    let mut parser = SseParser::default();
    let mut acc = StreamUsage::new(api);
    for piece in pieces {
        let _ = parser.feed(piece, |e| acc.observe(&e));
    }
    parser.finish(|e| acc.observe(&e));
    acc.usage()
}

fuzz_target!(|data: &[u8]| {
    let (selector, input) = common::take(data);
    let api = common::api(selector);
    let _ = usage::from_json(api, input);
    let whole = stream_usage(api, &[input]);
    let split = stream_usage(api, &common::chunks(input, selector));
    assert_eq!(whole, split);
});
