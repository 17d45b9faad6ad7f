//! What the two remote guards share: the phase they run in, what happens when they cannot
//! answer, and the call they make (through an Envoy cluster, with a timeout).

use crate::common::config::{is_env_name, ConfigError};
use crate::common::secret::Secret;
use crate::http::host::Host;
use crate::llm::view::TextKind;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Request,
    Response,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Request => "request",
            Phase::Response => "response",
        }
    }
}

/// What a remote guard that cannot answer (timeout, refused connection, an answer it cannot
/// read) means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Let it through unchecked (counted as `error` in the metric).
    Open,
    /// Refuse it: 503 in the client's shape for a request; an answer is replaced by an error.
    #[default]
    Closed,
}

pub const DEFAULT_TIMEOUT_MS: u32 = 1000;
const MAX_TIMEOUT_MS: u32 = 60_000;

pub fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_MS
}

pub fn check_timeout(timeout_ms: u32, at: &str) -> Result<(), ConfigError> {
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(ConfigError::new(format!("{at}.timeoutMs"), format!("1 to {MAX_TIMEOUT_MS}")));
    }
    Ok(())
}

/// An Envoy cluster name (what `dispatch_http_call` takes): checked for shape at load. Whether
/// the cluster exists only Envoy knows, and it says so only when a call is made: an unknown
/// cluster is then logged with this field's path and handled by the failure mode.
pub fn check_cluster(cluster: &str, at: &str) -> Result<(), ConfigError> {
    if cluster.is_empty()
        || cluster.len() > 255
        || cluster.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(ConfigError::new(
            format!("{at}.cluster"),
            "an Envoy cluster name (1 to 255 characters, no spaces)",
        ));
    }
    Ok(())
}

/// `:path` of a call: absolute, no spaces or control characters.
pub fn check_path(path: &str, at: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return Err(ConfigError::new(at, "a path starting with `/`, without spaces"));
    }
    Ok(())
}

/// `:authority` of a call: as configured, or the cluster's name.
pub fn authority(configured: Option<String>, cluster: &str, at: &str) -> Result<String, ConfigError> {
    match configured {
        None => Ok(cluster.to_string()),
        Some(a)
            if !a.is_empty()
                && !a.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'/') =>
        {
            Ok(a)
        }
        Some(_) => {
            Err(ConfigError::new(format!("{at}.authority"), "a host name (and port), no spaces or `/`"))
        }
    }
}

/// A header name for a call (lower-cased; pseudo-headers and hop-by-hop headers refused).
pub fn check_header_name(name: &str, at: &str) -> Result<String, ConfigError> {
    let lower = name.to_ascii_lowercase();
    let token = !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !token || ["host", "content-length", "transfer-encoding", "connection"].contains(&lower.as_str()) {
        return Err(ConfigError::new(at, "a header name (not a pseudo-header, host or framing header)"));
    }
    Ok(lower)
}

/// A key or token for a call, from the Wasm VM's environment variable `name` (`at`: the field
/// naming it). Never echoed: a key pasted into the field by mistake must not reach the log.
pub fn env_secret(name: &str, at: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, ConfigError> {
    if !is_env_name(name) {
        return Err(ConfigError::new(
            at,
            "not an environment variable name; it names the variable that holds the key",
        ));
    }
    let value = env(name).filter(|k| !k.trim().is_empty()).ok_or_else(|| {
        ConfigError::new(at, format!("environment variable `{name}` is not set for the Wasm VM"))
    })?;
    Ok(Secret::new(value.trim().to_string()))
}

/// One HTTP call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
}

impl Call {
    /// Starts the call; its answer comes to `on_http_call_response` with the returned token.
    /// `Err`: it could not start (Envoy does not know the cluster).
    pub fn dispatch(&self, host: &mut dyn Host) -> Result<u32, String> {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        host.dispatch(&self.cluster, &headers, &self.body, self.timeout_ms)
    }
}

/// What a remote guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The texts to use instead, one per text sent, in order.
    Mask(Vec<String>),
    /// Refuse, with this status and message (the guard's own words, or which category).
    Reject {
        status: u16,
        message: String,
    },
}

/// The role a text is sent as (Gloo's `Message.role`, and for moderation only a filter).
pub fn role(kind: TextKind) -> &'static str {
    match kind {
        TextKind::System => "system",
        TextKind::User | TextKind::EmbeddingsInput => "user",
        TextKind::Assistant | TextKind::ToolCallArguments => "assistant",
        TextKind::ToolResult => "tool",
    }
}

/// Bound on a message taken from a remote guard's answer into a client's error.
pub const MAX_MESSAGE: usize = 1024;

pub fn bounded(text: &str) -> String {
    prefix(text, MAX_MESSAGE).to_string()
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}
