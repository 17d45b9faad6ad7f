"""Seeds a Chroma collection for the gateway's retrieval, embedding each document through the
gateway itself (so the vectors come from the same model, provider and key as the questions'):

    .venv/bin/python e2e/rag_seed.py                      # make run's gateway and Chroma
    .venv/bin/python e2e/rag_seed.py --gateway http://127.0.0.1:10000 --chroma http://127.0.0.1:8000 \\
        --docs my-docs.json --collection portcullis-docs --key <a gateway key>

The documents file is a JSON list of {"id": "…", "text": "…"}. The collection is re-created
(cosine distance, which the filter's `minScore` assumes); the gateway finds the new one by name.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.chroma import ChromaClient  # noqa: E402

DEMO_DOCS = Path(__file__).resolve().parent / "rag" / "demo-docs.json"
# The demo's collection, the model its documents and questions are embedded with, and where
# `chroma run` listens by default. (Standard library only: the Compose demo runs this script in a
# plain Python image.)
COLLECTION = "portcullis-docs"
EMBEDDINGS_MODEL = "text-embedding-3-small"
CHROMA_PORT = 8000


def embed(gateway: str, texts: list[str], model: str, key: str) -> list[list[float]]:
    req = urllib.request.Request(
        f"{gateway.rstrip('/')}/v1/embeddings",
        data=json.dumps({"model": model, "input": texts, "encoding_format": "float"}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        data = json.load(resp)["data"]
    return [item["embedding"] for item in sorted(data, key=lambda d: d["index"])]


def seed(gateway: str, chroma: str, docs: Path = DEMO_DOCS, collection: str = COLLECTION,
         model: str = EMBEDDINGS_MODEL, key: str = "any-key", wait: float = 0) -> int:
    entries = json.loads(docs.read_text())
    ids = [str(d["id"]) for d in entries]
    texts = [str(d["text"]) for d in entries]
    client = ChromaClient(chroma)
    deadline = time.monotonic() + wait
    while True:  # the Compose demo starts the gateway, Chroma and this at once
        try:
            vectors = embed(gateway, texts, model, key)
            if not client.heartbeat():
                raise ConnectionError(f"no Chroma at {chroma}")
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)
    try:
        client.delete_collection(collection)
    except RuntimeError:
        pass  # not there yet
    client.add(client.create_collection(collection), ids, vectors, texts)
    return len(ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:10000")
    parser.add_argument("--chroma", default=f"http://127.0.0.1:{CHROMA_PORT}")
    parser.add_argument("--docs", type=Path, default=DEMO_DOCS)
    parser.add_argument("--collection", default=COLLECTION)
    parser.add_argument("--model", default=EMBEDDINGS_MODEL)
    parser.add_argument("--key", default="any-key", help="the client key the gateway expects")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the gateway and Chroma")
    args = parser.parse_args()
    n = seed(args.gateway, args.chroma, args.docs, args.collection, args.model, args.key, args.wait)
    print(f"seeded {n} documents into {args.collection} at {args.chroma}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
