"""AWS Bedrock through the real Envoy, on a bootstrap the CLI renders from a gateway config: the
openai and anthropic SDKs reach a Bedrock model (Converse, and ConverseStream's binary event
stream turned into their own streams), tool calls included; every request is SigV4-signed by
the credentials filter on the Bedrock cluster and verified by botocore's signer in front of the
mock (harness/sigv4_proxy.py), which refuses a bad signature with Bedrock's 403; a Bedrock 429
fails over to OpenAI. `/v1/embeddings` reaches Titan and Cohere embeddings models through
InvokeModel, signed the same way."""
import array
import json
import subprocess
import urllib.parse
import urllib.request

import anthropic
import openai
import pytest
import yaml
from botocore.credentials import Credentials

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import istio
from harness import paths
from harness.identity import IdentityServer
from harness.sigv4_proxy import SigV4Proxy
from helpers import header, metric_value

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example")
AWS_ENV = {"AWS_ACCESS_KEY_ID": CREDS.access_key, "AWS_SECRET_ACCESS_KEY": CREDS.secret_key,
           "AWS_SESSION_TOKEN": CREDS.token}
MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
CONVERSE = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
CLI = paths.ROOT / "target" / "release" / "portcullis"

CONFIG = """
listener: {{address: 127.0.0.1, port: 10000}}
providers:
  bedrock: {{kind: bedrock, region: us-east-1, endpoint: 'http://127.0.0.1:{proxy}', aws: {{}}}}
  openai: {{kind: openai, endpoint: 'http://127.0.0.1:18080', keyEnv: OPENAI_API_KEY}}
routes:
  - {{model: claude-on-bedrock, provider: bedrock, upstreamModel: '{model}'}}
  - {{model: steady, provider: bedrock, upstreamModel: '{model}', fallbacks: [{{provider: openai, model: gpt-4o-mini}}]}}
  - {{model: titan-embed, provider: bedrock, upstreamModel: '{titan}'}}
  - {{model: cohere-embed, provider: bedrock, upstreamModel: '{cohere}'}}
  - {{model: claude-as-embedder, provider: bedrock, upstreamModel: '{model}'}}
  - {{model: steady-embed, provider: bedrock, upstreamModel: '{titan}', fallbacks: [{{provider: openai, model: text-embedding-3-small}}]}}
  - {{model: 'gpt-*', provider: openai}}
failover: {{perTryIdleTimeout: 5s}}
"""


@pytest.fixture(scope="module")
def proxy(mock):
    with SigV4Proxy(upstream_port=mock.port, credentials=CREDS) as p:
        yield p


