"""Hostile input through the real Envoy and filters: what an attacker, a broken SDK or a
misbehaving provider sends.

Every case asserts the status, that the error is in the shape of the API the client called,
whether the provider was called, that no secret (virtual key, provider key) appears in the
response or in Envoy's log, and that the gateway still serves: after each case, 20 normal
requests on fresh connections (so on every worker) succeed. A trapped Wasm VM fails the last
check: every later request on its worker would get an empty 503.

The gateway is gateway.yaml with tenants (virtual keys) and two more providers whose model sits
in the URL path (Azure, Vertex AI); `test_failover_*` uses gateway-failover.yaml.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pytest

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import raw_request

VK = "vk-hostile-acme-51c0"
VK_AZURE_X = "vk-hostile-azx-77d2"
SECRETS = [VK, VK_AZURE_X, *PROVIDER_KEYS.values()]

OAI, ANT, GEM = "openai", "anthropic", "gemini"
CHAT = b"/v1/chat/completions"
MESSAGES = b"/v1/messages"
GEMINI = b"/v1beta/models/gemini-2.5-flash:generateContent"
GEMINI_STREAM = b"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def hostile_config(mock_port: int) -> dict:
    cfg = envoy_h.load("gateway.yaml")
    router = envoy_h.plugin_config(cfg, "portcullis.router")
    router["providers"]["azure"] = {"kind": "azure", "host": "acme.openai.azure.com", "cluster": "openai"}
    router["providers"]["vertex"] = {"kind": "vertex", "host": "us-central1-aiplatform.googleapis.com",
                                     "cluster": "gemini", "project": "acme", "location": "us-central1"}
    router["routes"] += [{"model": "azure-*", "provider": "azure"}, {"model": "vertex-*", "provider": "vertex"}]
    envoy_h.set_plugin_config(cfg, "portcullis.router", router)
    creds = envoy_h.plugin_config(cfg, "portcullis.credentials")
    creds["providers"]["azure"] = {"keyEnv": "OPENAI_API_KEY"}
    creds["providers"]["vertex"] = {"keyEnv": "GEMINI_API_KEY"}
    creds["tenants"] = [
        {"id": "acme", "keyHashes": [key_hash(VK)]},
        {"id": "azure-x", "keyHashes": [key_hash(VK_AZURE_X)],
         "allow": [{"provider": "azure", "models": ["azure-x*"]}]},
    ]
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", creds)
    return envoy_h.adapt(cfg, mock_port)


@pytest.fixture(scope="module")
def gw(mock):
    with envoy_h.Envoy(hostile_config(mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


AUTH = [(b"authorization", b"Bearer " + VK.encode())]
JSON_CT = [(b"content-type", b"application/json")]


def chat(model: str = "gpt-4o-mini", **extra) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}).encode()


def messages(model: str = "claude-haiku-4-5", **extra) -> bytes:
    return json.dumps({"model": model, "max_tokens": 16,
                       "messages": [{"role": "user", "content": "hi"}], **extra}).encode()


GEMINI_BODY = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).encode()


@dataclass
class Case:
    id: str
    path: bytes = CHAT
    body: bytes = b""
    method: bytes = b"POST"
    headers: list = field(default_factory=lambda: AUTH + JSON_CT)
    rule: dict | None = None
    status: int | tuple = 400
    shape: str | None = OAI
    upstream: bool | None = False
    # Extra check on (headers, body).
    check: object = None


def raw(status=200, body="", content_type="application/json", **kw) -> dict:
    headers = [["content-type", content_type]] if content_type else []
    return {"status": status, "headers": headers + kw.pop("headers", []), "body": body, **kw}


def sse(*events: str) -> list[str]:
    return [e if e.endswith("\n\n") else e + "\n\n" for e in events]


DEEP = "[" * 5000 + "]" * 5000
BIG = 33 << 20

CASES = [
    # --- malformed bodies ------------------------------------------------------------------
    Case("not-json", body=b"{not json"),
    Case("empty-body", body=b""),
    Case("json-array", body=b"[]"),
    Case("json-string", body=b'"hello"'),
    Case("json-null", body=b"null"),
    Case("json-number", body=b"12345"),
    Case("deep-json", body=DEEP.encode()),
    Case("deep-json-model", body=b'{"model":' + DEEP.encode() + b"}"),
    Case("truncated-json", body=chat()[:-5]),
    Case("trailing-garbage", body=chat() + b"}}garbage"),
    Case("model-number", body=b'{"model":42,"messages":[]}'),
    Case("model-object", body=b'{"model":{"$ne":null},"messages":[]}'),
    Case("model-null", body=b'{"model":null,"messages":[]}'),
    Case("model-empty", body=b'{"model":"","messages":[]}'),
    Case("no-model", body=b'{"messages":[{"role":"user","content":"hi"}]}'),
    Case("stream-as-string", body=b'{"model":"gpt-4o","stream":"yes","messages":[]}'),
    Case("invalid-utf8-in-body", body=b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xff\xfe"}]}'),
    Case("nul-in-model", body=b'{"model":"gpt\\u0000-4o","messages":[]}'),
    Case("utf16-bom-body", body=b"\xff\xfe" + chat().decode().encode("utf-16-le")),
    Case("translated-messages-not-a-list", body=chat("claude-haiku-4-5").replace(b'[{"role": "user", "content": "hi"}]', b'"hi"')),
    Case("translated-content-wrong-type", body=b'{"model":"claude-haiku-4-5","messages":[{"role":"user","content":42}]}'),
    Case("translated-tool-args-not-json", body=json.dumps({"model": "claude-haiku-4-5", "messages": [
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "x"}]}).encode()),
    Case("anthropic-not-json", path=MESSAGES, body=b"<xml/>", shape=ANT),
    Case("anthropic-array", path=MESSAGES, body=b"[1,2]", shape=ANT),
    Case("anthropic-deep", path=MESSAGES, body=DEEP.encode(), shape=ANT),
    Case("anthropic-to-openai-bad-content", path=MESSAGES, body=b'{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":{"x":1}}]}', shape=ANT),
    Case("gemini-not-json", path=GEMINI, body=b"nope", shape=GEM),
    Case("gemini-deep", path=GEMINI, body=DEEP.encode(), shape=GEM),
    Case("gemini-contents-wrong", path=b"/v1beta/models/gpt-4o:generateContent", body=b'{"contents":"x"}', shape=GEM),
    Case("chat-no-body", body=b"", headers=AUTH),
    # --- size --------------------------------------------------------------------------------
    Case("body-over-limit", body=b'{"model":"gpt-4o","messages":[{"role":"user","content":"' + b"x" * BIG + b'"}]}', status=413),
    Case("anthropic-body-over-limit", path=MESSAGES, body=b'{"model":"claude-haiku-4-5","x":"' + b"x" * BIG + b'"}', status=413, shape=ANT),
    Case("gemini-body-over-limit", path=GEMINI, body=b'{"x":"' + b"x" * BIG + b'"}', status=413, shape=GEM),
    Case("headers-over-limit", headers=AUTH + [(b"x-pad-%d" % i, b"a" * 1000) for i in range(100)], body=chat(), status=431, shape=OAI),
    Case("long-model-name", body=chat("gpt-" + "a" * 5000)),
    Case("many-messages-passes", body=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}] * 20000}).encode(), status=200, shape=None, upstream=True),
    # --- non-UTF-8 headers -------------------------------------------------------------------
    Case("non-utf8-random-header", headers=AUTH + JSON_CT + [(b"x-junk", b"\xff\xfe\xfd")], body=chat(), status=200, shape=None, upstream=True),
    Case("non-utf8-authorization", headers=JSON_CT + [(b"authorization", b"Bearer \xff" + VK.encode())], body=chat(), status=401),
    Case("non-utf8-x-api-key", path=MESSAGES, headers=JSON_CT + [(b"x-api-key", b"\xc3\x28")], body=messages(), status=401, shape=ANT),
    Case("non-utf8-request-id", headers=AUTH + JSON_CT + [(b"x-request-id", b"\xff\xff")], body=chat(), status=200, shape=None, upstream=True),
    Case("non-utf8-content-type", headers=AUTH + [(b"content-type", b"application/json\xff")], body=chat(), status=200, shape=None, upstream=True),
    Case("non-utf8-anthropic-version", path=MESSAGES, headers=AUTH + JSON_CT + [(b"anthropic-version", b"\xff")], body=messages(), status=200, shape=None, upstream=True),
    Case("non-utf8-on-model-list", path=b"/v1/models", method=b"GET", headers=[(b"x-goog-api-client", b"\xfe\xff")], status=401, shape=GEM),
    Case("model-list-needs-a-key", path=b"/v1/models", method=b"GET", headers=[(b"anthropic-version", b"2023-06-01")], status=401, shape=ANT),
    Case("non-utf8-on-model-list-authorized", path=b"/v1/models", method=b"GET", headers=AUTH + [(b"user-agent", b"\x80\x81")], status=200, shape=None),
    Case("non-utf8-cluster-header", headers=AUTH + JSON_CT + [(b"x-portcullis-cluster", b"\xff")], body=chat(), status=200, shape=None, upstream=True),
    Case("non-utf8-percent-path", path=b"/v1/chat/completions%ff", body=chat(), status=404),
    # --- path and model-name tricks ----------------------------------------------------------
    Case("gemini-traversal-in-model", body=chat("gemini-x/../../v1beta/files")),
    Case("vertex-traversal-in-model", body=chat("vertex-x/../../../projects/OTHER/locations/x/publishers/google/models/m")),
    Case("azure-traversal-in-model", body=chat("azure-x/../other-deployment")),
    Case("azure-query-injection", body=chat("azure-x?api-version=2020-01-01")),
    Case("azure-ampersand", body=chat("azure-x&api-version=1")),
    Case("azure-fragment", body=chat("azure-x#frag")),
    Case("model-with-space", body=chat("gpt 4o")),
    Case("model-with-crlf", body=chat("gpt-4o\r\nx-injected: 1")),
    Case("model-with-semicolon-label", body=chat("gpt-4o;tenant=evil")),
    Case("model-unicode", body=chat("gpt-4o\u202e")),
    Case("model-percent-encoded", body=chat("gemini-x%2F..%2Ffiles")),
    Case("model-dot-dot", body=chat(".."), status=404),
    Case("gemini-path-encoded-slash", path=b"/v1beta/models/gemini-x%2F..%2Ffiles:generateContent", body=GEMINI_BODY, shape=GEM),
    Case("gemini-path-dot-segments", path=b"/v1beta/models/..:generateContent", body=GEMINI_BODY, status=404, shape=GEM),
    Case("gemini-path-nested-model", path=b"/v1beta/models/a/b:generateContent", body=GEMINI_BODY, status=404, shape=GEM),
    Case("gemini-path-colon-model", path=b"/v1beta/models/x:y:generateContent", body=GEMINI_BODY, status=404, shape=GEM),
    Case("tenant-scope-traversal", headers=[(b"authorization", b"Bearer " + VK_AZURE_X.encode())] + JSON_CT, body=chat("azure-x/../azure-other")),
    Case("tenant-scope-query", headers=[(b"authorization", b"Bearer " + VK_AZURE_X.encode())] + JSON_CT, body=chat("azure-x?api-version=1")),
    Case("tenant-scope-respected", headers=[(b"authorization", b"Bearer " + VK_AZURE_X.encode())] + JSON_CT, body=chat("azure-other"), status=403),
    Case("tenant-scope-allowed", headers=[(b"authorization", b"Bearer " + VK_AZURE_X.encode())] + JSON_CT, body=chat("azure-x1"), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: reqs[0]["path"] == "/openai/deployments/azure-x1/chat/completions"),
    Case("dot-segments-in-path", path=b"/v1/../v1/chat/completions", body=chat(), status=404),
    Case("double-slash-path", path=b"//v1/chat/completions", body=chat(), status=404),
    Case("client-api-version-query", path=b"/v1/chat/completions?api-version=2020-01-01", body=chat("azure-x1"), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: reqs[0]["query"] == "api-version=2024-10-21"),
    Case("lowercase-method", method=b"post", body=chat(), status=400, shape=None),
    Case("absolute-form-uri", path=b"http://evil.example/v1/chat/completions", body=chat(), status=200, shape=None, upstream=True),
    # --- internal headers a client may not set ----------------------------------------------
    Case("spoof-cluster-header", headers=AUTH + JSON_CT + [(b"x-portcullis-cluster", b"anthropic")], body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: reqs[0]["path"] == "/v1/chat/completions" and not any(n.startswith("x-portcullis") for n, _ in reqs[0]["headers"])),
    Case("spoof-provider-header", headers=AUTH + JSON_CT + [(b"x-portcullis-provider", b"anthropic")], body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: h.get("x-portcullis-provider") == b"openai"),
    Case("spoof-original-path", headers=AUTH + JSON_CT + [(b"x-envoy-original-path", b"/admin?key=x")], body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: not any(n == "x-envoy-original-path" for n, _ in reqs[0]["headers"])),
    Case("spoof-tenant-state-header", headers=AUTH + JSON_CT + [(b"x-portcullis-tenant", b"azure-x")], body=chat(), status=200, shape=None, upstream=True),
    # --- client-sent credentials -------------------------------------------------------------
    Case("no-key", headers=JSON_CT, body=chat(), status=401),
    Case("wrong-key", headers=JSON_CT + [(b"authorization", b"Bearer vk-wrong")], body=chat(), status=401),
    Case("provider-key-as-client-key", headers=JSON_CT + [(b"authorization", b"Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"].encode())], body=chat(), status=401),
    Case("provider-key-in-x-api-key", path=MESSAGES, headers=JSON_CT + [(b"x-api-key", PROVIDER_KEYS["ANTHROPIC_API_KEY"].encode())], body=messages(), status=401, shape=ANT),
    Case("provider-key-in-goog-header", path=GEMINI, headers=JSON_CT + [(b"x-goog-api-key", PROVIDER_KEYS["GEMINI_API_KEY"].encode())], body=GEMINI_BODY, status=401, shape=GEM),
    Case("extra-provider-key-stripped", headers=AUTH + JSON_CT + [(b"x-api-key", b"sk-ant-smuggled"), (b"api-key", b"azure-smuggled"), (b"x-goog-api-key", b"AIza-smuggled")], body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: "smuggled" not in json.dumps(reqs[0])),
    Case("query-key-wrong", path=GEMINI + b"?key=vk-wrong", headers=JSON_CT, body=GEMINI_BODY, status=401, shape=GEM),
    Case("query-key-on-unrouted-path", path=b"/v1beta/models/gemini-2.5-flash:countTokens?key=" + VK.encode(), headers=JSON_CT, body=GEMINI_BODY, status=501, shape=GEM),
    Case("query-key-on-unknown-path", path=b"/v1/files?key=" + VK.encode(), headers=JSON_CT, body=b"{}", status=404, shape=OAI),
    Case("query-key-twice", path=GEMINI + b"?key=vk-wrong&key=" + VK.encode(), headers=JSON_CT, body=GEMINI_BODY, status=401, shape=GEM),
    Case("basic-auth-scheme", headers=JSON_CT + [(b"authorization", b"Basic " + VK.encode())], body=chat(), status=401),
    # --- method and path errors on every client API -------------------------------------------
    Case("get-chat", method=b"GET", path=CHAT, headers=AUTH, status=405),
    Case("put-embeddings", method=b"PUT", path=b"/v1/embeddings", body=b"{}", status=405),
    Case("delete-chat", method=b"DELETE", path=CHAT, headers=AUTH, status=405),
    Case("get-messages", method=b"GET", path=MESSAGES, headers=AUTH, status=405, shape=ANT),
    Case("count-tokens", path=b"/v1/messages/count_tokens", body=messages(), status=501, shape=ANT),
    Case("message-batches", path=b"/v1/messages/batches", body=b"{}", status=501, shape=ANT),
    Case("gemini-get-generate", method=b"GET", path=GEMINI, headers=AUTH, status=405, shape=GEM),
    Case("gemini-count-tokens", path=b"/v1beta/models/gemini-2.5-flash:countTokens", body=GEMINI_BODY, status=501, shape=GEM),
    Case("gemini-embed-content", path=b"/v1/models/gemini-2.5-flash:embedContent", body=GEMINI_BODY, status=501, shape=GEM),
    Case("gemini-unknown-verb", path=b"/v1beta/models/gemini-2.5-flash:explode", body=GEMINI_BODY, status=404, shape=GEM),
    Case("gemini-files", path=b"/v1beta/files", body=b"{}", status=404, shape=GEM),
    Case("gemini-tuned-models", path=b"/v1beta/tunedModels/t:generateContent", body=GEMINI_BODY, status=404, shape=GEM),
    Case("gemini-model-get", method=b"GET", path=b"/v1beta/models/gemini-2.5-flash", headers=AUTH, status=404, shape=GEM),
    Case("openai-files", path=b"/v1/files", body=b"{}", status=404),
    Case("root-path", method=b"GET", path=b"/", headers=AUTH, status=404),
    # --- misbehaving upstreams: translated route (OpenAI client, Anthropic provider) ----------
    Case("up-html-200-translated", body=chat("claude-haiku-4-5"), rule=raw(200, "<html>oops</html>", "text/html"), status=502, upstream=True),
    Case("up-array-200-translated", body=chat("claude-haiku-4-5"), rule=raw(200, "[1,2,3]"), status=502, upstream=True),
    Case("up-wrong-types-translated", body=chat("claude-haiku-4-5"), rule=raw(200, '{"content":"x","usage":7}'), status=502, upstream=True),
    Case("up-invalid-utf8-translated", body=chat("claude-haiku-4-5"), rule={"status": 200, "headers": [["content-type", "application/json"]], "bodyHex": "7b22636f6e74656e74223a22ff227d"}, status=502, upstream=True),
    Case("up-deep-json-translated", body=chat("claude-haiku-4-5"), rule=raw(200, DEEP), status=502, upstream=True),
    Case("up-error-object-200-translated", body=chat("claude-haiku-4-5"), rule=raw(200, '{"error":{"message":"quota exceeded"}}'), status=502, upstream=True,
         check=lambda h, b, reqs: "quota exceeded" in b.decode()),
    Case("up-empty-200-translated", body=chat("claude-haiku-4-5"), rule=raw(200, ""), status=502, upstream=True),
    Case("up-empty-500-translated", body=chat("claude-haiku-4-5"), rule=raw(500, "", None, headers=[["content-length", "0"]]), status=500, upstream=True),
    Case("up-html-502-translated", body=chat("claude-haiku-4-5"), rule=raw(502, "<html>bad gateway</html>", "text/html"), status=502, upstream=True),
    Case("up-reset-translated", body=chat("claude-haiku-4-5"), rule={"closeConnection": True}, status=503, upstream=True),
    Case("up-huge-translated", body=chat("claude-haiku-4-5"), rule=raw(200, '{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"' + "y" * (40 << 20) + '"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}'), status=502, upstream=True),
    Case("up-sse-garbage-translated", body=chat("claude-haiku-4-5", stream=True), rule={"status": 200, "headers": [["content-type", "text/event-stream"]], "chunks": sse("event: message_start\ndata: {oops")}, status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: b"could not be translated" in b),
    Case("up-sse-oversized-event-translated", body=chat("claude-haiku-4-5", stream=True), rule={"status": 200, "headers": [["content-type", "text/event-stream"]], "chunks": ["data: " + "x" * (2 << 20)]}, status=200, shape=None, upstream=True),
    Case("up-sse-invalid-utf8-translated", body=chat("claude-haiku-4-5", stream=True), rule={"status": 200, "headers": [["content-type", "text/event-stream"]], "chunksHex": ["646174613a207bff7d0a0a"]}, status=200, shape=None, upstream=True),
    Case("up-sse-truncated-translated", path=MESSAGES, body=messages("gpt-4o-mini", stream=True), rule={"truncate": 2}, status=200, shape=None, upstream=True),
    Case("up-json-as-sse-translated", body=chat("claude-haiku-4-5", stream=True), rule=raw(200, '{"not":"sse"}', "text/event-stream"), status=200, shape=None, upstream=True),
    Case("up-sse-as-json-translated", body=chat("claude-haiku-4-5"), rule=raw(200, "event: x\ndata: {}\n\n"), status=502, upstream=True),
    Case("up-non-utf8-header-translated", body=chat("claude-haiku-4-5"), rule={"headersHex": [["x-weird", "fffe"]], "status": 429, "body": "{}"}, status=429, upstream=True),
    Case("up-gemini-html-to-anthropic", path=MESSAGES, body=messages("gemini-2.5-flash"), rule=raw(200, "<html/>", "text/html"), status=502, shape=ANT, upstream=True),
    Case("up-openai-array-to-gemini", path=b"/v1beta/models/gpt-4o-mini:generateContent", body=GEMINI_BODY, rule=raw(200, "[]"), status=502, shape=GEM, upstream=True),
    Case("up-401-empty-to-gemini", path=b"/v1beta/models/gpt-4o-mini:generateContent", body=GEMINI_BODY, rule=raw(401, "", None, headers=[["content-length", "0"]]), status=401, shape=GEM, upstream=True),
    # --- misbehaving upstreams: same API --------------------------------------------------------
    Case("up-html-502-same-api", rule=raw(502, "<html>bad gateway</html>", "text/html"), body=chat(), status=502, upstream=True),
    Case("up-empty-503-same-api", rule=raw(503, "", None, headers=[["content-length", "0"]]), body=chat(), status=503, upstream=True),
    Case("up-text-400-same-api-anthropic", path=MESSAGES, body=messages(), rule=raw(400, "bad request", "text/plain"), status=400, shape=ANT, upstream=True),
    Case("up-error-in-shape-passes", rule=raw(400, '{"error":{"message":"context too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}'), body=chat(), status=400, upstream=True,
         check=lambda h, b, reqs: json.loads(b)["error"]["code"] == "context_length_exceeded"),
    Case("up-reset-same-api", rule={"closeConnection": True}, body=chat(), status=503, upstream=True),
    Case("up-reset-same-api-gemini", path=GEMINI, body=GEMINI_BODY, rule={"closeConnection": True}, status=503, shape=GEM, upstream=True),
    Case("up-html-200-same-api-passes", rule=raw(200, "<html>not json</html>", "text/html"), body=chat(), status=200, shape=None, upstream=True),
    Case("up-non-utf8-header-same-api", rule={"headersHex": [["x-weird", "ff80"]], "status": 200, "headers": [["content-type", "application/json"]], "body": "{}"}, body=chat(), status=200, shape=None, upstream=True),
    Case("up-spoofed-provider-header", rule=raw(200, "{}", headers=[["x-portcullis-provider", "evil"], ["x-portcullis-attempts", "99"]]), body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: h.get("x-portcullis-provider") == b"openai" and h.get("x-portcullis-attempts") == b"1"),
    Case("up-huge-same-api-passes", rule=raw(200, '{"x":"' + "y" * (40 << 20) + '"}'), body=chat(), status=200, shape=None, upstream=True,
         check=lambda h, b, reqs: len(b) > 40 << 20),
    Case("up-sse-garbage-same-api", body=chat(stream=True), rule={"status": 200, "headers": [["content-type", "text/event-stream"]], "chunks": sse("data: {oops", "data: [DONE]")}, status=200, shape=None, upstream=True),
    Case("up-sse-truncated-same-api", body=chat(stream=True), rule={"truncate": 2}, status=200, shape=None, upstream=True),
    Case("up-redirect", rule=raw(302, "", None, headers=[["location", "http://evil.example/"]]), body=chat(), status=302, shape=None, upstream=True),
    Case("up-204", rule=raw(204, "", None), body=chat("claude-haiku-4-5"), status=502, upstream=True),
    Case("up-429-garbage-retry-after", rule=raw(429, '{"error":{"message":"slow down","type":"rate_limit"}}', headers=[["retry-after", "soon"]]), body=chat(), status=429, upstream=True),
]


def check_shape(shape: str, body: bytes):
    data = json.loads(body)
    if shape == OAI:
        assert isinstance(data["error"]["message"], str) and "type" in data["error"], data
    elif shape == ANT:
        assert data["type"] == "error" and isinstance(data["error"]["message"], str) and data["error"]["type"], data
    elif shape == GEM:
        err = data["error"]
        assert isinstance(err["code"], int) and isinstance(err["message"], str) and err["status"], data


def assert_no_secret(gw, *texts: bytes):
    log = gw.log_text()
    for secret in SECRETS:
        for text in texts:
            assert secret.encode() not in text, "a secret in the response"
        assert secret not in log, "a secret in Envoy's log"


def run_case(gw, mock, case: Case, normal: tuple):
    """Sends `case` and checks what the module docs promise; `normal` is the request (path,
    headers, body) that must then succeed 20 times. A case's `rule` is a mock rule, a list of
    them, or a verbatim reply (built by `raw`, or any dict without a rule's behaviour keys)."""
    rules = case.rule if isinstance(case.rule, list) else [case.rule] if case.rule else []
    for rule in rules:
        if any(k in rule for k in ("closeConnection", "truncate", "raw", "pathContains")):
            mock.add_rule(**rule)
        else:
            mock.add_rule(raw=rule)
    status, headers, body = raw_request(gw.port, case.method, case.path, case.headers, case.body)
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert status in expected, f"{status} {body[:300]!r}"
    if case.shape:
        check_shape(case.shape, body)
        assert headers.get("content-type", b"").startswith(b"application/json"), headers
    reqs = mock.requests()
    if case.upstream is not None:
        assert bool(reqs) == case.upstream, [r["path"] for r in reqs]
    if case.check:
        assert case.check(headers, body, reqs), f"{headers} {body[:300]!r}"
    assert_no_secret(gw, body, b"".join(headers.values()))
    mock.clear_rules()
    path, headers, body = normal
    for i in range(20):
        s, _, b = raw_request(gw.port, b"POST", path, headers, body)
        assert s == 200, f"normal request {i} after the case: {s} {b[:200]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(gw, mock, case: Case):
    run_case(gw, mock, case, (CHAT, AUTH + JSON_CT, chat()))


# --- the same through Envoy's cross-provider failover (gateway-failover.yaml) ----------------
# Model `resilient`: OpenAI, then Anthropic, then Gemini. Each attempt is translated and keyed
# by the upstream filters; what the client gets is still in its own API's shape.

NO_AUTH_JSON = JSON_CT + [(b"authorization", b"Bearer any-client-key")]
FAILOVER_CASES = [
    Case("fo-html-200-primary", headers=NO_AUTH_JSON, body=chat("resilient"),
         rule={"pathContains": "/v1/chat", "raw": raw(200, "<html/>", "text/html")}, status=200, shape=None, upstream=True),
    Case("fo-garbage-200-secondary", headers=NO_AUTH_JSON, body=chat("resilient"),
         rule=[{"pathContains": "/v1/chat", "status": 503}, {"pathContains": "/v1/messages", "raw": raw(200, "[1]")}],
         status=502, upstream=True),
    Case("fo-every-provider-html", headers=NO_AUTH_JSON, body=chat("resilient"),
         rule={"raw": raw(503, "<html>down</html>", "text/html")}, status=503, upstream=True),
    Case("fo-every-provider-reset", headers=NO_AUTH_JSON, body=chat("resilient"),
         rule={"closeConnection": True}, status=503, upstream=True),
    Case("fo-anthropic-client-every-provider-empty", path=MESSAGES, headers=NO_AUTH_JSON, body=messages("resilient"),
         rule={"raw": raw(500, "", None, headers=[["content-length", "0"]])}, status=500, shape=ANT, upstream=True),
    Case("fo-gemini-client-reset-then-ok", path=b"/v1beta/models/resilient:generateContent", headers=NO_AUTH_JSON, body=GEMINI_BODY,
         rule={"pathContains": "/v1/chat", "closeConnection": True}, status=200, shape=None, upstream=True),
    Case("fo-stream-garbage-on-secondary", headers=NO_AUTH_JSON, body=chat("resilient", stream=True),
         rule=[{"pathContains": "/v1/chat", "status": 429},
               {"pathContains": "/v1/messages", "raw": {"status": 200, "headers": [["content-type", "text/event-stream"]], "chunks": sse("event: message_start\ndata: {oops")}}],
         status=200, shape=None, upstream=True, check=lambda h, b, reqs: b"could not be translated" in b),
    Case("fo-bad-model-name", headers=NO_AUTH_JSON, body=chat("resilient\r\n")),
    Case("fo-unknown-model-with-slashes", headers=NO_AUTH_JSON, body=chat("resilient/../x"), status=404),
    Case("fo-spoofed-provider-header", headers=NO_AUTH_JSON + [(b"x-portcullis-provider", b"gemini")], body=chat("resilient"),
         status=200, shape=None, upstream=True, check=lambda h, b, reqs: h.get("x-portcullis-provider") == b"openai"),
    Case("fo-provider-sends-provider-header", headers=NO_AUTH_JSON, body=chat("resilient"),
         rule={"pathContains": "/v1/chat", "raw": raw(200, '{"choices":[]}', headers=[["x-portcullis-provider", "gemini"]])},
         status=200, shape=None, upstream=True, check=lambda h, b, reqs: h.get("x-portcullis-provider") == b"openai"),
]


@pytest.fixture(scope="module")
def failover_gw(mock):
    from test_failover import failover_config
    with envoy_h.Envoy(failover_config(mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


@pytest.mark.parametrize("case", FAILOVER_CASES, ids=[c.id for c in FAILOVER_CASES])
def test_hostile_with_failover(failover_gw, mock, case: Case):
    run_case(failover_gw, mock, case, (CHAT, NO_AUTH_JSON, chat("resilient")))


def test_there_are_at_least_100_cases():
    assert len(CASES) + len(FAILOVER_CASES) >= 100
