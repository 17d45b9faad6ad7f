"""Reduce Istio's generated CRDs to the kinds and versions istio/*.yaml uses.

    .venv/bin/python e2e/schemas/reduce_crds.py path/to/crd-all.gen.yaml

Writes e2e/schemas/istio-crds.yaml, which test_istio.py validates the manifests against. The
OpenAPI schemas are kept as Istio generates them; only unused kinds and versions are dropped.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
HEADER = """\
# The Istio CustomResourceDefinitions the manifests in istio/ use, reduced to the kinds and
# versions used there (OpenAPI schemas unchanged). From istio/istio
# manifests/charts/base/files/crd-all.gen.yaml (Apache License 2.0). Regenerate with
# e2e/schemas/reduce_crds.py when Istio's API changes.
"""


def used_kinds() -> set[tuple[str, str]]:
    """(apiVersion, kind) of every resource in istio/*.yaml."""
    found = set()
    for path in sorted((HERE.parent.parent / "istio").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.add((doc["apiVersion"], doc["kind"]))
    return found


def main() -> int:
    used = used_kinds()
    out = []
    for crd in yaml.safe_load_all(Path(sys.argv[1]).read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        versions = [v for v in crd["spec"]["versions"] if (f'{group}/{v["name"]}', kind) in used]
        if versions:
            out.append({"apiVersion": crd["apiVersion"], "kind": crd["kind"],
                        "metadata": {"name": crd["metadata"]["name"]},
                        "spec": {"group": group, "names": {"kind": kind},
                                 "versions": [{"name": v["name"], "schema": v["schema"]} for v in versions]}})
    missing = used - {(f'{c["spec"]["group"]}/{v["name"]}', c["spec"]["names"]["kind"])
                      for c in out for v in c["spec"]["versions"]}
    if missing:
        print(f"not in the CRDs given: {sorted(missing)}", file=sys.stderr)
        return 1
    with open(HERE / "istio-crds.yaml", "w") as f:
        f.write(HEADER)
        yaml.safe_dump_all(out, f, sort_keys=False, width=110)
    print(f"{len(out)} CRDs written to {HERE / 'istio-crds.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
