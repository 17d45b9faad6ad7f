//! `render envoy`: a complete Envoy bootstrap for a gateway config.
//!
//! The listener runs the four filters in chain order (router → credentials → prompt → usage →
//! Envoy's router), routes on the router's cluster header, answers Envoy's own local replies in
//! the client's API shape and writes the JSON access log with the filters' filter state. Each
//! provider is a cluster (TLS and SNI for an https endpoint); a route with fallbacks gets an
//! aggregate cluster, whose per-attempt router and credentials filters re-translate and re-key
//! each attempt, and a retry policy that fails over on 429, 5xx, reset, refused connection and a
//! first byte that does not come.

use crate::config::Object;
use crate::gateway::{upstream_credentials, upstream_router, FailoverCluster, Gateway, Upstream};
use crate::stats;
use serde_json::{json, Value};

pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
pub const CLUSTER_HEADER: &str = "x-portcullis-cluster";
/// LLM answers take long; streams can idle between tokens.
const ROUTE_TIMEOUT: &str = "600s";
const STREAM_IDLE_TIMEOUT: &str = "300s";

pub fn render(g: &Gateway) -> Value {
    let c = &g.config;
    let mut clusters: Vec<Value> = g
        .upstreams
        .iter()
        .map(|u| {
            let mut cluster = cluster(u, c.listener.buffer_limit_bytes);
            if u.signs {
                put(
                    &mut cluster,
                    "typed_extension_protocol_options",
                    signing_filters(g, &local_module(g, "router"), &local_module(g, "credentials")),
                );
            }
            cluster
        })
        .collect();
    clusters.extend(
        g.failovers
            .iter()
            .map(|f| aggregate_cluster(g, f, &local_module(g, "router"), &local_module(g, "credentials"))),
    );
    json!({
        "node": {"id": "portcullis-gateway", "cluster": "portcullis"},
        "admin": {"address": {"socket_address": {"address": c.admin.address, "port_value": c.admin.port}}},
        "stats_config": stats::stats_config(),
        "static_resources": {
            "listeners": [{
                "name": "llm",
                "per_connection_buffer_limit_bytes": c.listener.buffer_limit_bytes,
                "address": {"socket_address": {"address": c.listener.address, "port_value": c.listener.port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "llm",
                        "stream_idle_timeout": STREAM_IDLE_TIMEOUT,
                        "request_timeout": "0s",
                        "local_reply_config": {"mappers": local_reply_mappers()},
                        "access_log": [access_log()],
                        "route_config": route_config(g),
                        "http_filters": http_filters(g),
                    },
                }]}],
            }],
            "clusters": clusters,
        },
    })
}

fn local_module(g: &Gateway, filter: &str) -> Value {
    json!({"local": {"filename": format!("{}/portcullis_{filter}.wasm", g.config.modules.trim_end_matches('/'))}})
}

