//! AWS credentials for providers that authenticate by signature (Bedrock): where they come
//! from, and what a signed request carries.
//!
//! A signature covers the body, so it is made where the final body is known: the credentials
//! filter's upstream placement, on the provider's cluster (once per attempt under failover),
//! after every filter that may still rewrite the body (the prompt filter's templates,
//! decorators, guards and retrieval run after the listener's credentials filter). The listener's
//! instance injects nothing for such a provider.

use super::identity::{AwsContainerConfig, TokenSource};
use super::sigv4::{self, Credentials, Request, Scope};
use crate::common::config::Warning;
use crate::common::config::{is_env_name, ConfigError};
use crate::common::secret::Secret;
use serde::Deserialize;

/// The service name in Bedrock's signatures (runtime API included).
const SERVICE: &str = "bedrock";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsConfig {
    /// Default `AWS_ACCESS_KEY_ID`.
    #[serde(default)]
    pub access_key_id_env: Option<String>,
    /// Default `AWS_SECRET_ACCESS_KEY`.
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// Default `AWS_SESSION_TOKEN` (temporary credentials; may be unset).
    #[serde(default)]
    pub session_token_env: Option<String>,
    /// The signing region; default: read from the endpoint's host
    /// (`bedrock-runtime.<region>.amazonaws.com`).
    #[serde(default)]
    pub region: Option<String>,
    /// Temporary credentials from the container credentials endpoint (ECS task role, EKS Pod
    /// Identity) instead of the environment's keys.
    #[serde(default)]
    pub container_credentials: Option<AwsContainerConfig>,
}

/// Compiled: the credentials (or where to fetch them), and the region if configured.
#[derive(Debug, Clone)]
pub struct AwsCredential {
    /// Keys from the environment; `None` when they come from [`Self::source`].
    credentials: Option<Credentials>,
    /// The container credentials endpoint, whose answers are cached like cloud tokens.
    pub source: Option<TokenSource>,
    region: Option<String>,
    /// Extra headers sent with the signature (signed too: they are set before signing).
    pub headers: Vec<(String, String)>,
}

impl PartialEq for AwsCredential {
    fn eq(&self, other: &Self) -> bool {
        let id = |c: &Self| c.credentials.as_ref().map(|c| c.access_key_id.clone());
        id(self) == id(other) && self.source == other.source && self.region == other.region
    }
}

impl Eq for AwsCredential {}

impl AwsCredential {
    /// The outer error refuses the config; the inner one (unset variables) refuses only
    /// requests to this provider.
    pub fn compile(
        config: AwsConfig,
        headers: Vec<(String, String)>,
        at: &str,
        env: &impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<Warning>,
    ) -> Result<Result<Self, String>, ConfigError> {
        let names = [
            ("accessKeyIdEnv", config.access_key_id_env.unwrap_or_else(|| "AWS_ACCESS_KEY_ID".into())),
            (
                "secretAccessKeyEnv",
                config.secret_access_key_env.unwrap_or_else(|| "AWS_SECRET_ACCESS_KEY".into()),
            ),
            ("sessionTokenEnv", config.session_token_env.unwrap_or_else(|| "AWS_SESSION_TOKEN".into())),
        ];
        for (field, name) in &names {
            if !is_env_name(name) {
                // Not echoed: a secret pasted here by mistake stays out of the log.
                return Err(ConfigError::new(format!("{at}.{field}"), "not an environment variable name"));
            }
        }
        if let Some(region) = &config.region {
            if !is_region(region) {
                return Err(ConfigError::new(format!("{at}.region"), "an AWS region such as `us-east-1`"));
            }
        }
        if let Some(container) = config.container_credentials {
            let at = format!("{at}.containerCredentials");
            return Ok(TokenSource::aws_container(container, &at, env)?.map(|source| AwsCredential {
                credentials: None,
                source: Some(source),
                region: config.region,
                headers,
            }));
        }
        let [(_, id_var), (_, secret_var), (_, token_var)] = names;
        let read = |var: &str| env(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (Some(id), Some(secret)) = (read(&id_var), read(&secret_var)) else {
            warnings.push(Warning {
                path: at.to_string(),
                message: format!(
                    "environment variables `{id_var}` and `{secret_var}` must be set for the Wasm VM"
                ),
            });
            return Ok(Err(format!(
                "environment variables `{id_var}` and `{secret_var}` are not set for the Wasm VM"
            )));
        };
        let credentials = Credentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: read(&token_var).map(Secret::new),
        };
        Ok(Ok(AwsCredential { credentials: Some(credentials), source: None, region: config.region, headers }))
    }

