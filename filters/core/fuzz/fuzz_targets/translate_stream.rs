//! Stream translation between every pair of APIs, on arbitrary bytes split arbitrarily: never
//! panics, and the output does not depend on where the input was split.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_core::llm::hidden_usage::UsageChunkFilter;
use portcullis_core::llm::translate::StreamTranslator;

fn translate(
    from: portcullis_core::llm::api::WireApi,
    to: portcullis_core::llm::api::WireApi,
    pieces: &[&[u8]],
) -> Vec<u8> {
    let mut t = StreamTranslator::new(from, to, "fuzz-model", true);
    let mut out = Vec::new();
    for piece in pieces {
        let _ = t.push(piece, &mut out);
    }
    let _ = t.finish(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let (selector, input) = common::take(data);
    let (from, to) = common::pair(selector);
    if from != to {
        let whole = translate(from, to, &[input]);
        let split = translate(from, to, &common::chunks(input, selector));
        assert_eq!(whole, split, "a split changed the translated stream");
    }
    let mut filter = UsageChunkFilter::default();
    let mut out = Vec::new();
    for piece in common::chunks(input, selector) {
        let _ = filter.push(piece, &mut out);
    }
    filter.finish(&mut out);
});
