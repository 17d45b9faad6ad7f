"""Other gateways as rows of the same table (BENCH_PEERS=1): LiteLLM's proxy.

LiteLLM (PyPI `litellm[proxy]`) is installed on demand into its own virtualenv,
`target/bench-peers/venv` (ignored by git, gone with `make clean`), so it never touches the
project's `.venv`. It runs as one process (`--num_workers 1`: the same two
cores, its own event loop) with an OpenAI-compatible model pointing at the same mock provider,
and a random master key (LiteLLM refuses to start without one) that the bench's clients send.
Anything that keeps it from being installed or started raises Unavailable: the bench prints why
and goes on without the row.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import paths, process  # noqa: E402

VENV = paths.ROOT / "target" / "bench-peers" / "venv"
LITELLM = VENV / "bin" / "litellm"
REQUIREMENT = "litellm[proxy]"
START_TIMEOUT = 120.0


class Unavailable(Exception):
    """The peer cannot be measured here (not installable, does not start)."""


def _install(log) -> None:
    if LITELLM.exists():
        return
    log(f"litellm: installing {REQUIREMENT} into {VENV.relative_to(paths.ROOT)} (once, ~1 min)")
    try:
        if not (VENV / "bin" / "python").exists():
            VENV.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True,
                           timeout=300)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        REQUIREMENT], check=True, capture_output=True, text=True, timeout=900)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip().splitlines()[-3:]
        raise Unavailable(f"pip install {REQUIREMENT} failed: {' / '.join(tail)}") from None
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"pip install {REQUIREMENT} failed: {e}") from None
    if not LITELLM.exists():
        raise Unavailable(f"{REQUIREMENT} installed no `litellm` command")


def version() -> str:
    try:
        out = subprocess.run([str(VENV / "bin" / "pip"), "show", "litellm"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Version:")), "?")


def start_litellm(stack: contextlib.ExitStack, mock_url: str, log) -> tuple[str, int, dict[str, str]]:
    """Starts LiteLLM's proxy in front of the mock; returns (url, pid, headers clients must send).
    Stopped by pid when `stack` closes."""
    _install(log)
    workdir = Path(tempfile.mkdtemp(prefix="portcullis-litellm-"))
    stack.callback(shutil.rmtree, workdir, True)  # runs last: after the proxy stopped
    config = workdir / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o-mini\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        f"      api_base: {mock_url}/v1\n"
        "      api_key: sk-mock-openai\n"
        "litellm_settings:\n"
        "  telemetry: false\n")
    master_key = "sk-" + secrets.token_hex(32)
    port = process.free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": master_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR"}
    log_path = workdir / "litellm.log"
    log_file = open(log_path, "wb")
    stack.callback(log_file.close)
    proc = subprocess.Popen([str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                             "--num_workers", "1"], stdout=log_file, stderr=subprocess.STDOUT, env=env,
                            cwd=workdir, stdin=subprocess.DEVNULL)

    stack.callback(process.stop, proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise Unavailable(f"litellm exited with {proc.returncode}: {' / '.join(tail)}")
        try:
            with urllib.request.urlopen(url + "/health/liveliness", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise Unavailable(f"litellm did not answer within {START_TIMEOUT:.0f}s (log {log_path})")
    log(f"litellm: LiteLLM {version()} proxy on {url} (pid {proc.pid}, log {log_path})")
    return url, proc.pid, {"authorization": f"Bearer {master_key}"}
