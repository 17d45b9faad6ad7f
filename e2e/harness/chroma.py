"""A throwaway Chroma server (PyPI chromadb, in .venv-chroma) on a free 127.0.0.1 port, for tests:
data in a temporary directory, stopped by pid, driven over its v2 HTTP API (stdlib only).

    with ChromaServer() as chroma:
        cid = chroma.create_collection("docs")
        chroma.add(cid, ["a"], [[1.0, 0.0, 0.0]], ["the document"])
        ...  # point the prompt filter's retrieval at chroma.url
        chroma.pause()   # SIGSTOP: the store stops answering, so the filter's call times out
        chroma.resume()  # SIGCONT
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import process
from .paths import CHROMA_BIN

COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


class ChromaClient:
    """Chroma's v2 HTTP API at `url` (any Chroma server: the tests' own, or `make run`'s)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _request(self, method: str, path: str, body: dict | None = None, timeout: float = 10.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"chroma {method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from e
        return json.loads(raw) if raw.strip() else None

    def heartbeat(self) -> bool:
        """Whether GET /api/v2/heartbeat answers 200 within a second."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as resp:
                return resp.status == 200
        except OSError:  # refused, reset, timed out, or an HTTP error status
            return False

    def create_collection(self, name: str, space: str = "cosine", timeout: float = 10.0) -> str:
        """Creates collection `name` (HNSW distance `space`: cosine, l2 or ip); returns its id."""
        body = {"name": name, "configuration": {"hnsw": {"space": space}}}
        return self._request("POST", COLLECTIONS, body, timeout)["id"]

    def collection_id(self, name: str, timeout: float = 10.0) -> str:
        return self._request("GET", f"{COLLECTIONS}/{urllib.parse.quote(name, safe='')}", None, timeout)["id"]

    def add(self, collection_id: str, ids: list[str], embeddings: list[list[float]], documents: list[str],
            timeout: float = 10.0) -> None:
        body = {"ids": ids, "embeddings": embeddings, "documents": documents}
        self._request("POST", f"{COLLECTIONS}/{collection_id}/add", body, timeout)

    def query(self, collection_id: str, embedding: list[float], n: int, timeout: float = 10.0) -> dict:
        """The `n` nearest documents to `embedding`, as Chroma answers: ids, documents and distances,
        each a list with one list per query embedding (here one)."""
        body = {"query_embeddings": [embedding], "n_results": n, "include": ["documents", "distances"]}
        return self._request("POST", f"{COLLECTIONS}/{collection_id}/query", body, timeout)

    def delete_collection(self, name: str, timeout: float = 10.0) -> None:
        self._request("DELETE", f"{COLLECTIONS}/{urllib.parse.quote(name, safe='')}", None, timeout)


class ChromaServer(ChromaClient):
    """A running `chroma run` on a free 127.0.0.1 port, its data and log in a temporary directory."""

    def __init__(self, port: int | None = None, start_timeout: float = 30.0):
        if not CHROMA_BIN.exists():
            raise FileNotFoundError(f"{CHROMA_BIN} missing: run `make e2e-servers` (installs Chroma in .venv-chroma)")
        self.dir = Path(tempfile.mkdtemp(prefix="portcullis-chroma-"))
        self.port = port or process.free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.log_path = self.dir / "chroma.log"
        self._log = open(self.log_path, "wb")
        self._stopped = False
        self._proc = subprocess.Popen(
            [str(CHROMA_BIN), "run", "--path", str(self.dir / "data"), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir,
            env={**os.environ, "NO_COLOR": "1"})  # plain log lines (the banner keeps its colours)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.heartbeat():
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log_tail()
        code = self._proc.poll()
        self.stop()
        state = f"exited with {code}" if code is not None else f"no heartbeat within {start_timeout}s"
        raise RuntimeError(f"chroma did not start ({state}):\n{tail}")

    @property
    def pid(self) -> int:
        return self._proc.pid

    # --- lifecycle -------------------------------------------------------------------------

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted (the kernel's backlog) but nothing answers."""
        os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT (harmless when not paused)."""
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def log_text(self) -> str:
        if self._log.closed or not self.log_path.exists():
            return ""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        """Resumes a paused server, terminates it by pid (killed after 10 s), removes its directory."""
        if self._stopped:
            return
        self._stopped = True
        self.resume()  # a stopped process would not act on SIGTERM until continued
        process.stop(self._proc)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ChromaServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
