//! Embeddings for OpenAI (`/v1/embeddings`, Azure's deployment form) and Gemini
//! (`:embedContent`, `:batchEmbedContents`).
//!
//! Vectors are deterministic (a hash of the input seeds a generator) and unit-length, so the
//! same text always embeds the same way and tests can compare vectors across calls.

use crate::control::Controls;
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use crate::tokens;
use serde_json::{json, Value};

/// Dimensions when the request names none.
pub const DEFAULT_DIMS: usize = 8;
const MAX_DIMS: usize = 4096;

/// A unit vector of `dims` components derived from `text`.
pub fn vector(text: &str, dims: usize) -> Vec<f32> {
    // FNV-1a, then splitmix64 per component.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let raw: Vec<f64> = (0..dims as u64)
        .map(|i| (ids::mix(h ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 11) as f64)
        .map(|x| x / (1u64 << 53) as f64 * 2.0 - 1.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

/// `POST /v1/embeddings`: `input` a string, array of strings, or (pre-tokenised) array(s) of
/// integers; `encoding_format` `float` (default) or `base64` (little-endian f32).
pub fn openai(provider: Provider, body: &Value, model: Option<&str>, ctl: &Controls) -> Resp {
    let model = model.or_else(|| body.get("model").and_then(Value::as_str)).unwrap_or_default();
    let inputs: Vec<(String, u64)> = match body.get("input") {
        Some(Value::String(s)) => vec![(s.clone(), tokens::text(s))],
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![(Value::Array(items.clone()).to_string(), items.len() as u64)]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => (s.clone(), tokens::text(s)),
                Value::Array(toks) => (item.to_string(), toks.len() as u64),
                other => (other.to_string(), tokens::json(other)),
            })
            .collect(),
        _ => {
            let msg = "Missing required parameter: 'input'.";
            return provider.error(400, msg, ctl);
        }
    };
    let dims = body.get("dimensions").and_then(Value::as_u64);
    let dims = dims.map_or(DEFAULT_DIMS, |d| (d as usize).clamp(1, MAX_DIMS));
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, (text, _))| {
            let v = vector(text, dims);
            let embedding = if base64 { json!(encode_f32_base64(&v)) } else { json!(v) };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let used: u64 = inputs.iter().map(|(_, t)| t).sum();
    let out = json!({"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": used, "total_tokens": used}});
    let mut resp = respond::json(200, &out, ctl);
    provider.tag(&mut resp);
    resp
}

/// `:embedContent` (`batch` false) or `:batchEmbedContents` (`batch` true).
pub fn gemini(body: &Value, batch: bool, ctl: &Controls) -> Resp {
    let embed = |req: &Value| {
        let texts = req
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let dims = req.get("outputDimensionality").and_then(Value::as_u64);
        let dims = dims.map_or(DEFAULT_DIMS, |d| (d as usize).clamp(1, MAX_DIMS));
        json!({"values": vector(&texts, dims)})
    };
    let out = if batch {
        let reqs = body.get("requests").and_then(Value::as_array);
        let all: Vec<Value> = reqs.into_iter().flatten().map(embed).collect();
        json!({"embeddings": all})
    } else {
        json!({"embedding": embed(body)})
    };
    respond::json(200, &out, ctl)
}

/// Little-endian f32 bytes, standard base64 with padding (what the OpenAI SDK decodes).
pub fn encode_f32_base64(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn vectors_are_deterministic_unit_vectors() {
        let a = vector("hello", 8);
        assert_eq!(a, vector("hello", 8));
        assert_ne!(a, vector("hellp", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
