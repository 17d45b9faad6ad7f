"""`make bench`: what the gateway costs, against a bare Envoy, on this machine, in one run.

Rows — one Envoy each (`--concurrency 2`), all derived from envoy-configs/gateway.yaml by
variants.py: bare (no wasm), full (the shipped chain: a module and a VM per filter), suite (the
same chain from portcullis_suite.wasm in one VM per worker), guarded (full + every detector),
accounted (full + a price table and a token budget covering every request),
empty (the chain's shape with every filter replaced by one that does nothing: the fixed price of
four proxy-wasm filters), the router alone and the leave-one-out rows; with BENCH_PEERS=1 also
LiteLLM's proxy (peers.py). All of them talk to one mock provider
(`--no-record`).

Workloads (workloads.py): chat 1.5 KB, stream (20 chunks), 100 KB and 1 MB prompts — each at saturation
(wrk, fixed connections) and at a fixed 100 rps; a socket client (ttfb.py) measures the streams'
time to first byte. Figures: RPS, p50/p99 latency, TTFB, proxy CPU per request, proxy RSS after
start and peak, .wasm sizes.

Every row's Envoy runs for the whole bench, and the measurements rotate over the rows in short
blocks (ROUNDS rounds, order reversed every other round); each row's blocks are merged. A
machine whose speed drifts during the run (a shared host, turbo, another process) then shifts
every row alike, and the ratios to bare — the point of the bench — stay fair. Idle Envoys cost
next to nothing meanwhile.

Results: printed, written to e2e/bench/results/results-<date>.{md,json}, and (full runs only)
into README.md's Performance section. Missed targets are reported, never an error: this is a
benchmark, not a test.

Environment:
  BENCH_SECONDS=20   saturation time per workload for the main rows; everything else scales from
                     it (single filters 0.4×, 100-rps runs 0.6× / 0.2×). E.g. 4 while developing.
  BENCH_ROWS=a,b     only these rows (bare is always included: ratios need it). Rows: full,
                     suite, guarded, accounted, empty, router, and the leave-one-out rows no-credentials,
                     no-prompt, no-usage (full chain minus it).
  BENCH_PEERS=1      add the LiteLLM row.
  BENCH_ALT_WASM_DIR=dir  add a row "alt": the full chain with the .wasm files from dir (another
                     build of the filters: a branch, a profile), measured in the same run.
  BENCH_NO_README=1  do not touch README.md (partial and short runs never do).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402
from harness.mock import MockServer  # noqa: E402

import measure  # noqa: E402
import report  # noqa: E402
import ttfb  # noqa: E402
import variants  # noqa: E402
from workloads import HEADERS, PATH, STREAM_CHUNKS, Workload, all_workloads  # noqa: E402

RATE = 100
RATE_CONNECTIONS = 8
ROUNDS = 4
TTFB_COUNT = 200  # streams per main row (bare, full, peers); half for the others
TTFB_CHUNK_DELAY_MS = 1
MAIN_ROWS = ("bare", "full", "suite", "guarded", "alt", "litellm")
# Built by `make bench` from e2e/bench/noop (see variants.empty_chain).
NOOP_WASM = paths.ROOT / "target" / "bench-noop" / "wasm32-wasip1" / "release" / "bench_noop.wasm"
ENVOY_ENV = {"OPENAI_API_KEY": "sk-mock-openai", "ANTHROPIC_API_KEY": "sk-mock-anthropic",
             "GEMINI_API_KEY": "mock-gemini"}
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:5.0f}s] {msg}", flush=True)


@dataclass
class Durations:
    """Seconds per block (one wrk run); a row gets ROUNDS blocks per workload and mode."""
    base: float

    def block(self, mode: str, main: bool) -> int:
        share = {("saturation", True): 1.0, ("saturation", False): 0.4,
                 ("rate", True): 0.6, ("rate", False): 0.2}[(mode, main)]
        return max(1, round(self.base * share / ROUNDS))

    def ttfb_count(self, main: bool) -> int:
        n = TTFB_COUNT if main else TTFB_COUNT // 2
        return n if self.base >= 10 else max(ROUNDS * 5, n // 4)


@dataclass
class Target:
    """One row: something that answers the workloads (an Envoy, or a peer gateway)."""
    name: str
    url: str
    proc: measure.Proc | None
    main: bool
    info: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)  # sent instead of / besides HEADERS
    runs: dict = field(default_factory=dict)  # (workload, mode) → [wrk runs]
    cpu_ns: dict = field(default_factory=dict)  # (workload, mode) → CPU time during them
    ttfb: dict = field(default_factory=lambda: {"first_byte_us": [], "first_event_us": [], "stream_us": []})


def smoke(url: str, w: Workload, extra: dict | None = None) -> str | None:
    """One request; None if the answer looks right, else what is wrong."""
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", PATH, body=w.body, headers={**HEADERS, **w.headers, **(extra or {})})
        resp = conn.getresponse()
        data = resp.read()
    except OSError as e:
        return f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    if resp.status != 200:
        return f"HTTP {resp.status}: {data[:200]!r}"
    if w.stream:
        events = data.count(b"data:")
        if b"[DONE]" not in data or events < STREAM_CHUNKS:
            return f"stream incomplete ({events} events): {data[-200:]!r}"
    elif b'"chat.completion"' not in data:
        return f"unexpected body: {data[:200]!r}"
    return None


def block(t: Target, w: Workload, body_file: Path, mode: str, seconds: int) -> dict:
    c0 = t.proc.cpu_ns() if t.proc else 0
    r = measure.wrk(t.url + PATH, body_file, {**HEADERS, **w.headers, **t.headers}, seconds,
                    w.connections if mode == "saturation" else RATE_CONNECTIONS,
                    rate=RATE if mode == "rate" else 0)
    if t.proc:
        key = (w.key, mode)
        t.cpu_ns[key] = t.cpu_ns.get(key, 0) + t.proc.cpu_ns() - c0
    t.runs.setdefault((w.key, mode), []).append(r)
    return r


def summarize(t: Target) -> dict:
    row: dict = {"main": t.main, **t.info, "workloads": {}}
    for (wl, mode), runs in t.runs.items():
        m = measure.merge(runs)
        cpu = t.cpu_ns.get((wl, mode))
        if cpu is not None and m["requests"]:
            m["cpu_us_per_req"] = cpu / 1000 / m["requests"]
            m["cpu_cores"] = cpu / (m["duration_us"] * 1000)
        row["workloads"].setdefault(wl, {})[mode] = m
    if t.ttfb["first_event_us"]:
        row["ttfb"] = ttfb.summarize(t.ttfb)
    if t.proc:
        with contextlib.suppress(OSError):
            row["rss_end_mb"] = t.proc.rss_mb()
            row["rss_peak_mb"] = t.proc.peak_rss_mb()
    return row


def run_workloads(targets: list[Target], loads: list[tuple[Workload, Path]], durations: Durations) -> None:
    for w, body_file in loads:
        for t in targets:  # warm-up: connections, V8's optimising tier
            measure.wrk(t.url + PATH, body_file, {**HEADERS, **w.headers, **t.headers}, 1, w.connections)
        for mode in ("saturation", "rate"):
            for rnd in range(ROUNDS):
                order = targets if rnd % 2 == 0 else targets[::-1]
                for t in order:
                    r = block(t, w, body_file, mode, durations.block(mode, t.main))
                    if r["requests"] == 0 or sum(r["errors"].values()):
                        log(f"  {t.name}: {w.key} {mode}: {r['requests']} requests, errors {r['errors']}")
                log(f"{w.key:<7} {mode:<10} round {rnd + 1}/{ROUNDS} done")
            for t in targets:
                m = measure.merge(t.runs[(w.key, mode)])
                cpu = t.cpu_ns.get((w.key, mode))
                cpu_txt = f"  cpu {cpu / 1000 / m['requests']:4.0f} µs/req" if cpu and m["requests"] else ""
                err = f"  ERRORS {m['errors']}" if m["error_count"] else ""
                lat = m["latency_us"]
                log(f"  {t.name:<12} {w.key:<7} {mode:<10} {m['rps']:8.0f} rps  p50 {lat['p50'] / 1000:6.2f} ms"
                    f"  p99 {lat['p99'] / 1000:6.2f} ms{cpu_txt}{err}")


def run_ttfb(targets: list[Target], mock: MockServer, stream: Workload, durations: Durations) -> None:
    """Sequential streams, the mock spacing its events TTFB_CHUNK_DELAY_MS apart; rotated over
    the rows in rounds like the load runs."""
    mock.clear_rules()
    mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS, chunkDelayMs=TTFB_CHUNK_DELAY_MS)
    try:
        for rnd in range(ROUNDS):
            order = targets if rnd % 2 == 0 else targets[::-1]
            for t in order:
                n = max(1, durations.ttfb_count(t.main) // ROUNDS)
                try:
                    got = ttfb.measure(t.url, PATH, stream.body, {**HEADERS, **stream.headers, **t.headers}, n)
                except (OSError, RuntimeError) as e:
                    log(f"  {t.name}: ttfb failed: {e}")
                    continue
                for k, v in got.items():
                    t.ttfb[k].extend(v)
        for t in targets:
            if t.ttfb["first_event_us"]:
                s = ttfb.summarize(t.ttfb)["first_event_us"]
                log(f"  {t.name:<12} stream  ttfb       first event p50 {s['p50'] / 1000:.3f} ms"
                    f"  p99 {s['p99'] / 1000:.3f} ms  ({len(t.ttfb['first_event_us'])} streams)")
    finally:
        mock.clear_rules()
        mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS)


def start_envoy(stack: contextlib.ExitStack, name: str, cfg: dict, loads) -> Target:
    envoy = envoy_h.Envoy(cfg, env=ENVOY_ENV, concurrency=2)
    # Its directory holds the access log (hundreds of MB after a run): removed once it stopped.
    stack.callback(shutil.rmtree, envoy.dir, True)
    stack.enter_context(envoy)
    proc = measure.Proc(envoy.proc.pid)
    for w, _ in loads:
        problem = smoke(envoy.url, w)
        if problem:
            raise RuntimeError(f"{w.key} request failed: {problem}\n{envoy.log_tail(10)}")
    time.sleep(0.3)
    t = Target(name, envoy.url, proc, name in MAIN_ROWS,
               info={"filters": variants.wasm_filters(cfg), "rss_start_mb": proc.rss_mb()})
    t.info["_envoy"] = envoy
    filters = ", ".join(f.removeprefix("portcullis.") for f in t.info["filters"]) or "no wasm"
    if name == "empty":
        filters = f"{len(t.info['filters'])} × empty filter"
    log(f"{name}: Envoy on {envoy.url} ({filters}), RSS {t.info['rss_start_mb']:.1f} MB")
    return t


def envoy_errors(t: Target) -> list[str]:
    envoy = t.info.get("_envoy")
    if envoy is None:
        return []
    return [ln for ln in envoy.log_text().splitlines()
            if "][error]" in ln or "][critical]" in ln or "panicked" in ln][:5]


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def version(args):
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=20)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    envoy_v = version([str(paths.ENVOY_BIN), "--version"])
    envoy_v = envoy_v.split("version:", 1)[-1].strip().split("/")[1] if "/" in envoy_v else envoy_v
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "envoy": envoy_v,
            "wrk": version([measure.wrk_binary(), "-v"]).split(" [")[0].replace("debian/", "").removeprefix("wrk "),
            "python": platform.python_version()}


def main() -> int:
    base_secs = float(os.environ.get("BENCH_SECONDS", "20"))
    durations = Durations(base_secs)
    only = [r.strip() for r in os.environ.get("BENCH_ROWS", "").split(",") if r.strip()]
    peers_on = os.environ.get("BENCH_PEERS", "") not in ("", "0")
    full_run = not only and base_secs >= 20
    for binary in (paths.MOCK_BIN, paths.ENVOY_BIN):
        if not binary.exists():
            print(f"missing {binary}: run `make build venv`", file=sys.stderr)
            return 2
    try:
        measure.wrk_binary()
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2

    when = dt.datetime.now()
    info = machine()
    results: dict = {
        "date": when.isoformat(timespec="seconds"), "machine": info, "rate": RATE, "rounds": ROUNDS,
        "durations": {f"{mode}_{'main' if main else 'other'}_s": durations.block(mode, main) * ROUNDS
                      for mode in ("saturation", "rate") for main in (True, False)},
        "workloads": {}, "rows": {}, "wasm_bytes": {}, "skipped": {}}
    d = results["durations"]
    log(f"bench on {info['cpus']} cores ({info['cpu']}), Envoy {info['envoy']}, wrk {info['wrk']}: "
        f"per workload {d['saturation_main_s']}s saturation + {d['rate_main_s']}s at {RATE} rps for bare/full, "
        f"{d['saturation_other_s']}s + {d['rate_other_s']}s for the others, in {ROUNDS} interleaved rounds")
    tmp = Path(tempfile.mkdtemp(prefix="portcullis-bench-"))
    try:
        return run(when, info, results, durations, only, peers_on, full_run, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(when, info, results, durations, only, peers_on, full_run, tmp: Path) -> int:
    loads = [(w, w.write(tmp)) for w in all_workloads()]
    for w, _ in loads:
        results["workloads"][w.key] = {"title": w.title, "body_bytes": len(w.body),
                                       "connections": w.connections, "stream": w.stream}

    with contextlib.ExitStack() as stack:
        mock = stack.enter_context(MockServer("--no-record"))
        mock.add_rule(pathContains="/chat/completions", chunks=STREAM_CHUNKS)
        base = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
        for fname, path in variants.wasm_files(base).items():
            results["wasm_bytes"][fname] = path.stat().st_size if path.exists() else None
        results["wasm_bytes"]["empty"] = NOOP_WASM.stat().st_size if NOOP_WASM.exists() else None
        suite_wasm = Path(envoy_h.SUITE_WASM)
        results["wasm_bytes"]["suite"] = suite_wasm.stat().st_size if suite_wasm.exists() else None
        targets: list[Target] = []
        alt = os.environ.get("BENCH_ALT_WASM_DIR")
        if alt:
            results["alt_wasm_dir"] = alt
        for name, cfg in variants.variants(base, NOOP_WASM, Path(alt) if alt else None).items():
            if (only and name not in only and name != "bare") or (not only and variants.optional(name)):
                continue
            try:
                targets.append(start_envoy(stack, name, cfg, loads))
            except Exception as e:  # one broken row must not lose the others
                log(f"{name}: not measured: {e}")
                results["skipped"][name] = str(e)[:2000]
        if peers_on:
            import peers
            try:
                url, pid, hdrs = peers.start_litellm(stack, mock.url, log)
                problem = next((p for p in (smoke(url, w, hdrs) for w, _ in loads) if p), None)
                if problem:
                    raise peers.Unavailable(f"LiteLLM answered wrongly: {problem}")
                t = Target("litellm", url, measure.Proc(pid), True, info={"version": peers.version()},
                           headers=hdrs)
                t.info["rss_start_mb"] = t.proc.rss_mb()
                targets.append(t)
            except peers.Unavailable as e:
                log(f"litellm: skipped: {e}")
                results["skipped"]["litellm"] = str(e)
        if not targets or targets[0].name != "bare":
            print("bare Envoy did not start: nothing to compare against", file=sys.stderr)
            return 1

        run_workloads(targets, loads, durations)
        run_ttfb(targets, mock, next(w for w, _ in loads if w.stream), durations)
        for t in targets:
            results["rows"][t.name] = summarize(t)
            errs = envoy_errors(t)
            if errs:
                results["rows"][t.name]["envoy_errors"] = errs
            results["rows"][t.name].pop("_envoy", None)
            if "rss_peak_mb" in results["rows"][t.name]:
                log(f"  {t.name:<12} RSS after start {t.info['rss_start_mb']:6.1f} MB, "
                    f"peak {results['rows'][t.name]['rss_peak_mb']:6.1f} MB")
    results["elapsed_s"] = round(time.monotonic() - T0)
    log(f"done in {results['elapsed_s']}s")

    md = report.markdown(results)
    print()
    print(md)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stem = f"results-{when:%Y-%m-%d}" + ("" if full_run else "-partial")
    (out_dir / f"{stem}.md").write_text(md)
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"written: {(out_dir / stem).relative_to(paths.ROOT)}.md and .json")
    if full_run and os.environ.get("BENCH_NO_README", "") in ("", "0"):
        report.update_readme(paths.ROOT / "README.md", md, f"e2e/bench/results/{stem}.md")
        print("README.md: Performance section updated")
    missed = report.missed_targets(results)
    if missed:
        print(f"\n{len(missed)} target(s) MISSED — {'; '.join(missed)}. "
              "What costs what: e2e/bench/README.md. (A benchmark: make bench still succeeds.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
