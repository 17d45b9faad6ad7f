//! From a gateway config to what every renderer needs: the four plugin configs, the upstreams
//! (one per provider, plus the named services), the failover clusters and the key variables.
//!
//! Everything a renderer emits comes from here, so Envoy, Istio and compose outputs cannot
//! disagree about a provider's cluster, a failover chain or which variables hold keys.

use crate::check;
use crate::config::{GatewayConfig, Object};
use portcullis_core::common::config::ConfigError;
use portcullis_core::llm::provider::ProviderKind;
use serde_json::{json, Value};

/// The provider fields the credentials filter owns; every other provider field is the router's.
const CREDENTIAL_FIELDS: [&str; 7] =
    ["keyEnv", "key", "keys", "headers", "cooldownSeconds", "identity", "aws"];

#[derive(Debug, Clone)]
pub struct Gateway {
    pub config: GatewayConfig,
    pub router: Object,
    pub credentials: Object,
    pub prompt: Object,
    pub usage: Object,
    /// Provider clusters in config order, then services.
    pub upstreams: Vec<Upstream>,
    pub failovers: Vec<FailoverCluster>,
    /// Variables the credentials VM reads (provider and tenant keys).
    pub credential_env: Vec<String>,
    /// Variables the prompt VM reads (webhook, moderation, embeddings keys).
    pub prompt_env: Vec<String>,
}

