use super::*;
use crate::prompt::guard::GuardConfig;
use serde_json::json;

fn guards(json: Value) -> Guards {
    let configs: Vec<GuardConfig> = serde_json::from_value(json).unwrap();
    Guards::compile(configs, "guards").unwrap()
}

fn masking() -> Guards {
    guards(json!([
        {"detector": "email", "action": "mask"},
        {"detector": "openai_key", "action": "mask"},
        {"detector": "us_ssn", "action": "block"},
    ]))
}

fn sse(events: &[(Option<&str>, Value)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in events {
        write_event(&mut out, *name, data.to_string().as_bytes());
    }
    out
}

/// Runs `input` through a guarded stream cut into `pieces`.
fn run(api: WireApi, g: &Guards, pieces: &[&[u8]]) -> (Vec<u8>, Report) {
    let mut stream = GuardedStream::new(api, "strict", 1024).unwrap();
    let mut out = Vec::new();
    for piece in pieces {
        stream.push(g, piece, &mut out).unwrap();
    }
    stream.finish(g, &mut out);
    (out, stream.report().clone())
}

/// Every event of an SSE byte stream: (name, data).
fn events_of(bytes: &[u8]) -> Vec<(Option<String>, String)> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut push = |e: SseEvent<'_>| {
        events.push((e.event_name().map(str::to_string), String::from_utf8_lossy(&e.data).into_owned()))
    };
    parser.feed(bytes, &mut push).unwrap();
    parser.finish(&mut push);
    events
}

/// The answer text of a stream (every format), and of its tool-call arguments.
fn texts(api: WireApi, bytes: &[u8]) -> (String, String) {
    let (mut text, mut args) = (String::new(), String::new());
    for (_, data) in events_of(bytes) {
        let Ok(v) = serde_json::from_str::<Value>(&data) else { continue };
        match api {
            WireApi::OpenAiChat => {
                for c in v["choices"].as_array().into_iter().flatten() {
                    text.push_str(c["delta"]["content"].as_str().unwrap_or_default());
                    for t in c["delta"]["tool_calls"].as_array().into_iter().flatten() {
                        args.push_str(t["function"]["arguments"].as_str().unwrap_or_default());
                    }
                }
            }
            WireApi::AnthropicMessages => {
                text.push_str(v["delta"]["text"].as_str().unwrap_or_default());
                args.push_str(v["delta"]["partial_json"].as_str().unwrap_or_default());
            }
            WireApi::GeminiGenerate => {
                for c in v["candidates"].as_array().into_iter().flatten() {
                    for p in c["content"]["parts"].as_array().into_iter().flatten() {
                        text.push_str(p["text"].as_str().unwrap_or_default());
                    }
                }
            }
            WireApi::BedrockConverse => {
                text.push_str(v["delta"]["text"].as_str().unwrap_or_default());
                args.push_str(v["delta"]["toolUse"]["input"].as_str().unwrap_or_default());
            }
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => {}
        }
    }
    (text, args)
}

/// Every way of cutting `input` in two, and every byte alone.
fn cuts(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all: Vec<Vec<&[u8]>> = (0..=input.len()).map(|at| vec![&input[..at], &input[at..]]).collect();
    all.push(input.chunks(1).collect());
    all
}

/// Cut only at event boundaries: every event its own chunk, and every pair of halves.
fn event_cuts(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let text = std::str::from_utf8(input).unwrap();
    let ends: Vec<usize> = text.match_indices("\n\n").map(|(i, _)| i + 2).collect();
    let mut all = vec![];
    let mut pieces = vec![];
    let mut start = 0;
    for &end in &ends {
        pieces.push(&input[start..end]);
        start = end;
    }
    all.push(pieces);
    for &end in &ends {
        all.push(vec![&input[..end], &input[end..]]);
    }
    all
}

