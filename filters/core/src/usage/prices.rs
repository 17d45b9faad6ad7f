//! What a request cost: a price table in config, per model pattern, per token type.
//!
//! Prices are per million tokens, in one currency for the whole table. A request's cost is
//! kept in micro-units of that currency (`tokens × price per million` is exactly that), an
//! integer a counter can add without rounding drift, and shown in the access log as a decimal.
//! Each token type is priced once: the cached and cache-writing parts of the input at their own
//! prices, the rest at the input price; reasoning at its own price, the rest of the output at the
//! output price — so no token is billed twice and none is left out.

use crate::common::config::ConfigError;
use crate::common::glob::glob_match;
use crate::llm::usage::Usage;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PricesConfig {
    /// ISO 4217 code (or any label): the unit of every price and of cost budgets.
    pub currency: String,
    /// Model name or `*` pattern → prices; the first match (config order) wins. Matched against
    /// the model sent upstream (what the provider bills), then the one the client asked for.
    pub models: Vec<ModelPriceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelPriceConfig {
    pub model: String,
    /// Per million input tokens.
    pub input: f64,
    /// Per million output tokens.
    pub output: f64,
    /// Per million input tokens read from the provider's cache (default: `input`).
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Per million input tokens written to it (default: `input`).
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Per million reasoning tokens (default: `output`).
    #[serde(default)]
    pub reasoning: Option<f64>,
}

/// Prices of one model, in micro-units per token (= units per million tokens).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
    pub reasoning: f64,
}

impl Price {
    /// Cost of `usage` in micro-units, rounded to the nearest.
    pub fn cost_micros(&self, usage: &Usage) -> u64 {
        let plain_input = usage.input.saturating_sub(usage.cache_read).saturating_sub(usage.cache_write);
        let plain_output = usage.output.saturating_sub(usage.reasoning);
        let parts = [
            (plain_input, self.input),
            (usage.cache_read, self.cache_read),
            (usage.cache_write, self.cache_write),
            (plain_output, self.output),
            (usage.reasoning, self.reasoning),
        ];
        // Token counts stay far below 2^53: the products are exact enough in f64.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let micros = parts.iter().map(|(tokens, price)| *tokens as f64 * price).sum::<f64>().round() as u64;
        micros
    }
}

#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    pub currency: String,
    models: Vec<(String, Price)>,
}

impl PriceTable {
    pub fn compile(config: Option<PricesConfig>) -> Result<Self, ConfigError> {
        let Some(config) = config else { return Ok(Self::default()) };
        if config.currency.is_empty() || config.currency.contains([';', '=']) {
            return Err(ConfigError::new("prices.currency", "must be a non-empty label without `;` or `=`"));
        }
        let mut models = Vec::with_capacity(config.models.len());
        for (i, m) in config.models.into_iter().enumerate() {
            let at = |field: &str| format!("prices.models[{i}].{field}");
            let checked = |field: &str, v: f64| {
                if v.is_finite() && v >= 0.0 {
                    Ok(v)
                } else {
                    Err(ConfigError::new(at(field), "must be a price of zero or more"))
                }
            };
            if m.model.is_empty() {
                return Err(ConfigError::new(at("model"), "must name a model or a `*` pattern"));
            }
            let input = checked("input", m.input)?;
            let output = checked("output", m.output)?;
            let price = Price {
                input,
                output,
                cache_read: checked("cacheRead", m.cache_read.unwrap_or(input))?,
                cache_write: checked("cacheWrite", m.cache_write.unwrap_or(input))?,
                reasoning: checked("reasoning", m.reasoning.unwrap_or(output))?,
            };
            models.push((m.model, price));
        }
        Ok(Self { currency: config.currency, models })
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The price of the first entry matching the upstream model, else the requested one.
    pub fn price(&self, upstream_model: &str, request_model: &str) -> Option<Price> {
        let find =
            |model: &str| self.models.iter().find(|(p, _)| glob_match(p, model)).map(|(_, price)| *price);
        find(upstream_model).or_else(|| find(request_model))
    }
}

/// Micro-units as a decimal amount (`1234567` → `1.234567`).
pub fn micros_to_amount(micros: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let amount = micros as f64 / 1_000_000.0;
    amount
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(v: serde_json::Value) -> Result<PriceTable, ConfigError> {
        PriceTable::compile(Some(serde_json::from_value(v).unwrap()))
    }

    #[test]
    fn every_token_type_is_priced_once() {
        let t = table(json!({"currency": "USD", "models": [
            {"model": "claude-*", "input": 3.0, "output": 15.0, "cacheRead": 0.3, "cacheWrite": 3.75},
            {"model": "gpt-*", "input": 2.5, "output": 10.0, "reasoning": 20.0},
        ]}))
        .unwrap();
        let claude = t.price("claude-sonnet-4", "smart").unwrap();
        // 100 input of which 30 read and 20 written; 40 output.
        let u = Usage { input: 100, output: 40, cache_read: 30, cache_write: 20, reasoning: 0 };
        // 50×3 + 30×0.3 + 20×3.75 + 40×15 = 150 + 9 + 75 + 600
        assert_eq!(claude.cost_micros(&u), 834);
        let gpt = t.price("unknown", "gpt-4o").unwrap();
        let u = Usage { input: 1_000_000, output: 1000, reasoning: 400, ..Usage::default() };
        // 1M×2.5 + 600×10 + 400×20 (reasoning at its own price, not also as output)
        assert_eq!(gpt.cost_micros(&u), 2_500_000 + 6000 + 8000);
        assert_eq!(micros_to_amount(2_514_000), 2.514);
        assert!(t.price("gemini", "gemini").is_none());
    }

    #[test]
    fn the_shipped_example_table_loads() {
        let example = include_str!("../../../../envoy-configs/usage-prices-2025-08.json");
        let config = crate::usage::UsageConfig::configure(Some(example.as_bytes())).unwrap();
        let mini = config.prices.price("gpt-4o-mini-2024-07-18", "gpt-4o-mini").unwrap();
        assert_eq!((mini.input, mini.cache_read), (0.15, 0.075));
        // The first match wins: `gpt-4o-mini*` before `gpt-4o*`.
        assert_eq!(config.prices.price("gpt-4o", "gpt-4o").unwrap().input, 2.5);
    }

    #[test]
    fn bad_prices_name_the_field() {
        let err = table(json!({"currency": "USD", "models": [{"model": "m", "input": 1.0, "output": -1.0}]}));
        assert_eq!(err.unwrap_err().path, "prices.models[0].output");
        let err = table(json!({"currency": "", "models": []}));
        assert_eq!(err.unwrap_err().path, "prices.currency");
    }
}
