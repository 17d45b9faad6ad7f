//! Shared by the targets: reading selectors off the front of the input.
#![allow(dead_code)] // each target uses part of it

use portcullis_core::llm::api::WireApi;

pub const APIS: [WireApi; 6] = [
    WireApi::OpenAiChat,
    WireApi::AnthropicMessages,
    WireApi::GeminiGenerate,
    WireApi::BedrockConverse,
    WireApi::OpenAiEmbeddings,
    WireApi::BedrockEmbeddings,
];

/// (from, to) of a translation: the selector's low 7 bits are `from + APIS.len() * to` (the top
/// bit is left to the target, e.g. "streaming").
pub fn pair(selector: u8) -> (WireApi, WireApi) {
    let s = usize::from(selector & 0x7f);
    (APIS[s % APIS.len()], APIS[(s / APIS.len()) % APIS.len()])
}

/// The model a request to `api` names: an embeddings model of a family Bedrock's translation
/// knows (so the body, not the model, decides), else any name.
pub fn model_for(api: WireApi) -> &'static str {
    if api == WireApi::BedrockEmbeddings {
        "cohere.embed-v4:0"
    } else {
        "fuzz-model"
    }
}

/// Splits the first byte off as a selector.
pub fn take(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, data),
    }
}

pub fn api(selector: u8) -> WireApi {
    APIS[usize::from(selector & 0x7f) % APIS.len()]
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
