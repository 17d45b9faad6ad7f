//! Provider credentials and how each provider wants them.
//!
//! Keys live in the gateway, not in clients: the client's own credential headers are always
//! removed, and the provider's key is injected in that provider's scheme. Keys come from
//! environment variables that Envoy passes to the VM (`vm_config.environment_variables`, Istio
//! `vmConfig.env`) so they stay out of plugin config, which Istio and Envoy's admin API show.
//!
//! Each provider has a pool of keys ([`crate::access::keypool`]); a tenant ([`crate::access::tenant`]) may have
//! its own pools, which take precedence over the default ones in `providers`.

use crate::access::aws::AwsCredential;
use crate::access::client_key::CLIENT_CREDENTIAL_HEADERS;
use crate::access::identity::TokenSource;
use crate::access::key_config::{KeySource, ProviderCredentialConfig};
use crate::access::keypool::{KeyPool, DEFAULT_COOLDOWN_SECONDS, MAX_COOLDOWN_SECONDS};
use crate::access::tenant::{Tenant, TenantConfig, TenantDirectory};
pub use crate::common::config::Placement;
use crate::common::config::{is_env_name, ConfigError, Warning};
use crate::common::secret::Secret;
use crate::llm::provider::AuthScheme;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Sent to Anthropic unless configured otherwise: the API version every Messages client uses.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The credentials filter's plugin config.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsConfig {
    /// Default credentials by provider name (the names in the router's `providers`), used for
    /// every tenant that has no credentials of its own for that provider.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderCredentialConfig>,
    /// Who may call the gateway. Empty (and no `identityHeader`): no client authentication.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Trust this header as the caller's identity: it must be written by an Envoy authn filter
    /// that runs before the gateway on every route (see [`crate::access::tenant`]).
    #[serde(default)]
    pub identity_header: Option<String>,
    /// Refuse callers that present no credential. Defaults to true when tenants are configured.
    #[serde(default)]
    pub require_tenant: Option<bool>,
    /// Where this instance runs: `downstream` (the HTTP filter chain, the default) or
    /// `upstream` (a failover cluster's upstream filters, once per attempt).
    ///
    /// With failover, Envoy may send one request to several providers in turn; each attempt
    /// needs its own provider's key. So the downstream instance identifies the tenant and checks
    /// scope but injects nothing for a failover request (it would hand the first provider's key
    /// to the next one); the upstream instance, on the failover cluster after the upstream
    /// router, injects the key of the provider of each attempt and sees each attempt's status
    /// for cooldown.
    #[serde(default)]
    pub placement: Placement,
}

/// A provider whose credential is a token from the cloud's identity endpoint.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenCredential {
    pub source: TokenSource,
    /// Extra headers sent with the token.
    pub headers: Vec<(String, String)>,
}

/// A provider's credential: keys, a token source, or AWS credentials to sign with.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    Keys(KeyPool),
    Token(TokenCredential),
    Aws(AwsCredential),
}

