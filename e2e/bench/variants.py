"""The Envoy configurations the bench compares, all derived from envoy-configs/gateway.yaml.

Deriving them (instead of keeping copies) means the bare and single-filter rows can never drift
from the shipped gateway: same listener, access log, stats tags, timeouts and clusters; only the
wasm filters differ.

* ``bare``  — no wasm filter at all.
* ``full``  — the shipped chain, untouched (separate layout: a module and a VM per filter).
* ``suite`` — the shipped chain in the suite layout: the four filters from
  portcullis_suite.wasm, one `vm_id`, one VM per worker.
* ``guarded`` — the shipped chain with a guard policy on every request: all built-in detectors,
  masking, on the request and on the answer.
* ``router`` — only the router.
* ``no-<name>`` — the full chain without ``portcullis.<name>`` (credentials, prompt, usage):
  alone, those filters have no router record and refuse every request (they fail closed).

Without the router nobody sets the cluster header, so the derived configs (not ``full``) replace
the catch-all 404 direct response with a route to the ``openai`` cluster: the request still
reaches the mock, and the row measures just the cost of the filters it keeps.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag_config  # noqa: E402
from harness import envoy as envoy_h  # noqa: E402

FILTERS = ("router", "credentials", "prompt", "usage")
FALLBACK_CLUSTER = "openai"


def _is_wasm(f: dict) -> bool:
    return f.get("typed_config", {}).get("@type") == envoy_h.WASM_FILTER_TYPE


def _wasm_name(f: dict) -> str:
    return f["typed_config"]["config"]["name"]


def _filter_lists(cfg: dict):
    """Every http_filters list (listeners, then cluster upstream filters), mutable in place."""
    for listener in cfg.get("static_resources", {}).get("listeners", []):
        for chain in listener.get("filter_chains", []):
            for f in chain.get("filters", []):
                tc = f.get("typed_config", {})
                if "http_filters" in tc:
                    yield tc["http_filters"]
    for cluster in cfg.get("static_resources", {}).get("clusters", []):
        for opts in cluster.get("typed_extension_protocol_options", {}).values():
            if "http_filters" in opts:
                yield opts["http_filters"]


def _route_configs(cfg: dict):
    for listener in cfg.get("static_resources", {}).get("listeners", []):
        for chain in listener.get("filter_chains", []):
            for f in chain.get("filters", []):
                rc = f.get("typed_config", {}).get("route_config")
                if rc:
                    yield rc


def wasm_filters(cfg: dict) -> list[str]:
    """Names of the wasm filters in the config, in chain order."""
    return [_wasm_name(f) for lst in _filter_lists(cfg) for f in lst if _is_wasm(f)]


def keep_only(cfg: dict, keep: set[str]) -> dict:
    """A copy with only the wasm filters named in `keep` (e.g. {"portcullis.router"}), and the
    catch-all direct response turned into a route to the fallback cluster."""
    cfg = copy.deepcopy(cfg)
    for lst in _filter_lists(cfg):
        lst[:] = [f for f in lst if not _is_wasm(f) or _wasm_name(f) in keep]
    for rc in _route_configs(cfg):
        for vh in rc.get("virtual_hosts", []):
            for route in vh.get("routes", []):
                if "direct_response" in route:
                    del route["direct_response"]
                    route["route"] = {"cluster": FALLBACK_CLUSTER, "timeout": "600s"}
    return cfg


def empty_chain(base: dict, noop_wasm: Path) -> dict:
    """The full chain's shape (same filters, VMs, options) with every .wasm replaced by a filter
    that does nothing: what the chain costs before any Portcullis code runs."""
    cfg = keep_only(base, set(wasm_filters(base)))
    for lst in _filter_lists(cfg):
        for f in lst:
            if _is_wasm(f):
                conf = f["typed_config"]["config"]
                conf["vm_config"]["code"] = {"local": {"filename": str(noop_wasm)}}
                conf["configuration"]["value"] = ""
    return cfg


def with_wasm_dir(cfg: dict, directory: Path) -> dict:
    """A copy loading every .wasm from `directory` (same file names): another build of the
    filters (another branch, profile or toolchain) in the same chain."""
    cfg = copy.deepcopy(cfg)
    for lst in _filter_lists(cfg):
        for f in lst:
            if _is_wasm(f):
                local = f["typed_config"]["config"]["vm_config"]["code"].get("local", {})
                if "filename" in local:
                    local["filename"] = str(directory.resolve() / Path(local["filename"]).name)
    return cfg


DETECTORS = ("email", "phone", "credit_card", "us_ssn", "iban", "ipv4", "ipv6", "aws_access_key",
             "openai_key", "anthropic_key", "google_api_key", "github_token", "gitlab_token",
             "slack_token", "jwt", "private_key")


def guarded(base: dict, phases: tuple[str, ...] = ("request", "response")) -> dict:
    """The full chain with every built-in detector masking requests and answers (or the
    `phases` named)."""
    cfg = copy.deepcopy(base)
    every = [{"detector": d, "action": "mask"} for d in DETECTORS]
    policy = {"guards": {phase: every for phase in phases}}
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", {"policies": {"all": policy}, "defaultPolicy": "all"})
    return cfg


def variants(base: dict, noop_wasm: Path | None = None, alt_wasm_dir: Path | None = None) -> dict[str, dict]:
    """name → config, in the order the bench runs them."""
    present = wasm_filters(base)
    out = {"bare": keep_only(base, set()), "full": copy.deepcopy(base)}
    if envoy_h.layout() == "separate":  # else `full` is already the suite layout
        out["suite"] = envoy_h.suite_layout(base)
    if "portcullis.prompt" in present:
        out["guarded"] = guarded(base)
    if "portcullis.usage" in present:
        out["accounted"] = accounted(base)
    if alt_wasm_dir is not None:
        out["alt"] = with_wasm_dir(base, alt_wasm_dir)
    if noop_wasm is not None and noop_wasm.exists():
        out["empty"] = empty_chain(base, noop_wasm)
    # Alone, only the router does its work: the others need the router's record and, without
    # it, answer 500 (they fail closed, see core::contract). Their share is measured by leaving
    # each out of the full chain instead.
    if "portcullis.router" in present:
        out["router"] = keep_only(base, {"portcullis.router"})
    for short in FILTERS[1:]:
        name = f"portcullis.{short}"
        if name in present:
            out[f"no-{short}"] = keep_only(base, set(present) - {name})
    return out


def accounted(base: dict) -> dict:
    """The full chain with the usage filter pricing every answer and keeping a token budget
    that covers every request (large enough never to refuse): the usage issue's CPU budget."""
    cfg = copy.deepcopy(base)
    envoy_h.set_plugin_config(cfg, "portcullis.usage", {
        "prices": {"currency": "USD", "models": [{"model": "*", "input": 1.0, "output": 2.0}]},
        "budgets": [{"name": "all", "per": "tenant", "tokens": 10**15, "window": "day"}],
    })
    return cfg


