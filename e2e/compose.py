"""The Envoy config of the docker-compose demo, derived from envoy-configs/gateway.yaml.

    .venv/bin/python e2e/compose.py      # rewrites envoy-configs/compose/gateway.yaml

The demo runs the shipped gateway unchanged but for where things are: in a container, Envoy
must listen on 0.0.0.0 for its published ports to reach it, and the mock provider is the
`mock` service, found by DNS, instead of 127.0.0.1:18080. Deriving the file (and a test that
fails when it is stale) keeps the demo from drifting from the gateway that the e2e tests prove.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402

OUT = paths.CONFIGS / "compose" / "gateway.yaml"
MOCK_SERVICE = ("mock", envoy_h.MOCK_DEFAULT[1])
HEADER = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/compose.py: edit gateway.yaml, then rerun it
# (a test fails while this file is stale). The docker-compose demo's Envoy: the shipped gateway,
# listening on 0.0.0.0 inside its container and reaching the mock provider as the `mock`
# service. Its admin port is published too, for the demo's Prometheus and for you; never
# publish an admin port in production.
"""


def derive(gateway: dict) -> dict:
    cfg = copy.deepcopy(gateway)
    cfg["admin"]["address"]["socket_address"]["address"] = "0.0.0.0"
    for listener in cfg["static_resources"]["listeners"]:
        listener["address"]["socket_address"]["address"] = "0.0.0.0"
    for cluster in cfg["static_resources"]["clusters"]:
        mocked = [sa for sa in envoy_h.endpoints(cluster)
                  if (sa["address"], sa["port_value"]) == envoy_h.MOCK_DEFAULT]
        if mocked:
            cluster["type"] = "STRICT_DNS"
            cluster["dns_lookup_family"] = "V4_ONLY"
            for sa in mocked:
                sa["address"], sa["port_value"] = MOCK_SERVICE
    return cfg


def render(gateway: dict) -> str:
    return HEADER + yaml.safe_dump(derive(gateway), sort_keys=False, width=100)


def main() -> int:
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render(envoy_h.load("gateway.yaml")))
    print(f"written: {OUT.relative_to(paths.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
