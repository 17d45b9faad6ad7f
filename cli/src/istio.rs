//! `render istio`: the gateway config as Istio resources for an ingress gateway.
//!
//! - credentials, prompt and usage are WasmPlugins (same phase; priority gives the order);
//! - the router is an EnvoyFilter (EXTENSION_CONFIG + HTTP_FILTER before credentials) because a
//!   WasmPlugin cannot set `allow_on_headers_stop_iteration`, which the router needs (the model
//!   is in the body);
//! - providers are a ServiceEntry with TLS origination by DestinationRule, reached through a
//!   VirtualService that matches the router's cluster header;
//! - failover is an EnvoyFilter: provider clusters whose endpoints say which provider they are
//!   (a ServiceEntry's cannot), the aggregate cluster with the per-attempt filters, and the
//!   retry policy merged into the VirtualService's failover route;
//! - the stats tags are a BOOTSTRAP EnvoyFilter.

use crate::envoy::{self, put, CLUSTER_HEADER, NOT_FOUND, WASM_TYPE};
use crate::gateway::{FailoverCluster, Gateway, Upstream};
use crate::output::Manifest;
use crate::stats;
use portcullis_core::common::config::ConfigError;
use serde_json::{json, Value};

const ROUTE_TIMEOUT: &str = "600s";

pub fn render(g: &Gateway) -> Result<Vec<Manifest>, ConfigError> {
    let providers: Vec<&Upstream> = g.upstreams.iter().filter(|u| u.provider.is_some()).collect();
    if let Some(u) = providers.iter().find(|u| u.endpoint.is_ip()) {
        return Err(ConfigError::new(
            format!("providers.{}.endpoint", u.provider.as_deref().unwrap_or_default()),
            "Istio reaches providers through a ServiceEntry, which needs a host name, not an IP address",
        ));
    }
    let mut out = vec![
        Manifest {
            file: "providers.yaml",
            about: PROVIDERS_ABOUT.into(),
            documents: provider_resources(g, &providers),
        },
        wasm_plugin(g, "credentials", 30, &g.credentials, &g.credential_env, &credentials_about(g)),
        wasm_plugin(
            g,
            "prompt",
            20,
            &g.prompt,
            &g.prompt_env,
            "Templates, decorators, guardrails and retrieval.",
        ),
        wasm_plugin(g, "usage", 10, &g.usage, &[], "Usage, cost, metrics, limits and budgets."),
        Manifest {
            file: "portcullis-router.envoyfilter.yaml",
            about: ROUTER_ABOUT.into(),
            documents: vec![router_filter(g)],
        },
        Manifest {
            file: "stats.envoyfilter.yaml",
            about: STATS_ABOUT.into(),
            documents: vec![stats_filter(g)],
        },
    ];
    if providers.iter().any(|u| u.signs) {
        out.push(Manifest {
            file: "portcullis-signing.envoyfilter.yaml",
            about: SIGNING_ABOUT.replace("{modules}", &g.config.istio.modules),
            documents: vec![signing_filter(g, &providers)],
        });
    }
    if !g.failovers.is_empty() {
        out.push(Manifest {
            file: "portcullis-failover.envoyfilter.yaml",
            about: FAILOVER_ABOUT.replace("{modules}", &g.config.istio.modules),
            documents: vec![failover_filter(g, &providers)],
        });
    }
    Ok(out)
}

/// Gives a Portcullis filter its role in `root_id`, as Istio does for a WasmPlugin
/// (`pluginName`): the role picks the filter inside the suite module, which an Istio install
/// may use instead of the four (one image, one VM).
fn set_role(filter: &mut Value, role: &str) {
    if let Some(plugin) = filter.pointer_mut("/typed_config/config").and_then(Value::as_object_mut) {
        let rest = std::mem::take(plugin);
        let name = rest.get("name").cloned().unwrap_or_default();
        plugin.insert("name".into(), name);
        plugin.insert("root_id".into(), Value::from(role));
        plugin.extend(rest.into_iter().filter(|(k, _)| k != "name"));
    }
}

