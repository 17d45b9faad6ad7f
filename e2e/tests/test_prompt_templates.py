"""Prompt templates, scoped decorators and parameters in real Envoy, with the official SDKs.

Each SDK chooses a template with extra body fields (`template`, `variables`): the openai and
anthropic SDKs through `extra_body`, google-genai through `HttpOptions(extra_body=…)`. What
reaches the mock is the provider's own body with the template filled in — translated routes
included — and without the selection fields.
"""
import hashlib

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from conftest import PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import metric_value, only_request

VK_ACME = "vk-templates-acme-1"
VK_OTHER = "vk-templates-other-2"

PROMPT = {
    "templates": {
        "support": {
            "messages": [
                {"role": "system", "content": "You answer questions for {{company}}."},
                {"role": "user", "content": "Customer question: {{question}}"},
            ],
            "variables": {"company": {"default": "Acme"}, "question": {"maxLength": 500}},
            "parameters": {"temperature": 0.2},
        }
    },
    "policies": {
        "acme": {"decorators": [{"role": "system", "content": "Acme policy applies."}],
                 "overrides": {"maxOutputTokens": 77}},
        "locked": {"allowUntemplated": False},
    },
    "bindings": [
        {"tenant": "acme", "policy": "acme"},
        {"model": "gpt-4.1-nano", "policy": "locked"},
    ],
}


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def gw(mock):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", PROMPT)
    creds = envoy_h.plugin_config(cfg, "portcullis.credentials")
    creds["tenants"] = [{"id": "acme", "keyHashes": [key_hash(VK_ACME)]},
                        {"id": "other", "keyHashes": [key_hash(VK_OTHER)]}]
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", creds)
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


def oai(gw, key=VK_OTHER):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)


def claude(gw, key=VK_OTHER):
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


def gemini(gw, key=VK_OTHER):
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=gw.url))


SELECT = {"template": "support", "variables": {"question": 'Where is my {{order}}? "quotes" \\ ok'}}
FILLED_USER = 'Customer question: Where is my {{order}}? "quotes" \\ ok'


def test_openai_sdk_template_reaches_openai_filled(gw, mock):
    oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[], extra_body=SELECT)
    body = only_request(mock)["json"]
    assert body["messages"] == [
        {"role": "system", "content": "You answer questions for Acme."},
        {"role": "user", "content": FILLED_USER},
    ]
    assert body["temperature"] == 0.2
    assert "template" not in body and "variables" not in body
    assert metric_value(gw, "portcullis_prompt_templates_total", {"template": "support"}) >= 1


def test_openai_sdk_template_on_a_route_translated_to_anthropic(gw, mock):
    oai(gw).chat.completions.create(model="claude-haiku-4-5", messages=[], extra_body=SELECT)
    req = only_request(mock)
    assert req["path"] == "/v1/messages"
    assert req["json"]["system"] == "You answer questions for Acme."
    assert req["json"]["messages"] == [{"role": "user", "content": FILLED_USER}]
    assert "template" not in req["json"]


def test_anthropic_sdk_template(gw, mock):
    claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[],
                               extra_body={**SELECT, "variables": {"question": "Hi", "company": "Globex"}})
    body = only_request(mock)["json"]
    assert body["system"] == "You answer questions for Globex."
    assert body["messages"] == [{"role": "user", "content": "Customer question: Hi"}]


def test_google_genai_sdk_template_on_a_route_translated_to_openai(gw, mock):
    client = gemini(gw)  # kept alive: the SDK closes its connection pool with the client
    client.models.generate_content(
        model="gpt-4o-mini", contents="",
        config=genai_types.GenerateContentConfig(http_options=genai_types.HttpOptions(extra_body=SELECT)))
    req = only_request(mock)
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["messages"][:2] == [
        {"role": "system", "content": "You answer questions for Acme."},
        {"role": "user", "content": FILLED_USER},
    ]


def test_a_header_chooses_a_template_too(gw, mock):
    oai(gw).chat.completions.create(
        model="gpt-4o-mini", messages=[],
        extra_headers={"x-prompt-template": "support",
                       "x-prompt-template-variables": '{"question": "by header"}'})
    req = only_request(mock)
    assert req["json"]["messages"][1] == {"role": "user", "content": "Customer question: by header"}
    assert all(name != "x-prompt-template" for name, _ in req["headers"])


def test_a_missing_variable_is_the_sdks_400_and_nothing_is_sent(gw, mock):
    with pytest.raises(openai.BadRequestError) as err:
        oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[], extra_body={"template": "support"})
    assert "question" in err.value.message
    with pytest.raises(anthropic.BadRequestError):
        claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[],
                                   extra_body={"template": "nope"})
    client = gemini(gw)
    with pytest.raises(genai_errors.ClientError) as gerr:
        client.models.generate_content(
            model="gemini-2.5-flash", contents="",
            config=genai_types.GenerateContentConfig(http_options=genai_types.HttpOptions(
                extra_body={"template": "support", "variables": {"question": "x" * 501}})))
    assert gerr.value.code == 400
    assert mock.requests() == []


def test_a_tenants_binding_reaches_the_provider_for_that_tenant_only(gw, mock):
    oai(gw, VK_ACME).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    acme = only_request(mock)["json"]
    assert acme["messages"][0] == {"role": "system", "content": "Acme policy applies."}
    assert acme["max_completion_tokens"] == 77
    mock.clear()
    oai(gw, VK_OTHER).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    other = only_request(mock)["json"]
    assert other["messages"] == [{"role": "user", "content": "hi"}]
    assert "max_completion_tokens" not in other


def test_a_model_that_requires_a_template(gw, mock):
    with pytest.raises(openai.BadRequestError):
        oai(gw).chat.completions.create(model="gpt-4.1-nano", messages=[{"role": "user", "content": "free text"}])
    assert mock.requests() == []
    oai(gw).chat.completions.create(model="gpt-4.1-nano", messages=[], extra_body=SELECT)
    assert only_request(mock)["json"]["messages"][1]["content"] == FILLED_USER
