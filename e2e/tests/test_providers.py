"""Provider facts through the real Envoy: Azure (deployment path, api-version, `api-key`),
Vertex AI paths, an OpenAI-compatible provider's base path, embeddings, and Gemini-native
clients reaching an OpenAI model."""
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from conftest import CLIENT_KEY
from harness import envoy as envoy_h
from helpers import header, metric_value, only_request

ROUTER = {
    "providers": {
        "azure": {"kind": "azure", "cluster": "openai", "host": "myres.openai.azure.com", "apiVersion": "2025-01-01-preview"},
        # An API version from before `stream_options` existed on Azure.
        "azure-old": {"kind": "azure", "cluster": "openai", "host": "old.openai.azure.com", "apiVersion": "2024-06-01"},
        "vertex": {"kind": "vertex", "cluster": "gemini", "host": "us-central1-aiplatform.googleapis.com",
                   "project": "acme", "location": "us-central1"},
        "groq": {"kind": "groq", "cluster": "openai"},
        "mistral": {"kind": "mistral", "cluster": "openai"},
        # A self-hosted server known to accept `stream_options`.
        "inhouse": {"kind": "openai-compatible", "cluster": "openai", "host": "llm.internal", "streamUsage": True},
        "openai": {"kind": "openai"},
    },
    "routes": [
        {"model": "azure-gpt", "provider": "azure", "upstreamModel": "prod-gpt4o"},
        {"model": "azure-old-gpt", "provider": "azure-old", "upstreamModel": "legacy-gpt4"},
        {"model": "vertex-flash", "provider": "vertex", "upstreamModel": "gemini-2.5-flash"},
        {"model": "llama-*", "provider": "groq"},
        {"model": "mistral-*", "provider": "mistral"},
        {"model": "inhouse-*", "provider": "inhouse"},
        {"model": "text-embedding-*", "provider": "openai"},
        {"model": "gpt-*", "provider": "openai"},
    ],
}
CREDENTIALS = {"providers": {
    "azure": {"key": "azure-key-test"},
    "azure-old": {"key": "azure-old-key-test"},
    "vertex": {"key": "ya29.vertex-token-test"},
    "groq": {"key": "gsk-groq-test"},
    "mistral": {"key": "mistral-test"},
    "inhouse": {"key": "inhouse-test"},
    "openai": {"key": "sk-openai-test"},
}}


@pytest.fixture(scope="module")
def providers_gateway(mock):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.router", ROUTER)
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", CREDENTIALS)
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port)) as envoy:
        yield envoy


@pytest.fixture
def client(providers_gateway):
    return openai.OpenAI(base_url=providers_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def test_azure_deployment_path_and_api_key(client, mock):
    resp = client.chat.completions.create(model="azure-gpt", messages=[{"role": "user", "content": "hi azure"}])
    assert resp.choices[0].message.content == "Mock reply from azure to: hi azure"
    req = only_request(mock)
    assert req["path"] == "/openai/deployments/prod-gpt4o/chat/completions"
    assert req["query"] == "api-version=2025-01-01-preview"
    assert header(req, "api-key") == "azure-key-test" and header(req, "authorization") is None
    assert header(req, "host") == "myres.openai.azure.com"


def test_an_azure_stream_is_asked_for_usage_and_counted(client, providers_gateway, mock):
    """As for OpenAI (test_gateway_openai): the gateway asks a stream for its usage when the
    client did not, and hides the extra chunk, on Azure API versions that know the option."""
    labels = {"gen_ai_provider_name": "azure", "gen_ai_request_model": "prod-gpt4o", "gen_ai_token_type": "output"}
    before = metric_value(providers_gateway, "portcullis_tokens_total", labels)
    messages = [{"role": "user", "content": "hi azure, count me"}]
    chunks = list(client.chat.completions.create(model="azure-gpt", stream=True, messages=messages))
    sent = only_request(mock)
    assert sent["query"] == "api-version=2025-01-01-preview"
    assert sent["json"]["stream_options"] == {"include_usage": True}
    assert chunks and all(c.choices and c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Mock reply from azure to: hi azure, count me"
    assert metric_value(providers_gateway, "portcullis_tokens_total", labels) > before


def test_an_old_azure_api_version_is_not_sent_stream_options(client, mock):
    """Azure before 2024-08-01 refuses the field (the mock too, see test_mock_direct): the
    stream goes as the client sent it, and stays uncounted."""
    chunks = list(client.chat.completions.create(
        model="azure-old-gpt", stream=True, messages=[{"role": "user", "content": "hi old azure"}]))
    sent = only_request(mock)
    assert sent["query"] == "api-version=2024-06-01" and "stream_options" not in sent["json"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Mock reply from azure to: hi old azure"


def test_vertex_path_with_bearer_token(client, mock):
    resp = client.chat.completions.create(model="vertex-flash", messages=[{"role": "user", "content": "hi vertex"}])
    assert resp.choices[0].message.content == "Mock reply from gemini to: hi vertex"
    req = only_request(mock)
    assert req["path"] == "/v1/projects/acme/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert header(req, "authorization") == "Bearer ya29.vertex-token-test"


def test_openai_compatible_base_path(client, mock):
    client.chat.completions.create(model="llama-3.3-70b", messages=[{"role": "user", "content": "hi"}])
    req = only_request(mock)
    assert req["path"] == "/openai/v1/chat/completions"  # Groq's base path
    assert header(req, "authorization") == "Bearer gsk-groq-test"


def test_embeddings(client, mock):
    resp = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) > 0
    assert resp.usage.prompt_tokens > 0
    assert only_request(mock)["path"] == "/v1/embeddings"


def test_gemini_client_reaches_an_openai_model(providers_gateway, mock):
    gemini = genai.Client(api_key=CLIENT_KEY, http_options=genai_types.HttpOptions(base_url=providers_gateway.url))
    resp = gemini.models.generate_content(model="gpt-4o", contents="hi from gemini sdk")
    assert resp.text == "Mock reply from openai to: hi from gemini sdk"
    assert resp.usage_metadata.candidates_token_count > 0
    req = only_request(mock)
    assert req["path"] == "/v1/chat/completions" and req["json"]["model"] == "gpt-4o"


@pytest.mark.parametrize("model,provider,asked", [
    ("llama-3.3-70b", "groq", True),        # the preset: Groq accepts `stream_options`
    ("mistral-small", "mistral", False),    # the preset: Mistral refuses unknown fields (422)
    ("inhouse-7b", "inhouse", True),        # `streamUsage: true` on an openai-compatible server
])
def test_streams_to_the_openai_compatible_family_are_asked_for_usage_per_provider(
        client, providers_gateway, mock, model, provider, asked):
    # Wildcard routes without a `models` list label the model `other`: count by provider.
    labels = {"gen_ai_provider_name": provider, "gen_ai_token_type": "output"}
    before = metric_value(providers_gateway, "portcullis_tokens_total", labels)
    chunks = list(client.chat.completions.create(model=model, stream=True,
                                                 messages=[{"role": "user", "content": "count me"}]))
    sent = only_request(mock)
    assert ("stream_options" in sent["json"]) is asked, sent["json"]
    if asked:
        assert sent["json"]["stream_options"] == {"include_usage": True}
    # The client did not ask: it never sees a usage chunk either way.
    assert chunks and all(c.usage is None for c in chunks)
    # Counted either way: the provider's usage when asked, else the tokenizer's estimate.
    assert metric_value(providers_gateway, "portcullis_tokens_total", labels) > before
