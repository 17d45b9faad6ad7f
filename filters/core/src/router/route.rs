//! The route table: which provider serves a model, and under what name.
//!
//! Config is parsed once and compiled into a [`RouteTable`] in `on_configure`; a request only
//! looks up its model. Exact names (including aliases) are a hash lookup; wildcard patterns are
//! tried in config order after that, so `gpt-4o` can be pinned while `gpt-*` catches the rest.

use crate::common::config::ConfigError;
pub use crate::common::config::Placement;
use crate::common::glob::glob_match;
use crate::llm::model_name;
use crate::llm::provider::{Endpoint, ProviderKind, Settings, AZURE_DEFAULT_API_VERSION};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The header the router sets to pick the Envoy cluster (`route.cluster_header`). Always
/// overwritten by the router, never trusted from a client.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-portcullis-cluster";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterConfig {
    /// Where this instance runs: in the listener's filter chain (`downstream`, the default), or
    /// on a failover aggregate cluster as an upstream filter (`upstream`), where it applies the
    /// downstream router's plan once per attempt and needs no other config.
    #[serde(default)]
    pub placement: Placement,
    /// Providers by name. The name is what other filters and metrics see.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    #[serde(default = "default_cluster_header")]
    pub cluster_header: String,
    /// A header naming the provider to use, set by something the operator trusts (an authn
    /// filter, an internal caller). Off unless configured: a client could otherwise pick any
    /// provider. The router removes it before the request leaves.
    #[serde(default)]
    pub override_header: Option<String>,
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
    /// Bedrock: the AWS region (`us-east-1`): the host is `bedrock-runtime.<region>.amazonaws.com`.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// OpenAI-style family: ask streams for their usage (`stream_options.include_usage`).
    /// Default: what the kind is known to accept ([`ProviderKind::asks_stream_usage`]).
    #[serde(default)]
    pub stream_usage: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteConfig {
    /// Model name the client sends: exact (`gpt-4o`, or an alias such as `fast`) or a pattern
    /// with `*` wildcards (`claude-*`).
    pub model: String,
    /// Name of a provider in `providers` (a single target). Either this or `targets`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Model name sent upstream; defaults to the client's.
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Weighted split: each request goes to one target, chosen deterministically from its
    /// request id.
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// Ordered failover after the first target: tried when a provider answers 429/5xx, refuses
    /// the connection or times out before the first byte. Needs `failoverCluster`.
    #[serde(default)]
    pub fallbacks: Vec<TargetConfig>,
    /// The Envoy aggregate cluster whose children are the providers in failover order, with a
    /// retry policy on its route (see envoy-configs/gateway-failover.yaml).
    #[serde(default)]
    pub failover_cluster: Option<String>,
    /// Route name for logs and filter state; defaults to `model`.
    #[serde(default)]
    pub name: Option<String>,
    /// For a `*` route: the concrete model names it serves. They are listed by `GET /v1/models`
    /// and labelled by name in metrics; other names the pattern matches still route, but are
    /// labelled `other` (a client must not be able to create metric series at will).
    #[serde(default)]
    pub models: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetConfig {
    pub provider: String,
    /// Model name sent to this provider; defaults to the route's `upstreamModel`, then the
    /// client's.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// A provider, ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub cluster: String,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone)]
struct Target {
    provider: usize,
    model: Option<String>,
    weight: u32,
}

#[derive(Debug, Clone)]
struct Route {
    name: String,
    pattern: String,
    /// Weighted choices; one entry for a plain route.
    targets: Vec<Target>,
    total_weight: u64,
    fallbacks: Vec<Target>,
    failover_cluster: Option<String>,
    /// Concrete names served by a `*` route.
    models: Vec<String>,
}

/// The compiled config of the router.
#[derive(Debug, Clone)]
pub struct RouteTable {
    providers: Vec<Provider>,
    routes: Vec<Route>,
    exact: HashMap<String, usize>,
    wildcard: Vec<usize>,
    pub cluster_header: String,
    pub override_header: Option<String>,
    /// Model names the config names anywhere (routes, aliases' targets, `models` lists): the
    /// only ones that become metric label values.
    known_models: HashSet<String>,
}

/// The metric label of a model name the config does not name.
pub const OTHER_MODEL_LABEL: &str = "other";

/// One provider and the model name it is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<'t> {
    pub provider: &'t Provider,
    pub upstream_model: Cow<'t, str>,
}

/// What the router decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision<'t> {
    pub route: &'t str,
    /// The first (without failover: the only) provider.
    pub primary: Choice<'t>,
    /// Providers to try next, in order, when the primary fails before its first byte.
    pub fallbacks: Vec<Choice<'t>>,
    /// Envoy aggregate cluster that performs the failover; set iff `fallbacks` is not empty.
    pub failover_cluster: Option<&'t str>,
}

