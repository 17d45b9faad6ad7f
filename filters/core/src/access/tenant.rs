//! Tenants: who is calling, and which providers and models they may use.
//!
//! A client proves who it is in one of two ways:
//! - a **virtual key**: a gateway-issued secret, presented in whichever header the client's SDK
//!   uses (see [`client_key`](crate::access::client_key::client_key)). The config holds only its SHA-256 digest (`make hash-key`), so a
//!   leaked config dump does not leak keys, and digests are compared in constant time;
//! - a **trusted identity header**, written by an Envoy-native authn filter that runs before the
//!   gateway (`api_key_auth` forwarding, `jwt_authn` `claim_to_headers`). Envoy's filter
//!   overwrites whatever a client sent in that header, or rejects the request, so the value
//!   cannot be forged as long as that filter runs on every route the gateway serves.
//!
//! Once known, a tenant's `allow` rules decide which providers and models it may use; the
//! tenant id then travels to the other filters as filter state (`portcullis.tenant`).

use crate::access::client_key::CLIENT_CREDENTIAL_HEADERS;
use crate::access::key_config::ProviderCredentialConfig;
use crate::common::config::ConfigError;
use crate::common::error::{ClientError, ErrorKind};
use crate::common::glob::glob_match;
use crate::common::secret::{hex, sha256};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// How a virtual key's digest is written in config: `sha256:<64 hex digits>`.
pub const HASH_PREFIX: &str = "sha256:";

/// Longest tenant id: ids become metric labels and log fields.
const MAX_ID_LEN: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantConfig {
    /// Stable name: filter state, metrics label, logs. `[A-Za-z0-9._-]`, at most 64 characters.
    pub id: String,
    /// Digests of the tenant's virtual keys (`sha256:<hex>`); several allow rotation.
    #[serde(default)]
    pub key_hashes: Vec<String>,
    /// Identities (values of `identityHeader`, `*` wildcards) that map to this tenant.
    /// Defaults to the tenant id.
    #[serde(default)]
    pub identities: Option<Vec<String>>,
    /// What the tenant may use. Absent: everything; `[]`: nothing.
    #[serde(default)]
    pub allow: Option<Vec<AllowRule>>,
    /// The tenant's own provider credentials; providers not listed use the top-level ones.
    #[serde(default)]
    pub credentials: BTreeMap<String, ProviderCredentialConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowRule {
    /// Provider name (router `providers.<name>`), `*` wildcards allowed.
    pub provider: String,
    /// Model patterns (`gpt-4o*`). Absent: every model of the provider.
    #[serde(default)]
    pub models: Option<Vec<String>>,
}

/// A compiled tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    identities: Vec<String>,
    allow: Option<Vec<AllowRule>>,
}

impl Tenant {
    /// May this tenant send `models` (the model asked for and the model sent upstream; either
    /// matching is enough, since an alias is a name the operator gave to its target) to
    /// `provider`?
    pub fn allows(&self, provider: &str, models: &[&str]) -> bool {
        let Some(rules) = &self.allow else {
            return true;
        };
        rules.iter().any(|rule| {
            glob_match(&rule.provider, provider)
                && rule
                    .models
                    .as_ref()
                    .is_none_or(|patterns| patterns.iter().any(|p| models.iter().any(|m| glob_match(p, m))))
        })
    }
}

/// What the client presented, read from its request headers.
#[derive(Debug, Default, Clone, Copy)]
pub struct Presented<'a> {
    /// The virtual key, from whichever credential header carried it ([`client_key`](crate::access::client_key::client_key)).
    pub virtual_key: Option<&'a str>,
    /// The value of the trusted identity header, when one is configured.
    pub identity: Option<&'a str>,
}

/// Who a request is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    Tenant(&'a Tenant),
    /// Client authentication is off (no tenants), or `requireTenant: false` and the client
    /// presented nothing.
    Anonymous,
}

