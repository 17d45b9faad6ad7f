//! What a retrieval did, for operators: `portcullis_rag_retrievals_total{policy,outcome}`, the
//! histogram `portcullis_rag_retrieval_duration_ms{policy}` (the calls' wall time, the latency a
//! request gains), and the filter state `wasm.portcullis.rag` for the access log — document ids
//! and scores, never their text or the question.

use super::Document;
use crate::common::metric::labelled;
use crate::contract;
use crate::http::host::Host;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Documents were injected.
    Hit,
    /// The store answered, and no document scored high enough.
    Empty,
    /// Nothing to ask: the request has no user text.
    Skipped,
    /// No usable answer; the failure mode decided.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Empty => "empty",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

/// Counts the retrieval, records its duration (when calls were made) and writes the filter state.
pub fn publish(
    host: &mut dyn Host,
    policy: &str,
    outcome: Outcome,
    documents: &[&Document],
    duration_ms: Option<u64>,
) {
    let labels = [("policy", policy), ("outcome", outcome.as_str())];
    host.increment(&labelled("portcullis_rag_retrievals_total", &labels), 1);
    if let Some(ms) = duration_ms {
        host.record(&labelled("portcullis_rag_retrieval_duration_ms", &[("policy", policy)]), ms);
    }
    let documents: Vec<_> =
        documents.iter().map(|d| json!({"id": d.id, "score": rounded(d.score)})).collect();
    let mut state = json!({"policy": policy, "outcome": outcome.as_str(), "documents": documents});
    if let (Some(ms), Some(fields)) = (duration_ms, state.as_object_mut()) {
        fields.insert("durationMs".into(), json!(ms));
    }
    host.set_filter_state(contract::RAG, state.to_string().as_bytes());
}

/// Bound on the documents header's value.
const MAX_HEADER: usize = 1024;

/// The injected documents' ids for `x-portcullis-rag-documents`, comma-separated. Ids come from
/// the store: anything that is not visible ASCII, and the separator, become `_`, so a value is
/// always a valid header; ids past [`MAX_HEADER`] bytes are left out.
pub fn header_value(documents: &[&Document]) -> String {
    let mut out = String::new();
    for doc in documents {
        let id: String =
            doc.id.chars().map(|c| if c.is_ascii_graphic() && c != ',' { c } else { '_' }).collect();
        if out.len().saturating_add(id.len()).saturating_add(1) > MAX_HEADER {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&id);
    }
    out
}

/// Scores to 4 decimals: enough to compare, short in a log line.
fn rounded(score: f64) -> f64 {
    (score * 10_000.0).round() / 10_000.0
}
