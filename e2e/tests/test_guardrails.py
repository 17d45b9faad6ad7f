"""Guardrails in real Envoy, with the official SDKs, streaming and not.

The default policy masks card numbers and blocks SSNs and a code name on the way in, and masks
emails and API keys (blocking one phrase) on the way out; other policies are bound by model to
a webhook (a small server speaking the Gloo webhook contract, `harness/webhook.py`) failing
closed or open, and to OpenAI moderation (the mock's `/v1/moderations`, called with the
gateway's own key). Streamed answers are cut by the mock into many chunks so that the email and
the key arrive split across SSE events.
"""
import json

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness.webhook import MASKED, GuardWebhook
from helpers import eventually, header, metric_value

CARD = "4111 1111 1111 1111"
SSN = "123-45-6789"
EMAIL = "jane.roe@example.com"
OPENAI_KEY = "sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5bCd7f"
REPLY = f"Reach me at {EMAIL} or use the key {OPENAI_KEY} today."
MASKED_REPLY = "Reach me at [EMAIL] or use the key [SECRET] today."

PROMPT = {
    "policies": {
        "guarded": {"guards": {
            "request": [
                {"detector": "credit_card", "action": "mask", "keepLast": 4},
                {"detector": "us_ssn", "action": "block"},
                {"phrases": ["project nightingale"], "action": "block", "name": "codenames"},
            ],
            "response": [
                {"detector": "email", "action": "mask"},
                {"detector": "openai_key", "action": "mask"},
                {"phrases": ["forbidden-answer-token"], "action": "block", "name": "leak"},
            ],
        }},
        "hooked": {"guards": {
            "request": [{"detector": "credit_card", "action": "mask"}],
            "webhook": {"cluster": "guard-webhook", "timeoutMs": 400, "forwardHeaders": ["x-team"],
                        "phases": ["request", "response"]},
        }},
        "hooked-open": {"guards": {
            "webhook": {"cluster": "guard-webhook", "timeoutMs": 400, "failureMode": "open", "phases": ["request"]},
        }},
        "moderated": {"guards": {
            "moderation": {"cluster": "openai", "keyEnv": "OPENAI_API_KEY", "categories": {"violence": 0.5}},
        }},
    },
    "bindings": [
        {"model": "gpt-4.1-nano", "policy": "hooked"},
        {"model": "gpt-4.1-mini", "policy": "hooked-open"},
        {"model": "gpt-5-nano", "policy": "moderated"},
    ],
    "defaultPolicy": "guarded",
}


@pytest.fixture(scope="module")
def hook():
    with GuardWebhook() as server:
        yield server


@pytest.fixture(scope="module")
def gw(mock, hook):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", PROMPT)
    envoy_h.wasm_config(cfg, "portcullis.prompt")["vm_config"]["environment_variables"] = {
        "host_env_keys": ["OPENAI_API_KEY"]}
    cfg["static_resources"]["clusters"].append({
        "name": "guard-webhook", "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": {"cluster_name": "guard-webhook", "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": hook.port}}}}]}]},
    })
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


@pytest.fixture(autouse=True)
def _fresh_hook(hook):
    hook.calls.clear()


def oai(gw):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def claude(gw):
    return anthropic.Anthropic(base_url=gw.url, api_key=CLIENT_KEY, max_retries=0)


def gemini(gw):
    return genai.Client(api_key=CLIENT_KEY, http_options=genai_types.HttpOptions(base_url=gw.url))


def chat_paths(mock):
    return [r["path"] for r in mock.requests() if "moderations" not in r["path"]]


def checks(gw, policy, guard, action, phase):
    return metric_value(gw, "portcullis_guardrail_checks_total",
                        {"policy": policy, "guard": guard, "action": action, "phase": phase})


# --- requests: what the provider sees -------------------------------------------------------

def test_openai_sdk_card_is_masked_before_the_provider(gw, mock):
    oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"charge {CARD}"}])
    [req] = mock.requests()
    assert req["json"]["messages"][0]["content"] == "charge [CARD]1111"
    assert "4111 1111" not in req["body"]
    # The SDK offers compressed answers; the provider is asked for plain ones (they are read).
    assert header(req, "accept-encoding") is None
    assert checks(gw, "guarded", "credit_card", "mask", "request") >= 1


def test_anthropic_sdk_card_in_the_system_prompt_is_masked(gw, mock):
    claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=16, system=f"card on file: {CARD}",
                               messages=[{"role": "user", "content": "hello"}])
    [req] = mock.requests()
    assert req["json"]["system"] == "card on file: [CARD]1111"


