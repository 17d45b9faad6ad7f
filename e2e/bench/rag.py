"""What retrieval adds to a request's latency (not part of `make bench`; ≈ 1 min).

    .venv/bin/python e2e/bench/rag.py [requests per row, default 400]

One Envoy on envoy-configs/gateway-rag.yaml in front of the mock, a local Chroma holding the demo
documents (e2e/rag/demo-docs.json). Sequential requests on one keep-alive connection, rows
interleaved request by request so the machine's drift hits both alike:
- `docs-assistant`: retrieval (embeddings through the gateway's own listener, Chroma query,
  context injected);
- `gpt-4o-mini`: the same gateway, a route no retrieval policy binds.
Prints p50/p99 of each, their difference, and Chroma's own query time from this client for
scale. The CPU side — what an unbound route pays for policies existing — is `ab.py chain chat N
full rag-unbound`.
"""
from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import rag_config  # noqa: E402
import rag_seed  # noqa: E402
from harness import envoy as envoy_h  # noqa: E402
from harness import process  # noqa: E402
from harness.chroma import ChromaServer  # noqa: E402
from harness.mock import MockServer  # noqa: E402

QUESTION = "How long do refunds take?"


def body(model: str) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": QUESTION}]}).encode()


def quantiles(samples: list[float]) -> dict:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": statistics.median(samples), "p99": cuts[98]}


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with MockServer("--no-record") as mock, ChromaServer() as chroma:
        cfg = envoy_h.adapt(envoy_h.load("gateway-rag.yaml"), mock.port, listener_port=process.free_port())
        envoy_h.point_cluster(cfg, "chroma", chroma.port)
        with envoy_h.Envoy(cfg, env={"OPENAI_API_KEY": "sk-bench"}, log_level="warning") as envoy:
            rag_seed.seed(envoy.url, chroma.url)
            conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=10)
            headers = {"content-type": "application/json", "authorization": "Bearer sk-bench-client"}
            rows = {rag_config.ROUTE: [], "gpt-4o-mini": []}
            for i in range(n + 20):
                for model, samples in rows.items():
                    t0 = time.perf_counter()
                    conn.request("POST", "/v1/chat/completions", body(model), headers)
                    resp = conn.getresponse()
                    answer = resp.read()
                    elapsed = (time.perf_counter() - t0) * 1000
                    if resp.status != 200:
                        raise RuntimeError(f"{model}: HTTP {resp.status} {answer[:200]!r}")
                    if model == rag_config.ROUTE and b"grounded in" not in answer:
                        raise RuntimeError("the retrieval route answered without context")
                    if i >= 20:  # warm-up: VMs, connections, the collection id
                        samples.append(elapsed)
            conn.close()
            vector = mock_vector(mock.url)
            cid = chroma.collection_id(rag_config.COLLECTION)
            store = []
            for _ in range(n):
                t0 = time.perf_counter()
                chroma.query(cid, vector, 2)
                store.append((time.perf_counter() - t0) * 1000)
    rag, plain, chroma_q = quantiles(rows[rag_config.ROUTE]), quantiles(rows["gpt-4o-mini"]), quantiles(store)
    print(f"{n} sequential requests per row (ms)    p50     p99")
    print(f"  retrieval route ({rag_config.ROUTE})    {rag['p50']:6.2f}  {rag['p99']:6.2f}")
    print(f"  same gateway, unbound route      {plain['p50']:6.2f}  {plain['p99']:6.2f}")
    print(f"  added by retrieval               {rag['p50'] - plain['p50']:+6.2f}  {rag['p99'] - plain['p99']:+6.2f}")
    print(f"  Chroma query alone (this client) {chroma_q['p50']:6.2f}  {chroma_q['p99']:6.2f}")
    return 0


def mock_vector(mock_url: str) -> list[float]:
    payload = {"model": rag_config.EMBEDDINGS_MODEL, "input": QUESTION}
    req = urllib.request.Request(f"{mock_url}/v1/embeddings", data=json.dumps(payload).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["data"][0]["embedding"]


if __name__ == "__main__":
    sys.exit(main())
