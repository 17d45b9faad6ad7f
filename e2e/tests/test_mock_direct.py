"""The mock provider, called directly with the official SDKs: proves its wire formats are the real
ones (the SDKs parse them) and that its controls behave as documented, before any e2e test relies
on it behind Envoy."""

from __future__ import annotations

import http.client
import json
import math
import time

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from harness.mock import MockServer


def tokens(*texts: str) -> int:
    """The mock's input-token rule: sum of ceil(chars / 4) per text item."""
    return sum(math.ceil(len(t) / 4) for t in texts)


def words(text: str) -> int:
    return len(text.split())


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "metric": {"type": "boolean"},
        "note": {"type": "string"},
    },
    "required": ["city", "days", "metric"],
}
WEATHER_ARGS = {"city": "mock", "days": 1, "metric": True}


@pytest.fixture(scope="module")
def mock():
    with MockServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(mock):
    mock.clear()
    mock.clear_rules()
    yield


@pytest.fixture
def oai(mock):
    return openai.OpenAI(base_url=mock.url + "/v1", api_key="x", max_retries=0)


@pytest.fixture
def claude(mock):
    return anthropic.Anthropic(base_url=mock.url, api_key="x", max_retries=0)


@pytest.fixture
def gem(mock):
    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=mock.url))


# --- OpenAI --------------------------------------------------------------------------------


def test_openai_chat(mock, oai):
    resp = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello mock"}],
    )
    expected = "Mock reply from openai to: Hello mock"
    assert resp.object == "chat.completion" and resp.id.startswith("chatcmpl-")
    assert resp.model == "gpt-4o-mini"
    assert resp.choices[0].message.content == expected
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens == tokens("Be brief.", "Hello mock")
    assert resp.usage.completion_tokens == words(expected)
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    [rec] = mock.requests()
    assert rec["method"] == "POST" and rec["path"] == "/v1/chat/completions"
    assert rec["json"]["model"] == "gpt-4o-mini"
    assert ["authorization", "Bearer x"] in rec["headers"]


def test_openai_stream_with_usage(oai):
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Stream please"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-chunks": "3"},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply from openai to: Stream please"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.prompt_tokens == tokens("Stream please")
    assert last.usage.completion_tokens == words(text)


def test_openai_tool_call_and_result(oai):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]
    resp = oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Weather?"}], tools=tools
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == WEATHER_ARGS
    assert resp.usage.completion_tokens == math.ceil(len(call.function.arguments) / 4)
    assert resp.usage.prompt_tokens == tokens("Weather?", json.dumps(tools[0], separators=(",", ":")))

    follow = oai.chat.completions.create(
        model="gpt-4o",
        tools=tools,
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"},
        ],
    )
    assert follow.choices[0].message.content == "Tool result received: Sunny, 21C"
    assert follow.choices[0].finish_reason == "stop"


def test_openai_streamed_parallel_tool_calls(oai):
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    ]
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Both"}],
        tools=tools,
        stream=True,
        extra_headers={"x-mock-parallel-tools": "2"},
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        delta = chunk.choices[0].delta
        finish = chunk.choices[0].finish_reason or finish
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
            if tc.id:
                assert tc.type == "function"
                entry["id"], entry["name"] = tc.id, tc.function.name
            entry["args"] += tc.function.arguments or ""
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(c["id"] for c in calls.values())
    assert json.loads(calls[0]["args"]) == WEATHER_ARGS and json.loads(calls[1]["args"]) == {}