fn metadata(g: &Gateway, name: &str) -> Value {
    json!({"name": name, "namespace": g.config.istio.namespace})
}

fn selector(g: &Gateway) -> Value {
    Value::Object(g.config.istio.selector.clone())
}

fn image(g: &Gateway, filter: &str) -> String {
    format!("{}/{filter}:{}", g.config.istio.images.trim_end_matches('/'), g.config.istio.version)
}

const PROVIDERS_ABOUT: &str = "Provider hosts, TLS origination, and routing on the router's cluster header.

The router sets `x-portcullis-cluster` to the provider's cluster name and clears the route cache;
the VirtualService then matches that header. The Gateway listens on plain HTTP here; terminate
TLS on it as usual.";

fn provider_resources(g: &Gateway, providers: &[&Upstream]) -> Vec<Value> {
    let mut docs = Vec::new();
    // One ServiceEntry per port and protocol the providers are reached on.
    let mut groups: Vec<(u16, bool, Vec<String>)> = Vec::new();
    for u in providers {
        let e = &u.endpoint;
        match groups.iter_mut().find(|(port, tls, _)| *port == e.port && *tls == e.tls) {
            Some((_, _, hosts)) if !hosts.contains(&e.host) => hosts.push(e.host.clone()),
            Some(_) => {}
            None => groups.push((e.port, e.tls, vec![e.host.clone()])),
        }
    }
    let single = groups.len() == 1;
    for (port, tls, hosts) in &groups {
        let name = if single { "llm-providers".to_owned() } else { format!("llm-providers-{port}") };
        let (port_name, protocol) = if *tls { ("https", "HTTPS") } else { ("http", "HTTP") };
        docs.push(json!({
            "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": metadata(g, &name),
            "spec": {"hosts": hosts, "location": "MESH_EXTERNAL", "resolution": "DNS",
                     "ports": [{"number": port, "name": format!("{port_name}-{port}"), "protocol": protocol}]},
        }));
    }
    for u in providers.iter().filter(|u| u.endpoint.tls) {
        docs.push(json!({
            "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": metadata(g, &format!("{}-tls", u.cluster)),
            "spec": {"host": u.endpoint.host, "trafficPolicy": {"tls": {"mode": "SIMPLE", "sni": u.endpoint.host}}},
        }));
    }
    docs.push(json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": metadata(g, "llm-gateway"),
        "spec": {"selector": selector(g),
                 "servers": [{"port": {"number": g.config.istio.port, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]},
    }));
    let destination = |cluster: &str| {
        let u = providers.iter().find(|u| u.cluster == cluster);
        u.map(|u| json!([{"destination": {"host": u.endpoint.host, "port": {"number": u.endpoint.port}}}]))
    };
    let remove = json!({"request": {"remove": [CLUSTER_HEADER]}});
    let mut http: Vec<Value> = Vec::new();
    // Failover routes: the patch in the failover EnvoyFilter gives each the aggregate cluster
    // and the retry policy; the destination is a placeholder it replaces (a VirtualService cannot
    // name a cluster); `retries: {attempts: 0}` keeps Istio's default retries out.
    for f in &g.failovers {
        let Some(route) = f.clusters.first().and_then(|c| destination(c)) else { continue };
        http.push(json!({
            "name": f.name, "match": [{"headers": {CLUSTER_HEADER: {"exact": f.name}}}], "headers": remove,
            "route": route, "retries": {"attempts": 0}, "timeout": ROUTE_TIMEOUT,
        }));
    }
    for u in providers {
        let Some(route) = destination(&u.cluster) else { continue };
        http.push(json!({
            "name": u.cluster, "match": [{"headers": {CLUSTER_HEADER: {"exact": u.cluster}}}], "headers": remove,
            "route": route, "timeout": ROUTE_TIMEOUT,
        }));
    }
    http.push(
        json!({"name": "not-an-llm-call", "directResponse": {"status": 404, "body": {"string": NOT_FOUND}}}),
    );
    docs.push(json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": metadata(g, "llm-routes"),
        "spec": {"hosts": ["*"], "gateways": ["llm-gateway"], "http": http},
    }));
    docs
}

