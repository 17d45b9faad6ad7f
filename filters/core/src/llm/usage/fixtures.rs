//! Usage fixtures: every format × JSON and SSE × every token type, written as each provider
//! sends them (field names and where each count lives, per the providers' API references), the
//! expected counts derived from the provider's own rules, not from the parser. Streams are
//! re-read split at every byte.

use super::*;

/// One answer's counts as a provider's bill reads: plain (uncached) input, cache reads and
/// writes, visible output, reasoning.
#[derive(Debug, Clone, Copy)]
struct Bill {
    plain_input: u64,
    cache_read: u64,
    cache_write: u64,
    visible_output: u64,
    reasoning: u64,
}

impl Bill {
    /// Our one type: input counts every prompt token, output includes reasoning.
    fn expected(self, with_write: bool, with_reasoning: bool) -> Usage {
        let write = if with_write { self.cache_write } else { 0 };
        let reasoning = if with_reasoning { self.reasoning } else { 0 };
        Usage {
            input: self.plain_input + self.cache_read + write,
            output: self.visible_output + reasoning,
            cache_read: self.cache_read,
            cache_write: write,
            reasoning,
        }
    }
}

const BILLS: [Bill; 12] = [
    Bill { plain_input: 12, cache_read: 0, cache_write: 0, visible_output: 5, reasoning: 0 },
    Bill { plain_input: 12, cache_read: 4, cache_write: 0, visible_output: 5, reasoning: 0 },
    Bill { plain_input: 12, cache_read: 0, cache_write: 3, visible_output: 5, reasoning: 0 },
    Bill { plain_input: 12, cache_read: 0, cache_write: 0, visible_output: 5, reasoning: 2 },
    Bill { plain_input: 120, cache_read: 40, cache_write: 30, visible_output: 50, reasoning: 20 },
    Bill { plain_input: 1, cache_read: 0, cache_write: 0, visible_output: 0, reasoning: 0 },
    Bill { plain_input: 0, cache_read: 2048, cache_write: 0, visible_output: 1, reasoning: 0 },
    Bill { plain_input: 7, cache_read: 0, cache_write: 1024, visible_output: 300, reasoning: 0 },
    Bill { plain_input: 3, cache_read: 0, cache_write: 0, visible_output: 0, reasoning: 4096 },
    Bill {
        plain_input: 200_000,
        cache_read: 100_000,
        cache_write: 50_000,
        visible_output: 8192,
        reasoning: 32_768,
    },
    Bill { plain_input: 9, cache_read: 9, cache_write: 9, visible_output: 9, reasoning: 9 },
    Bill { plain_input: 4_000_000_000, cache_read: 1, cache_write: 1, visible_output: 1, reasoning: 1 },
];

fn sse(api: WireApi, stream: &str) -> Option<Usage> {
    super::tests::stream(api, stream.as_bytes())
}

fn openai_usage(b: Bill) -> String {
    // Cached tokens are part of prompt_tokens; reasoning part of completion_tokens. No cache writes.
    let prompt = b.plain_input + b.cache_read;
    let completion = b.visible_output + b.reasoning;
    format!(
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":{},"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":{},"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
        prompt + completion,
        b.cache_read,
        b.reasoning
    )
}

fn anthropic_usage(b: Bill, output: u64) -> String {
    // input_tokens leaves cache reads and writes out; thinking is billed inside output_tokens.
    format!(
        r#"{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"output_tokens":{output},"service_tier":"standard"}}"#,
        b.plain_input, b.cache_write, b.cache_read
    )
}

fn gemini_usage(b: Bill, visible: u64) -> String {
    // promptTokenCount includes cached content; thoughts are counted apart from candidates.
    let prompt = b.plain_input + b.cache_read;
    format!(
        r#"{{"promptTokenCount":{prompt},"candidatesTokenCount":{visible},"cachedContentTokenCount":{},"thoughtsTokenCount":{},"totalTokenCount":{}}}"#,
        b.cache_read,
        b.reasoning,
        prompt + visible + b.reasoning
    )
}