fn http_filters(g: &Gateway) -> Vec<Value> {
    let env = |vars: &[String]| (!vars.is_empty()).then(|| vars.to_vec());
    vec![
        // The model is in the body: headers wait for it.
        wasm_filter("portcullis.router", local_module(g, "router"), &g.router, None, true),
        wasm_filter(
            "portcullis.credentials",
            local_module(g, "credentials"),
            &g.credentials,
            env(&g.credential_env),
            false,
        ),
        wasm_filter("portcullis.prompt", local_module(g, "prompt"), &g.prompt, env(&g.prompt_env), false),
        wasm_filter("portcullis.usage", local_module(g, "usage"), &g.usage, None, false),
        json!({"name": "envoy.filters.http.router",
               "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}),
    ]
}

/// A Portcullis filter: its module, its config as JSON. A trapped VM is replaced (FAIL_RELOAD)
/// rather than leaving the filter silently off. Only the name is set: a filter's own module has
/// one role whatever the `root_id`, Envoy shares a VM between plugins of the same code and
/// `vm_config` without a `vm_id`, and Envoy prefixes each log line with name, `root_id` and
/// `vm_id` — so a line reads `wasm log portcullis.router: …`, the name once.
pub fn wasm_filter(
    name: &str,
    code: Value,
    config: &Object,
    env: Option<Vec<String>>,
    hold_headers: bool,
) -> Value {
    let mut vm = json!({"runtime": "envoy.wasm.runtime.v8", "code": code});
    if let Some(vars) = env {
        put(&mut vm, "environment_variables", json!({"host_env_keys": vars}));
    }
    let mut plugin = json!({"name": name});
    if hold_headers {
        put(&mut plugin, "allow_on_headers_stop_iteration", Value::Bool(true));
    }
    put(&mut plugin, "failure_policy", Value::from("FAIL_RELOAD"));
    put(&mut plugin, "vm_config", vm);
    put(
        &mut plugin,
        "configuration",
        json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": plugin_json(config)}),
    );
    json!({"name": name, "typed_config": {"@type": WASM_TYPE, "config": plugin}})
}

/// A plugin config as the filter reads it, laid out for a reader: one line when short, else
/// one line per top-level field and per entry of a top-level map or list.
pub fn plugin_json(config: &Object) -> String {
    let compact = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let line = compact(&Value::Object(config.clone()));
    if line.len() <= 80 {
        return line;
    }
    let entries: Vec<String> = config
        .iter()
        .map(|(key, value)| {
            let key = compact(&Value::from(key.as_str()));
            let inner: Option<(Vec<String>, char, char)> = match value {
                Value::Object(map) if !map.is_empty() => Some((
                    map.iter()
                        .map(|(k, v)| format!("{}: {}", compact(&Value::from(k.as_str())), compact(v)))
                        .collect(),
                    '{',
                    '}',
                )),
                Value::Array(items) if !items.is_empty() => {
                    Some((items.iter().map(compact).collect(), '[', ']'))
                }
                _ => None,
            };
            match inner {
                Some((items, open, close)) => {
                    format!("  {key}: {open}\n    {}\n  {close}", items.join(",\n    "))
                }
                None => format!("  {key}: {}", compact(value)),
            }
        })
        .collect();
    format!("{{\n{}\n}}\n", entries.join(",\n"))
}

fn route_config(g: &Gateway) -> Value {
    let mut routes: Vec<Value> = g
        .failovers
        .iter()
        .map(|f| {
            json!({
                "match": {"prefix": "/", "headers": [{"name": CLUSTER_HEADER, "string_match": {"exact": f.name}}]},
                "route": {"cluster": f.name, "timeout": ROUTE_TIMEOUT, "retry_policy": retry_policy(g, f)},
                "request_headers_to_remove": [CLUSTER_HEADER],
            })
        })
        .collect();
    // The router sets the cluster header (and removes any copy a client sent).
    routes.push(json!({
        "match": {"prefix": "/", "headers": [{"name": CLUSTER_HEADER, "present_match": true}]},
        "route": {"cluster_header": CLUSTER_HEADER, "timeout": ROUTE_TIMEOUT},
        "request_headers_to_remove": [CLUSTER_HEADER],
    }));
    routes.push(json!({
        "match": {"prefix": "/"},
        "direct_response": {"status": 404, "body": {"inline_string": NOT_FOUND}},
        "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"},
                                      "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
    }));
    let mut vhost = json!({"name": "llm", "domains": ["*"]});
    if !g.failovers.is_empty() {
        // The router reports the attempt count (`x-portcullis-attempts`).
        put(&mut vhost, "include_attempt_count_in_response", Value::Bool(true));
    }
    put(&mut vhost, "routes", Value::Array(routes));
    json!({"name": "llm", "virtual_hosts": [vhost]})
}

/// Sets a field of a JSON object built just above (a no-op on anything else).
pub fn put(object: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value.into());
    }
}

pub const NOT_FOUND: &str = r#"{"error":{"message":"no LLM API at this path","type":"invalid_request_error","param":null,"code":"not_found"}}"#;

/// Each retry goes to the next priority, that is the next provider of the chain.
pub fn retry_policy(g: &Gateway, f: &FailoverCluster) -> Value {
    json!({
        "retry_on": "5xx,reset,connect-failure,retriable-status-codes",
        "retriable_status_codes": [429],
        "num_retries": f.retries,
        "per_try_idle_timeout": g.config.failover.per_try_idle_timeout,
        "retry_back_off": {"base_interval": "0.02s", "max_interval": "0.1s"},
        "retry_priority": {
            "name": "envoy.retry_priorities.previous_priorities",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
                "update_frequency": 1,
            },
        },
    })
}

