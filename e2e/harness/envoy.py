"""Run a real Envoy on a Portcullis bootstrap, on free ports, and always stop it.

A bootstrap from envoy-configs/ is loaded as YAML and adapted before Envoy sees it: listener and
admin ports become 0 (Envoy picks free ones; we read them back from the admin API, no race),
clusters that point at the mock's default address point at the running mock, and the .wasm
paths become absolute. Tests can also replace a filter's plugin config.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from . import paths, process

MOCK_DEFAULT = ("127.0.0.1", 18080)
WASM_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def load(name: str) -> dict:
    """Loads envoy-configs/<name>."""
    return yaml.safe_load((paths.CONFIGS / name).read_text())


def generated(header: str, cfg: dict) -> str:
    """A generated config file's text: its header comment, then the YAML (keys in order)."""
    return header + yaml.safe_dump(cfg, sort_keys=False, width=100)


def write_generated(out: Path, render) -> int:
    """`main()` of a script deriving a config from gateway.yaml: writes `render(gateway)` to `out`."""
    out.write_text(render(load("gateway.yaml")))
    print(f"written: {out.relative_to(paths.ROOT)}")
    return 0


def http_filters(cfg: dict):
    """Every HTTP filter of every listener and cluster (upstream filters included)."""
    for listener in cfg.get("static_resources", {}).get("listeners", []):
        for chain in listener.get("filter_chains", []):
            for f in chain.get("filters", []):
                yield from f.get("typed_config", {}).get("http_filters", [])
    for cluster in cfg.get("static_resources", {}).get("clusters", []):
        for opts in cluster.get("typed_extension_protocol_options", {}).values():
            yield from opts.get("http_filters", [])


def wasm_config(cfg: dict, name: str) -> dict:
    for f in http_filters(cfg):
        tc = f.get("typed_config", {})
        if tc.get("@type") == WASM_FILTER_TYPE and tc["config"]["name"] == name:
            return tc["config"]
    raise KeyError(f"no wasm filter named {name}")


def set_plugin_config(cfg: dict, name: str, value) -> None:
    """Replaces a filter's plugin config (a dict is sent as JSON, a str as is)."""
    text = value if isinstance(value, str) else json.dumps(value)
    wasm_config(cfg, name)["configuration"]["value"] = text


def plugin_config(cfg: dict, name: str) -> dict:
    return json.loads(wasm_config(cfg, name)["configuration"]["value"])


def cluster(cfg: dict, name: str) -> dict | None:
    """The static cluster named `name`, mutable in place, or None."""
    return next((c for c in cfg["static_resources"]["clusters"] if c["name"] == name), None)


def point_cluster(cfg: dict, name: str, port: int) -> None:
    """Sends cluster `name` to `port` on its address(es): a server a test started on a free port."""
    for sa in endpoints(cluster(cfg, name)):
        sa["port_value"] = port


def endpoints(cluster: dict):
    """The `socket_address` of every endpoint of a cluster, mutable in place."""
    for group in cluster.get("load_assignment", {}).get("endpoints", []):
        for ep in group.get("lb_endpoints", []):
            yield ep["endpoint"]["address"]["socket_address"]


SUITE_WASM = str(paths.WASM_DIR / "portcullis_suite.wasm")
# As the shipped configs spell it: relative to the repository root, like the other modules.
SUITE_WASM_RELATIVE = "target/wasm32-wasip1/release/portcullis_suite.wasm"
SUITE_VM_ID = "portcullis"


def suite_layout(cfg: dict, wasm: str = SUITE_WASM) -> dict:
    """A copy in the suite layout: every Portcullis filter (listener and upstream) loads
    portcullis_suite.wasm with one `vm_id` and one `vm_config` (environment variables merged), so
    the chain runs in one VM per worker. Each filter keeps its name, config, place and failure
    policy; its `root_id` picks its role (named after the filter when the config has none)."""
    cfg = copy.deepcopy(cfg)
    plugins = [f["typed_config"]["config"] for f in http_filters(cfg)
               if f.get("typed_config", {}).get("@type") == WASM_FILTER_TYPE
               and f["typed_config"]["config"].get("root_id", f["name"]).startswith("portcullis.")]
    for plugin in plugins:
        if "root_id" not in plugin:
            # A filter's own module needs no root_id; in the suite it picks the role, and a
            # per-attempt filter (`portcullis.router.upstream`) has its listener filter's role.
            role = plugin["name"].removesuffix(".upstream")
            rebuilt = {"name": plugin.pop("name"), "root_id": role, **plugin}
            plugin.clear()
            plugin.update(rebuilt)
    vms = [plugin["vm_config"] for plugin in plugins]
    host_keys: list[str] = []
    key_values: dict = {}
    for vm in vms:
        env = vm.get("environment_variables", {})
        host_keys += [k for k in env.get("host_env_keys", []) if k not in host_keys]
        key_values.update(env.get("key_values", {}))
    for vm in vms:
        vm["vm_id"] = SUITE_VM_ID
        vm["code"] = {"local": {"filename": wasm}}
        env = {}
        if host_keys:
            env["host_env_keys"] = list(host_keys)
        if key_values:
            env["key_values"] = dict(key_values)
        if env:
            vm["environment_variables"] = env
        else:
            vm.pop("environment_variables", None)
    return cfg


