"""Trusted identity header: Envoy's api_key_auth authenticates, the credentials filter maps the
forwarded client name to a tenant (envoy-configs/gateway-api-key-auth.yaml, unchanged).

The point to verify: a client cannot forge the identity header. api_key_auth overwrites it with
the authenticated client's name, and refuses requests without a valid key before the header is
ever read.
"""
import json

import anthropic
import openai
import pytest

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import eventually, header, only_request, post_json

TEAM_A_KEY = "sk-team-a-demo"  # as in gateway-api-key-auth.yaml
TEAM_B_KEY = "sk-team-b-demo"
IDENTITY_HEADER = "x-authenticated-client"


@pytest.fixture(scope="module")
def gw(mock):
    cfg = envoy_h.adapt(envoy_h.load("gateway-api-key-auth.yaml"), mock.port)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        yield envoy


def post(gw, headers: dict, model="gpt-4o"):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "who am i"}]}).encode()
    status, _, parsed = post_json(gw.url + "/v1/chat/completions", body, headers)
    return status, parsed


def test_authenticated_client_is_its_tenant_and_nothing_client_side_leaves(gw, mock):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_A_KEY, max_retries=0)
    resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content.startswith("Mock reply")
    req = only_request(mock)
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]
    assert header(req, IDENTITY_HEADER) is None, "the identity header stays in the gateway"
    assert TEAM_A_KEY not in json.dumps(req)


def test_forged_identity_header_is_overwritten(gw, mock):
    """team-a's key with a header claiming team-b: still team-a (team-b may not use gpt-4o)."""
    status, body = post(gw, {"authorization": "Bearer " + TEAM_A_KEY, IDENTITY_HEADER: "team-b"})
    assert status == 200, body

    def logged():
        entries = [e for e in gw.access_log() if e.get("model") == "gpt-4o" and e.get("status") == 200]
        return entries or None

    assert {e["tenant"] for e in eventually(logged, timeout=12)} == {"team-a"}


def test_forged_identity_header_without_a_key_is_refused(gw, mock):
    status, body = post(gw, {IDENTITY_HEADER: "team-a"})
    assert status == 401
    assert body["error"]["code"] == "invalid_api_key", "api_key_auth's refusal, reshaped as JSON"
    status, _ = post(gw, {"authorization": "Bearer sk-not-a-client", IDENTITY_HEADER: "team-a"})
    assert status == 401
    assert mock.requests() == []


def test_tenant_scope_applies_to_authenticated_clients(gw, mock):
    team_b = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_B_KEY, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        team_b.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert mock.requests() == []
    team_b.chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    claude = anthropic.Anthropic(base_url=gw.url, api_key=TEAM_B_KEY, max_retries=0)
    claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    anthropic_req = [r for r in mock.requests() if r["path"] == "/v1/messages"][0]
    assert header(anthropic_req, "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    assert header(anthropic_req, "authorization") is None
