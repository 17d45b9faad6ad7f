"""A throwaway Redis server (Debian's redis-server) on a free 127.0.0.1 port, for tests: no
persistence, stopped by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import process


class RedisServer:
    def __init__(self, port: int | None = None, start_timeout: float = 10.0):
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server missing: `make test` installs Debian's redis-server")
        self.dir = Path(tempfile.mkdtemp(prefix="portcullis-redis-"))
        self.port = port or process.free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._log = open(self.dir / "redis.log", "wb")
        self._proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.ping():
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start: {(self.dir / 'redis.log').read_text()!r}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One command in RESP, its raw reply (enough for the tests' KEYS and GET)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            parts.append(f"${len(a.encode())}\r\n{a}\r\n".encode())
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"".join(parts))
            time.sleep(0.05)
            return s.recv(65536)

    def stop(self) -> None:
        process.stop(self._proc)
        self._log.close()

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
