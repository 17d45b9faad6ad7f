//! Prompt policies and the bindings that choose one per request.
//!
//! A policy is a named set of what the gateway does to a prompt: decorators, parameter
//! defaults and overrides, a ceiling on output tokens, whether a template is required, and its
//! guards ([`super::guard::policy`]). A binding chooses a policy by route, model pattern and
//! tenant; the most specific binding that matches wins ([`crate::common::binding`]). Without a
//! match, `defaultPolicy` (if any) applies.

use super::decorate::Decorator;
use super::guard::policy::{GuardsConfig, PolicyGuards};
use super::rag::{Retrieval, RetrievalConfig};
pub use crate::common::binding::Subject;
use crate::common::binding::{most_specific, Selector};
use crate::common::config::ConfigError;
use crate::llm::view::params::Params;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default)]
    pub decorators: Vec<Decorator>,
    /// Set when the client did not.
    #[serde(default)]
    pub defaults: Params,
    /// Set whatever the client sent.
    #[serde(default)]
    pub overrides: Params,
    /// A ceiling on the output tokens a request may ask for (also applied when it asks none).
    #[serde(default)]
    pub max_output_tokens: Option<Ceiling>,
    /// `false`: requests must name a template (400 otherwise).
    #[serde(default = "yes")]
    pub allow_untemplated: bool,
    /// Guardrails on the request and the answer.
    #[serde(default)]
    pub guards: Option<GuardsConfig>,
    /// Retrieval-augmented generation: context from a vector store ([`super::rag`]).
    #[serde(default)]
    pub retrieval: Option<RetrievalConfig>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ceiling {
    pub limit: u64,
    #[serde(default)]
    pub action: CeilingAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CeilingAction {
    /// 400 in the client's shape, naming the limit.
    #[default]
    Reject,
    /// Lower the request's cap to the limit.
    Clamp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingConfig {
    /// Route name (the router's `routes[].name`, default its model).
    #[serde(default)]
    pub route: Option<String>,
    /// Model name or `*` pattern, matched against the model the client asked for and the one
    /// sent upstream.
    #[serde(default)]
    pub model: Option<String>,
    /// Tenant id (the credentials filter's).
    #[serde(default)]
    pub tenant: Option<String>,
    pub policy: String,
}

/// A compiled policy.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub decorators: Vec<Decorator>,
    pub defaults: Params,
    pub overrides: Params,
    pub max_output_tokens: Option<Ceiling>,
    pub allow_untemplated: bool,
    pub guards: Option<PolicyGuards>,
    pub retrieval: Option<Retrieval>,
}

impl Policy {
    /// Whether the policy may change anything in a body (a required template is checked at the
    /// headers, before any body is read; retrieval adds context).
    pub fn edits_body(&self) -> bool {
        !self.decorators.is_empty()
            || !self.defaults.is_empty()
            || !self.overrides.is_empty()
            || self.max_output_tokens.is_some()
            || self.retrieval.is_some()
    }
}

#[derive(Debug, Clone)]
struct Binding {
    selector: Selector,
    policy: usize,
}

/// The compiled policies and bindings.
#[derive(Debug, Default)]
pub struct Policies {
    policies: Vec<Policy>,
    bindings: Vec<Binding>,
    default: Option<usize>,
}

impl Policies {
    pub fn compile(
        configs: BTreeMap<String, PolicyConfig>,
        bindings: Vec<BindingConfig>,
        default: Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut policies = Vec::with_capacity(configs.len());
        for (name, c) in configs {
            if let Some(ceiling) = c.max_output_tokens {
                if ceiling.limit == 0 {
                    return Err(ConfigError::new(
                        format!("policies.{name}.maxOutputTokens.limit"),
                        "must be at least 1",
                    ));
                }
            }
            let guards = c
                .guards
                .map(|g| PolicyGuards::compile(g, &format!("policies.{name}.guards"), env))
                .transpose()?;
            let retrieval = c
                .retrieval
                .map(|r| Retrieval::compile(r, &format!("policies.{name}.retrieval"), env))
                .transpose()?;
            policies.push(Policy {
                name,
                guards,
                retrieval,
                decorators: c.decorators,
                defaults: c.defaults,
                overrides: c.overrides,
                max_output_tokens: c.max_output_tokens,
                allow_untemplated: c.allow_untemplated,
            });
        }
        let index = |name: &str, at: String| {
            policies
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| ConfigError::new(at, format!("no policy named `{name}` in `policies`")))
        };
        let mut compiled = Vec::with_capacity(bindings.len());
        for (i, b) in bindings.into_iter().enumerate() {
            let selector = Selector::new(b.route, b.model, b.tenant);
            if selector.is_empty() {
                return Err(ConfigError::new(
                    format!("bindings[{i}]"),
                    "names no route, model or tenant (use `defaultPolicy` for every request)",
                ));
            }
            let policy = index(&b.policy, format!("bindings[{i}].policy"))?;
            compiled.push(Binding { selector, policy });
        }
        let default = match default {
            Some(name) => Some(index(&name, "defaultPolicy".into())?),
            None => None,
        };
        Ok(Self { policies, bindings: compiled, default })
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Whether choosing needs the tenant (read from filter state only then).
    pub fn needs_tenant(&self) -> bool {
        self.bindings.iter().any(|b| b.selector.tenant.is_some())
    }

    pub fn select_by_name(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// The policy for a request: the most specific matching binding's, else the default.
    pub fn select(&self, subject: &Subject<'_>) -> Option<&Policy> {
        most_specific(self.bindings.iter().map(|b| (&b.selector, b.policy)), subject)
            .or(self.default)
            .and_then(|i| self.policies.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policies(bindings: serde_json::Value, default: Option<&str>) -> Result<Policies, ConfigError> {
        let configs: BTreeMap<String, PolicyConfig> = ["base", "claude", "acme", "acme-claude", "route"]
            .iter()
            .map(|n| (n.to_string(), serde_json::from_value(json!({})).unwrap()))
            .collect();
        Policies::compile(
            configs,
            serde_json::from_value(bindings).unwrap(),
            default.map(str::to_string),
            &|_| None,
        )
    }

    fn chosen<'a>(p: &'a Policies, route: &str, model: &str, tenant: Option<&str>) -> Option<&'a str> {
        let subject = Subject { route, request_model: model, upstream_model: model, tenant };
        p.select(&subject).map(|p| p.name.as_str())
    }

    #[test]
    fn the_most_specific_binding_wins() {
        let p = policies(
            json!([
                {"model": "claude-*", "policy": "claude"},
                {"tenant": "acme", "policy": "acme"},
                {"tenant": "acme", "model": "claude-*", "policy": "acme-claude"},
                {"route": "support", "policy": "route"}
            ]),
            Some("base"),
        )
        .unwrap();
        assert_eq!(chosen(&p, "gpt-*", "gpt-4o", None), Some("base"));
        assert_eq!(chosen(&p, "claude-*", "claude-x", None), Some("claude"));
        assert_eq!(chosen(&p, "gpt-*", "gpt-4o", Some("acme")), Some("acme"));
        assert_eq!(chosen(&p, "claude-*", "claude-x", Some("acme")), Some("acme-claude"));
        assert_eq!(chosen(&p, "support", "claude-x", None), Some("route"), "a route beats a model");
        assert_eq!(
            chosen(&p, "support", "claude-x", Some("acme")),
            Some("acme-claude"),
            "a tenant beats a route"
        );
        let none = policies(json!([{"model": "x", "policy": "base"}]), None).unwrap();
        assert_eq!(chosen(&none, "r", "gpt-4o", None), None);
    }

    #[test]
    fn an_exact_model_beats_a_pattern_and_order_breaks_ties() {
        let p = policies(
            json!([
                {"model": "claude-*", "policy": "claude"},
                {"model": "claude-x", "policy": "route"},
                {"model": "claude-*", "policy": "base"}
            ]),
            None,
        )
        .unwrap();
        assert_eq!(chosen(&p, "r", "claude-x", None), Some("route"));
        assert_eq!(chosen(&p, "r", "claude-y", None), Some("claude"));
    }

    #[test]
    fn config_errors_name_the_field() {
        assert_eq!(
            policies(json!([{"model": "x", "policy": "nope"}]), None).unwrap_err().path,
            "bindings[0].policy"
        );
        assert_eq!(policies(json!([{"policy": "base"}]), None).unwrap_err().path, "bindings[0]");
        assert_eq!(policies(json!([]), Some("nope")).unwrap_err().path, "defaultPolicy");
    }
}
