"""Seed corpora for the fuzz targets from the golden fixtures and the shipped configs.

    python3 filters/core/fuzz/seed.py target/fuzz-corpus

Each target reads a selector byte first (see fuzz_targets/common.rs: with n = len(APIS) and the
top bit (streaming) masked off, API = APIS[s % n], the other API = APIS[(s / n) % n]); seeds carry
the selector that makes the fixture meaningful.
"""
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "translate"
CONFIGS = HERE.parents[2] / "envoy-configs"
# In fuzz_targets/common.rs's order.
APIS = ["openai", "anthropic", "gemini", "bedrock", "openai-embeddings", "bedrock-embeddings"]
# The config target's selector: which filter's parser (fuzz_targets/config.rs).
ORDER = {"portcullis.router": 0, "portcullis.credentials": 1, "portcullis.prompt": 2, "portcullis.usage": 3}


def selector(frm: str, to: str, stream: bool = False) -> int:
    return APIS.index(frm) + len(APIS) * APIS.index(to) + (0x80 if stream else 0)


def main(out: Path) -> None:
    seeds: dict[str, list[bytes]] = {t: [] for t in
                                     ["sse", "translate_json", "translate_stream", "usage", "config", "model_path", "router_flow",
                                      "guard"]}
    for case in sorted(FIXTURES.iterdir()):
        for f in case.iterdir():
            kind, _, rest = f.name.partition(".")
            api = rest.split(".")[0]
            if api not in APIS or kind not in ("request", "response", "stream", "error"):
                continue
            data = f.read_bytes()
            for to in APIS:
                s = selector(api, to, kind == "stream")
                if kind == "stream":
                    seeds["translate_stream"].append(bytes([s]) + data)
                    seeds["guard"].append(bytes([s]) + data)
                    seeds["sse"].append(bytes([s]) + data)
                    seeds["usage"].append(bytes([APIS.index(api)]) + data)
                else:
                    seeds["translate_json"].append(bytes([s]) + data)
            if kind == "response":
                seeds["usage"].append(bytes([APIS.index(api)]) + data)
            if kind == "request":
                seeds["guard"].append(bytes([APIS.index(api)]) + data)
                for path_sel in range(6):
                    seeds["router_flow"].append(bytes([path_sel]) + data + b"\xff" + b'{"choices":[]}')
    for path in sorted(CONFIGS.glob("*.yaml")):
        text = path.read_text()
        for name, value in _plugin_configs(yaml.safe_load(text)):
            seeds["config"].append(bytes([ORDER[name]]) + value.encode())
    seeds["guard"] += [b"\x00data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": t}}]}).encode() + b"\n\n"
                       for t in ["mail ann@example.com", "card 4111 1111 1111 1111", "key sk-proj-" + "a1" * 20,
                                 "ssn 123-45-6789 ip 10.0.0.1 fe80::1", "-----BEGIN PRIVATE KEY-----\nabc"]]
    seeds["model_path"] += [m.encode() for m in ["gpt-4o", "gemini-2.5-flash", "a/../b", "x?y", "x:y", "..", "m@1"]]
    for target, items in seeds.items():
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for n, item in enumerate(items):
            (d / f"seed-{n:04d}").write_bytes(item)
        print(f"{target}: {len(items)} seeds")


def _plugin_configs(node):
    if isinstance(node, dict):
        value = node.get("configuration", {}).get("value") if isinstance(node.get("configuration"), dict) else None
        name = node.get("name", "")
        if isinstance(value, str) and name in ORDER:
            yield name, value
        for v in node.values():
            yield from _plugin_configs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _plugin_configs(v)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