/// What a request to a provider gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    Found(&'a KeyPool),
    Token(&'a TokenCredential),
    /// Requests are signed with these credentials (in the upstream placement).
    Aws(&'a AwsCredential),
    /// Configured, but no key is available; the string says why (no secret in it).
    Missing(&'a str),
    /// No credentials configured for this provider: the request passes without one (a
    /// self-hosted model may need none).
    NotConfigured,
}

/// Key pools by provider name, for one scope (the defaults, or one tenant's own).
#[derive(Debug, Default)]
struct ProviderPools {
    ready: HashMap<String, Credential>,
    /// Providers configured but without a usable key (unset variables): requests to them are
    /// refused by the gateway instead of being sent upstream unauthenticated.
    missing: HashMap<String, String>,
}

impl ProviderPools {
    fn compile(
        config: BTreeMap<String, ProviderCredentialConfig>,
        prefix: &str,
        env: &impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<Warning>,
    ) -> Result<Self, ConfigError> {
        let mut pools = ProviderPools::default();
        for (name, p) in config {
            let at = format!("{prefix}.{name}");
            match compile_pool(p, &at, env, warnings)? {
                Ok(pool) => {
                    pools.ready.insert(name, pool);
                }
                Err(why) => {
                    pools.missing.insert(name, why);
                }
            }
        }
        Ok(pools)
    }

    fn lookup(&self, provider: &str) -> Option<Lookup<'_>> {
        match self.ready.get(provider) {
            Some(Credential::Keys(pool)) => return Some(Lookup::Found(pool)),
            Some(Credential::Token(token)) => return Some(Lookup::Token(token)),
            Some(Credential::Aws(aws)) => return Some(Lookup::Aws(aws)),
            None => {}
        }
        self.missing.get(provider).map(|why| Lookup::Missing(why.as_str()))
    }
}

/// The compiled credentials config: tenants, and the key pools for each provider.
#[derive(Debug, Default)]
pub struct CredentialStore {
    placement: Placement,
    tenants: TenantDirectory,
    defaults: ProviderPools,
    /// Tenant id → the tenant's own pools.
    per_tenant: HashMap<String, ProviderPools>,
}

impl CredentialStore {
    /// Compiles the config, reading keys through `env` (`std::env::var` in the filter).
    pub fn compile(
        config: CredentialsConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        let mut warnings = Vec::new();
        let compiled = TenantDirectory::compile(
            &config.tenants,
            config.identity_header.as_deref(),
            config.require_tenant,
        )?;
        warnings.extend(compiled.warnings.into_iter().map(|(path, message)| Warning { path, message }));
        let defaults = ProviderPools::compile(config.providers, "providers", &env, &mut warnings)?;
        let mut per_tenant = HashMap::new();
        for (i, tenant) in config.tenants.into_iter().enumerate() {
            if tenant.credentials.is_empty() {
                continue;
            }
            let pools = ProviderPools::compile(
                tenant.credentials,
                &format!("tenants[{i}].credentials"),
                &env,
                &mut warnings,
            )?;
            per_tenant.insert(tenant.id, pools);
        }
        Ok((
            CredentialStore {
                placement: config.placement,
                tenants: compiled.directory,
                defaults,
                per_tenant,
            },
            warnings,
        ))
    }

    pub fn tenants(&self) -> &TenantDirectory {
        &self.tenants
    }

    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The key pool for `provider`: the tenant's own if it has one for that provider, else the
    /// default. A tenant whose own key is missing does not fall back to the shared key.
    pub fn lookup(&self, tenant: Option<&Tenant>, provider: &str) -> Lookup<'_> {
        tenant
            .and_then(|t| self.per_tenant.get(&t.id))
            .and_then(|pools| pools.lookup(provider))
            .or_else(|| self.defaults.lookup(provider))
            .unwrap_or(Lookup::NotConfigured)
    }
}

/// Compiles one provider's pool. The outer error refuses the config; the inner one means "no
/// key available" (unset variables), which refuses only requests to that provider.
fn compile_pool(
    p: ProviderCredentialConfig,
    at: &str,
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<Warning>,
) -> Result<Result<Credential, String>, ConfigError> {
    for header in p.headers.keys() {
        let lower = header.to_ascii_lowercase();
        if CLIENT_CREDENTIAL_HEADERS.contains(&lower.as_str()) || lower.starts_with(':') {
            return Err(ConfigError::new(
                format!("{at}.headers.{header}"),
                "credential and pseudo headers cannot be set here; use `keyEnv`",
            ));
        }
    }
    let headers = p.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let cooldown = p.cooldown_seconds.unwrap_or(DEFAULT_COOLDOWN_SECONDS).clamp(1, MAX_COOLDOWN_SECONDS);
    let has_keys =
        p.key_env.is_some() || p.key.is_some() || !p.keys.is_empty() || p.cooldown_seconds.is_some();
    if let Some(aws) = p.aws {
        if has_keys || p.identity.is_some() {
            return Err(ConfigError::new(
                format!("{at}.aws"),
                "a provider's credential is keys (`keyEnv`, `keys`, `key`), `identity` or `aws`, one of them",
            ));
        }
        return Ok(
            AwsCredential::compile(aws, headers, &format!("{at}.aws"), env, warnings)?.map(Credential::Aws)
        );
    }
    if let Some(identity) = p.identity {
        if has_keys {
            return Err(ConfigError::new(
                format!("{at}.identity"),
                "a provider's credential is keys (`keyEnv`, `keys`, `key`) or `identity`, not both",
            ));
        }
        let source = TokenSource::compile(identity, &format!("{at}.identity"))?;
        return Ok(Ok(Credential::Token(TokenCredential { source, headers })));
    }

    let mut sources = Vec::new();
    if p.key_env.is_some() || p.key.is_some() {
        sources.push((at.to_string(), KeySource { key_env: p.key_env, key: p.key }));
    }
    sources.extend(p.keys.into_iter().enumerate().map(|(i, k)| (format!("{at}.keys[{i}]"), k)));
    if sources.is_empty() {
        return Err(ConfigError::new(format!("{at}.keyEnv"), "required (or `keys`, or `key` for testing)"));
    }

    let mut keys = Vec::new();
    let mut unset = Vec::new();
    for (path, source) in sources {
        match (source.key_env, source.key) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(format!("{path}.key"), "set either `keyEnv` or `key`, not both"))
            }
            (None, None) => {
                return Err(ConfigError::new(format!("{path}.keyEnv"), "required (or `key` for testing)"))
            }
            (None, Some(inline)) => {
                warnings.push(Warning {
                    path: format!("{path}.key"),
                    message: "inline key in plugin config: visible in Envoy's config dump; use `keyEnv`"
                        .into(),
                });
                if inline.trim().is_empty() {
                    return Err(ConfigError::new(format!("{path}.key"), "empty key"));
                }
                keys.push(Secret::new(inline.trim().to_string()));
            }
            (Some(var), None) => {
                if !is_env_name(&var) {
                    // Not echoed: this is where a key pasted by mistake would end up.
                    return Err(ConfigError::new(
                        format!("{path}.keyEnv"),
                        "not an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`); it names the variable that holds the key",
                    ));
                }
                match env(&var).filter(|v| !v.trim().is_empty()) {
                    Some(value) => keys.push(Secret::new(value.trim().to_string())),
                    None => {
                        warnings.push(Warning {
                            path: format!("{path}.keyEnv"),
                            message: format!("environment variable `{var}` is not set for the Wasm VM"),
                        });
                        unset.push(var);
                    }
                }
            }
        }
    }
    if keys.is_empty() {
        let vars = unset.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        return Ok(Err(format!("environment variable {vars} is not set for the Wasm VM")));
    }
    Ok(Ok(Credential::Keys(KeyPool::new(keys, headers, cooldown))))
}

