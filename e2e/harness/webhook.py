"""A guardrail webhook speaking the Gloo AI Gateway webhook contract, for tests (stdlib only).

    with GuardWebhook() as hook:
        ...  # point an Envoy cluster at 127.0.0.1:hook.port
        assert hook.calls[-1]["path"] == "/request"

What it answers is chosen by the texts it is sent:
- a text containing `webhook-reject`: a reject action (403, "the webhook refuses this");
- a text containing `webhook-slow`: a pass, after SLOW_SECONDS (longer than the tests' timeouts);
- `classified` anywhere: a mask action replacing it with `[WEBHOOK-MASKED]`;
- anything else: a pass action.
It binds 127.0.0.1 on a free port, serves from a daemon thread, and stops when the context ends.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

from .local_server import LocalServer

SLOW_SECONDS = 1.5
MASKED = "[WEBHOOK-MASKED]"


def _texts(phase: str, body: dict) -> list[str]:
    if phase == "request":
        return [m.get("content", "") for m in body.get("messages", [])]
    return [c.get("message", {}).get("content", "") for c in body.get("choices", [])]


def _verdict(phase: str, body: dict) -> dict:
    texts = _texts(phase, body)
    if any("webhook-reject" in t for t in texts):
        return {"action": {"body": "the webhook refuses this", "status_code": 403, "reason": "test"}}
    if any("webhook-slow" in t for t in texts):
        time.sleep(SLOW_SECONDS)
        return {"action": {"reason": "slow pass"}}
    if any("classified" in t for t in texts):
        masked = json.loads(json.dumps(body))
        if phase == "request":
            for m in masked["messages"]:
                m["content"] = m["content"].replace("classified", MASKED)
        else:
            for c in masked["choices"]:
                c["message"]["content"] = c["message"]["content"].replace("classified", MASKED)
        return {"action": {"body": masked, "reason": "masked"}}
    return {"action": {}}


class GuardWebhook(LocalServer):
    def __init__(self):
        self.calls: list[dict] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                phase = self.path.rsplit("/", 1)[-1]
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                calls.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                              "json": payload})
                if phase not in ("request", "response") or not isinstance(payload, dict):
                    self.send_response(422)
                    self.end_headers()
                    return
                answer = json.dumps(_verdict(phase, payload.get("body", {}))).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the gateway gave up (timeout): expected in the slow case

            def log_message(self, *args):
                pass

        self.serve(Handler)
