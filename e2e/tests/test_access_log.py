"""The access log's `path` is the path the client asked for — also when the router sent the
request to a provider path — and a client cannot write it (`x-envoy-original-path`, which
access logs read first and Envoy does not sanitize)."""
import json
import uuid

from helpers import eventually, header, only_request, post_json

SPOOFED = "/spoofed/by/the/client"


def send(gateway, model: str) -> str:
    request_id = str(uuid.uuid4())
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, _, answer = post_json(gateway.url + "/v1/chat/completions", body,
                                  {"authorization": "Bearer sk-client", "x-request-id": request_id,
                                   "x-envoy-original-path": SPOOFED})
    assert status == 200, answer
    return request_id


def logged(gateway, request_id: str) -> dict:
    entries = eventually(lambda: [e for e in gateway.access_log() if e.get("request_id") == request_id],
                         timeout=15)
    assert entries, f"request {request_id} is not in the access log"
    return entries[-1]


def test_translated_request_logs_the_client_path(gateway, mock):
    request_id = send(gateway, "claude-haiku-4-5")
    upstream = only_request(mock)
    assert upstream["path"] == "/v1/messages"
    # What Envoy's own path rewrites send: where the request was addressed before.
    assert header(upstream, "x-envoy-original-path") == "/v1/chat/completions"
    entry = logged(gateway, request_id)
    assert (entry["path"], entry["provider"]) == ("/v1/chat/completions", "anthropic")


def test_a_client_cannot_write_the_logged_path(gateway, mock):
    request_id = send(gateway, "gpt-4o-mini")
    upstream = only_request(mock)
    assert upstream["path"] == "/v1/chat/completions"
    assert header(upstream, "x-envoy-original-path") is None
    assert logged(gateway, request_id)["path"] == "/v1/chat/completions"
