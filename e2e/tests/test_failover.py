"""Cross-provider failover (envoy-configs/gateway-failover.yaml): model `resilient` is OpenAI
first, then Anthropic, then Gemini. Envoy retries a failed attempt on the next provider; the
router and credentials filters re-do their per-attempt work upstream, so the client gets a
normal answer in its own API, streaming included. Every case runs twice: on that bootstrap, and
on the config Istio would generate from istio/*.yaml (portcullis-failover.envoyfilter.yaml)."""
import json

import openai
import pytest

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import istio
from harness.process import free_port
from helpers import eventually, header

OPENAI_PATH = "/v1/chat/completions"


def with_idle_timeout(cfg: dict, idle_timeout: str) -> dict:
    """The retry policy's time to first byte, shortened for the tests."""
    for vh in cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"]:
        for route in vh["routes"]:
            if "retry_policy" in route.get("route", {}):
                route["route"]["retry_policy"]["per_try_idle_timeout"] = idle_timeout
    return cfg


def failover_config(mock_port: int, idle_timeout: str = "1s") -> dict:
    return with_idle_timeout(envoy_h.adapt(envoy_h.load("gateway-failover.yaml"), mock_port), idle_timeout)


def istio_failover_config(mock_port: int, idle_timeout: str = "1s") -> dict:
    return with_idle_timeout(envoy_h.adapt(istio.bootstrap(istio.resources()), mock_port), idle_timeout)


@pytest.fixture(scope="module", params=["bootstrap", "istio"])
def failover_gateway(request, mock):
    config = failover_config if request.param == "bootstrap" else istio_failover_config
    with envoy_h.Envoy(config(mock.port), env=PROVIDER_KEYS) as envoy:
        envoy.flavour = request.param
        yield envoy


@pytest.fixture
def client(failover_gateway):
    return openai.OpenAI(base_url=failover_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def paths_of(mock):
    return [r["path"] for r in mock.requests()]


def ask(client, **kw):
    raw = client.chat.completions.with_raw_response.create(
        model="resilient", messages=[{"role": "user", "content": "are you there?"}], **kw)
    return raw.headers, raw.parse()


def test_healthy_primary_serves_alone(client, mock):
    headers, resp = ask(client)
    assert resp.choices[0].message.content == "Mock reply from openai to: are you there?"
    assert headers["x-portcullis-attempts"] == "1" and headers["x-portcullis-provider"] == "openai"
    [req] = mock.requests()
    assert req["json"]["model"] == "gpt-4o-mini"
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]


@pytest.mark.parametrize("status", [429, 503])
def test_primary_error_fails_over_to_anthropic(client, mock, status):
    mock.add_rule(pathContains=OPENAI_PATH, status=status)
    headers, resp = ask(client)
    assert resp.choices[0].message.content == "Mock reply from anthropic to: are you there?"
    assert resp.model == "claude-haiku-4-5", "the model that answered"
    assert headers["x-portcullis-attempts"] == "2" and headers["x-portcullis-provider"] == "anthropic"
    first, second = mock.requests()
    assert first["path"] == OPENAI_PATH
    assert second["path"] == "/v1/messages"
    # The second attempt was re-translated from the client's body and carries Anthropic's key.
    assert second["json"]["model"] == "claude-haiku-4-5"
    assert second["json"]["messages"] == [{"role": "user", "content": "are you there?"}]
    assert header(second, "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    assert header(second, "authorization") is None


def test_streaming_request_fails_over(client, mock):
    mock.add_rule(pathContains=OPENAI_PATH, status=429)
    chunks = list(client.chat.completions.create(
        model="resilient", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream through failover"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "Mock reply from anthropic to: stream through failover"
    assert chunks[-1].usage.completion_tokens > 0
    assert paths_of(mock) == [OPENAI_PATH, "/v1/messages"]


def test_two_failures_reach_the_third_provider(client, mock):
    mock.add_rule(pathContains=OPENAI_PATH, status=500)
    mock.add_rule(pathContains="/v1/messages", status=529)
    headers, resp = ask(client)
    assert resp.choices[0].message.content == "Mock reply from gemini to: are you there?"
    assert headers["x-portcullis-attempts"] == "3"
    assert header(mock.requests()[-1], "x-goog-api-key") == PROVIDER_KEYS["GEMINI_API_KEY"]


def test_every_provider_failing_returns_the_last_error_in_the_clients_shape(client, mock):
    mock.add_rule(status=429, retryAfter=3)
    with pytest.raises(openai.RateLimitError) as exc:
        ask(client)
    assert exc.value.response.headers["x-portcullis-attempts"] == "3"
    assert len(mock.requests()) == 3


def test_timeout_before_first_byte_fails_over(client, mock):
    mock.add_rule(pathContains=OPENAI_PATH, latencyMs=4000)
    headers, resp = ask(client)
    assert resp.choices[0].message.content.startswith("Mock reply from anthropic")
    assert headers["x-portcullis-attempts"] == "2"


def test_failover_is_in_the_access_log(client, failover_gateway, mock):
    if failover_gateway.flavour == "istio":
        pytest.skip("the Istio emulation has no access log (Istio configures it through its Telemetry API)")
    mock.add_rule(pathContains=OPENAI_PATH, status=503)
    before = len(failover_gateway.access_log())
    ask(client)
    entries = eventually(lambda: failover_gateway.access_log()[before:], timeout=15)
    assert entries, "the request is in the access log"
    entry = entries[-1]
    assert (entry["provider"], entry["model"], entry["route"]) == ("anthropic", "claude-haiku-4-5", "resilient")
    assert entry["request_model"] == "resilient"
    # The client's path, though each attempt rewrote it upstream (shared with the access log).
    assert entry["path"] == OPENAI_PATH
    # Usage is read in the format of the provider that actually answered.
    assert json.loads(entry["usage"])["outputTokens"] > 0


def test_refused_connection_fails_over(mock):
    cfg = failover_config(mock.port)
    for cluster in cfg["static_resources"]["clusters"]:
        if cluster["name"] == "openai":
            ep = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
            ep["address"]["socket_address"]["port_value"] = free_port()  # nothing listens there
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        client = openai.OpenAI(base_url=envoy.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        headers, resp = ask(client)
        assert resp.choices[0].message.content.startswith("Mock reply from anthropic")
        assert headers["x-portcullis-attempts"] == "2"
        assert paths_of(mock) == ["/v1/messages"]