def counting_off(base: dict) -> dict:
    """The full chain with the usage filter's tokenizer fallback off: it then never reads or
    keeps the request body (the share of that copy in the usage filter's cost)."""
    cfg = copy.deepcopy(base)
    envoy_h.set_plugin_config(cfg, "portcullis.usage", {"tokenizer": {"estimateMissing": False}})
    return cfg


def rag_unbound(base: dict) -> dict:
    """The full chain with gateway-rag.yaml's retrieval policy, bound to a route the bench's
    requests do not take: what a request pays for retrieval existing elsewhere."""
    return rag_config.render_config(base)


def chain_variants(base: dict) -> dict[str, dict]:
    """Full-chain variants for an A/B of the chain itself (`ab.py chain …`)."""
    return {"full": copy.deepcopy(base), "suite": envoy_h.suite_layout(base), "guarded": guarded(base),
            "guarded-request": guarded(base, ("request",)), "guarded-response": guarded(base, ("response",)),
            "accounted": accounted(base), "counting-off": counting_off(base), "rag-unbound": rag_unbound(base)}


def optional(name: str) -> bool:
    """Rows measured only when BENCH_ROWS names them (none at present)."""
    return False


def wasm_files(cfg: dict) -> dict[str, Path]:
    """wasm filter name → .wasm path (as adapted: absolute)."""
    out = {}
    for lst in _filter_lists(cfg):
        for f in lst:
            if _is_wasm(f):
                local = f["typed_config"]["config"]["vm_config"]["code"].get("local", {})
                if "filename" in local:
                    out[_wasm_name(f)] = Path(local["filename"])
    return out


def strip_newer_config(cfg: dict) -> None:
    """Drops plugin-config fields builds older than them refuse (unknown fields are errors), so
    one config serves an A/B against an older build: the router's per-route `models` lists."""
    try:
        router = envoy_h.plugin_config(cfg, "portcullis.router")
    except KeyError:
        return
    for route in router.get("routes", []):
        route.pop("models", None)
    envoy_h.set_plugin_config(cfg, "portcullis.router", router)
