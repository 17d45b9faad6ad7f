"""The Istio install (istio/*.yaml): valid against Istio's CRDs, and working on the Envoy
configuration Istio would generate from it (see e2e/harness/istio.py)."""
import functools
import json

import anthropic
import jsonschema
import openai
import pytest
import yaml

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import istio, paths
from helpers import header, metric_value, only_request

CRDS = paths.ROOT / "e2e" / "schemas" / "istio-crds.yaml"


@functools.cache
def crd_schemas() -> dict:
    schemas = {}
    for crd in yaml.safe_load_all(CRDS.read_text()):
        if not crd:
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f'{group}/{version["name"]}', kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.mark.parametrize("resource", istio.resources(), ids=lambda r: f'{r["kind"]}/{r["metadata"]["name"]}')
def test_manifest_matches_istio_crd(resource):
    schema = crd_schemas().get((resource["apiVersion"], resource["kind"]))
    assert schema, f'no CRD for {resource["apiVersion"]} {resource["kind"]}'
    jsonschema.validate(resource["spec"], schema["properties"]["spec"])


def test_router_is_first_and_can_hold_headers():
    cfg = istio.bootstrap(istio.resources())
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters = hcm["http_filters"]
    names = [f["name"] for f in filters]
    assert names == ["istio-system.portcullis-router", "istio-system.portcullis-credentials",
                     "istio-system.portcullis-prompt", "istio-system.portcullis-usage", "envoy.filters.http.router"]
    assert filters[0]["typed_config"]["config"]["allow_on_headers_stop_iteration"] is True
    # Failover's per-attempt filters sit on the aggregate cluster, not in the listener's chain.
    (aggregate,) = [c for c in cfg["static_resources"]["clusters"] if c["name"] == "failover-resilient"]
    upstream = aggregate["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert [f["name"] for f in upstream["http_filters"]] == [
        "portcullis.router.upstream", "portcullis.credentials.upstream", "envoy.filters.http.upstream_codec"]


def test_generated_config_validates(tmp_path):
    out = tmp_path / "istio-gateway.yaml"
    out.write_text(yaml.safe_dump(istio.bootstrap(istio.resources())))
    result = envoy_h.validate(out)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def istio_gateway(mock):
    cfg = envoy_h.adapt(istio.bootstrap(istio.resources()), mock.port)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        yield envoy


def test_openai_sdk_through_istio_generated_chain(istio_gateway, mock):
    client = openai.OpenAI(base_url=istio_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "via istio"}])
    assert resp.choices[0].message.content == "Mock reply from openai to: via istio"
    req = only_request(mock)
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]
    assert header(req, "x-portcullis-cluster") is None
    # The prompt WasmPlugin's decorator reached the provider.
    assert req["json"]["messages"][0]["role"] == "system"
    assert CLIENT_KEY not in json.dumps(req)

    mock.clear()
    chunks = list(client.chat.completions.create(
        model="gpt-4o", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream via istio"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "Mock reply from openai to: stream via istio"
    labels = {"gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "output"}
    assert metric_value(istio_gateway, "portcullis_tokens_total", labels) >= chunks[-1].usage.completion_tokens


def test_anthropic_sdk_and_unknown_model_through_istio_generated_chain(istio_gateway, mock):
    client = anthropic.Anthropic(base_url=istio_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    msg = client.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == "Mock reply from anthropic to: hi"
    assert header(only_request(mock), "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    mock.clear()
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert mock.requests() == []