/// A provider's or service's cluster. Provider endpoints say which provider they are: the
/// per-attempt filters of a failover read it.
pub fn cluster(u: &Upstream, buffer: u64) -> Value {
    let mut endpoint = json!({"endpoint": {"address": {"socket_address": {"address": u.endpoint.host, "port_value": u.endpoint.port}}}});
    if let Some(provider) = &u.provider {
        put(&mut endpoint, "metadata", json!({"filter_metadata": {"portcullis": {"provider": provider}}}));
    }
    let mut c = json!({"name": u.cluster});
    if u.endpoint.is_ip() {
        put(&mut c, "type", Value::from("STATIC"));
    } else {
        put(&mut c, "type", Value::from("LOGICAL_DNS"));
        put(&mut c, "dns_lookup_family", Value::from("V4_ONLY"));
    }
    put(&mut c, "connect_timeout", Value::from("5s"));
    put(&mut c, "per_connection_buffer_limit_bytes", Value::from(buffer));
    put(
        &mut c,
        "load_assignment",
        json!({"cluster_name": u.cluster, "endpoints": [{"lb_endpoints": [endpoint]}]}),
    );
    if u.endpoint.tls {
        let tls = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": u.endpoint.host,
            },
        });
        put(&mut c, "transport_socket", tls);
    }
    c
}

/// The upstream filters of a Bedrock or signing provider's cluster: the router (an event-stream
/// answer becomes SSE before any other filter reads it) and the credentials filter, which holds
/// the headers until the body is complete and signs the request as it leaves.
pub fn signing_filters(g: &Gateway, router_code: &Value, credentials_code: &Value) -> Value {
    let env = (!g.credential_env.is_empty()).then(|| g.credential_env.clone());
    json!({
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {}},
            "http_filters": [
                wasm_filter("portcullis.router.upstream", router_code.clone(), &upstream_router(), None, false),
                wasm_filter("portcullis.credentials.upstream", credentials_code.clone(), &upstream_credentials(&g.credentials), env, true),
                {"name": "envoy.filters.http.upstream_codec",
                 "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}},
            ],
        },
    })
}

/// The failover chain: its children's priorities are the providers' order; the router and
/// credentials filters run once per attempt against the provider Envoy picked.
pub fn aggregate_cluster(
    g: &Gateway,
    f: &FailoverCluster,
    router_code: &Value,
    credentials_code: &Value,
) -> Value {
    let env = (!g.credential_env.is_empty()).then(|| g.credential_env.clone());
    json!({
        "name": f.name,
        "connect_timeout": "5s",
        "per_connection_buffer_limit_bytes": g.config.listener.buffer_limit_bytes,
        "lb_policy": "CLUSTER_PROVIDED",
        "cluster_type": {
            "name": "envoy.clusters.aggregate",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig",
                "clusters": f.clusters,
            },
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
                "http_filters": [
                    wasm_filter("portcullis.router.upstream", router_code.clone(), &upstream_router(), None, false),
                    wasm_filter("portcullis.credentials.upstream", credentials_code.clone(),
                                &upstream_credentials(&g.credentials), env, true),
                    {"name": "envoy.filters.http.upstream_codec",
                     "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}},
                ],
            },
        },
    })
}

fn access_log() -> Value {
    let mut format = json!({
        "time": "%START_TIME%",
        "method": "%REQ(:METHOD)%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "status": "%RESPONSE_CODE%",
        "duration_ms": "%DURATION%",
        "upstream_cluster": "%UPSTREAM_CLUSTER%",
        "request_id": "%REQ(X-REQUEST-ID)%",
    });
    for field in ["provider", "model", "request_model", "route", "tenant", "usage", "guardrail", "rag"] {
        put(&mut format, field, format!("%FILTER_STATE(wasm.portcullis.{field}:PLAIN)%"));
    }
    json!({
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": format},
        },
    })
}

