//! `portcullis schema`: the gateway config's JSON Schema, for editor completion and checks
//! (`# yaml-language-server: $schema=…` at the top of a config).
//!
//! It describes the gateway's own sections fully and each filter section's fields one level
//! down; what lies deeper (a guard, a budget, a retrieval block) is checked by the filters' own
//! code, which `portcullis validate` runs. Provider kinds come from core's list.

use portcullis_core::llm::provider::ProviderKind;
use serde_json::{json, Value};

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn strings(description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": description})
}

fn open(description: &str) -> Value {
    json!({"type": "object", "description": description})
}

pub fn schema() -> Value {
    let kinds: Vec<Value> = ProviderKind::ALL.iter().filter_map(|k| serde_json::to_value(k).ok()).collect();
    let env_name = json!({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"});
    let key_source = object(json!({"keyEnv": env_name, "key": string("inline key, for testing only")}), &[]);
    let provider = object(
        json!({
            "kind": {"enum": kinds, "description": "wire API, default host, paths and auth scheme"},
            "endpoint": {"type": "string", "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]+)?/?$",
                         "description": "where the cluster connects (default: the kind's public API over TLS)"},
            "cluster": string("Envoy cluster name (default: the provider's name)"),
            "host": string(":authority upstream; required where the kind has no public host (or taken from endpoint)"),
            "basePath": string("prefix of OpenAI-style paths"),
            "apiVersion": string("Azure api-version"),
            "project": string("Vertex AI project"),
            "location": string("Vertex AI location"),
            "streamUsage": {"type": "boolean", "description": "ask OpenAI-style streams for their usage"},
            "keyEnv": {"allOf": [env_name, {"description": "the environment variable holding the provider key"}]},
            "keys": {"type": "array", "items": key_source, "description": "a key pool, used round robin"},
            "key": string("inline key, for testing only"),
            "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "extra headers upstream"},
            "cooldownSeconds": {"type": "integer", "minimum": 0, "description": "how long a key refused with 401/429 rests"},
            "identity": object(json!({
                "gcpMetadata": object(json!({"cluster": {"type": "string"}, "serviceAccount": {"type": "string"}}), &["cluster"]),
                "azureImds": object(json!({"cluster": {"type": "string"}, "resource": {"type": "string"}, "clientId": {"type": "string"}}), &["cluster"]),
                "refreshBeforeSeconds": {"type": "integer", "minimum": 0},
                "timeoutMs": {"type": "integer", "minimum": 10, "maximum": 60000},
            }), &[]),
            "aws": object(json!({
                "accessKeyIdEnv": env_name, "secretAccessKeyEnv": env_name, "sessionTokenEnv": env_name,
                "region": {"type": "string", "description": "the signing region (default: from the endpoint's host)"},
                "containerCredentials": object(json!({
                    "cluster": {"type": "string"}, "path": {"type": "string"},
                    "authorizationTokenEnv": env_name,
                    "refreshBeforeSeconds": {"type": "integer", "minimum": 0},
                    "timeoutMs": {"type": "integer", "minimum": 10, "maximum": 60000},
                }), &["cluster", "path"]),
            }), &[]),
        }),
        &["kind"],
    );
    let target = object(
        json!({"provider": {"type": "string"}, "model": {"type": "string"}, "weight": {"type": "integer", "minimum": 0}}),
        &["provider"],
    );
    let route = object(
        json!({
            "model": string("client model name: exact, alias, or a * pattern"),
            "provider": string("a key of providers"),
            "upstreamModel": string("model name sent upstream (default: the client's)"),
            "name": string("route name in filter state, logs and bindings"),
            "models": strings("for a * route: the concrete models it serves (GET /v1/models, metric labels)"),
            "targets": {"type": "array", "items": target, "description": "weighted split"},
            "fallbacks": {"type": "array", "items": target, "description": "providers tried in order when the first fails before its first byte"},
            "failoverCluster": string("the aggregate cluster's name (default: failover-<name or model>)"),
        }),
        &["model"],
    );
    let listener = object(
        json!({"address": {"type": "string"}, "port": {"type": "integer", "minimum": 0, "maximum": 65535},
               "bufferLimitBytes": {"type": "integer", "minimum": 1}}),
        &[],
    );
    let admin = object(
        json!({"address": {"type": "string"}, "port": {"type": "integer", "minimum": 0, "maximum": 65535}}),
        &[],
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Portcullis gateway config",
        "description": "One file for the whole gateway: `portcullis validate`, `portcullis render envoy|istio|compose`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["providers"],
        "properties": {
            "listener": listener,
            "admin": admin,
            "modules": string("directory of the .wasm files, as Envoy sees it"),
            "providers": {"type": "object", "additionalProperties": provider},
            "routes": {"type": "array", "items": route},
            "router": object(json!({"clusterHeader": {"type": "string"}, "overrideHeader": {"type": "string"}}), &[]),
            "credentials": object(json!({
                "tenants": {"type": "array", "items": object(json!({
                    "id": {"type": "string"}, "keyHashes": strings("virtual keys as sha256:<hex>"),
                    "identities": strings("identities the identity header may carry"),
                    "allow": {"type": "array", "items": open("{provider, models?}")},
                    "credentials": {"type": "object", "additionalProperties": open("the tenant's own key for a provider")},
                }), &["id"])},
                "identityHeader": {"type": "string"},
                "requireTenant": {"type": "boolean"},
            }), &[]),
            "prompt": object(json!({
                "decorators": {"type": "array", "items": open("{role, content, position}")},
                "templates": {"type": "object", "additionalProperties": open("a template")},
                "policies": {"type": "object", "additionalProperties": open("a policy: decorators, parameters, guards, retrieval")},
                "bindings": {"type": "array", "items": open("{route?, model?, tenant?, policy}")},
                "defaultPolicy": {"type": "string"},
            }), &[]),
            "usage": object(json!({
                "maxJsonBytes": {"type": "integer"}, "metricNames": open("metric name overrides"),
                "prices": open("prices per model"), "limits": {"type": "array", "items": open("a prompt-size limit")},
                "budgets": {"type": "array", "items": open("a token or cost budget")},
                "tokenizer": open("tokenizer settings"), "globalBudget": open("budgets kept by a rate limit service"),
            }), &[]),
            "services": {"type": "object", "additionalProperties": object(json!({"endpoint": {"type": "string"}}), &["endpoint"]),
                         "description": "other upstreams a filter calls by cluster name (a vector store, a guard webhook)"},
            "failover": object(json!({"perTryIdleTimeout": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?s$"}}), &[]),
            "istio": object(json!({
                "namespace": {"type": "string"}, "selector": {"type": "object", "additionalProperties": {"type": "string"}},
                "images": {"type": "string"}, "version": {"type": "string"}, "modules": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            }), &[]),
        },
    })
}
