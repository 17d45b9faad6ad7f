//! Plugin config parsing.
//!
//! Every filter receives its config as JSON (Istio passes `pluginConfig` that way), camelCase,
//! with unknown fields rejected so a typo is an error at load rather than a silently ignored
//! setting. Errors name the field path (`routes[2].provider`) because the operator reading
//! Envoy's log has only that line to go on.

use serde::de::DeserializeOwned;
use std::fmt;

/// A config that could not be loaded: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted field path into the JSON document (`.` for the document itself).
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid plugin config at `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Whether `name` can be an environment variable's name (`[A-Za-z_][A-Za-z0-9_]*`): fields that
/// name one are checked so a secret pasted there by mistake is refused (and never echoed).
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a plugin config. An absent or empty config is parsed as `{}`, so filters whose every
/// field has a default can run without one.
pub fn parse<T: DeserializeOwned>(bytes: Option<&[u8]>) -> Result<T, ConfigError> {
    let bytes = match bytes {
        Some(b) if !b.iter().all(u8::is_ascii_whitespace) => b,
        _ => b"{}",
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // serde_json appends " at line L column C"; the path is more useful, keep both.
        ConfigError::new(path, inner.to_string())
    })
}

/// Where a filter instance runs, for the filters that can run in two places (router,
/// credentials): in the listener's filter chain (`downstream`, the default), or as an upstream
/// filter on a failover aggregate cluster (`upstream`), once per attempt, where it applies the
/// downstream instance's decision to the provider Envoy picked for that attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    #[default]
    Downstream,
    Upstream,
}

/// Something worth telling the operator at load without refusing the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Inner {
        max_tokens: u32,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        #[serde(default)]
        items: Vec<Inner>,
    }

    #[test]
    fn empty_config_is_empty_object() {
        let c: Outer = parse(None).unwrap();
        assert!(c.items.is_empty());
        let c: Outer = parse(Some(b"  \n")).unwrap();
        assert!(c.items.is_empty());
        let c: Outer = parse(Some(br#"{"items":[{"maxTokens":3}]}"#)).unwrap();
        assert_eq!(c.items[0].max_tokens, 3);
    }

    #[test]
    fn error_names_the_field_path() {
        let err = parse::<Outer>(Some(br#"{"items":[{"maxTokens":1},{"maxTokens":"x"}]}"#)).unwrap_err();
        assert_eq!(err.path, "items[1].maxTokens");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = parse::<Outer>(Some(br#"{"items":[{"maxTokens":1,"maxTokenz":2}]}"#)).unwrap_err();
        assert_eq!(err.path, "items[0].maxTokenz");
        assert!(err.message.contains("unknown field `maxTokenz`"), "{err}");
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = parse::<Outer>(Some(b"{not json")).unwrap_err();
        assert!(err.message.contains("key must be a string"), "{err}");
    }
}
