//! Shared by the targets: reading selectors off the front of the input.
#![allow(dead_code)] // each target uses part of it

use portcullis_core::llm::api::WireApi;

pub const APIS: [WireApi; 3] = [WireApi::OpenAiChat, WireApi::AnthropicMessages, WireApi::GeminiGenerate];

/// Splits the first byte off as a selector.
pub fn take(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, data),
    }
}

pub fn api(selector: u8) -> WireApi {
    APIS[usize::from(selector) % APIS.len()]
}

/// Chunk boundaries from a seed: 1..=64-byte pieces.
pub fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut step = usize::from(seed % 63) + 1;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        step = (step * 7 + 3) % 64 + 1;
    }
    out
}
