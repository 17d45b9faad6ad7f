//! AWS Bedrock's embeddings models through InvokeModel (`POST /model/{modelId}/invoke`), each
//! with its own body, validated the way Bedrock validates it:
//! - Titan Text Embeddings (`amazon.titan-embed-text-v1`, `-v2:0`): `{"inputText", "dimensions"
//!   (v2: 256, 512 or 1024), "normalize", "embeddingTypes"}` → `{"embedding", "embeddingsByType",
//!   "inputTextTokenCount"}`.
//! - Cohere Embed (`cohere.embed-english-v3`, `-multilingual-v3`, `cohere.embed-v4:0`):
//!   `{"texts" (1–96), "input_type", "truncate", "embedding_types", "output_dimension" (v4)}` →
//!   `{"embeddings", "id", "response_type", "texts"}`, its token count only in a header.
//!
//! Every answer carries `x-amzn-bedrock-input-token-count`, as InvokeModel's do. An unknown key is
//! refused ("extraneous key"), as Bedrock's JSON-schema validation refuses it. Vectors are the
//! deterministic ones of [`crate::embeddings::vector`].

use crate::control::Controls;
use crate::embeddings::vector;
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::tokens;
use serde_json::{json, Map, Value};

const ME: Provider = Provider::Bedrock;
const COHERE_INPUT_TYPES: [&str; 5] =
    ["search_document", "search_query", "classification", "clustering", "image"];
const COHERE_MAX_TEXTS: usize = 96;

/// The model id without a cross-region inference profile's geography (`us.`, `global.` …).
fn base_id(model: &str) -> &str {
    ["us.", "eu.", "apac.", "global."].iter().find_map(|p| model.strip_prefix(p)).unwrap_or(model)
}

/// Answers an InvokeModel call of an embeddings model.
pub fn invoke(body: &Value, model: &str, ctl: &Controls) -> Resp {
    let Some(body) = body.as_object() else {
        return malformed("#: expected type: JSONObject, found: JSONArray", ctl);
    };
    let id = base_id(model);
    let answer = if id.starts_with("amazon.titan-embed-text") {
        titan(body, id.ends_with("v1"))
    } else if id.starts_with("cohere.embed-") {
        cohere(body, id.starts_with("cohere.embed-v4"))
    } else {
        return ME.error(400, "The provided model identifier is invalid.", ctl);
    };
    match answer {
        Ok((out, input_tokens)) => {
            let mut resp = respond::json(200, &out, ctl);
            respond::set_header(&mut resp, "x-amzn-bedrock-input-token-count", &input_tokens.to_string());
            respond::set_header(&mut resp, "x-amzn-bedrock-invocation-latency", "1");
            ME.tag(&mut resp);
            resp
        }
        Err(why) => malformed(&why, ctl),
    }
}

fn malformed(why: &str, ctl: &Controls) -> Resp {
    ME.error(400, &format!("Malformed input request: {why}, please reformat your input and try again."), ctl)
}

/// Refuses keys the model's schema does not have.
fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("#: extraneous key [{key}] is not permitted")),
        None => Ok(()),
    }
}

fn titan(body: &Map<String, Value>, v1: bool) -> Result<(Value, u64), String> {
    let allowed: &[&str] =
        if v1 { &["inputText"] } else { &["inputText", "dimensions", "normalize", "embeddingTypes"] };
    only(body, allowed)?;
    let text = match body.get("inputText") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => return Err("#/inputText: expected minLength: 1, actual: 0".into()),
        Some(_) => return Err("#/inputText: expected type: String".into()),
        None => return Err("#: required key [inputText] not found".into()),
    };
    let dims = match body.get("dimensions") {
        None => {
            if v1 {
                1536
            } else {
                1024
            }
        }
        Some(Value::Number(n)) if [256, 512, 1024].contains(&n.as_u64().unwrap_or(0)) => {
            n.as_u64().unwrap_or(1024) as usize
        }
        Some(other) => return Err(format!("#/dimensions: {other} is not a valid enum value")),
    };
    let v = vector(text, dims);
    let tokens = tokens::text(text);
    Ok((json!({"embedding": v, "embeddingsByType": {"float": v}, "inputTextTokenCount": tokens}), tokens))
}

