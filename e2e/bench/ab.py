"""A/B one filter alone across builds, on one workload (not part of `make bench`).

    .venv/bin/python e2e/bench/ab.py router chat 6 dirA [dirB ...] [probe:buffer,route ...]
    .venv/bin/python e2e/bench/ab.py chain chat 4 [suite guarded guarded-request ...] [dirA ...]

`chain` compares full-chain variants instead (variants.chain_variants: `full`, `suite` and the
guard policies), and each directory's build as `full@dir` (and `suite@dir` when `suite` is
compared). Rows: bare Envoy, the filter alone with this checkout's .wasm, the filter alone with the .wasm
of the same name from each directory given (other builds: a stash, a branch, a profile), and
for each `probe:<probes>` the bench's empty filter doing that host work (costs.py) in its place.
AB_COMPAT=1 drops config fields older builds do not know (a route's `models`), so a build
from before them loads. Measured at saturation with wrk like `make bench`, but in many short
rounds (AB_ROUNDS, 10),
each row's figure compared with bare's of the same round and the median taken: on a shared
machine whose speed drifts, that shows differences of a few µs that one long block per row
hides. The way to check that a change on a hot path pays before running the whole bench.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import envoy as envoy_h  # noqa: E402
from harness.mock import MockServer  # noqa: E402

import bench  # noqa: E402
import costs  # noqa: E402
import measure  # noqa: E402
import variants  # noqa: E402
from workloads import STREAM_CHUNKS, all_workloads  # noqa: E402


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    short, wl, secs, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    rounds = int(os.environ.get("AB_ROUNDS", "10"))
    probes = [a.removeprefix("probe:") for a in extra if a.startswith("probe:")]
    dirs = [Path(a) for a in extra if not a.startswith("probe:")]
    w = next((x for x in all_workloads() if x.key == wl), None)
    if w is None or (short not in variants.FILTERS and short != "chain"):
        print(f"unknown filter {short!r} or workload {wl!r}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="portcullis-ab-"))
    try:
        loads = [(w, w.write(tmp))]
        with contextlib.ExitStack() as stack:
            mock = stack.enter_context(MockServer("--no-record"))
            mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS)
            base = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
            if os.environ.get("AB_COMPAT", "") not in ("", "0"):
                variants.strip_newer_config(base)
            rows = [("bare", variants.keep_only(base, set()))]
            if short == "chain":
                chains = variants.chain_variants(base)
                rows += [(name, chains[name]) for name in ["full", *(a for a in extra if a in chains)]]
                dirs = [d for d in dirs if d.name not in chains]
                # Other builds in the separate layout, and in the suite layout when it is compared.
                layouts = ["full", *(["suite"] if "suite" in extra else [])]
                rows += [(f"{lay}@{d.name}", variants.with_wasm_dir(chains[lay], d)) for d in dirs for lay in layouts
                         if lay != "suite" or (d / "portcullis_suite.wasm").exists()]  # older builds have none
            else:
                alone = variants.keep_only(base, {f"portcullis.{short}"})
                rows += [(short, alone)]
                rows += [(f"{short}@{d.name}", variants.with_wasm_dir(alone, d)) for d in dirs]
            rows += [(f"probe:{p or 'empty'}", costs.probe_config(base, p)) for p in probes]
            targets = [bench.start_envoy(stack, name, cfg, loads) for name, cfg in rows]
            for t in targets:  # warm-up, as bench does
                measure.wrk(t.url + bench.PATH, loads[0][1], bench.HEADERS, 1, w.connections)
            per_round: dict[str, list[tuple[float, float]]] = {t.name: [] for t in targets}
            for rnd in range(rounds):
                for t in targets if rnd % 2 == 0 else targets[::-1]:
                    c0 = t.proc.cpu_ns()
                    r = measure.wrk(t.url + bench.PATH, loads[0][1], bench.HEADERS, secs, w.connections)
                    cpu = (t.proc.cpu_ns() - c0) / 1000
                    per_round[t.name].append((r["requests"] / (r["duration_us"] / 1e6), cpu / max(1, r["requests"])))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # The machine's speed drifts (other tenants, turbo): rows measured side by side in one round
    # are compared, and the median over rounds is reported, which one disturbed round cannot move.
    bare = per_round["bare"]
    print(f"\n{wl}: {rounds} rounds of {secs} s per row; medians over rounds of each round's figure\n")
    print("| row | RPS | × bare | CPU µs/req | Δ µs vs bare | Δ spread (IQR) |\n|---|---:|---:|---:|---:|---:|")
    for name, runs in per_round.items():
        ratio = statistics.median(r[0] / b[0] for r, b in zip(runs, bare))
        deltas = sorted(r[1] - b[1] for r, b in zip(runs, bare))
        q = statistics.quantiles(deltas, n=4) if len(deltas) > 1 else [deltas[0]] * 3
        print(f"| {name} | {statistics.median(r[0] for r in runs):,.0f} | {ratio:.2f} "
              f"| {statistics.median(r[1] for r in runs):.1f} | {q[1]:+.1f} | {q[0]:+.1f} … {q[2]:+.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
