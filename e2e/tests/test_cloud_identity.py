"""Short-lived cloud credentials through the real Envoy: Vertex AI with a token from the GCP
metadata server, Azure OpenAI with a managed identity's token from Azure IMDS — each against a
local endpoint speaking the documented contract (harness/identity.py). A token is fetched once
for many requests, fetched again before it expires, and a failed fetch uses the still-valid
token or refuses (503 in the client's shape) without calling the provider."""
import time

import anthropic
import openai
import pytest

from conftest import CLIENT_KEY
from harness import envoy as envoy_h
from harness.identity import IdentityServer
from helpers import header, metric_value, only_request

ROUTER = {
    "providers": {
        "vertex": {"kind": "vertex", "cluster": "gemini", "host": "us-central1-aiplatform.googleapis.com",
                   "project": "acme", "location": "us-central1"},
        # Its own service account, whose tokens live 4 s: refreshed within the test.
        "vertex-short": {"kind": "vertex", "cluster": "gemini-short", "host": "us-central1-aiplatform.googleapis.com",
                         "project": "acme", "location": "us-central1"},
        "azure": {"kind": "azure", "cluster": "openai", "host": "myres.openai.azure.com"},
    },
    "routes": [
        {"model": "vertex-flash", "provider": "vertex", "upstreamModel": "gemini-2.5-flash"},
        {"model": "vertex-short", "provider": "vertex-short", "upstreamModel": "gemini-2.5-flash"},
        {"model": "azure-gpt", "provider": "azure", "upstreamModel": "prod-gpt4o"},
    ],
}
CREDENTIALS = {"providers": {
    "vertex": {"identity": {"gcpMetadata": {"cluster": "gcp-metadata"}}},
    "vertex-short": {"identity": {"gcpMetadata": {"cluster": "gcp-metadata", "serviceAccount": "short@acme.iam.gserviceaccount.com"},
                                  "refreshBeforeSeconds": 2}},
    "azure": {"identity": {"azureImds": {"cluster": "azure-imds"}}},
}}
SHORT_LIVED = 4


def static_cluster(name: str, port: int) -> dict:
    return {"name": name, "type": "STATIC", "connect_timeout": "1s", "load_assignment": {
        "cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}


@pytest.fixture(scope="module")
def idp():
    with IdentityServer(expires_in=3600, short_lived={"short@acme.iam.gserviceaccount.com": SHORT_LIVED}) as server:
        yield server


@pytest.fixture(scope="module")
def identity_gateway(mock, idp):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.router", ROUTER)
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", CREDENTIALS)
    clusters = cfg["static_resources"]["clusters"]
    short = dict(envoy_h.cluster(cfg, "gemini"), name="gemini-short")
    short["load_assignment"] = dict(short["load_assignment"], cluster_name="gemini-short")
    clusters += [short, static_cluster("gcp-metadata", idp.port), static_cluster("azure-imds", idp.port)]
    # No provider key anywhere in Envoy's environment: the tokens are all there is.
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env={}) as envoy:
        yield envoy


@pytest.fixture
def client(identity_gateway):
    return openai.OpenAI(base_url=identity_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def ask(client, model: str, text: str = "hi"):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def fetches(idp, path_part: str) -> int:
    return sum(1 for r in idp.requests if path_part in r["path"])


def test_vertex_gets_one_metadata_token_for_many_requests(client, idp, mock, identity_gateway):
    for i in range(5):
        mock.clear()
        assert ask(client, "vertex-flash", f"n{i}").choices[0].message.content.startswith("Mock reply")
        req = only_request(mock)
        assert header(req, "authorization") == "Bearer ya29.gcp-1"
        assert header(req, "x-goog-api-key") is None
        assert CLIENT_KEY not in str(req)
    assert fetches(idp, "/service-accounts/default/token") == 1
    (fetch,) = [r for r in idp.requests if "/service-accounts/default/" in r["path"]]
    assert fetch["headers"]["metadata-flavor"] == "Google"
    assert metric_value(identity_gateway, "portcullis_credentials_token_fetches_total",
                        {"gen_ai_provider_name": "vertex", "outcome": "ok"}) == 1
    assert "ya29.gcp-1" not in identity_gateway.log_text(), "a token is never logged"


def test_a_token_is_fetched_again_before_it_expires(client, idp, mock):
    ask(client, "vertex-short")
    first = header(only_request(mock), "authorization")
    before = fetches(idp, "/short@")
    assert before >= 1
    # 4 s tokens, refreshed 2 s before expiry: after 2.5 s the next request fetches anew.
    time.sleep(2.5)
    mock.clear()
    ask(client, "vertex-short")
    second = header(only_request(mock), "authorization")
    assert fetches(idp, "/short@") == before + 1
    assert second != first and second.startswith("Bearer ya29.gcp-")


def test_a_failed_refresh_uses_the_still_valid_token_then_refuses_once_it_expired(client, idp, mock, identity_gateway):
    ask(client, "vertex-short")
    time.sleep(2.2)  # in the refresh window, still valid
    idp.failing = True
    try:
        mock.clear()
        ask(client, "vertex-short")
        assert header(only_request(mock), "authorization").startswith("Bearer ya29.gcp-")
        assert metric_value(identity_gateway, "portcullis_credentials_token_fetches_total",
                            {"gen_ai_provider_name": "vertex-short", "outcome": "stale"}) >= 1
        time.sleep(2.0)  # expired now
        mock.clear()
        with pytest.raises(openai.InternalServerError) as err:
            ask(client, "vertex-short")
        assert err.value.status_code == 503
        assert err.value.body["message"] == "the gateway could not get a credential for provider `vertex-short`"
        assert mock.requests() == [], "no unauthenticated call to the provider"
        # The same refusal in Anthropic's shape for an Anthropic client.
        with pytest.raises(anthropic.InternalServerError) as err:
            anthropic.Anthropic(base_url=identity_gateway.url, api_key=CLIENT_KEY, max_retries=0).messages.create(
                model="vertex-short", max_tokens=16, messages=[{"role": "user", "content": "x"}])
        assert err.value.status_code == 503 and err.value.body["error"]["type"] == "overloaded_error"
    finally:
        idp.failing = False
    mock.clear()
    ask(client, "vertex-short")
    assert header(only_request(mock), "authorization").startswith("Bearer ya29.gcp-"), "recovers with the endpoint"


def test_azure_openai_gets_a_managed_identity_token_from_imds(client, idp, mock):
    resp = ask(client, "azure-gpt", "hi azure")
    assert resp.choices[0].message.content == "Mock reply from azure to: hi azure"
    req = only_request(mock)
    assert header(req, "authorization").startswith("Bearer eyJ0.azure-")
    assert header(req, "api-key") is None
    (fetch,) = [r for r in idp.requests if r["path"].startswith("/metadata/identity/oauth2/token")]
    assert fetch["headers"]["metadata"] == "true"
    assert "resource=https%3A%2F%2Fcognitiveservices.azure.com" in fetch["path"]
