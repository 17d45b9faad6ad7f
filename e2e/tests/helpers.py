"""Small assertions shared by the e2e tests."""
import json
import re
import time
import urllib.error
import urllib.request


def header(recorded: dict, name: str):
    """A header of a request the mock recorded (case-insensitive), or None."""
    for k, v in recorded["headers"]:
        if k.lower() == name:
            return v
    return None


def only_request(mock) -> dict:
    reqs = mock.requests()
    assert len(reqs) == 1, f"expected one upstream request, got {len(reqs)}: {[r['path'] for r in reqs]}"
    return reqs[0]


_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_value(gateway, name: str, labels: dict) -> float:
    """Sum of the Prometheus samples of `name` whose labels include `labels` (counters are
    read live by Envoy's admin endpoint)."""
    total = 0.0
    for line in gateway.prometheus().splitlines():
        m = _LINE.match(line)
        if not m or m.group(1) != name:
            continue
        got = dict(_LABEL.findall(m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def envoy_stat(envoy, name: str, default: int | None = None) -> int:
    """A counter or gauge from Envoy's admin `/stats` (names as Envoy prints them, not the
    Prometheus form); a missing stat is `default`, or a KeyError when there is none."""
    for line in envoy.admin_get("/stats").splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    if default is None:
        raise KeyError(name)
    return default


def histogram_count_at_least(gateway, name: str, labels: dict, minimum: float, timeout: float = 12.0) -> float:
    """Histograms reach the admin endpoint only when Envoy flushes stats (every 5 s by default):
    poll until the sample count reaches `minimum`, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        count = metric_value(gateway, name + "_count", labels)
        if count >= minimum or time.monotonic() > deadline:
            return count
        time.sleep(0.25)


def eventually(probe, timeout: float = 5.0, interval: float = 0.1):
    """Calls `probe` until it returns something truthy (Envoy writes access logs and flushes
    stats on its own schedule); returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def post_json(url: str, body: bytes, headers: dict | None = None):
    """(status, headers, parsed body) of a raw POST, error statuses included; a body that is
    not JSON comes back as text."""
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, got, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, got, raw = err.code, dict(err.headers), err.read()
    try:
        return status, got, json.loads(raw)
    except ValueError:
        return status, got, raw.decode(errors="replace")


def chat_status(url: str, trap: bool = False) -> int:
    """The status of a minimal chat request (`trap`: with the probe filters' `x-trap-vm`)."""
    status, _, _ = post_json(url + "/v1/chat/completions", b'{"model":"gpt-4o","messages":[]}',
                             {"x-trap-vm": "1"} if trap else None)
    return status


def raw_request(port: int, method: bytes, path: bytes, headers=(), body: bytes = b"",
                timeout: float = 15.0, content_length: bool = True):
    """One HTTP/1.1 request over a fresh socket, bytes as given (non-UTF-8 headers, odd paths):
    returns (status, {lower-case name: value bytes}, body bytes); status 0 if the connection
    closed without a response."""
    import socket
    lines = [method + b" " + path + b" HTTP/1.1", b"host: gateway", b"connection: close"]
    lines += [n + b": " + v for n, v in headers]
    if content_length and not any(n.lower() in (b"content-length", b"transfer-encoding") for n, _ in headers):
        lines.append(b"content-length: " + str(len(body)).encode())
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # Envoy may answer (413, 431) and close before reading everything
        out = bytearray()
        try:
            while chunk := s.recv(1 << 16):
                out += chunk
        except OSError:
            pass
    head, sep, rest = bytes(out).partition(b"\r\n\r\n")
    if not sep:
        return 0, {}, b""
    status_line, *header_lines = head.split(b"\r\n")
    got = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        got[name.strip().lower().decode("latin-1")] = value.strip()
    if got.get("transfer-encoding", b"").lower() == b"chunked":
        rest = _dechunk(rest)
    return int(status_line.split()[1]), got, rest


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)
