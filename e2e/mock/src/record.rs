//! The request log: what the gateway actually sent upstream, for tests to assert on.
//!
//! Bounded (oldest dropped first) so a benchmark cannot grow it without limit, and skipped
//! entirely with `--no-record`.

use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Raw query string without `?` ("" when none).
    pub query: String,
    /// `[name, value]` pairs, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
    /// The body parsed as JSON, or null.
    pub json: Option<Value>,
    /// Id of the admin rule that matched, or null.
    pub rule_id: Option<u64>,
}

pub struct Recorder {
    cap: usize,
    ring: Mutex<VecDeque<Recorded>>,
}

impl Recorder {
    pub fn new(cap: usize) -> Self {
        Recorder { cap, ring: Mutex::new(VecDeque::with_capacity(cap.min(1024))) }
    }

    pub fn push(&self, r: Recorded) {
        if self.cap == 0 {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        while ring.len() >= self.cap {
            ring.pop_front();
        }
        ring.push_back(r);
    }

    /// All records, oldest first, as a JSON array.
    pub fn to_json(&self) -> Vec<u8> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::to_vec(&*ring).unwrap_or_else(|_| b"[]".to_vec())
    }

    pub fn clear(&self) {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
