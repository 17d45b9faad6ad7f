"""Prices of the proxy-wasm mechanisms the filters use, one at a time (not part of `make bench`).

    .venv/bin/python e2e/bench/costs.py [seconds-per-block]     # after `make bench` built the probe

Each row is an Envoy whose chain holds one wasm filter — the bench's empty filter
(e2e/bench/noop) told to do exactly one kind of host work per request (see its doc comment) —
in the router's place (same VM options, `allow_on_headers_stop_iteration`). Rows are measured
like `make bench` (interleaved rounds, saturation, wrk) on the chat workload, and the
table gives each probe's Envoy CPU per request minus the empty filter's: what that mechanism
costs. Written to e2e/bench/results/costs-<date>.md.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import envoy as envoy_h  # noqa: E402
from harness.mock import MockServer  # noqa: E402

import bench  # noqa: E402
import measure  # noqa: E402
import variants  # noqa: E402
from workloads import STREAM_CHUNKS, all_workloads  # noqa: E402

# (probes, what, N: the Δ is also given per call)
PROBES = [
    ("", "empty filter (context + callbacks only)", 1),
    ("headers", "get_map: all request headers into the VM", 1),
    ("get:20", "20 × get_map_value (one header)", 20),
    ("set:10", "10 × set_map_value (request header)", 10),
    ("buffer", "request body (1.5 KB) buffered whole + copied into the VM", 1),
    ("buffer,rewrite", "… and written back (set_buffer)", 1),
    ("route", "cluster header + clear_route_cache", 1),
    ("setprop:20", "20 × set_property (filter state)", 20),
    ("getprop:20", "20 × get_property (filter state)", 20),
    ("respheaders", "get_map response headers + 2 set", 1),
    ("respbuffer", "response body buffered whole + copied into the VM", 1),
    ("metric:20", "20 × increment_metric", 20),
    ("logprop:20", "20 × get_property in on_log", 20),
]


def probe_config(base: dict, probes: str) -> dict:
    cfg = variants.keep_only(base, {"portcullis.router"})
    for lst in variants._filter_lists(cfg):
        for f in lst:
            if variants._is_wasm(f):
                conf = f["typed_config"]["config"]
                conf["vm_config"]["code"] = {"local": {"filename": str(bench.NOOP_WASM)}}
                conf["configuration"]["value"] = probes
    return cfg


def main() -> int:
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    if not bench.NOOP_WASM.exists():
        print(f"missing {bench.NOOP_WASM}: run `make bench` (or its cargo line) first", file=sys.stderr)
        return 2
    loads_all = all_workloads()
    tmp = Path(tempfile.mkdtemp(prefix="portcullis-costs-"))
    try:
        return run(secs, loads_all, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(secs: int, loads_all, tmp: Path) -> int:
    loads = [(w, w.write(tmp)) for w in loads_all if w.key == "chat"]
    durations = bench.Durations(secs * bench.ROUNDS)
    rows: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        mock = stack.enter_context(MockServer("--no-record"))
        mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS)
        base = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
        targets = [bench.start_envoy(stack, "bare", variants.keep_only(base, set()), loads)]
        for probes, _, _ in PROBES:
            t = bench.start_envoy(stack, probes or "empty", probe_config(base, probes), loads)
            t.main = True
            targets.append(t)
        targets[0].main = True
        bench.run_workloads(targets, loads, durations)
        for t in targets:
            rows[t.name] = bench.summarize(t)
    out = [f"Costs of proxy-wasm host work, {dt.datetime.now():%Y-%m-%d %H:%M}: Envoy CPU per request "
           f"at saturation ({secs * bench.ROUNDS} s per row and workload, {bench.ROUNDS} interleaved rounds), "
           "one probe filter in the router's place. Δ = minus the empty filter.", "",
           "| probe | what | rps | µs/req | Δ µs/req | Δ per call |", "|---|---|---:|---:|---:|---:|"]

    def sat(name):
        return rows[name]["workloads"]["chat"]["saturation"]
    empty = sat("empty")["cpu_us_per_req"]
    for name, what, n in [("bare", "no wasm filter", 1)] + [(p or "empty", w, n) for p, w, n in PROBES]:
        c = sat(name)["cpu_us_per_req"]
        per = f"{(c - empty) / n:+.2f}" if n > 1 else ""
        out.append(f"| `{name}` | {what} | {sat(name)['rps']:,.0f} | {c:.1f} | {c - empty:+.1f} | {per} |")
    md = "\n".join(out) + "\n"
    print(md)
    dest = HERE / "results" / f"costs-{dt.datetime.now():%Y-%m-%d}.md"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(md)
    print(f"written: {dest}")
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    rc = main()
    print(f"{time.monotonic() - t0:.0f} s")
    sys.exit(rc)
