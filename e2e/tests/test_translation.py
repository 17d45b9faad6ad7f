"""One client API, many providers: the router translates requests and responses (JSON and SSE,
tool calls included) and the mock records the provider-native request it received."""
import json
import time

import anthropic
import openai
import pytest

from conftest import CLIENT_KEY, PROVIDER_KEYS
from helpers import header, metric_value, only_request

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def oai(gateway):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


# --- OpenAI client → Anthropic provider ---------------------------------------------------------

def test_openai_to_anthropic_json(oai, mock):
    resp = oai.chat.completions.create(
        model="claude-haiku-4-5", max_tokens=100, temperature=0.2, stop=["zzz"],
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi from OpenAI"}])
    assert resp.choices[0].message.content == "Mock reply from anthropic to: Hi from OpenAI"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "claude-haiku-4-5"
    assert resp.usage.prompt_tokens > 0 and resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens

    req = only_request(mock)
    assert req["path"] == "/v1/messages"
    body = req["json"]
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "Hi from OpenAI"}]
    assert (body["max_tokens"], body["temperature"], body["stop_sequences"]) == (100, 0.2, ["zzz"])
    assert header(req, "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    assert header(req, "anthropic-version")


def test_openai_to_anthropic_stream_with_usage(oai, gateway, mock):
    labels = {"gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-opus-4-1", "gen_ai_token_type": "output"}
    before = metric_value(gateway, "portcullis_tokens_total", labels)
    chunks = list(oai.chat.completions.create(
        model="claude-opus-4-1", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream é 日本"}], extra_headers={"x-mock-chunks": "7"}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply from anthropic to: stream é 日本"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.completion_tokens > 0
    assert only_request(mock)["json"]["stream"] is True
    # Usage is counted from the provider's own stream (Anthropic events) before translation.
    assert metric_value(gateway, "portcullis_tokens_total", labels) - before == usage.completion_tokens


def test_openai_tool_round_trip_via_anthropic(oai, mock):
    first = oai.chat.completions.create(
        model="claude-haiku-4-5", tools=[WEATHER], tool_choice="auto",
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "mock"}
    sent = only_request(mock)["json"]
    assert sent["tools"][0]["input_schema"]["required"] == ["city"]
    assert sent["tool_choice"] == {"type": "auto"}

    mock.clear()
    second = oai.chat.completions.create(
        model="claude-haiku-4-5", tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  first.choices[0].message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"}])
    assert second.choices[0].message.content == "Tool result received: 18C and sunny"
    msgs = only_request(mock)["json"]["messages"]
    assert msgs[1]["content"][0]["type"] == "tool_use" and msgs[1]["content"][0]["id"] == call.id
    assert msgs[2]["role"] == "user" and msgs[2]["content"][0] == {
        "type": "tool_result", "tool_use_id": call.id, "content": "18C and sunny"}


def test_openai_streamed_tool_call_via_anthropic(oai, mock):
    chunks = list(oai.chat.completions.create(
        model="claude-haiku-4-5", stream=True, tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather?"}]))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas and all(d.index == 0 for d in deltas)
    assert deltas[0].id and deltas[0].function.name == "get_weather"
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"city": "mock"}


def test_openai_images_reach_anthropic_as_blocks(oai, mock):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    oai.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}])
    blocks = only_request(mock)["json"]["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


def test_anthropic_error_reaches_openai_client_in_openai_shape(oai, mock):
    with pytest.raises(openai.RateLimitError) as exc:
        oai.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "x"}],
                                    extra_headers={"x-mock-status": "429"})
    assert exc.value.status_code == 429
    assert exc.value.body["type"] in ("rate_limit_exceeded", "rate_limit_error")
    # The credentials filter now cools Anthropic's only key for the provider's Retry-After (1 s);
    # wait it out so later tests on this shared gateway start from a healthy key.
    time.sleep(1.2)


# --- OpenAI client → Gemini provider ------------------------------------------------------------

