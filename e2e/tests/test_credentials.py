"""The credentials filter in real Envoy: tenants by virtual key, scope, per-tenant provider keys,
key pools with cooldown. One gateway for the module: gateway.yaml with a tenant config.

Virtual keys reach the gateway only; provider keys reach the mock only, each in its provider's
header. Cooldowns live in Envoy's shared data for the life of the process, so each cooldown test
uses a pool of its own.
"""
import hashlib
import json
import time

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from harness import envoy as envoy_h
from helpers import eventually, header, only_request, post_json

# Virtual keys the clients hold. The gateway config has only their SHA-256.
VIRTUAL_KEYS = {
    "team-a": "vk-team-a-0f3c9d1e",
    "team-b": "vk-team-b-7a21be90",
    "shared": "vk-shared-55c0e1aa",
    "pool-a": "vk-pool-a-2b8e4d17",
    "pool-b": "vk-pool-b-91d3f6c0",
    "pool-c": "vk-pool-c-4e6a0b52",
    "pool-d": "vk-pool-d-8c1f2a93",
}
# Provider keys, passed to the Wasm VM through Envoy's environment.
PROVIDER_ENV = {
    "OPENAI_API_KEY": "sk-default-openai-1",
    "OPENAI_API_KEY_2": "sk-default-openai-2",
    "ANTHROPIC_API_KEY": "sk-ant-default",
    "GEMINI_API_KEY": "AIza-default-gemini",
    "TEAM_A_OPENAI_KEY": "sk-team-a-openai",
    "TEAM_B_OPENAI_KEY": "sk-team-b-openai",
    "POOL_A_KEY_1": "sk-pool-a-1",
    "POOL_A_KEY_2": "sk-pool-a-2",
    "POOL_B_KEY_1": "sk-pool-b-1",
    "POOL_B_KEY_2": "sk-pool-b-2",
    "POOL_C_KEY": "sk-pool-c",
    "POOL_D_KEY": "sk-pool-d",
}
ALL_SECRETS = list(VIRTUAL_KEYS.values()) + list(PROVIDER_ENV.values())


