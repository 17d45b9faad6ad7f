//! The route table: which provider serves a model, and under what name.
//!
//! Config is parsed once and compiled into a [`RouteTable`] in `on_configure`; a request only
//! looks up its model. Exact names (including aliases) are a hash lookup; wildcard patterns are
//! tried in config order after that, so `gpt-4o` can be pinned while `gpt-*` catches the rest.

use crate::config::ConfigError;
use crate::provider::{Endpoint, ProviderKind};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The header the router sets to pick the Envoy cluster (`route.cluster_header`). Always
/// overwritten by the router, never trusted from a client.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-portcullis-cluster";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterConfig {
    /// Providers by name. The name is what other filters and metrics see.
    pub providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    #[serde(default = "default_cluster_header")]
    pub cluster_header: String,
}

fn default_cluster_header() -> String {
    DEFAULT_CLUSTER_HEADER.to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Envoy cluster; defaults to the provider's name.
    #[serde(default)]
    pub cluster: Option<String>,
    /// `:authority` sent upstream; defaults to the provider's public host.
    #[serde(default)]
    pub host: Option<String>,
    /// Prefix of OpenAI-style paths (`/v1`, Groq `/openai/v1`).
    #[serde(default)]
    pub base_path: Option<String>,
    /// Azure `api-version`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Vertex AI project and location.
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteConfig {
    /// Model name the client sends: exact (`gpt-4o`, or an alias such as `fast`) or a pattern
    /// with `*` wildcards (`claude-*`).
    pub model: String,
    /// Name of a provider in `providers`.
    pub provider: String,
    /// Model name sent to the provider; defaults to the client's.
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Route name for logs and filter state; defaults to `model`.
    #[serde(default)]
    pub name: Option<String>,
}

/// A provider, ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub cluster: String,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone)]
struct Route {
    name: String,
    pattern: String,
    provider: usize,
    upstream_model: Option<String>,
}

/// The compiled config of the router.
#[derive(Debug, Clone)]
pub struct RouteTable {
    providers: Vec<Provider>,
    routes: Vec<Route>,
    exact: HashMap<String, usize>,
    wildcard: Vec<usize>,
    pub cluster_header: String,
}

/// What the router decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision<'t> {
    pub route: &'t str,
    pub provider: &'t Provider,
    pub upstream_model: Cow<'t, str>,
}

impl RouteTable {
    pub fn compile(config: RouterConfig) -> Result<Self, ConfigError> {
        if config.cluster_header.is_empty()
            || config
                .cluster_header
                .bytes()
                .any(|b| !(b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()))
        {
            return Err(ConfigError::new(
                "clusterHeader",
                "must be a non-empty lower-case header name",
            ));
        }
        let mut index_of = HashMap::new();
        let mut providers = Vec::with_capacity(config.providers.len());
        for (name, p) in config.providers {
            let at = |field: &str| format!("providers.{name}.{field}");
            let host = match (p.host, p.kind.default_host()) {
                (Some(h), _) if !h.is_empty() => h,
                (_, Some(h)) => h.to_string(),
                _ => {
                    return Err(ConfigError::new(
                        at("host"),
                        "required for this provider kind",
                    ))
                }
            };
            if p.kind == crate::provider::ProviderKind::Vertex
                && (p.project.is_none() || p.location.is_none())
            {
                return Err(ConfigError::new(
                    at(if p.project.is_none() {
                        "project"
                    } else {
                        "location"
                    }),
                    "required for kind `vertex`",
                ));
            }
            let base_path = p
                .base_path
                .unwrap_or_else(|| p.kind.default_base_path().to_string());
            if !base_path.is_empty() && !base_path.starts_with('/') {
                return Err(ConfigError::new(at("basePath"), "must start with `/`"));
            }
            index_of.insert(name.clone(), providers.len());
            providers.push(Provider {
                cluster: p.cluster.unwrap_or_else(|| name.clone()),
                endpoint: Endpoint {
                    kind: p.kind,
                    host,
                    base_path: base_path.trim_end_matches('/').to_string(),
                    api_version: p.api_version,
                    project: p.project,
                    location: p.location,
                },
                name,
            });
        }

        let mut routes = Vec::with_capacity(config.routes.len());
        let mut exact = HashMap::new();
        let mut wildcard = Vec::new();
        for (i, r) in config.routes.into_iter().enumerate() {
            let Some(&provider) = index_of.get(&r.provider) else {
                return Err(ConfigError::new(
                    format!("routes[{i}].provider"),
                    format!("unknown provider `{}`", r.provider),
                ));
            };
            if r.model.is_empty() {
                return Err(ConfigError::new(
                    format!("routes[{i}].model"),
                    "must not be empty",
                ));
            }
            if r.model.contains('*') {
                wildcard.push(i);
            } else if exact.insert(r.model.clone(), i).is_some() {
                return Err(ConfigError::new(
                    format!("routes[{i}].model"),
                    format!("duplicate route for model `{}`", r.model),
                ));
            }
            routes.push(Route {
                name: r.name.unwrap_or_else(|| r.model.clone()),
                pattern: r.model,
                provider,
                upstream_model: r.upstream_model,
            });
        }
        Ok(Self {
            providers,
            routes,
            exact,
            wildcard,
            cluster_header: config.cluster_header,
        })
    }

