"""`make soak`: the full chain under steady mixed traffic for a bounded time.

Traffic: normal chat, streams and translated requests, interleaved with the hostile-input cases
(e2e/tests/test_hostile.py, minus the few that send or receive tens of megabytes), at a steady
rate. Pass: no unexpected status, no VM trap (no panic in Envoy's log, no `vm_reload_*`), and
Envoy's RSS after warm-up grows by less than 5 %. The result goes to stdout and to
e2e/soak/results/soak-<date>.md.

    SOAK_SECONDS=600 SOAK_RPS=300 .venv/bin/python e2e/soak.py
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

from harness import envoy as envoy_h  # noqa: E402
from harness.mock import MockServer  # noqa: E402
from test_hostile import AUTH, CASES, JSON_CT, VK, chat, hostile_config, messages  # noqa: E402

from conftest import PROVIDER_KEYS  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
RPS = int(os.environ.get("SOAK_RPS", "300"))
WARMUP = min(60, SECONDS // 5)
THREADS = 8
# Cases that move tens of megabytes would make the soak a bandwidth test.
HEAVY = {"body-over-limit", "anthropic-body-over-limit", "gemini-body-over-limit", "up-huge-translated",
         "up-huge-same-api-passes", "many-messages-passes", "up-sse-oversized-event-translated"}
RESULTS = HERE / "soak" / "results"


def normal_requests():
    """(method, path, headers, body, expected status) of ordinary traffic."""
    auth = [(n.decode(), v.decode()) for n, v in AUTH + JSON_CT]
    return [
        ("POST", "/v1/chat/completions", auth, chat(), 200),
        ("POST", "/v1/chat/completions", auth, chat("gpt-4o", stream=True), 200),
        ("POST", "/v1/chat/completions", auth, chat("claude-haiku-4-5"), 200),
        ("POST", "/v1/messages", auth, messages("claude-haiku-4-5", stream=True), 200),
        ("POST", "/v1beta/models/gemini-2.5-flash:generateContent", auth,
         json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).encode(), 200),
    ]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Load:
    """Paced request loop on keep-alive connections; counts outcomes."""

    def __init__(self, port: int, mock):
        self.port = port
        self.mock = mock
        self.lock = threading.Lock()
        self.sent = 0
        self.unexpected: list[str] = []
        self.stop_at = time.monotonic() + SECONDS
        self.normal = normal_requests()
        # Hostile cases without an upstream rule: rules are global in the mock and would hit
        # the normal traffic too. (The rule cases run in test_hostile, one at a time.)
        self.hostile = [c for c in CASES if c.rule is None and c.id not in HEAVY]

    def pick(self, n: int):
        if n % 10 == 9:  # one request in ten is hostile
            case = self.hostile[(n // 10) % len(self.hostile)]
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in case.headers]
            expected = case.status if isinstance(case.status, tuple) else (case.status,)
            return case.method.decode(), case.path.decode("latin-1"), headers, case.body, expected, case.id
        method, path, headers, body, status = self.normal[n % len(self.normal)]
        return method, path, headers, body, (status,), path

    def worker(self, index: int):
        conn = None
        n = index
        interval = THREADS / RPS
        next_at = time.monotonic()
        while time.monotonic() < self.stop_at:
            method, path, headers, body, expected, name = self.pick(n)
            n += THREADS
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v.encode("latin-1"))
                conn.putheader("content-length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as err:
                status = f"error {type(err).__name__}"
                if conn:
                    conn.close()
                conn = None
            with self.lock:
                self.sent += 1
                if status not in expected:
                    self.unexpected.append(f"{name}: {status} (expected {expected})")
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    with MockServer("--no-record") as mock:
        cfg = hostile_config(mock.port)
        with envoy_h.Envoy(cfg, env=PROVIDER_KEYS, log_level="warn") as envoy:
            load = Load(envoy.port, mock)
            threads = [threading.Thread(target=load.worker, args=(i,), daemon=True) for i in range(THREADS)]
            for t in threads:
                t.start()
            samples = []
            t0 = time.monotonic()
            while any(t.is_alive() for t in threads):
                time.sleep(5)
                samples.append((round(time.monotonic() - t0), rss_mb(envoy.proc.pid), load.sent))
                print(f"{samples[-1][0]:>5} s  RSS {samples[-1][1]:7.1f} MB  {load.sent} requests", flush=True)
            stats = envoy.admin_get("/stats")
            log = envoy.log_text()
    reloads = sum(int(line.split(": ")[1]) for line in stats.splitlines()
                  if ".vm_reload" in line and ": " in line and line.split(": ")[1].isdigit())
    panics = log.count("panicked at")
    after_warmup = [s for s in samples if s[0] >= WARMUP]
    base = after_warmup[0][1] if after_warmup else samples[0][1]
    end = samples[-1][1]
    growth = (end - base) / base * 100 if base else 0.0
    rate = load.sent / SECONDS
    ok = not load.unexpected and panics == 0 and reloads == 0 and growth < 5.0
    report = "\n".join([
        f"# Soak {started:%Y-%m-%d %H:%M}",
        "",
        f"{SECONDS} s at {RPS} rps target ({rate:.0f} rps reached, {load.sent} requests; one in ten "
        f"from the hostile suite, {len(load.hostile)} cases), Envoy --concurrency 2, the four filters "
        f"({'one suite module, one VM per worker' if envoy_h.layout() == 'suite' else 'four modules'}; "
        f"PORTCULLIS_LAYOUT={envoy_h.layout()}).",
        "",
        "| check | result | |",
        "|---|---:|---|",
        f"| unexpected statuses | {len(load.unexpected)} | {'PASS' if not load.unexpected else 'FAIL'} |",
        f"| VM traps (panics in the log / vm_reload_*) | {panics} / {reloads} | {'PASS' if not panics and not reloads else 'FAIL'} |",
        f"| RSS after warm-up ({WARMUP} s) → end | {base:.1f} → {end:.1f} MB ({growth:+.1f} %) | {'PASS' if growth < 5 else 'FAIL'} |",
        "",
        "RSS samples (s, MB): " + ", ".join(f"{s}:{r:.0f}" for s, r, _ in samples[:: max(1, len(samples) // 20)]),
        "",
        *(f"- {u}" for u in load.unexpected[:20]),
    ])
    print(report)
    suffix = "-suite" if envoy_h.layout() == "suite" else ""
    (RESULTS / f"soak-{started:%Y-%m-%d}{suffix}.md").write_text(report + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
