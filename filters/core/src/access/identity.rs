//! Short-lived cloud credentials: a provider's bearer token fetched from the platform's identity
//! endpoint instead of a long-lived key in the environment.
//!
//! - `gcpMetadata`: the GCP metadata server (`Metadata-Flavor: Google`), the service account's
//!   OAuth access token — Vertex AI on GKE (Workload Identity), GCE, Cloud Run;
//! - `azureImds`: Azure's Instance Metadata Service (`Metadata: true`), a managed identity's
//!   Entra ID token for a resource (`https://cognitiveservices.azure.com` for Azure OpenAI) — on
//!   VMs, VM scale sets and AKS nodes with a managed identity;
//! - AWS's container credentials endpoint (ECS task roles, EKS Pod Identity): temporary AWS
//!   credentials (key id, secret, session token) to sign Bedrock requests with
//!   ([`super::aws`]); cached and refreshed the same way.
//!
//! The call goes to an Envoy cluster the operator points at the endpoint (the metadata server is
//! `metadata.google.internal:80`, IMDS `169.254.169.254:80`). A token is cached in shared data —
//! one fetch serves every worker — and fetched again `refreshBeforeSeconds` before it expires.
//! While one worker refreshes, the others keep using the still-valid token; a failed fetch falls
//! back to it, and only with no valid token is the request refused (503 in the client's shape).
//! The token is sent as `Authorization: Bearer` whatever the provider's key scheme (Azure OpenAI
//! takes Entra ID tokens that way). It is never logged; the cache key is a digest of the source.

use crate::common::config::ConfigError;
use crate::common::secret::{hex, sha256, Secret};
use serde::Deserialize;

