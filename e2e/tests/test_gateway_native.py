"""Anthropic- and Gemini-native clients through the chain, to providers of the same API."""
import anthropic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from conftest import CLIENT_KEY, PROVIDER_KEYS
from helpers import header, metric_value, only_request


@pytest.fixture
def claude(gateway):
    return anthropic.Anthropic(base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0)


@pytest.fixture
def gemini(gateway):
    return genai.Client(api_key=CLIENT_KEY, http_options=genai_types.HttpOptions(base_url=gateway.url))


def test_anthropic_messages_with_gateway_key(claude, mock):
    msg = claude.messages.create(model="claude-haiku-4-5", max_tokens=64,
                                 messages=[{"role": "user", "content": "Hello Claude"}])
    assert msg.content[0].text == "Mock reply from anthropic to: Hello Claude"
    req = only_request(mock)
    assert req["path"] == "/v1/messages"
    assert header(req, "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    assert header(req, "anthropic-version"), "the version header reaches the provider"
    assert header(req, "authorization") is None, "the client's bearer credential is stripped"


def test_anthropic_models_are_listed_by_the_gateway_in_anthropic_shape(claude, mock):
    page = claude.models.list()
    ids = [m.id for m in page.data]
    assert "fast" in ids and all(m.type == "model" for m in page.data)
    assert not any("*" in i for i in ids), "wildcard routes name no model"
    assert (page.has_more, page.first_id, page.last_id) == (False, ids[0], ids[-1])
    assert claude.models.list().data[0].created_at.year == 1970
    assert mock.requests() == []


def test_gemini_models_are_listed_by_the_gateway_in_gemini_shape(gemini, mock):
    models = list(gemini.models.list())
    names = [m.name for m in models]
    assert "models/fast" in names
    assert all(m.display_name == m.name.removeprefix("models/") for m in models)
    assert "generateContent" in models[0].supported_actions
    assert mock.requests() == []


def test_anthropic_stream_and_usage_metric(claude, gateway, mock):
    labels = {"gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-opus-4-6",
              "gen_ai_token_type": "output"}
    before = metric_value(gateway, "portcullis_tokens_total", labels)
    with claude.messages.stream(model="claude-opus-4-6", max_tokens=64,
                                messages=[{"role": "user", "content": "stream please"}],
                                extra_headers={"x-mock-chunks": "6"}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Mock reply from anthropic to: stream please"
    assert final.usage.output_tokens > 0
    assert metric_value(gateway, "portcullis_tokens_total", labels) - before == final.usage.output_tokens


def test_anthropic_unknown_model_error_in_anthropic_shape(claude, mock):
    with pytest.raises(anthropic.NotFoundError) as exc:
        claude.messages.create(model="nope-1", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body["error"]["type"] == "not_found_error"
    assert mock.requests() == []


def test_gemini_generate_and_stream(gemini, mock):
    resp = gemini.models.generate_content(model="gemini-2.5-flash", contents="Hello Gemini")
    assert resp.text == "Mock reply from gemini to: Hello Gemini"
    req = only_request(mock)
    assert req["path"].startswith("/v1beta/models/gemini-2.5-flash:generateContent")
    assert header(req, "x-goog-api-key") == PROVIDER_KEYS["GEMINI_API_KEY"]

    mock.clear()
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="stream it"))
    assert "".join(c.text or "" for c in chunks) == "Mock reply from gemini to: stream it"
    assert chunks[-1].usage_metadata.candidates_token_count > 0
    assert "streamGenerateContent" in only_request(mock)["path"]


def test_gemini_unknown_model_error_in_gemini_shape(gemini, mock):
    with pytest.raises(genai_errors.ClientError) as exc:
        gemini.models.generate_content(model="palm-2", contents="x")
    assert exc.value.code == 404
    assert exc.value.status == "NOT_FOUND"
    assert mock.requests() == []
