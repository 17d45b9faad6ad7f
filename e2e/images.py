"""`make images`: each filter as an OCI image Istio's WasmPlugin can pull (`url: oci://…`).

    .venv/bin/python e2e/images.py [version]      # after `make build`

Writes target/images/portcullis-<filter>.tar for each filter: an OCI image layout archive in
the "compat" variant of the Wasm image spec that Istio reads — one gzip'd tar layer holding
`plugin.wasm`, the manifest annotated `module.wasm.image/variant: compat`. Built without a
container engine (only the files the spec defines, byte for byte reproducible: fixed
timestamps, sorted JSON), so it runs anywhere `make build` does. Push with any OCI tool, e.g.

    skopeo copy oci-archive:target/images/portcullis-router.tar docker://REGISTRY/portcullis/router:0.1.0

and point the WasmPlugin's `url` at it (istio/*.wasmplugin.yaml).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import paths  # noqa: E402

FILTERS = ("router", "credentials", "prompt", "usage", "suite")
WASM_DIR = paths.ROOT / "target" / "wasm32-wasip1" / "release"
OUT_DIR = paths.ROOT / "target" / "images"
LAYOUT = '{"imageLayoutVersion":"1.0.0"}'
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = 0  # every timestamp: the same module gives the same image digest


def _json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image(wasm: bytes, name: str, version: str) -> tuple[bytes, str]:
    """The OCI image layout of one module as a tar archive (`oci-archive:` in skopeo), and the
    image's digest (its manifest's: what `@sha256:` pins and the WasmPlugin `sha256` checks)."""
    layer_tar = _tar({"plugin.wasm": wasm})
    layer = gzip.compress(layer_tar, mtime=EPOCH)
    config = _json({
        # GOARCH/GOOS-style platform of a WASI module; Istio and registries do not match on it.
        "architecture": "wasm", "os": "wasip1",
        "config": {"Labels": {"org.opencontainers.image.title": name,
                              "org.opencontainers.image.version": version}},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
    })
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": _digest(layer), "size": len(layer)}],
        "annotations": {"module.wasm.image/variant": "compat",
                        "org.opencontainers.image.title": name,
                        "org.opencontainers.image.version": version},
    })
    index = _json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": MANIFEST_TYPE, "digest": _digest(manifest), "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": version}}],
    })
    blobs = {f"blobs/sha256/{_digest(b).split(':')[1]}": b for b in (layer, config, manifest)}
    return _tar({"oci-layout": LAYOUT.encode(), "index.json": index, **blobs}), _digest(manifest)


def main() -> int:
    version = sys.argv[1] if len(sys.argv) > 1 else "0.1.0"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for short in FILTERS:
        wasm_path = WASM_DIR / f"portcullis_{short}.wasm"
        if not wasm_path.exists():
            print(f"missing {wasm_path}: run `make build`", file=sys.stderr)
            return 2
        wasm = wasm_path.read_bytes()
        out = OUT_DIR / f"portcullis-{short}.tar"
        archive, digest = image(wasm, f"portcullis-{short}", version)
        out.write_bytes(archive)
        print(f"{out.relative_to(paths.ROOT)}  {version}  image {digest}  ({len(wasm):,} bytes of wasm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