const DEFAULT_REFRESH_BEFORE_SECONDS: u64 = 300;
const DEFAULT_TIMEOUT_MS: u32 = 2000;
/// Entra ID's resource for Azure OpenAI (Azure AI services).
const AZURE_OPENAI_RESOURCE: &str = "https://cognitiveservices.azure.com";
/// IMDS's token API version (the one Azure documents for managed identities on VMs).
const IMDS_API_VERSION: &str = "2018-02-01";
/// A token answer is a few KB; anything much larger is not one.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityConfig {
    #[serde(default)]
    pub gcp_metadata: Option<GcpMetadataConfig>,
    #[serde(default)]
    pub azure_imds: Option<AzureImdsConfig>,
    /// Fetch a new token this long before the cached one expires.
    #[serde(default)]
    pub refresh_before_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GcpMetadataConfig {
    /// The Envoy cluster of the metadata server.
    pub cluster: String,
    /// The service account (default: the workload's, `default`).
    #[serde(default)]
    pub service_account: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureImdsConfig {
    /// The Envoy cluster of IMDS.
    pub cluster: String,
    /// The Entra ID resource the token is for.
    #[serde(default)]
    pub resource: Option<String>,
    /// A user-assigned identity's client id (default: the system-assigned identity).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// AWS's container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on ECS, the
/// Pod Identity agent's `/v1/credentials` on EKS).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsContainerConfig {
    /// The Envoy cluster of the endpoint (`169.254.170.2:80` on ECS, `169.254.170.23:80` on EKS).
    pub cluster: String,
    /// The path: ECS's relative URI (`/v2/credentials/<id>`), EKS's `/v1/credentials`.
    pub path: String,
    /// The variable holding the `Authorization` value the endpoint wants (EKS Pod Identity and
    /// ECS full-URI endpoints); unset: none is sent.
    #[serde(default)]
    pub authorization_token_env: Option<String>,
    #[serde(default)]
    pub refresh_before_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

/// Where tokens come from, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSource {
    kind: SourceKind,
    pub cluster: String,
    path: String,
    /// The `Authorization` header the endpoint wants (AWS container credentials).
    authorization: Option<Secret>,
    pub refresh_before_seconds: u64,
    pub timeout_ms: u32,
    /// The shared-data key of this source's cached token (a digest of what identifies it).
    pub cache_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    GcpMetadata,
    AzureImds,
    AwsContainer,
}

impl TokenSource {
    pub fn compile(config: IdentityConfig, at: &str) -> Result<Self, ConfigError> {
        let (kind, cluster, path) = match (config.gcp_metadata, config.azure_imds) {
            (Some(gcp), None) => {
                let account = gcp.service_account.unwrap_or_else(|| "default".to_owned());
                if !path_segment(&account) {
                    return Err(ConfigError::new(
                        format!("{at}.gcpMetadata.serviceAccount"),
                        "a service account email or `default`",
                    ));
                }
                let path = format!("/computeMetadata/v1/instance/service-accounts/{account}/token");
                (SourceKind::GcpMetadata, gcp.cluster, path)
            }
            (None, Some(azure)) => {
                let resource = azure.resource.unwrap_or_else(|| AZURE_OPENAI_RESOURCE.to_owned());
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("api-version", IMDS_API_VERSION).append_pair("resource", &resource);
                if let Some(id) = &azure.client_id {
                    query.append_pair("client_id", id);
                }
                (
                    SourceKind::AzureImds,
                    azure.cluster,
                    format!("/metadata/identity/oauth2/token?{}", query.finish()),
                )
            }
            _ => return Err(ConfigError::new(at, "exactly one of `gcpMetadata`, `azureImds`")),
        };
        let field = if kind == SourceKind::GcpMetadata { "gcpMetadata" } else { "azureImds" };
        if cluster.trim().is_empty() {
            return Err(ConfigError::new(
                format!("{at}.{field}.cluster"),
                "the Envoy cluster of the endpoint",
            ));
        }
        let timeout_ms = config.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if !(10..=60_000).contains(&timeout_ms) {
            return Err(ConfigError::new(format!("{at}.timeoutMs"), "10 to 60000"));
        }
        Ok(Self::new(kind, field, cluster, path, None, config.refresh_before_seconds, timeout_ms))
    }

    fn new(
        kind: SourceKind,
        field: &str,
        cluster: String,
        path: String,
        authorization: Option<Secret>,
        refresh_before_seconds: Option<u64>,
        timeout_ms: u32,
    ) -> Self {
        let identity = format!("{field}\n{cluster}\n{path}");
        TokenSource {
            kind,
            cache_key: format!(
                "portcullis.credentials.token.{}",
                hex(sha256(identity.as_bytes()).get(..8).unwrap_or_default())
            ),
            cluster,
            path,
            authorization,
            refresh_before_seconds: refresh_before_seconds.unwrap_or(DEFAULT_REFRESH_BEFORE_SECONDS),
            timeout_ms,
        }
    }

    /// AWS's container credentials endpoint; its token (`authorizationTokenEnv`) read through
    /// `env`. `Ok(Err(_))`: the variable is unset (requests to the provider are refused).
    pub fn aws_container(
        config: AwsContainerConfig,
        at: &str,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Result<Self, String>, ConfigError> {
        if config.cluster.trim().is_empty() {
            return Err(ConfigError::new(format!("{at}.cluster"), "the Envoy cluster of the endpoint"));
        }
        if !config.path.starts_with('/') || !config.path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(format!("{at}.path"), "the endpoint's path, starting with `/`"));
        }
        let timeout_ms = config.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if !(10..=60_000).contains(&timeout_ms) {
            return Err(ConfigError::new(format!("{at}.timeoutMs"), "10 to 60000"));
        }
        let authorization = match &config.authorization_token_env {
            None => None,
            Some(var) if !crate::common::config::is_env_name(var) => {
                return Err(ConfigError::new(
                    format!("{at}.authorizationTokenEnv"),
                    "not an environment variable name",
                ))
            }
            Some(var) => match env(var).map(|v| v.trim().to_owned()).filter(|v| is_token(v)) {
                Some(token) => Some(Secret::new(token)),
                None => return Ok(Err(format!("environment variable `{var}` is not set for the Wasm VM"))),
            },
        };
        let kind = SourceKind::AwsContainer;
        let refresh = config.refresh_before_seconds;
        Ok(Ok(Self::new(
            kind,
            "awsContainer",
            config.cluster,
            config.path,
            authorization,
            refresh,
            timeout_ms,
        )))
    }

    /// The fetch's request headers (`:method`, `:path`, `:authority` and the endpoint's own).
    pub fn request_headers(&self) -> Vec<(&'static str, String)> {
        let (authority, marker) = match self.kind {
            SourceKind::GcpMetadata => ("metadata.google.internal", ("metadata-flavor", "Google")),
            SourceKind::AzureImds => ("169.254.169.254", ("metadata", "true")),
            SourceKind::AwsContainer => ("169.254.170.2", ("accept", "application/json")),
        };
        let mut headers = vec![
            (":method", "GET".to_owned()),
            (":path", self.path.clone()),
            (":authority", authority.to_owned()),
            (marker.0, marker.1.to_owned()),
        ];
        if let Some(token) = &self.authorization {
            headers.push(("authorization", token.expose().to_owned()));
        }
        headers
    }

    /// A fetch's answer → the token, or why not (never containing the answer's body).
    pub fn parse(&self, status: Option<u16>, body: &[u8], now: u64) -> Result<CachedToken, String> {
        match status {
            None => return Err("no answer (refused, reset or timed out)".into()),
            Some(200) => {}
            Some(s) => return Err(format!("status {s}")),
        }
        if self.kind == SourceKind::AwsContainer {
            return parse_aws(body, now);
        }
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            /// GCP: a number; IMDS: a string of digits.
            expires_in: Option<serde_json::Value>,
            /// IMDS: seconds since the epoch, as a string.
            expires_on: Option<serde_json::Value>,
        }
        let answer: Answer =
            serde_json::from_slice(body).map_err(|_| "the answer is not a token (JSON)".to_owned())?;
        let token =
            answer.access_token.filter(|t| is_token(t)).ok_or("the answer has no usable access_token")?;
        let seconds = |v: Option<serde_json::Value>| match v? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        let expires_at = match (self.kind, seconds(answer.expires_on), seconds(answer.expires_in)) {
            (SourceKind::AzureImds, Some(on), _) => on,
            (_, _, Some(within)) => now.saturating_add(within),
            _ => return Err("the answer does not say when the token expires".into()),
        };
        if expires_at <= now {
            return Err("the token has already expired".into());
        }
        Ok(CachedToken { token: Secret::new(token), expires_at, fetching_since: 0 })
    }
}

