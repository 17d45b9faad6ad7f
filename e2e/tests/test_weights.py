"""Weighted routes: `balanced` sends 70 % to OpenAI and 30 % to Anthropic, chosen per request
id (Envoy's x-request-id), through the real Envoy."""
import http.client
import json


BODY = json.dumps({"model": "balanced", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})


def test_1000_requests_follow_a_70_30_split(gateway, mock):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    served = {"openai": 0, "anthropic": 0}
    for _ in range(1000):
        conn.request("POST", "/v1/chat/completions", body=BODY, headers={"content-type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200, body
        provider = resp.getheader("x-portcullis-provider")
        served[provider] += 1
        # Whichever provider served it, the OpenAI client gets an OpenAI-shaped answer.
        assert body["object"] == "chat.completion"
        assert body["model"] == {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}[provider]
    conn.close()
    assert 650 <= served["openai"] <= 750, served  # 70 % ± 5 points
    assert served["openai"] + served["anthropic"] == 1000
    reqs = mock.requests()
    assert sum(r["path"] == "/v1/messages" for r in reqs) == served["anthropic"]
    assert {r["json"]["model"] for r in reqs} == {"gpt-4o-mini", "claude-haiku-4-5"}


def test_the_same_request_id_always_lands_on_the_same_target(gateway, mock):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    seen = set()
    for _ in range(20):
        conn.request("POST", "/v1/chat/completions", body=BODY,
                     headers={"content-type": "application/json", "x-request-id": "sticky-7"})
        resp = conn.getresponse()
        resp.read()
        seen.add(resp.getheader("x-portcullis-provider"))
    conn.close()
    assert len(seen) == 1, seen
