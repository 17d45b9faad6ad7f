"""The bench's request bodies: what a client sends, identical for every row."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MODEL = "gpt-4o-mini"
PATH = "/v1/chat/completions"
# What every request carries: a client key (the gateway strips it and injects the provider's).
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench-client"}
STREAM_CHUNKS = 20


@dataclass
class Workload:
    key: str
    title: str
    body: bytes
    connections: int  # saturation runs: this many keep-alive connections
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def write(self, directory: Path) -> Path:
        path = directory / f"{self.key}.json"
        path.write_bytes(self.body)
        return path


def _pad_to(messages_of, size: int) -> bytes:
    """The JSON body with its filler text grown until the body is `size` bytes."""
    n = 0
    while True:
        body = json.dumps(messages_of(n), separators=(",", ":")).encode()
        if len(body) >= size:
            return body
        n += max(1, (size - len(body)))


def _chat(filler: int, stream: bool) -> dict:
    text = ("Summarise the quarterly report for the board in plain words, and list the risks. "
            * (filler // 80 + 1))[:filler]
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a careful assistant for a finance team. "
                                          "Answer briefly, cite figures exactly, and never guess."},
            {"role": "user", "content": text},
        ],
        "temperature": 0.2,
        "max_tokens": 256,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def all_workloads() -> list[Workload]:
    return [
        Workload("chat", "chat 1.5 KB", _pad_to(lambda n: _chat(n, False), 1536), connections=16),
        Workload("stream", f"stream {STREAM_CHUNKS} chunks", _pad_to(lambda n: _chat(n, True), 1536),
                 connections=16, stream=True),
        # 1 MB (10^6 bytes): below Envoy's default 1 MiB buffer limit, which the router's
        # buffering of the body is subject to.
        Workload("100kb", "prompt 100 KB", _pad_to(lambda n: _chat(n, False), 100_000), connections=8),
        Workload("1mb", "prompt 1 MB", _pad_to(lambda n: _chat(n, False), 1_000_000), connections=4),
    ]