def test_openai_to_gemini_json_and_stream(oai, mock):
    resp = oai.chat.completions.create(
        model="gemini-2.5-flash", max_tokens=50,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi Gemini"}])
    assert resp.choices[0].message.content == "Mock reply from gemini to: Hi Gemini"
    req = only_request(mock)
    assert req["path"].endswith("/models/gemini-2.5-flash:generateContent")
    assert req["json"]["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert req["json"]["contents"] == [{"role": "user", "parts": [{"text": "Hi Gemini"}]}]
    assert req["json"]["generationConfig"]["maxOutputTokens"] == 50
    assert header(req, "x-goog-api-key") == PROVIDER_KEYS["GEMINI_API_KEY"]

    mock.clear()
    chunks = list(oai.chat.completions.create(
        model="gemini-2.5-flash", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream Gemini"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Mock reply from gemini to: stream Gemini"
    assert chunks[-1].usage.prompt_tokens > 0
    assert "streamGenerateContent" in only_request(mock)["path"]


def test_openai_tool_round_trip_via_gemini(oai, mock):
    first = oai.chat.completions.create(model="gemini-2.5-flash", tools=[WEATHER],
                                        messages=[{"role": "user", "content": "Weather in Rome?"}])
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "mock"}
    decl = only_request(mock)["json"]["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather"

    mock.clear()
    second = oai.chat.completions.create(
        model="gemini-2.5-flash", tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Rome?"},
                  first.choices[0].message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "22C"}])
    assert second.choices[0].message.content.startswith("Tool result received:")
    contents = only_request(mock)["json"]["contents"]
    assert contents[1]["role"] == "model" and contents[1]["parts"][0]["functionCall"]["name"] == "get_weather"
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


# --- Anthropic client → OpenAI provider ---------------------------------------------------------

@pytest.fixture
def claude(gateway):
    return anthropic.Anthropic(base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0)


def test_anthropic_client_to_openai_provider(claude, mock):
    msg = claude.messages.create(model="gpt-4o", max_tokens=64, system="Be kind.",
                                 messages=[{"role": "user", "content": "Hello OpenAI"}])
    assert msg.content[0].text == "Mock reply from openai to: Hello OpenAI"
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens > 0
    req = only_request(mock)
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["messages"] == [{"role": "system", "content": "Be kind."},
                                       {"role": "user", "content": "Hello OpenAI"}]
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]


def test_anthropic_client_stream_and_tools_via_openai(claude, mock):
    with claude.messages.stream(model="gpt-4o", max_tokens=64,
                                messages=[{"role": "user", "content": "stream it"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Mock reply from openai to: stream it"
    assert final.usage.output_tokens > 0

    mock.clear()
    tool = {"name": "get_weather", "description": "Weather", "input_schema": WEATHER["function"]["parameters"]}
    msg = claude.messages.create(model="gpt-4o", max_tokens=64, tools=[tool],
                                 messages=[{"role": "user", "content": "Weather?"}])
    use = next(b for b in msg.content if b.type == "tool_use")
    assert msg.stop_reason == "tool_use" and use.name == "get_weather" and use.input == {"city": "mock"}
    assert only_request(mock)["json"]["tools"][0]["function"]["name"] == "get_weather"

    mock.clear()
    with claude.messages.stream(model="gpt-4o", max_tokens=64, tools=[tool],
                                messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert use.input == {"city": "mock"}


def test_openai_error_reaches_anthropic_client_in_anthropic_shape(claude, mock):
    with pytest.raises(anthropic.InternalServerError) as exc:
        claude.messages.create(model="gpt-4o", max_tokens=8, messages=[{"role": "user", "content": "x"}],
                               extra_headers={"x-mock-status": "500"})
    assert exc.value.body["type"] == "error" and exc.value.body["error"]["type"] == "api_error"


def test_untranslatable_request_is_400_without_upstream_call(oai, mock):
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="claude-haiku-4-5", n=3, messages=[{"role": "user", "content": "x"}])
    assert mock.requests() == []