#[test]
fn every_format_json_and_stream_counts_what_the_provider_billed() {
    let mut fixtures = 0;
    for b in BILLS {
        // OpenAI chat: JSON, and a stream whose final chunk carries usage.
        let json = format!(
            r#"{{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{{"index":0,"message":{{"role":"assistant","content":"usage"}},"finish_reason":"stop"}}],"usage":{}}}"#,
            openai_usage(b)
        );
        let no_writes = Bill { cache_write: 0, ..b };
        let want = no_writes.expected(false, true);
        assert_eq!(read_json(WireApi::OpenAiChat, json.as_bytes()).usage, Some(want), "{json}");
        let stream = format!(
            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"\\\"usage\\\": {{\"}}}}],\"usage\":null}}\n\n\
data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\"usage\":null}}\n\n\
data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{}}}\n\ndata: [DONE]\n\n",
            openai_usage(b)
        );
        assert_eq!(sse(WireApi::OpenAiChat, &stream), Some(want));
        // OpenAI embeddings: prompt tokens only.
        let embed = format!(
            r#"{{"object":"list","data":[{{"object":"embedding","index":0,"embedding":[0.1]}}],"model":"text-embedding-3-small","usage":{{"prompt_tokens":{},"total_tokens":{}}}}}"#,
            b.plain_input, b.plain_input
        );
        let want_embed = Usage { input: b.plain_input, ..Usage::default() };
        assert_eq!(read_json(WireApi::OpenAiEmbeddings, embed.as_bytes()).usage, Some(want_embed));
        // Anthropic: JSON; a stream with the input in message_start and a running output
        // total in message_delta; a stream whose message_delta repeats every count (newer API).
        let total_output = b.visible_output + b.reasoning;
        let json = format!(
            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"hi"}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{}}}"#,
            anthropic_usage(b, total_output)
        );
        // Anthropic reports thinking inside output_tokens, without a separate count.
        let want = Usage { reasoning: 0, ..b.expected(true, true) };
        assert_eq!(read_json(WireApi::AnthropicMessages, json.as_bytes()).usage, Some(want), "{json}");
        let start = format!(
            "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{}}}}}\n\n\
event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"usage: {{\"}}}}\n\n\
event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n",
            anthropic_usage(b, 1)
        );
        let running = format!(
            "{start}event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{{\"output_tokens\":{}}}}}\n\n\
event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{{\"output_tokens\":{total_output}}}}}\n\n\
event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
            total_output / 2
        );
        assert_eq!(sse(WireApi::AnthropicMessages, &running), Some(want));
        let repeated = format!(
            "{start}event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{}}}\n\n\
event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
            anthropic_usage(b, total_output)
        );
        assert_eq!(sse(WireApi::AnthropicMessages, &repeated), Some(want));
        // Gemini: JSON; a stream whose every chunk carries the running usage (the last is
        // final), with LF and with CRLF line ends.
        let json = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"hi"}}],"role":"model"}},"finishReason":"STOP","index":0}}],"usageMetadata":{},"modelVersion":"gemini-2.5-flash","responseId":"r"}}"#,
            gemini_usage(b, b.visible_output)
        );
        let want = Bill { cache_write: 0, ..b }.expected(false, true);
        assert_eq!(read_json(WireApi::GeminiGenerate, json.as_bytes()).usage, Some(want), "{json}");
        for eol in ["\n", "\r\n"] {
            let stream = format!(
                "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"a\"}}],\"role\":\"model\"}},\"index\":0}}],\"usageMetadata\":{}}}{eol}{eol}\
data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"b\"}}],\"role\":\"model\"}},\"finishReason\":\"STOP\",\"index\":0}}],\"usageMetadata\":{}}}{eol}{eol}",
                gemini_usage(b, b.visible_output / 2),
                gemini_usage(b, b.visible_output)
            );
            assert_eq!(sse(WireApi::GeminiGenerate, &stream), Some(want));
        }
        fixtures += 10;
    }
    assert!(fixtures >= 100, "{fixtures}");
}
