"""Small assertions shared by the e2e tests."""
import re
import time


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


def metric_value(gateway, name: str, labels: dict, settle: float = 2.0) -> float:
    """Sum of the Prometheus samples of `name` whose labels include `labels`.

    Envoy flushes wasm counters to the admin endpoint periodically, so a value that is expected
    to have changed is re-read for up to `settle` seconds by the caller's comparison; here we just
    read once after a short wait for the flush.
    """
    time.sleep(0.1)
    total = 0.0
    for line in gateway.prometheus().splitlines():
        m = _LINE.match(line)
        if not m or m.group(1) != name:
            continue
        got = dict(_LABEL.findall(m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total
