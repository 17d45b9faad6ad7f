//! The gateway config: the whole gateway in one file, every setting once.
//!
//! The listener, the providers (kind, endpoint, keys) and what the four filters do. A provider is
//! declared once and becomes the router's provider, the credentials filter's key source and an
//! Envoy cluster; a route with `fallbacks` gets its aggregate cluster and retry policy. The
//! sections that belong to one filter (`routes`, `router`, `credentials`, `prompt`, `usage`) are
//! that filter's own plugin config, checked by the filter's own code ([`crate::check`]), so a
//! mistake is reported with the same message and field path the filter would log.

use portcullis_core::common::config::ConfigError;
use serde::Deserialize;
use serde_json::{Map, Value};

pub type Object = Map<String, Value>;

/// Where Envoy reads the `.wasm` files when the config does not say: relative to Envoy's working
/// directory (the repository root for `make run`).
pub const DEFAULT_MODULES: &str = "target/wasm32-wasip1/release";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(default)]
    pub listener: Listener,
    #[serde(default)]
    pub admin: Admin,
    /// Directory of the four `.wasm` files (Envoy bootstrap).
    #[serde(default = "default_modules")]
    pub modules: String,
    /// Provider name → the router's provider fields (`kind`, `host`, …), the credentials
    /// filter's key fields (`keyEnv`, `keys`, `headers`, …) and `endpoint`.
    pub providers: Object,
    /// The router's routes (README, portcullis.router).
    #[serde(default)]
    pub routes: Vec<Value>,
    /// The router's other settings (`clusterHeader`, `overrideHeader`).
    #[serde(default)]
    pub router: Object,
    /// The credentials filter's other settings (`tenants`, `identityHeader`, `requireTenant`).
    #[serde(default)]
    pub credentials: Object,
    /// The prompt filter's config (templates, decorators, policies, bindings).
    #[serde(default)]
    pub prompt: Object,
    /// The usage filter's config (prices, budgets, limits).
    #[serde(default)]
    pub usage: Object,
    /// Other upstreams a filter calls by cluster name (a vector store, a guard webhook).
    #[serde(default)]
    pub services: Map<String, Value>,
    #[serde(default)]
    pub failover: Failover,
    #[serde(default)]
    pub istio: Istio,
}

fn default_modules() -> String {
    DEFAULT_MODULES.to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    #[serde(default = "any_address")]
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Envoy's per-stream buffer for bodies the filters read whole (requests until the model is
    /// known, translated answers); above it a request gets 413, a translated answer 502.
    #[serde(default = "default_buffer")]
    pub buffer_limit_bytes: u64,
}

impl Default for Listener {
    fn default() -> Self {
        Listener { address: any_address(), port: default_port(), buffer_limit_bytes: default_buffer() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Admin {
    #[serde(default = "loopback")]
    pub address: String,
    #[serde(default = "default_admin_port")]
    pub port: u16,
}

impl Default for Admin {
    fn default() -> Self {
        Admin { address: loopback(), port: default_admin_port() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failover {
    /// No first byte from a provider for this long: the next one is tried.
    #[serde(default = "default_idle")]
    pub per_try_idle_timeout: String,
}

impl Default for Failover {
    fn default() -> Self {
        Failover { per_try_idle_timeout: default_idle() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Istio {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Labels of the gateway pods the resources apply to.
    #[serde(default = "default_selector")]
    pub selector: Map<String, Value>,
    /// Where the filter images are (`<images>/<filter>:<version>`).
    #[serde(default = "default_images")]
    pub images: String,
    #[serde(default = "default_version")]
    pub version: String,
    /// Where failover's per-attempt filters read their modules in the gateway pod.
    #[serde(default = "default_pod_modules")]
    pub modules: String,
    /// The Gateway's plain-HTTP port.
    #[serde(default = "default_istio_port")]
    pub port: u16,
}

impl Default for Istio {
    fn default() -> Self {
        Istio {
            namespace: default_namespace(),
            selector: default_selector(),
            images: default_images(),
            version: default_version(),
            modules: default_pod_modules(),
            port: default_istio_port(),
        }
    }
}

fn any_address() -> String {
    "0.0.0.0".to_owned()
}
fn loopback() -> String {
    "127.0.0.1".to_owned()
}
fn default_port() -> u16 {
    10000
}
fn default_admin_port() -> u16 {
    9901
}
fn default_buffer() -> u64 {
    32 * 1024 * 1024
}
fn default_idle() -> String {
    "60s".to_owned()
}
fn default_namespace() -> String {
    "istio-system".to_owned()
}
fn default_selector() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("istio".to_owned(), Value::from("ingressgateway"));
    m
}
fn default_images() -> String {
    "oci://ghcr.io/portcullis".to_owned()
}
fn default_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
fn default_pod_modules() -> String {
    "/var/lib/portcullis".to_owned()
}
fn default_istio_port() -> u16 {
    80
}

/// Parses the YAML (or JSON) text of a gateway config; an error names the field.
pub fn parse(text: &str) -> Result<GatewayConfig, ConfigError> {
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        ConfigError::new(path, err.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_is_left_out() {
        let c = parse("providers: {openai: {kind: openai}}").unwrap();
        assert_eq!((c.listener.address.as_str(), c.listener.port), ("0.0.0.0", 10000));
        assert_eq!(c.admin.port, 9901);
        assert_eq!(c.modules, DEFAULT_MODULES);
        assert_eq!(c.failover.per_try_idle_timeout, "60s");
    }

    #[test]
    fn unknown_fields_are_errors_with_their_path() {
        let err = parse("providers: {}\nlistener: {prot: 1}").unwrap_err();
        assert_eq!(err.path, "listener.prot");
        assert!(err.message.contains("unknown field `prot`"), "{}", err.message);
        let err = parse("providers: {}\nlistener: {port: 70000}").unwrap_err();
        assert_eq!(err.path, "listener.port");
    }

    #[test]
    fn providers_are_required() {
        assert!(parse("routes: []").unwrap_err().message.contains("providers"));
    }
}
