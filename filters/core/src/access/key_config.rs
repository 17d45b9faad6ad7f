//! Where a provider's keys come from, as configured (for the defaults and for each tenant).

use crate::access::aws::AwsConfig;
use crate::access::identity::IdentityConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderCredentialConfig {
    /// Environment variable holding the key (preferred).
    #[serde(default)]
    pub key_env: Option<String>,
    /// The key itself. Allowed for local testing; warned about at load.
    #[serde(default)]
    pub key: Option<String>,
    /// More keys for the same provider, used round robin after `keyEnv`/`key`.
    #[serde(default)]
    pub keys: Vec<KeySource>,
    /// Extra headers sent with the key (`OpenAI-Organization`, `OpenAI-Project`,
    /// `anthropic-version`, …). Not secret: do not put keys here.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How long a key rests after a 401 or 429 when the provider sends no `Retry-After`.
    #[serde(default)]
    pub cooldown_seconds: Option<u64>,
    /// Short-lived tokens from the cloud's identity endpoint instead of keys.
    #[serde(default)]
    pub identity: Option<IdentityConfig>,
    /// AWS credentials: requests are signed (SigV4) instead of carrying a key (Bedrock).
    #[serde(default)]
    pub aws: Option<AwsConfig>,
}

/// One key of a pool: from the environment (preferred) or inline.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySource {
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}
