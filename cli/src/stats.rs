//! Envoy's `stats_config` for Portcullis metrics, rendered into bootstraps and Istio alike.
//!
//! The filters put a metric's labels in its name (`name;key=value`, see core's `metric.rs`);
//! these regexes turn them into Prometheus labels, and the histogram buckets are OpenTelemetry
//! GenAI's (seconds in the conventions; Portcullis records milliseconds).

use serde_json::{json, Value};

/// Every label a Portcullis metric carries.
pub const TAGS: [&str; 22] = [
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_token_type",
    "tenant",
    "filter",
    "reason",
    "template",
    "policy",
    "guard",
    "action",
    "phase",
    "gen_ai_operation_name",
    "gen_ai_response_model",
    "gen_ai_token_modality",
    "route",
    "estimated",
    "error_type",
    "status",
    "currency",
    "budget",
    "encoding",
    "outcome",
];

pub fn stats_config() -> Value {
    let tokens =
        json!([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]);
    let tags: Vec<Value> =
        TAGS.iter().map(|t| json!({"tag_name": t, "regex": format!("(;{t}=([^;]*))")})).collect();
    json!({
        "histogram_bucket_settings": [
            {"match": {"contains": "gen_ai_client_operation_duration"},
             "buckets": [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920]},
            {"match": {"contains": "gen_ai_server_time_to_first_token"},
             "buckets": [1, 5, 10, 20, 40, 60, 80, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]},
            {"match": {"contains": "gen_ai_server_time_per_output_token"},
             "buckets": [10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 2500]},
            {"match": {"contains": "_tokens;"}, "buckets": tokens},
            {"match": {"contains": "gen_ai_client_token_usage"}, "buckets": tokens},
        ],
        "stats_tags": tags,
    })
}
