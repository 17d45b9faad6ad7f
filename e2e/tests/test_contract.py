"""The filters' contract fails closed in real Envoy: credentials, prompt and usage need the
router's record on a routed request; without the router (or with a record another version of it
wrote, as after a partial upgrade of the WasmPlugins) they answer 500 in the client's API shape
and nothing reaches a provider, instead of skipping their checks. Requests the router would not
route pass as before."""
import json

import pytest

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import metric_value, raw_request

# Envoy's own filter writes the record a router of another version would have written.
FOREIGN_RECORD = {
    "name": "envoy.filters.http.set_filter_state",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.set_filter_state.v3.Config",
        "on_request_headers": [{
            "object_key": "wasm.portcullis.decision",
            "factory_key": "envoy.string",
            "format_string": {"text_format_source": {"inline_string": '{"v":99,"provider":"openai"}'}},
        }],
    },
}


def chain_without_router(mock_port: int, keep: str, foreign_record: bool) -> dict:
    cfg = envoy_h.load("gateway.yaml")
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"] = [f for f in hcm["http_filters"]
                           if f["name"] in (keep, "envoy.filters.http.router")]
    if foreign_record:
        hcm["http_filters"].insert(0, FOREIGN_RECORD)
    if keep == "portcullis.prompt":
        envoy_h.set_plugin_config(cfg, keep, {"decorators": [{"role": "system", "content": "Be brief."}]})
    # Without the router nothing sets the cluster header: route every request to the mock, as a
    # misconfigured gateway would.
    for vh in hcm["route_config"]["virtual_hosts"]:
        vh["routes"] = [{"match": {"prefix": "/"}, "route": {"cluster": "openai"}}]
    return envoy_h.adapt(cfg, mock_port)


CASES = [
    (b"/v1/chat/completions", b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}', "openai"),
    (b"/v1/messages", b'{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}', "anthropic"),
    (b"/v1beta/models/gemini-2.5-flash:generateContent", b'{"contents":[{"parts":[{"text":"hi"}]}]}', "gemini"),
]


@pytest.mark.parametrize("filter_name", ["portcullis.credentials", "portcullis.prompt", "portcullis.usage"])
@pytest.mark.parametrize("foreign_record", [False, True], ids=["no-router", "record-of-version-99"])
def test_a_filter_without_the_routers_record_refuses_routed_requests(mock, filter_name, foreign_record):
    cfg = chain_without_router(mock.port, filter_name, foreign_record)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        for path, body, shape in CASES:
            status, _, raw = raw_request(envoy.port, b"POST", path,
                                         [(b"content-type", b"application/json"), (b"authorization", b"Bearer x")], body)
            assert status == 500, (path, raw)
            data = json.loads(raw)
            message = {"openai": lambda d: d["error"]["message"],
                       "anthropic": lambda d: d["type"] == "error" and d["error"]["message"],
                       "gemini": lambda d: d["error"]["status"] == "INTERNAL" and d["error"]["message"]}[shape](data)
            assert "misconfigured" in message, data
            if foreign_record:
                assert "version 99" in message
        assert mock.requests() == [], "nothing reached a provider"
        short = filter_name.removeprefix("portcullis.")
        reason = "version" if foreign_record else "missing"
        assert metric_value(envoy, "portcullis_contract_errors_total", {"filter": short, "reason": reason}) == 3
        if not foreign_record:
            # A request the router would not route (and no record): not the filter's business.
            status, _, _ = raw_request(envoy.port, b"GET", b"/healthz")
            assert status != 500