    /// Routes a client's model name. `None`: no route, the client gets 404.
    pub fn resolve<'t>(&'t self, model: &str) -> Option<RouteDecision<'t>> {
        let index = self.exact.get(model).copied().or_else(|| {
            self.wildcard
                .iter()
                .copied()
                .find(|&i| glob_match(&self.routes[i].pattern, model))
        })?;
        let route = &self.routes[index];
        Some(RouteDecision {
            route: &route.name,
            provider: &self.providers[route.provider],
            upstream_model: match &route.upstream_model {
                Some(m) => Cow::Borrowed(m.as_str()),
                None => Cow::Owned(model.to_string()),
            },
        })
    }

    /// Model names a client can ask for by exact name (`GET /v1/models`), in config order,
    /// with the provider that serves each.
    pub fn listed_models(&self) -> impl Iterator<Item = (&str, &Provider)> {
        self.routes
            .iter()
            .filter(|r| !r.pattern.contains('*'))
            .map(|r| (r.pattern.as_str(), &self.providers[r.provider]))
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        // No `*` at all: exact match.
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn table(json: &str) -> RouteTable {
        RouteTable::compile(config::parse(Some(json.as_bytes())).unwrap()).unwrap()
    }

    const CONFIG: &str = r#"{
        "providers": {
            "openai": {"kind": "openai"},
            "claude": {"kind": "anthropic", "cluster": "anthropic-prod"},
            "local": {"kind": "vllm", "host": "vllm.internal:8000"}
        },
        "routes": [
            {"model": "gpt-4o", "provider": "local", "upstreamModel": "llama-3"},
            {"model": "gpt-*", "provider": "openai"},
            {"model": "claude-*", "provider": "claude"},
            {"model": "fast", "provider": "openai", "upstreamModel": "gpt-4o-mini", "name": "fast-alias"}
        ]
    }"#;

    #[test]
    fn exact_beats_wildcard_and_aliases_rename() {
        let t = table(CONFIG);
        let d = t.resolve("gpt-4o").unwrap();
        assert_eq!(
            (d.provider.name.as_str(), &*d.upstream_model),
            ("local", "llama-3")
        );
        let d = t.resolve("gpt-4.1-mini").unwrap();
        assert_eq!(
            (d.provider.name.as_str(), &*d.upstream_model),
            ("openai", "gpt-4.1-mini")
        );
        assert_eq!(d.provider.endpoint.host, "api.openai.com");
        let d = t.resolve("fast").unwrap();
        assert_eq!((d.route, &*d.upstream_model), ("fast-alias", "gpt-4o-mini"));
        let d = t.resolve("claude-sonnet-4-5").unwrap();
        assert_eq!(d.provider.cluster, "anthropic-prod");
        assert!(t.resolve("mistral-large").is_none());
    }

    #[test]
    fn listed_models_are_the_exact_names() {
        let t = table(CONFIG);
        let names: Vec<_> = t.listed_models().map(|(m, _)| m).collect();
        assert_eq!(names, ["gpt-4o", "fast"]);
    }

    #[test]
    fn config_errors_name_the_field() {
        let bad = |json: &str| {
            RouteTable::compile(config::parse(Some(json.as_bytes())).unwrap())
                .unwrap_err()
                .path
        };
        assert_eq!(
            bad(r#"{"providers":{"a":{"kind":"openai"}},"routes":[{"model":"x","provider":"b"}]}"#),
            "routes[0].provider"
        );
        assert_eq!(
            bad(r#"{"providers":{"az":{"kind":"azure"}}}"#),
            "providers.az.host"
        );
        assert_eq!(
            bad(r#"{"providers":{"v":{"kind":"vertex","host":"h","project":"p"}}}"#),
            "providers.v.location"
        );
        assert_eq!(
            bad(
                r#"{"providers":{"a":{"kind":"openai"}},"routes":[{"model":"x","provider":"a"},{"model":"x","provider":"a"}]}"#
            ),
            "routes[1].model"
        );
        assert_eq!(
            bad(r#"{"providers":{},"clusterHeader":"X-Bad"}"#),
            "clusterHeader"
        );
        let err = config::parse::<RouterConfig>(Some(br#"{"providers":{"a":{"kind":"openia"}}}"#))
            .unwrap_err();
        assert_eq!(err.path, "providers.a.kind");
    }

    #[test]
    fn glob() {
        assert!(glob_match("gpt-*", "gpt-4o"));
        assert!(glob_match("gpt-*", "gpt-"));
        assert!(!glob_match("gpt-*", "gp"));
        assert!(glob_match("*-mini", "gpt-4o-mini"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXcYYb"));
        assert!(glob_match("*", ""));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
