//! The test-facing admin API under `/__mock/`: health, the request log, and rules.
//!
//! Admin calls are never recorded and never matched against rules.

use crate::respond::{self, Resp};
use crate::rules::Rule;
use crate::server::State;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Method;
use serde_json::json;

/// `what` is the path after `/__mock/`.
pub async fn handle(state: &State, method: &Method, what: &str, body: Incoming) -> Resp {
    match (method.as_str(), what) {
        ("GET", "health") => respond::text(200, "ok"),
        ("GET", "requests") => {
            let bytes = state.recorder.as_ref().map_or_else(|| b"[]".to_vec(), |r| r.to_json());
            respond::json_bytes(200, bytes)
        }
        ("DELETE", "requests") => {
            if let Some(r) = &state.recorder {
                r.clear();
            }
            ok()
        }
        ("GET", "rules") => respond::json_bytes(200, state.rules.to_json().to_string().into_bytes()),
        ("POST", "rules") => {
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return bad_request(&e.to_string()),
            };
            match serde_json::from_slice::<Rule>(&bytes) {
                Ok(rule) => {
                    let id = state.rules.add(rule);
                    respond::json_bytes(200, json!({"id": id}).to_string().into_bytes())
                }
                Err(e) => bad_request(&format!("invalid rule: {e}")),
            }
        }
        ("DELETE", "rules") => {
            state.rules.clear();
            ok()
        }
        _ => {
            let body = json!({"error": format!("no admin endpoint {method} /__mock/{what}")});
            respond::json_bytes(404, body.to_string().into_bytes())
        }
    }
}

fn ok() -> Resp {
    respond::json_bytes(200, b"{}".to_vec())
}

fn bad_request(msg: &str) -> Resp {
    respond::json_bytes(400, json!({"error": msg}).to_string().into_bytes())
}