/// AWS container credentials: `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`,
/// cached as `<key id>:<secret>:<token>` (none of them has a `:`).
fn parse_aws(body: &[u8], now: u64) -> Result<CachedToken, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        token: Option<String>,
        expiration: Option<String>,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| "the answer is not AWS credentials (JSON)".to_owned())?;
    let usable = |v: Option<String>| v.filter(|v| is_token(v) && !v.contains(':'));
    let (Some(id), Some(secret), Some(token)) =
        (usable(answer.access_key_id), usable(answer.secret_access_key), usable(answer.token))
    else {
        return Err("the answer lacks a usable AccessKeyId, SecretAccessKey or Token".into());
    };
    let expires_at = answer
        .expiration
        .as_deref()
        .and_then(unix_seconds)
        .ok_or("the answer does not say when the credentials expire")?;
    if expires_at <= now {
        return Err("the credentials have already expired".into());
    }
    Ok(CachedToken { token: Secret::new(format!("{id}:{secret}:{token}")), expires_at, fetching_since: 0 })
}

/// `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds allowed) → seconds since the epoch
/// (H. Hinnant's `days_from_civil`).
fn unix_seconds(text: &str) -> Option<u64> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<u64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split_once('.').map_or(time, |(whole, _)| whole);
    let mut t = time.split(':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
        || year < 1970
    {
        return None;
    }
    let y = if month <= 2 { year.checked_sub(1)? } else { year };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if month > 2 { month.checked_sub(3)? } else { month.checked_add(9)? };
    let doy = (mp.checked_mul(153)?.checked_add(2)? / 5).checked_add(day.checked_sub(1)?)?;
    let doe = yoe.checked_mul(365)?.checked_add(yoe / 4)?.checked_sub(yoe / 100)?.checked_add(doy)?;
    let days = era.checked_mul(146_097)?.checked_add(doe)?.checked_sub(719_468)?;
    days.checked_mul(86_400)?
        .checked_add(hour.checked_mul(3_600)?)?
        .checked_add(minute.checked_mul(60)?)?
        .checked_add(second)
}

