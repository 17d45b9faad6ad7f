"""envoy-configs/gateway-suite.yaml: the shipped gateway in the suite layout, derived from
envoy-configs/gateway.yaml.

    .venv/bin/python e2e/suite_config.py   # rewrites envoy-configs/gateway-suite.yaml

The same chain, configs, clusters and access log; only the modules differ: every Portcullis
filter loads portcullis_suite.wasm with one `vm_id` and one `vm_config`, so Envoy runs the four
in one VM per worker (README, "One module or four"). Deriving it (and a test that fails when it
is stale) keeps it from drifting from the gateway the e2e tests prove.
"""
from __future__ import annotations

import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402

OUT = paths.CONFIGS / "gateway-suite.yaml"
HEADER = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/suite_config.py: edit examples/gateway.yaml,
# then `make configs` (a test fails while this file is stale). The shipped gateway in the suite
# layout: every Portcullis filter loads portcullis_suite.wasm with the same vm_id and vm_config
# (environment included), so the four run in one VM per worker instead of four; each keeps its
# own config, place and failure policy, and its root_id (named after the filter) picks its role. README, "One module or four".
"""


def render(gateway: dict) -> str:
    suite = envoy_h.suite_layout(gateway, wasm=envoy_h.SUITE_WASM_RELATIVE)
    return envoy_h.generated(HEADER, suite)


if __name__ == "__main__":
    sys.exit(envoy_h.write_generated(OUT, render))