def test_google_genai_sdk_card_is_masked_on_a_route_translated_to_openai(gw, mock):
    client = gemini(gw)
    client.models.generate_content(model="gpt-4o-mini", contents=f"my card {CARD}")
    [req] = mock.requests()
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["messages"][-1]["content"] == "my card [CARD]1111"


def test_blocked_prompts_raise_each_sdks_own_error_and_reach_no_provider(gw, mock):
    with pytest.raises(openai.PermissionDeniedError) as e:
        oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"ssn {SSN}"}])
    assert e.value.status_code == 403
    assert "request blocked by policy `guarded`: guard `us_ssn`" in str(e.value)
    assert SSN not in str(e.value.body)

    with pytest.raises(anthropic.PermissionDeniedError) as e:
        claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=16,
                                   messages=[{"role": "user", "content": "About Project Nightingale..."}])
    assert "guard `codenames`" in str(e.value)

    client = gemini(gw)
    with pytest.raises(genai_errors.ClientError) as e:
        client.models.generate_content(model="gemini-2.5-flash", contents=f"ssn {SSN}")
    assert e.value.code == 403
    assert mock.requests() == []
    assert checks(gw, "guarded", "us_ssn", "block", "request") >= 2


# --- answers: what the client sees ----------------------------------------------------------

def reply_rule(mock, text, chunks=14):
    mock.add_rule(reply=text, chunks=chunks)


def test_openai_sdk_stream_with_secrets_split_across_chunks_is_masked(gw, mock):
    reply_rule(mock, REPLY)
    stream = oai(gw).chat.completions.create(model="gpt-4o-mini", stream=True,
                                             stream_options={"include_usage": True},
                                             messages=[{"role": "user", "content": "contact?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MASKED_REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1
    assert checks(gw, "guarded", "email", "mask", "response") >= 1


def test_openai_sdk_stream_translated_from_anthropic_is_masked(gw, mock):
    reply_rule(mock, REPLY)
    stream = oai(gw).chat.completions.create(model="claude-haiku-4-5", stream=True,
                                             messages=[{"role": "user", "content": "contact?"}])
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == MASKED_REPLY


def test_anthropic_sdk_stream_with_secrets_split_across_events_is_masked(gw, mock):
    reply_rule(mock, REPLY)
    with claude(gw).messages.stream(model="claude-haiku-4-5", max_tokens=64,
                                    messages=[{"role": "user", "content": "contact?"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == MASKED_REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_google_genai_sdk_stream_with_secrets_split_across_chunks_is_masked(gw, mock):
    reply_rule(mock, REPLY)
    client = gemini(gw)
    text = "".join(c.text or "" for c in client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="contact?"))
    assert text == MASKED_REPLY


def test_json_answers_are_masked_for_every_sdk(gw, mock):
    reply_rule(mock, REPLY)
    r = oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == MASKED_REPLY
    reply_rule(mock, REPLY)
    m = claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}])
    assert m.content[0].text == MASKED_REPLY
    reply_rule(mock, REPLY)
    client = gemini(gw)
    g = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert g.text == MASKED_REPLY


def test_a_refused_json_answer_is_the_sdks_error_with_the_status(gw, mock):
    for model in ("gpt-4o-mini", "claude-haiku-4-5"):  # untranslated, then translated
        reply_rule(mock, "here is the forbidden-answer-token you wanted")
        with pytest.raises(openai.PermissionDeniedError) as e:
            oai(gw).chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
        assert "response blocked by policy `guarded`: guard `leak`" in str(e.value)
    reply_rule(mock, "here is the forbidden-answer-token you wanted")
    with pytest.raises(anthropic.PermissionDeniedError):
        claude(gw).messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}])
    reply_rule(mock, "here is the forbidden-answer-token you wanted")
    client = gemini(gw)
    with pytest.raises(genai_errors.ClientError) as e:
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert e.value.code == 403
    assert checks(gw, "guarded", "leak", "block", "response") >= 4