/// The AWS credentials a cached entry holds.
pub fn aws_credentials(token: &Secret) -> Option<super::sigv4::Credentials> {
    let mut parts = token.expose().splitn(3, ':');
    let (id, secret, session) = (parts.next()?, parts.next()?, parts.next()?);
    Some(super::sigv4::Credentials {
        access_key_id: id.to_owned(),
        secret_access_key: Secret::new(secret.to_owned()),
        session_token: Some(Secret::new(session.to_owned())),
    })
}

/// A name the metadata server's path can take (an email or `default`), nothing that moves the
/// path elsewhere.
fn path_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"@.-_".contains(&b))
}

/// A token fits a header value: visible ASCII, no spaces.
fn is_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 16 * 1024 && t.bytes().all(|b| b.is_ascii_graphic())
}

/// What shared data holds for a source: the token, when it expires, and since when a worker
/// has been fetching a new one (0: nobody).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub token: Secret,
    pub expires_at: u64,
    pub fetching_since: u64,
}

impl CachedToken {
    /// `<expires_at> <fetching_since> <token>`: the token is visible ASCII without spaces.
    pub fn encode(&self) -> Vec<u8> {
        format!("{} {} {}", self.expires_at, self.fetching_since, self.token.expose()).into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(3, ' ');
        let expires_at = parts.next()?.parse().ok()?;
        let fetching_since = parts.next()?.parse().ok()?;
        // An entry with no token yet marks a first fetch in flight.
        let token = parts.next().unwrap_or_default();
        Some(CachedToken { token: Secret::new(token.to_owned()), expires_at, fetching_since })
    }

    fn valid(&self, now: u64) -> bool {
        !self.token.expose().is_empty() && now < self.expires_at
    }
}

/// What a request does with the cache.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Use this token.
    Use(Secret),
    /// Fetch one, claiming the fetch with this entry (written with the entry's CAS); `stale`, a
    /// still-valid token to fall back on if the fetch fails.
    Fetch { claim: Vec<u8>, stale: Option<Secret> },
}

