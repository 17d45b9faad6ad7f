"""Turns the bench results into markdown tables, target verdicts, and the README section."""
from __future__ import annotations

import re
from pathlib import Path

START, END = "<!-- bench:start -->", "<!-- bench:end -->"

ROW_TITLES = {
    "bare": "bare Envoy",
    "full": "full chain (separate: 4 modules, 4 VMs/worker)",
    "suite": "full chain (suite: 1 module, 1 VM/worker)",
    "guarded": "full chain + guards (16 detectors, mask)",
    "accounted": "full chain + prices + a token budget",
    "empty": "4 empty wasm filters",
    "alt": "full chain, alt build",
    "router": "router alone",
    "credentials": "credentials alone",
    "prompt": "prompt alone",
    "usage": "usage alone",
    "litellm": "LiteLLM proxy",
}


def _title(name: str) -> str:
    if name.startswith("no-"):
        return f"full − {name[3:]}"
    return ROW_TITLES.get(name, name)


def _ms(us: float | None, digits: int = 2) -> str:
    return "–" if us is None else f"{us / 1000:.{digits}f}"


def _get(row: dict, wl: str, mode: str) -> dict | None:
    return row.get("workloads", {}).get(wl, {}).get(mode)


def _errors_note(r: dict | None) -> str:
    return f" ⚠{r['error_count']} err" if r and r.get("error_count") else ""


# --- targets ---------------------------------------------------------------------------------

# Each layout's goals (the performance issue's targets): the suite layout is held to the tighter
# ones; the separate layout keeps the targets it had before the suite existed.
LAYOUT_GOALS = {
    "full": {"label": "separate", "chat": 0.70, "1mb": 0.70, "stream": 0.80, "cpu": None},
    "suite": {"label": "suite", "chat": 0.70, "1mb": 0.70, "stream": 0.90, "cpu": 2.0},
}


def _chain_targets(results: dict, bare: dict, row: dict, goals: dict) -> list[dict]:
    out = []
    layout = goals["label"]

    def ratio(wl, key):
        b, f = _get(bare, wl, "saturation"), _get(row, wl, "saturation")
        return f[key] / b[key] if b and f and b.get(key) and f.get(key) else None

    for wl, label in (("chat", "chat 1.5 KB"), ("1mb", "1 MB prompt"), ("stream", "stream")):
        r, goal = ratio(wl, "rps"), goals[wl]
        out.append({"name": f"{layout}: {label} RPS ≥ {goal:.0%} of bare",
                    "measured": "–" if r is None else f"{r:.0%}", "ok": None if r is None else r >= goal})
    if goals["cpu"]:
        r = ratio("chat", "cpu_us_per_req")
        out.append({"name": f"{layout}: chat 1.5 KB CPU per request ≤ {goals['cpu']:.1f}× bare",
                    "measured": "–" if r is None else f"{r:.2f}×", "ok": None if r is None else r <= goals["cpu"]})
    for wl, label in (("chat", "chat 1.5 KB"), ("stream", "stream"), ("1mb", "1 MB prompt")):
        b, f = _get(bare, wl, "rate"), _get(row, wl, "rate")
        if b and f:
            delta = (f["latency_us"]["p99"] - b["latency_us"]["p99"]) / 1000
            out.append({"name": f"{layout}: p99 at {results['rate']} rps ≤ bare + 0.5 ms ({label})",
                        "measured": f"{delta:+.2f} ms", "ok": delta <= 0.5})
    bt, ft = bare.get("ttfb"), row.get("ttfb")
    if bt and ft:
        delta = (ft["first_event_us"]["p50"] - bt["first_event_us"]["p50"]) / 1000
        out.append({"name": f"{layout}: added time to first byte (stream, p50) ≤ 0.3 ms",
                    "measured": f"{delta:+.3f} ms", "ok": delta <= 0.3})
    if "rss_peak_mb" in bare and "rss_peak_mb" in row:
        delta = row["rss_peak_mb"] - bare["rss_peak_mb"]
        out.append({"name": f"{layout}: Envoy peak RSS (concurrency 2, every filter) ≤ bare + 40 MB",
                    "measured": f"{delta:+.1f} MB", "ok": delta <= 40})
    return out


