"""Credentials with cross-provider failover (envoy-configs/gateway-failover.yaml with tenants).

The downstream instance identifies the tenant; the upstream instance (`placement: upstream`, on
the failover cluster) injects each attempt's own provider key and cools down a key its provider
refused, so a retry on the next provider never carries the first provider's key.

The fallback providers are declared OpenAI-compatible here (same clusters, same endpoint
metadata), so each attempt is an OpenAI chat request and the test is about keys, not translation:
the second attempt must carry the second provider's key.
"""
import json

import pytest

from harness import envoy as envoy_h
from helpers import header
from test_credentials import key_hash, post

VIRTUAL_KEYS = {"fo-wide": "vk-failover-wide-61b0", "fo-openai-only": "vk-failover-narrow-77c2",
                "fo-cool": "vk-failover-cool-0d94"}
ENV = {
    "OPENAI_API_KEY": "sk-fo-default-openai",
    "ANTHROPIC_API_KEY": "sk-ant-fo-default",
    "GEMINI_API_KEY": "AIza-fo-default",
    "FO_OPENAI_KEY": "sk-fo-wide-openai",
    "FO_COOL_OPENAI": "sk-fo-cool-openai",
    "FO_COOL_BACKUP_1": "sk-fo-cool-backup-1",
    "FO_COOL_BACKUP_2": "sk-fo-cool-backup-2",
}


def credentials_config(placement: str) -> dict:
    return {
        "placement": placement,
        "tenants": [
            {"id": "fo-wide", "keyHashes": [key_hash(VIRTUAL_KEYS["fo-wide"])],
             "credentials": {"openai": {"keyEnv": "FO_OPENAI_KEY", "cooldownSeconds": 60}}},
            {"id": "fo-openai-only", "keyHashes": [key_hash(VIRTUAL_KEYS["fo-openai-only"])],
             "allow": [{"provider": "openai"}]},
            {"id": "fo-cool", "keyHashes": [key_hash(VIRTUAL_KEYS["fo-cool"])],
             "credentials": {"openai": {"keyEnv": "FO_COOL_OPENAI"},
                             "anthropic": {"keyEnv": "FO_COOL_BACKUP_1"},
                             "gemini": {"keyEnv": "FO_COOL_BACKUP_2"}}},
        ],
        "providers": {
            "openai": {"keyEnv": "OPENAI_API_KEY"},
            "anthropic": {"keyEnv": "ANTHROPIC_API_KEY"},
            "gemini": {"keyEnv": "GEMINI_API_KEY"},
        },
    }


ROUTER_CONFIG = {
    "providers": {
        "openai": {"kind": "openai"},
        "anthropic": {"kind": "openai-compatible", "host": "backup-1.internal", "basePath": "/v1"},
        "gemini": {"kind": "openai-compatible", "host": "backup-2.internal", "basePath": "/v1"},
    },
    "routes": [
        {"model": "resilient", "provider": "openai", "upstreamModel": "gpt-4o-mini",
         "fallbacks": [{"provider": "anthropic", "model": "backup-model"},
                       {"provider": "gemini", "model": "backup-model-2"}],
         "failoverCluster": "failover-resilient"},
    ],
}


@pytest.fixture(scope="module")
def gw(mock):
    cfg = envoy_h.load("gateway-failover.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.router", ROUTER_CONFIG)
    for name, placement in (("portcullis.credentials", "downstream"),
                            ("portcullis.credentials.upstream", "upstream")):
        envoy_h.set_plugin_config(cfg, name, credentials_config(placement))
        envoy_h.wasm_config(cfg, name)["vm_config"]["environment_variables"] = {"host_env_keys": sorted(ENV)}
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=ENV) as envoy:
        yield envoy


def resilient(gw, tenant: str):
    body = json.dumps({"model": "resilient", "messages": [{"role": "user", "content": "fail over"}]}).encode()
    return post(gw, "/v1/chat/completions", body, {"authorization": "Bearer " + VIRTUAL_KEYS[tenant]})


def test_each_attempt_carries_its_own_providers_key_and_a_refused_key_cools_down(gw, mock):
    mock.add_rule(header={"name": "authorization", "value": "Bearer " + ENV["FO_OPENAI_KEY"]},
                  status=429, retryAfter=30)
    status, _, body = resilient(gw, "fo-wide")
    assert status == 200, body
    openai_req, backup_req = mock.requests()
    assert header(openai_req, "host") == "api.openai.com"
    assert header(openai_req, "authorization") == "Bearer " + ENV["FO_OPENAI_KEY"], "the tenant's own key"
    assert header(backup_req, "host") == "backup-1.internal"
    assert header(backup_req, "authorization") == "Bearer " + ENV["ANTHROPIC_API_KEY"], \
        "the second attempt carries the second provider's key, not the first's"
    for req in (openai_req, backup_req):
        for secret in VIRTUAL_KEYS.values():
            assert secret not in json.dumps(req)

    # The 429 was seen per attempt (upstream), so the key cools down. A failover attempt with
    # every key cooling still goes out (Envoy fails over only on a provider's answer; a local
    # reply from an upstream filter would be final), and the provider's 429 moves it on.
    mock.clear()
    status, _, body = resilient(gw, "fo-wide")
    assert status == 200, body
    assert [header(r, "host") for r in mock.requests()] == ["api.openai.com", "backup-1.internal"]


def test_last_attempt_with_every_key_cooling_is_answered_by_the_gateway(gw, mock):
    """All three providers refuse fo-cool's keys. Next time, the first two attempts still go out
    (a fallback follows them); the last one has nothing to fail over to: the gateway answers 429
    with Retry-After and the last provider is not called."""
    keys = [ENV["FO_COOL_OPENAI"], ENV["FO_COOL_BACKUP_1"], ENV["FO_COOL_BACKUP_2"]]
    for key in keys:
        mock.add_rule(header={"name": "authorization", "value": "Bearer " + key}, status=429, retryAfter=30)
    status, _, _ = resilient(gw, "fo-cool")
    assert status == 429
    assert [header(r, "authorization") for r in mock.requests()] == ["Bearer " + k for k in keys]

    mock.clear()
    status, headers, body = resilient(gw, "fo-cool")
    assert status == 429
    assert "every key for provider `gemini`" in body["error"]["message"]
    assert 1 <= int({k.lower(): v for k, v in headers.items()}["retry-after"]) <= 30
    assert [header(r, "authorization") for r in mock.requests()] == ["Bearer " + k for k in keys[:2]]


def test_failover_to_a_provider_outside_the_tenants_scope_is_refused(gw, mock):
    mock.add_rule(pathContains="/chat/completions", status=429, times=1)
    status, _, body = resilient(gw, "fo-openai-only")
    assert status == 403, body
    assert body["error"]["code"] == "permission_denied"
    assert [header(r, "host") for r in mock.requests()] == ["api.openai.com"], \
        "the fallback provider is never called for a tenant that may only use OpenAI"
