//! OpenAI's moderation endpoint (`POST /v1/moderations`): one result per input, deterministic.
//!
//! A text is flagged for `violence` when it contains one of a few trigger words (case
//! insensitive), with a high score; everything else scores low in every category. Enough for a
//! gateway's moderation guard to be tested against thresholds and flags.

use crate::control::Controls;
use crate::ids;
use crate::provider::Provider;
use crate::respond::{self, Resp};
use serde_json::{json, Value};

/// Words that make a text "violent" to the mock.
const TRIGGERS: [&str; 3] = ["attack", "kill", "bomb"];

const CATEGORIES: [&str; 6] = ["harassment", "hate", "illicit", "self-harm", "sexual", "violence"];

pub fn moderations(body: &Value, ctl: &Controls) -> Resp {
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => return Provider::OpenAi.error(400, "Missing required parameter: 'input'.", ctl),
    };
    let results: Vec<Value> = inputs
        .iter()
        .map(|text| {
            let lower = text.to_lowercase();
            let violent = TRIGGERS.iter().any(|t| lower.contains(t));
            let mut categories = serde_json::Map::new();
            let mut scores = serde_json::Map::new();
            for c in CATEGORIES {
                let hit = violent && c == "violence";
                categories.insert(c.into(), json!(hit));
                scores.insert(c.into(), json!(if hit { 0.93 } else { 0.01 }));
            }
            json!({"flagged": violent, "categories": categories, "category_scores": scores})
        })
        .collect();
    let model = body.get("model").and_then(Value::as_str).unwrap_or("omni-moderation-latest");
    let answer = json!({"id": ids::new("modr-"), "model": model, "results": results});
    respond::json(200, &answer, ctl)
}
