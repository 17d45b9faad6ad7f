"""envoy-configs/gateway-global-budget.yaml: the shipped gateway with a token budget shared by
every replica, derived from envoy-configs/gateway.yaml.

    .venv/bin/python e2e/global_budget_config.py   # rewrites envoy-configs/gateway-global-budget.yaml

What it adds to gateway.yaml, and why (README, "Global budgets"):
- tenants with virtual keys in the credentials filter (a budget is per tenant);
- `globalBudget` in the usage filter, which then sets Envoy's `envoy.ratelimit.hits_addend` to
  each request's estimate before the rate limit filter runs, and to the remainder (actual −
  estimate) when the answer is complete; `allow_on_headers_stop_iteration`, because the rate
  limit filter charges in its request headers callback and the estimate needs the body;
- Envoy's rate limit filter right after the usage filter, calling the rate limit service
  (cluster `ratelimit`, gRPC), failing closed;
- on the LLM route, two descriptors: `phase=admit` charged before the provider is called (over
  the limit: 429) and `phase=settle` charged when the stream is done (`apply_on_stream_done`),
  each with the tenant and the model read from the filters' own filter state
  (`envoy.matching.inputs.filter_state`, never a header a client could set).
The rate limit service's limits file (limitador's format) is envoy-configs/ratelimit-limits.json.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402

OUT = paths.CONFIGS / "gateway-global-budget.yaml"
RLS_PORT = 18081
DOMAIN = "portcullis"
# Example tenants. Virtual keys `sk-team-a-demo` and `sk-team-b-demo` (only their digests are
# here; `make hash-key KEY=...` prints one). Replace them before exposing the gateway.
TENANTS = [
    {"id": "team-a", "keyHashes": ["sha256:68bf1bf9bc3cc3fe4bd96a4ed8f75ef0b4a453649af66692906bf27d7ecc51fe"]},
    {"id": "team-b", "keyHashes": ["sha256:0883a6667a85041bbcf2c4309fa49751c3917a54f671b83d6485e88efb5d7089"]},
]
HEADER = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/global_budget_config.py: edit
# examples/gateway.yaml, then `make configs` (a test fails while this file is stale). The shipped gateway plus a token budget
# per tenant shared by every Envoy replica: the usage filter says how many tokens each request
# charges (`envoy.ratelimit.hits_addend`), Envoy's rate limit filter charges them at a rate limit
# service (cluster `ratelimit`; its limits: ratelimit-limits.json). README, "Global budgets".
"""


def filter_state_entry(name: str, key: str) -> dict:
    """A descriptor entry `name` = the filter state `key` (written by a Portcullis filter); a
    request without it gets no descriptor, so no charge."""
    return {"extension": {"name": name, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.FilterStateInput",
        "key": key}}}


def descriptors() -> list[dict]:
    def actions(phase: str) -> list[dict]:
        return [
            {"generic_key": {"descriptor_key": "phase", "descriptor_value": phase}},
            filter_state_entry("tenant", "wasm.portcullis.tenant"),
            filter_state_entry("model", "wasm.portcullis.request_model"),
        ]
    return [
        {"actions": actions("admit")},
        {"actions": actions("settle"), "apply_on_stream_done": True},
    ]


CLIENT_PATH = "('x-envoy-original-path' in request.headers ? request.headers['x-envoy-original-path'] : request.path)"


def rate_limited_replies() -> list[dict]:
    """The rate limit filter's 429 (its body: the service's message) as a rate-limit error in the
    shape of the API the client called, ahead of the gateway's generic mappers (`api_error`)."""
    def mapper(path_test: str, body: dict) -> dict:
        expression = "response.code_details == 'request_rate_limited'" + (f" && {CLIENT_PATH}{path_test}" if path_test else "")
        return {"filter": {"extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                             "expression": expression}}},
            "body_format_override": {"json_format": body}}
    return [
        mapper(".startsWith('/v1/messages')",
               {"type": "error", "error": {"type": "rate_limit_error", "message": "%LOCAL_REPLY_BODY%"}}),
        mapper(".matches('^/v1(beta)?/models/[^/?]+:')",
               {"error": {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%", "status": "RESOURCE_EXHAUSTED"}}),
        mapper("", {"error": {"message": "%LOCAL_REPLY_BODY%", "type": "rate_limit_error", "param": None,
                              "code": "rate_limit_exceeded"}}),
    ]


def render_config(gateway: dict) -> dict:
    cfg = copy.deepcopy(gateway)
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters = hcm["http_filters"]
    creds = envoy_h.plugin_config(cfg, "portcullis.credentials")
    creds["tenants"] = TENANTS
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", creds)
    envoy_h.set_plugin_config(cfg, "portcullis.usage", {"globalBudget": {"reserve": 1024}})
    usage_at = next(i for i, f in enumerate(filters) if f["name"] == "portcullis.usage")
    wasm = envoy_h.wasm_config(cfg, "portcullis.usage")
    # Rebuilt so the flag sits next to the name, as on the router.
    rebuilt = {}
    for k, v in wasm.items():
        rebuilt[k] = v
        if k == "name":
            rebuilt["allow_on_headers_stop_iteration"] = True
    wasm.clear()
    wasm.update(rebuilt)
    filters.insert(usage_at + 1, {
        "name": "envoy.filters.http.ratelimit",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
            "domain": DOMAIN,
            # A budget that cannot be checked refuses (500); `false` lets requests through.
            "failure_mode_deny": True,
            # Envoy's default is 20 ms.
            "timeout": "1s",
            "rate_limit_service": {
                "transport_api_version": "V3",
                "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
            },
        },
    })
    hcm["local_reply_config"]["mappers"][:0] = rate_limited_replies()
    for vhost in hcm["route_config"]["virtual_hosts"]:
        for route in vhost["routes"]:
            if "cluster_header" in route.get("route", {}):
                route["route"]["rate_limits"] = descriptors()
    cfg["static_resources"]["clusters"].append({
        "name": "ratelimit",
        "type": "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        },
        "load_assignment": {"cluster_name": "ratelimit", "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": RLS_PORT}}}}]}]},
    })
    return cfg


def render(gateway: dict) -> str:
    return envoy_h.generated(HEADER, render_config(gateway))


if __name__ == "__main__":
    sys.exit(envoy_h.write_generated(OUT, render))
