use super::*;
use serde_json::json;

const STREAM_APIS: [WireApi; 4] =
    [WireApi::OpenAiChat, WireApi::AnthropicMessages, WireApi::GeminiGenerate, WireApi::BedrockConverse];

fn slots_of(api: WireApi, event: &Value) -> Vec<(TextSlot, String)> {
    let mut body = event.as_object().cloned().unwrap_or_default();
    let mut seen = Vec::new();
    texts_mut(api, &mut body, &mut |slot, text| {
        seen.push((slot, text.clone()));
        false
    });
    seen
}

/// What the view writes, it reads back as the same text of the same slot: the gateway's own
/// events (released held text) are ordinary events of their format.
#[test]
fn a_written_text_event_reads_back_as_its_slot_and_text() {
    let ids = Map::new();
    for api in STREAM_APIS {
        let parts: &[Part] = match api {
            WireApi::OpenAiChat => &[Part::Text, Part::Reasoning, Part::Refusal, Part::Tool(2)],
            WireApi::GeminiGenerate => &[Part::Text],
            _ => &[Part::Text, Part::Reasoning, Part::Tool(0)],
        };
        for &part in parts {
            let slot = TextSlot { group: 3, part };
            let (_, event) = text_event(api, slot, "héllo", &ids).unwrap();
            assert_eq!(slots_of(api, &event), [(slot, "héllo".to_string())], "{api} {part:?}");
            assert_eq!(ends(api, event.as_object().unwrap()), Ends::Nothing, "{api} {part:?}");
        }
    }
    assert!(
        text_event(WireApi::OpenAiEmbeddings, TextSlot { group: 0, part: Part::Text }, "x", &ids).is_none()
    );
}

#[test]
fn each_format_says_which_streams_an_event_ends() {
    let end = |api, v: Value| ends(api, v.as_object().unwrap());
    assert_eq!(
        end(WireApi::OpenAiChat, json!({"choices": [{"index": 1, "finish_reason": "stop"}]})),
        Ends::Group(1)
    );
    assert_eq!(
        end(WireApi::OpenAiChat, json!({"choices": [{"index": 1, "finish_reason": null}]})),
        Ends::Nothing
    );
    assert_eq!(
        end(
            WireApi::OpenAiChat,
            json!({"choices": [{"finish_reason": "stop"}, {"finish_reason": "length"}]})
        ),
        Ends::All
    );
    assert_eq!(
        end(WireApi::AnthropicMessages, json!({"type": "content_block_stop", "index": 2})),
        Ends::Group(2)
    );
    assert_eq!(end(WireApi::AnthropicMessages, json!({"type": "message_delta"})), Ends::All);
    assert_eq!(
        end(WireApi::GeminiGenerate, json!({"candidates": [{"finishReason": "STOP"}]})),
        Ends::Group(0)
    );
    assert_eq!(end(WireApi::BedrockConverse, json!({"contentBlockIndex": 4})), Ends::Group(4));
    assert_eq!(end(WireApi::BedrockConverse, json!({"stopReason": "end_turn"})), Ends::All);
    assert_eq!(
        end(WireApi::BedrockConverse, json!({"contentBlockIndex": 4, "delta": {"text": "x"}})),
        Ends::Nothing
    );
    assert!(is_done_marker(WireApi::OpenAiChat, b" [DONE]\n"));
    assert!(!is_done_marker(WireApi::AnthropicMessages, b"[DONE]"));
}

#[test]
fn every_text_of_a_stream_is_read_in_order_whatever_its_kind() {
    let openai = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think \"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: [DONE]\n\n",
    );
    let gemini = concat!(
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"},",
        "{\"functionCall\":{\"name\":\"f\",\"args\":{\"city\":\"Paris\",\"n\":[\"a\"]}}}]}}]}\n\n",
    );
    let anthropic = concat!(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    );
    let bedrock = "event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{\\\"a\\\"\"}}}\n\n";
    for (api, stream, expected) in [
        (WireApi::OpenAiChat, openai, vec!["think ", "Hi", "{}"]),
        (WireApi::GeminiGenerate, gemini, vec!["Hi", "Paris", "a"]),
        (WireApi::AnthropicMessages, anthropic, vec!["hmm", "Hi"]),
        (WireApi::BedrockConverse, bedrock, vec!["{\"a\""]),
    ] {
        let mut texts = Vec::new();
        texts_of(api, stream.as_bytes(), &mut |t| texts.push(t.to_string()));
        assert_eq!(texts, expected, "{api}");
        // Split anywhere, the stream reads the same (events are whole once parsed).
        for at in 0..stream.len() {
            if !stream.is_char_boundary(at) {
                continue;
            }
            let mut joined = Vec::new();
            let mut parser = SseParser::new(usize::MAX);
            let mut on_event = |event: SseEvent<'_>| {
                let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&event.data) else {
                    return;
                };
                texts_mut(api, &mut body, &mut |_, t| {
                    joined.push(t.clone());
                    false
                });
                whole_texts_mut(api, &mut body, &mut |t| {
                    joined.push(t.clone());
                    false
                });
            };
            parser.feed(&stream.as_bytes()[..at], &mut on_event).unwrap();
            parser.feed(&stream.as_bytes()[at..], &mut on_event).unwrap();
            parser.finish(&mut on_event);
            assert_eq!(joined, expected, "{api} split at {at}");
        }
    }
}
