//! The prompt filter's logic: templates ([`template`]), decorators ([`decorate`]), parameter
//! defaults, overrides and ceilings ([`params`]) and guardrails ([`guard`]), chosen per request
//! by policies and bindings ([`policy`]), all applied through the format-neutral
//! [`crate::llm::view`]; [`flow`] is the per-request state machine, with the remote checks in
//! [`checks`] and the answer's side in [`answer`].

pub mod answer;
pub mod checks;
pub mod decorate;
pub mod flow;
pub mod guard;
pub mod outcome;
pub mod params;
pub mod policy;
pub mod rag;
mod retrieve;
pub mod template;

use crate::common::config::{self, ConfigError};
use crate::http::host::HttpFlow;
use decorate::Decorator;
use policy::{BindingConfig, Policies, PolicyConfig};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use template::{Template, TemplateConfig};

/// The prompt filter's plugin config.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptConfig {
    /// Decorators for every request (before the bound policy's).
    #[serde(default)]
    pub decorators: Vec<Decorator>,
    /// Named templates clients may choose.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
    /// Named policies.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicyConfig>,
    /// Which policy a request gets: by route, model pattern and tenant, most specific first.
    #[serde(default)]
    pub bindings: Vec<BindingConfig>,
    /// The policy of requests no binding matches.
    #[serde(default)]
    pub default_policy: Option<String>,
}

/// The prompt filter's compiled config.
#[derive(Debug, Default)]
pub struct Prompt {
    pub decorators: Vec<Decorator>,
    pub templates: HashMap<String, Template>,
    pub policies: Policies,
}

impl Prompt {
    /// Compiles the config; keys named by `keyEnv` fields come from the Wasm VM's environment.
    pub fn configure(bytes: Option<&[u8]>) -> Result<Rc<Self>, ConfigError> {
        Self::configure_with_env(bytes, &|name| std::env::var(name).ok())
    }

    pub fn configure_with_env(
        bytes: Option<&[u8]>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Rc<Self>, ConfigError> {
        let config: PromptConfig = config::parse(bytes)?;
        let mut templates = HashMap::with_capacity(config.templates.len());
        for (name, t) in config.templates {
            let at = format!("templates.{name}");
            templates.insert(name.clone(), Template::compile(&name, t, &at)?);
        }
        let policies = Policies::compile(config.policies, config.bindings, config.default_policy, env)?;
        Ok(Rc::new(Prompt { decorators: config.decorators, templates, policies }))
    }

    /// Nothing configured: the filter makes no host call at all.
    pub fn is_inert(&self) -> bool {
        self.decorators.is_empty() && self.templates.is_empty() && self.policies.is_empty()
    }

    pub fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        Box::new(flow::PromptFlow::new(Rc::clone(self)))
    }
}

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod guard_flow_tests;
#[cfg(test)]
mod retrieve_tests;
