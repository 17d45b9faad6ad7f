"""Usage through real Envoy with the official SDKs: every token type, cost, latency metrics and
the access log; the tokenizer's count for a stream cut off; `maxPromptTokens`; a token budget
shared by concurrent clients.

The mock reports cache and reasoning tokens on request (`x-mock-cache-read-tokens`, …), each in
its provider's own fields: OpenAI's `cached_tokens` / `reasoning_tokens`, Anthropic's
`cache_read_input_tokens` / `cache_creation_input_tokens`, Gemini's `cachedContentTokenCount` /
`thoughtsTokenCount`.
"""
import concurrent.futures
import json
import time

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from helpers import eventually, histogram_count_at_least, metric_value

BUDGET = 10_000
RESERVE = 64
USAGE = {
    "prices": {"currency": "USD", "models": [
        {"model": "gpt-4o-mini*", "input": 0.15, "output": 0.6, "cacheRead": 0.075},
        {"model": "claude-*", "input": 3.0, "output": 15.0, "cacheRead": 0.3, "cacheWrite": 3.75},
        {"model": "gemini-*", "input": 0.3, "output": 2.5, "cacheRead": 0.075},
    ]},
    "limits": [{"model": "gpt-4.1-mini", "maxPromptTokens": 40}],
    "budgets": [
        {"name": "shared", "model": "gpt-4.1-nano", "per": "global", "tokens": BUDGET, "window": "3600s",
         "reserve": RESERVE},
        {"name": "resets", "model": "gpt-5-nano", "per": "global", "tokens": 300, "window": "4s", "reserve": 100},
    ],
}


@pytest.fixture(scope="module")
def gw(mock):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.usage", USAGE)
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), env=PROVIDER_KEYS) as envoy:
        yield envoy


def oai(gw):
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def usage_records(gw):
    return [json.loads(e["usage"]) for e in gw.access_log() if e.get("usage") not in (None, "", "-")]


def logged(gw, since, count):
    """The `count` usage records logged after the first `since` (Envoy writes them on its own
    schedule)."""
    records = eventually(lambda: (r := usage_records(gw)[since:]) and len(r) >= count and r)
    assert records and len(records) == count, records
    return records


def tokens(gw, model, token_type, **labels):
    return metric_value(gw, "portcullis_tokens_total",
                        {"gen_ai_request_model": model, "gen_ai_token_type": token_type, **labels})


def test_openai_cached_and_reasoning_tokens_json_and_stream(gw, mock):
    mark = len(usage_records(gw))
    extra = {"x-mock-cache-read-tokens": "3", "x-mock-reasoning-tokens": "5"}
    before = {t: tokens(gw, "gpt-4o-mini", t) for t in ("input", "output", "cache_read", "reasoning")}
    r = oai(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "count every type"}],
                                        extra_headers=extra)
    assert r.usage.prompt_tokens_details.cached_tokens == 3
    assert r.usage.completion_tokens_details.reasoning_tokens == 5
    stream = oai(gw).chat.completions.create(model="gpt-4o-mini", stream=True,
                                             messages=[{"role": "user", "content": "and streamed"}], extra_headers=extra)
    chunks = list(stream)
    assert all(c.usage is None for c in chunks), "the gateway asked for usage; the client did not"
    [rec_json, rec_stream] = logged(gw, mark, 2)
    assert rec_json["inputTokens"] == r.usage.prompt_tokens
    assert rec_json["outputTokens"] == r.usage.completion_tokens
    assert (rec_json["cacheReadTokens"], rec_json["reasoningTokens"]) == (3, 5)
    assert (rec_stream["cacheReadTokens"], rec_stream["reasoningTokens"]) == (3, 5)
    assert rec_json["estimated"] is False and rec_stream["estimated"] is False
    # Priced per type: cached input at 0.075, the rest at 0.15; output (reasoning included) at 0.6.
    expected = ((r.usage.prompt_tokens - 3) * 0.15 + 3 * 0.075 + r.usage.completion_tokens * 0.6) / 1e6
    assert rec_json["cost"] == pytest.approx(expected, abs=1e-6) and rec_json["currency"] == "USD"
    assert rec_stream["ttftMs"] >= 0 and rec_stream["durationMs"] >= rec_stream["ttftMs"]
    assert rec_json["responseModel"] == "gpt-4o-mini"
    total_in = r.usage.prompt_tokens + rec_stream["inputTokens"]
    assert tokens(gw, "gpt-4o-mini", "input") - before["input"] == total_in
    assert tokens(gw, "gpt-4o-mini", "cache_read") - before["cache_read"] == 6
    assert tokens(gw, "gpt-4o-mini", "reasoning") - before["reasoning"] == 10
    semconv = metric_value(gw, "gen_ai_client_inference_usage_reasoning_output_tokens",
                           {"gen_ai_request_model": "gpt-4o-mini", "gen_ai_operation_name": "chat",
                            "gen_ai_token_modality": "unknown"})
    assert semconv >= 10
    assert metric_value(gw, "portcullis_cost_micros_total", {"gen_ai_request_model": "gpt-4o-mini", "currency": "USD"}) > 0
    assert histogram_count_at_least(gw, "gen_ai_server_time_to_first_token", {"gen_ai_request_model": "gpt-4o-mini"}, 1) >= 1
    assert histogram_count_at_least(gw, "gen_ai_client_operation_duration",
                                    {"gen_ai_request_model": "gpt-4o-mini", "error_type": "none", "route": "gpt-*"}, 2) >= 2
    assert metric_value(gw, "portcullis_requests_total", {"gen_ai_request_model": "gpt-4o-mini", "status": "200"}) >= 2
    # The conventions' buckets, in milliseconds.
    assert 'le="81920"' in gw.prometheus()


