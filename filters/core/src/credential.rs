//! Provider credentials and how each provider wants them.
//!
//! Keys live in the gateway, not in clients: the client's own credential headers are always
//! removed, and the provider's key is injected in that provider's scheme. Keys come from
//! environment variables that Envoy passes to the VM (`vm_config.environment_variables`, Istio
//! `vmConfig.env`) so they stay out of plugin config, which Istio and Envoy's admin API show.

use crate::config::ConfigError;
use crate::provider::AuthScheme;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Every header a client SDK may carry its credential in. All are removed before a request
/// leaves the gateway.
pub const CLIENT_CREDENTIAL_HEADERS: [&str; 4] =
    ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// Sent to Anthropic unless configured otherwise: the API version every Messages client uses.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsConfig {
    /// Credentials by provider name (the names in the router's `providers`).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderCredentialConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderCredentialConfig {
    /// Environment variable holding the key (preferred).
    #[serde(default)]
    pub key_env: Option<String>,
    /// The key itself. Allowed for local testing; warned about at load.
    #[serde(default)]
    pub key: Option<String>,
    /// Extra headers sent with the key (`OpenAI-Organization`, `OpenAI-Project`,
    /// `anthropic-version`, …). Not secret: do not put keys here.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A secret that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCredential {
    pub key: Secret,
    pub headers: Vec<(String, String)>,
}

/// The compiled credentials config.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    providers: HashMap<String, ProviderCredential>,
    /// Providers configured but without a usable key (unset variable): requests to them are
    /// refused by the gateway instead of being sent upstream unauthenticated.
    missing: HashMap<String, String>,
}

/// Something worth telling the operator at load without refusing the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

/// What a request to a provider gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    Found(&'a ProviderCredential),
    /// Configured, but the key is not available; the string says why (no secret in it).
    Missing(&'a str),
    /// No credentials configured for this provider: the request passes without one (a
    /// self-hosted model may need none).
    NotConfigured,
}

impl CredentialStore {
    /// Compiles the config, reading keys through `env` (`std::env::var` in the filter).
    pub fn compile(
        config: CredentialsConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        let mut store = CredentialStore::default();
        let mut warnings = Vec::new();
        for (name, p) in config.providers {
            let at = |field: &str| format!("providers.{name}.{field}");
            for header in p.headers.keys() {
                let lower = header.to_ascii_lowercase();
                if CLIENT_CREDENTIAL_HEADERS.contains(&lower.as_str()) || lower.starts_with(':') {
                    return Err(ConfigError::new(
                        at(&format!("headers.{header}")),
                        "credential and pseudo headers cannot be set here; use `keyEnv`",
                    ));
                }
            }
            let headers = p
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            let key = match (p.key_env, p.key) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        at("key"),
                        "set either `keyEnv` or `key`, not both",
                    ))
                }
                (None, None) => {
                    return Err(ConfigError::new(
                        at("keyEnv"),
                        "required (or `key` for testing)",
                    ))
                }
                (None, Some(inline)) => {
                    warnings.push(Warning {
                        path: at("key"),
                        message: "inline key in plugin config: visible in Envoy's config dump; use `keyEnv`".into(),
                    });
                    inline
                }
                (Some(var), None) => match env(&var).filter(|v| !v.trim().is_empty()) {
                    Some(value) => value.trim().to_string(),
                    None => {
                        let why =
                            format!("environment variable `{var}` is not set for the Wasm VM");
                        warnings.push(Warning {
                            path: at("keyEnv"),
                            message: why.clone(),
                        });
                        store.missing.insert(name, why);
                        continue;
                    }
                },
            };
            store.providers.insert(
                name,
                ProviderCredential {
                    key: Secret::new(key),
                    headers,
                },
            );
        }
        Ok((store, warnings))
    }

    pub fn lookup(&self, provider: &str) -> Lookup<'_> {
        if let Some(c) = self.providers.get(provider) {
            return Lookup::Found(c);
        }
        match self.missing.get(provider) {
            Some(why) => Lookup::Missing(why),
            None => Lookup::NotConfigured,
        }
    }
}