/// The Secret the keys live in and how it reaches the plugin: the commands name every variable
/// the config uses; the values stay out of every file.
fn credentials_about(g: &Gateway) -> String {
    let mut vars: Vec<&String> = g.credential_env.iter().collect();
    vars.extend(g.prompt_env.iter().filter(|v| !g.credential_env.contains(v)));
    let mut text = String::from(
        "Credentials: strips client credentials and injects the provider's key. Keys come from the\n\
         gateway pod's environment, passed to the VM with `valueFrom: HOST`; they never appear in\n\
         this resource. Keep them in a Secret and give it to the gateway Deployment as environment:\n",
    );
    let ns = &g.config.istio.namespace;
    text.push_str(&format!("  kubectl -n {ns} create secret generic portcullis-provider-keys"));
    for v in vars {
        text.push_str(&format!(" \\\n      --from-literal={v}=…"));
    }
    text.push_str(&format!(
        "\n  kubectl -n {ns} set env deployment/istio-ingressgateway --from=secret/portcullis-provider-keys"
    ));
    text
}

fn wasm_plugin(
    g: &Gateway,
    filter: &'static str,
    priority: u32,
    config: &crate::config::Object,
    env: &[String],
    about: &str,
) -> Manifest {
    let name = format!("portcullis-{filter}");
    let mut spec = json!({
        "selector": {"matchLabels": selector(g)},
        "url": image(g, filter),
        "pluginName": format!("portcullis.{filter}"),
        // Same phase for the three WasmPlugins; higher priority runs first.
        "phase": "STATS",
        "priority": priority,
        "failStrategy": "FAIL_RELOAD",
        "type": "HTTP",
    });
    if !env.is_empty() {
        let env: Vec<Value> = env.iter().map(|name| json!({"name": name, "valueFrom": "HOST"})).collect();
        put(&mut spec, "vmConfig", json!({"env": env}));
    }
    put(&mut spec, "pluginConfig", Value::Object(config.clone()));
    let file = match filter {
        "credentials" => "portcullis-credentials.wasmplugin.yaml",
        "prompt" => "portcullis-prompt.wasmplugin.yaml",
        _ => "portcullis-usage.wasmplugin.yaml",
    };
    Manifest {
        file,
        about: about.to_owned(),
        documents: vec![json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin",
                               "metadata": metadata(g, &name), "spec": spec})],
    }
}

const ROUTER_ABOUT: &str = "The router under Istio.

The router reads the model from the request body, so Envoy must hold the headers until the body
has arrived: the Wasm plugin config needs `allow_on_headers_stop_iteration: true`. Istio's
WasmPlugin API cannot set that field, so the router is installed with an EnvoyFilter instead:
  1. EXTENSION_CONFIG defines the filter config (delivered to the gateway by ECDS; istio-agent
     fetches the oci:// module and rewrites it to a local file, as it does for WasmPlugins);
  2. HTTP_FILTER inserts a reference to it just before the first Portcullis WasmPlugin
     (credentials), so the chain is router → credentials → prompt → usage, after Istio's own
     authn/authz filters.";

fn router_filter(g: &Gateway) -> Value {
    let ns = &g.config.istio.namespace;
    let name = format!("{ns}.portcullis-router");
    let code = json!({"remote": {"http_uri": {"uri": image(g, "router"), "cluster": "", "timeout": "30s"}}});
    // Named as Istio names a WasmPlugin's filter: `<namespace>.<name>`.
    let mut filter = envoy::wasm_filter(&name, code, &g.router, None, true);
    set_role(&mut filter, "portcullis.router");
    let typed_config = filter.get("typed_config").cloned().unwrap_or_default();
    json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": metadata(g, "portcullis-router"),
        "spec": {
            "workloadSelector": {"labels": selector(g)},
            "configPatches": [
                {"applyTo": "EXTENSION_CONFIG", "match": {"context": "GATEWAY"},
                 "patch": {"operation": "ADD", "value": {"name": name, "typed_config": typed_config}}},
                {"applyTo": "HTTP_FILTER",
                 "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {
                     "name": "envoy.filters.network.http_connection_manager",
                     "subFilter": {"name": format!("{ns}.portcullis-credentials")}}}}},
                 "patch": {"operation": "INSERT_BEFORE", "value": {
                     "name": name,
                     "config_discovery": {"config_source": {"ads": {}}, "type_urls": [WASM_TYPE]}}}},
            ],
        },
    })
}

