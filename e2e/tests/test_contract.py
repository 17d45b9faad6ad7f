"""The filters' contract fails closed in real Envoy: credentials, prompt and usage need the
router's record on a routed request; without the router (or with a record another version of it
wrote, as after a partial upgrade of the WasmPlugins) they answer 500 in the client's API shape
and nothing reaches a provider, instead of skipping their checks. Requests the router would not
route pass as before. Under failover the same holds for the route plan and for the answer: an
answer whose provider cannot be told is refused (502) rather than passed unguarded, and still
counted by usage; a plan no filter can read stops every attempt before a provider is called."""
import json

import pytest

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import eventually, metric_value, raw_request

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


# --- Under failover: the answer's provider must be known to guard and count it ----------------

GUARDED = {"policies": {"strict": {"guards": {"response": [{"detector": "email", "action": "mask"}]}}},
           "defaultPolicy": "strict"}
BUDGET = {"budgets": [{"name": "daily", "tokens": 1000000, "window": "day"}]}
# The mock echoes the question: the answer carries an address the response guard must mask.
QUESTION = "write to ann@example.com"


def failover_gateway(mock_port: int, hide_provider: bool = False, plan_overwrite: str | None = None) -> dict:
    cfg = envoy_h.load("gateway-failover.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", GUARDED)
    envoy_h.set_plugin_config(cfg, "portcullis.usage", BUDGET)
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    if hide_provider:
        # A route that drops the upstream router's header: to the filters after it, the answer
        # no longer says which provider served it (as on a cluster without the upstream filter).
        for vh in hcm["route_config"]["virtual_hosts"]:
            for route in vh["routes"]:
                if route.get("route", {}).get("cluster") == "failover-resilient":
                    route["response_headers_to_remove"] = ["x-portcullis-provider"]
    if plan_overwrite is not None:
        # Right after the router (which wrote the plan at the end of the body, before the
        # filters after it see the headers): a plan no filter of this version can read.
        at = next(i for i, f in enumerate(hcm["http_filters"]) if f["name"] == "portcullis.router")
        overwrite = json.loads(json.dumps(FOREIGN_RECORD))
        overwrite["typed_config"]["on_request_headers"][0]["object_key"] = "wasm.portcullis.route_plan"
        overwrite["typed_config"]["on_request_headers"][0]["format_string"]["text_format_source"]["inline_string"] = plan_overwrite
        hcm["http_filters"].insert(at + 1, overwrite)
    return envoy_h.adapt(cfg, mock_port)


def ask(envoy, stream: bool = False):
    body = {"model": "resilient", "messages": [{"role": "user", "content": QUESTION}], "stream": stream}
    return raw_request(envoy.port, b"POST", b"/v1/chat/completions",
                       [(b"content-type", b"application/json"), (b"authorization", b"Bearer x")],
                       json.dumps(body).encode())


def test_a_failover_answer_is_guarded_and_counted_when_its_provider_is_known(mock):
    with envoy_h.Envoy(failover_gateway(mock.port), env=PROVIDER_KEYS) as envoy:
        status, headers, raw = ask(envoy)
        assert status == 200, raw
        assert headers["x-portcullis-provider"] == b"openai"
        content = json.loads(raw)["choices"][0]["message"]["content"]
        assert "ann@example.com" not in content and "[EMAIL]" in content, content
        assert metric_value(envoy, "portcullis_contract_errors_total", {}) == 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_failover_answer_whose_provider_cannot_be_told_is_refused_and_still_counted(mock, stream):
    with envoy_h.Envoy(failover_gateway(mock.port, hide_provider=True), env=PROVIDER_KEYS) as envoy:
        status, _, raw = ask(envoy, stream=stream)
        # The provider answered; nobody can tell which one, so nobody can guard or translate it.
        assert len(mock.requests()) == 1
        assert status == 502, raw
        assert b"ann@example.com" not in raw, raw
        assert "misconfigured" in json.loads(raw)["error"]["message"], raw
        for short in ("prompt", "usage", "router"):
            assert metric_value(envoy, "portcullis_contract_errors_total",
                                {"filter": short, "reason": "no_answering_provider"}) == 1, short
        # Usage recorded it rather than skipping it: estimated, for the provider `unknown`.
        requests = lambda: metric_value(envoy, "portcullis_requests_total", {"gen_ai_provider_name": "unknown"})
        assert eventually(requests) == 1


def test_an_unreadable_plan_stops_every_attempt_before_a_provider_is_called(mock):
    with envoy_h.Envoy(failover_gateway(mock.port, plan_overwrite='{"v":1,"plan":"garbage"}'),
                       env=PROVIDER_KEYS) as envoy:
        status, _, raw = ask(envoy)
        assert status == 500, raw
        assert "misconfigured" in json.loads(raw)["error"]["message"], raw
        assert mock.requests() == [], "nothing reached a provider"
        assert metric_value(envoy, "portcullis_contract_errors_total",
                            {"filter": "router", "reason": "plan_unreadable"}) >= 1