def targets(results: dict) -> list[dict]:
    """Each target: name, goal, measured text, ok (True/False/None when not measurable)."""
    rows = results["rows"]
    bare, full = rows.get("bare"), rows.get("full")
    out: list[dict] = []
    if not bare or not full:
        return out
    for name, goals in LAYOUT_GOALS.items():
        if name in rows:
            out += _chain_targets(results, bare, rows[name], goals)
    guarded = rows.get("guarded")
    if guarded:
        for wl, label, budget_us in (("chat", "chat 1.5 KB", 15), ("100kb", "100 KB prompt", 2000)):
            f, g = _get(full, wl, "saturation"), _get(guarded, wl, "saturation")
            if f and g and f.get("cpu_us_per_req") and g.get("cpu_us_per_req"):
                delta = g["cpu_us_per_req"] - f["cpu_us_per_req"]
                out.append({"name": f"guards add ≤ {budget_us:,} µs CPU per request ({label})",
                            "measured": f"{delta:+.0f} µs", "ok": delta <= budget_us})
        ft, gt = full.get("ttfb"), guarded.get("ttfb")
        if ft and gt:
            delta = (gt["first_event_us"]["p50"] - ft["first_event_us"]["p50"]) / 1000
            out.append({"name": "guards add ≤ 0.3 ms to a stream's time to first byte (p50)",
                        "measured": f"{delta:+.3f} ms", "ok": delta <= 0.3})
    accounted = rows.get("accounted")
    if accounted:
        f, a = _get(full, "chat", "saturation"), _get(accounted, "chat", "saturation")
        if f and a and f.get("cpu_us_per_req") and a.get("cpu_us_per_req"):
            delta = a["cpu_us_per_req"] - f["cpu_us_per_req"]
            out.append({"name": "prices and a local token budget add ≤ 10 µs CPU per request (chat 1.5 KB)",
                        "measured": f"{delta:+.0f} µs", "ok": delta <= 10})
    peer = rows.get("litellm")
    if peer:
        ours = rows.get("suite", full)
        p, o = _get(peer, "chat", "saturation"), _get(ours, "chat", "saturation")
        if p and o and p.get("cpu_us_per_req") and o.get("cpu_us_per_req"):
            r = p["cpu_us_per_req"] / o["cpu_us_per_req"]
            out.append({"name": "LiteLLM's CPU per chat request ≥ 50× the chain's (same run)",
                        "measured": f"{r:.0f}×", "ok": r >= 50})
    return out


def missed_targets(results: dict) -> list[str]:
    return [t["name"] for t in targets(results) if t["ok"] is False]


# --- tables ----------------------------------------------------------------------------------

