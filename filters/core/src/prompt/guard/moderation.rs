//! OpenAI's moderation endpoint as a guard: `POST /v1/moderations` through an Envoy cluster
//! with the gateway's own key (from the Wasm VM's environment, never from the client), one
//! `input` string per text. A text is refused when a configured category's score reaches its
//! threshold, or — with no categories configured — when OpenAI flags it. The refusal names the
//! categories, never the text.

use super::remote::{self, Call, FailureMode, Phase, Verdict};
use crate::common::config::ConfigError;
use crate::common::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModerationConfig {
    /// The Envoy cluster that reaches OpenAI (the provider's cluster does).
    pub cluster: String,
    #[serde(default = "openai_host")]
    pub authority: String,
    #[serde(default = "moderations_path")]
    pub path: String,
    /// The environment variable of the Wasm VM holding the API key.
    pub key_env: String,
    #[serde(default = "default_model")]
    pub model: String,
    /// Category → score threshold in [0, 1] (e.g. `{"violence": 0.5}`). Empty: OpenAI's own
    /// `flagged`.
    #[serde(default)]
    pub categories: BTreeMap<String, f64>,
    #[serde(default = "remote::default_timeout")]
    pub timeout_ms: u32,
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// Default: the request only.
    #[serde(default = "request_only")]
    pub phases: Vec<Phase>,
}

fn openai_host() -> String {
    "api.openai.com".into()
}

fn moderations_path() -> String {
    "/v1/moderations".into()
}

fn default_model() -> String {
    "omni-moderation-latest".into()
}

fn request_only() -> Vec<Phase> {
    vec![Phase::Request]
}

#[derive(Debug, Clone)]
pub struct Moderation {
    cluster: String,
    authority: String,
    path: String,
    key: Secret,
    model: String,
    categories: BTreeMap<String, f64>,
    timeout_ms: u32,
    pub failure_mode: FailureMode,
    phases: Vec<Phase>,
}

impl Moderation {
    pub fn compile(
        c: ModerationConfig,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        remote::check_cluster(&c.cluster, at)?;
        remote::check_timeout(c.timeout_ms, at)?;
        if !c.path.starts_with('/') || c.path.contains(' ') {
            return Err(ConfigError::new(format!("{at}.path"), "a path starting with `/`"));
        }
        let key = remote::env_secret(&c.key_env, &format!("{at}.keyEnv"), env)?;
        for (name, threshold) in &c.categories {
            if !(0.0..=1.0).contains(threshold) {
                return Err(ConfigError::new(
                    format!("{at}.categories.{name}"),
                    "a score threshold from 0 to 1",
                ));
            }
        }
        if c.phases.is_empty() {
            return Err(ConfigError::new(format!("{at}.phases"), "name `request`, `response` or both"));
        }
        Ok(Self {
            cluster: c.cluster,
            authority: c.authority,
            path: c.path,
            key,
            model: c.model,
            categories: c.categories,
            timeout_ms: c.timeout_ms,
            failure_mode: c.failure_mode,
            phases: c.phases,
        })
    }

    pub fn runs_in(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }

    pub fn call(&self, texts: &[String]) -> Call {
        let body = json!({"model": self.model, "input": texts});
        Call {
            cluster: self.cluster.clone(),
            headers: vec![
                (":method".into(), "POST".into()),
                (":path".into(), self.path.clone()),
                (":authority".into(), self.authority.clone()),
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {}", self.key.expose())),
            ],
            body: body.to_string().into_bytes(),
            timeout_ms: self.timeout_ms,
        }
    }

