//! The usage filter's logic: exact token usage per request — every token type, its cost, the
//! latency of the answer — to metrics and the access log ([`flow`], [`metrics`], [`record`]);
//! prompt-size limits and token or cost budgets enforced before any provider is called
//! ([`budget`]); a tokenizer for the counts a provider did not give ([`tokens`]).

pub mod budget;
pub mod flow;
pub mod global;
pub mod metrics;
pub mod prices;
pub mod record;
pub mod tokens;

use crate::common::binding::{most_specific, Selector, Subject};
use crate::common::config::{self, ConfigError};
use crate::http::host::HttpFlow;
use budget::{Budget, BudgetConfig};
use global::GlobalBudgetConfig;
use metrics::MetricNames;
use prices::{PriceTable, PricesConfig};
use serde::Deserialize;
use std::rc::Rc;
use tokens::{EncodingRule, Tokenizer};

/// Larger JSON responses are passed on without usage accounting rather than buffered.
const DEFAULT_MAX_JSON_BYTES: usize = 8 << 20;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageConfigFile {
    /// Upper bound on a response body kept to read its usage (JSON) or to count its tokens
    /// when the provider did not (a stream).
    #[serde(default)]
    max_json_bytes: Option<usize>,
    /// `current` (default) or `previous`: which OpenTelemetry GenAI names the token metrics use.
    #[serde(default)]
    metric_names: MetricNames,
    #[serde(default)]
    prices: Option<PricesConfig>,
    /// Prompt-size limits by route / model / tenant: the most specific match applies.
    #[serde(default)]
    limits: Vec<LimitConfig>,
    /// Every budget that covers a request applies.
    #[serde(default)]
    budgets: Vec<BudgetConfig>,
    #[serde(default)]
    tokenizer: TokenizerConfig,
    /// Budgets shared by every replica, kept by a rate limit service: this filter sets the
    /// number of tokens Envoy's rate limit filter charges ([`global`]).
    #[serde(default)]
    global_budget: Option<GlobalBudgetConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitConfig {
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    /// Prompts above this many tokens get a 400 without any upstream call.
    max_prompt_tokens: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenizerConfig {
    /// Count what a provider did not report (a stream cut off, usage omitted), marked
    /// `estimated`. Default true.
    #[serde(default = "yes")]
    estimate_missing: bool,
    /// Model patterns → encoding, before the defaults ([`tokens::default_encoding`]).
    #[serde(default)]
    encodings: Vec<EncodingRule>,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self { estimate_missing: true, encodings: Vec::new() }
    }
}

fn yes() -> bool {
    true
}

/// The usage filter's compiled config.
#[derive(Debug)]
pub struct UsageConfig {
    pub max_json_bytes: usize,
    pub metric_names: MetricNames,
    pub prices: PriceTable,
    limits: Vec<(Selector, u64)>,
    pub budgets: Vec<Budget>,
    pub tokenizer: Tokenizer,
    pub estimate_missing: bool,
    pub global_budget: Option<GlobalBudgetConfig>,
}

impl UsageConfig {
    pub fn configure(bytes: Option<&[u8]>) -> Result<Rc<Self>, ConfigError> {
        let file: UsageConfigFile = config::parse(bytes)?;
        let prices = PriceTable::compile(file.prices)?;
        let budgets = Budget::compile(file.budgets, !prices.is_empty())?;
        let mut limits = Vec::with_capacity(file.limits.len());
        for (i, l) in file.limits.into_iter().enumerate() {
            if l.max_prompt_tokens == 0 {
                return Err(ConfigError::new(format!("limits[{i}].maxPromptTokens"), "must be at least 1"));
            }
            limits.push((Selector::new(l.route, l.model, l.tenant), l.max_prompt_tokens));
        }
        for (i, rule) in file.tokenizer.encodings.iter().enumerate() {
            if rule.model.is_empty() {
                return Err(ConfigError::new(
                    format!("tokenizer.encodings[{i}].model"),
                    "must name a model or a `*` pattern",
                ));
            }
        }
        Ok(Rc::new(UsageConfig {
            max_json_bytes: file.max_json_bytes.unwrap_or(DEFAULT_MAX_JSON_BYTES),
            metric_names: file.metric_names,
            prices,
            limits,
            budgets,
            tokenizer: Tokenizer::new(file.tokenizer.encodings),
            estimate_missing: file.tokenizer.estimate_missing,
            global_budget: file.global_budget,
        }))
    }

    /// `maxPromptTokens` for a request, if a limit covers it.
    pub fn max_prompt_tokens(&self, subject: &Subject<'_>) -> Option<u64> {
        most_specific(self.limits.iter().map(|(s, n)| (s, *n)), subject)
    }

    /// Whether the filter reads request bodies at all (limits, budgets, or counting a prompt
    /// the provider may not report).
    pub fn reads_requests(&self) -> bool {
        !self.limits.is_empty()
            || !self.budgets.is_empty()
            || self.estimate_missing
            || self.global_budget.is_some()
    }

    pub fn flow(self: &Rc<Self>) -> Box<dyn HttpFlow> {
        Box::new(flow::UsageFlow::new(Rc::clone(self)))
    }
}

#[cfg(test)]
mod flow_tests;
