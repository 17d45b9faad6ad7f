"""Start and drive the portcullis-mock provider from tests (stdlib only).

    with MockServer() as mock:
        mock.add_rule(pathContains="/v1/messages", status=429, times=1)
        ...  # point a client or the gateway at mock.url
        assert mock.requests()[-1]["json"]["model"] == "claude-x"
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import urllib.request
from pathlib import Path

from . import process
from .paths import MOCK_BIN as MOCK_BINARY


class MockServer:
    """A running `portcullis-mock` on a free 127.0.0.1 port."""

    def __init__(self, *extra_args: str, binary: os.PathLike | str = MOCK_BINARY, start_timeout: float = 10.0):
        binary = Path(binary)
        if not binary.exists():
            raise FileNotFoundError(f"{binary} missing: run `cargo build --release -p portcullis-mock`")
        self._proc = subprocess.Popen(
            [str(binary), "--port", "0", *extra_args],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self._proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=start_timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"portcullis-mock printed nothing within {start_timeout}s") from None
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"portcullis-mock did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    # --- admin API -------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/__mock/{path}", data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def requests(self) -> list[dict]:
        """Recorded provider requests, oldest first: method, path, query, headers ([name, value]
        pairs, lower-cased names), body (text), json (parsed or None), ruleId."""
        return self._admin("GET", "requests")

    def clear(self) -> None:
        """Forget recorded requests."""
        self._admin("DELETE", "requests")

    def add_rule(self, **fields) -> int:
        """Add a rule (pathContains, model, header={"name","value"}, times, status, retryAfter,
        latencyMs, firstByteMs, truncate, closeConnection, chunks, chunkDelayMs, reply, raw —
        a verbatim reply: status, headers, headersHex, body, bodyHex, chunks, chunksHex, repeat).
        Returns its id."""
        return self._admin("POST", "rules", fields)["id"]

    def clear_rules(self) -> None:
        self._admin("DELETE", "rules")

    def health(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/__mock/health", timeout=5) as resp:
            return resp.status == 200

    # --- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Terminate by pid; kill if it has not exited after 5 s."""
        proc = self._proc
        process.stop(proc, grace=5)
        if proc.stdout:
            proc.stdout.close()

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def __enter__(self) -> "MockServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
