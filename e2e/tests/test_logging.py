"""The filters log at the level Envoy's `wasm` logger is set to, and follow it within a second
when an operator changes it on the admin port — without formatting lines Envoy would drop."""
import json
import time
import urllib.request

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import eventually, post_json

ROUTER_DEBUG = "model gpt-4o-mini -> openai"


def chat(envoy):
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, _, answer = post_json(envoy.url + "/v1/chat/completions", body,
                                  {"authorization": "Bearer sk-client"})
    assert status == 200, answer


def set_wasm_level(envoy, level: str):
    req = urllib.request.Request(f"{envoy.admin}/logging?wasm={level}", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def test_debug_lines_follow_the_admin_log_level(mock):
    cfg = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS, log_level="info") as envoy:
        # Envoy writes its own log before the response leaves (the router logs while routing):
        # once the client has its answer, the line is in the log or will never be.
        chat(envoy)
        assert ROUTER_DEBUG not in envoy.log_text()

        set_wasm_level(envoy, "debug")
        time.sleep(1.5)  # each root context asks for the level once a second
        chat(envoy)
        assert eventually(lambda: ROUTER_DEBUG in envoy.log_text()), envoy.log_tail()
        # Envoy prefixes a filter's lines with its name, root_id and vm_id: the rendered
        # bootstrap sets only the name, so it appears once.
        line = next(l for l in envoy.log_text().splitlines() if ROUTER_DEBUG in l)
        assert f"wasm log portcullis.router: {ROUTER_DEBUG}" in line, line

        set_wasm_level(envoy, "info")
        time.sleep(1.5)
        before = envoy.log_text().count(ROUTER_DEBUG)
        chat(envoy)
        chat(envoy)
        assert envoy.log_text().count(ROUTER_DEBUG) == before