/// Envoy's own local replies (413, 431, 503 upstream connect error, 504 …) as JSON in the shape
/// of the API the client called, told by its path (the client's own, kept in
/// x-envoy-original-path when the router rewrote it). The gateway's own replies (`portcullis`)
/// are already in shape; direct_response routes have their own body. An answer larger than the
/// buffer limit is the provider's fault: 502.
fn local_reply_mappers() -> Vec<Value> {
    const PATH: &str = "('x-envoy-original-path' in request.headers ? request.headers['x-envoy-original-path'] : request.path)";
    const TOO_LARGE: &str = "response.code_details == 'response_payload_too_large'";
    const NOT_OURS: &str = "!(response.code_details in ['portcullis', 'direct_response'])";
    const TOO_LARGE_MESSAGE: &str =
        "the provider's answer is larger than the gateway's buffer limit (per_connection_buffer_limit_bytes)";
    let anthropic = format!("{PATH}.startsWith('/v1/messages')");
    let gemini = format!("{PATH}.matches('^/v1(beta)?/models/[^/?]+:')");
    let anthropic_body =
        |message: &str| json!({"type": "error", "error": {"type": "api_error", "message": message}});
    let gemini_body = |message: &str, status: &str| json!({"error": {"code": "%RESPONSE_CODE%", "message": message, "status": status}});
    let openai_body = |message: &str| json!({"error": {"message": message, "type": "api_error", "param": null, "code": null}});
    let mapper = |expression: String, status: Option<u16>, body: Value| {
        let mut m = json!({"filter": {"extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": expression,
            },
        }}});
        if let Some(status) = status {
            put(&mut m, "status_code", Value::from(status));
        }
        put(&mut m, "body_format_override", json!({"json_format": body}));
        m
    };
    vec![
        mapper(format!("{TOO_LARGE} && {anthropic}"), Some(502), anthropic_body(TOO_LARGE_MESSAGE)),
        mapper(format!("{TOO_LARGE} && {gemini}"), Some(502), gemini_body(TOO_LARGE_MESSAGE, "INTERNAL")),
        mapper(TOO_LARGE.to_owned(), Some(502), openai_body(TOO_LARGE_MESSAGE)),
        mapper(format!("{NOT_OURS} && {anthropic}"), None, anthropic_body("%LOCAL_REPLY_BODY%")),
        mapper(format!("{NOT_OURS} && {gemini}"), None, gemini_body("%LOCAL_REPLY_BODY%", "UNAVAILABLE")),
        mapper(NOT_OURS.to_owned(), None, openai_body("%LOCAL_REPLY_BODY%")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn bootstrap(yaml: &str) -> Value {
        render(&Gateway::from_config(config::parse(yaml).unwrap()).unwrap())
    }

    fn clusters(b: &Value) -> &Vec<Value> {
        b.pointer("/static_resources/clusters").and_then(Value::as_array).unwrap()
    }

    fn hcm(b: &Value) -> &Value {
        b.pointer("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config").unwrap()
    }

    #[test]
    fn a_public_provider_is_reached_over_tls_and_a_local_one_in_plain_http() {
        let b = bootstrap(
            "providers: {openai: {kind: openai, keyEnv: A}, local: {kind: ollama, endpoint: 'http://127.0.0.1:11434', host: ollama, keyEnv: B}}",
        );
        let [openai, local] = clusters(&b).as_slice() else { panic!("two clusters") };
        assert_eq!(openai["type"], "LOGICAL_DNS");
        assert_eq!(openai["transport_socket"]["typed_config"]["sni"], "api.openai.com");
        assert_eq!(
            openai.pointer(
                "/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/port_value"
            ),
            Some(&json!(443))
        );
        assert_eq!(local["type"], "STATIC");
        assert!(local.get("transport_socket").is_none());
        assert_eq!(
            local.pointer(
                "/load_assignment/endpoints/0/lb_endpoints/0/metadata/filter_metadata/portcullis/provider"
            ),
            Some(&json!("local"))
        );
    }

    #[test]
    fn filters_run_in_chain_order_with_their_keys_and_nothing_else() {
        let b = bootstrap(
            "providers: {openai: {kind: openai, keyEnv: OPENAI_API_KEY}}\n\
             prompt: {policies: {m: {guards: {moderation: {cluster: openai, keyEnv: MODERATION_KEY}}}}}",
        );
        let filters = hcm(&b)["http_filters"].as_array().unwrap();
        let names: Vec<&str> = filters.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "portcullis.router",
                "portcullis.credentials",
                "portcullis.prompt",
                "portcullis.usage",
                "envoy.filters.http.router"
            ]
        );
        let plugin = |i: usize| &filters[i]["typed_config"]["config"];
        assert_eq!(plugin(0)["allow_on_headers_stop_iteration"], true);
        assert_eq!(
            plugin(1)["vm_config"]["environment_variables"]["host_env_keys"],
            json!(["OPENAI_API_KEY"])
        );
        assert_eq!(
            plugin(2)["vm_config"]["environment_variables"]["host_env_keys"],
            json!(["MODERATION_KEY"])
        );
        assert!(plugin(3)["vm_config"].get("environment_variables").is_none());
        for i in 0..4 {
            assert!(
                plugin(i).get("root_id").is_none() && plugin(i)["vm_config"].get("vm_id").is_none(),
                "the name once in a log line"
            );
        }
    }

    #[test]
    fn fallbacks_get_an_aggregate_cluster_and_a_retry_route_of_their_own() {
        let b = bootstrap(
            "providers: {a: {kind: openai, keyEnv: A}, b: {kind: anthropic, keyEnv: B}}\n\
             routes: [{model: r, provider: a, fallbacks: [{provider: b, model: m}]}]\n\
             failover: {perTryIdleTimeout: 2.5s}",
        );
        let vhost = &hcm(&b)["route_config"]["virtual_hosts"][0];
        assert_eq!(vhost["include_attempt_count_in_response"], true);
        let route = &vhost["routes"][0];
        assert_eq!(route["match"]["headers"][0]["string_match"]["exact"], "failover-r");
        assert_eq!(route["route"]["cluster"], "failover-r");
        assert_eq!(route["route"]["retry_policy"]["num_retries"], 1);
        assert_eq!(route["route"]["retry_policy"]["per_try_idle_timeout"], "2.5s");
        let aggregate = clusters(&b).iter().find(|c| c["name"] == "failover-r").unwrap();
        assert_eq!(aggregate["cluster_type"]["typed_config"]["clusters"], json!(["a", "b"]));
        let upstream = &aggregate["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"];
        let config = upstream[1]["typed_config"]["config"]["configuration"]["value"].as_str().unwrap();
        let config: Value = serde_json::from_str(config).unwrap();
        assert_eq!(config["placement"], "upstream");
        assert_eq!(config["providers"]["b"]["keyEnv"], "B");
    }

    #[test]
    fn a_signing_provider_s_cluster_signs_with_the_credentials_filter_upstream() {
        let b = bootstrap(
            "providers:\n  bedrock: {kind: openai-compatible, endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com', aws: {}}\n  openai: {kind: openai, keyEnv: K}",
        );
        let [bedrock, openai] = clusters(&b).as_slice() else { panic!("two clusters") };
        assert!(openai.get("typed_extension_protocol_options").is_none(), "only signing providers");
        let filters = &bedrock["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"];
        assert_eq!(filters[0]["name"], "portcullis.router.upstream");
        let plugin = &filters[1]["typed_config"]["config"];
        assert_eq!(plugin["name"], "portcullis.credentials.upstream");
        assert_eq!(
            plugin["allow_on_headers_stop_iteration"], true,
            "it holds the headers until the body is complete"
        );
        let env = &plugin["vm_config"]["environment_variables"]["host_env_keys"];
        assert_eq!(env, &json!(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "K"]));
        let config: Value = serde_json::from_str(plugin["configuration"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(
            (config["placement"].as_str(), &config["providers"]["bedrock"]),
            (Some("upstream"), &json!({"aws": {}}))
        );
        assert_eq!(filters[2]["name"], "envoy.filters.http.upstream_codec");
    }

    #[test]
    fn without_fallbacks_there_is_no_failover_machinery() {
        let b = bootstrap("providers: {a: {kind: openai, keyEnv: A}}\nroutes: [{model: x, provider: a}]");
        let vhost = &hcm(&b)["route_config"]["virtual_hosts"][0];
        assert!(vhost.get("include_attempt_count_in_response").is_none());
        assert_eq!(vhost["routes"].as_array().unwrap().len(), 2);
        assert_eq!(clusters(&b).len(), 1);
    }

    #[test]
    fn plugin_configs_read_one_entry_per_line_and_parse_back() {
        let short: Object = serde_json::from_str(r#"{"placement":"upstream"}"#).unwrap();
        assert_eq!(plugin_json(&short), r#"{"placement":"upstream"}"#);
        let long: Object = serde_json::from_str(
            r#"{"providers":{"openai":{"kind":"openai"},"anthropic":{"kind":"anthropic"}},"routes":[{"model":"gpt-*","provider":"openai"},{"model":"claude-*","provider":"anthropic"}],"clusterHeader":"x-c"}"#,
        )
        .unwrap();
        let text = plugin_json(&long);
        assert_eq!(
            text,
            "{\n  \"providers\": {\n    \"openai\": {\"kind\":\"openai\"},\n    \"anthropic\": {\"kind\":\"anthropic\"}\n  },\n  \"routes\": [\n    {\"model\":\"gpt-*\",\"provider\":\"openai\"},\n    {\"model\":\"claude-*\",\"provider\":\"anthropic\"}\n  ],\n  \"clusterHeader\": \"x-c\"\n}\n"
        );
        assert_eq!(serde_json::from_str::<Object>(&text).unwrap(), long);
    }
}
