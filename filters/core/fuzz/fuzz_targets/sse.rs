//! The SSE parser: never panics, and any split of the input yields the same events as the whole.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::http::sse::SseParser;

fn events(pieces: &[&[u8]]) -> (Vec<(Option<String>, Vec<u8>)>, bool) {
    let mut parser = SseParser::new(4096);
    let mut out = Vec::new();
    let mut failed = false;
    for piece in pieces {
        if parser.feed(piece, |e| out.push((e.event_name().map(str::to_string), e.data.to_vec()))).is_err() {
            failed = true;
            break;
        }
    }
    if !failed {
        parser.finish(|e| out.push((e.event_name().map(str::to_string), e.data.to_vec())));
    }
    (out, failed)
}

fuzz_target!(|data: &[u8]| {
    let (seed, input) = common::take(data);
    let whole = events(&[input]);
    let split = events(&common::chunks(input, seed));
    if !whole.1 && !split.1 {
        assert_eq!(whole.0, split.0, "a split changed the events");
    }
});
