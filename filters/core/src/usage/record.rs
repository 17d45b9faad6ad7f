//! What the access log reads: `wasm.portcullis.usage`, one JSON object per request.

use crate::llm::usage::Usage;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    #[serde(flatten)]
    pub usage: Usage,
    /// Some count was made by the gateway's tokenizer, not reported by the provider.
    pub estimated: bool,
    /// In `currency`, when the price table prices the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The model the provider says answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    pub duration_ms: u64,
    /// Streams: time to the first byte of the answer's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
}

impl UsageRecord {
    pub fn to_json(&self) -> Vec<u8> {
        // Numbers, strings and bools only: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
