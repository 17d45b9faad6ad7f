"""`make run`: the gateway on 127.0.0.1:10000 (admin 127.0.0.1:9901) with all four filters, on
envoy-configs/gateway-rag.yaml (the shipped gateway.yaml plus retrieval on the route
`docs-assistant`) — or on any gateway config (`make run CONFIG=examples/quickstart.yaml`,
rendered by the CLI) or Envoy bootstrap (`make run CONFIG=gateway-failover.yaml`, a name in
envoy-configs/ or a path); `e2e/run.py <config>`.

A provider cluster on the mock's default address (127.0.0.1:18080) is reached for real over
TLS when its key is set in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY,
GEMINI_API_KEY), and served by the mock otherwise, so the shipped gateway works offline; a
provider with an endpoint of its own is left as configured. When the config has a `chroma` cluster, a Chroma server
(127.0.0.1:8000, PORTCULLIS_CHROMA_PORT) holds the demo documents (e2e/rag/demo-docs.json),
embedded through the gateway once it is up (e2e/rag_seed.py). Ctrl-C stops everything.
"""
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rag_config  # noqa: E402
import rag_seed  # noqa: E402
import yaml  # noqa: E402

from harness import envoy as envoy_h  # noqa: E402
from harness import paths  # noqa: E402
from harness.chroma import ChromaServer  # noqa: E402
from harness.mock import MockServer  # noqa: E402

REAL = {  # cluster → (key variable, host)
    "openai": ("OPENAI_API_KEY", "api.openai.com"),
    "anthropic": ("ANTHROPIC_API_KEY", "api.anthropic.com"),
    "gemini": ("GEMINI_API_KEY", "generativelanguage.googleapis.com"),
}


def use_real_provider(cfg: dict, cluster_name: str, host: str) -> None:
    for cluster in cfg["static_resources"]["clusters"]:
        if cluster["name"] != cluster_name:
            continue
        cluster["type"] = "LOGICAL_DNS"
        cluster["dns_lookup_family"] = "V4_ONLY"
        sa = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        sa["address"], sa["port_value"] = host, 443
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": host,
            },
        }


CLI = paths.ROOT / "target" / "release" / "portcullis"


def load(config: str) -> dict:
    """A bootstrap by path or by name in envoy-configs/, or a gateway config (rendered)."""
    path = Path(config)
    if not path.exists():
        path = paths.CONFIGS / config
    cfg = yaml.safe_load(path.read_text())
    if isinstance(cfg, dict) and "static_resources" not in cfg and "providers" in cfg:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "envoy.yaml"
            result = subprocess.run([str(CLI), "render", "envoy", str(path), "-o", str(out)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(result.stderr.strip())
            cfg = yaml.safe_load(out.read_text())
    return cfg


def on_mock(cfg: dict, cluster_name: str) -> bool:
    """Whether a cluster points at the mock's default address (before adapt())."""
    cluster = envoy_h.cluster(cfg, cluster_name)
    return bool(cluster) and all((sa["address"], sa["port_value"]) == envoy_h.MOCK_DEFAULT
                                 for sa in envoy_h.endpoints(cluster))


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else "gateway-rag.yaml"
    listener = int(os.environ.get("PORTCULLIS_PORT", "10000"))
    admin = int(os.environ.get("PORTCULLIS_ADMIN_PORT", "9901"))
    env = {}
    with contextlib.ExitStack() as stack:
        mock = stack.enter_context(MockServer())
        raw = load(config)
        mocked = {name for name in REAL if on_mock(raw, name)}
        cfg = envoy_h.adapt(raw, mock.port, listener, admin)
        print(f"  config     {config}")
        chroma = None
        if envoy_h.cluster(cfg, "chroma"):
            chroma_port = int(os.environ.get("PORTCULLIS_CHROMA_PORT", str(rag_config.CHROMA_PORT)))
            chroma = stack.enter_context(ChromaServer(port=chroma_port))
            envoy_h.point_cluster(cfg, "chroma", chroma.port)
        for cluster, (var, host) in REAL.items():
            if cluster not in mocked:
                continue
            if os.environ.get(var):
                use_real_provider(cfg, cluster, host)
                print(f"  {cluster:<10} → https://{host} (key from ${var})")
            else:
                env[var] = f"mock-{cluster}-key"
                print(f"  {cluster:<10} → mock provider on 127.0.0.1:{mock.port}")
        for cluster in cfg["static_resources"]["clusters"]:
            if cluster["name"] in mocked or cluster["name"] in ("chroma", envoy_h.SELF_CLUSTER):
                continue
            for sa in envoy_h.endpoints(cluster):
                scheme = "https" if "transport_socket" in cluster else "http"
                print(f"  {cluster['name']:<10} → {scheme}://{sa['address']}:{sa['port_value']}")
        envoy = stack.enter_context(envoy_h.Envoy(cfg, env=env))
        if chroma:
            seeded = rag_seed.seed(envoy.url, chroma.url)
            print(f"  chroma     → 127.0.0.1:{chroma.port}, {seeded} documents in {rag_config.COLLECTION}")
        print(f"\nPortcullis gateway on {envoy.url}  (admin {envoy.admin}, Envoy log {envoy.log_path})")
        print(f"""Try:
  curl {envoy.url}/v1/chat/completions -H 'authorization: Bearer any-key' \\
       -H 'content-type: application/json' \\
       -d '{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"Hello"}}]}}'""")
        if chroma:
            print(f"""  curl -i {envoy.url}/v1/chat/completions -H 'content-type: application/json' \\
       -d '{{"model":"{rag_config.ROUTE}","messages":[{{"role":"user","content":"How long do refunds take?"}}]}}'
       (retrieval: the answer names the documents it was grounded in; x-portcullis-rag-documents)""")
        print(f"""  curl {envoy.admin}/stats/prometheus | grep portcullis
Ctrl-C to stop.""", flush=True)
        stop = {"now": False}
        # Explicit handlers: a shell may start us with SIGINT ignored (e.g. in the background).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.update(now=True))
        while not stop["now"] and envoy.proc.poll() is None:
            time.sleep(0.2)
        # Ctrl-C reaches Envoy too (one process group): its exit then is no failure.
        if envoy.proc.poll() is not None and not stop["now"]:
            print(f"envoy exited:\n{envoy.log_tail()}", file=sys.stderr)
            return 1
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