/// Decides from the cached entry: a fresh token is used; one in its refresh window is used too
/// while another worker's fetch is in flight (claimed less than the fetch timeout ago), else
/// this request fetches; without a valid token the request fetches (and waits).
pub fn plan(source: &TokenSource, cached: Option<&[u8]>, now: u64) -> Plan {
    let entry = cached.and_then(CachedToken::decode);
    let valid = entry.as_ref().filter(|e| e.valid(now));
    if let Some(e) = valid {
        if now.saturating_add(source.refresh_before_seconds) < e.expires_at {
            return Plan::Use(e.token.clone());
        }
        let claim_lasts = u64::from(source.timeout_ms).div_ceil(1000).saturating_add(1);
        let in_flight = e.fetching_since != 0 && now < e.fetching_since.saturating_add(claim_lasts);
        if in_flight {
            return Plan::Use(e.token.clone());
        }
    }
    let claim = match &entry {
        Some(e) => CachedToken { fetching_since: now.max(1), ..e.clone() },
        None => CachedToken { token: Secret::new(String::new()), expires_at: 0, fetching_since: now.max(1) },
    };
    Plan::Fetch { claim: claim.encode(), stale: valid.map(|e| e.token.clone()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::config;

    fn source(json: &str) -> Result<TokenSource, ConfigError> {
        TokenSource::compile(config::parse(Some(json.as_bytes()))?, "providers.vertex.identity")
    }

    fn gcp() -> TokenSource {
        source(
            r#"{"gcpMetadata": {"cluster": "gcp-metadata"}, "refreshBeforeSeconds": 60, "timeoutMs": 2000}"#,
        )
        .unwrap()
    }

    #[test]
    fn each_source_asks_its_endpoint_in_its_documented_shape() {
        let headers = gcp().request_headers();
        assert_eq!(headers[1].1, "/computeMetadata/v1/instance/service-accounts/default/token");
        assert_eq!(headers[3], ("metadata-flavor", "Google".to_owned()));
        let azure = source(r#"{"azureImds": {"cluster": "imds", "clientId": "1234-abcd"}}"#).unwrap();
        let headers = azure.request_headers();
        assert_eq!(
            headers[1].1,
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com&client_id=1234-abcd"
        );
        assert_eq!(headers[3], ("metadata", "true".to_owned()));
        assert_ne!(gcp().cache_key, azure.cache_key);
    }

    #[test]
    fn config_mistakes_name_their_field() {
        assert_eq!(source("{}").unwrap_err().path, "providers.vertex.identity");
        let both = r#"{"gcpMetadata": {"cluster": "a"}, "azureImds": {"cluster": "b"}}"#;
        assert_eq!(source(both).unwrap_err().path, "providers.vertex.identity");
        let escape = r#"{"gcpMetadata": {"cluster": "a", "serviceAccount": "../../x"}}"#;
        assert_eq!(source(escape).unwrap_err().path, "providers.vertex.identity.gcpMetadata.serviceAccount");
        let timeout = r#"{"gcpMetadata": {"cluster": "a"}, "timeoutMs": 0}"#;
        assert_eq!(source(timeout).unwrap_err().path, "providers.vertex.identity.timeoutMs");
        assert_eq!(
            source(r#"{"gcpMetadata": {"cluster": " "}}"#).unwrap_err().path,
            "providers.vertex.identity.gcpMetadata.cluster"
        );
    }

    #[test]
    fn answers_are_parsed_in_each_documented_shape() {
        let t = gcp()
            .parse(Some(200), br#"{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}"#, 1000)
            .unwrap();
        assert_eq!((t.token.expose(), t.expires_at), ("ya29.abc", 4599));
        let azure = source(r#"{"azureImds": {"cluster": "imds"}}"#).unwrap();
        let imds = br#"{"access_token":"eyJ0","expires_in":"3599","expires_on":"1506484173","resource":"https://cognitiveservices.azure.com","token_type":"Bearer"}"#;
        assert_eq!(azure.parse(Some(200), imds, 1506480000).unwrap().expires_at, 1506484173);
    }

    #[test]
    fn bad_answers_are_errors_that_never_echo_the_body() {
        let s = gcp();
        for (status, body) in [
            (None, &b""[..]),
            (Some(500), br#"{"access_token":"leak"}"#),
            (Some(200), b"<html>leak</html>"),
            (Some(200), br#"{"access_token":"has space leak","expires_in":60}"#),
            (Some(200), br#"{"access_token":"leak"}"#),
            (Some(200), br#"{"access_token":"leak","expires_in":0}"#),
            (Some(200), br#"{"access_token":"leak","expires_in":-5}"#),
        ] {
            let err = s.parse(status, body, 1000).unwrap_err();
            assert!(!err.contains("leak"), "{err}");
        }
    }

    #[test]
    fn aws_container_credentials_follow_the_documented_contract() {
        let config = AwsContainerConfig {
            cluster: "ecs-credentials".into(),
            path: "/v2/credentials/abc".into(),
            authorization_token_env: Some("AWS_CONTAINER_AUTHORIZATION_TOKEN".into()),
            refresh_before_seconds: None,
            timeout_ms: None,
        };
        let env = |name: &str| (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN").then(|| "pod-token".to_string());
        let s = TokenSource::aws_container(config.clone(), "providers.b.aws.containerCredentials", &env)
            .unwrap()
            .unwrap();
        let headers = s.request_headers();
        assert_eq!(headers[1], (":path", "/v2/credentials/abc".to_owned()));
        assert_eq!(headers.last(), Some(&("authorization", "pod-token".to_owned())));
        let answer = br#"{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"wJalr/K7+x","Token":"IQoJb3JpZ2lu==","Expiration":"2026-12-02T06:00:00Z","RoleArn":"arn:aws:iam::1:role/r"}"#;
        let cached = s.parse(Some(200), answer, 1_764_633_600).unwrap();
        assert_eq!(cached.expires_at, 1_764_655_200 + 365 * 86_400);
        let creds = aws_credentials(&cached.token).unwrap();
        assert_eq!(creds.access_key_id, "ASIAEXAMPLE");
        assert_eq!(creds.secret_access_key.expose(), "wJalr/K7+x");
        assert_eq!(creds.session_token.unwrap().expose(), "IQoJb3JpZ2lu==");
        for bad in [&br#"{"AccessKeyId":"A","SecretAccessKey":"leak","Token":"t"}"#[..], br#"{"AccessKeyId":"A:B","SecretAccessKey":"leak","Token":"t","Expiration":"2030-01-01T00:00:00Z"}"#, b"leak"] {
            assert!(!s.parse(Some(200), bad, 1_764_633_600).unwrap_err().contains("leak"));
        }
        let unset = TokenSource::aws_container(config, "p", &|_: &str| None).unwrap();
        assert!(unset.unwrap_err().contains("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    }

    #[test]
    fn iso_dates_are_read_as_utc() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2015-08-30T12:36:00Z"), Some(1_440_938_160));
        assert_eq!(unix_seconds("2000-02-29T00:00:00.123Z"), Some(951_782_400));
        assert_eq!(unix_seconds("2100-03-01T00:00:00Z"), Some(4_107_542_400));
        for bad in ["2026-13-01T00:00:00Z", "2026-12-01 00:00:00", "2026-12-01T00:00:00", "yesterday", ""] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_cache_entry_round_trips() {
        let t = CachedToken { token: Secret::new("ya29.x".into()), expires_at: 5000, fetching_since: 42 };
        assert_eq!(CachedToken::decode(&t.encode()), Some(t));
        assert_eq!(CachedToken::decode(b"garbage"), None);
    }

    #[test]
    fn fresh_tokens_are_used_and_one_worker_refreshes() {
        let s = gcp(); // refresh 60 s before expiry, 2 s timeout
        let entry = |expires_at, fetching_since| {
            CachedToken { token: Secret::new("tok".into()), expires_at, fetching_since }.encode()
        };
        assert_eq!(plan(&s, Some(&entry(2000, 0)), 1000), Plan::Use(Secret::new("tok".into())));
        // In the refresh window, nobody fetching: this request fetches, the old token as fallback.
        let Plan::Fetch { claim, stale } = plan(&s, Some(&entry(1050, 0)), 1000) else { panic!("fetch") };
        assert_eq!(stale, Some(Secret::new("tok".into())));
        assert_eq!(CachedToken::decode(&claim).unwrap().fetching_since, 1000);
        // Another worker claimed it a second ago: use the old token meanwhile.
        assert_eq!(plan(&s, Some(&entry(1050, 999)), 1000), Plan::Use(Secret::new("tok".into())));
        // Its claim is older than the fetch could take: fetch again.
        assert!(matches!(plan(&s, Some(&entry(1050, 990)), 1000), Plan::Fetch { .. }));
        // Expired, or nothing cached: fetch with nothing to fall back on.
        assert!(matches!(plan(&s, Some(&entry(1000, 0)), 1000), Plan::Fetch { stale: None, .. }));
        assert!(matches!(plan(&s, None, 1000), Plan::Fetch { stale: None, .. }));
        // A first fetch in flight elsewhere leaves no token: this request fetches too.
        let first =
            CachedToken { token: Secret::new(String::new()), expires_at: 0, fetching_since: 999 }.encode();
        assert!(matches!(plan(&s, Some(&first), 1000), Plan::Fetch { stale: None, .. }));
    }
}