def test_anthropic_cache_read_and_write(gw, mock):
    mark = len(usage_records(gw))
    client = anthropic.Anthropic(base_url=gw.url, api_key=CLIENT_KEY, max_retries=0)
    extra = {"x-mock-cache-read-tokens": "20", "x-mock-cache-write-tokens": "7"}
    m = client.messages.create(model="claude-haiku-4-5", max_tokens=64, extra_headers=extra,
                               messages=[{"role": "user", "content": "cache me"}])
    assert (m.usage.cache_read_input_tokens, m.usage.cache_creation_input_tokens) == (20, 7)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=64, extra_headers=extra,
                                messages=[{"role": "user", "content": "cache me, streamed"}]) as s:
        final = s.get_final_message()
    [rec_json, rec_stream] = logged(gw, mark, 2)
    for rec, msg in ((rec_json, m), (rec_stream, final)):
        # Our input counts every prompt token: Anthropic's uncached input plus reads and writes.
        assert rec["inputTokens"] == msg.usage.input_tokens + 27
        assert (rec["cacheReadTokens"], rec["cacheWriteTokens"]) == (20, 7)
        assert rec["outputTokens"] == msg.usage.output_tokens
    expected = (m.usage.input_tokens * 3.0 + 20 * 0.3 + 7 * 3.75 + m.usage.output_tokens * 15.0) / 1e6
    assert rec_json["cost"] == pytest.approx(expected, abs=1e-6)
    assert tokens(gw, "claude-haiku-4-5", "cache_write") >= 14


def test_gemini_thoughts_are_output_and_reasoning(gw, mock):
    mark = len(usage_records(gw))
    client = genai.Client(api_key=CLIENT_KEY, http_options=genai_types.HttpOptions(
        base_url=gw.url, headers={"x-mock-reasoning-tokens": "9", "x-mock-cache-read-tokens": "2"}))
    r = client.models.generate_content(model="gemini-2.5-flash", contents="think first")
    assert r.usage_metadata.thoughts_token_count == 9
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="think, streamed"))
    assert chunks[-1].usage_metadata.thoughts_token_count == 9
    [rec_json, rec_stream] = logged(gw, mark, 2)
    for rec in (rec_json, rec_stream):
        assert rec["reasoningTokens"] == 9 and rec["cacheReadTokens"] == 2
    assert rec_json["outputTokens"] == r.usage_metadata.candidates_token_count + 9
    assert metric_value(gw, "portcullis_tokens_total", {"gen_ai_request_model": "gemini-2.5-flash",
                                                        "gen_ai_operation_name": "generate_content",
                                                        "gen_ai_token_type": "reasoning"}) >= 18


