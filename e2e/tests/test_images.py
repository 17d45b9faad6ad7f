"""`make images`: each filter as an OCI image in the Wasm image spec's "compat" variant (what
Istio's WasmPlugin pulls), checked against the OCI image-layout rules blob by blob."""
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile

import pytest

from harness import paths

sys.path.insert(0, str(paths.ROOT / "e2e"))
import images  # noqa: E402


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def blob(files: dict, descriptor: dict) -> bytes:
    algo, hexdigest = descriptor["digest"].split(":")
    data = files[f"blobs/{algo}/{hexdigest}"]
    assert hashlib.sha256(data).hexdigest() == hexdigest, descriptor
    assert len(data) == descriptor["size"], descriptor
    return data


@pytest.mark.parametrize("short", images.FILTERS)
def test_image_holds_the_built_module_as_plugin_wasm(short):
    wasm = (images.WASM_DIR / f"portcullis_{short}.wasm").read_bytes()
    archive, digest = images.image(wasm, f"portcullis-{short}", "1.2.3")
    files = members(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}

    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1.2.3"
    assert entry["digest"] == digest
    manifest = json.loads(blob(files, entry))
    assert manifest["mediaType"] == entry["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["annotations"]["module.wasm.image/variant"] == "compat"

    config = json.loads(blob(files, manifest["config"]))
    (layer_desc,) = manifest["layers"]  # the compat variant: exactly one layer
    assert layer_desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    layer_tar = gzip.decompress(blob(files, layer_desc))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]
    assert members(layer_tar) == {"plugin.wasm": wasm}


def test_images_are_reproducible():
    wasm = b"\0asm\x01\0\0\0"
    assert images.image(wasm, "x", "1") == images.image(wasm, "x", "1")
    assert images.image(wasm, "x", "1")[1] != images.image(wasm + b"\0", "x", "1")[1]


def test_make_images_writes_one_archive_per_filter():
    out = subprocess.run([sys.executable, str(paths.ROOT / "e2e" / "images.py"), "0.9.0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for short in images.FILTERS:
        archive = images.OUT_DIR / f"portcullis-{short}.tar"
        index = json.loads(members(archive.read_bytes())["index.json"])
        digest = index["manifests"][0]["digest"]
        assert f"portcullis-{short}.tar  0.9.0  image {digest}" in out.stdout
        if shutil.which("skopeo"):  # an OCI tool's reading too, where one is installed
            seen = subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}"],
                                  capture_output=True, text=True, timeout=60)
            assert seen.returncode == 0, seen.stderr
            assert json.loads(seen.stdout)["Digest"] == digest