def key_hash(key: str) -> str:
    """What `make hash-key KEY=...` prints."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def tenant_config() -> dict:
    vk = {t: [key_hash(k)] for t, k in VIRTUAL_KEYS.items()}
    return {
        "tenants": [
            {"id": "team-a", "keyHashes": vk["team-a"],
             "allow": [{"provider": "openai", "models": ["gpt-4o*"]},
                       {"provider": "anthropic"}, {"provider": "gemini"}],
             "credentials": {"openai": {"keyEnv": "TEAM_A_OPENAI_KEY"}}},
            {"id": "team-b", "keyHashes": vk["team-b"],
             "allow": [{"provider": "openai", "models": ["gpt-4o-mini"]},
                       {"provider": "anthropic", "models": ["claude-haiku-*"]}],
             "credentials": {"openai": {"keyEnv": "TEAM_B_OPENAI_KEY"}}},
            {"id": "shared", "keyHashes": vk["shared"]},
            {"id": "pool-a", "keyHashes": vk["pool-a"],
             "credentials": {"openai": {"keys": [{"keyEnv": "POOL_A_KEY_1"}, {"keyEnv": "POOL_A_KEY_2"}],
                                        "cooldownSeconds": 60}}},
            {"id": "pool-b", "keyHashes": vk["pool-b"],
             "credentials": {"openai": {"keys": [{"keyEnv": "POOL_B_KEY_1"}, {"keyEnv": "POOL_B_KEY_2"}],
                                        "cooldownSeconds": 60}}},
            {"id": "pool-c", "keyHashes": vk["pool-c"],
             "credentials": {"openai": {"keyEnv": "POOL_C_KEY", "cooldownSeconds": 60}}},
            {"id": "pool-d", "keyHashes": vk["pool-d"],
             "credentials": {"openai": {"keyEnv": "POOL_D_KEY", "cooldownSeconds": 60}}},
        ],
        "providers": {
            "openai": {"keyEnv": "OPENAI_API_KEY", "keys": [{"keyEnv": "OPENAI_API_KEY_2"}]},
            "anthropic": {"keyEnv": "ANTHROPIC_API_KEY"},
            "gemini": {"keyEnv": "GEMINI_API_KEY"},
        },
    }


# Test-only: Envoy's fault filter answers locally with the status a request asks for, *after* the
# credentials filter injected a key. Such a local 429 must not cool the key down.
FAULT_FILTER = {
    "name": "envoy.filters.http.fault",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        "abort": {"header_abort": {}, "percentage": {"numerator": 100}},
    },
}


def tenant_gateway_config(mock_port: int) -> dict:
    """gateway.yaml with the tenant config above and every variable it names passed to the VM."""
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", tenant_config())
    vm = envoy_h.wasm_config(cfg, "portcullis.credentials")["vm_config"]
    vm["environment_variables"] = {"host_env_keys": sorted(PROVIDER_ENV)}
    for listener in cfg["static_resources"]["listeners"]:
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["http_filters"].insert(len(hcm["http_filters"]) - 1, FAULT_FILTER)
    return envoy_h.adapt(cfg, mock_port)


@pytest.fixture(scope="module")
def gw(mock):
    with envoy_h.Envoy(tenant_gateway_config(mock.port), env=PROVIDER_ENV) as envoy:
        yield envoy


def chat_body(model="gpt-4o", text="hi") -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}]}).encode()


def post(gw, path: str, body: bytes, headers: dict):
    """(status, headers, parsed body) of a raw request."""
    return post_json(gw.url + path, body, headers)


def bearer(tenant: str) -> dict:
    return {"authorization": "Bearer " + VIRTUAL_KEYS[tenant]}


def assert_no_client_secret(recorded: dict):
    dumped = json.dumps(recorded)
    for vk in VIRTUAL_KEYS.values():
        assert vk not in dumped, "a virtual key reached the provider"


def openai_client(gw, tenant: str, key: str | None = None):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key or VIRTUAL_KEYS[tenant], max_retries=0)


# --- authentication ----------------------------------------------------------------------------

def test_openai_sdk_with_a_virtual_key_gets_the_tenants_provider_key(gw, mock):
    resp = openai_client(gw, "team-a").chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    assert resp.choices[0].message.content == "Mock reply from openai to: hello"
    req = only_request(mock)
    assert header(req, "authorization") == "Bearer " + PROVIDER_ENV["TEAM_A_OPENAI_KEY"]
    assert_no_client_secret(req)


def test_anthropic_sdk_with_a_virtual_key(gw, mock):
    claude = anthropic.Anthropic(base_url=gw.url, api_key=VIRTUAL_KEYS["team-a"], max_retries=0)
    msg = claude.messages.create(model="claude-haiku-4-5", max_tokens=32,
                                 messages=[{"role": "user", "content": "hello"}])
    assert msg.content[0].text == "Mock reply from anthropic to: hello"
    req = only_request(mock)
    assert header(req, "x-api-key") == PROVIDER_ENV["ANTHROPIC_API_KEY"]
    assert header(req, "authorization") is None
    assert_no_client_secret(req)


def test_gemini_sdk_with_a_virtual_key(gw, mock):
    client = genai.Client(api_key=VIRTUAL_KEYS["team-a"], http_options=genai_types.HttpOptions(base_url=gw.url))
    resp = client.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert resp.text == "Mock reply from gemini to: hello"
    req = only_request(mock)
    assert header(req, "x-goog-api-key") == PROVIDER_ENV["GEMINI_API_KEY"]
    assert_no_client_secret(req)


@pytest.mark.parametrize("name,value", [
    ("x-api-key", VIRTUAL_KEYS["team-a"]),          # anthropic SDK before 2.13
    ("api-key", VIRTUAL_KEYS["team-a"]),            # Azure SDK
    ("x-goog-api-key", VIRTUAL_KEYS["team-a"]),     # google-genai
    ("authorization", "bearer " + VIRTUAL_KEYS["team-a"]),
])
def test_every_sdk_header_carries_a_virtual_key_and_none_leaves(gw, mock, name, value):
    status, _, body = post(gw, "/v1/chat/completions", chat_body(), {name: value})
    assert status == 200, body
    req = only_request(mock)
    assert header(req, "authorization") == "Bearer " + PROVIDER_ENV["TEAM_A_OPENAI_KEY"]
    for h in ("x-api-key", "api-key", "x-goog-api-key"):
        assert header(req, h) is None, f"client header {h} reached the provider"
    assert_no_client_secret(req)


def test_a_gemini_query_key_is_a_virtual_key_too_and_never_logged(gw, mock):
    """Gemini's REST API also takes `?key=`: the gateway reads it like `x-goog-api-key`, and
    takes it off the path before anything is routed, forwarded or logged."""
    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}).encode()
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key="
    status, _, answer = post(gw, path + VIRTUAL_KEYS["team-a"], body, {})
    assert status == 200, answer
    req = only_request(mock)
    assert req["query"] == "alt=sse" and header(req, "x-goog-api-key") == PROVIDER_ENV["GEMINI_API_KEY"]
    assert_no_client_secret(req)

    status, _, answer = post(gw, path + "vk-wrong-in-query", body, {})
    assert status == 401 and answer["error"]["status"] == "UNAUTHENTICATED", answer
    assert len(mock.requests()) == 1, "no upstream call for the wrong key"
    assert eventually(lambda: len([e for e in gw.access_log() if "gemini-2.5-flash" in (e["path"] or "")]) >= 2,
                      timeout=15)
    logged = json.dumps(gw.access_log())
    assert VIRTUAL_KEYS["team-a"] not in logged and "vk-wrong-in-query" not in logged


def test_wrong_or_missing_key_is_401_in_each_clients_shape(gw, mock):
    with pytest.raises(openai.AuthenticationError) as exc:
        openai_client(gw, "", key="vk-wrong").chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["code"] == "invalid_api_key"
    assert "vk-wrong" not in json.dumps(exc.value.body)

    claude = anthropic.Anthropic(base_url=gw.url, api_key="vk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["error"]["type"] == "authentication_error"

    gemini = genai.Client(api_key="vk-wrong", http_options=genai_types.HttpOptions(base_url=gw.url))
    with pytest.raises(genai_errors.ClientError) as exc:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert exc.value.code == 401 and exc.value.status == "UNAUTHENTICATED"

    status, _, body = post(gw, "/v1/chat/completions", chat_body(), {})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    assert mock.requests() == [], "no upstream call for an unauthenticated request"


def test_unrouted_paths_are_authenticated_too(gw, mock):
    """A request the router does not route (unknown path) is authenticated too: no probing."""
    status, _, body = post(gw, "/v1/files", b"{}", {})
    assert status == 401, body
    status, _, body = post(gw, "/v1/files", b"{}", bearer("shared"))
    assert status == 404, body


# --- scope -------------------------------------------------------------------------------------

def test_out_of_scope_model_is_403_without_upstream_call(gw, mock):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        openai_client(gw, "team-b").chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 403
    claude = anthropic.Anthropic(base_url=gw.url, api_key=VIRTUAL_KEYS["team-b"], max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        claude.messages.create(model="claude-sonnet-next", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["error"]["type"] == "permission_error"
    with pytest.raises(openai.PermissionDeniedError):
        openai_client(gw, "team-a").chat.completions.create(
            model="o3", messages=[{"role": "user", "content": "x"}])
    assert mock.requests() == []


def test_alias_is_in_scope_when_its_target_is(gw, mock):
    """team-b may use gpt-4o-mini, so also `fast`, the operator's alias for it."""
    resp = openai_client(gw, "team-b").chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "x"}])
    assert resp.choices[0].message.content.startswith("Mock reply")
    assert only_request(mock)["json"]["model"] == "gpt-4o-mini"


