"""The Envoy configs of the docker-compose demo, derived from envoy-configs/gateway.yaml.

    .venv/bin/python e2e/compose.py      # rewrites envoy-configs/compose/gateway*.yaml

The demo runs the shipped gateway unchanged but for where things are: in a container, Envoy
must listen on 0.0.0.0 for its published ports to reach it, and the mock provider is the
`mock` service, found by DNS, instead of 127.0.0.1:18080. Deriving the file (and a test that
fails when it is stale) keeps the demo from drifting from the gateway that the e2e tests prove.
The demo's `global-budget` profile runs gateway-global-budget.yaml the same way, its rate limit
service being the `ratelimit` service, and its `rag` profile gateway-rag.yaml, its vector store
being the `chroma` service.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import global_budget_config  # noqa: E402
import rag_config  # noqa: E402
from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402

OUT = paths.CONFIGS / "compose" / "gateway.yaml"
OUT_GLOBAL_BUDGET = paths.CONFIGS / "compose" / "gateway-global-budget.yaml"
OUT_RAG = paths.CONFIGS / "compose" / "gateway-rag.yaml"
MOCK_SERVICE = ("mock", envoy_h.MOCK_DEFAULT[1])
RLS_SERVICE = ("ratelimit", global_budget_config.RLS_PORT)
CHROMA_SERVICE = ("chroma", rag_config.CHROMA_PORT)
HEADER = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/compose.py: edit examples/gateway.yaml, then
# `make configs` (a test fails while this file is stale). The docker-compose demo's Envoy: the shipped gateway,
# listening on 0.0.0.0 inside its container and reaching the mock provider as the `mock`
# service. Its admin port is published too, for the demo's Prometheus and for you; never
# publish an admin port in production.
"""
HEADER_GLOBAL_BUDGET = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/compose.py (through e2e/global_budget_config.py):
# edit examples/gateway.yaml, then `make configs` (a test fails while this file is stale). The
# docker-compose demo's `global-budget` profile: gateway-global-budget.yaml with the demo's
# addresses (the mock, the `ratelimit` service). Never publish an admin port in production.
"""
HEADER_RAG = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/compose.py (through e2e/rag_config.py): edit
# examples/gateway.yaml, then `make configs` (a test fails while this file is stale). The docker-compose demo's
# `rag` profile: gateway-rag.yaml with the demo's addresses (the mock, the `chroma` service; the
# embeddings call still goes to this Envoy's own listener). Never publish an admin port in
# production.
"""


def derive(gateway: dict) -> dict:
    """Any gateway config (gateway.yaml or one derived from it) with the demo's addresses."""
    cfg = copy.deepcopy(gateway)
    cfg["admin"]["address"]["socket_address"]["address"] = "0.0.0.0"
    for listener in cfg["static_resources"]["listeners"]:
        listener["address"]["socket_address"]["address"] = "0.0.0.0"
    for cluster in cfg["static_resources"]["clusters"]:
        mocked = [sa for sa in envoy_h.endpoints(cluster)
                  if (sa["address"], sa["port_value"]) == envoy_h.MOCK_DEFAULT]
        if mocked:
            point(cluster, mocked, MOCK_SERVICE)
        if cluster["name"] == "ratelimit":
            point(cluster, list(envoy_h.endpoints(cluster)), RLS_SERVICE)
        if cluster["name"] == "chroma":
            point(cluster, list(envoy_h.endpoints(cluster)), CHROMA_SERVICE)
    return cfg


def point(cluster: dict, addresses: list[dict], service: tuple[str, int]) -> None:
    """Sends `cluster`'s `addresses` to a compose service, found by DNS."""
    cluster["type"] = "STRICT_DNS"
    cluster["dns_lookup_family"] = "V4_ONLY"
    for sa in addresses:
        sa["address"], sa["port_value"] = service


def render(gateway: dict) -> str:
    return envoy_h.generated(HEADER, derive(gateway))


def render_global_budget(gateway: dict) -> str:
    return envoy_h.generated(HEADER_GLOBAL_BUDGET, derive(global_budget_config.render_config(gateway)))


def render_rag(gateway: dict) -> str:
    return envoy_h.generated(HEADER_RAG, derive(rag_config.render_config(gateway)))


def main() -> int:
    OUT.parent.mkdir(exist_ok=True)
    envoy_h.write_generated(OUT, render)
    envoy_h.write_generated(OUT_GLOBAL_BUDGET, render_global_budget)
    return envoy_h.write_generated(OUT_RAG, render_rag)


if __name__ == "__main__":
    sys.exit(main())