impl RouteTable {
    pub fn compile(config: RouterConfig) -> Result<Self, ConfigError> {
        check_header_name("clusterHeader", &config.cluster_header)?;
        if let Some(h) = &config.override_header {
            check_header_name("overrideHeader", h)?;
        }
        let mut index_of = HashMap::new();
        let mut providers = Vec::with_capacity(config.providers.len());
        for (name, p) in config.providers {
            let provider = compile_provider(&name, p)?;
            index_of.insert(name, providers.len());
            providers.push(provider);
        }
        let mut routes = Vec::with_capacity(config.routes.len());
        let mut exact = HashMap::new();
        let mut wildcard = Vec::new();
        for (i, r) in config.routes.into_iter().enumerate() {
            let at = |field: &str| format!("routes[{i}].{field}");
            check_pattern(&at("model"), &r.model)?;
            let route = compile_route(&index_of, i, r)?;
            if route.pattern.contains('*') {
                wildcard.push(i);
            } else if exact.insert(route.pattern.clone(), i).is_some() {
                return Err(ConfigError::new(
                    at("model"),
                    format!("duplicate route for model `{}`", route.pattern),
                ));
            }
            routes.push(route);
        }
        let known_models = known_models(&routes);
        Ok(Self {
            known_models,
            providers,
            routes,
            exact,
            wildcard,
            cluster_header: config.cluster_header,
            override_header: config.override_header,
        })
    }

    /// Routes a client's model name. `None`: no route, the client gets 404. `pick` chooses
    /// among weighted targets (see [`pick_of`]: the same request id always lands on the same
    /// target).
    pub fn resolve<'t>(&'t self, model: &str, pick: u64) -> Option<RouteDecision<'t>> {
        let index = self.exact.get(model).copied().or_else(|| {
            let matches = |i: &usize| self.routes.get(*i).is_some_and(|r| glob_match(&r.pattern, model));
            self.wildcard.iter().copied().find(matches)
        })?;
        let route = self.routes.get(index)?;
        // Indexes were checked when the table was compiled.
        let choice = |t: &'t Target| {
            Some(Choice {
                provider: self.providers.get(t.provider)?,
                upstream_model: match &t.model {
                    Some(m) => Cow::Borrowed(m.as_str()),
                    None => Cow::Owned(model.to_string()),
                },
            })
        };
        let mut ticket = pick.checked_rem(route.total_weight).unwrap_or(0);
        let primary = route
            .targets
            .iter()
            .find(|t| {
                let hit = ticket < u64::from(t.weight);
                ticket = ticket.saturating_sub(u64::from(t.weight));
                hit
            })
            .or(route.targets.first())?;
        Some(RouteDecision {
            route: &route.name,
            primary: choice(primary)?,
            fallbacks: route.fallbacks.iter().map(choice).collect::<Option<Vec<_>>>()?,
            failover_cluster: route.failover_cluster.as_deref(),
        })
    }

    /// The metric label for a model: its name if the config names it, else [`OTHER_MODEL_LABEL`].
    pub fn model_label<'a>(&self, model: &'a str) -> &'a str {
        if self.known_models.contains(model) {
            model
        } else {
            OTHER_MODEL_LABEL
        }
    }

    /// A provider by name (what the trusted override header names).
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Model names a client can ask for by exact name (`GET /v1/models`), in config order,
    /// with the provider that serves each.
    pub fn listed_models(&self) -> impl Iterator<Item = (&str, &Provider)> {
        self.routes.iter().flat_map(|r| {
            let provider = r.targets.first().and_then(|t| self.providers.get(t.provider));
            let names: Vec<&str> = if r.pattern.contains('*') {
                r.models.iter().map(String::as_str).collect()
            } else {
                vec![r.pattern.as_str()]
            };
            names.into_iter().filter_map(move |name| Some((name, provider?)))
        })
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }
}