impl PartialEq for Tenant {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Tenant {}

/// Every tenant, and how to recognise one.
#[derive(Debug, Clone, Default)]
pub struct TenantDirectory {
    tenants: Vec<Tenant>,
    /// (digest, index into `tenants`), scanned whole on every lookup.
    digests: Vec<([u8; 32], usize)>,
    identity_header: Option<String>,
    require: bool,
}

/// Result of compiling the tenant part of the config.
pub(crate) struct CompiledTenants {
    pub directory: TenantDirectory,
    pub warnings: Vec<(String, String)>,
}

impl TenantDirectory {
    pub(crate) fn compile(
        tenants: &[TenantConfig],
        identity_header: Option<&str>,
        require_tenant: Option<bool>,
    ) -> Result<CompiledTenants, ConfigError> {
        let mut warnings = Vec::new();
        let identity_header = match identity_header {
            Some(h) => Some(check_identity_header(h)?),
            None => None,
        };
        let mut dir = TenantDirectory { identity_header, ..TenantDirectory::default() };
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (i, t) in tenants.iter().enumerate() {
            let at = |field: &str| format!("tenants[{i}].{field}");
            check_id(&t.id).map_err(|msg| ConfigError::new(at("id"), msg))?;
            if let Some(first) = ids.insert(&t.id, i) {
                return Err(ConfigError::new(
                    at("id"),
                    format!("tenant id `{}` is also used by tenants[{first}]", t.id),
                ));
            }
            for (j, hash) in t.key_hashes.iter().enumerate() {
                let path = at(&format!("keyHashes[{j}]"));
                let digest = parse_hash(hash).ok_or_else(|| {
                    // Never echo the value: an operator may have pasted the key itself here.
                    ConfigError::new(
                        &path,
                        "expected `sha256:` followed by 64 hex digits (print one with `make hash-key KEY=...`)",
                    )
                })?;
                if let Some((_, other)) = dir.digests.iter().find(|(d, _)| *d == digest) {
                    return Err(ConfigError::new(
                        path,
                        format!(
                            "the same key hash is also listed for tenant `{}`",
                            tenants.get(*other).map_or("", |t| t.id.as_str())
                        ),
                    ));
                }
                dir.digests.push((digest, i));
            }
            if t.identities.is_some() && dir.identity_header.is_none() {
                warnings.push((at("identities"), "ignored: no `identityHeader` is configured".to_string()));
            }
            if t.key_hashes.is_empty() && dir.identity_header.is_none() {
                warnings.push((
                    at("keyHashes"),
                    "empty and no `identityHeader` is configured: no client can act as this tenant"
                        .to_string(),
                ));
            }
            dir.tenants.push(Tenant {
                id: t.id.clone(),
                identities: t.identities.clone().unwrap_or_else(|| vec![t.id.clone()]),
                allow: t.allow.clone(),
            });
        }
        let enabled = !dir.tenants.is_empty() || dir.identity_header.is_some();
        dir.require = match require_tenant {
            Some(true) if !enabled => {
                return Err(ConfigError::new(
                    "requireTenant",
                    "needs `tenants` (or `identityHeader`): no client could ever be let in",
                ))
            }
            Some(require) => require,
            None => enabled,
        };
        Ok(CompiledTenants { directory: dir, warnings })
    }

    /// True when clients must (or may) identify themselves.
    pub fn enabled(&self) -> bool {
        !self.tenants.is_empty() || self.identity_header.is_some()
    }

    /// True when a request without a credential is refused (`requireTenant`).
    pub fn required(&self) -> bool {
        self.require
    }

    /// The trusted identity header, lowercase, when that mode is on.
    pub fn identity_header(&self) -> Option<&str> {
        self.identity_header.as_deref()
    }

    pub fn get(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// Identifies the caller. Errors are what the client gets: 401 for a missing or unknown
    /// key, 403 for an authenticated identity that is no tenant's. Messages never contain the
    /// presented key.
    pub fn identify(&self, presented: Presented<'_>) -> Result<Caller<'_>, ClientError> {
        if !self.enabled() {
            return Ok(Caller::Anonymous);
        }
        if let (Some(_), Some(identity)) = (&self.identity_header, presented.identity) {
            return self
                .tenants
                .iter()
                .find(|t| t.identities.iter().any(|p| glob_match(p, identity)))
                .map(Caller::Tenant)
                .ok_or_else(|| {
                    ClientError::new(
                        ErrorKind::PermissionDenied,
                        "the authenticated client is not a tenant of this gateway",
                    )
                });
        }
        match presented.virtual_key {
            Some(key) => self
                .by_key(key)
                .map(Caller::Tenant)
                .ok_or_else(|| ClientError::new(ErrorKind::Authentication, "Incorrect API key provided.")),
            None if self.require => Err(ClientError::new(
                ErrorKind::Authentication,
                "Missing API key: send it as `Authorization: Bearer <key>` or `x-api-key`.",
            )),
            None => Ok(Caller::Anonymous),
        }
    }

    /// The tenant whose key digest equals the digest of `key`. Every digest is compared, each in
    /// constant time, so the time taken says nothing about how close a guess came.
    fn by_key(&self, key: &str) -> Option<&Tenant> {
        let digest = sha256(key.as_bytes());
        let mut found = u32::MAX;
        for (candidate, index) in &self.digests {
            let index = u32::try_from(*index).unwrap_or(u32::MAX);
            found = u32::conditional_select(&found, &index, candidate.ct_eq(&digest));
        }
        self.tenants.get(usize::try_from(found).ok()?)
    }
}

/// `sha256:<hex>` of a virtual key: what goes in `keyHashes` (`make hash-key` prints the same).
pub fn key_hash(key: &str) -> String {
    format!("{HASH_PREFIX}{}", hex(&sha256(key.as_bytes())))
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.trim().strip_prefix(HASH_PREFIX)?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        *out.get_mut(i)? = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant ids are 1 to {MAX_ID_LEN} characters of `A-Z a-z 0-9 . _ -` (they become metric labels)"
        ))
    }
}

