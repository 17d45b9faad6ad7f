//! Admin-set rules: "requests like this one get that behaviour", optionally only N times.
//!
//! Tests of failover need the first provider to fail and the second to answer, while the gateway
//! sends both the same headers; a rule matched on path, model or header does that. Rules are
//! checked in the order they were added and the first match applies.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A header that must be present with exactly this value (name case-insensitive).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    pub name: String,
    pub value: String,
}

/// One rule as posted to `POST /__mock/rules`. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    // Matching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    /// Equal to the request's model (body `model`, Azure deployment or Gemini path model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// Remove the rule after this many matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    // Behaviour (see `Controls`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<usize>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close_connection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Answer with exactly this (see `raw`), instead of the provider's real format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<crate::raw::RawReply>,
}

/// What a request looks like to the matcher.
pub struct Target<'a> {
    pub path: &'a str,
    pub model: Option<&'a str>,
    pub headers: &'a hyper::HeaderMap,
}

impl Rule {
    fn matches(&self, t: &Target) -> bool {
        self.path_contains.as_deref().is_none_or(|p| t.path.contains(p))
            && self.model.as_deref().is_none_or(|m| t.model == Some(m))
            && self.header.as_ref().is_none_or(|h| {
                t.headers.get_all(h.name.as_str()).iter().any(|v| v.as_bytes() == h.value.as_bytes())
            })
    }
}

#[derive(Serialize)]
struct Stored {
    id: u64,
    #[serde(flatten)]
    rule: Rule,
}

/// The rule list. The lock is held only to match or edit, never across an await.
#[derive(Default)]
pub struct Rules {
    list: Mutex<(u64, Vec<Stored>)>,
    /// Lets the common no-rules case skip the lock.
    count: AtomicUsize,
}

impl Rules {
    /// Adds a rule and returns its id.
    pub fn add(&self, rule: Rule) -> u64 {
        let mut guard = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let (next_id, list) = &mut *guard;
        *next_id += 1;
        list.push(Stored { id: *next_id, rule });
        self.count.store(list.len(), Ordering::Release);
        *next_id
    }

    pub fn clear(&self) {
        let mut guard = self.list.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.clear();
        self.count.store(0, Ordering::Release);
    }

    /// The current rules as JSON (with `times` = matches left).
    pub fn to_json(&self) -> serde_json::Value {
        let guard = self.list.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::to_value(&guard.1).unwrap_or_default()
    }

    /// The first rule matching `target`, counting the match against its `times`.
    pub fn take_match(&self, target: &Target) -> Option<(u64, Rule)> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut guard = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let list = &mut guard.1;
        let at = list.iter().position(|s| s.rule.matches(target))?;
        let stored = &mut list[at];
        let found = (stored.id, stored.rule.clone());
        if let Some(times) = stored.rule.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                list.remove(at);
                self.count.store(list.len(), Ordering::Release);
            }
        }
        Some(found)
    }
}