def bootstrap(tmp_path, proxy_port: int, mock_port: int) -> dict:
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG.format(proxy=proxy_port, model=MODEL_ID, titan=TITAN, cohere=COHERE))
    out = tmp_path / "envoy.yaml"
    result = subprocess.run([str(CLI), "render", "envoy", str(config), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return envoy_h.adapt(yaml.safe_load(out.read_text()), mock_port)


@pytest.fixture(scope="module")
def gateway(proxy, mock, tmp_path_factory):
    cfg = bootstrap(tmp_path_factory.mktemp("bedrock"), proxy.port, mock.port)
    with envoy_h.Envoy(cfg, env={**PROVIDER_KEYS, **AWS_ENV}) as envoy:
        yield envoy


@pytest.fixture
def client(gateway):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def converse_requests(mock):
    return [r for r in mock.requests() if r["path"].startswith("/model/")]


def test_openai_sdk_reaches_a_bedrock_model_signed(client, proxy, mock):
    verified = proxy.verified
    resp = client.chat.completions.create(model="claude-on-bedrock", messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi bedrock"}])
    assert resp.choices[0].message.content == "Mock reply from bedrock to: hi bedrock"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.completion_tokens == 7 and resp.usage.prompt_tokens > 0
    # Converse answers carry no id: Bedrock's request id stands for one, so each answer has its own.
    assert resp.id.startswith("chatcmpl-req_")
    again = client.chat.completions.create(model="claude-on-bedrock", messages=[{"role": "user", "content": "hi"}])
    assert again.id.startswith("chatcmpl-req_") and again.id != resp.id
    assert proxy.verified == verified + 2, "botocore verified the gateway's signatures"
    req = converse_requests(mock)[0]
    assert req["path"] == CONVERSE
    assert req["json"]["system"] == [{"text": "be brief"}]
    assert req["json"]["messages"] == [{"role": "user", "content": [{"text": "hi bedrock"}]}]
    assert header(req, "authorization").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert CLIENT_KEY not in json.dumps(req)


def test_openai_sdk_streams_from_bedrock(client, proxy):
    verified = proxy.verified
    chunks = list(client.chat.completions.create(
        model="claude-on-bedrock", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream from bedrock"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply from bedrock to: stream from bedrock"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage.completion_tokens == 8
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-req_")
    assert proxy.verified == verified + 1


def test_anthropic_sdk_reaches_bedrock_json_and_stream(gateway):
    client = anthropic.Anthropic(base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0)
    message = client.messages.create(model="claude-on-bedrock", max_tokens=64,
                                     messages=[{"role": "user", "content": "hello from anthropic"}])
    assert message.content[0].text == "Mock reply from bedrock to: hello from anthropic"
    assert message.stop_reason == "end_turn" and message.id.startswith("msg_req_")
    with client.messages.stream(model="claude-on-bedrock", max_tokens=64,
                                messages=[{"role": "user", "content": "stream it"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Mock reply from bedrock to: stream it"
    assert final.usage.output_tokens == 7 and final.id.startswith("msg_req_") and final.id != message.id
    # Converse counts the prompt only at the end: message_delta carries it, and the SDK takes it.
    assert final.usage.input_tokens == message.usage.input_tokens - 2 > 0  # "stream it" vs "hello from anthropic"


def test_a_tool_call_round_trip_through_bedrock(client, mock):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(model="claude-on-bedrock", messages=messages, tools=tools)
    assert first.choices[0].finish_reason == "tool_calls"
    (call,) = first.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "mock"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    second = client.chat.completions.create(model="claude-on-bedrock", messages=messages, tools=tools)
    assert second.choices[0].message.content == "Tool result received: sunny"
    sent = converse_requests(mock)[-1]["json"]
    assert sent["messages"][-1]["content"][0]["toolResult"]["toolUseId"] == call.id
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"


def test_an_anthropic_tool_round_trip_through_bedrock(gateway, mock):
    client = anthropic.Anthropic(base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0)
    tools = [{"name": "get_weather", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.messages.create(model="claude-on-bedrock", max_tokens=64, messages=messages, tools=tools)
    assert first.stop_reason == "tool_use"
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "mock"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]}]
    second = client.messages.create(model="claude-on-bedrock", max_tokens=64, messages=messages, tools=tools)
    assert second.content[0].text == "Tool result received: sunny"
    sent = converse_requests(mock)[-1]["json"]
    assert sent["messages"][-1]["content"][0]["toolResult"]["toolUseId"] == call.id
    assert sent["messages"][1]["content"][-1]["toolUse"]["toolUseId"] == call.id
    # A failed tool says so to Bedrock (Converse's `status`), through the OpenAI-shaped hub.
    messages[-1]["content"][0]["is_error"] = True
    client.messages.create(model="claude-on-bedrock", max_tokens=64, messages=messages, tools=tools)
    assert converse_requests(mock)[-1]["json"]["messages"][-1]["content"][0]["toolResult"]["status"] == "error"


def test_a_bedrock_429_fails_over_to_openai(client, mock, proxy):
    mock.add_rule(pathContains="/converse", status=429)
    try:
        raw = client.chat.completions.with_raw_response.create(model="steady", messages=[{"role": "user", "content": "x"}])
    except openai.APIStatusError:
        pytest.fail(f"refused: {proxy.last_rejected}")
    assert raw.parse().choices[0].message.content == "Mock reply from openai to: x"
    assert raw.headers["x-portcullis-attempts"] == "2"
    paths_seen = [r["path"] for r in mock.requests()]
    assert paths_seen == [CONVERSE, "/v1/chat/completions"]
    assert header(mock.requests()[1], "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]


def test_a_bad_signature_gets_bedrocks_403_in_the_clients_shape(proxy, mock, tmp_path):
    cfg = bootstrap(tmp_path, proxy.port, mock.port)
    wrong = {**AWS_ENV, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    with envoy_h.Envoy(cfg, env={**PROVIDER_KEYS, **wrong}) as envoy:
        client = openai.OpenAI(base_url=envoy.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        with pytest.raises(openai.PermissionDeniedError) as err:
            client.chat.completions.create(model="claude-on-bedrock", messages=[{"role": "user", "content": "x"}])
    assert "signature" in err.value.body["message"]
    assert proxy.rejected[-1] == "InvalidSignatureException"
    assert converse_requests(mock) == [], "the mock never saw it"


CONTAINER_CONFIG = """
listener: {{address: 127.0.0.1, port: 10000}}
providers:
  bedrock:
    kind: bedrock
    region: us-east-1
    endpoint: 'http://127.0.0.1:{proxy}'
    aws: {{containerCredentials: {{cluster: ecs-credentials, path: /v2/credentials/task-1,
                                  authorizationTokenEnv: AWS_CONTAINER_AUTHORIZATION_TOKEN}}}}
routes:
  - {{model: claude-on-bedrock, provider: bedrock, upstreamModel: '{model}'}}
services:
  ecs-credentials: {{endpoint: 'http://127.0.0.1:{idp}'}}
"""


def test_container_credentials_sign_bedrock_requests_fetched_once(proxy, mock, tmp_path):
    with IdentityServer(aws_credentials=(CREDS.access_key, CREDS.secret_key, CREDS.token),
                        aws_authorization="container-auth-token") as idp:
        config = tmp_path / "gateway.yaml"
        config.write_text(CONTAINER_CONFIG.format(proxy=proxy.port, idp=idp.port, model=MODEL_ID))
        out = tmp_path / "envoy.yaml"
        subprocess.run([str(CLI), "render", "envoy", str(config), "-o", str(out)], check=True)
        cfg = envoy_h.adapt(yaml.safe_load(out.read_text()), mock.port)
        # No AWS keys in Envoy's environment: only the container endpoint's token.
        with envoy_h.Envoy(cfg, env={"AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth-token"}) as envoy:
            client = openai.OpenAI(base_url=envoy.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
            verified = proxy.verified
            for i in range(3):
                resp = client.chat.completions.create(model="claude-on-bedrock",
                                                      messages=[{"role": "user", "content": f"n{i}"}])
                assert resp.choices[0].message.content == f"Mock reply from bedrock to: n{i}"
            assert proxy.verified == verified + 3, "botocore verified every signature"
            assert idp.fetches == 1, "fetched once for every request"
            (fetch,) = idp.requests
            assert fetch["path"] == "/v2/credentials/task-1"
            assert fetch["headers"]["authorization"] == "container-auth-token"
            assert CREDS.secret_key not in envoy.log_text() and CREDS.token not in envoy.log_text()


def test_container_credentials_failing_refuse_without_calling_bedrock(proxy, mock, tmp_path):
    with IdentityServer(aws_credentials=(CREDS.access_key, CREDS.secret_key, CREDS.token)) as idp:
        idp.failing = True
        config = tmp_path / "gateway.yaml"
        config.write_text(CONTAINER_CONFIG.format(proxy=proxy.port, idp=idp.port, model=MODEL_ID)
                          .replace(",\n                                  authorizationTokenEnv: AWS_CONTAINER_AUTHORIZATION_TOKEN", ""))
        out = tmp_path / "envoy.yaml"
        subprocess.run([str(CLI), "render", "envoy", str(config), "-o", str(out)], check=True)
        cfg = envoy_h.adapt(yaml.safe_load(out.read_text()), mock.port)
        with envoy_h.Envoy(cfg, env={}) as envoy:
            client = anthropic.Anthropic(base_url=envoy.url, api_key=CLIENT_KEY, max_retries=0)
            with pytest.raises(anthropic.APIStatusError) as err:
                client.messages.create(model="claude-on-bedrock", max_tokens=16, messages=[{"role": "user", "content": "x"}])
            assert err.value.status_code == 503
            assert err.value.body["error"]["message"] == "the gateway could not get a credential for provider `bedrock`"
    assert converse_requests(mock) == []


# --- Embeddings: InvokeModel with Titan's and Cohere's own bodies ---------------------------

def invoke_path(model_id: str) -> str:
    return "/model/" + urllib.parse.quote(model_id, safe="") + "/invoke"


def mock_vectors(mock, model_id: str, body: dict) -> dict:
    """What the mock itself answers a direct InvokeModel call (its vectors are deterministic)."""
    req = urllib.request.Request(mock.url + invoke_path(model_id), data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def as_f32(values) -> list[float]:
    """Floats as the f32 they are on the wire (Bedrock's and the mock's precision)."""
    return array.array("f", values).tolist()


def invoke_requests(mock):
    return [r for r in mock.requests() if r["path"].endswith("/invoke")]


def test_openai_sdk_embeds_with_titan_signed(client, proxy, mock):
    want = as_f32(mock_vectors(mock, TITAN, {"inputText": "a portcullis", "dimensions": 256})["embedding"])
    mock.clear()
    verified = proxy.verified
    # The SDK asks for base64 unless told (and decodes it): the gateway encodes Bedrock's floats.
    resp = client.embeddings.create(model="titan-embed", input="a portcullis", dimensions=256)
    assert [d.index for d in resp.data] == [0]
    assert resp.data[0].embedding == want
    assert resp.usage.prompt_tokens == 3 and resp.usage.total_tokens == 3, "Titan's inputTextTokenCount"
    assert proxy.verified == verified + 1, "botocore verified the gateway's signature"
    (req,) = invoke_requests(mock)
    assert req["path"] == invoke_path(TITAN)
    assert req["json"] == {"inputText": "a portcullis", "dimensions": 256}
    assert header(req, "authorization").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    # Asked for floats, floats it gets: the same vector.
    floats = client.embeddings.with_raw_response.create(model="titan-embed", input="a portcullis",
                                                        dimensions=256, encoding_format="float")
    body = json.loads(floats.text)
    assert as_f32(body["data"][0]["embedding"]) == want and body["model"] == TITAN


def test_cohere_embeds_a_batch_counted_from_bedrocks_header(client, gateway, proxy, mock):
    texts = ["a gate", "a grille", "a drawbridge"]
    want = mock_vectors(mock, COHERE, {"texts": texts, "input_type": "search_query"})["embeddings"]
    mock.clear()
    labels = {"gen_ai_request_model": COHERE, "gen_ai_token_type": "input"}
    before = metric_value(gateway, "portcullis_tokens_total", labels)
    resp = client.embeddings.create(model="cohere-embed", input=texts, extra_body={"input_type": "search_query"})
    assert [d.index for d in resp.data] == [0, 1, 2]
    assert [d.embedding for d in resp.data] == [as_f32(v) for v in want]
    # ceil(6/4) + ceil(8/4) + ceil(12/4): only x-amzn-bedrock-input-token-count says so.
    assert resp.usage.prompt_tokens == 7
    assert metric_value(gateway, "portcullis_tokens_total", labels) == before + 7, "the usage filter counted it"
    (req,) = invoke_requests(mock)
    assert req["path"] == invoke_path(COHERE)
    assert req["json"] == {"texts": texts, "input_type": "search_query"}
    # No input type named: stored documents, Cohere's required field filled.
    client.embeddings.create(model="cohere-embed", input="one more")
    assert invoke_requests(mock)[-1]["json"] == {"texts": ["one more"], "input_type": "search_document"}


def test_embeddings_bedrock_cannot_take_are_refused_before_calling_it(client, proxy, mock):
    verified = proxy.verified
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="titan-embed", input=["first", "second"])
    assert "one text per request" in err.value.body["message"] and "Cohere" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="cohere-embed", input=[[1820, 374]])
    assert "token arrays" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="claude-as-embedder", input="x")
    assert "not a Bedrock embeddings model" in err.value.body["message"]
    assert invoke_requests(mock) == [] and proxy.verified == verified, "Bedrock was never called"


def test_a_bedrock_validation_error_reaches_the_client_in_its_shape(client, mock):
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="titan-embed", input="x", dimensions=300)
    assert err.value.body["type"] == "invalid_request_error"
    assert err.value.body["message"].startswith("Malformed input request: #/dimensions: 300")
    assert len(invoke_requests(mock)) == 1


def test_a_throttled_titan_fails_over_to_openai_embeddings(client, mock):
    mock.add_rule(pathContains="/invoke", status=429)
    raw = client.embeddings.with_raw_response.create(model="steady-embed", input="fail me over")
    resp = raw.parse()
    assert raw.headers["x-portcullis-provider"] == "openai" and raw.headers["x-portcullis-attempts"] == "2"
    assert len(resp.data) == 1 and resp.usage.prompt_tokens == 3
    assert [r["path"] for r in mock.requests()] == [invoke_path(TITAN), "/v1/embeddings"]
    sent = mock.requests()[1]["json"]
    assert sent["model"] == "text-embedding-3-small" and sent["input"] == "fail me over"


ISTIO_CONFIG = """
providers:
  bedrock: {{kind: bedrock, region: us-east-1, aws: {{}}}}
routes:
  - {{model: claude-on-bedrock, provider: bedrock, upstreamModel: '{model}'}}
  - {{model: titan-embed, provider: bedrock, upstreamModel: '{titan}'}}
"""


def test_the_istio_rendering_signs_bedrock_requests(proxy, mock, tmp_path):
    """`render istio` puts the signing on a cluster of its own (the portcullis-signing
    EnvoyFilter): run as Istio would generate it, that cluster's requests pass botocore."""
    config = tmp_path / "gateway.yaml"
    config.write_text(ISTIO_CONFIG.format(model=MODEL_ID, titan=TITAN))
    out = tmp_path / "istio"
    subprocess.run([str(CLI), "render", "istio", str(config), "-o", str(out)], check=True)
    cfg = envoy_h.adapt(istio.bootstrap(istio.resources(out)), mock.port)
    envoy_h.point_cluster(cfg, "portcullis-bedrock", proxy.port)
    with envoy_h.Envoy(cfg, env=AWS_ENV) as envoy:
        client = openai.OpenAI(base_url=envoy.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        verified = proxy.verified
        resp = client.chat.completions.create(model="claude-on-bedrock", messages=[{"role": "user", "content": "istio"}])
        assert resp.choices[0].message.content == "Mock reply from bedrock to: istio"
        embedded = client.embeddings.create(model="titan-embed", input="istio")
        assert len(embedded.data[0].embedding) == 1024 and embedded.usage.prompt_tokens == 2
        assert proxy.verified == verified + 2, "botocore verified both signatures"
    assert [r["path"] for r in mock.requests()] == [CONVERSE, invoke_path(TITAN)]
