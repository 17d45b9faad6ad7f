//! A policy's `guards` section: the local guards of each phase, the remote ones, and how a
//! refusal is answered.

use super::moderation::{Moderation, ModerationConfig};
use super::remote::Phase;
use super::stream::DEFAULT_CAP;
use super::webhook::{Webhook, WebhookConfig};
use super::{Action, GuardConfig, Guards};
use crate::common::config::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardsConfig {
    /// Guards on every text the provider will see.
    #[serde(default)]
    pub request: Vec<GuardConfig>,
    /// Guards on every text of the answer, JSON or streamed.
    #[serde(default)]
    pub response: Vec<GuardConfig>,
    /// The status of a refused request (default 403).
    #[serde(default = "forbidden")]
    pub block_status: u16,
    /// The most text one stream holds back waiting to see whether it completes a match.
    #[serde(default = "default_hold")]
    pub stream_hold_back: usize,
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    #[serde(default)]
    pub moderation: Option<ModerationConfig>,
}

fn forbidden() -> u16 {
    403
}

fn default_hold() -> usize {
    DEFAULT_CAP
}

const MIN_HOLD: usize = 64;
const MAX_HOLD: usize = 64 * 1024;

/// A policy's compiled guards.
#[derive(Debug)]
pub struct PolicyGuards {
    pub request: Guards,
    pub response: Guards,
    pub block_status: u16,
    pub hold_back: usize,
    pub webhook: Option<Webhook>,
    pub moderation: Option<Moderation>,
}

impl PolicyGuards {
    pub fn compile(
        c: GuardsConfig,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if !(400..=599).contains(&c.block_status) {
            return Err(ConfigError::new(format!("{at}.blockStatus"), "an HTTP error status (400 to 599)"));
        }
        if !(MIN_HOLD..=MAX_HOLD).contains(&c.stream_hold_back) {
            return Err(ConfigError::new(
                format!("{at}.streamHoldBack"),
                format!("{MIN_HOLD} to {MAX_HOLD} bytes"),
            ));
        }
        let webhook = c.webhook.map(|w| Webhook::compile(w, &format!("{at}.webhook"))).transpose()?;
        let moderation =
            c.moderation.map(|m| Moderation::compile(m, &format!("{at}.moderation"), env)).transpose()?;
        let response = Guards::compile(c.response, &format!("{at}.response"))?;
        for (guard, longest) in response.longer_than(c.stream_hold_back) {
            log::warn!(
                "{at}.streamHoldBack: guard `{guard}` matches up to {longest} bytes, more than the {} a stream holds back; in a streamed answer a longer match can be released in part",
                c.stream_hold_back
            );
        }
        Ok(Self {
            request: Guards::compile(c.request, &format!("{at}.request"))?,
            response,
            block_status: c.block_status,
            hold_back: c.stream_hold_back,
            webhook,
            moderation,
        })
    }

    /// Whether anything checks `phase`.
    pub fn checks(&self, phase: Phase) -> bool {
        let local = match phase {
            Phase::Request => !self.request.is_empty(),
            Phase::Response => !self.response.is_empty(),
        };
        local || self.remote_in(phase)
    }

    /// Whether a remote guard runs in `phase`.
    pub fn remote_in(&self, phase: Phase) -> bool {
        self.webhook.as_ref().is_some_and(|w| w.runs_in(phase))
            || self.moderation.as_ref().is_some_and(|m| m.runs_in(phase))
    }

    /// Whether a complete (JSON) answer can be refused, so its headers must wait for its body.
    pub fn can_refuse_answer(&self) -> bool {
        self.response.has_action(Action::Block) || self.remote_in(Phase::Response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(config: serde_json::Value) -> Result<PolicyGuards, ConfigError> {
        PolicyGuards::compile(serde_json::from_value(config).unwrap(), "policies.p.guards", &|_| None)
    }

    #[test]
    fn defaults_and_errors() {
        let g = compile(json!({"request": [{"detector": "email", "action": "mask"}]})).unwrap();
        assert_eq!((g.block_status, g.hold_back), (403, DEFAULT_CAP));
        assert!(g.checks(Phase::Request) && !g.checks(Phase::Response) && !g.can_refuse_answer());
        let err = |c| compile(c).unwrap_err().path;
        assert_eq!(err(json!({"blockStatus": 200})), "policies.p.guards.blockStatus");
        assert_eq!(err(json!({"streamHoldBack": 1})), "policies.p.guards.streamHoldBack");
        assert_eq!(
            err(json!({"response": [{"patterns": ["("], "action": "block"}]})),
            "policies.p.guards.response[0].patterns[0]"
        );
        assert_eq!(
            err(json!({"moderation": {"cluster": "o", "keyEnv": "K"}})),
            "policies.p.guards.moderation.keyEnv"
        );
    }
}
