"""Where things are in the repository."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WASM_DIR = ROOT / "target" / "wasm32-wasip1" / "release"
MOCK_BIN = ROOT / "target" / "release" / "portcullis-mock"
RLS_BIN = ROOT / "target" / "release" / "portcullis-rls"
CONFIGS = ROOT / "envoy-configs"
VENV_BIN = ROOT / ".venv" / "bin"
# Chroma has its own virtualenv (e2e/requirements-chroma.txt), installed by `make e2e-servers`.
CHROMA_BIN = ROOT / ".venv-chroma" / "bin" / "chroma"
# PORTCULLIS_ENVOY_BIN runs the tests on another Envoy build (another version, say).
ENVOY_BIN = Path(os.environ.get("PORTCULLIS_ENVOY_BIN", VENV_BIN / "envoy"))
