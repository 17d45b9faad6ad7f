"""The tokenizer's lazy load, measured in real Envoy (not part of `make bench`).

    .venv/bin/python e2e/bench/tokenizer.py

Envoy (2 workers) runs the shipped gateway with a `maxPromptTokens` limit on every model, so the
first request a worker's usage VM sees decodes `o200k_base`. Reported: Envoy's RSS once ready,
after one request per worker that needs no count, after the vocabulary is loaded on every
worker; the load time per VM (`portcullis_tokenizer_load_ms`); and a request's latency with and
without a count once loaded.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import envoy as envoy_h  # noqa: E402
from harness.mock import MockServer  # noqa: E402

import measure  # noqa: E402

PROMPT = "Summarise the following paragraph in one sentence. " * 20


def post(url: str, model: str) -> float:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": PROMPT}]}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", body, {"content-type": "application/json",
                                                                   "authorization": "Bearer sk-client"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    with MockServer("--no-record") as mock:
        cfg = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
        envoy_h.set_plugin_config(cfg, "portcullis.usage", {"limits": [{"model": "gpt-4o", "maxPromptTokens": 100000}]})
        with envoy_h.Envoy(cfg, env={"OPENAI_API_KEY": "sk-test"}) as envoy:
            proc = measure.Proc(envoy.proc.pid)
            time.sleep(1.0)
            ready = proc.rss_mb()
            plain = [post(envoy.url, "gpt-4o-mini") for _ in range(20)]
            before = proc.rss_mb()
            loads = [post(envoy.url, "gpt-4o") for _ in range(20)]
            after = proc.rss_mb()
            counted = [post(envoy.url, "gpt-4o") for _ in range(50)]
            plain += [post(envoy.url, "gpt-4o-mini") for _ in range(30)]
            time.sleep(6)  # histograms reach the admin endpoint on Envoy's stats flush
            prom = envoy.prometheus()
            load = [ln for ln in prom.splitlines() if ln.startswith("portcullis_tokenizer_load_ms_")
                    and ("_sum" in ln or "_count" in ln)]
    print(f"RSS: ready {ready:.1f} MB, after uncounted requests {before:.1f} MB, "
          f"after the vocabulary loaded on every worker {after:.1f} MB (+{after - before:.1f} MB)")
    print(f"first counted requests (ms): {', '.join(f'{x:.0f}' for x in loads[:4])}")
    print(f"median latency, loaded: counted {statistics.median(counted):.2f} ms, "
          f"uncounted {statistics.median(plain):.2f} ms")
    print("\n".join(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
