//! The webhook guard, speaking the Gloo AI Gateway guardrail webhook contract, so webhook
//! servers written for it move over unchanged.
//!
//! Request phase: `POST {pathPrefix}/request` with `{"body": {"messages": [{"role", "content"}]}}`
//! — one message per text of the prompt as the provider would see it (after templates,
//! decorators and the local guards: a value a local guard masked never leaves the pod). The
//! answer is `{"action": …}`: a pass action (`{}` or `{"reason": …}`), a mask action (`{"body":
//! {"messages": […]}}`, as many messages as were sent, whose contents replace the texts) or a
//! reject action (`{"body": "message", "status_code": 4xx}`), answered to the client in its own
//! error shape. Response phase: `POST {pathPrefix}/response` with `{"body": {"choices":
//! [{"message": {"role": "assistant", "content"}}]}}`, one choice per answer text; pass or mask
//! (a reject is honoured too). Anything else — a non-2xx status, an answer that is not one of
//! these, a mask with the wrong number of texts — is a failure, handled by `failureMode`.

use super::remote::{self, Call, FailureMode, Phase, Verdict};
use crate::common::config::ConfigError;
use crate::llm::view::TextKind;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    /// The Envoy cluster of the webhook server.
    pub cluster: String,
    /// `:authority` of the calls (default: the cluster name).
    #[serde(default)]
    pub authority: Option<String>,
    /// Put before `/request` and `/response` (default none).
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default = "remote::default_timeout")]
    pub timeout_ms: u32,
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// Client request headers passed on to the webhook (e.g. `x-request-id`, a user id set by
    /// Envoy's authn). Credentials are never among them: the credentials filter removed them.
    #[serde(default)]
    pub forward_headers: Vec<String>,
    /// Default: both.
    #[serde(default = "both")]
    pub phases: Vec<Phase>,
}

fn both() -> Vec<Phase> {
    vec![Phase::Request, Phase::Response]
}

#[derive(Debug, Clone)]
pub struct Webhook {
    cluster: String,
    authority: String,
    path_prefix: String,
    timeout_ms: u32,
    pub failure_mode: FailureMode,
    pub forward_headers: Vec<String>,
    phases: Vec<Phase>,
}