def _workload_table(results: dict, wl: str) -> list[str]:
    rows = results["rows"]
    bare = rows.get("bare", {})
    b_sat, b_rate = _get(bare, wl, "saturation"), _get(bare, wl, "rate")
    rate = results["rate"]
    lines = [f"| {wl_title(results, wl)} | RPS | × bare | p50 ms | p99 ms | CPU µs/req | × bare "
             f"| p50 ms @{rate} | p99 ms @{rate} | Δp99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        sat, fixed = _get(row, wl, "saturation"), _get(row, wl, "rate")
        if not sat:
            continue
        ratio = f"{sat['rps'] / b_sat['rps']:.2f}" if b_sat and b_sat["rps"] else "–"
        cpu = sat.get("cpu_us_per_req")
        cpu_ratio = (f"{cpu / b_sat['cpu_us_per_req']:.2f}"
                     if cpu and b_sat and b_sat.get("cpu_us_per_req") else "–")
        if fixed:
            dp99 = (f"{(fixed['latency_us']['p99'] - b_rate['latency_us']['p99']) / 1000:+.2f}"
                    if b_rate else "–")
            rate_cells = (f"{_ms(fixed['latency_us']['p50'])} | {_ms(fixed['latency_us']['p99'])} | {dp99}"
                          + (f" ({fixed['rps']:.0f} rps)" if abs(fixed["rps"] - rate) > rate * 0.05 else ""))
        else:
            rate_cells = "– | – | –"
        lines.append(f"| {_title(name)} | {sat['rps']:,.0f}{_errors_note(sat)} | {ratio} "
                     f"| {_ms(sat['latency_us']['p50'])} | {_ms(sat['latency_us']['p99'])} "
                     f"| {'–' if cpu is None else f'{cpu:.0f}'} | {cpu_ratio} | {rate_cells}{_errors_note(fixed)} |")
    return lines


def wl_title(results: dict, wl: str) -> str:
    w = results["workloads"][wl]
    return f"**{w['title']}** ({w['connections']} conns)"


def _resources_table(results: dict) -> list[str]:
    rows = results["rows"]
    bare = rows.get("bare", {})
    bt = bare.get("ttfb")
    lines = ["| | TTFB p50 ms | TTFB p99 ms | Δ TTFB p50 ms | RSS after start MB | RSS peak MB | Δ peak MB | .wasm |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    sizes = results.get("wasm_bytes", {})
    for name, row in rows.items():
        t = row.get("ttfb")
        p50 = t["first_event_us"]["p50"] if t else None
        p99 = t["first_event_us"]["p99"] if t else None
        d = f"{(p50 - bt['first_event_us']['p50']) / 1000:+.3f}" if t and bt else "–"
        peak = row.get("rss_peak_mb")
        dpeak = f"{peak - bare['rss_peak_mb']:+.1f}" if peak is not None and "rss_peak_mb" in bare else "–"
        start = row.get("rss_start_mb")
        if name == "full":
            size = sum(v for k, v in sizes.items() if v and k.startswith("portcullis."))
        elif name in ("empty", "suite"):
            size = sizes.get(name)
        else:
            size = sizes.get(f"portcullis.{name}")
        size_txt = f"{size / 1024:,.0f} KiB" if size else "–"
        lines.append(f"| {_title(name)} | {_ms(p50, 3)} | {_ms(p99, 3)} | {d} "
                     f"| {'–' if start is None else f'{start:.1f}'} | {'–' if peak is None else f'{peak:.1f}'} "
                     f"| {dpeak} | {size_txt} |")
    return lines


def markdown(results: dict) -> str:
    m = results["machine"]
    d = results["durations"]
    out = [f"Run {results['date']} on {m['cpus']} cores ({m['cpu']}); Envoy {m['envoy']} `--concurrency 2`, "
           f"wrk {m['wrk']} (1 thread, same cores), mock provider `--no-record`. Per workload: "
           f"{d['saturation_main_s']} s at saturation and {d['rate_main_s']} s at {results['rate']} rps "
           f"(8 conns) for bare/full, {d['saturation_other_s']} s + {d['rate_other_s']} s for the other rows, "
           f"interleaved over {results['rounds']} rounds. CPU = the proxy process's CPU time ÷ requests, "
           f"at saturation. Whole run: {results.get('elapsed_s', '?')} s.", ""]
    for wl in results["workloads"]:
        out += _workload_table(results, wl)
        out.append("")
    out.append("**Streams (time to first SSE event, sequential), memory, code size**")
    out.append("")
    out += _resources_table(results)
    out.append("")
    ts = targets(results)
    if ts:
        out += ["| Target (same run) | Measured | |", "|---|---:|---|"]
        for t in ts:
            verdict = "–" if t["ok"] is None else ("PASS" if t["ok"] else "**MISS**")
            out.append(f"| {t['name']} | {t['measured']} | {verdict} |")
        out.append("")
    for name, why in results.get("skipped", {}).items():
        out.append(f"- {_title(name)}: not measured: {why.splitlines()[0][:300]}")
    for name, row in results["rows"].items():
        for err in row.get("envoy_errors", [])[:1]:
            out.append(f"- {_title(name)}: Envoy logged errors, e.g. `{err[:200]}`")
    return "\n".join(out).rstrip() + "\n"


# --- README ----------------------------------------------------------------------------------

def intro_new_text() -> str:
    return ("`make bench` (about 15 minutes on 2 cores) runs the mock provider, a bare Envoy with the same listener and\n"
            "clusters, the full chain in both layouts (four modules; the suite module in one VM), the chain with guards, the\n"
            "chain with every filter replaced by an empty one, the router alone and the chain without each other filter,\n"
            "interleaved in one run; `BENCH_PEERS=1` adds LiteLLM's proxy against the same mock. How it measures, and what costs what:\n"
            "[e2e/bench/README.md](e2e/bench/README.md).\n")


def update_readme(readme: Path, md: str, results_path: str) -> None:
    """Puts the table between the bench markers in README's `## Performance` section; creates
    the section at the end if it is missing. Nothing else in README changes."""
    text = readme.read_text()
    block = (f"{START}\n_Latest `make bench` ({results_path}):_\n\n{md.rstrip()}\n{END}")
    if START in text and END in text:
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
        text = pattern.sub(lambda _: block, text, count=1)
    elif re.search(r"^## Performance\s*$", text, re.M):
        text = re.sub(r"^(## Performance\s*\n)", lambda mo: mo.group(1) + "\n" + block + "\n\n",
                      text, count=1, flags=re.M)
    else:
        section = (
            "## Performance\n\n"
            + intro_new_text() + "\n" + block + "\n")
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)
