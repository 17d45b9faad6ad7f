//! The usage filter's metrics, named by the OpenTelemetry GenAI semantic conventions.
//!
//! Token metrics follow the conventions' 2026 token-metrics document (`semantic-conventions-
//! genai`, "inference token metrics"): one counter per token type,
//! `gen_ai.client.inference.usage.{input_tokens, output_tokens, cache_read.input_tokens,
//! cache_write.input_tokens, reasoning.output_tokens}` (the cache and reasoning counters are
//! parts of the input and output ones), and per-operation histograms
//! `gen_ai.client.inference.operation.{input,output}_tokens`. `metricNames: previous` emits the
//! names of semantic conventions v1.36 and before instead — one histogram,
//! `gen_ai.client.token.usage`, by `gen_ai.token.type` (`input`, `output`) — for dashboards built
//! on them. Latency uses the names both versions share: `gen_ai.client.operation.duration`, and
//! for streams `gen_ai.server.time_to_first_token` and `gen_ai.server.time_per_output_token`
//! (the provider's latency as the gateway sees it).
//!
//! Envoy's metric names cannot hold `.` inside a label-carrying name (its own separator), so
//! dots become `_`, and histograms hold integers: **durations are in milliseconds** (buckets in
//! the bootstraps are the conventions' seconds × 1000). `portcullis_tokens_total` (every type by
//! `gen_ai_token_type`), `portcullis_cost_micros_total`, `portcullis_requests_total` and the
//! refusal counters are the gateway's own.

use crate::common::metric::{labelled, push_labels};
use crate::http::host::Host;
use crate::llm::usage::Usage;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricNames {
    #[default]
    Current,
    Previous,
}

/// Labels of one answered request; every value is bounded (config names, `other`).
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub operation: &'static str,
    pub provider: String,
    pub request_model: String,
    pub response_model: String,
    pub tenant: String,
    pub route: String,
    pub estimated: bool,
}

impl Labels {
    /// The labels as a metric-name suffix (`;key=value…`), encoded once for all the series of
    /// a request; `estimated` describes token counts, not latency.
    fn suffix(&self, with_estimated: bool) -> String {
        let base = self.base();
        let pairs = if with_estimated { &base[..] } else { base.get(..6).unwrap_or(&base) };
        labelled("", pairs)
    }

    fn base(&self) -> [(&str, &str); 7] {
        [
            ("gen_ai_operation_name", self.operation),
            ("gen_ai_provider_name", &self.provider),
            ("gen_ai_request_model", &self.request_model),
            ("gen_ai_response_model", &self.response_model),
            ("tenant", &self.tenant),
            ("route", &self.route),
            ("estimated", if self.estimated { "true" } else { "false" }),
        ]
    }
}

/// Timings of one request, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    pub duration_ms: u64,
    /// Streams only.
    pub ttft_ms: Option<u64>,
    /// Streams with two output tokens or more.
    pub tpot_ms: Option<u64>,
}

/// Token and cost metrics of an answer.
pub fn tokens(
    host: &mut dyn Host,
    names: MetricNames,
    labels: &Labels,
    usage: &Usage,
    cost: Option<(&str, u64)>,
) {
    let suffix = labels.suffix(true);
    let series = |metric: &str, extra: &[(&str, &str)]| series(metric, &suffix, extra);
    let types = [
        ("input", usage.input, "gen_ai_client_inference_usage_input_tokens"),
        ("output", usage.output, "gen_ai_client_inference_usage_output_tokens"),
        ("cache_read", usage.cache_read, "gen_ai_client_inference_usage_cache_read_input_tokens"),
        ("cache_write", usage.cache_write, "gen_ai_client_inference_usage_cache_write_input_tokens"),
        ("reasoning", usage.reasoning, "gen_ai_client_inference_usage_reasoning_output_tokens"),
    ];
    for (token_type, count, current) in types {
        // A counter that adds 0 says nothing; the series appears with its first token. Input
        // and output are always counted, so every answered request has its series.
        if count == 0 && token_type != "input" && token_type != "output" {
            continue;
        }
        host.increment(&series("portcullis_tokens_total", &[("gen_ai_token_type", token_type)]), count);
        if names == MetricNames::Current {
            // The provider does not break counts down by modality.
            host.increment(&series(current, &[("gen_ai_token_modality", "unknown")]), count);
        }
    }
    match names {
        MetricNames::Current => {
            host.record(&series("gen_ai_client_inference_operation_input_tokens", &[]), usage.input);
            host.record(&series("gen_ai_client_inference_operation_output_tokens", &[]), usage.output);
        }
        MetricNames::Previous => {
            for (token_type, count) in [("input", usage.input), ("output", usage.output)] {
                host.record(
                    &series("gen_ai_client_token_usage", &[("gen_ai_token_type", token_type)]),
                    count,
                );
            }
        }
    }
    if let Some((currency, micros)) = cost {
        host.increment(&series("portcullis_cost_micros_total", &[("currency", currency)]), micros);
    }
}

/// `metric` with a request's encoded labels and `extra` ones after them.
fn series(metric: &str, suffix: &str, extra: &[(&str, &str)]) -> String {
    let mut name = String::with_capacity(metric.len().saturating_add(suffix.len()).saturating_add(40));
    name.push_str(metric);
    name.push_str(suffix);
    push_labels(&mut name, extra);
    name
}

/// Latency and outcome of a request. `error_type`: `none` for a success.
pub fn outcome(host: &mut dyn Host, labels: &Labels, status: u16, error_type: &str, timings: &Timings) {
    let status = status.to_string();
    let suffix = labels.suffix(false);
    let series = |metric: &str, extra: &[(&str, &str)]| series(metric, &suffix, extra);
    let error = [("error_type", error_type)];
    host.record(&series("gen_ai_client_operation_duration", &error), timings.duration_ms);
    if let Some(ttft) = timings.ttft_ms {
        host.record(&series("gen_ai_server_time_to_first_token", &error), ttft);
    }
    if let Some(tpot) = timings.tpot_ms {
        host.record(&series("gen_ai_server_time_per_output_token", &error), tpot);
    }
    host.increment(
        &series("portcullis_requests_total", &[("error_type", error_type), ("status", &status)]),
        1,
    );
}

/// A request refused before any provider was called: `reason` `budget` (with its name) or
/// `prompt_tokens`.
pub fn refusal(host: &mut dyn Host, reason: &str, budget: &str, route: &str) {
    host.increment(
        &labelled(
            "portcullis_usage_refusals_total",
            &[("reason", reason), ("budget", budget), ("route", route)],
        ),
        1,
    );
}

/// `error.type` of an answer: `none` for a success, the status class otherwise, `stream_cut`
/// for a stream that ended before the provider finished it.
pub fn error_type(status: u16, cut: bool) -> &'static str {
    match status {
        _ if cut && (200..300).contains(&status) => "stream_cut",
        200..=299 => "none",
        0 => "no_response",
        400 => "invalid_request",
        401 | 403 => "auth",
        404 => "not_found",
        408 | 504 => "timeout",
        413 => "too_large",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ => "client_error",
    }
}