impl Webhook {
    pub fn compile(c: WebhookConfig, at: &str) -> Result<Self, ConfigError> {
        remote::check_cluster(&c.cluster, at)?;
        remote::check_timeout(c.timeout_ms, at)?;
        let prefix = c.path_prefix.unwrap_or_default();
        if !(prefix.is_empty() || prefix.starts_with('/'))
            || prefix.ends_with('/')
            || prefix.contains(['?', '#', ' '])
        {
            return Err(ConfigError::new(
                format!("{at}.pathPrefix"),
                "a path such as `/guard` (no trailing `/`, query or fragment)",
            ));
        }
        let forward_headers = c
            .forward_headers
            .iter()
            .enumerate()
            .map(|(i, h)| remote::check_header_name(h, &format!("{at}.forwardHeaders[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if c.phases.is_empty() {
            return Err(ConfigError::new(format!("{at}.phases"), "name `request`, `response` or both"));
        }
        Ok(Self {
            authority: c.authority.unwrap_or_else(|| c.cluster.clone()),
            cluster: c.cluster,
            path_prefix: prefix,
            timeout_ms: c.timeout_ms,
            failure_mode: c.failure_mode,
            forward_headers,
            phases: c.phases,
        })
    }

    pub fn runs_in(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }

    /// The call for `texts` (with their kinds); `forwarded`: the client's headers to pass on.
    pub fn call(&self, phase: Phase, texts: &[(TextKind, String)], forwarded: &[(String, String)]) -> Call {
        let body = match phase {
            Phase::Request => {
                let messages: Vec<Value> =
                    texts.iter().map(|(k, t)| json!({"role": remote::role(*k), "content": t})).collect();
                json!({"body": {"messages": messages}})
            }
            Phase::Response => {
                let choices: Vec<Value> = texts
                    .iter()
                    .map(|(k, t)| json!({"message": {"role": remote::role(*k), "content": t}}))
                    .collect();
                json!({"body": {"choices": choices}})
            }
        };
        let mut headers = vec![
            (":method".to_string(), "POST".to_string()),
            (":path".to_string(), format!("{}/{}", self.path_prefix, phase.as_str())),
            (":authority".to_string(), self.authority.clone()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        headers.extend(forwarded.iter().cloned());
        Call {
            cluster: self.cluster.clone(),
            headers,
            body: body.to_string().into_bytes(),
            timeout_ms: self.timeout_ms,
        }
    }
}

/// Reads the webhook's answer to a call that sent `sent` texts. `Err`: why it cannot be used.
pub fn verdict(phase: Phase, status: Option<u16>, body: &[u8], sent: usize) -> Result<Verdict, String> {
    let status = status.ok_or("no answer (timeout or connection failure)")?;
    if !(200..300).contains(&status) {
        return Err(format!("answered HTTP {status}"));
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| "answer is not JSON".to_string())?;
    let action = answer.get("action").ok_or("answer has no `action`")?;
    if !action.is_object() {
        return Err("`action` is not an object".into());
    }
    if let Some(code) = action.get("status_code") {
        let status = code
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (400..=599).contains(c))
            .ok_or("reject `status_code` is not an HTTP error status")?;
        let message = match action.get("body") {
            Some(Value::String(m)) if !m.is_empty() => remote::bounded(m),
            _ => "rejected by the guardrail webhook".to_string(),
        };
        return Ok(Verdict::Reject { status, message });
    }
    let Some(body) = action.get("body") else { return Ok(Verdict::Pass) };
    let items = match phase {
        Phase::Request => body.get("messages").and_then(Value::as_array),
        Phase::Response => body.get("choices").and_then(Value::as_array),
    }
    .ok_or("mask `body` has no message list")?;
    if items.len() != sent {
        return Err(format!("mask returned {} texts for the {sent} sent", items.len()));
    }
    let content = |item: &Value| -> Option<String> {
        let message = match phase {
            Phase::Request => item,
            Phase::Response => item.get("message")?,
        };
        message.get("content")?.as_str().map(str::to_string)
    };
    let texts = items
        .iter()
        .map(content)
        .collect::<Option<Vec<_>>>()
        .ok_or("a masked message has no text `content`")?;
    Ok(Verdict::Mask(texts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(config: Value) -> Result<Webhook, ConfigError> {
        Webhook::compile(serde_json::from_value(config).unwrap(), "guards.webhook")
    }

    #[test]
    fn calls_follow_the_gloo_contract() {
        let w =
            webhook(json!({"cluster": "guard", "pathPrefix": "/v1", "forwardHeaders": ["X-User"]})).unwrap();
        let texts = vec![(TextKind::System, "be nice".to_string()), (TextKind::User, "hi".to_string())];
        let call = w.call(Phase::Request, &texts, &[("x-user".into(), "ann".into())]);
        assert_eq!(call.cluster, "guard");
        let path = call.headers.iter().find(|(n, _)| n == ":path").unwrap();
        assert_eq!(path.1, "/v1/request");
        assert!(call.headers.contains(&("x-user".into(), "ann".into())));
        let body: Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(
            body,
            json!({"body": {"messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]}})
        );
        let call = w.call(Phase::Response, &[(TextKind::Assistant, "ok".into())], &[]);
        let body: Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(body, json!({"body": {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}}));
    }

    #[test]
    fn verdicts() {
        let read = |phase, body: Value, sent| verdict(phase, Some(200), body.to_string().as_bytes(), sent);
        assert_eq!(read(Phase::Request, json!({"action": {}}), 1), Ok(Verdict::Pass));
        assert_eq!(read(Phase::Request, json!({"action": {"reason": "fine"}}), 1), Ok(Verdict::Pass));
        assert_eq!(
            read(
                Phase::Request,
                json!({"action": {"body": {"messages": [{"role": "user", "content": "x"}]}}}),
                1
            ),
            Ok(Verdict::Mask(vec!["x".into()]))
        );
        assert_eq!(
            read(
                Phase::Response,
                json!({"action": {"body": {"choices": [{"message": {"role": "assistant", "content": "y"}}]}}}),
                1
            ),
            Ok(Verdict::Mask(vec!["y".into()]))
        );
        assert_eq!(
            read(Phase::Request, json!({"action": {"body": "no", "status_code": 422, "reason": "r"}}), 1),
            Ok(Verdict::Reject { status: 422, message: "no".into() })
        );
        assert!(read(Phase::Request, json!({"action": {"body": {"messages": []}}}), 1)
            .unwrap_err()
            .contains("0 texts for the 1"));
        assert!(read(Phase::Request, json!({"action": {"body": "x", "status_code": 200}}), 1).is_err());
        assert!(read(Phase::Request, json!({"nothing": 1}), 1).is_err());
        assert!(verdict(Phase::Request, Some(500), b"{}", 1).unwrap_err().contains("500"));
        assert!(verdict(Phase::Request, None, b"", 1).unwrap_err().contains("timeout"));
        assert!(verdict(Phase::Request, Some(200), b"not json", 1).is_err());
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = |config: Value| webhook(config).unwrap_err().path;
        assert_eq!(err(json!({"cluster": ""})), "guards.webhook.cluster");
        assert_eq!(err(json!({"cluster": "g", "timeoutMs": 0})), "guards.webhook.timeoutMs");
        assert_eq!(err(json!({"cluster": "g", "pathPrefix": "v1/"})), "guards.webhook.pathPrefix");
        assert_eq!(
            err(json!({"cluster": "g", "forwardHeaders": [":path"]})),
            "guards.webhook.forwardHeaders[0]"
        );
        assert_eq!(err(json!({"cluster": "g", "phases": []})), "guards.webhook.phases");
    }
}
