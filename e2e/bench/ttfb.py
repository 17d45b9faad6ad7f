"""Time to first byte of a streamed response, measured with a plain socket.

The load generator (wrk) only sees whole responses, so streams get their own small client:
N sequential streamed requests on one keep-alive connection, timing from the last byte of the
request written to (a) the first response byte and (b) the first byte of the first SSE `data:`
event — the figure that shows whether anything on the path holds a stream back. The mock sends
its events with a gap between them (``x-mock-chunk-delay-ms``), so buffering a stream whole
would show up as the whole stream's duration, not a fraction of a millisecond.
"""
from __future__ import annotations

import socket
import statistics
import time


def _request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", f"content-length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def measure(url: str, path: str, body: bytes, headers: dict[str, str], count: int,
            warmup: int = 3, timeout: float = 10.0) -> dict[str, list[float]]:
    """First-byte, first-event and whole-stream times (µs) of `count` streamed requests."""
    hostport = url.split("://", 1)[1].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    req = _request(host, int(port), path, body, headers)
    first_byte, first_event, total = [], [], []
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for i in range(warmup + count):
            sock.sendall(req)
            t0 = time.perf_counter_ns()
            buf = b""
            t_byte = t_event = None
            while True:
                data = sock.recv(65536)
                now = time.perf_counter_ns()
                if not data:
                    raise ConnectionError("connection closed mid-stream")
                if t_byte is None:
                    t_byte = now
                buf += data
                if t_event is None and b"data:" in buf:
                    t_event = now
                if b"[DONE]" in buf and buf.endswith(b"\r\n0\r\n\r\n"):
                    break
                if buf.startswith(b"HTTP/1.1") and b"\r\n\r\n" in buf and not buf.startswith(b"HTTP/1.1 200"):
                    status = buf.split(b"\r\n", 1)[0]
                    raise RuntimeError(f"stream answered {status!r}")
            if i >= warmup:
                first_byte.append((t_byte - t0) / 1000)
                first_event.append((t_event - t0) / 1000)
                total.append((now - t0) / 1000)
    finally:
        sock.close()
    return {"first_byte_us": first_byte, "first_event_us": first_event, "stream_us": total}


def summarize(samples: dict[str, list[float]]) -> dict:
    out: dict = {"count": len(samples["first_event_us"])}
    for key, values in samples.items():
        out[key] = summary(values)
    return out


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    return {"p50": round(percentile(values, 50), 1), "p90": round(percentile(values, 90), 1),
            "p99": round(percentile(values, 99), 1), "mean": round(statistics.fmean(values), 1)}
