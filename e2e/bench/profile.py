"""Profile one bench row with `perf` while wrk drives one workload.

    .venv/bin/python e2e/bench/profile.py full chat [seconds]

Starts the mock and the row's Envoy exactly as bench.py does, warms up, then records Envoy with
`perf record -g` for the run and prints `perf report` (top symbols, by DSO). Wasm code compiled
by V8 has no symbols: it shows as unknown addresses in Envoy's anonymous JIT mappings, so the
"[JIT] / unknown" share is the time spent inside the filters themselves; the rest (hostcalls,
buffer copies, header maps, V8 entry/exit) is named.
"""
from __future__ import annotations

import os
import subprocess
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
from workloads import HEADERS, PATH, STREAM_CHUNKS, all_workloads  # noqa: E402


def main() -> int:
    row = sys.argv[1] if len(sys.argv) > 1 else "full"
    wl = sys.argv[2] if len(sys.argv) > 2 else "chat"
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    w = next(x for x in all_workloads() if x.key == wl)
    tmp = Path(tempfile.mkdtemp(prefix="portcullis-profile-"))
    body = w.write(tmp)
    with MockServer("--no-record") as mock:
        mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS)
        cfg = variants.variants(envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port),
                                bench.NOOP_WASM)[row]
        envoy = envoy_h.Envoy(cfg, env=bench.ENVOY_ENV, concurrency=2)
        with envoy:
            url = envoy.url + PATH
            hdrs = {**HEADERS, **w.headers}
            measure.wrk(url, body, hdrs, 2, w.connections)
            data = tmp / "perf.data"
            perf = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "999", "-p", str(envoy.proc.pid),
                                     "-o", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            r = measure.merge([measure.wrk(url, body, hdrs, secs, w.connections)])
            perf.send_signal(2)
            perf.wait(timeout=60)
            print(f"{row} {wl}: {r['rps']:.0f} rps during the profile")
    shutil.rmtree(envoy.dir, ignore_errors=True)
    report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,sym",
                             "--stdio", "-g", "none", "--percent-limit", "0.7"],
                            capture_output=True, text=True)
    print("\n".join(ln for ln in report.stdout.splitlines() if ln and not ln.startswith("#")))
    by_dso = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso",
                             "--stdio", "-g", "none"], capture_output=True, text=True)
    print("\nby DSO:")
    print("\n".join(ln for ln in by_dso.stdout.splitlines() if ln and not ln.startswith("#")))
    print(f"\nperf data: {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