/// An Envoy cluster for a provider or a service.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub cluster: String,
    /// The provider it reaches (endpoint metadata the per-attempt filters read), if one.
    pub provider: Option<String>,
    /// The cluster runs the router and credentials filters once more as upstream filters: a
    /// Bedrock provider (its event-stream answers become SSE there) or one whose requests are
    /// signed (AWS credentials: signed after every filter that may rewrite the body).
    pub signs: bool,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `http://host:port` or `https://host[:port]`: where the cluster connects. A path belongs
    /// to the provider (`basePath`), not here.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "`{url}`: only scheme, host and port (a path prefix is the provider's `basePath`)"
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{url}`: bad port"))?;
                (host, port)
            }
            None => (rest, if tls { 443 } else { 80 }),
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(format!("`{url}`: bad host"));
        }
        Ok(Endpoint { tls, host: host.to_owned(), port })
    }

    /// An IP address needs no DNS (a STATIC cluster); a name is resolved by Envoy.
    pub fn is_ip(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }
}

/// An aggregate cluster: its children in failover order, and how many retries reach the last.
#[derive(Debug, Clone)]
pub struct FailoverCluster {
    pub name: String,
    pub clusters: Vec<String>,
    pub retries: usize,
}

impl Gateway {
    pub fn from_config(config: GatewayConfig) -> Result<Self, ConfigError> {
        let mut router_providers = Object::new();
        let mut credential_providers = Object::new();
        for (name, value) in &config.providers {
            let Value::Object(fields) = value else {
                return Err(ConfigError::new(
                    format!("providers.{name}"),
                    "expected a map of provider fields",
                ));
            };
            let (mut router_fields, mut credential_fields) = (Object::new(), Object::new());
            for (field, v) in fields {
                if field == "endpoint" {
                    continue;
                }
                let side = if CREDENTIAL_FIELDS.contains(&field.as_str()) {
                    &mut credential_fields
                } else {
                    &mut router_fields
                };
                side.insert(field.clone(), v.clone());
            }
            // A kind without a public host needs `host` (the :authority): the endpoint's host is it.
            let kind: Option<ProviderKind> =
                router_fields.get("kind").cloned().and_then(|k| serde_json::from_value(k).ok());
            let endpoint_host =
                fields.get("endpoint").and_then(Value::as_str).and_then(|url| Endpoint::parse(url).ok());
            if let (Some(kind), Some(endpoint)) = (kind, endpoint_host) {
                if kind.default_host().is_none() && !router_fields.contains_key("host") && !endpoint.is_ip() {
                    router_fields.insert("host".into(), Value::from(endpoint.host));
                }
            }
            router_providers.insert(name.clone(), Value::Object(router_fields));
            credential_providers.insert(name.clone(), Value::Object(credential_fields));
        }

        let mut routes = config.routes.clone();
        let failover_names = name_failover_clusters(&mut routes);

        let mut router = Object::new();
        router.insert("providers".into(), Value::Object(router_providers));
        router.insert("routes".into(), Value::Array(routes));
        router.extend(config.router.clone());
        let mut credentials = Object::new();
        credentials.insert("providers".into(), Value::Object(credential_providers));
        credentials.extend(config.credentials.clone());
        let (prompt, usage) = (config.prompt.clone(), config.usage.clone());

        if !is_duration(&config.failover.per_try_idle_timeout) {
            return Err(ConfigError::new(
                "failover.perTryIdleTimeout",
                "expected seconds as Envoy writes them: `60s`, `0.5s`",
            ));
        }
        check::router(&router)?;
        check::credentials(&credentials)?;
        check::prompt(&prompt)?;
        check::usage(&usage)?;

        let mut upstreams = provider_upstreams(&config, &router)?;
        for (name, value) in &config.services {
            let at = format!("services.{name}.endpoint");
            let url = value
                .get("endpoint")
                .and_then(Value::as_str)
                .ok_or_else(|| ConfigError::new(&at, "required: the service's URL"))?;
            if value.as_object().is_some_and(|o| o.len() != 1) {
                return Err(ConfigError::new(
                    format!("services.{name}"),
                    "a service has one field, `endpoint`",
                ));
            }
            if upstreams.iter().any(|u| &u.cluster == name) {
                return Err(ConfigError::new(
                    format!("services.{name}"),
                    "a provider's cluster has this name",
                ));
            }
            let endpoint = Endpoint::parse(url).map_err(|m| ConfigError::new(&at, m))?;
            upstreams.push(Upstream { cluster: name.clone(), provider: None, endpoint, signs: false });
        }
        let failovers = failover_clusters(&router, &failover_names);
        let credential_env = key_variables(&Value::Object(credentials.clone()));
        let prompt_env = key_variables(&Value::Object(prompt.clone()));
        Ok(Gateway {
            config,
            router,
            credentials,
            prompt,
            usage,
            upstreams,
            failovers,
            credential_env,
            prompt_env,
        })
    }
}

/// A protobuf Duration in JSON: `60s`, `0.5s`.
fn is_duration(text: &str) -> bool {
    let Some(number) = text.strip_suffix('s') else { return false };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// A route with `fallbacks` and no `failoverCluster` gets `failover-<route name or model>`.
/// Returns each route's failover cluster (or None), by route index.
fn name_failover_clusters(routes: &mut [Value]) -> Vec<Option<String>> {
    routes
        .iter_mut()
        .map(|route| {
            let route = route.as_object_mut()?;
            let has_fallbacks =
                route.get("fallbacks").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
            if !has_fallbacks {
                return None;
            }
            if let Some(name) = route.get("failoverCluster").and_then(Value::as_str) {
                return Some(name.to_owned());
            }
            let label =
                route.get("name").or_else(|| route.get("model")).and_then(Value::as_str).unwrap_or("route");
            let slug: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '-' })
                .collect();
            let name = format!("failover-{slug}");
            route.insert("failoverCluster".into(), Value::from(name.as_str()));
            Some(name)
        })
        .collect()
}

fn provider_upstreams(config: &GatewayConfig, router: &Object) -> Result<Vec<Upstream>, ConfigError> {
    let mut upstreams: Vec<Upstream> = Vec::new();
    let Some(Value::Object(providers)) = router.get("providers") else {
        return Ok(upstreams);
    };
    for (name, fields) in providers {
        let Value::Object(fields) = fields else { continue };
        let at = format!("providers.{name}.endpoint");
        let kind: Option<ProviderKind> =
            fields.get("kind").cloned().and_then(|k| serde_json::from_value(k).ok());
        let host = fields.get("host").and_then(Value::as_str).map(str::to_owned);
        let endpoint = match config.providers.get(name).and_then(|p| p.get("endpoint")) {
            Some(Value::String(url)) => Endpoint::parse(url).map_err(|m| ConfigError::new(&at, m))?,
            Some(_) => return Err(ConfigError::new(&at, "expected a URL string")),
            None => {
                let regional = fields
                    .get("region")
                    .and_then(Value::as_str)
                    .filter(|_| kind == Some(ProviderKind::Bedrock))
                    .map(|region| format!("bedrock-runtime.{region}.amazonaws.com"));
                let public = host
                    .clone()
                    .or_else(|| kind.and_then(|k| k.default_host()).map(str::to_owned))
                    .or(regional);
                let public = public.ok_or_else(|| {
                    ConfigError::new(
                        &at,
                        "required: this kind has no public endpoint (or set the provider's `host`)",
                    )
                })?;
                Endpoint { tls: true, host: public, port: 443 }
            }
        };
        let cluster = fields.get("cluster").and_then(Value::as_str).unwrap_or(name).to_owned();
        if let Some(other) = upstreams.iter().find(|u| u.cluster == cluster) {
            let owner = other.provider.as_deref().unwrap_or_default();
            return Err(ConfigError::new(
                format!("providers.{name}.cluster"),
                format!("cluster `{cluster}` is already provider `{owner}`'s (each provider needs its own, failover tells them apart by it)"),
            ));
        }
        let signs = kind == Some(ProviderKind::Bedrock)
            || config.providers.get(name).and_then(|p| p.get("aws")).is_some();
        upstreams.push(Upstream { cluster, provider: Some(name.clone()), endpoint, signs });
    }
    Ok(upstreams)
}

fn failover_clusters(router: &Object, names: &[Option<String>]) -> Vec<FailoverCluster> {
    let providers = router.get("providers").and_then(Value::as_object);
    let cluster_of = |provider: &str| {
        providers
            .and_then(|p| p.get(provider))
            .and_then(|p| p.get("cluster"))
            .and_then(Value::as_str)
            .unwrap_or(provider)
            .to_owned()
    };
    let routes = router.get("routes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut out: Vec<FailoverCluster> = Vec::new();
    for (route, name) in routes.iter().zip(names) {
        let Some(name) = name else { continue };
        if out.iter().any(|f| &f.name == name) {
            continue;
        }
        let fallbacks =
            route.get("fallbacks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let first = route.get("provider").and_then(Value::as_str);
        let clusters: Vec<String> = first
            .into_iter()
            .chain(fallbacks.iter().filter_map(|f| f.get("provider").and_then(Value::as_str)))
            .map(cluster_of)
            .collect();
        out.push(FailoverCluster { name: name.clone(), retries: fallbacks.len(), clusters });
    }
    out
}

/// Every variable a filter config names, in order, once: the variables its VM must be given.
/// A field naming one ends in `Env` (`keyEnv`, `authorizationTokenEnv`, …); `aws` keys from the
/// environment default to AWS's own variable names.
fn key_variables(config: &Value) -> Vec<String> {
    fn push(out: &mut Vec<String>, name: &str) {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(name) if k.ends_with("Env") => push(out, name),
                        Value::Object(aws) if k == "aws" && !aws.contains_key("containerCredentials") => {
                            let defaults = [
                                ("accessKeyIdEnv", "AWS_ACCESS_KEY_ID"),
                                ("secretAccessKeyEnv", "AWS_SECRET_ACCESS_KEY"),
                                ("sessionTokenEnv", "AWS_SESSION_TOKEN"),
                            ];
                            for (field, default) in defaults {
                                push(out, aws.get(field).and_then(Value::as_str).unwrap_or(default));
                            }
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, &mut out);
    out
}

/// The upstream credentials filter's config: the same providers, each attempt's key.
pub fn upstream_credentials(credentials: &Object) -> Object {
    let mut out = Object::new();
    out.insert("placement".into(), Value::from("upstream"));
    out.extend(credentials.clone());
    out
}

/// The upstream router's config: it needs nothing but its placement.
pub fn upstream_router() -> Object {
    json!({"placement": "upstream"}).as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn gateway(yaml: &str) -> Result<Gateway, ConfigError> {
        Gateway::from_config(config::parse(yaml)?)
    }

    #[test]
    fn one_provider_declaration_feeds_router_credentials_and_cluster() {
        let g = gateway(
            "providers:\n  openai: {kind: openai, keyEnv: OPENAI_API_KEY, headers: {OpenAI-Organization: org}}\n\
             routes: [{model: 'gpt-*', provider: openai}]",
        )
        .unwrap();
        assert_eq!(g.router["providers"], json!({"openai": {"kind": "openai"}}));
        assert_eq!(
            g.credentials["providers"],
            json!({"openai": {"keyEnv": "OPENAI_API_KEY", "headers": {"OpenAI-Organization": "org"}}})
        );
        assert_eq!(g.upstreams[0].endpoint, Endpoint { tls: true, host: "api.openai.com".into(), port: 443 });
        assert_eq!(g.credential_env, ["OPENAI_API_KEY"]);
    }

    #[test]
    fn a_self_hosted_kind_takes_its_host_from_the_endpoint() {
        let g = gateway("providers: {local: {kind: vllm, endpoint: 'http://vllm.internal:8000', keyEnv: K}}")
            .unwrap();
        assert_eq!(g.router["providers"]["local"]["host"], "vllm.internal");
        assert!(!g.upstreams[0].endpoint.tls);
        let err = gateway("providers: {az: {kind: azure, keyEnv: K}}").unwrap_err();
        // The router says so first: `host` (or an endpoint with a host name) is required.
        assert_eq!(err.path, "providers.az.host");
    }

    #[test]
    fn fallbacks_get_an_aggregate_cluster_in_order() {
        let g = gateway(
            "providers: {a: {kind: openai, keyEnv: A}, b: {kind: anthropic, keyEnv: B}, c: {kind: gemini, cluster: gem, keyEnv: C}}\n\
             routes: [{model: resilient, provider: a, fallbacks: [{provider: b, model: m}, {provider: c, model: n}]}]",
        )
        .unwrap();
        assert_eq!(g.router["routes"][0]["failoverCluster"], "failover-resilient");
        let f = &g.failovers[0];
        assert_eq!((f.name.as_str(), f.retries), ("failover-resilient", 2));
        assert_eq!(f.clusters, ["a", "b", "gem"]);
    }

    #[test]
    fn bad_endpoints_and_shared_clusters_are_refused_with_their_path() {
        for url in ["ftp://x", "https://x/v1", "http://x:0", "http://a b", "https://"] {
            let err = gateway(&format!("providers: {{a: {{kind: openai, keyEnv: A, endpoint: '{url}'}}}}"))
                .unwrap_err();
            assert_eq!(err.path, "providers.a.endpoint", "{url}");
        }
        let err =
            gateway("providers: {a: {kind: openai, keyEnv: A}, b: {kind: openai, cluster: a, keyEnv: B}}")
                .unwrap_err();
        assert_eq!(err.path, "providers.b.cluster");
        let err =
            gateway("providers: {}\nservices: {store: {endpoint: 'http://x:1', tls: true}}").unwrap_err();
        assert_eq!(err.path, "services.store");
    }

    #[test]
    fn the_filters_own_errors_come_through() {
        let err = gateway("providers: {a: {kind: openai, keyEnv: 'sk-live'}}").unwrap_err();
        assert_eq!(err.path, "providers.a.keyEnv");
        let err = gateway("providers: {a: {kind: openai, keyEnv: A}}\nroutes: [{model: x, provider: z}]")
            .unwrap_err();
        assert_eq!(err.path, "routes[0].provider");
    }

    #[test]
    fn durations_are_envoys() {
        assert!(is_duration("60s") && is_duration("0.5s"));
        for bad in ["60", "s", "1.s", "-1s", "1m", ".5s"] {
            assert!(!is_duration(bad), "{bad}");
        }
        let err = gateway("providers: {}\nfailover: {perTryIdleTimeout: 60}").unwrap_err();
        assert_eq!(err.path, "failover.perTryIdleTimeout");
    }

    #[test]
    fn a_cloud_identity_is_the_credentials_filters_and_its_endpoint_a_service() {
        let g = gateway(
            "providers:\n  vertex: {kind: vertex, host: us-central1-aiplatform.googleapis.com, project: p, location: us-central1,\n\
             \x20          identity: {gcpMetadata: {cluster: gcp-metadata}}}\n\
             services: {gcp-metadata: {endpoint: 'http://metadata.google.internal:80'}}",
        )
        .unwrap();
        assert_eq!(
            g.credentials["providers"]["vertex"],
            json!({"identity": {"gcpMetadata": {"cluster": "gcp-metadata"}}})
        );
        assert!(g.router["providers"]["vertex"].get("identity").is_none());
        assert!(g.credential_env.is_empty(), "no key variable");
        let service = g.upstreams.iter().find(|u| u.cluster == "gcp-metadata").unwrap();
        assert_eq!(
            (service.endpoint.host.as_str(), service.endpoint.port, service.endpoint.tls),
            ("metadata.google.internal", 80, false)
        );
    }

    #[test]
    fn key_variables_come_from_providers_and_tenants() {
        let v = json!({"providers": {"a": {"keyEnv": "A"}, "b": {"keys": [{"keyEnv": "B1"}, {"keyEnv": "A"}]}},
                       "tenants": [{"credentials": {"a": {"keyEnv": "T"}}}]});
        assert_eq!(key_variables(&v), ["A", "B1", "T"]);
        let aws = json!({"providers": {"b": {"aws": {}}, "c": {"aws": {"containerCredentials":
            {"cluster": "ecs", "path": "/v1/credentials", "authorizationTokenEnv": "POD_TOKEN"}}}}});
        assert_eq!(
            key_variables(&aws),
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "POD_TOKEN"]
        );
    }
}