    /// Reads the answer; a refusal carries `block_status` and names the categories.
    pub fn verdict(&self, status: Option<u16>, body: &[u8], block_status: u16) -> Result<Verdict, String> {
        let status = status.ok_or("no answer (timeout or connection failure)")?;
        if !(200..300).contains(&status) {
            return Err(format!("answered HTTP {status}"));
        }
        let answer: Value = serde_json::from_slice(body).map_err(|_| "answer is not JSON".to_string())?;
        let results = answer.get("results").and_then(Value::as_array).ok_or("answer has no `results`")?;
        let mut hit: Vec<String> = Vec::new();
        for result in results {
            if self.categories.is_empty() {
                if result.get("flagged").and_then(Value::as_bool) == Some(true) {
                    let flagged = result.get("categories").and_then(Value::as_object);
                    let names = flagged.into_iter().flatten().filter(|(_, v)| v.as_bool() == Some(true));
                    hit.extend(names.map(|(k, _)| k.clone()));
                    if hit.is_empty() {
                        hit.push("flagged".into());
                    }
                }
                continue;
            }
            let scores = result.get("category_scores").and_then(Value::as_object);
            for (name, threshold) in &self.categories {
                let score = scores.and_then(|s| s.get(name)).and_then(Value::as_f64);
                if score.is_some_and(|s| s >= *threshold) {
                    hit.push(name.clone());
                }
            }
        }
        if hit.is_empty() {
            return Ok(Verdict::Pass);
        }
        hit.sort();
        hit.dedup();
        Ok(Verdict::Reject {
            status: block_status,
            message: format!("moderation flagged {}", hit.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moderation(config: Value) -> Result<Moderation, ConfigError> {
        let env = |name: &str| (name == "OPENAI_KEY").then(|| "sk-test".to_string());
        Moderation::compile(serde_json::from_value(config).unwrap(), "guards.moderation", &env)
    }

    #[test]
    fn call_carries_the_gateway_key_and_every_text() {
        let m = moderation(json!({"cluster": "openai", "keyEnv": "OPENAI_KEY"})).unwrap();
        let call = m.call(&["a".into(), "b".into()]);
        assert!(call.headers.contains(&("authorization".into(), "Bearer sk-test".into())));
        assert!(call.headers.contains(&(":path".into(), "/v1/moderations".into())));
        let body: Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(body, json!({"model": "omni-moderation-latest", "input": ["a", "b"]}));
        assert!(!format!("{m:?}").contains("sk-test"), "the key never prints");
    }

    #[test]
    fn thresholds_and_flags() {
        let answer = json!({"results": [
            {"flagged": false, "categories": {"violence": false}, "category_scores": {"violence": 0.4, "hate": 0.01}},
            {"flagged": true, "categories": {"violence": true, "hate": false}, "category_scores": {"violence": 0.9, "hate": 0.2}},
        ]})
        .to_string();
        let by_flag = moderation(json!({"cluster": "o", "keyEnv": "OPENAI_KEY"})).unwrap();
        assert_eq!(
            by_flag.verdict(Some(200), answer.as_bytes(), 403),
            Ok(Verdict::Reject { status: 403, message: "moderation flagged violence".into() })
        );
        let strict =
            moderation(json!({"cluster": "o", "keyEnv": "OPENAI_KEY", "categories": {"hate": 0.15}}))
                .unwrap();
        assert_eq!(
            strict.verdict(Some(200), answer.as_bytes(), 451),
            Ok(Verdict::Reject { status: 451, message: "moderation flagged hate".into() })
        );
        let lax =
            moderation(json!({"cluster": "o", "keyEnv": "OPENAI_KEY", "categories": {"violence": 0.95}}))
                .unwrap();
        assert_eq!(lax.verdict(Some(200), answer.as_bytes(), 403), Ok(Verdict::Pass));
        assert!(lax.verdict(Some(401), b"{}", 403).is_err());
        assert!(lax.verdict(Some(200), b"{}", 403).is_err());
        assert!(lax.verdict(None, b"", 403).is_err());
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = |config: Value| moderation(config).unwrap_err();
        assert_eq!(err(json!({"cluster": "o", "keyEnv": "UNSET"})).path, "guards.moderation.keyEnv");
        let pasted = err(json!({"cluster": "o", "keyEnv": "sk-live-abc"}));
        assert!(!pasted.message.contains("sk-live"), "{pasted:?}");
        assert_eq!(
            err(json!({"cluster": "o", "keyEnv": "OPENAI_KEY", "categories": {"hate": 2.0}})).path,
            "guards.moderation.categories.hate"
        );
    }
}