fn cohere(body: &Map<String, Value>, v4: bool) -> Result<(Value, u64), String> {
    let allowed: &[&str] = if v4 {
        &["texts", "images", "input_type", "truncate", "embedding_types", "output_dimension", "max_tokens"]
    } else {
        &["texts", "images", "input_type", "truncate", "embedding_types"]
    };
    only(body, allowed)?;
    let texts: Vec<&str> = match body.get("texts") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().ok_or("#/texts: expected type: String"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("#/texts: expected type: JSONArray".into()),
        None => return Err("#: required key [texts] not found".into()),
    };
    if texts.is_empty() || texts.len() > COHERE_MAX_TEXTS {
        return Err(format!(
            "#/texts: expected between 1 and {COHERE_MAX_TEXTS} items, found {}",
            texts.len()
        ));
    }
    match body.get("input_type").and_then(Value::as_str) {
        Some(t) if COHERE_INPUT_TYPES.contains(&t) => {}
        Some(t) => return Err(format!("#/input_type: {t} is not a valid enum value")),
        None => return Err("#: required key [input_type] not found".into()),
    }
    let dims = match body.get("output_dimension").and_then(Value::as_u64) {
        Some(d @ (256 | 512 | 1024 | 1536)) => d as usize,
        Some(d) => return Err(format!("#/output_dimension: {d} is not a valid enum value")),
        None if v4 => 1536,
        None => 1024,
    };
    let vectors: Vec<Vec<f32>> = texts.iter().map(|t| vector(t, dims)).collect();
    let tokens: u64 = texts.iter().map(|t| tokens::text(t)).sum();
    let by_type = body.get("embedding_types").is_some();
    let out = if by_type {
        json!({"id": ids::new(""), "response_type": "embeddings_by_type", "texts": texts, "embeddings": {"float": vectors}})
    } else {
        json!({"id": ids::new(""), "response_type": "embeddings_floats", "texts": texts, "embeddings": vectors})
    };
    Ok((out, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_answers_one_vector_with_its_count() {
        let body = json!({"inputText": "hello there", "dimensions": 256});
        let (out, tokens) = titan(body.as_object().unwrap(), false).unwrap();
        assert_eq!(out["embedding"].as_array().unwrap().len(), 256);
        assert_eq!((out["inputTextTokenCount"].as_u64(), tokens), (Some(3), 3));
        let refuse = |body: Value| titan(body.as_object().unwrap(), false).unwrap_err();
        assert!(refuse(json!({"texts": ["a"]})).contains("extraneous key [texts]"));
        assert!(refuse(json!({"inputText": "a", "dimensions": 300})).contains("dimensions"));
        assert!(refuse(json!({})).contains("required key [inputText]"));
        assert!(titan(json!({"inputText": "a", "dimensions": 256}).as_object().unwrap(), true).is_err());
    }

    #[test]
    fn cohere_answers_a_batch_and_needs_an_input_type() {
        let body = json!({"texts": ["a", "bb"], "input_type": "search_query"});
        let (out, tokens) = cohere(body.as_object().unwrap(), false).unwrap();
        assert_eq!(out["embeddings"].as_array().unwrap().len(), 2);
        assert_eq!(tokens, 2);
        let refuse = |body: Value| cohere(body.as_object().unwrap(), false).unwrap_err();
        assert!(refuse(json!({"texts": ["a"]})).contains("input_type"));
        assert!(refuse(json!({"texts": [], "input_type": "search_query"})).contains("between 1 and 96"));
        assert!(refuse(json!({"texts": ["a"], "input_type": "x", "output_dimension": 256}))
            .contains("extraneous"));
        let by_type = json!({"texts": ["a"], "input_type": "clustering", "embedding_types": ["float"], "output_dimension": 256});
        let (out, _) = cohere(by_type.as_object().unwrap(), true).unwrap();
        assert_eq!(out["embeddings"]["float"][0].as_array().unwrap().len(), 256);
    }
}
