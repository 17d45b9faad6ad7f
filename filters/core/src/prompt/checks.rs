//! The remote guards of one phase — the webhook and OpenAI moderation — as calls in flight: they
//! start together, each answer is read as it arrives, and once all are in, [`Checks::conclude`]
//! says what they mean together. A call that cannot start (Envoy does not know the cluster) or
//! that fails is decided by that guard's `failureMode`.

use super::guard::policy::PolicyGuards;
use super::guard::remote::{Call, FailureMode, Phase, Verdict};
use super::guard::webhook;
use super::outcome::{Outcome, RemoteAction};
use crate::http::host::Host;
use crate::llm::view::TextKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remote {
    Webhook,
    Moderation,
}

impl Remote {
    fn name(self) -> &'static str {
        match self {
            Remote::Webhook => "webhook",
            Remote::Moderation => "moderation",
        }
    }
}

#[derive(Debug)]
struct InFlight {
    remote: Remote,
    /// `None` for a call that never started.
    token: Option<u32>,
    answer: Option<Result<Verdict, String>>,
}

/// What the remote guards of a phase decided together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conclusion {
    Pass,
    /// The webhook's replacement texts, one per text sent, in order.
    Mask(Vec<String>),
    /// Refused by a guard: its status and message.
    Reject {
        status: u16,
        message: String,
    },
    /// A guard that fails closed had no usable answer.
    Unavailable(String),
}

/// One phase's remote checks.
#[derive(Debug)]
pub struct Checks {
    phase: Phase,
    calls: Vec<InFlight>,
    /// How many texts the webhook was sent (a mask must return as many).
    sent: usize,
}

impl Checks {
    /// Starts every remote guard of `phase` on `texts`. `forwarded`: client headers for the
    /// webhook. `at`: the policy's config path, for log lines about a call that cannot start.
    pub fn start(
        host: &mut dyn Host,
        guards: &PolicyGuards,
        at: &str,
        phase: Phase,
        texts: &[(TextKind, String)],
        forwarded: &[(String, String)],
    ) -> Self {
        let mut calls = Vec::new();
        if let Some(m) = guards.moderation.as_ref().filter(|m| m.runs_in(phase)) {
            let inputs: Vec<String> = texts.iter().map(|(_, t)| t.clone()).collect();
            calls.push(dispatch(host, Remote::Moderation, &m.call(&inputs), at));
        }
        if let Some(w) = guards.webhook.as_ref().filter(|w| w.runs_in(phase)) {
            calls.push(dispatch(host, Remote::Webhook, &w.call(phase, texts, forwarded), at));
        }
        Self { phase, calls, sent: texts.len() }
    }

    /// Whether an answer is still awaited.
    pub fn pending(&self) -> bool {
        self.calls.iter().any(|c| c.answer.is_none())
    }

    /// Takes the answer to call `token`. False: not one of these calls.
    pub fn answer(
        &mut self,
        host: &mut dyn Host,
        guards: &PolicyGuards,
        token: u32,
        body_size: usize,
    ) -> bool {
        let phase = self.phase;
        let sent = self.sent;
        let Some(call) = self.calls.iter_mut().find(|c| c.token == Some(token) && c.answer.is_none()) else {
            return false;
        };
        let (status, body) = host.call_response(body_size);
        call.answer = Some(match call.remote {
            Remote::Webhook => webhook::verdict(phase, status, &body, sent),
            Remote::Moderation => match &guards.moderation {
                Some(m) => m.verdict(status, &body, guards.block_status),
                None => Err("not configured".into()),
            },
        });
        true
    }

    /// What the answers mean together (a refusal first, then a failure that fails closed, then
    /// the webhook's mask); each guard's answer is counted and recorded in `outcome`.
    pub fn conclude(
        &self,
        host: &mut dyn Host,
        guards: &PolicyGuards,
        policy: &str,
        outcome: &mut Outcome,
    ) -> Conclusion {
        let mut conclusion = Conclusion::Pass;
        let mut rank = 0;
        for call in &self.calls {
            let failure_mode = match call.remote {
                Remote::Webhook => guards.webhook.as_ref().map(|w| w.failure_mode),
                Remote::Moderation => guards.moderation.as_ref().map(|m| m.failure_mode),
            }
            .unwrap_or_default();
            let (action, this, this_rank) = match &call.answer {
                Some(Ok(Verdict::Pass)) => (RemoteAction::Pass, Conclusion::Pass, 0),
                Some(Ok(Verdict::Mask(texts))) => (RemoteAction::Mask, Conclusion::Mask(texts.clone()), 1),
                Some(Ok(Verdict::Reject { status, message })) => {
                    (RemoteAction::Block, Conclusion::Reject { status: *status, message: message.clone() }, 3)
                }
                Some(Err(why)) => {
                    log::warn!(
                        "policy {policy}: {} guard {}: {why}",
                        self.phase.as_str(),
                        call.remote.name()
                    );
                    match failure_mode {
                        FailureMode::Open => (RemoteAction::Error, Conclusion::Pass, 0),
                        FailureMode::Closed => (
                            RemoteAction::Error,
                            Conclusion::Unavailable(format!(
                                "the {} guardrail is unavailable",
                                call.remote.name()
                            )),
                            2,
                        ),
                    }
                }
                None => continue,
            };
            outcome.remote(host, policy, self.phase, call.remote.name(), action);
            if this_rank > rank {
                rank = this_rank;
                conclusion = this;
            }
        }
        conclusion
    }
}

fn dispatch(host: &mut dyn Host, remote: Remote, call: &Call, at: &str) -> InFlight {
    match call.dispatch(host) {
        Ok(token) => InFlight { remote, token: Some(token), answer: None },
        Err(why) => {
            log::error!("{at}.{}.cluster: {why}", remote.name());
            InFlight { remote, token: None, answer: Some(Err(why)) }
        }
    }
}
