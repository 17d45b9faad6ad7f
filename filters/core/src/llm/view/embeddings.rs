//! Embeddings inputs: OpenAI's `input` (a string or an array of strings; token arrays are not
//! text), Bedrock Titan's `inputText` and Cohere's `texts[]`.

use super::{visit_string, MutVisitor, TextKind};
use serde_json::{Map, Value};

fn strings(value: Option<&mut Value>, f: &mut MutVisitor<'_>) -> bool {
    match value {
        Some(Value::Array(items)) => items
            .iter_mut()
            .fold(false, |changed, item| visit_string(item, TextKind::EmbeddingsInput, f) | changed),
        Some(input) => visit_string(input, TextKind::EmbeddingsInput, f),
        None => false,
    }
}

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    strings(body.get_mut("input"), f)
}

pub(super) fn bedrock_texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    let titan = strings(body.get_mut("inputText"), f);
    strings(body.get_mut("texts"), f) | titan
}