fn openai_chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn openai_stream() -> Vec<u8> {
    let mut out = sse(&[
        (None, openai_chunk(json!({"role": "assistant", "content": ""}), Value::Null)),
        (None, openai_chunk(json!({"content": "Write to jo"}), Value::Null)),
        (None, openai_chunk(json!({"content": "hn.doe@exa"}), Value::Null)),
        (None, openai_chunk(json!({"content": "mple.com, key sk-proj-AbCdEf0123456789"}), Value::Null)),
        (None, openai_chunk(json!({"content": "GhIjKlMnOpQrStUv"}), Value::Null)),
        (None, openai_chunk(json!({}), json!("stop"))),
        (
            None,
            json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
                      "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}}),
        ),
    ]);
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

const MASKED_OPENAI: &str = "Write to [EMAIL], key [SECRET]";

fn check_openai(out: &[u8]) {
    let (text, _) = texts(WireApi::OpenAiChat, out);
    assert_eq!(text, MASKED_OPENAI);
    let raw = String::from_utf8_lossy(out);
    for secret in ["john", "doe@", "example", "sk-proj", "GhIjKl"] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    let events = events_of(out);
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events.iter().filter_map(|(_, d)| serde_json::from_str(d).ok()).collect();
    assert!(chunks.iter().all(|c| c["id"] == "chatcmpl-7" && c["model"] == "gpt-x"), "{raw}");
    assert_eq!(chunks.iter().filter(|c| c["choices"][0]["finish_reason"] == "stop").count(), 1);
    assert!(chunks.iter().any(|c| c["usage"]["total_tokens"] == 14));
    // The finish chunk comes after every text.
    let finish = chunks.iter().position(|c| c["choices"][0]["finish_reason"] == "stop").unwrap();
    assert!(chunks[finish + 1..].iter().all(|c| c["choices"][0]["delta"]["content"].is_null()));
}

#[test]
fn openai_text_split_across_events_is_masked_at_every_cut() {
    let g = masking();
    let input = openai_stream();
    for pieces in cuts(&input).iter().chain(event_cuts(&input).iter()) {
        let (out, report) = run(WireApi::OpenAiChat, &g, pieces);
        check_openai(&out);
        assert_eq!(report.fired.len(), 2, "{report:?}");
    }
}

#[test]
fn unchanged_events_pass_byte_for_byte() {
    // (Text ending inside a word would wait for the next event: the word could still grow
    // into an address or a key.)
    let g = masking();
    let input = sse(&[
        (None, openai_chunk(json!({"content": "nothing to see! "}), Value::Null)),
        (None, openai_chunk(json!({}), json!("stop"))),
    ]);
    let (out, report) = run(WireApi::OpenAiChat, &g, &[&input]);
    assert_eq!(out, input);
    assert!(report.is_empty());
}

#[test]
fn openai_tool_call_arguments_are_masked() {
    let g = masking();
    let call = |args: &str, first: bool| {
        let mut tc = json!({"index": 0, "function": {"arguments": args}});
        if first {
            tc["id"] = json!("call_1");
            tc["type"] = json!("function");
            tc["function"]["name"] = json!("send");
        }
        openai_chunk(json!({"tool_calls": [tc]}), Value::Null)
    };
    let input = sse(&[
        (None, call("", true)),
        (None, call("{\"to\": \"ann@exam", false)),
        (None, call("ple.org\"}", false)),
        (None, openai_chunk(json!({}), json!("tool_calls"))),
    ]);
    for pieces in cuts(&input) {
        let (out, _) = run(WireApi::OpenAiChat, &g, &pieces);
        let (_, args) = texts(WireApi::OpenAiChat, &out);
        assert_eq!(args, "{\"to\": \"[EMAIL]\"}");
        let raw = String::from_utf8_lossy(&out);
        assert_eq!(raw.matches("\"name\":\"send\"").count(), 1, "the call starts once: {raw}");
    }
}

fn anthropic_stream() -> Vec<u8> {
    let delta = |text: &str| {
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        )
    };
    sse(&[
        (
            Some("message_start"),
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-x", "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        delta("Mail jo"),
        delta("hn.doe@example.c"),
        delta("om today"),
        (Some("content_block_stop"), json!({"type": "content_block_stop", "index": 0})),
        (
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ),
        (Some("message_stop"), json!({"type": "message_stop"})),
    ])
}

#[test]
fn anthropic_text_split_across_events_is_masked_at_every_cut() {
    let g = masking();
    let input = anthropic_stream();
    for pieces in cuts(&input).iter().chain(event_cuts(&input).iter()) {
        let (out, _) = run(WireApi::AnthropicMessages, &g, pieces);
        let (text, _) = texts(WireApi::AnthropicMessages, &out);
        assert_eq!(text, "Mail [EMAIL] today");
        let names: Vec<String> = events_of(&out).into_iter().filter_map(|(n, _)| n).collect();
        let raw = String::from_utf8_lossy(&out);
        assert!(!raw.contains("john") && !raw.contains("example"), "{raw}");
        // Framing intact: start, block, deltas, stop, message end, in order.
        assert_eq!(names.first().map(String::as_str), Some("message_start"));
        let stop = names.iter().position(|n| n == "content_block_stop").unwrap();
        assert!(names[..stop].iter().all(|n| n != "message_delta"));
        assert!(
            names[stop + 1..].iter().all(|n| n != "content_block_delta"),
            "text after its block ended: {names:?}"
        );
        assert_eq!(names.last().map(String::as_str), Some("message_stop"));
        assert!(raw.contains("\"output_tokens\":7"));
    }
}

fn gemini_chunk(text: &str, finish: bool) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
    let mut chunk = json!({"modelVersion": "gemini-x", "responseId": "r-1"});
    if finish {
        candidate["finishReason"] = json!("STOP");
        chunk["usageMetadata"] =
            json!({"promptTokenCount": 4, "candidatesTokenCount": 6, "totalTokenCount": 10});
    }
    chunk["candidates"] = json!([candidate]);
    chunk
}

