//! OpenAI embeddings: `input`, a string or an array of strings (token arrays are not text).

use super::{visit_string, MutVisitor, TextKind};
use serde_json::{Map, Value};

pub(super) fn texts(body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
    match body.get_mut("input") {
        Some(Value::Array(items)) => items
            .iter_mut()
            .fold(false, |changed, item| visit_string(item, TextKind::EmbeddingsInput, f) | changed),
        Some(input) => visit_string(input, TextKind::EmbeddingsInput, f),
        None => false,
    }
}