fn compile_provider(name: &str, p: ProviderConfig) -> Result<Provider, ConfigError> {
    let at = |field: &str| format!("providers.{name}.{field}");
    let region_host = match (&p.region, p.kind) {
        (Some(region), ProviderKind::Bedrock) => {
            if !(region.len() <= 32
                && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
                || region.is_empty()
            {
                return Err(ConfigError::new(at("region"), "an AWS region such as `us-east-1`"));
            }
            Some(format!("bedrock-runtime.{region}.amazonaws.com"))
        }
        (Some(_), kind) => {
            return Err(ConfigError::new(at("region"), format!("not a setting of kind `{}`", kind.as_str())))
        }
        (None, _) => None,
    };
    let host = match (p.host, p.kind.default_host(), region_host) {
        (Some(h), _, _) if !h.is_empty() => h,
        (_, Some(h), _) => h.to_string(),
        (_, _, Some(h)) => h,
        _ if p.kind == ProviderKind::Bedrock => {
            return Err(ConfigError::new(at("region"), "required for kind `bedrock` (or `host`)"))
        }
        _ => return Err(ConfigError::new(at("host"), "required for this provider kind")),
    };
    // A setting another kind uses is a mistake worth reporting, not ignoring.
    let unused = |field: &str, set: bool| {
        if set {
            Err(ConfigError::new(at(field), format!("not a setting of kind `{}`", p.kind.as_str())))
        } else {
            Ok(())
        }
    };
    let settings = match p.kind {
        ProviderKind::Azure => {
            unused("basePath", p.base_path.is_some())?;
            unused("streamUsage", p.stream_usage.is_some())?;
            unused("project", p.project.is_some())?;
            unused("location", p.location.is_some())?;
            Settings::Azure {
                api_version: p.api_version.unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.to_string()),
            }
        }
        ProviderKind::Vertex => {
            unused("basePath", p.base_path.is_some())?;
            unused("streamUsage", p.stream_usage.is_some())?;
            unused("apiVersion", p.api_version.is_some())?;
            match (p.project, p.location) {
                (Some(project), Some(location)) => Settings::Vertex { project, location },
                (None, _) => return Err(ConfigError::new(at("project"), "required for kind `vertex`")),
                (_, None) => return Err(ConfigError::new(at("location"), "required for kind `vertex`")),
            }
        }
        ProviderKind::Bedrock => {
            unused("basePath", p.base_path.is_some())?;
            unused("streamUsage", p.stream_usage.is_some())?;
            unused("apiVersion", p.api_version.is_some())?;
            unused("project", p.project.is_some())?;
            unused("location", p.location.is_some())?;
            // The signing region: configured, else the one in the host (a VPC endpoint or a
            // proxy in front needs `region`).
            let region =
                p.region.clone().or_else(|| host.split('.').nth(1).map(str::to_string)).unwrap_or_default();
            Settings::Bedrock { region }
        }
        ProviderKind::Anthropic | ProviderKind::Gemini => {
            unused("basePath", p.base_path.is_some())?;
            unused("streamUsage", p.stream_usage.is_some())?;
            unused("apiVersion", p.api_version.is_some())?;
            unused("project", p.project.is_some())?;
            unused("location", p.location.is_some())?;
            if p.kind == ProviderKind::Anthropic {
                Settings::Anthropic
            } else {
                Settings::Gemini
            }
        }
        kind @ (ProviderKind::OpenAi
        | ProviderKind::Mistral
        | ProviderKind::Groq
        | ProviderKind::Deepseek
        | ProviderKind::Together
        | ProviderKind::OpenRouter
        | ProviderKind::Vllm
        | ProviderKind::Ollama
        | ProviderKind::OpenAiCompatible) => {
            unused("apiVersion", p.api_version.is_some())?;
            unused("project", p.project.is_some())?;
            unused("location", p.location.is_some())?;
            let base_path = p.base_path.unwrap_or_else(|| kind.default_base_path().to_string());
            if !base_path.is_empty() && !base_path.starts_with('/') {
                return Err(ConfigError::new(at("basePath"), "must start with `/`"));
            }
            Settings::OpenAiStyle {
                kind,
                base_path: base_path.trim_end_matches('/').to_string(),
                stream_usage: p.stream_usage.unwrap_or(kind.asks_stream_usage()),
            }
        }
    };
    Ok(Provider {
        name: name.to_string(),
        cluster: p.cluster.unwrap_or_else(|| name.to_string()),
        endpoint: Endpoint { host, settings },
    })
}