def test_a_block_in_a_stream_ends_it_with_an_error_event(gw, mock):
    reply_rule(mock, "fine words first, then the forbidden-answer-token and more after it")
    stream = oai(gw).chat.completions.create(model="gpt-4o-mini", stream=True,
                                             messages=[{"role": "user", "content": "x"}])
    received = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "guard `leak`" in str(e.value)
    assert "forbidden" not in "".join(received) and "more after" not in "".join(received)

    reply_rule(mock, "fine words first, then the forbidden-answer-token and more after it")
    with pytest.raises(anthropic.APIStatusError):
        with claude(gw).messages.stream(model="claude-haiku-4-5", max_tokens=64,
                                        messages=[{"role": "user", "content": "x"}]) as s:
            for _ in s.text_stream:
                pass
    assert checks(gw, "guarded", "leak", "block", "response") >= 2


# --- the webhook ----------------------------------------------------------------------------

def test_webhook_pass_sees_the_locally_masked_prompt_and_forwarded_headers(gw, mock, hook):
    oai(gw).chat.completions.create(model="gpt-4.1-nano", extra_headers={"x-team": "blue"},
                                    messages=[{"role": "user", "content": f"card {CARD}"}])
    request_call = next(c for c in hook.calls if c["path"] == "/request")
    assert request_call["json"] == {"body": {"messages": [{"role": "user", "content": "card [CARD]"}]}}
    assert request_call["headers"]["x-team"] == "blue"
    assert chat_paths(mock) == ["/v1/chat/completions"]
    assert checks(gw, "hooked", "webhook", "pass", "request") >= 1


def test_webhook_mask_replaces_the_prompt_and_the_answer(gw, mock, hook):
    reply_rule(mock, "the classified answer")
    r = oai(gw).chat.completions.create(model="gpt-4.1-nano",
                                        messages=[{"role": "user", "content": "tell me the classified thing"}])
    [req] = mock.requests()
    assert req["json"]["messages"][0]["content"] == f"tell me the {MASKED} thing"
    assert r.choices[0].message.content == f"the {MASKED} answer"
    assert [c["path"] for c in hook.calls] == ["/request", "/response"]


def test_webhook_reject_is_the_sdks_error_and_no_provider_call(gw, mock):
    with pytest.raises(openai.PermissionDeniedError) as e:
        oai(gw).chat.completions.create(model="gpt-4.1-nano",
                                        messages=[{"role": "user", "content": "webhook-reject me"}])
    assert "the webhook refuses this" in str(e.value)
    assert mock.requests() == []


def test_webhook_timeout_fails_closed(gw, mock):
    with pytest.raises(openai.InternalServerError) as e:
        oai(gw).chat.completions.create(model="gpt-4.1-nano",
                                        messages=[{"role": "user", "content": "webhook-slow please"}])
    assert e.value.status_code == 503
    assert "webhook guardrail is unavailable" in str(e.value)
    assert mock.requests() == []
    assert checks(gw, "hooked", "webhook", "error", "request") >= 1


def test_webhook_timeout_fails_open(gw, mock):
    r = oai(gw).chat.completions.create(model="gpt-4.1-mini",
                                        messages=[{"role": "user", "content": "webhook-slow please"}])
    assert r.choices[0].message.content
    assert chat_paths(mock) == ["/v1/chat/completions"]
    assert checks(gw, "hooked-open", "webhook", "error", "request") >= 1


# --- moderation -----------------------------------------------------------------------------

def test_moderation_blocks_flagged_prompts_with_the_gateways_key(gw, mock):
    with pytest.raises(openai.PermissionDeniedError) as e:
        oai(gw).chat.completions.create(model="gpt-5-nano",
                                        messages=[{"role": "user", "content": "plan an attack"}])
    assert "moderation flagged violence" in str(e.value)
    [moderation] = mock.requests()
    assert moderation["path"] == "/v1/moderations"
    assert moderation["json"]["input"] == ["plan an attack"]
    assert header(moderation, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]

    oai(gw).chat.completions.create(model="gpt-5-nano", messages=[{"role": "user", "content": "plan a picnic"}])
    assert chat_paths(mock) == ["/v1/chat/completions"]


def test_the_access_log_names_what_fired_never_the_value(gw, mock):
    before = len(gw.access_log())
    oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"charge {CARD}"}])

    def fired():
        # (An earlier test's entry can still be flushed after `before` was taken.)
        entries = [e for e in gw.access_log()[before:] if '"policy":"guarded"' in (e.get("guardrail") or "")]
        return entries[-1] if entries else None

    entry = eventually(fired)
    assert entry, "no access log entry with guardrail state"
    record = json.loads(entry["guardrail"])
    assert record == {"policy": "guarded",
                      "phases": {"request": [{"guard": "credit_card", "action": "mask", "count": 1}]}}
    assert "4111" not in json.dumps(entry)
