"""Retrieval-augmented generation through real Envoy: a real Chroma server (started here on a
free port) seeded with documents whose vectors come from the mock provider's deterministic
embeddings; the official SDKs ask questions; the mock's record shows the context in each
provider's native body and the embeddings call with the provider's key."""
import hashlib
import json
import time
import urllib.request

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

import rag_config
from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import process
from harness.chroma import ChromaServer
from helpers import eventually, header, metric_value

# Each document is stored under the vector of the question it answers, so that question finds it
# (score 1) whatever the mock's vectors mean: they are hashes of the text.
DOCS = {
    "refunds": ("How long do refunds take?", "Refunds reach the original payment method within 5 business days."),
    "shipping": ("When do orders ship?", "Orders placed before 14:00 ship the same day."),
    "warranty": ("What does the warranty cover?", "Devices carry a 2-year warranty for manufacturing defects."),
}
STORE_TIMEOUT_MS = 500


def mock_vector(mock, text: str) -> list[float]:
    req = urllib.request.Request(
        f"{mock.url}/v1/embeddings",
        data=json.dumps({"model": rag_config.EMBEDDINGS_MODEL, "input": text}).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer seed"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["data"][0]["embedding"]


@pytest.fixture(scope="module")
def chroma(mock):
    with ChromaServer() as server:
        collection = server.create_collection(rag_config.COLLECTION)
        ids = list(DOCS)
        server.add(collection, ids, [mock_vector(mock, DOCS[i][0]) for i in ids], [DOCS[i][1] for i in ids])
        yield server


def policy(**extra) -> dict:
    r = rag_config.prompt_config()["policies"]["docs"]["retrieval"]  # a fresh dict each call
    r["store"]["chroma"]["timeoutMs"] = STORE_TIMEOUT_MS
    r.update(extra)
    return {"retrieval": r}


@pytest.fixture(scope="module")
def rag_gateway(mock, chroma):
    """gateway-rag.yaml, with three more policies: the context as a user message on a Claude
    model, fail-closed on gpt-4.1, and the default on docs-assistant."""
    cfg = rag_config.render_config(envoy_h.load("gateway.yaml"))
    prompt = envoy_h.plugin_config(cfg, "portcullis.prompt")
    prompt["policies"]["as-user"] = policy(placement="user", topK=1, minScore=0.99)
    prompt["policies"]["closed"] = policy(failureMode="closed")
    prompt["bindings"] += [{"model": "claude-haiku-4-5", "policy": "as-user"},
                           {"model": "gpt-4.1", "policy": "closed"},
                           {"model": "gemini-2.5-flash", "policy": "docs"}]
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", prompt)
    envoy_h.point_cluster(cfg, "chroma", chroma.port)
    listener = process.free_port()
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port, listener_port=listener), env=PROVIDER_KEYS) as envoy:
        yield envoy


def oai(gw):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def by_path(mock, fragment: str) -> list[dict]:
    return [r for r in mock.requests() if fragment in r["path"]]


def test_openai_sdk_gets_a_grounded_answer(rag_gateway, mock):
    raw = oai(rag_gateway).chat.completions.with_raw_response.create(
        model=rag_config.ROUTE, messages=[{"role": "user", "content": "How long do refunds take?"}])
    answer = raw.parse().choices[0].message.content
    assert "grounded in refunds" in answer, answer
    assert raw.headers["x-portcullis-rag-documents"].split(",")[0] == "refunds"

    # The embeddings call went through the gateway to the provider, with the provider's key.
    (embedding,) = by_path(mock, "/embeddings")
    assert header(embedding, "authorization") == f"Bearer {PROVIDER_KEYS['OPENAI_API_KEY']}"
    assert embedding["json"]["input"] == "How long do refunds take?"
    assert embedding["json"]["model"] == rag_config.EMBEDDINGS_MODEL
    # The provider got the context as a system message, the question as sent.
    (chat,) = by_path(mock, "/chat/completions")
    messages = chat["json"]["messages"]
    assert messages[0]["role"] == "system"
    assert '<document id="refunds">\n' + DOCS["refunds"][1] in messages[0]["content"]
    assert messages[-1] == {"role": "user", "content": "How long do refunds take?"}
    assert chat["json"]["model"] == "gpt-4o-mini"
    assert CLIENT_KEY not in json.dumps(chat) + json.dumps(embedding)

    # Operators: the metric, and the access log's document ids and scores (no text).
    assert metric_value(rag_gateway, "portcullis_rag_retrievals_total", {"policy": "docs", "outcome": "hit"}) >= 1

    def logged():
        return [e for e in rag_gateway.access_log() if e.get("rag") and e.get("request_model") == rag_config.ROUTE]
    entry = eventually(logged)[-1]
    rag = json.loads(entry["rag"])
    assert rag["policy"] == "docs" and rag["outcome"] == "hit"
    assert rag["documents"][0] == {"id": "refunds", "score": 1.0}
    assert "payment method" not in entry["rag"]
    # The embeddings call is accounted like a client's: its own access-log line with usage.
    embed_lines = eventually(lambda: [e for e in rag_gateway.access_log() if e.get("request_model") == rag_config.EMBEDDINGS_MODEL])
    assert embed_lines and json.loads(embed_lines[-1]["usage"])["inputTokens"] > 0


