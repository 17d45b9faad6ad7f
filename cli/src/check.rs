//! Each filter's plugin config, checked by the filter's own code.
//!
//! The router, credentials, prompt and usage configs go through the same `configure` the
//! filters run at load, so `validate` accepts exactly what the filters accept. Field paths are
//! given in the gateway config's terms: the router's `providers.openai.kind` and `routes[2]`
//! are the gateway config's own; anything else gets its section's name in front
//! (`prompt.policies.docs.retrieval`).

use crate::config::Object;
use portcullis_core::access::credential::{CredentialStore, CredentialsConfig};
use portcullis_core::common::config::{self, ConfigError};
use portcullis_core::prompt::Prompt;
use portcullis_core::router::Router;
use portcullis_core::usage::UsageConfig;

/// A key variable's value while checking: keys are the gateway's environment, not the config's,
/// and a config is valid whether or not this machine has them.
fn any_key(_: &str) -> Option<String> {
    Some("checked-without-the-real-key".to_owned())
}

pub fn router(config: &Object) -> Result<(), ConfigError> {
    Router::configure(Some(&bytes(config))).map(drop).map_err(|e| in_section(e, "router"))
}

pub fn credentials(config: &Object) -> Result<(), ConfigError> {
    let parsed: CredentialsConfig =
        config::parse(Some(&bytes(config))).map_err(|e| in_section(e, "credentials"))?;
    CredentialStore::compile(parsed, any_key).map(drop).map_err(|e| in_section(e, "credentials"))
}

pub fn prompt(config: &Object) -> Result<(), ConfigError> {
    Prompt::configure_with_env(Some(&bytes(config)), &any_key).map(drop).map_err(|e| prefixed(e, "prompt"))
}

pub fn usage(config: &Object) -> Result<(), ConfigError> {
    UsageConfig::configure(Some(&bytes(config))).map(drop).map_err(|e| prefixed(e, "usage"))
}

fn bytes(config: &Object) -> Vec<u8> {
    serde_json::to_vec(config).unwrap_or_default()
}

/// `providers…` and `routes…` are top-level in the gateway config; the rest of the router's and
/// credentials filter's fields are under their section.
fn in_section(err: ConfigError, section: &str) -> ConfigError {
    if err.path.starts_with("providers") || err.path.starts_with("routes") {
        err
    } else {
        prefixed(err, section)
    }
}

fn prefixed(err: ConfigError, section: &str) -> ConfigError {
    let path = match err.path.as_str() {
        "." | "" => section.to_owned(),
        p if p.starts_with('[') => format!("{section}{p}"),
        p => format!("{section}.{p}"),
    };
    ConfigError { path, message: err.message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: serde_json::Value) -> Object {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn router_errors_keep_the_gateway_configs_paths() {
        let err = router(&object(json!({"providers": {"a": {"kind": "openia"}}}))).unwrap_err();
        assert_eq!(err.path, "providers.a.kind");
        let err = router(&object(json!({"providers": {"a": {"kind": "openai"}},
                                        "routes": [{"model": "x", "provider": "b"}]})))
        .unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.message.contains("unknown provider")),
            ("routes[0].provider", true)
        );
        let err = router(&object(json!({"providers": {}, "clusterHeadr": "x"}))).unwrap_err();
        assert_eq!(err.path, "router.clusterHeadr");
    }

    #[test]
    fn other_sections_get_their_name_in_front() {
        let err = prompt(&object(json!({"decorators": [{"role": "sistem", "content": "x"}]}))).unwrap_err();
        assert_eq!(err.path, "prompt.decorators[0].role");
        let err = usage(&object(json!({"budgets": 3}))).unwrap_err();
        assert!(err.path.starts_with("usage"), "{}", err.path);
        let err = credentials(&object(json!({"tenants": [{"id": "a", "keyHashes": ["nope"]}]}))).unwrap_err();
        assert!(err.path.starts_with("credentials.tenants[0]"), "{}", err.path);
    }
}