const STATS_ABOUT: &str =
    "Metrics under Istio. Portcullis metrics carry labels in their names (`name;key=value`); the
gateway's bootstrap needs the tag regexes that turn them into Prometheus labels, and Istio's
stats inclusion list must let the `wasmcustom.` metrics through. Annotate the gateway pods with:
  proxy.istio.io/config: |
    proxyStatsMatcher:
      inclusionPrefixes: [\"wasmcustom.portcullis_\", \"wasmcustom.gen_ai_\"]";

fn stats_filter(g: &Gateway) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": metadata(g, "portcullis-stats-tags"),
        "spec": {"workloadSelector": {"labels": selector(g)},
                 "configPatches": [{"applyTo": "BOOTSTRAP",
                                    "patch": {"operation": "MERGE", "value": {"stats_config": stats::stats_config()}}}]},
    })
}

const FAILOVER_ABOUT: &str = "Cross-provider failover under Istio, as patches to what Istio generates:
  1. the providers once more as clusters of our own (CLUSTER ADD), because each endpoint must say
     which provider it is (`filter_metadata.portcullis.provider`) and a ServiceEntry's endpoints
     cannot carry that: TLS to the real host, SNI;
  2. the aggregate clusters over them (CLUSTER ADD), with the router and credentials filters as
     their *upstream* filters: once per attempt they re-translate the request for the provider
     Envoy picked and put that provider's key on it;
  3. each failover route of the VirtualService (providers.yaml) takes its cluster from the
     router's header and gets the retry policy Envoy fails over with (HTTP_ROUTE MERGE): 429,
     5xx, reset, refused connection, nothing for `per_try_idle_timeout` before the first byte —
     streams included;
  4. the gateway's virtual host reports the attempt count (VIRTUAL_HOST MERGE), which the router
     turns into `x-portcullis-attempts`.
The upstream filters load their modules from files: Istio hands OCI modules only to filters it
configures through ECDS, and an upstream filter with `config_discovery` crashes Envoy 1.36–1.40
(a static cluster does). Mount the two .wasm files into the gateway pod at {modules}
(e.g. the gateway chart's `volumes`/`volumeMounts` with an image volume or an init container
copying them from the filter images). Keys reach the upstream credentials filter like the
WasmPlugin's: from the pod's environment.";

fn own(cluster: &str) -> String {
    format!("portcullis-{cluster}")
}

fn cluster_patch(value: Value) -> Value {
    json!({"applyTo": "CLUSTER", "match": {"context": "GATEWAY"}, "patch": {"operation": "ADD", "value": value}})
}

/// A module file mounted into the gateway pod.
fn pod_module(g: &Gateway, filter: &str) -> Value {
    let modules = g.config.istio.modules.trim_end_matches('/');
    json!({"local": {"filename": format!("{modules}/portcullis_{filter}.wasm")}})
}

/// A provider as a cluster of our own: its endpoint names the provider; a Bedrock or signing
/// provider's also runs the router and credentials filters upstream.
fn own_cluster(g: &Gateway, u: &Upstream) -> Value {
    let copy = Upstream {
        cluster: own(&u.cluster),
        provider: u.provider.clone(),
        endpoint: u.endpoint.clone(),
        signs: false,
    };
    let mut cluster = envoy::cluster(&copy, g.config.listener.buffer_limit_bytes);
    if u.signs {
        let mut options = envoy::signing_filters(g, &pod_module(g, "router"), &pod_module(g, "credentials"));
        let filters = options
            .pointer_mut("/envoy.extensions.upstreams.http.v3.HttpProtocolOptions/http_filters")
            .and_then(Value::as_array_mut);
        for (filter, role) in
            filters.into_iter().flatten().zip(["portcullis.router", "portcullis.credentials"])
        {
            set_role(filter, role);
        }
        put(&mut cluster, "typed_extension_protocol_options", options);
    }
    cluster
}

