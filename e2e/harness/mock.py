"""Start and drive the mock provider (e2e/mock, the `portcullis-mock` binary)."""
from __future__ import annotations

import json
import subprocess
import threading
import urllib.request

from . import paths


class MockServer:
    """The mock provider on a free 127.0.0.1 port. Use as a context manager, or call stop()."""

    def __init__(self, *args: str, startup_timeout: float = 10.0):
        self.proc = subprocess.Popen([str(paths.MOCK_BIN), "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._first_line(startup_timeout)
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"mock did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _first_line(self, timeout: float) -> str:
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not out:
            self.stop()
            raise TimeoutError("mock did not print its port in time")
        return out[0].strip()

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip().startswith((b"[", b"{")) else raw

    def requests(self) -> list[dict]:
        """Provider requests recorded so far, oldest first."""
        return self._call("GET", "/__mock/requests")

    def clear(self):
        self._call("DELETE", "/__mock/requests")

    def add_rule(self, **rule):
        """A rule applied to matching requests (see e2e/mock/src/rules.rs), e.g.
        add_rule(pathContains="/v1/messages", status=429, times=1)."""
        return self._call("POST", "/__mock/rules", rule)

    def clear_rules(self):
        self._call("DELETE", "/__mock/rules")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