#[test]
fn gemini_text_split_across_events_is_masked_at_every_cut() {
    let g = masking();
    let input = sse(&[
        (None, gemini_chunk("Reach jo", false)),
        (None, gemini_chunk("hn.doe@examp", false)),
        (None, gemini_chunk("le.com", true)),
    ]);
    for pieces in cuts(&input).iter().chain(event_cuts(&input).iter()) {
        let (out, _) = run(WireApi::GeminiGenerate, &g, pieces);
        let (text, _) = texts(WireApi::GeminiGenerate, &out);
        assert_eq!(text, "Reach [EMAIL]");
        let raw = String::from_utf8_lossy(&out);
        assert!(!raw.contains("john") && !raw.contains("examp"), "{raw}");
        let chunks: Vec<Value> =
            events_of(&out).iter().map(|(_, d)| serde_json::from_str(d).unwrap()).collect();
        assert!(chunks.iter().all(|c| c["responseId"] == "r-1"));
        let last = chunks.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 10);
    }
}

#[test]
fn bedrock_text_and_tool_input_split_across_events_are_masked_at_every_cut() {
    let g = masking();
    let delta = |block: u32, delta: Value| {
        (Some("contentBlockDelta"), json!({"contentBlockIndex": block, "delta": delta}))
    };
    let input = sse(&[
        (Some("messageStart"), json!({"role": "assistant"})),
        delta(0, json!({"text": "Reach jo"})),
        delta(0, json!({"text": "hn.doe@examp"})),
        delta(0, json!({"text": "le.com"})),
        (Some("contentBlockStop"), json!({"contentBlockIndex": 0})),
        (
            Some("contentBlockStart"),
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "send"}}}),
        ),
        delta(1, json!({"toolUse": {"input": "{\"to\":\"bo@exa"}})),
        delta(1, json!({"toolUse": {"input": "mple.net\"}"}})),
        (Some("contentBlockStop"), json!({"contentBlockIndex": 1})),
        (Some("messageStop"), json!({"stopReason": "tool_use"})),
        (Some("metadata"), json!({"usage": {"inputTokens": 4, "outputTokens": 6, "totalTokens": 10}})),
    ]);
    for pieces in cuts(&input).iter().chain(event_cuts(&input).iter()) {
        let (out, _) = run(WireApi::BedrockConverse, &g, pieces);
        let (text, args) = texts(WireApi::BedrockConverse, &out);
        assert_eq!(text, "Reach [EMAIL]");
        assert_eq!(args, "{\"to\":\"[EMAIL]\"}");
        let raw = String::from_utf8_lossy(&out);
        assert!(!raw.contains("john") && !raw.contains("bo@"), "{raw}");
        let names: Vec<Option<String>> = events_of(&out).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.last().cloned().flatten().as_deref(), Some("metadata"));
    }
}