def test_two_tenants_get_different_provider_keys_and_the_tenant_is_logged(gw, mock):
    for tenant in ("team-a", "team-b"):
        openai_client(gw, tenant).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"from {tenant}"}])
    sent = {r["json"]["messages"][0]["content"]: header(r, "authorization") for r in mock.requests()}
    assert sent == {"from team-a": "Bearer " + PROVIDER_ENV["TEAM_A_OPENAI_KEY"],
                    "from team-b": "Bearer " + PROVIDER_ENV["TEAM_B_OPENAI_KEY"]}

    def tenants_logged():
        got = [e["tenant"] for e in gw.access_log() if e.get("model") == "gpt-4o-mini"]
        return got if {"team-a", "team-b"} <= set(got) else None

    assert eventually(tenants_logged, timeout=12), [(e.get("model"), e.get("tenant")) for e in gw.access_log()]


# --- key pools ---------------------------------------------------------------------------------

def test_default_pool_is_used_round_robin(gw, mock):
    for _ in range(4):  # 4 requests on 2 workers: some worker serves two, and rotates
        status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("shared"))
        assert status == 200, body
    used = {header(r, "authorization") for r in mock.requests()}
    assert used == {"Bearer " + PROVIDER_ENV["OPENAI_API_KEY"], "Bearer " + PROVIDER_ENV["OPENAI_API_KEY_2"]}