fn compile_route(index_of: &HashMap<String, usize>, i: usize, r: RouteConfig) -> Result<Route, ConfigError> {
    let at = |field: &str| format!("routes[{i}].{field}");
    let target = |path: String, t: TargetConfig| -> Result<Target, ConfigError> {
        let provider = *index_of.get(&t.provider).ok_or_else(|| {
            ConfigError::new(format!("{path}provider"), format!("unknown provider `{}`", t.provider))
        })?;
        if let Some(model) = &t.model {
            check_model(&format!("{path}model"), model)?;
        }
        if t.weight == 0 {
            return Err(ConfigError::new(format!("{path}weight"), "must be at least 1"));
        }
        Ok(Target { provider, model: t.model, weight: t.weight })
    };
    let targets = match (r.provider, r.targets.is_empty()) {
        (Some(provider), true) => {
            vec![target(at(""), TargetConfig { provider, model: None, weight: 1 })?]
        }
        (None, false) => r
            .targets
            .into_iter()
            .enumerate()
            .map(|(j, t)| target(at(&format!("targets[{j}].")), t))
            .collect::<Result<Vec<_>, _>>()?,
        (Some(_), false) => {
            return Err(ConfigError::new(at("targets"), "set `provider` or `targets`, not both"))
        }
        (None, true) => return Err(ConfigError::new(at("provider"), "required (or `targets`)")),
    };
    let fallbacks = r
        .fallbacks
        .into_iter()
        .enumerate()
        .map(|(j, t)| target(at(&format!("fallbacks[{j}].")), t))
        .collect::<Result<Vec<_>, _>>()?;
    match (&r.failover_cluster, fallbacks.is_empty()) {
        (None, false) => return Err(ConfigError::new(at("failoverCluster"), "required with `fallbacks`")),
        (Some(_), true) => return Err(ConfigError::new(at("fallbacks"), "required with `failoverCluster`")),
        // Envoy's aggregate cluster tries its children in a fixed order: a weighted first pick
        // could not be honoured.
        (Some(_), false) if targets.len() > 1 => {
            return Err(ConfigError::new(
                at("targets"),
                "weighted targets cannot be combined with `fallbacks`",
            ))
        }
        _ => {}
    }
    if let Some(model) = &r.upstream_model {
        check_model(&at("upstreamModel"), model)?;
    }
    for (j, model) in r.models.iter().enumerate() {
        check_model(&at(&format!("models[{j}]")), model)?;
        if !r.model.contains('*') {
            return Err(ConfigError::new(
                at("models"),
                "only for a `*` route (an exact route names its model)",
            ));
        }
        if !glob_match(&r.model, model) {
            return Err(ConfigError::new(
                at(&format!("models[{j}]")),
                format!("`{model}` does not match the route's pattern `{}`", r.model),
            ));
        }
    }
    let total_weight = targets.iter().map(|t| u64::from(t.weight)).sum();
    // A route-level upstreamModel applies to the targets that do not name their own.
    let targets = targets
        .into_iter()
        .map(|t| Target { model: t.model.or_else(|| r.upstream_model.clone()), ..t })
        .collect();
    Ok(Route {
        name: r.name.unwrap_or_else(|| r.model.clone()),
        pattern: r.model,
        targets,
        total_weight,
        fallbacks,
        failover_cluster: r.failover_cluster,
        models: r.models,
    })
}

/// A route's model: a valid model name, where `*` may stand for any run of characters.
fn check_pattern(field: &str, pattern: &str) -> Result<(), ConfigError> {
    if pattern.is_empty() {
        return Err(ConfigError::new(field, "must not be empty"));
    }
    let concrete = pattern.replace('*', "x");
    model_name::check(&concrete).map_err(|e| ConfigError::new(field, e.message()))
}

fn check_model(field: &str, model: &str) -> Result<(), ConfigError> {
    model_name::check(model).map_err(|e| ConfigError::new(field, e.message()))
}