#[test]
fn gemini_function_call_arguments_are_masked_whole() {
    let g = masking();
    let chunk = json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "send", "args": {"to": ["bo@example.net"]}}}]}, "finishReason": "STOP", "index": 0}]});
    let (out, _) = run(WireApi::GeminiGenerate, &g, &[&sse(&[(None, chunk)])]);
    let raw = String::from_utf8_lossy(&out);
    assert!(raw.contains("[EMAIL]") && !raw.contains("bo@example.net"), "{raw}");
}

#[test]
fn a_block_ends_the_stream_with_an_error_event_and_nothing_after() {
    let g = masking();
    for api in [WireApi::OpenAiChat, WireApi::AnthropicMessages, WireApi::GeminiGenerate] {
        let input = match api {
            WireApi::OpenAiChat => sse(&[
                (None, openai_chunk(json!({"content": "ssn 123-4"}), Value::Null)),
                (None, openai_chunk(json!({"content": "5-6789 ok"}), Value::Null)),
                (None, openai_chunk(json!({"content": " more"}), json!("stop"))),
            ]),
            WireApi::AnthropicMessages => sse(&[
                (
                    Some("content_block_delta"),
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ssn 123-4"}}),
                ),
                (
                    Some("content_block_delta"),
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "5-6789 ok"}}),
                ),
                (Some("message_stop"), json!({"type": "message_stop"})),
            ]),
            _ => sse(&[(None, gemini_chunk("ssn 123-4", false)), (None, gemini_chunk("5-6789 ok", true))]),
        };
        for pieces in cuts(&input) {
            let (out, report) = run(api, &g, &pieces);
            let raw = String::from_utf8_lossy(&out);
            assert!(!raw.contains("6789") && !raw.contains("123-4"), "{api:?} {raw}");
            let events = events_of(&out);
            let (name, data) = events.last().unwrap();
            assert!(data.contains("response blocked by policy `strict`: guard `us_ssn`"), "{api:?} {raw}");
            assert_eq!(name.as_deref(), (api == WireApi::AnthropicMessages).then_some("error"));
            assert_eq!(report.blocked_by.as_deref(), Some("us_ssn"));
            assert!(!raw.contains(" more") && !raw.contains("message_stop"), "{raw}");
        }
    }
}

#[test]
fn held_text_is_bounded_by_the_cap() {
    let g = guards(json!([{"patterns": ["x{2000}"], "action": "mask"}]));
    let mut stream = GuardedStream::new(WireApi::OpenAiChat, "p", 64).unwrap();
    let mut out = Vec::new();
    for _ in 0..50 {
        let chunk = sse(&[(None, openai_chunk(json!({"content": "abcdefghij"}), Value::Null))]);
        stream.push(&g, &chunk, &mut out).unwrap();
        assert!(stream.held() <= 64, "{}", stream.held());
    }
}

#[test]
fn non_json_events_pass_and_done_releases_what_is_held() {
    let g = masking();
    let mut input = sse(&[(None, openai_chunk(json!({"content": "end with mail a@b.co"}), Value::Null))]);
    input.extend_from_slice(b": keep-alive\n\ndata: [DONE]\n\n");
    let (out, _) = run(WireApi::OpenAiChat, &g, &[&input]);
    let (text, _) = texts(WireApi::OpenAiChat, &out);
    assert_eq!(text, "end with mail [EMAIL]");
    assert!(String::from_utf8_lossy(&out).ends_with("data: [DONE]\n\n"));
}