/// The headers that carry `credential` in `scheme`, extras included.
pub fn injected_headers(
    scheme: AuthScheme,
    credential: &ProviderCredential,
) -> Vec<(String, String)> {
    let key = credential.key.expose();
    let mut out: Vec<(String, String)> = match scheme {
        AuthScheme::Bearer => vec![("authorization".into(), format!("Bearer {key}"))],
        AuthScheme::AzureApiKey => vec![("api-key".into(), key.to_string())],
        AuthScheme::AnthropicApiKey => vec![("x-api-key".into(), key.to_string())],
        AuthScheme::GoogApiKey => vec![("x-goog-api-key".into(), key.to_string())],
    };
    if scheme == AuthScheme::AnthropicApiKey
        && !credential
            .headers
            .iter()
            .any(|(k, _)| k == "anthropic-version")
    {
        out.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
    }
    out.extend(credential.headers.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn compile(
        json: &str,
        env: &[(&str, &str)],
    ) -> Result<(CredentialStore, Vec<Warning>), ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CredentialStore::compile(config::parse(Some(json.as_bytes())).unwrap(), |k| {
            env.get(k).cloned()
        })
    }

    #[test]
    fn keys_come_from_the_environment() {
        let (store, warnings) = compile(
            r#"{"providers":{"openai":{"keyEnv":"OPENAI_API_KEY","headers":{"OpenAI-Organization":"org-1"}}}}"#,
            &[("OPENAI_API_KEY", "sk-real\n")],
        )
        .unwrap();
        assert!(warnings.is_empty());
        let Lookup::Found(c) = store.lookup("openai") else {
            panic!("not found")
        };
        assert_eq!(
            injected_headers(AuthScheme::Bearer, c),
            [
                ("authorization".into(), "Bearer sk-real".into()),
                ("openai-organization".into(), "org-1".into())
            ]
        );
        assert_eq!(store.lookup("other"), Lookup::NotConfigured);
    }

    #[test]
    fn unset_variable_is_a_warning_and_refuses_requests() {
        let (store, warnings) =
            compile(r#"{"providers":{"anthropic":{"keyEnv":"NOPE"}}}"#, &[]).unwrap();
        assert_eq!(warnings[0].path, "providers.anthropic.keyEnv");
        assert!(matches!(store.lookup("anthropic"), Lookup::Missing(why) if why.contains("NOPE")));
    }

    #[test]
    fn inline_key_is_warned_about() {
        let (_, warnings) = compile(r#"{"providers":{"g":{"key":"AIza-test"}}}"#, &[]).unwrap();
        assert_eq!(warnings[0].path, "providers.g.key");
        assert!(!warnings[0].message.contains("AIza-test"));
    }

    #[test]
    fn anthropic_scheme_adds_version() {
        let c = ProviderCredential {
            key: Secret::new("k".into()),
            headers: vec![],
        };
        assert_eq!(
            injected_headers(AuthScheme::AnthropicApiKey, &c),
            [
                ("x-api-key".into(), "k".into()),
                ("anthropic-version".into(), ANTHROPIC_VERSION.into())
            ]
        );
        assert_eq!(
            injected_headers(AuthScheme::GoogApiKey, &c),
            [("x-goog-api-key".into(), "k".into())]
        );
        assert_eq!(
            injected_headers(AuthScheme::AzureApiKey, &c),
            [("api-key".into(), "k".into())]
        );
    }

    #[test]
    fn config_errors() {
        let err = compile(r#"{"providers":{"o":{"keyEnv":"A","key":"b"}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.key");
        let err = compile(r#"{"providers":{"o":{}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.keyEnv");
        let err = compile(
            r#"{"providers":{"o":{"key":"k","headers":{"Authorization":"x"}}}}"#,
            &[],
        )
        .unwrap_err();
        assert_eq!(err.path, "providers.o.headers.Authorization");
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new("sk-live".into())),
            "Secret(<redacted>)"
        );
    }
}