/// Every model name the config spells out.
fn known_models(routes: &[Route]) -> HashSet<String> {
    let mut known = HashSet::new();
    for r in routes {
        if !r.pattern.contains('*') {
            known.insert(r.pattern.clone());
        }
        known.extend(r.models.iter().cloned());
        for t in r.targets.iter().chain(&r.fallbacks) {
            known.extend(t.model.iter().cloned());
        }
    }
    known
}

fn check_header_name(field: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.bytes().any(|b| !(b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())) {
        return Err(ConfigError::new(field, "must be a non-empty lower-case header name"));
    }
    Ok(())
}

/// A stable 64-bit hash (FNV-1a) of a request id, for weighted picks: stable across VMs and
/// restarts, unlike std's randomly seeded hasher.
pub fn pick_of(request_id: &str) -> u64 {
    request_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::config;

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
        let d = t.resolve("gpt-4o", 0).unwrap().primary;
        assert_eq!((d.provider.name.as_str(), &*d.upstream_model), ("local", "llama-3"));
        let d = t.resolve("gpt-4.1-mini", 0).unwrap().primary;
        assert_eq!((d.provider.name.as_str(), &*d.upstream_model), ("openai", "gpt-4.1-mini"));
        assert_eq!(d.provider.endpoint.host, "api.openai.com");
        let d = t.resolve("fast", 0).unwrap();
        assert_eq!((d.route, &*d.primary.upstream_model), ("fast-alias", "gpt-4o-mini"));
        let d = t.resolve("claude-sonnet-4-5", 0).unwrap();
        assert_eq!(d.primary.provider.cluster, "anthropic-prod");
        assert!(d.fallbacks.is_empty() && d.failover_cluster.is_none());
        assert!(t.resolve("mistral-large", 0).is_none());
    }

    #[test]
    fn weighted_targets_follow_the_weights_and_are_stable_per_request_id() {
        let t = table(
            r#"{"providers": {"a": {"kind": "openai"}, "b": {"kind": "anthropic"}},
                "routes": [{"model": "smart", "upstreamModel": "default-model", "targets": [
                    {"provider": "a", "weight": 70},
                    {"provider": "b", "model": "claude-sonnet-4-5", "weight": 30}]}]}"#,
        );
        let mut hits_a = 0;
        for i in 0..10_000 {
            let id = format!("req-{i}");
            let d = t.resolve("smart", pick_of(&id)).unwrap().primary;
            assert_eq!(d, t.resolve("smart", pick_of(&id)).unwrap().primary, "deterministic");
            match d.provider.name.as_str() {
                "a" => {
                    hits_a += 1;
                    assert_eq!(d.upstream_model, "default-model");
                }
                _ => assert_eq!(d.upstream_model, "claude-sonnet-4-5"),
            }
        }
        assert!((6_800..=7_200).contains(&hits_a), "{hits_a} of 10000 on a 70% target");
        // Ticket boundaries: 0..70 → a, 70..100 → b.
        assert_eq!(t.resolve("smart", 69).unwrap().primary.provider.name, "a");
        assert_eq!(t.resolve("smart", 70).unwrap().primary.provider.name, "b");
        assert_eq!(t.resolve("smart", 199).unwrap().primary.provider.name, "b");
    }

    #[test]
    fn fallbacks_come_in_order_with_the_failover_cluster() {
        let t = table(
            r#"{"providers": {"a": {"kind": "openai"}, "b": {"kind": "anthropic"}, "c": {"kind": "gemini"}},
                "routes": [{"model": "resilient", "provider": "a", "upstreamModel": "gpt-4o",
                    "fallbacks": [{"provider": "b", "model": "claude-haiku-4-5"},
                                  {"provider": "c", "model": "gemini-2.5-flash"}],
                    "failoverCluster": "resilient"}]}"#,
        );
        let d = t.resolve("resilient", 0).unwrap();
        assert_eq!(d.primary.upstream_model, "gpt-4o");
        let names: Vec<_> =
            d.fallbacks.iter().map(|c| (c.provider.name.as_str(), &*c.upstream_model)).collect();
        assert_eq!(names, [("b", "claude-haiku-4-5"), ("c", "gemini-2.5-flash")]);
        assert_eq!(d.failover_cluster, Some("resilient"));
    }

    #[test]
    fn listed_models_are_the_exact_names() {
        let t = table(CONFIG);
        let names: Vec<_> = t.listed_models().map(|(m, _)| m).collect();
        assert_eq!(names, ["gpt-4o", "fast"]);
    }

    fn bad(json: &str) -> String {
        RouteTable::compile(config::parse(Some(json.as_bytes())).unwrap()).unwrap_err().path
    }

    #[test]
    fn config_errors_name_the_field() {
        assert_eq!(
            bad(r#"{"providers":{"a":{"kind":"openai"}},"routes":[{"model":"x","provider":"b"}]}"#),
            "routes[0].provider"
        );
        assert_eq!(bad(r#"{"providers":{"az":{"kind":"azure"}}}"#), "providers.az.host");
        // Each kind takes its own settings only.
        assert_eq!(
            bad(r#"{"providers":{"o":{"kind":"openai","apiVersion":"2024-10-21"}}}"#),
            "providers.o.apiVersion"
        );
        assert_eq!(
            bad(r#"{"providers":{"a":{"kind":"anthropic","basePath":"/v2"}}}"#),
            "providers.a.basePath"
        );
        assert_eq!(bad(r#"{"providers":{"g":{"kind":"gemini","project":"p"}}}"#), "providers.g.project");
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
        assert_eq!(bad(r#"{"providers":{},"clusterHeader":"X-Bad"}"#), "clusterHeader");
        assert_eq!(bad(r#"{"providers":{},"overrideHeader":""}"#), "overrideHeader");
        let err =
            config::parse::<RouterConfig>(Some(br#"{"providers":{"a":{"kind":"openia"}}}"#)).unwrap_err();
        assert_eq!(err.path, "providers.a.kind");
    }

    #[test]
    fn target_config_errors_name_the_field() {
        let with_routes = |routes: &str| {
            bad(&format!(
                r#"{{"providers":{{"a":{{"kind":"openai"}},"b":{{"kind":"anthropic"}}}},"routes":[{routes}]}}"#
            ))
        };
        assert_eq!(with_routes(r#"{"model":"x"}"#), "routes[0].provider");
        assert_eq!(
            with_routes(r#"{"model":"x","provider":"a","targets":[{"provider":"b"}]}"#),
            "routes[0].targets"
        );
        assert_eq!(
            with_routes(r#"{"model":"x","targets":[{"provider":"a"},{"provider":"z"}]}"#),
            "routes[0].targets[1].provider"
        );
        assert_eq!(
            with_routes(r#"{"model":"x","targets":[{"provider":"a","weight":0}]}"#),
            "routes[0].targets[0].weight"
        );
        assert_eq!(
            with_routes(r#"{"model":"x","provider":"a","fallbacks":[{"provider":"b"}]}"#),
            "routes[0].failoverCluster"
        );
        assert_eq!(
            with_routes(r#"{"model":"x","provider":"a","failoverCluster":"f"}"#),
            "routes[0].fallbacks"
        );
        assert_eq!(
            with_routes(
                r#"{"model":"x","targets":[{"provider":"a"},{"provider":"b"}],"fallbacks":[{"provider":"b"}],"failoverCluster":"f"}"#
            ),
            "routes[0].targets"
        );
    }

    #[test]
    fn bedrock_takes_its_host_from_its_region() {
        let table = table(
            r#"{"providers":{"b":{"kind":"bedrock","region":"eu-west-3"}},"routes":[{"model":"claude","provider":"b","upstreamModel":"anthropic.claude-3-5-haiku-20241022-v1:0"}]}"#,
        );
        let p = &table.providers()[0];
        assert_eq!(p.endpoint.host, "bedrock-runtime.eu-west-3.amazonaws.com");
        assert_eq!(p.endpoint.settings, Settings::Bedrock { region: "eu-west-3".into() });
        for (json, path) in [
            (r#"{"providers":{"b":{"kind":"bedrock"}}}"#, "providers.b.region"),
            (r#"{"providers":{"b":{"kind":"bedrock","region":"EU WEST"}}}"#, "providers.b.region"),
            (r#"{"providers":{"o":{"kind":"openai","region":"us-east-1"}}}"#, "providers.o.region"),
            (
                r#"{"providers":{"b":{"kind":"bedrock","region":"us-east-1","basePath":"/x"}}}"#,
                "providers.b.basePath",
            ),
        ] {
            let err = RouteTable::compile(config::parse(Some(json.as_bytes())).unwrap()).err().unwrap();
            assert_eq!(err.path, path, "{json}");
        }
    }
}
