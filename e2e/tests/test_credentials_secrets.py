"""No secret leaks: with Envoy at `--log-level trace`, every configured provider key and every
virtual key (and a wrong key a client tried) is searched for in Envoy's whole log, in every
response, in the access log (which carries the filter state) and in the admin API.

What Envoy itself prints is outside the filters' reach: at debug/trace level its HTTP codec,
connection manager and router dump every request header verbatim (envoyproxy/envoy#9652, still
open), so the client's key and the injected provider key appear there and nowhere else. The test
pins that down exactly: a secret may appear only in those three Envoy header dumps, never in a
line a Portcullis filter wrote. Production gateways keep the `http` and `router` components below
debug (`--component-log-level http:info,router:info`).
"""
import json
import re

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from harness import envoy as envoy_h
from test_credentials import (ALL_SECRETS, PROVIDER_ENV, VIRTUAL_KEYS, bearer, chat_body,
                              openai_client, post, tenant_gateway_config)

WRONG_KEY = "vk-wrong-d41d8cd98f00"
SECRETS = ALL_SECRETS + [WRONG_KEY]

# Envoy's own header dumps: (component, source file, message start).
ENVOY_HEADER_DUMPS = [
    ("http", "source/common/http/http1/codec_impl.cc", "completed header: key="),
    ("http", "source/common/http/conn_manager_impl.cc", "request headers complete"),
    ("router", "source/common/router/router.cc", "router decoding headers"),
]
RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [^\]]+\]\[\d+\]\[(\w+)\]\[([\w.]+)\] \[([^\]:]+):\d+\] (?:\[Tags: [^\]]*\] )?(.*)$")


@pytest.fixture(scope="module")
def traced(mock):
    with envoy_h.Envoy(tenant_gateway_config(mock.port), env=PROVIDER_ENV, log_level="trace") as envoy:
        yield envoy


def records(log: str):
    """Envoy's log as records: a record is a prefixed line plus its continuation lines (header
    dumps span several lines). Access-log lines (JSON) are records of their own."""
    out = []
    for line in log.splitlines():
        m = RECORD.match(line)
        if m:
            out.append({"level": m.group(1), "component": m.group(2), "file": m.group(3),
                        "message": m.group(4), "text": line})
        elif line.startswith("{") or not out:
            out.append({"level": "", "component": "access_log", "file": "", "message": line, "text": line})
        else:
            out[-1]["text"] += "\n" + line
    return out


def is_envoy_header_dump(record) -> bool:
    return record["level"] in ("debug", "trace") and any(
        record["component"] == c and record["file"] == f and record["message"].startswith(m)
        for c, f, m in ENVOY_HEADER_DUMPS)


def exercise(gw, mock) -> list[str]:
    """Every path of the filter: each SDK and header, 401, 403, provider 429, all keys cooling.
    Returns every response body seen."""
    bodies = []
    resp = openai_client(gw, "team-a").chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    bodies.append(resp.model_dump_json())
    stream = openai_client(gw, "team-a").chat.completions.create(
        model="gpt-4o", stream=True, messages=[{"role": "user", "content": "stream"}])
    bodies.extend(c.model_dump_json() for c in stream)
    claude = anthropic.Anthropic(base_url=gw.url, api_key=VIRTUAL_KEYS["team-b"], max_retries=0)
    bodies.append(claude.messages.create(model="claude-haiku-4-5", max_tokens=16,
                                         messages=[{"role": "user", "content": "hi"}]).model_dump_json())
    gemini = genai.Client(api_key=VIRTUAL_KEYS["shared"], http_options=genai_types.HttpOptions(base_url=gw.url))
    bodies.append(gemini.models.generate_content(model="gemini-2.5-flash", contents="hi").model_dump_json())
    for name in ("x-api-key", "api-key", "x-goog-api-key", "authorization"):
        value = ("Bearer " if name == "authorization" else "") + WRONG_KEY
        status, headers, body = post(gw, "/v1/chat/completions", chat_body(), {name: value})
        assert status == 401
        bodies.append(json.dumps([headers, body]))
    status, headers, body = post(gw, "/v1/messages", json.dumps(
        {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}).encode(),
        {"x-api-key": WRONG_KEY})
    assert status == 401 and body["type"] == "error"
    bodies.append(json.dumps([headers, body]))
    status, headers, body = post(gw, "/v1/chat/completions", chat_body("o3"), bearer("team-b"))
    assert status == 403
    bodies.append(json.dumps([headers, body]))
    # Provider 429 on both keys of a pool, then the gateway's own 429.
    for env in ("POOL_B_KEY_1", "POOL_B_KEY_2"):
        mock.add_rule(header={"name": "authorization", "value": "Bearer " + PROVIDER_ENV[env]}, status=429)
    for _ in range(3):
        status, headers, body = post(gw, "/v1/chat/completions", chat_body(), bearer("pool-b"))
        assert status == 429
        bodies.append(json.dumps([headers, body]))
    return bodies


def test_no_secret_in_any_log_line_response_or_admin_output(traced, mock):
    bodies = exercise(traced, mock)
    assert len(mock.requests()) >= 6, "the requests reached the mock"

    for body in bodies:
        for secret in SECRETS:
            assert secret not in body, "a secret in a response"

    log = traced.log_text()
    assert "[trace][wasm]" in log or "[debug][wasm]" in log, "the filters' own debug lines are in the log"
    leaks = []
    for record in records(log):
        found = [s for s in SECRETS if s in record["text"]]
        if found and not is_envoy_header_dump(record):
            leaks.append((found, record["text"][:300]))
    assert leaks == [], "secrets outside Envoy's own header dumps"
    # The only appearances are Envoy's header dumps, which are http/router at debug or trace.
    dumps = [r for r in records(log) if is_envoy_header_dump(r) and any(s in r["text"] for s in SECRETS)]
    assert dumps, "sanity: Envoy at trace level does dump request headers"
    wasm_lines = [r for r in records(log) if r["component"] == "wasm"]
    assert any("portcullis.credentials" in r["text"] for r in wasm_lines)

    access_log = [r["text"] for r in records(log) if r["component"] == "access_log"]
    assert any('"tenant":"team-a"' in line for line in access_log)

    for path in ("/config_dump?include_eds", "/stats", "/clusters"):
        out = traced.admin_get(path)
        for secret in SECRETS:
            assert secret not in out, f"a secret in the admin API {path}"
