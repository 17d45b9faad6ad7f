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