    /// The signing region: configured, or the one in a Bedrock endpoint's host.
    pub fn region_for(&self, authority: &str) -> Option<String> {
        if let Some(region) = &self.region {
            return Some(region.clone());
        }
        let host = authority.rsplit_once(':').map_or(authority, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                authority
            }
        });
        let mut labels = host.split('.');
        let service = labels.next()?;
        let region = labels.next()?;
        (service.starts_with("bedrock") && is_region(region)).then(|| region.to_string())
    }

    /// The keys from the environment, if that is where they come from.
    pub fn static_credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The headers that sign a request: `x-amz-date`, `x-amz-security-token` (temporary
    /// credentials) and `authorization`. `headers` are the request's headers to sign (`host`
    /// among them); `now` is seconds since the epoch.
    pub fn sign(
        credentials: &Credentials,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        region: &str,
        now: u64,
    ) -> Vec<(&'static str, String)> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let request = Request { method, path, query, headers, body };
        let date = sigv4::amz_date(now);
        sigv4::sign(&request, credentials, Scope { region, service: SERVICE }, &date).headers
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lower-case letters, digits and dashes.
fn is_region(s: &str) -> bool {
    (4..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(env: &[(&str, &str)], config: AwsConfig) -> Result<AwsCredential, String> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        AwsCredential::compile(config, Vec::new(), "providers.bedrock.aws", &lookup, &mut Vec::new()).unwrap()
    }

    const KEYS: [(&str, &str); 3] = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "session-token-example"),
    ];

    #[test]
    fn the_region_is_the_endpoints_unless_configured() {
        let c = credential(&KEYS, AwsConfig::default()).unwrap();
        assert_eq!(c.region_for("bedrock-runtime.eu-west-3.amazonaws.com").as_deref(), Some("eu-west-3"));
        assert_eq!(
            c.region_for("bedrock-runtime-fips.us-east-1.amazonaws.com:443").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(c.region_for("llm.internal"), None);
        let c =
            credential(&KEYS, AwsConfig { region: Some("us-west-2".into()), ..Default::default() }).unwrap();
        assert_eq!(
            c.region_for("vpce-123.bedrock-runtime.us-west-2.vpce.amazonaws.com").as_deref(),
            Some("us-west-2")
        );
    }

    #[test]
    fn unset_keys_refuse_requests_not_the_config() {
        assert!(credential(&[], AwsConfig::default()).unwrap_err().contains("AWS_ACCESS_KEY_ID"));
        let c = credential(&KEYS[..2], AwsConfig::default()).unwrap();
        assert!(c.static_credentials().unwrap().session_token.is_none(), "long-term keys need no token");
    }

    #[test]
    fn config_mistakes_name_their_field_without_echoing() {
        let bad = AwsConfig { secret_access_key_env: Some("wJalr/secret".into()), ..Default::default() };
        let err =
            AwsCredential::compile(bad, Vec::new(), "p.aws", &|_: &str| None, &mut Vec::new()).unwrap_err();
        assert_eq!(err.path, "p.aws.secretAccessKeyEnv");
        assert!(!err.message.contains("wJalr"));
        let bad = AwsConfig { region: Some("Mars".into()), ..Default::default() };
        assert_eq!(
            AwsCredential::compile(bad, Vec::new(), "p.aws", &|_: &str| None, &mut Vec::new())
                .unwrap_err()
                .path,
            "p.aws.region"
        );
    }

    #[test]
    fn a_signed_request_carries_the_date_token_and_authorization() {
        let c = credential(&KEYS, AwsConfig::default()).unwrap();
        let headers =
            [("host", "bedrock-runtime.us-east-1.amazonaws.com"), ("content-type", "application/json")];
        let creds = c.static_credentials().unwrap();
        let signed = AwsCredential::sign(
            creds,
            "POST",
            "/model/m%3A0/converse",
            &headers,
            b"{}",
            "us-east-1",
            1_764_633_600,
        );
        let names: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["x-amz-date", "x-amz-security-token", "authorization"]);
        assert_eq!(signed[0].1, "20251202T000000Z");
        assert!(signed[2].1.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251202/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        ));
    }
}
