"""What a dead Wasm VM costs, and how an operator sees it.

The Portcullis filters cannot trap on client or provider input any more (test_hostile), but a
bug could still panic one. Under FAIL_CLOSED (and FAIL_OPEN) Envoy keeps the dead VM: every later
request on that worker fails (or skips the filter) until Envoy restarts, and no stat says so.
Every shipped config therefore uses FAIL_RELOAD: the VM is replaced after a backoff (1 s by
default) and `wasm.<plugin name>.vm_reload_success` counts it. Shown here with a filter that
traps on demand (the bench's probe filter, `trap`), in front of the real chain.
"""
import time
from pathlib import Path

import pytest
import yaml

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import paths
from helpers import chat_status, envoy_stat

TRAP_WASM = paths.ROOT / "target" / "bench-noop" / "wasm32-wasip1" / "release" / "bench_noop.wasm"


def trap_filter(policy: str) -> dict:
    return {"name": "trap", "typed_config": {"@type": envoy_h.WASM_FILTER_TYPE, "config": {
        "name": "trap", "root_id": "trap", "failure_policy": policy,
        "vm_config": {"vm_id": "trap", "runtime": "envoy.wasm.runtime.v8",
                      "code": {"local": {"filename": str(TRAP_WASM)}}},
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "trap"}}}}


@pytest.mark.parametrize("policy, recovers", [("FAIL_RELOAD", True), ("FAIL_CLOSED", False)])
def test_a_trapped_vm_is_replaced_only_under_fail_reload(mock, policy, recovers):
    assert TRAP_WASM.exists(), "built by `make test` (e2e/bench/noop)"
    cfg = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"].insert(0, trap_filter(policy))
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS, concurrency=1) as envoy:
        assert chat_status(envoy.url) == 200
        assert chat_status(envoy.url, trap=True) in (500, 503)
        time.sleep(2.5)  # past the reload backoff
        statuses = [chat_status(envoy.url) for _ in range(10)]
        if recovers:
            assert statuses == [200] * 10
            assert envoy_stat(envoy, "wasm.trap.vm_reload_success", default=0) >= 1, "the reload is counted"
        else:
            assert set(statuses) == {503}, "the dead VM stays dead on its (only) worker"
            assert envoy_stat(envoy, "wasm.trap.vm_reload_success", default=0) == 0
        assert "panicked at" in envoy.log_text(), "the panic is in Envoy's log"


def shipped_wasm_filters():
    for path in sorted(paths.CONFIGS.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            yield from ((path, f) for f in _wasm_configs(doc))


def _wasm_configs(node):
    if isinstance(node, dict):
        if node.get("@type") == envoy_h.WASM_FILTER_TYPE and "config" in node:
            yield node["config"]
        for value in node.values():
            yield from _wasm_configs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _wasm_configs(value)


def test_every_shipped_filter_reloads_a_trapped_vm():
    found = list(shipped_wasm_filters())
    assert len(found) >= 16, [str(p) for p, _ in found]
    wrong = [(str(p), c["name"], c.get("failure_policy")) for p, c in found if c.get("failure_policy") != "FAIL_RELOAD"]
    assert not wrong
    for plugin in Path(paths.ROOT / "istio").glob("*.wasmplugin.yaml"):
        assert yaml.safe_load(plugin.read_text())["spec"]["failStrategy"] == "FAIL_RELOAD", plugin
