"""What Istio would generate from istio/*.yaml, as an Envoy bootstrap we can run here.

There is no Kubernetes on a test machine, so this applies the same translation istiod applies to
the resources Portcullis ships, for the parts that matter to the filters:
- WasmPlugin → a Wasm HTTP filter named `<namespace>.<name>`, `root_id` = `pluginName`, runtime
  v8, no `vm_id`, `configuration` = `pluginConfig` as JSON in a StringValue, `failStrategy` →
  `failure_policy`, `vmConfig.env` → `environment_variables`; ordered by phase, then priority
  (higher first).
- EnvoyFilter EXTENSION_CONFIG ADD + HTTP_FILTER INSERT_BEFORE → that filter config at that place
  (Istio delivers it by ECDS; the config the filter receives is the same).
- EnvoyFilter BOOTSTRAP MERGE of `stats_config` → the bootstrap's stats tags.
- EnvoyFilter CLUSTER ADD → that cluster (a real provider host on 443 with TLS points at the mock
  instead, like the VirtualService clusters); HTTP_ROUTE MERGE (matched by route name) and
  VIRTUAL_HOST MERGE → merged as protobuf merges (a oneof member set by the patch replaces the
  other: `cluster_header` replaces `cluster`).
- VirtualService HTTP routes with header matches → routes to `outbound|<port>||<host>` clusters,
  which here point at the mock provider (TLS origination from the DestinationRules is left out:
  the mock speaks plain HTTP).
- `oci://…/<filter>:<tag>` module URLs → the locally built portcullis_<filter>.wasm, as
  istio-agent does after pulling the image; a module file under /var/lib/portcullis (mounted
  into the gateway pod) → the locally built file of that name.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from . import paths
from .envoy import MOCK_DEFAULT, WASM_FILTER_TYPE

ISTIO_DIR = paths.ROOT / "istio"
FAIL = {"FAIL_CLOSE": "FAIL_CLOSED", "FAIL_OPEN": "FAIL_OPEN", "FAIL_RELOAD": "FAIL_RELOAD", None: "FAIL_CLOSED"}
PHASES = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED"]


def resources(directory: Path = ISTIO_DIR) -> list[dict]:
    out = []
    for path in sorted(directory.glob("*.yaml")):
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


def local_module(url: str) -> str:
    """`oci://registry/portcullis/router:0.1.0` → the built router .wasm."""
    name = url.rsplit("/", 1)[-1].split(":", 1)[0]
    return str(paths.WASM_DIR / f"portcullis_{name}.wasm")


def wasm_plugin_filter(res: dict) -> dict:
    meta, spec = res["metadata"], res["spec"]
    name = f'{meta.get("namespace", "default")}.{meta["name"]}'
    env = spec.get("vmConfig", {}).get("env", [])
    vm_config = {
        "runtime": "envoy.wasm.runtime.v8",
        "code": {"local": {"filename": local_module(spec["url"])}},
    }
    host_keys = [e["name"] for e in env if e.get("valueFrom") == "HOST"]
    inline = {e["name"]: e.get("value", "") for e in env if e.get("valueFrom", "INLINE") == "INLINE"}
    if host_keys or inline:
        vm_config["environment_variables"] = {k: v for k, v in
                                              (("host_env_keys", host_keys), ("key_values", inline)) if v}
    return {"name": name, "typed_config": {"@type": WASM_FILTER_TYPE, "config": {
        "name": name,
        "root_id": spec.get("pluginName", ""),
        "vm_config": vm_config,
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                          "value": json.dumps(spec.get("pluginConfig", {}), separators=(",", ":"))},
        "failure_policy": FAIL[spec.get("failStrategy")],
    }}}


MOUNTED_WASM = "/var/lib/portcullis/"
ROUTE_ONEOF = ("cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin")


def merge(into: dict, patch: dict) -> None:
    """Protobuf-style MERGE: messages merge field by field, lists append, scalars replace."""
    for key, value in patch.items():
        if key in ROUTE_ONEOF:
            for other in ROUTE_ONEOF:
                into.pop(other, None)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = json.loads(json.dumps(value))


def _emulated_cluster(cluster: dict) -> dict:
    """A cluster added by an EnvoyFilter, runnable here: real provider endpoints → the mock (no
    TLS), mounted modules → the built ones."""
    cluster = json.loads(json.dumps(cluster))
    for ep in cluster.get("load_assignment", {}).get("endpoints", []):
        for lb in ep.get("lb_endpoints", []):
            sa = lb["endpoint"]["address"]["socket_address"]
            if sa.get("port_value") == 443:
                sa["address"], sa["port_value"] = MOCK_DEFAULT
                cluster["type"] = "STATIC"
                cluster.pop("dns_lookup_family", None)
                cluster.pop("transport_socket", None)
    options = cluster.get("typed_extension_protocol_options", {}).values()
    for f in (f for o in options for f in o.get("http_filters", [])):
        local = f.get("typed_config", {}).get("config", {}).get("vm_config", {}).get("code", {}).get("local")
        if local and local["filename"].startswith(MOUNTED_WASM):
            local["filename"] = str(paths.WASM_DIR / local["filename"].removeprefix(MOUNTED_WASM))
    return cluster


def _with_local_code(typed_config: dict) -> dict:
    cfg = json.loads(json.dumps(typed_config))
    code = cfg["config"]["vm_config"]["code"]
    if "remote" in code:
        code.clear()
        code["local"] = {"filename": local_module(typed_config["config"]["vm_config"]["code"]["remote"]["http_uri"]["uri"])}
    return cfg


def bootstrap(resources_: list[dict]) -> dict:
    plugins = sorted((r for r in resources_ if r["kind"] == "WasmPlugin"),
                     key=lambda r: (PHASES.index(r["spec"].get("phase", "UNSPECIFIED")), -r["spec"].get("priority", 0)))
    http_filters = [wasm_plugin_filter(r) for r in plugins]
    extension_configs, stats_tags, buckets, added_clusters, route_merges, vhost_merges = {}, [], [], [], [], []
    for ef in (r for r in resources_ if r["kind"] == "EnvoyFilter"):
        for patch in ef["spec"]["configPatches"]:
            value = patch["patch"]["value"]
            if patch["applyTo"] == "EXTENSION_CONFIG" and patch["patch"]["operation"] == "ADD":
                extension_configs[value["name"]] = value["typed_config"]
            elif patch["applyTo"] == "BOOTSTRAP":
                stats_tags += value.get("stats_config", {}).get("stats_tags", [])
                buckets += value.get("stats_config", {}).get("histogram_bucket_settings", [])
            elif patch["applyTo"] == "CLUSTER" and patch["patch"]["operation"] == "ADD":
                added_clusters.append(_emulated_cluster(value))
            elif patch["applyTo"] == "HTTP_ROUTE" and patch["patch"]["operation"] == "MERGE":
                name = patch["match"]["routeConfiguration"]["vhost"]["route"]["name"]
                route_merges.append((name, value))
            elif patch["applyTo"] == "VIRTUAL_HOST" and patch["patch"]["operation"] == "MERGE":
                vhost_merges.append(value)
    for ef in (r for r in resources_ if r["kind"] == "EnvoyFilter"):
        for patch in ef["spec"]["configPatches"]:
            if patch["applyTo"] != "HTTP_FILTER":
                continue
            value, op = patch["patch"]["value"], patch["patch"]["operation"]
            anchor = patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"]
            at = next(i for i, f in enumerate(http_filters) if f["name"] == anchor)
            config = extension_configs[value["name"]]
            entry = {"name": value["name"], "typed_config": _with_local_code(config)}
            http_filters.insert(at if op == "INSERT_BEFORE" else at + 1, entry)
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})

    routes, clusters = [], {}
    for vs in (r for r in resources_ if r["kind"] == "VirtualService"):
        for http in vs["spec"]["http"]:
            match = {"prefix": "/"}
            headers = [{"name": k, "string_match": {op: v[op]}}
                       for m in http.get("match", []) for k, v in m.get("headers", {}).items()
                       for op in ("exact", "prefix") if op in v]
            if headers:
                match["headers"] = headers
            route = {"match": match, "name": http.get("name", "")}
            if "directResponse" in http:
                dr = http["directResponse"]
                route["direct_response"] = {"status": dr["status"], "body": {"inline_string": dr["body"]["string"]}}
            else:
                dest = http["route"][0]["destination"]
                cluster = f'outbound|{dest["port"]["number"]}||{dest["host"]}'
                clusters[cluster] = dest["host"]
                route["route"] = {"cluster": cluster, "timeout": http.get("timeout", "15s")}
                remove = http.get("headers", {}).get("request", {}).get("remove", [])
                if remove:
                    route["request_headers_to_remove"] = remove
            for name, value in route_merges:
                if route["name"] == name:
                    merge(route, value)
            routes.append(route)

    vhost = {"name": "*:80", "domains": ["*"], "routes": routes}
    for value in vhost_merges:
        merge(vhost, value)
    address = {"socket_address": {"address": MOCK_DEFAULT[0], "port_value": MOCK_DEFAULT[1]}}
    return {
        "node": {"id": "istio-gateway-emulation", "cluster": "istio-ingressgateway"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "stats_config": {"stats_tags": stats_tags, "histogram_bucket_settings": buckets},
        "static_resources": {
            "listeners": [{"name": "0.0.0.0_8080", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                           "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                           "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "outbound_0.0.0.0_8080",
                "route_config": {"name": "http.8080", "virtual_hosts": [vhost]},
                "http_filters": http_filters,
            }}]}]}],
            "clusters": [{"name": name, "type": "STATIC", "connect_timeout": "5s",
                          "load_assignment": {"cluster_name": name, "endpoints": [
                              {"lb_endpoints": [{"endpoint": {"address": address}}]}]}}
                         for name in clusters] + added_clusters,
        },
    }