fn check_identity_header(name: &str) -> Result<String, ConfigError> {
    let lower = name.trim().to_ascii_lowercase();
    let err = |msg: &str| Err(ConfigError::new("identityHeader", msg));
    if lower.is_empty() || lower.starts_with(':') {
        return err("must be a regular header name");
    }
    if CLIENT_CREDENTIAL_HEADERS.contains(&lower.as_str()) {
        return err("must not be a credential header: name the header your authn filter writes (api_key_auth `forwarding.header`, jwt_authn `claim_to_headers`)");
    }
    if lower.starts_with("x-portcullis-") {
        return err("`x-portcullis-*` headers are removed by the router before this filter runs; pick another name (e.g. `x-authenticated-client`)");
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::credential::CredentialsConfig;
    use crate::common::config;

    fn directory(json: &str) -> Result<(TenantDirectory, Vec<(String, String)>), ConfigError> {
        let c: CredentialsConfig = config::parse(Some(json.as_bytes()))?;
        let compiled = TenantDirectory::compile(&c.tenants, c.identity_header.as_deref(), c.require_tenant)?;
        Ok((compiled.directory, compiled.warnings))
    }

    fn tenants_json(extra: &str) -> String {
        format!(
            r#"{{"tenants":[
                {{"id":"team-a","keyHashes":["{}"],
                  "allow":[{{"provider":"openai","models":["gpt-4o*"]}},{{"provider":"anthropic"}}]}},
                {{"id":"team-b","keyHashes":["{}","{}"]}}
            ]{extra}}}"#,
            key_hash("vk-a"),
            key_hash("vk-b-old"),
            key_hash("vk-b-new")
        )
    }

    fn key(k: &str) -> Presented<'_> {
        Presented { virtual_key: Some(k), identity: None }
    }

    fn id<'a>(c: Result<Caller<'a>, ClientError>) -> Result<&'a str, u16> {
        match c {
            Ok(Caller::Tenant(t)) => Ok(&t.id),
            Ok(Caller::Anonymous) => Ok("<anonymous>"),
            Err(e) => Err(e.status()),
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        // FIPS 180-2 test vector; `printf %s abc | sha256sum` prints the same.
        assert_eq!(
            key_hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn virtual_keys_identify_tenants() {
        let (dir, warnings) = directory(&tenants_json("")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(id(dir.identify(key("vk-a"))), Ok("team-a"));
        assert_eq!(id(dir.identify(key("vk-b-old"))), Ok("team-b"));
        assert_eq!(id(dir.identify(key("vk-b-new"))), Ok("team-b"));
        assert_eq!(id(dir.identify(key("vk-c"))), Err(401));
        assert_eq!(id(dir.identify(Presented::default())), Err(401));
    }

    #[test]
    fn errors_never_contain_the_key() {
        let (dir, _) = directory(&tenants_json("")).unwrap();
        let Err(err) = dir.identify(key("sk-secret-guess")) else { panic!("accepted") };
        assert!(!err.message.contains("sk-secret-guess"));
        assert_eq!(err.kind, ErrorKind::Authentication);
    }

    #[test]
    fn without_tenants_everyone_is_anonymous() {
        let (dir, _) = directory("{}").unwrap();
        assert!(!dir.enabled());
        assert_eq!(id(dir.identify(key("anything"))), Ok("<anonymous>"));
        assert_eq!(id(dir.identify(Presented::default())), Ok("<anonymous>"));
    }

    #[test]
    fn optional_tenancy_lets_keyless_clients_in_but_not_wrong_keys() {
        let (dir, _) = directory(&tenants_json(r#","requireTenant":false"#)).unwrap();
        assert_eq!(id(dir.identify(Presented::default())), Ok("<anonymous>"));
        assert_eq!(id(dir.identify(key("wrong"))), Err(401));
        assert_eq!(id(dir.identify(key("vk-a"))), Ok("team-a"));
    }

    #[test]
    fn scope_by_provider_and_model() {
        let (dir, _) = directory(&tenants_json("")).unwrap();
        let a = dir.get("team-a").unwrap();
        assert!(a.allows("openai", &["gpt-4o-mini"]));
        assert!(a.allows("openai", &["fast", "gpt-4o-mini"]), "alias target");
        assert!(!a.allows("openai", &["o3"]));
        assert!(a.allows("anthropic", &["claude-anything"]));
        assert!(!a.allows("gemini", &["gemini-2.5-flash"]));
        let b = dir.get("team-b").unwrap();
        assert!(b.allows("gemini", &["x"]), "no allow list: everything");
        let (dir, _) = directory(&format!(
            r#"{{"tenants":[{{"id":"none","keyHashes":["{}"],"allow":[]}}]}}"#,
            key_hash("k")
        ))
        .unwrap();
        assert!(!dir.get("none").unwrap().allows("openai", &["gpt-4o"]));
    }

    #[test]
    fn trusted_identity_header() {
        let json = format!(
            r#"{{"identityHeader":"X-Authenticated-Client","tenants":[
                {{"id":"team-a","identities":["team-a","*@a.example.com"]}},
                {{"id":"team-b","keyHashes":["{}"]}}]}}"#,
            key_hash("vk-b")
        );
        let (dir, warnings) = directory(&json).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(dir.identity_header(), Some("x-authenticated-client"));
        let ident = |i| Presented { virtual_key: None, identity: Some(i) };
        assert_eq!(id(dir.identify(ident("team-a"))), Ok("team-a"));
        assert_eq!(id(dir.identify(ident("ann@a.example.com"))), Ok("team-a"));
        assert_eq!(id(dir.identify(ident("team-b"))), Ok("team-b"), "defaults to the id");
        assert_eq!(id(dir.identify(ident("mallory"))), Err(403));
        // No identity header: virtual keys still work.
        assert_eq!(id(dir.identify(key("vk-b"))), Ok("team-b"));
        assert_eq!(id(dir.identify(Presented::default())), Err(401));
    }

    #[test]
    fn config_errors_name_the_field_and_never_echo_hashes() {
        let err = directory(r#"{"tenants":[{"id":"a","keyHashes":["sk-pasted-a-real-key"]}]}"#).unwrap_err();
        assert_eq!(err.path, "tenants[0].keyHashes[0]");
        assert!(!err.message.contains("sk-pasted"));
        let h = key_hash("k");
        let err = directory(&format!(
            r#"{{"tenants":[{{"id":"a","keyHashes":["{h}"]}},{{"id":"b","keyHashes":["{h}"]}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(err.path, "tenants[1].keyHashes[0]");
        let err = directory(r#"{"tenants":[{"id":"a"},{"id":"a"}]}"#).unwrap_err();
        assert_eq!(err.path, "tenants[1].id");
        let err = directory(r#"{"tenants":[{"id":"a;b"}]}"#).unwrap_err();
        assert_eq!(err.path, "tenants[0].id");
        let err = directory(r#"{"identityHeader":"x-portcullis-identity"}"#).unwrap_err();
        assert_eq!(err.path, "identityHeader");
        let err = directory(r#"{"identityHeader":"Authorization"}"#).unwrap_err();
        assert_eq!(err.path, "identityHeader");
        let err = directory(r#"{"requireTenant":true}"#).unwrap_err();
        assert_eq!(err.path, "requireTenant");
        let err = directory(r#"{"tenants":[{"id":"a","alow":[]}]}"#).unwrap_err();
        assert_eq!(err.path, "tenants[0].alow");
    }

    #[test]
    fn unreachable_tenant_is_warned_about() {
        let (_, warnings) = directory(r#"{"tenants":[{"id":"a"}]}"#).unwrap();
        assert_eq!(warnings[0].0, "tenants[0].keyHashes");
    }

    #[test]
    fn hashes_accept_upper_case_hex() {
        let upper = key_hash("vk").to_ascii_uppercase().replace("SHA256:", "sha256:");
        let (dir, _) =
            directory(&format!(r#"{{"tenants":[{{"id":"a","keyHashes":["{upper}"]}}]}}"#)).unwrap();
        assert_eq!(id(dir.identify(key("vk"))), Ok("a"));
    }
}
