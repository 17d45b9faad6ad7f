"""A token budget shared by two Envoy processes through Envoy's own rate limit filter, as in
envoy-configs/gateway-global-budget.yaml: each Envoy calls its own replica of the rate limit
service (portcullis-rls, on the limitador crate), and the two replicas keep their counters in one
Redis (Debian's redis-server, started here on a free port). The usage filter sets
`envoy.ratelimit.hits_addend` to each request's estimate before the rate limit filter's admission
call, and to the remainder (actual − estimate) for the `apply_on_stream_done` call.
"""
import concurrent.futures
import http.client
import json

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

import global_budget_config
from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import paths
from harness.redis import RedisServer
from harness.rls import RateLimitService
from helpers import eventually

TEAM_A, TEAM_B = "sk-team-a-demo", "sk-team-b-demo"
BUDGET = 3_000
MAX_TOKENS = 40


def limits(budget):
    return {"limits": [{
        "name": "tenant-tokens", "namespace": global_budget_config.DOMAIN, "max_value": budget,
        "seconds": 3600, "conditions": [], "variables": ["descriptors[0].tenant"],
    }]}


def gateway_config(mock_port, rls_port, reserve):
    cfg = global_budget_config.render_config(envoy_h.load("gateway.yaml"))
    envoy_h.set_plugin_config(cfg, "portcullis.usage", {"globalBudget": {"reserve": reserve}})
    cfg = envoy_h.adapt(cfg, mock_port)
    for cluster in cfg["static_resources"]["clusters"]:
        if cluster["name"] == "ratelimit":
            for sa in envoy_h.endpoints(cluster):
                sa["port_value"] = rls_port
    return cfg


@pytest.fixture(scope="module")
def redis():
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def replicas(redis):
    """Two replicas of the rate limit service sharing one Redis."""
    with RateLimitService(limits(BUDGET), redis=redis.url) as a, RateLimitService(limits(BUDGET), redis=redis.url) as b:
        yield a, b


@pytest.fixture(scope="module")
def rls(replicas):
    """The replica the first Envoy calls."""
    return replicas[0]


@pytest.fixture(scope="module")
def gateways(mock, replicas):
    """Two Envoy processes, each calling its own replica."""
    with envoy_h.Envoy(gateway_config(mock.port, replicas[0].port, reserve=16), env=PROVIDER_KEYS) as one, \
            envoy_h.Envoy(gateway_config(mock.port, replicas[1].port, reserve=16), env=PROVIDER_KEYS) as two:
        yield one, two


def client(gw, key):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)


def test_the_rls_sees_the_tenant_model_and_the_estimate_then_the_remainder(gateways, rls):
    one, _ = gateways
    before = len(rls.calls())
    reply = " ".join(["a longer answer than the reserve"] * 8)
    r = client(one, TEAM_B).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], extra_headers={"x-mock-reply": reply})
    calls = eventually(lambda: (c := rls.calls()[before:]) and len(c) >= 2 and c)
    admit, settle = calls[0], calls[1]
    assert admit["phase"] == "admit" and settle["phase"] == "settle", calls
    for call in (admit, settle):
        assert call["domain"] == "portcullis"
        assert call["descriptors"] == [{"phase": call["phase"], "tenant": "team-b", "model": "gpt-4o-mini"}], call
    # No max_tokens: the estimate is the body's bytes / 3 plus the reserve (16).
    assert admit["hits_addend"] > 16 and admit["code"] == "OK"
    assert settle["hits_addend"] == max(r.usage.total_tokens - admit["hits_addend"], 0), (r.usage, calls)
    assert settle["hits_addend"] > 0, "the answer outgrew the estimate: the remainder is charged"