def test_anthropic_sdk_on_a_translated_route(rag_gateway, mock):
    client = anthropic.Anthropic(base_url=rag_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    msg = client.messages.create(model=rag_config.ROUTE, max_tokens=64, system="Be terse.",
                                 messages=[{"role": "user", "content": "When do orders ship?"}])
    assert "grounded in shipping" in msg.content[0].text
    (chat,) = by_path(mock, "/chat/completions")  # translated to OpenAI
    system = [m for m in chat["json"]["messages"] if m["role"] == "system"]
    assert '<document id="shipping">' in system[0]["content"]
    assert any(m["content"] == "Be terse." for m in system), "the client's own system prompt stays"


def test_context_as_a_user_message_in_anthropics_native_body(rag_gateway, mock):
    """An OpenAI client on a Claude model: the context lands as a user turn right before the
    question, in the Messages API body; minScore 0.99 keeps only the exact match."""
    oai(rag_gateway).chat.completions.create(
        model="claude-haiku-4-5", messages=[{"role": "system", "content": "S"},
                                            {"role": "user", "content": "What does the warranty cover?"}])
    (msg,) = by_path(mock, "/v1/messages")
    turns = msg["json"]["messages"]
    assert len(turns) == 2 and turns[1]["content"] in ("What does the warranty cover?",
                                                       [{"type": "text", "text": "What does the warranty cover?"}])
    context = turns[0]["content"] if isinstance(turns[0]["content"], str) else turns[0]["content"][0]["text"]
    assert '<document id="warranty">' in context and "refunds" not in context


def test_google_genai_sdk_gets_the_context_as_system_instruction(rag_gateway, mock):
    client = genai.Client(api_key=CLIENT_KEY, http_options=genai_types.HttpOptions(base_url=rag_gateway.url))
    answer = client.models.generate_content(model="gemini-2.5-flash", contents="What does the warranty cover?")
    assert "grounded in warranty" in answer.text
    (gen,) = by_path(mock, ":generateContent")
    parts = gen["json"]["systemInstruction"]["parts"]
    assert '<document id="warranty">' in parts[0]["text"]
    assert gen["json"]["contents"][-1]["parts"][0]["text"] == "What does the warranty cover?"


def test_streaming_answers_carry_the_context_too(rag_gateway, mock):
    stream = oai(rag_gateway).chat.completions.create(
        model=rag_config.ROUTE, stream=True, messages=[{"role": "user", "content": "How long do refunds take?"}])
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "grounded in refunds" in text


def test_a_route_without_a_policy_makes_no_retrieval_call(rag_gateway, mock, chroma):
    before = metric_value(rag_gateway, "portcullis_rag_retrievals_total", {})
    oai(rag_gateway).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert [r["path"] for r in mock.requests()] == ["/v1/chat/completions"]
    assert "<document" not in json.dumps(mock.requests()[0]["json"])
    assert metric_value(rag_gateway, "portcullis_rag_retrievals_total", {}) == before


def test_a_store_timeout_answers_without_context_or_503(rag_gateway, mock, chroma):
    chroma.pause()
    try:
        started = time.monotonic()
        answer = oai(rag_gateway).chat.completions.create(
            model=rag_config.ROUTE, messages=[{"role": "user", "content": "How long do refunds take?"}])
        elapsed = time.monotonic() - started
        assert "grounded" not in answer.choices[0].message.content
        assert elapsed < 5, f"bounded by the store's timeout ({STORE_TIMEOUT_MS} ms), took {elapsed:.1f}s"
        (chat,) = by_path(mock, "/chat/completions")
        assert "<document" not in json.dumps(chat["json"])
        assert metric_value(rag_gateway, "portcullis_rag_retrievals_total", {"policy": "docs", "outcome": "error"}) >= 1

        mock.clear()
        with pytest.raises(openai.InternalServerError) as refused:
            oai(rag_gateway).chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "How long do refunds take?"}])
        assert refused.value.status_code == 503
        assert refused.value.body["message"] == "retrieval is unavailable"
        assert by_path(mock, "/chat/completions") == [], "no provider call"
    finally:
        chroma.resume()
    # The store is back: context again.
    answer = oai(rag_gateway).chat.completions.create(
        model=rag_config.ROUTE, messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert "grounded in refunds" in answer.choices[0].message.content


def test_an_embeddings_failure_is_the_failure_mode_too(rag_gateway, mock):
    mock.add_rule(pathContains="/embeddings", status=500)
    answer = oai(rag_gateway).chat.completions.create(
        model=rag_config.ROUTE, messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert "grounded" not in answer.choices[0].message.content
    assert by_path(mock, "/embeddings"), "the embeddings call was made"
    with pytest.raises(openai.InternalServerError) as refused:
        oai(rag_gateway).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert refused.value.status_code == 503


def test_rag_config_is_current():
    assert rag_config.OUT.read_text() == rag_config.render(envoy_h.load("gateway.yaml")), \
        "stale: run `.venv/bin/python e2e/rag_config.py`"


RAG_KEY = "vk-retrieval-gateway-key"


@pytest.fixture(scope="module")
def tenant_gateway(mock, chroma):
    """Clients must bring a virtual key: the retrieval's embeddings call brings its own, from the
    prompt VM's environment (a gateway key of the tenant `retrieval`, not a provider key)."""
    cfg = rag_config.render_config(envoy_h.load("gateway.yaml"))
    digest = lambda key: "sha256:" + hashlib.sha256(key.encode()).hexdigest()  # noqa: E731
    creds = envoy_h.plugin_config(cfg, "portcullis.credentials")
    creds["tenants"] = [{"id": "team-a", "keyHashes": [digest(CLIENT_KEY)]},
                        {"id": "retrieval", "keyHashes": [digest(RAG_KEY)]}]
    envoy_h.set_plugin_config(cfg, "portcullis.credentials", creds)
    prompt = envoy_h.plugin_config(cfg, "portcullis.prompt")
    prompt["policies"]["docs"]["retrieval"]["embeddings"]["keyEnv"] = "PORTCULLIS_RAG_KEY"
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", prompt)
    envoy_h.wasm_config(cfg, "portcullis.prompt")["vm_config"]["environment_variables"] = {
        "host_env_keys": ["PORTCULLIS_RAG_KEY"]}
    envoy_h.point_cluster(cfg, "chroma", chroma.port)
    env = {**PROVIDER_KEYS, "PORTCULLIS_RAG_KEY": RAG_KEY}
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port, listener_port=process.free_port()), env=env) as envoy:
        yield envoy


def test_the_embeddings_call_is_authenticated_and_accounted_as_its_own_tenant(tenant_gateway, mock):
    answer = oai(tenant_gateway).chat.completions.create(
        model=rag_config.ROUTE, messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert "grounded in refunds" in answer.choices[0].message.content
    (embedding,) = by_path(mock, "/embeddings")
    assert header(embedding, "authorization") == f"Bearer {PROVIDER_KEYS['OPENAI_API_KEY']}"
    assert RAG_KEY not in json.dumps(mock.requests())

    def tenants():
        return {e.get("request_model"): e.get("tenant") for e in tenant_gateway.access_log()}
    logged = eventually(lambda: (t := tenants()).get(rag_config.EMBEDDINGS_MODEL) and t.get(rag_config.ROUTE) and t)
    assert logged[rag_config.EMBEDDINGS_MODEL] == "retrieval"
    assert logged[rag_config.ROUTE] == "team-a"
    assert metric_value(tenant_gateway, "portcullis_tokens_total",
                        {"tenant": "retrieval", "gen_ai_request_model": rag_config.EMBEDDINGS_MODEL}) > 0