def test_a_rate_limited_key_cools_down_and_the_next_request_uses_another(gw, mock):
    limited = "Bearer " + PROVIDER_ENV["POOL_A_KEY_1"]
    mock.add_rule(header={"name": "authorization", "value": limited}, status=429, retryAfter=30)
    # Each worker starts its rotation at key #0, so the first request uses the limited key.
    status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-a"))
    assert status == 429, body
    assert header(only_request(mock), "authorization") == limited
    mock.clear()
    for _ in range(4):
        status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-a"))
        assert status == 200, body
    used = [header(r, "authorization") for r in mock.requests()]
    assert used == ["Bearer " + PROVIDER_ENV["POOL_A_KEY_2"]] * 4, "every worker skips the cooling key"


def test_when_every_key_cools_down_the_client_gets_429_with_retry_after(gw, mock):
    for env in ("POOL_B_KEY_1", "POOL_B_KEY_2"):
        mock.add_rule(header={"name": "authorization", "value": "Bearer " + PROVIDER_ENV[env]},
                      status=429, retryAfter=2)
    for _ in range(2):
        status, _, _ = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-b"))
        assert status == 429
    assert {header(r, "authorization") for r in mock.requests()} == {
        "Bearer " + PROVIDER_ENV["POOL_B_KEY_1"], "Bearer " + PROVIDER_ENV["POOL_B_KEY_2"]}

    mock.clear()
    status, headers, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-b"))
    assert status == 429
    assert body["error"]["code"] == "rate_limit_exceeded"
    retry_after = int({k.lower(): v for k, v in headers.items()}["retry-after"])
    assert 1 <= retry_after <= 2, "the provider's Retry-After (2 s) wins over cooldownSeconds (60 s)"
    assert mock.requests() == [], "no upstream call while every key cools down"

    mock.clear_rules()
    time.sleep(retry_after + 1)
    status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-b"))
    assert status == 200, body


def test_a_429_without_retry_after_on_a_single_key_locks_nobody_out(gw, mock):
    """The provider limits the pool's only key once and says nothing about how long: the key
    cools down (it would be skipped if the pool had another), but the gateway does not answer
    later requests with 429s of its own; it forwards them and the provider decides."""
    key = "Bearer " + PROVIDER_ENV["POOL_D_KEY"]
    mock.add_rule(header={"name": "authorization", "value": key}, times=1,
                  raw={"status": 429, "headers": [["content-type", "application/json"]],
                       "body": '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}'})
    status, headers, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-d"))
    assert status == 429 and body["error"]["message"] == "Rate limit reached", "the provider's own 429"
    assert "retry-after" not in {k.lower() for k in headers}
    for _ in range(3):
        status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-d"))
        assert status == 200, body
    assert [header(r, "authorization") for r in mock.requests()] == [key] * 4, "every request reached the provider"


def test_local_replies_do_not_cool_a_key(gw, mock):
    """Only the provider's own 401/429 count: here Envoy answers 429 itself after the key was
    injected (fault filter), and the pool's single key stays in service."""
    abort = {"x-envoy-fault-abort-request": "429"}
    for _ in range(3):
        status, _, _ = post(gw, "/v1/chat/completions", chat_body(), {**bearer("pool-c"), **abort})
        assert status == 429
    assert mock.requests() == []
    for _ in range(2):
        status, _, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-c"))
        assert status == 200, body
    assert [header(r, "authorization") for r in mock.requests()] == ["Bearer " + PROVIDER_ENV["POOL_C_KEY"]] * 2
