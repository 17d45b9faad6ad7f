"""The openai SDK through the full chain (router → credentials → prompt → usage) in real Envoy."""
import json

import openai
import pytest

from conftest import CLIENT_KEY, PROVIDER_KEYS
from helpers import eventually, header, histogram_count_at_least, metric_value, only_request, post_json


@pytest.fixture
def client(gateway):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def test_completion_reaches_the_provider_with_the_gateway_key(client, mock):
    resp = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Say hello to Portcullis"}])
    assert resp.choices[0].message.content == "Mock reply from openai to: Say hello to Portcullis"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0

    req = only_request(mock)
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["model"] == "gpt-4o"
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]
    assert header(req, "x-portcullis-cluster") is None, "routing header must not leave the gateway"
    assert CLIENT_KEY not in json.dumps(req)


def test_streaming_completion_with_usage(client, mock):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream me"}],
        extra_headers={"x-mock-chunks": "8"})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply from openai to: stream me"
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == 8, "chunks are passed through, not merged"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert only_request(mock)["json"]["stream"] is True


def test_alias_is_renamed_upstream(client, mock):
    resp = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content.startswith("Mock reply from openai")
    assert only_request(mock)["json"]["model"] == "gpt-4o-mini"


def test_unknown_model_is_404_without_upstream_call(client, mock):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="llama-9", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 404
    assert exc.value.body["code"] == "model_not_found"
    assert mock.requests() == []


def test_missing_model_is_400(client, mock):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="", messages=[{"role": "user", "content": "x"}])
    assert "model" in exc.value.body["message"]
    assert mock.requests() == []


def post_raw(url, body: bytes, headers=None):
    status, _, parsed = post_json(url, body, headers)
    return status, parsed


def test_body_not_json_is_400_in_openai_shape(gateway, mock):
    status, body = post_raw(gateway.url + "/v1/chat/completions", b"{nope")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in body["error"]["message"]
    assert mock.requests() == []


def test_client_cannot_pick_the_cluster(gateway, mock):
    """A forged routing header is removed: the model decides, and the provider key follows it."""
    status, body = post_raw(gateway.url + "/v1/chat/completions",
                            json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}).encode(),
                            {"x-portcullis-cluster": "anthropic", "x-portcullis-provider": "anthropic"})
    assert status == 200, body
    req = only_request(mock)
    assert req["path"] == "/v1/chat/completions"
    assert header(req, "x-api-key") is None


def test_models_are_listed_by_the_gateway(client, mock):
    ids = [m.id for m in client.models.list()]
    assert "fast" in ids
    assert mock.requests() == []


def test_unknown_path_is_404_json(gateway, mock):
    status, body = post_raw(gateway.url + "/v1/files", b"{}")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert mock.requests() == []


def test_usage_lands_in_metrics_and_access_log(client, gateway, mock):
    labels = {"gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4.1-nano"}
    before_in = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "input"})
    before_out = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "output"})
    r1 = client.chat.completions.create(model="gpt-4.1-nano", messages=[{"role": "user", "content": "count me"}])
    r2 = client.chat.completions.create(
        model="gpt-4.1-nano", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "count me too, streaming"}])
    usage2 = [c.usage for c in r2 if c.usage][-1]
    expect_in = r1.usage.prompt_tokens + usage2.prompt_tokens
    expect_out = r1.usage.completion_tokens + usage2.completion_tokens
    assert metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "input"}) - before_in == expect_in
    assert metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "output"}) - before_out == expect_out
    # The OpenTelemetry GenAI per-operation histogram counts one sample per request.
    assert histogram_count_at_least(gateway, "gen_ai_client_inference_operation_input_tokens", labels, 2) >= 2

    def nano_entries():
        entries = [e for e in gateway.access_log() if e.get("model") == "gpt-4.1-nano"]
        return entries if len(entries) >= 2 else None

    logged = eventually(nano_entries)
    assert logged, "both requests are in the access log"
    usages = [json.loads(e["usage"]) for e in logged[-2:]]
    assert sorted(u["inputTokens"] for u in usages) == sorted([r1.usage.prompt_tokens, usage2.prompt_tokens])
    assert all(e["provider"] == "openai" and e["route"] == "gpt-*" for e in logged)


def test_a_stream_without_include_usage_is_counted_and_the_client_sees_no_usage_chunk(client, gateway, mock):
    """OpenAI reports a stream's usage only on request: the gateway asks on the client's behalf
    (accounting and budgets must not depend on the client) and hides the extra chunk."""
    labels = {"gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4.1-mini"}
    before_in = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "input"})
    before_out = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "output"})
    messages = [{"role": "user", "content": "count me although I did not ask for usage"}]
    reference = client.chat.completions.create(model="gpt-4.1-mini", messages=messages)
    chunks = list(client.chat.completions.create(model="gpt-4.1-mini", stream=True, messages=messages))

    sent = mock.requests()[-1]["json"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    # The client gets the stream it asked for: every chunk has a choice, none has usage.
    assert chunks and all(c.choices and c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reference.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    # And the tokens were counted like the non-streamed twin's.
    got_in = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "input"}) - before_in
    got_out = metric_value(gateway, "portcullis_tokens_total", {**labels, "gen_ai_token_type": "output"}) - before_out
    assert got_in == 2 * reference.usage.prompt_tokens
    assert got_out == 2 * reference.usage.completion_tokens


def test_a_stream_that_asked_for_usage_keeps_its_usage_chunk(client, mock):
    chunks = list(client.chat.completions.create(
        model="gpt-4.1-mini", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "hello"}]))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0
    assert mock.requests()[-1]["json"]["stream_options"] == {"include_usage": True}