def test_a_tenant_budget_holds_across_two_envoys(gateways, replicas, redis):
    """8 clients, alternating between the two Envoys, spend team-a's budget: what the provider
    counted for the admitted requests stays within it (each request's estimate covers its
    usage: max_tokens is set and the prompt estimate is an over-estimate), and the rest get
    429 in OpenAI's shape, before any provider call."""
    one, two = gateways
    spent, refused = [], []

    def call(i):
        gw = (one, two)[i % 2]
        try:
            r = client(gw, TEAM_A).chat.completions.create(
                model="gpt-4o-mini", max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": f"question {i}"}])
            spent.append(r.usage.total_tokens)
        except openai.RateLimitError as e:
            refused.append(e)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(call, range(120)))
    assert refused, "the budget was never reached"
    assert sum(spent) <= BUDGET, (sum(spent), len(spent))
    calls = [c for replica in replicas for c in replica.calls() if c["descriptors"][0]["tenant"] == "team-a"]
    admitted = [c for c in calls if c["phase"] == "admit" and c["code"] == "OK"]
    assert len(admitted) == len(spent)
    assert all(any(c["phase"] == "admit" for c in r.calls()) for r in replicas), "both replicas charged"
    # The budget is used, not refused early: what is left is less than one more estimate.
    charged = sum(c["hits_addend"] for c in admitted) + sum(c["hits_addend"] for c in calls if c["phase"] == "settle")
    assert BUDGET - charged < max(c["hits_addend"] for c in admitted), (charged, BUDGET)
    # One counter for team-a, in Redis, holding exactly what both replicas charged.
    keys = [k for k in redis.command("KEYS", "portcullis-rls:*").split(b"\r\n") if b"team-a" in k]
    assert len(keys) == 1, keys
    assert redis.command("GET", keys[0].decode()).split(b"\r\n")[1] == str(charged).encode()
    err = refused[0]
    assert err.status_code == 429
    assert "global budget `tenant-tokens` exhausted" in err.message, err.message
    assert int(err.response.headers["retry-after"]) >= 1
    assert err.body["type"] == "rate_limit_error", err.body

    # The same refusal in each client's own shape, on either Envoy.
    with pytest.raises(anthropic.RateLimitError) as refused_anthropic:
        anthropic.Anthropic(base_url=one.url, api_key=TEAM_A, max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert refused_anthropic.value.body["error"]["type"] == "rate_limit_error"
    assert "exhausted" in refused_anthropic.value.body["error"]["message"]
    gemini = genai.Client(api_key=TEAM_A, http_options=genai_types.HttpOptions(
        base_url=two.url, retry_options=genai_types.HttpRetryOptions(attempts=1)))
    with pytest.raises(genai_errors.ClientError) as refused_gemini:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert refused_gemini.value.code == 429 and refused_gemini.value.status == "RESOURCE_EXHAUSTED"


def test_another_tenant_is_not_charged_for_the_first(gateways, rls):
    _, two = gateways
    r = client(two, TEAM_B).chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                                    messages=[{"role": "user", "content": "still fine"}])
    assert r.choices[0].message.content


def test_a_stream_settles_its_remainder_when_done(gateways, rls):
    one, _ = gateways
    before = len(rls.calls())
    stream = client(one, TEAM_B).chat.completions.create(
        model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream it"}],
        extra_headers={"x-mock-reply": " ".join(["streamed"] * 60), "x-mock-chunks": "12"})
    usage = [c.usage for c in stream if c.usage][-1]
    calls = eventually(lambda: (c := rls.calls()[before:]) and len(c) >= 2 and c)
    admit, settle = calls
    assert (admit["phase"], settle["phase"]) == ("admit", "settle")
    assert settle["hits_addend"] == usage.total_tokens - admit["hits_addend"] > 0, (usage, calls)


def test_a_client_gone_mid_stream_is_charged_what_it_used_not_twice(gateways, rls):
    """The client hangs up after the first chunk: the settle call charges what was counted
    beyond the estimate (nothing here), never the estimate a second time."""
    one, _ = gateways
    before = len(rls.calls())
    conn = http.client.HTTPConnection("127.0.0.1", one.port, timeout=30)
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hang up"}]}
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {
        "content-type": "application/json", "authorization": f"Bearer {TEAM_B}",
        "x-mock-reply": " ".join(["slow"] * 40), "x-mock-chunks": "20", "x-mock-chunk-delay-ms": "200"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read1(64).startswith(b"data:")
    conn.sock.close()
    conn.close()
    calls = eventually(lambda: (c := rls.calls()[before:]) and len(c) >= 2 and c, timeout=10)
    assert [c["phase"] for c in calls] == ["admit", "settle"], calls
    assert calls[1]["hits_addend"] == 0, calls


def test_the_shipped_config_is_current_and_its_limits_load():
    assert global_budget_config.OUT.read_text() == global_budget_config.render(envoy_h.load("gateway.yaml")), \
        "stale: run `.venv/bin/python e2e/global_budget_config.py`"
    shipped = json.loads((paths.CONFIGS / "ratelimit-limits.json").read_text())
    with RateLimitService(shipped) as service:
        assert service.port > 0
    with pytest.raises(RuntimeError, match="limits"):
        RateLimitService({"limits": [{"namespace": "portcullis", "max_value": 1, "seconds": 60,
                                      "conditions": ["descriptors[0].tenant =="], "variables": []}]})


def test_a_budget_that_cannot_be_checked_refuses_without_calling_the_provider(mock):
    """Redis gone: the service answers UNAVAILABLE and the rate limit filter, failing closed
    (`failure_mode_deny`), refuses with 500 in the client's shape; the provider is not called.
    Redis back: the service reconnects and requests pass again."""
    with RedisServer() as lost, RateLimitService(limits(BUDGET), redis=lost.url) as service, \
            envoy_h.Envoy(gateway_config(mock.port, service.port, reserve=16), env=PROVIDER_KEYS) as gw:
        ok = client(gw, TEAM_B).chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                                        messages=[{"role": "user", "content": "before"}])
        assert ok.choices
        lost.stop()
        mock.clear()
        with pytest.raises(openai.InternalServerError) as refused:
            client(gw, TEAM_B).chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                                       messages=[{"role": "user", "content": "after"}])
        assert refused.value.status_code == 500
        assert isinstance(refused.value.body, dict) and "message" in refused.value.body, refused.value.body
        assert mock.requests() == []
        with RedisServer(port=lost.port):
            again = client(gw, TEAM_B).chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                                               messages=[{"role": "user", "content": "back"}])
            assert again.choices and len(mock.requests()) == 1
