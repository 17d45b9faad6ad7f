"""The prompt filter's decorators, on each provider's native body, in real Envoy."""
import anthropic
import openai
import pytest

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import only_request

DECORATORS = {"decorators": [
    {"role": "system", "content": "Answer in one sentence."},
    {"role": "user", "content": "(sent through Portcullis)", "position": "append"},
]}


@pytest.fixture(scope="module")
def decorated_gateway(mock):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", DECORATORS)
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


def test_openai_body_gets_system_first_and_user_last(decorated_gateway, mock):
    client = openai.OpenAI(base_url=decorated_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    messages = only_request(mock)["json"]["messages"]
    assert messages == [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "Hi"},
        {"role": "user", "content": "(sent through Portcullis)"},
    ]


def test_anthropic_system_field_is_decorated(decorated_gateway, mock):
    client = anthropic.Anthropic(base_url=decorated_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    client.messages.create(model="claude-haiku-4-5", max_tokens=16, system="You are terse.",
                           messages=[{"role": "user", "content": "Hi"}])
    body = only_request(mock)["json"]
    assert body["system"] == "Answer in one sentence.\n\nYou are terse."
    assert body["messages"][-1] == {"role": "user", "content": "(sent through Portcullis)"}


def test_large_body_is_decorated_intact(decorated_gateway, mock):
    """A body that arrives in many chunks is buffered whole before it is decorated."""
    client = openai.OpenAI(base_url=decorated_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    big = "lorem ipsum " * 40_000  # ~480 KB, many TCP reads
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": big}])
    messages = only_request(mock)["json"]["messages"]
    assert messages[1]["content"] == big
    assert messages[0]["role"] == "system" and messages[2]["role"] == "user"
