//! What a request's guards did, for operators: the metric
//! `portcullis_guardrail_checks_total{policy,guard,action,phase}` (one per guard that acted, per
//! phase of a request — not per match), the filter state `wasm.portcullis.guardrail` for access
//! logs, and debug log lines. None of them ever carries a matched value.

use super::guard::remote::Phase;
use super::guard::Report;
use crate::common::metric::labelled;
use crate::contract;
use crate::http::host::Host;
use serde_json::{json, Map, Value};

/// What remote guards report as their action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteAction {
    Pass,
    Mask,
    Block,
    /// No usable answer (timeout, error, unknown cluster): the failure mode decided.
    Error,
}

impl RemoteAction {
    fn as_str(self) -> &'static str {
        match self {
            RemoteAction::Pass => "pass",
            RemoteAction::Mask => "mask",
            RemoteAction::Block => "block",
            RemoteAction::Error => "error",
        }
    }
}

/// One request's guard outcome, kept across its phases.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per phase: (guard, action, count).
    fired: Vec<(Phase, String, &'static str, u64)>,
    blocked: Option<(Phase, String)>,
}

impl Outcome {
    /// Records a local phase's report and counts it.
    pub fn local(&mut self, host: &mut dyn Host, policy: &str, phase: Phase, report: &Report) {
        for (guard, action, count) in &report.fired {
            log::debug!("policy {policy}: {} guard {guard}: {} x{count}", phase.as_str(), action.as_str());
            self.count(host, policy, phase, guard, action.as_str(), *count);
        }
        if let Some(guard) = &report.blocked_by {
            self.blocked.get_or_insert((phase, guard.clone()));
        }
    }

    /// Records a remote guard's answer and counts it.
    pub fn remote(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        phase: Phase,
        guard: &str,
        action: RemoteAction,
    ) {
        log::debug!("policy {policy}: {} guard {guard}: {}", phase.as_str(), action.as_str());
        self.count(host, policy, phase, guard, action.as_str(), 1);
        if action == RemoteAction::Block {
            self.blocked.get_or_insert((phase, guard.to_string()));
        }
    }

    fn count(
        &mut self,
        host: &mut dyn Host,
        policy: &str,
        phase: Phase,
        guard: &str,
        action: &'static str,
        n: u64,
    ) {
        let labels = [("policy", policy), ("guard", guard), ("action", action), ("phase", phase.as_str())];
        host.increment(&labelled("portcullis_guardrail_checks_total", &labels), 1);
        self.fired.push((phase, guard.to_string(), action, n));
    }

    /// Writes the filter state (if anything fired).
    pub fn publish(&self, host: &mut dyn Host, policy: &str) {
        if self.fired.is_empty() {
            return;
        }
        let mut phases = Map::new();
        for (phase, guard, action, count) in &self.fired {
            let entry = phases.entry(phase.as_str()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(json!({"guard": guard, "action": action, "count": count}));
            }
        }
        let mut record = Map::new();
        record.insert("policy".into(), json!(policy));
        record.insert("phases".into(), Value::Object(phases));
        if let Some((phase, guard)) = &self.blocked {
            record.insert("blocked".into(), json!({"phase": phase.as_str(), "guard": guard}));
        }
        let record = Value::Object(record);
        host.set_filter_state(contract::GUARDRAIL, record.to_string().as_bytes());
    }
}
