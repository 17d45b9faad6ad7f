"""Load generation (wrk) and process figures (/proc) for the bench."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk.lua"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise FileNotFoundError("wrk not found: `make bench` installs it (apt-get install -y wrk)")
    return found


def wrk(url: str, body_file: Path, headers: dict[str, str], seconds: float, connections: int,
        rate: float = 0) -> dict:
    """One wrk run (one thread, `connections` keep-alive connections). rate > 0: that many
    requests per second in total, else as fast as the target answers. Returns requests, rps,
    errors and latency percentiles in µs."""
    env = {**os.environ,
           "BENCH_BODY": str(body_file),
           "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
           "BENCH_RATE": str(rate)}
    secs = max(1, int(round(seconds)))
    args = [wrk_binary(), "-t1", f"-c{connections}", f"-d{secs}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=secs + 60)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    out = json.loads(lines[-1].split(" ", 1)[1])
    out["connections"] = connections
    out["target_rate"] = rate
    return out


GRID_WEIGHTS = [0.001] * 999 + [0.0001] * 10  # matches the grid wrk.lua prints


def merge(runs: list[dict]) -> dict:
    """Several wrk runs of one row and workload as one: total requests over total time, errors
    added up, latency percentiles from the merged distributions (each run weighted by its
    request count)."""
    requests = sum(r["requests"] for r in runs)
    duration = sum(r["duration_us"] for r in runs)
    errors: dict[str, int] = {}
    for r in runs:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    samples = sorted((v, w * r["requests"]) for r in runs if r["requests"]
                     for v, w in zip(r["latency_grid_us"], GRID_WEIGHTS))
    total = sum(w for _, w in samples)

    def quantile(q: float) -> float | None:
        if not total:
            return None
        acc, goal = 0.0, q * total
        for v, w in samples:
            acc += w
            if acc >= goal - 1e-9:
                return float(v)
        return float(samples[-1][0])

    return {
        "requests": requests,
        "duration_us": duration,
        "rps": requests / (duration / 1e6) if duration else 0.0,
        "errors": errors,
        "error_count": sum(errors.values()),
        "runs": len(runs),
        "connections": runs[0]["connections"] if runs else None,
        "latency_us": {"min": min((r["latency_min_us"] for r in runs), default=None),
                       "p50": quantile(0.50), "p90": quantile(0.90), "p99": quantile(0.99),
                       "p999": quantile(0.999),
                       "max": max((r["latency_grid_us"][-1] for r in runs), default=None)},
    }


class Proc:
    """CPU time and memory of a running process (all its threads), from /proc."""

    def __init__(self, pid: int):
        self.pid = pid
        self._tick = os.sysconf("SC_CLK_TCK")

    def cpu_ns(self) -> int:
        """User + system CPU time so far. Sums the per-thread schedstat (ns resolution); falls
        back to utime+stime (clock ticks)."""
        total = 0
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                try:
                    with open(f"/proc/{self.pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
            if total:
                return total
        except OSError:
            pass
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // self._tick

    def status_kb(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mb(self) -> float:
        return self.status_kb("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return self.status_kb("VmHWM") / 1024