def test_openai_embeddings_base64_default(oai):
    resp = oai.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert [d.index for d in resp.data] == [0, 1]
    vec = resp.data[0].embedding
    assert len(vec) == 8 and all(isinstance(x, float) for x in vec)
    assert abs(sum(x * x for x in vec) - 1.0) < 1e-3
    floats = oai.embeddings.create(model="m", input="alpha", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(vec, abs=1e-6)
    assert resp.data[1].embedding != vec
    assert resp.usage.prompt_tokens == tokens("alpha", "beta")


def test_azure_deployment_path(mock):
    az = openai.AzureOpenAI(azure_endpoint=mock.url, api_key="x", api_version="2024-10-21", max_retries=0)
    resp = az.chat.completions.create(model="my-deploy", messages=[{"role": "user", "content": "Hi azure"}])
    assert resp.choices[0].message.content == "Mock reply from azure to: Hi azure"
    assert resp.model == "my-deploy"
    [rec] = mock.requests()
    assert rec["path"] == "/openai/deployments/my-deploy/chat/completions"
    assert "api-version=2024-10-21" in rec["query"]


def test_azure_stream_options_depend_on_the_api_version(mock):
    """Azure refuses `stream_options` before API version 2024-08-01(-preview), as the real one
    does; from then on a stream reports usage on request, like OpenAI's."""
    messages = [{"role": "user", "content": "Hi azure"}]
    old = openai.AzureOpenAI(azure_endpoint=mock.url, api_key="x", api_version="2024-06-01", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        old.chat.completions.create(model="d", messages=messages, stream=True,
                                    stream_options={"include_usage": True})
    assert "Unrecognized request argument supplied: stream_options" in str(err.value)
    assert list(old.chat.completions.create(model="d", messages=messages, stream=True))

    new = openai.AzureOpenAI(azure_endpoint=mock.url, api_key="x", api_version="2024-08-01-preview", max_retries=0)
    chunks = list(new.chat.completions.create(model="d", messages=messages, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == tokens("Hi azure")


def test_openai_models_and_limits(oai):
    assert "gpt-4o" in [m.id for m in oai.models.list()]
    resp = oai.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "cut me"}], max_tokens=3
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == "Mock reply from"
    assert resp.usage.completion_tokens == 3


# --- Anthropic -----------------------------------------------------------------------------


def test_anthropic_create(mock, claude):
    msg = claude.messages.create(
        model="claude-test",
        max_tokens=100,
        system="You are terse.",
        messages=[{"role": "user", "content": "Hello claude"}],
    )
    expected = "Mock reply from anthropic to: Hello claude"
    assert msg.type == "message" and msg.role == "assistant" and msg.id.startswith("msg_")
    assert msg.model == "claude-test"
    assert msg.content[0].type == "text" and msg.content[0].text == expected
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens == tokens("You are terse.", "Hello claude")
    assert msg.usage.output_tokens == words(expected)
    assert mock.requests()[0]["json"]["system"] == "You are terse."


def test_anthropic_stream(claude):
    with claude.messages.stream(
        model="claude-test",
        max_tokens=100,
        messages=[{"role": "user", "content": [{"type": "text", "text": "Stream to me"}]}],
        extra_headers={"x-mock-chunks": "4"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expected = "Mock reply from anthropic to: Stream to me"
    assert text == expected
    assert final.content[0].text == expected
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == tokens("Stream to me")
    assert final.usage.output_tokens == words(expected)


def test_anthropic_tool_use(claude):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]
    msg = claude.messages.create(
        model="claude", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather?"}]
    )
    assert msg.stop_reason == "tool_use"
    [block] = msg.content
    assert block.type == "tool_use" and block.id.startswith("toolu_") and block.name == "get_weather"
    assert block.input == WEATHER_ARGS

    # Streamed: the SDK reassembles input_json_delta fragments.
    with claude.messages.stream(
        model="claude", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather?"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].input == WEATHER_ARGS and final.stop_reason == "tool_use"

    follow = claude.messages.create(
        model="claude",
        max_tokens=100,
        tools=tools,
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [block.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "Rainy"}]},
        ],
    )
    assert follow.content[0].text == "Tool result received: Rainy"


def test_anthropic_stop_sequence(claude):
    msg = claude.messages.create(
        model="claude",
        max_tokens=100,
        stop_sequences=["from"],
        messages=[{"role": "user", "content": "x"}],
    )
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "from"
    assert msg.content[0].text == "Mock reply "


# --- Gemini --------------------------------------------------------------------------------


def test_gemini_generate_content(mock, gem):
    resp = gem.models.generate_content(model="gemini-2.5-flash", contents="Hello gemini")
    expected = "Mock reply from gemini to: Hello gemini"
    assert resp.text == expected
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP
    usage = resp.usage_metadata
    assert usage.prompt_token_count == tokens("Hello gemini")
    assert usage.candidates_token_count == words(expected)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert resp.model_version == "gemini-2.5-flash" and resp.response_id
    assert mock.requests()[0]["path"].endswith("/models/gemini-2.5-flash:generateContent")


def test_gemini_stream(mock, gem):
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-pro", contents="Stream gemini"))
    expected = "Mock reply from gemini to: Stream gemini"
    assert len(chunks) == 5
    assert "".join(c.text for c in chunks) == expected
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == words(expected)
    assert chunks[-1].usage_metadata.prompt_token_count == tokens("Stream gemini")
    assert mock.requests()[0]["query"] == "alt=sse"


def test_gemini_function_call(gem):
    decl = types.FunctionDeclaration(
        name="get_weather",
        parameters=types.Schema(
            type="OBJECT",
            properties={"city": types.Schema(type="STRING"), "days": types.Schema(type="INTEGER")},
            required=["city", "days"],
        ),
    )
    resp = gem.models.generate_content(
        model="gemini-2.5-flash",
        contents="Weather?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[decl])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    [call] = resp.function_calls
    assert call.name == "get_weather" and call.args == {"city": "mock", "days": 1}


# --- errors and rules ----------------------------------------------------------------------


def test_status_429_maps_to_sdk_errors(oai, claude, gem):
    hdrs = {"x-mock-status": "429", "x-mock-retry-after": "7"}
    with pytest.raises(openai.RateLimitError) as e:
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], extra_headers=hdrs)
    assert e.value.code == "rate_limit_exceeded"
    assert e.value.response.headers["retry-after"] == "7"
    with pytest.raises(anthropic.RateLimitError) as e:
        claude.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}], extra_headers=hdrs
        )
    assert e.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(genai_errors.ClientError) as e:
        gem.models.generate_content(
            model="g", contents="x", config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=hdrs))
        )
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"