/// The headers that carry `key` in `scheme`, plus the pool's extra headers.
pub fn injected_headers(
    scheme: AuthScheme,
    key: &Secret,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let key = key.expose();
    let mut out: Vec<(String, String)> = match scheme {
        AuthScheme::Bearer => vec![("authorization".into(), format!("Bearer {key}"))],
        AuthScheme::AzureApiKey => vec![("api-key".into(), key.to_string())],
        AuthScheme::AnthropicApiKey => vec![("x-api-key".into(), key.to_string())],
        AuthScheme::GoogApiKey => vec![("x-goog-api-key".into(), key.to_string())],
    };
    if scheme == AuthScheme::AnthropicApiKey && !extra.iter().any(|(k, _)| k == "anthropic-version") {
        out.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
    }
    out.extend(extra.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::keypool::Pick;
    use crate::access::tenant::{key_hash, Caller, Presented};
    use crate::common::config;

    fn compile(json: &str, env: &[(&str, &str)]) -> Result<(CredentialStore, Vec<Warning>), ConfigError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        CredentialStore::compile(config::parse(Some(json.as_bytes()))?, |k| env.get(k).cloned())
    }

    fn found<'a>(store: &'a CredentialStore, tenant: Option<&Tenant>, provider: &str) -> &'a KeyPool {
        match store.lookup(tenant, provider) {
            Lookup::Found(pool) => pool,
            other => panic!("{provider}: {other:?}"),
        }
    }

    fn first_key(pool: &KeyPool) -> String {
        match pool.pick(0, |_| None) {
            Pick::Key(k) => k.key.expose().to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_come_from_the_environment() {
        let (store, warnings) = compile(
            r#"{"providers":{"openai":{"keyEnv":"OPENAI_API_KEY","headers":{"OpenAI-Organization":"org-1"}}}}"#,
            &[("OPENAI_API_KEY", "sk-real\n")],
        )
        .unwrap();
        assert!(warnings.is_empty());
        let pool = found(&store, None, "openai");
        let Pick::Key(key) = pool.pick(0, |_| None) else { panic!("no key") };
        assert_eq!(
            injected_headers(AuthScheme::Bearer, &key.key, &pool.headers),
            [
                ("authorization".into(), "Bearer sk-real".into()),
                ("openai-organization".into(), "org-1".into())
            ]
        );
        assert_eq!(store.lookup(None, "other"), Lookup::NotConfigured);
    }

    #[test]
    fn unset_variable_is_a_warning_and_refuses_requests() {
        let (store, warnings) = compile(r#"{"providers":{"anthropic":{"keyEnv":"NOPE"}}}"#, &[]).unwrap();
        assert_eq!(warnings[0].path, "providers.anthropic.keyEnv");
        assert!(matches!(store.lookup(None, "anthropic"), Lookup::Missing(why) if why.contains("NOPE")));
    }

    #[test]
    fn inline_key_is_warned_about() {
        let (_, warnings) = compile(r#"{"providers":{"g":{"key":"AIza-test"}}}"#, &[]).unwrap();
        assert_eq!(warnings[0].path, "providers.g.key");
        assert!(!warnings[0].message.contains("AIza-test"));
    }

    #[test]
    fn anthropic_scheme_adds_version() {
        let k = Secret::new("k".into());
        assert_eq!(
            injected_headers(AuthScheme::AnthropicApiKey, &k, &[]),
            [("x-api-key".into(), "k".into()), ("anthropic-version".into(), ANTHROPIC_VERSION.into())]
        );
        let pinned = [("anthropic-version".to_string(), "2024-01-01".to_string())];
        assert_eq!(
            injected_headers(AuthScheme::AnthropicApiKey, &k, &pinned),
            [("x-api-key".into(), "k".into()), ("anthropic-version".into(), "2024-01-01".into())]
        );
        assert_eq!(
            injected_headers(AuthScheme::GoogApiKey, &k, &[]),
            [("x-goog-api-key".into(), "k".into())]
        );
        assert_eq!(injected_headers(AuthScheme::AzureApiKey, &k, &[]), [("api-key".into(), "k".into())]);
    }

    #[test]
    fn config_errors() {
        let err = compile(r#"{"providers":{"o":{"keyEnv":"A","key":"b"}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.key");
        let err = compile(r#"{"providers":{"o":{}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.keyEnv");
        let err =
            compile(r#"{"providers":{"o":{"key":"k","headers":{"Authorization":"x"}}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.headers.Authorization");
        let err = compile(r#"{"providers":{"o":{"keys":[{}]}}}"#, &[]).unwrap_err();
        assert_eq!(err.path, "providers.o.keys[0].keyEnv");
        let err = compile(r#"{"tenants":[{"id":"t","credentials":{"o":{"keyEnv":"sk-pasted-key"}}}]}"#, &[])
            .unwrap_err();
        assert_eq!(err.path, "tenants[0].credentials.o.keyEnv");
        assert!(!err.message.contains("sk-pasted"), "{}", err.message);
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("sk-live".into())), "Secret(<redacted>)");
        let (store, _) =
            compile(r#"{"providers":{"o":{"keyEnv":"K"}}}"#, &[("K", "sk-in-the-store")]).unwrap();
        assert!(!format!("{store:?}").contains("sk-in-the-store"));
    }

    #[test]
    fn placement_defaults_to_downstream() {
        let (store, _) = compile("{}", &[]).unwrap();
        assert_eq!(store.placement(), Placement::Downstream);
        let (store, _) = compile(r#"{"placement":"upstream"}"#, &[]).unwrap();
        assert_eq!(store.placement(), Placement::Upstream);
        assert_eq!(compile(r#"{"placement":"sideways"}"#, &[]).unwrap_err().path, "placement");
    }

    #[test]
    fn pools_combine_key_env_and_keys() {
        let (store, warnings) = compile(
            r#"{"providers":{"openai":{"keyEnv":"K1","keys":[{"keyEnv":"K2"},{"keyEnv":"K3"}],"cooldownSeconds":12}}}"#,
            &[("K1", "sk-1"), ("K3", "sk-3")],
        )
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].path, "providers.openai.keys[0].keyEnv");
        let pool = found(&store, None, "openai");
        assert_eq!(pool.cooldown_seconds, 12);
        let keys: Vec<&str> = pool.keys().iter().map(|k| k.key.expose()).collect();
        assert_eq!(keys, ["sk-1", "sk-3"]);
    }

    #[test]
    fn tenants_get_their_own_keys_and_fall_back_to_the_defaults() {
        let json = format!(
            r#"{{"providers":{{"openai":{{"keyEnv":"SHARED"}},"anthropic":{{"keyEnv":"ANT"}}}},
                "tenants":[
                  {{"id":"a","keyHashes":["{}"],"credentials":{{"openai":{{"keyEnv":"A_OPENAI"}}}}}},
                  {{"id":"b","keyHashes":["{}"],"credentials":{{"anthropic":{{"keyEnv":"B_ANT_UNSET"}}}}}}
                ]}}"#,
            key_hash("vk-a"),
            key_hash("vk-b")
        );
        let (store, _) =
            compile(&json, &[("SHARED", "sk-shared"), ("ANT", "sk-ant"), ("A_OPENAI", "sk-a")]).unwrap();
        let tenant = |k| match store.tenants().identify(Presented { virtual_key: Some(k), identity: None }) {
            Ok(Caller::Tenant(t)) => t,
            other => panic!("{other:?}"),
        };
        let (a, b) = (tenant("vk-a"), tenant("vk-b"));
        assert_eq!(first_key(found(&store, Some(a), "openai")), "sk-a");
        assert_eq!(first_key(found(&store, Some(b), "openai")), "sk-shared");
        assert_eq!(first_key(found(&store, Some(a), "anthropic")), "sk-ant");
        assert!(
            matches!(store.lookup(Some(b), "anthropic"), Lookup::Missing(_)),
            "a tenant's missing key never falls back to the shared one"
        );
    }
}
