"""Rotating a provider key and a virtual key with no restart and no failed request.

envoy-configs/gateway-ecds.yaml receives the credentials filter's config by file-based ECDS.
Under continuous traffic the test runs the operator's procedure (docs/credentials.md):
  v1  virtual key OLD, provider key from OPENAI_KEY_V1;
  v2  virtual keys OLD and NEW, provider key from OPENAI_KEY_V2 (both variables were set when
      Envoy started); clients move to NEW;
  v3  virtual key NEW only.
Each version is written beside the watched file and renamed over it (an atomic replace).
"""
import copy
import json
import os
import threading
import time

import pytest
import yaml

from harness import envoy as envoy_h
from harness import paths
from helpers import eventually, header, post_json
from test_credentials import key_hash

OLD_VK = "vk-rotation-old-3c1d"
NEW_VK = "vk-rotation-new-8e2f"
ENV = {
    "OPENAI_API_KEY": "sk-unused-default",
    "OPENAI_KEY_V1": "sk-rotation-v1",
    "OPENAI_KEY_V2": "sk-rotation-v2",
    "ANTHROPIC_API_KEY": "sk-ant-rotation",
    "GEMINI_API_KEY": "AIza-rotation",
}
ECDS_FILE = "portcullis.credentials.yaml"


def credentials_config(virtual_keys: list[str], openai_env: str) -> dict:
    return {
        "tenants": [{"id": "app", "keyHashes": [key_hash(k) for k in virtual_keys]}],
        "providers": {
            "openai": {"keyEnv": openai_env},
            "anthropic": {"keyEnv": "ANTHROPIC_API_KEY"},
            "gemini": {"keyEnv": "GEMINI_API_KEY"},
        },
    }


class EcdsFile:
    """The watched ECDS directory of a test gateway, and atomic replacement of its resource."""

    def __init__(self, directory):
        self.dir = directory
        self.template = yaml.safe_load((paths.CONFIGS / "ecds" / ECDS_FILE).read_text())
        vm = self.template["resources"][0]["typed_config"]["config"]["vm_config"]
        vm["environment_variables"] = {"host_env_keys": sorted(ENV)}
        vm["code"]["local"]["filename"] = str(paths.ROOT / vm["code"]["local"]["filename"])
        self.version = 0

    def write(self, config: dict):
        doc = copy.deepcopy(self.template)
        doc["resources"][0]["typed_config"]["config"]["configuration"]["value"] = json.dumps(config)
        self.version += 1
        tmp = self.dir / f".{ECDS_FILE}.v{self.version}"
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        os.replace(tmp, self.dir / ECDS_FILE)


@pytest.fixture(scope="module")
def ecds(tmp_path_factory):
    return EcdsFile(tmp_path_factory.mktemp("ecds"))


@pytest.fixture(scope="module")
def gw(mock, ecds):
    ecds.write(credentials_config([OLD_VK], "OPENAI_KEY_V1"))
    cfg = envoy_h.load("gateway-ecds.yaml")
    for f in envoy_h.http_filters(cfg):
        source = f.get("config_discovery", {}).get("config_source", {}).get("path_config_source")
        if source:
            source["path"] = str(ecds.dir / ECDS_FILE)
            source["watched_directory"] = {"path": str(ecds.dir)}
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=ENV) as envoy:
        yield envoy


def call(gw, key: str) -> int:
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "rotate"}]}).encode()
    return post_json(gw.url + "/v1/chat/completions", body, {"authorization": "Bearer " + key})[0]


class Traffic:
    """Threads sending requests back to back with the current client key, counting failures."""

    def __init__(self, gw, key: str, threads: int = 3):
        self.gw, self.key = gw, key
        self.sent, self.failures = 0, []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            key = self.key
            try:
                status = call(self.gw, key)
            except OSError as err:  # connection reset, timeout
                status = repr(err)
            with self._lock:
                self.sent += 1
                if status != 200:
                    self.failures.append((key, status))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)


def provider_keys_seen(mock) -> set:
    return {header(r, "authorization") for r in mock.requests()}


def test_rotation_under_traffic_drops_no_request(gw, mock, ecds):
    assert call(gw, OLD_VK) == 200
    assert provider_keys_seen(mock) == {"Bearer " + ENV["OPENAI_KEY_V1"]}

    with Traffic(gw, OLD_VK) as traffic:
        time.sleep(0.5)
        # v2: new provider key, both virtual keys valid.
        ecds.write(credentials_config([OLD_VK, NEW_VK], "OPENAI_KEY_V2"))
        assert eventually(lambda: "Bearer " + ENV["OPENAI_KEY_V2"] in provider_keys_seen(mock), timeout=10), \
            "the new provider key is in use"
        time.sleep(0.5)  # every worker has the new config
        traffic.key = NEW_VK  # clients move to the new virtual key
        time.sleep(0.5)
        # v3: the old virtual key is withdrawn.
        ecds.write(credentials_config([NEW_VK], "OPENAI_KEY_V2"))
        assert eventually(lambda: call(gw, OLD_VK) == 401, timeout=10), "the old virtual key is refused"
        time.sleep(0.5)
    print(f"{traffic.sent} requests during the rotation")
    assert traffic.sent > 50, f"only {traffic.sent} requests during the rotation"
    assert traffic.failures == [], f"{len(traffic.failures)} of {traffic.sent} requests failed"

    mock.clear()
    assert call(gw, NEW_VK) == 200
    assert call(gw, OLD_VK) == 401
    assert provider_keys_seen(mock) == {"Bearer " + ENV["OPENAI_KEY_V2"]}, "only the new provider key"

    stats = gw.admin_get("/stats?filter=extension_config_discovery")
    assert "portcullis.credentials.config_reload: 3" in stats, stats


def test_invalid_update_is_rejected_and_the_last_good_config_stays(gw, mock, ecds):
    before = gw.admin_get("/stats?filter=extension_config_discovery")
    bad = credentials_config([NEW_VK], "OPENAI_KEY_V2")
    bad["tenants"][0]["keyHashes"] = ["not-a-hash"]
    ecds.write(bad)
    assert eventually(lambda: "update_rejected: 1" in gw.admin_get("/stats?filter=extension_config_discovery"),
                      timeout=10), before
    assert call(gw, NEW_VK) == 200
    assert call(gw, OLD_VK) == 401
    # Put a good version back so the file on disk is valid again.
    ecds.write(credentials_config([NEW_VK], "OPENAI_KEY_V2"))


def test_shipped_ecds_config_serves_its_demo_tenant(mock):
    """gateway-ecds.yaml and its ECDS file as shipped (paths relative to the repository root)."""
    env = {"OPENAI_API_KEY": "sk-shipped-ecds", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"}
    with envoy_h.Envoy(envoy_h.adapt(envoy_h.load("gateway-ecds.yaml"), mock.port), env=env) as gw:
        assert call(gw, "sk-portcullis-demo") == 200
        assert call(gw, "sk-something-else") == 401
    assert provider_keys_seen(mock) == {"Bearer sk-shipped-ecds"}
