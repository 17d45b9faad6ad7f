"""Start the portcullis-rls rate limit service from tests and read what it was asked.

    with RateLimitService({"limits": [...]}, redis=redis.url) as rls:
        ...  # point the gateway's `ratelimit` cluster at rls.port
        assert rls.calls()[-1]["hits_addend"] == 42

Every call is one JSON line on its stdout (domain, descriptors, hits_addend, phase, code,
remaining), kept in a file the tests read.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from . import process
from .paths import RLS_BIN


class RateLimitService:
    """A running `portcullis-rls` on a free 127.0.0.1 port with the given limits."""

    def __init__(self, limits: dict, redis: str | None = None, start_timeout: float = 10.0):
        if not RLS_BIN.exists():
            raise FileNotFoundError(f"{RLS_BIN} missing: run `cargo build --release -p portcullis-rls`")
        self.dir = Path(tempfile.mkdtemp(prefix="portcullis-rls-"))
        limits_path = self.dir / "limits.json"
        limits_path.write_text(json.dumps(limits))
        self.log_path = self.dir / "calls.jsonl"
        self._out = open(self.log_path, "wb")
        args = [str(RLS_BIN), "--limits", str(limits_path), *(["--redis", redis] if redis else [])]
        self._proc = subprocess.Popen(args,
                                      stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            first = self.log_path.read_text().split("\n", 1)[0]
            if first.startswith("LISTENING "):
                self.port = int(first.split()[1])
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"portcullis-rls did not start: {self.log_path.read_text()!r}")

    def calls(self) -> list[dict]:
        lines = self.log_path.read_text().splitlines()[1:]
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> None:
        process.stop(self._proc)
        self._out.close()

    def __enter__(self) -> "RateLimitService":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
