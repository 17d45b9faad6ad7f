"""The SigV4 checkpoint the Bedrock e2e tests put in front of the mock (harness/sigv4_proxy.py):
it lets through exactly the requests botocore's own signer signed with the right credentials —
a Bedrock model id's `:` included — and answers everything else with Bedrock's 403, before the
upstream sees it. A checkpoint that let a bad signature through would make every signing test
pass; these cases prove it does not."""
import datetime
import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.sigv4_proxy import SigV4Proxy
from helpers import header

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example")
HOST = "bedrock-runtime.us-east-1.amazonaws.com"
BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "signed"}]}).encode()


@pytest.fixture(scope="module")
def proxy(mock):
    with SigV4Proxy(upstream_port=mock.port, credentials=CREDS) as p:
        yield p


def signed(path: str, body: bytes = BODY, creds: Credentials = CREDS, region: str = "us-east-1",
           service: str = "bedrock") -> dict:
    """The headers botocore's signer gives a request."""
    request = AWSRequest(method="POST", url=f"https://{HOST}{path}", data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(creds, service, region).add_auth(request)
    return {**dict(request.headers.items()), "host": HOST}


def send(proxy, path: str, headers: dict, body: bytes = BODY):
    req = urllib.request.Request(f"http://127.0.0.1:{proxy.port}{path}", data=body, method="POST",
                                 headers={k: v for k, v in headers.items() if k.lower() != "host"})
    req.add_unredirected_header("Host", headers.get("host", HOST))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_a_request_botocore_signed_goes_through(proxy, mock):
    before = proxy.verified
    status, _, body = send(proxy, "/v1/chat/completions", signed("/v1/chat/completions"))
    assert status == 200, body
    assert json.loads(body)["choices"][0]["message"]["content"] == "Mock reply from openai to: signed"
    assert proxy.verified == before + 1
    (req,) = mock.requests()
    assert header(req, "x-amz-security-token") == CREDS.token


def test_a_model_id_with_a_colon_verifies_as_bedrock_expects(proxy):
    # Bedrock model ids carry `:`; the client sends `%3A`, the canonical request double-encodes it.
    path = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    before = proxy.verified
    status, _, _ = send(proxy, path, signed(path))
    assert status != 403 and proxy.verified == before + 1


@pytest.mark.parametrize("case, error_type", [
    ("tampered-body", "InvalidSignatureException"),
    ("wrong-secret", "InvalidSignatureException"),
    ("unknown-key", "UnrecognizedClientException"),
    ("no-session-token", "UnrecognizedClientException"),
    ("other-service", "InvalidSignatureException"),
    ("other-region", "InvalidSignatureException"),
    ("other-path", "InvalidSignatureException"),
    ("expired", "InvalidSignatureException"),
    ("unsigned", "MissingAuthenticationTokenException"),
    ("garbled", "IncompleteSignatureException"),
])
def test_anything_else_gets_bedrocks_403_and_never_reaches_the_upstream(proxy, mock, case, error_type):
    path, body = "/v1/chat/completions", BODY
    headers = signed(path)
    if case == "tampered-body":
        body = BODY.replace(b"signed", b"SIGNED")
    elif case == "wrong-secret":
        headers = signed(path, creds=Credentials(CREDS.access_key, "not-the-secret", CREDS.token))
    elif case == "unknown-key":
        headers = signed(path, creds=Credentials("AKIDOTHER", CREDS.secret_key, CREDS.token))
    elif case == "no-session-token":
        headers = signed(path, creds=Credentials(CREDS.access_key, CREDS.secret_key))
    elif case == "other-service":
        headers = signed(path, service="s3")
    elif case == "other-region":
        headers = signed(path, region="eu-west-1")
    elif case == "other-path":
        headers, path = signed(path), "/v1/embeddings"
    elif case == "expired":
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        request = AWSRequest(method="POST", url=f"https://{HOST}{path}", data=body,
                             headers={"content-type": "application/json"})
        request.context["timestamp"] = old.strftime("%Y%m%dT%H%M%SZ")
        signer = SigV4Auth(CREDS, "bedrock", "us-east-1")
        # add_auth would stamp the current time; sign the old one by hand.
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        request.headers["X-Amz-Security-Token"] = CREDS.token
        signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        scope = f"{CREDS.access_key}/{request.context['timestamp'][:8]}/us-east-1/bedrock/aws4_request"
        names = signer.signed_headers(signer.headers_to_sign(request))
        headers = {**dict(request.headers.items()), "host": HOST,
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={names}, Signature={signature}"}
    elif case == "unsigned":
        headers = {"content-type": "application/json", "host": HOST}
    elif case == "garbled":
        headers = {**headers, "Authorization": "AWS4-HMAC-SHA256 nonsense"}
    status, resp_headers, answer = send(proxy, path, headers, body)
    assert status == 403
    assert resp_headers["x-amzn-errortype"].startswith(error_type)
    assert "message" in json.loads(answer)
    assert proxy.rejected[-1] == error_type
    assert mock.requests() == [], "a refused request never reaches the upstream"


# --- The mock's Bedrock Converse behind the checkpoint, called with botocore's own
# bedrock-runtime client (it signs, sends and parses the event stream itself): the mock speaks
# the real wire format and the checkpoint lets a correctly signed SDK call through.

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


@pytest.fixture(scope="module")
def bedrock(proxy):
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{proxy.port}",
        aws_access_key_id=CREDS.access_key, aws_secret_access_key=CREDS.secret_key,
        aws_session_token=CREDS.token, config=Config(retries={"max_attempts": 1}))


def test_botocore_converse_through_the_checkpoint(bedrock, mock):
    out = bedrock.converse(modelId=MODEL, system=[{"text": "be brief"}],
                           messages=[{"role": "user", "content": [{"text": "hi bedrock"}]}],
                           inferenceConfig={"maxTokens": 100})
    assert out["output"]["message"]["content"] == [{"text": "Mock reply from bedrock to: hi bedrock"}]
    assert out["stopReason"] == "end_turn"
    assert out["usage"]["inputTokens"] > 0 and out["usage"]["outputTokens"] == 7  # words
    (req,) = mock.requests()
    assert req["path"] == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"


def test_botocore_reads_the_mocks_event_stream(bedrock):
    out = bedrock.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "stream me"}]}])
    events = list(out["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "Mock reply from bedrock to: stream me"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 7


def test_botocore_tool_use_round_trip(bedrock):
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}
    messages = [{"role": "user", "content": [{"text": "weather in Paris?"}]}]
    first = bedrock.converse(modelId=MODEL, messages=messages, toolConfig=tools)
    assert first["stopReason"] == "tool_use"
    (call,) = first["output"]["message"]["content"]
    assert call["toolUse"]["name"] == "get_weather" and call["toolUse"]["input"] == {"city": "mock"}
    messages += [first["output"]["message"], {"role": "user", "content": [{"toolResult": {
        "toolUseId": call["toolUse"]["toolUseId"], "content": [{"text": "sunny"}]}}]}]
    second = bedrock.converse(modelId=MODEL, messages=messages, toolConfig=tools)
    assert second["output"]["message"]["content"][0]["text"] == "Tool result received: sunny"


def test_the_mocks_bedrock_errors_are_what_botocore_expects(bedrock, mock):
    from botocore.exceptions import ClientError

    mock.add_rule(pathContains="/converse", status=429)
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_botocore_invoke_model_reaches_the_mocks_embeddings_models(bedrock, mock):
    """botocore's own InvokeModel (path, content type, signed body) is what the mock serves:
    Titan's and Cohere's bodies, the token-count header, and Bedrock's validation error."""
    from botocore.exceptions import ClientError

    titan = bedrock.invoke_model(modelId="amazon.titan-embed-text-v2:0", contentType="application/json",
                                 accept="application/json", body=json.dumps({"inputText": "hello", "dimensions": 256}))
    out = json.loads(titan["body"].read())
    assert len(out["embedding"]) == 256 and out["inputTextTokenCount"] == 2
    assert titan["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == "2"
    cohere = bedrock.invoke_model(modelId="cohere.embed-english-v3",
                                  body=json.dumps({"texts": ["a", "b"], "input_type": "search_document"}))
    out = json.loads(cohere["body"].read())
    assert len(out["embeddings"]) == 2 and out["response_type"] == "embeddings_floats"
    assert mock.requests()[0]["path"] == "/model/amazon.titan-embed-text-v2%3A0/invoke"
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"texts": ["a"]}))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "extraneous key [texts]" in err.value.response["Error"]["Message"]
