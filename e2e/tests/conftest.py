"""Fixtures: the mock provider and a real Envoy running the Portcullis chain in front of it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # e2e/, for `harness`

from harness import envoy as envoy_h  # noqa: E402
from harness.mock import MockServer  # noqa: E402

# Provider keys the gateway holds (passed to the Wasm VM through Envoy's environment). Clients
# never see them; tests assert they reach the mock and nothing else does.
PROVIDER_KEYS = {
    "OPENAI_API_KEY": "sk-provider-openai-test",
    "ANTHROPIC_API_KEY": "sk-ant-provider-test",
    "GEMINI_API_KEY": "AIza-provider-gemini-test",
}
CLIENT_KEY = "sk-client-key-must-not-leak"


@pytest.fixture(scope="session")
def mock():
    with MockServer() as server:
        yield server


@pytest.fixture(scope="session")
def gateway(mock):
    """The shipped envoy-configs/gateway.yaml, unchanged but for ports and paths."""
    cfg = envoy_h.adapt(envoy_h.load("gateway.yaml"), mock.port)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        yield envoy


@pytest.fixture(autouse=True)
def _fresh_mock(request):
    """Each test sees only its own upstream requests and rules."""
    if "mock" in request.fixturenames:
        m = request.getfixturevalue("mock")
        m.clear()
        m.clear_rules()
    yield
