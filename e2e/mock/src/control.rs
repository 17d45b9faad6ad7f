//! Per-request behaviour knobs: what an `x-mock-*` header or a matching admin rule asks for.
//!
//! Headers are the easy way for a test to steer one request; rules exist because the gateway
//! forwards the same headers to every provider it fails over to, so "fail only the first
//! provider" needs matching on path or model instead. A matching rule's fields win over headers.

use crate::rules::Rule;
use hyper::HeaderMap;
use std::time::Duration;

/// Default number of content chunks a streamed reply is split into.
pub const DEFAULT_CHUNKS: usize = 5;

#[derive(Debug, Clone)]
pub struct Controls {
    /// Delay before the response headers.
    pub latency: Duration,
    /// Delay between the headers and the first body byte.
    pub first_byte: Duration,
    /// Respond with this (non-2xx) status and the provider's error body.
    pub status: Option<u16>,
    /// `retry-after` value sent with a 429.
    pub retry_after: String,
    /// Abort the connection after this many stream events (non-streaming: body bytes).
    pub truncate: Option<usize>,
    /// Drop the connection without any response.
    pub close_connection: bool,
    /// Content chunks of a streamed reply.
    pub chunks: usize,
    /// Delay between streamed chunks.
    pub chunk_delay: Duration,
    /// Reply text replacing the default.
    pub reply: Option<String>,
    /// How many tools to call at once.
    pub parallel_tools: usize,
    /// Token types the answer reports besides plain input and output, each in the provider's
    /// own fields: prompt tokens read from / written to the prompt cache, reasoning tokens.
    pub extra: ExtraTokens,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraTokens {
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            latency: Duration::ZERO,
            first_byte: Duration::ZERO,
            status: None,
            retry_after: "1".to_string(),
            truncate: None,
            close_connection: false,
            chunks: DEFAULT_CHUNKS,
            chunk_delay: Duration::ZERO,
            reply: None,
            parallel_tools: 1,
            extra: ExtraTokens::default(),
        }
    }
}

impl Controls {
    /// Reads the `x-mock-*` headers; malformed values are ignored.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let num = |name: &str| text(name).and_then(|v| v.trim().parse::<u64>().ok());
        let ms = |name: &str| num(name).map(Duration::from_millis);
        let mut c = Controls::default();
        if let Some(d) = ms("x-mock-latency-ms") {
            c.latency = d;
        }
        if let Some(d) = ms("x-mock-first-byte-ms") {
            c.first_byte = d;
        }
        c.status = num("x-mock-status").and_then(error_status);
        if let Some(v) = text("x-mock-retry-after") {
            c.retry_after = v.trim().to_string();
        }
        c.truncate = num("x-mock-truncate").map(|n| n as usize);
        if let Some(n) = num("x-mock-chunks") {
            c.chunks = (n as usize).max(1);
        }
        if let Some(d) = ms("x-mock-chunk-delay-ms") {
            c.chunk_delay = d;
        }
        c.extra = ExtraTokens {
            cache_read: num("x-mock-cache-read-tokens").unwrap_or(0),
            cache_write: num("x-mock-cache-write-tokens").unwrap_or(0),
            reasoning: num("x-mock-reasoning-tokens").unwrap_or(0),
        };
        c.reply = headers.get("x-mock-reply").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if let Some(n) = num("x-mock-parallel-tools") {
            c.parallel_tools = (n as usize).max(1);
        }
        c
    }

    /// Overrides with every field the rule sets.
    pub fn apply(&mut self, rule: &Rule) {
        if let Some(s) = rule.status {
            self.status = error_status(u64::from(s));
        }
        if let Some(s) = rule.retry_after {
            self.retry_after = s.to_string();
        }
        if let Some(ms) = rule.latency_ms {
            self.latency = Duration::from_millis(ms);
        }
        if let Some(ms) = rule.first_byte_ms {
            self.first_byte = Duration::from_millis(ms);
        }
        if let Some(n) = rule.truncate {
            self.truncate = Some(n);
        }
        if rule.close_connection {
            self.close_connection = true;
        }
        if let Some(n) = rule.chunks {
            self.chunks = n.max(1);
        }
        if let Some(ms) = rule.chunk_delay_ms {
            self.chunk_delay = Duration::from_millis(ms);
        }
        if let Some(r) = &rule.reply {
            self.reply = Some(r.clone());
        }
    }
}

/// A status worth faking: 3xx to 5xx (a 2xx just means "answer normally").
fn error_status(n: u64) -> Option<u16> {
    (300..=599).contains(&n).then_some(n as u16)
}
