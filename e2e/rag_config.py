"""envoy-configs/gateway-rag.yaml: the shipped gateway with retrieval-augmented generation on one
route, derived from envoy-configs/gateway.yaml. `make run` serves it.

    .venv/bin/python e2e/rag_config.py   # rewrites envoy-configs/gateway-rag.yaml

What it adds to gateway.yaml (README, "Retrieval (RAG)"):
- a route `docs-assistant` (an alias of gpt-4o-mini) and a prompt policy `docs` bound to it:
  the client's last user message is embedded with `text-embedding-3-small`, the two nearest
  documents of the Chroma collection `portcullis-docs` are added as a system message, and the
  answer lists their ids in `x-portcullis-rag-documents`; a store that does not answer in time
  leaves the request as it was (`failureMode: open`, counted);
- cluster `portcullis-self`: the gateway's own listener. The embeddings call goes through it, so
  the router picks the provider, the credentials filter adds the provider's key and the usage
  filter counts the tokens, as for any client's call; the prompt filter holds no provider key;
- cluster `chroma`: a Chroma server (`chroma run`, port 8000).
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402
from rag_seed import CHROMA_PORT, COLLECTION, EMBEDDINGS_MODEL  # noqa: E402,F401

OUT = paths.CONFIGS / "gateway-rag.yaml"
ROUTE = "docs-assistant"
HEADER = """\
# GENERATED from envoy-configs/gateway.yaml by e2e/rag_config.py: edit examples/gateway.yaml, then
# `make configs` (a test fails while this file is stale). The shipped gateway plus retrieval-augmented
# generation on the route `docs-assistant`: context from the Chroma collection `portcullis-docs`
# (cluster `chroma`), the question embedded through the gateway's own listener (cluster
# `portcullis-self`). README, "Retrieval (RAG)".
"""


def prompt_config() -> dict:
    return {
        "policies": {"docs": {"retrieval": {
            "embeddings": {"cluster": envoy_h.SELF_CLUSTER, "model": EMBEDDINGS_MODEL, "timeoutMs": 2000},
            "store": {"chroma": {"cluster": "chroma", "collection": COLLECTION, "timeoutMs": 1000}},
            "topK": 2,
            "maxContextChars": 4000,
            "failureMode": "open",
            "documentsHeader": True,
        }}},
        "bindings": [{"route": ROUTE, "policy": "docs"}],
    }


def static_cluster(name: str, port: int) -> dict:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    }


def render_config(gateway: dict) -> dict:
    cfg = copy.deepcopy(gateway)
    router = envoy_h.plugin_config(cfg, "portcullis.router")
    router["routes"].append({"model": ROUTE, "provider": "openai", "upstreamModel": "gpt-4o-mini"})
    envoy_h.set_plugin_config(cfg, "portcullis.router", router)
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", prompt_config())
    listener_port = cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
    cfg["static_resources"]["clusters"] += [
        static_cluster(envoy_h.SELF_CLUSTER, listener_port),
        static_cluster("chroma", CHROMA_PORT),
    ]
    return cfg


def render(gateway: dict) -> str:
    return envoy_h.generated(HEADER, render_config(gateway))


if __name__ == "__main__":
    sys.exit(envoy_h.write_generated(OUT, render))