def layout() -> str:
    """`separate` (each filter its own module and VM, the default) or `suite`, from
    PORTCULLIS_LAYOUT: the whole e2e suite can run in either (`make test-e2e LAYOUT=suite`)."""
    value = os.environ.get("PORTCULLIS_LAYOUT", "separate")
    if value not in ("separate", "suite"):
        raise ValueError(f"PORTCULLIS_LAYOUT must be separate or suite, not {value!r}")
    return value


# The cluster that reaches the gateway's own listener (retrieval's embeddings call goes through it).
SELF_CLUSTER = "portcullis-self"


def adapt(cfg: dict, mock_port: int | None, listener_port: int = 0, admin_port: int = 0,
          suite: bool | None = None) -> dict:
    """`suite` overrides PORTCULLIS_LAYOUT (`layout()`): True turns `cfg` into the suite layout,
    False leaves its modules as they are (for tests that choose the layout themselves). A
    `portcullis-self` cluster follows the listener to `listener_port`; a config that has one needs
    a fixed port (with 0, Envoy's pick is known only once it runs)."""
    if suite is None:
        suite = layout() == "suite"
    cfg = suite_layout(cfg) if suite else copy.deepcopy(cfg)
    cfg["admin"]["address"]["socket_address"]["port_value"] = admin_port
    for listener in cfg["static_resources"].get("listeners", []):
        listener["address"]["socket_address"]["port_value"] = listener_port
    for cluster in cfg["static_resources"].get("clusters", []):
        for sa in endpoints(cluster):
            if mock_port and (sa["address"], sa["port_value"]) == MOCK_DEFAULT:
                sa["port_value"] = mock_port
            if cluster["name"] == SELF_CLUSTER and listener_port:
                sa["port_value"] = listener_port
    for f in http_filters(cfg):
        code = f.get("typed_config", {}).get("config", {}).get("vm_config", {}).get("code", {})
        local = code.get("local")
        if local and not os.path.isabs(local["filename"]):
            local["filename"] = str(paths.ROOT / local["filename"])
    return cfg


class Envoy:
    """A running Envoy. Use as a context manager, or call stop()."""

    def __init__(self, cfg: dict, *, env: dict | None = None, log_level: str = "info",
                 concurrency: int = 2, timeout: float = 60.0, extra_args: list[str] | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="portcullis-envoy-"))
        self.config_path = self.dir / "envoy.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.log_path = self.dir / "envoy.log"
        admin_path = self.dir / "admin-address"
        args = [str(paths.ENVOY_BIN), "-c", str(self.config_path), "--concurrency", str(concurrency),
                "--log-level", log_level, "--disable-hot-restart",
                "--admin-address-path", str(admin_path),
                # Access logs reach the log file within 0.1 s instead of Envoy's 10 s default, so
                # tests that read them do not depend on how much else was logged.
                "--file-flush-interval-msec", "100", *(extra_args or [])]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=paths.ROOT)
        try:
            self.admin = self._wait_for_admin(admin_path, timeout)
            self._wait_ready(timeout)
            self.port = self._listener_port()
        except BaseException:  # Ctrl-C while it starts, too: never leave an Envoy behind
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    def _check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"envoy exited with {self.proc.returncode}:\n{self.log_tail()}")

    def _wait_for_admin(self, path: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if path.exists() and path.read_text().strip():
                return "http://" + path.read_text().strip()
            time.sleep(0.05)
        raise TimeoutError(f"envoy admin did not come up:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if self.admin_get("/ready").strip() == "LIVE":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"envoy not ready:\n{self.log_tail()}")

    def _listener_port(self) -> int:
        listeners = json.loads(self.admin_get("/listeners?format=json"))
        addr = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        return int(addr["port_value"])

    def admin_get(self, path: str) -> str:
        with urllib.request.urlopen(self.admin + path, timeout=5) as resp:
            return resp.read().decode()

    def prometheus(self) -> str:
        return self.admin_get("/stats/prometheus")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def access_log(self) -> list[dict]:
        """The JSON access-log lines Envoy wrote so far."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{") and '"method"' in line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def stop(self):
        process.stop(self.proc)
        self._log.close()

    def cleanup(self):
        """Removes the config and log (access logs of long runs grow large)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.stop()
        if exc_type is None:
            self.cleanup()  # kept when something failed, for the log


def validate(path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`envoy --mode validate` on a config file (wasm paths resolved from the repo root)."""
    return subprocess.run([str(paths.ENVOY_BIN), "--mode", "validate", "-c", str(path),
                           "--disable-hot-restart", "--log-level", "warn"],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