const SIGNING_ABOUT: &str =
    "Bedrock (and any provider whose requests are signed) under Istio: the provider as a cluster of
our own (CLUSTER ADD, TLS to the real host) whose upstream filters are the router — a
ConverseStream answer's binary event stream becomes SSE before any other filter reads it — and
the credentials filter, which holds the request until its body is complete and signs it (SigV4)
after every filter that may still rewrite it; the VirtualService route of the provider is sent
to that cluster (HTTP_ROUTE MERGE). Like failover's, these upstream filters load their modules
from files mounted into the gateway pod at {modules}. AWS credentials reach the filter
from the pod's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).";

fn signing_filter(g: &Gateway, providers: &[&Upstream]) -> Value {
    let mut patches = Vec::new();
    let in_failover = |u: &Upstream| g.failovers.iter().any(|f| f.clusters.contains(&u.cluster));
    for u in providers.iter().filter(|u| u.signs) {
        // A provider in a failover chain already has its own cluster (the failover EnvoyFilter).
        if !in_failover(u) {
            patches.push(cluster_patch(own_cluster(g, u)));
        }
        patches.push(json!({
            "applyTo": "HTTP_ROUTE",
            "match": {"context": "GATEWAY", "routeConfiguration": {"vhost": {"route": {"name": u.cluster}}}},
            "patch": {"operation": "MERGE", "value": {"route": {"cluster": own(&u.cluster)}}},
        }));
    }
    json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": metadata(g, "portcullis-signing"),
        "spec": {"workloadSelector": {"labels": selector(g)}, "configPatches": patches},
    })
}

fn failover_filter(g: &Gateway, providers: &[&Upstream]) -> Value {
    let mut patches = Vec::new();
    let used = |u: &&&Upstream| g.failovers.iter().any(|f| f.clusters.contains(&u.cluster));
    for u in providers.iter().filter(used) {
        patches.push(cluster_patch(own_cluster(g, u)));
    }
    let code = |filter: &str| pod_module(g, filter);
    for f in &g.failovers {
        let renamed = FailoverCluster {
            name: f.name.clone(),
            clusters: f.clusters.iter().map(|c| own(c)).collect(),
            retries: f.retries,
        };
        let mut aggregate = envoy::aggregate_cluster(g, &renamed, &code("router"), &code("credentials"));
        let filters = aggregate
            .pointer_mut("/typed_extension_protocol_options/envoy.extensions.upstreams.http.v3.HttpProtocolOptions/http_filters")
            .and_then(Value::as_array_mut);
        for (filter, role) in
            filters.into_iter().flatten().zip(["portcullis.router", "portcullis.credentials"])
        {
            set_role(filter, role);
        }
        patches.push(cluster_patch(aggregate));
    }
    for f in &g.failovers {
        patches.push(json!({
            "applyTo": "HTTP_ROUTE",
            "match": {"context": "GATEWAY", "routeConfiguration": {"vhost": {"route": {"name": f.name}}}},
            "patch": {"operation": "MERGE",
                      "value": {"route": {"cluster_header": CLUSTER_HEADER, "retry_policy": envoy::retry_policy(g, f)}}},
        }));
    }
    patches.push(json!({"applyTo": "VIRTUAL_HOST", "match": {"context": "GATEWAY"},
                        "patch": {"operation": "MERGE", "value": {"include_attempt_count_in_response": true}}}));
    json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": metadata(g, "portcullis-failover"),
        "spec": {"workloadSelector": {"labels": selector(g)}, "configPatches": patches},
    })
}