def test_other_statuses(oai, claude):
    with pytest.raises(openai.AuthenticationError):
        oai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], extra_headers={"x-mock-status": "401"}
        )
    with pytest.raises(anthropic.OverloadedError):
        claude.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}], extra_headers={"x-mock-status": "529"}
        )


def test_rule_fails_once_then_passes(mock, claude):
    rule_id = mock.add_rule(pathContains="/v1/messages", model="claude-a", status=503, times=1)
    args = dict(model="claude-a", max_tokens=50, messages=[{"role": "user", "content": "retry me"}])
    with pytest.raises(anthropic.ServiceUnavailableError):
        claude.messages.create(**args)
    assert claude.messages.create(**args).content[0].text == "Mock reply from anthropic to: retry me"
    assert [r["ruleId"] for r in mock.requests()] == [rule_id, None]


def test_rule_matches_header_and_closes_connection(mock, oai):
    mock.add_rule(header={"name": "X-Tenant", "value": "bad"}, closeConnection=True)
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="m", messages=msgs, extra_headers={"x-tenant": "bad"})
    ok = oai.chat.completions.create(model="m", messages=msgs, extra_headers={"x-tenant": "good"})
    assert ok.choices[0].message.content.startswith("Mock reply")


def test_truncated_stream_has_no_terminator(mock):
    conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "cut"}]})
    conn.request("POST", "/v1/chat/completions", body, {"x-mock-truncate": "2", "content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead) as e:
        resp.read()
    assert e.value.partial.count(b"data: ") == 2 and b"[DONE]" not in e.value.partial


def test_latency_reply_override_and_chunked_request(mock):
    conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "ignored"}]}).encode()
    parts = (body[i : i + 7] for i in range(0, len(body), 7))
    started = time.monotonic()
    conn.request(
        "POST",
        "/v1/chat/completions",
        parts,
        {"x-mock-latency-ms": "300", "x-mock-reply": "Custom words here", "content-type": "application/json"},
        encode_chunked=True,
    )
    resp = conn.getresponse()
    data = json.loads(resp.read())
    assert time.monotonic() - started >= 0.3
    assert data["choices"][0]["message"]["content"] == "Custom words here"
    assert data["usage"]["completion_tokens"] == 3
    assert mock.requests()[0]["json"]["model"] == "m"


def test_invalid_json_and_unknown_path(mock):
    def post(path):
        conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
        conn.request("POST", path, b"{not json", {"content-type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())

    status, body = post("/v1/chat/completions")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = post("/v1/messages")
    assert status == 400 and body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    status, body = post("/v1beta/models/g:generateContent")
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    status, body = post("/nope")
    assert status == 404 and body["error"]["message"] == "Invalid URL (POST /nope)"
    assert mock.health()


def test_gemini_embeddings_and_vertex_path(mock, gem):
    resp = gem.models.embed_content(model="text-embedding-004", contents=["hello", "world"])
    assert [len(e.values) for e in resp.embeddings] == [8, 8]
    assert resp.embeddings[0].values != resp.embeddings[1].values

    conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
    path = "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "Hi vertex"}]}]})
    conn.request("POST", path, body, {"content-type": "application/json", "x-mock-chunks": "2"})
    chunks = json.loads(conn.getresponse().read())  # without alt=sse: one JSON array
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == (
        "Mock reply from gemini to: Hi vertex"
    )
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["promptTokenCount"] == tokens("Hi vertex")