def test_a_stream_cut_off_is_counted_by_the_tokenizer_as_estimated(gw, mock):
    mark = len(usage_records(gw))
    stream = oai(gw).chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "this answer will be cut"}],
        extra_headers={"x-mock-truncate": "3"})
    with pytest.raises(Exception):
        list(stream)
    [rec] = logged(gw, mark, 1)
    assert rec["estimated"] is True
    assert rec["inputTokens"] > 0 and rec["outputTokens"] > 0
    assert metric_value(gw, "portcullis_tokens_total", {"gen_ai_request_model": "gpt-4o-mini", "estimated": "true",
                                                        "gen_ai_token_type": "output"}) >= rec["outputTokens"]
    assert metric_value(gw, "portcullis_requests_total", {"gen_ai_request_model": "gpt-4o-mini",
                                                          "error_type": "stream_cut"}) >= 1


def test_max_prompt_tokens_refuses_before_any_upstream_call(gw, mock):
    with pytest.raises(openai.BadRequestError) as e:
        oai(gw).chat.completions.create(model="gpt-4.1-mini",
                                        messages=[{"role": "user", "content": "word " * 60}])
    assert "over this route's limit of 40 prompt tokens" in e.value.message
    assert mock.requests() == []
    ok = oai(gw).chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "short"}])
    assert ok.choices[0].message.content
    assert metric_value(gw, "portcullis_usage_refusals_total", {"reason": "prompt_tokens"}) >= 1


def test_eight_concurrent_clients_share_one_budget_within_the_bound(gw, mock):
    """Every request sets `max_tokens`, so its estimate (body bytes / 3 + max_tokens) covers
    what the provider reports: the budget is never overshot (bound 0 here; without
    `max_tokens` the bound is what answers use beyond `reserve`)."""
    client = oai(gw)
    admitted, refused, used = [], [], []

    def one(i):
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4.1-nano", max_tokens=40,
                messages=[{"role": "user", "content": f"client {i} asks a question of about twenty words " * 3}])
            r = raw.parse()
            admitted.append(raw.headers)
            used.append(r.usage.total_tokens)
        except openai.RateLimitError as e:
            refused.append(e)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(300)))  # ≈ 14,000 tokens asked for: more than the budget
    assert refused and admitted
    assert sum(used) <= BUDGET, f"{sum(used)} tokens admitted against {BUDGET}"
    # The refusals leave little unused: at most one request's estimate per client in flight.
    assert sum(used) >= BUDGET * 0.6
    e = refused[0]
    assert e.status_code == 429 and e.body["type"] == "rate_limit_exceeded"
    assert "budget `shared` exceeded" in e.message
    h = e.response.headers
    assert h["x-ratelimit-limit-tokens"] == str(BUDGET)
    assert int(h["x-ratelimit-remaining-tokens"]) >= 0 and int(h["retry-after"]) >= 1
    assert h["x-ratelimit-reset-tokens"].endswith("s")
    assert all(int(a["x-ratelimit-remaining-tokens"]) <= BUDGET for a in admitted)
    assert len(mock.requests()) == len(admitted)
    assert metric_value(gw, "portcullis_usage_refusals_total", {"reason": "budget", "budget": "shared"}) == len(refused)


def test_the_budget_window_resets(gw, mock):
    """A 300-token budget per 4 s: one long prompt (≈ 135 tokens used, ≈ 280 estimated) fits,
    a second does not until the window ends."""
    client = oai(gw)
    ask = lambda: client.chat.completions.create(model="gpt-5-nano",
                                                 messages=[{"role": "user", "content": "word " * 100}])
    # Start early in a window, so the refusal below is not a window boundary.
    time.sleep(4 - time.time() % 4 + 0.05)
    ask()
    with pytest.raises(openai.RateLimitError) as e:
        ask()
    wait = int(e.value.response.headers["retry-after"])
    assert 1 <= wait <= 4
    time.sleep(wait + 0.1)
    assert ask().choices
