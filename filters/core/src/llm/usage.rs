//! Token usage as providers report it, in every wire format, JSON and streaming.
//!
//! Providers count tokens exactly; the gateway's own estimate is only a fallback. Each format
//! reports usage differently, and streams report it late (OpenAI in a final chunk when
//! `stream_options.include_usage` is set, Anthropic split over `message_start` and a running
//! total in `message_delta`, Gemini in every chunk with the last one final, Bedrock Converse in a
//! last `metadata` event), so streaming usage
//! is an accumulator fed with events as they pass.

use crate::http::sse::SseEvent;
use crate::llm::api::WireApi;
use crate::llm::wire::{anthropic, bedrock, gemini, openai};
use serde::{Deserialize, Serialize};

/// Token counts of one answer, every type, in terms every API can express. `input` counts every
/// prompt token, cached or not (OpenAI's and Gemini's convention; Anthropic's `input_tokens`
/// leaves cache reads and writes out, and they are added in). `reasoning` is the part of
/// `output` spent thinking (OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`, billed as
/// output). One type for translation, accounting and the access log, so no count is lost
/// between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(rename = "inputTokens")]
    pub input: u64,
    #[serde(rename = "outputTokens")]
    pub output: u64,
    /// The part of `input` read from the provider's prompt cache.
    #[serde(rename = "cacheReadTokens")]
    pub cache_read: u64,
    /// The part of `input` written to it (Anthropic `cache_creation_input_tokens`).
    #[serde(rename = "cacheWriteTokens")]
    pub cache_write: u64,
    #[serde(rename = "reasoningTokens")]
    pub reasoning: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    pub fn from_openai(u: &openai::Usage) -> Self {
        Usage {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cache_read: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            cache_write: 0,
            reasoning: u.completion_tokens_details.map_or(0, |d| d.reasoning_tokens),
        }
    }

    pub fn to_openai(&self) -> openai::Usage {
        openai::Usage {
            prompt_tokens: self.input,
            completion_tokens: self.output,
            total_tokens: self.total(),
            prompt_tokens_details: (self.cache_read > 0)
                .then_some(openai::PromptTokensDetails { cached_tokens: self.cache_read }),
            completion_tokens_details: (self.reasoning > 0)
                .then_some(openai::CompletionTokensDetails { reasoning_tokens: self.reasoning }),
        }
    }

    pub fn from_anthropic(u: &anthropic::Usage) -> Self {
        Usage {
            input: u
                .input_tokens
                .saturating_add(u.cache_creation_input_tokens)
                .saturating_add(u.cache_read_input_tokens),
            output: u.output_tokens,
            cache_read: u.cache_read_input_tokens,
            cache_write: u.cache_creation_input_tokens,
            reasoning: 0,
        }
    }

    pub fn to_anthropic(&self) -> anthropic::Usage {
        anthropic::Usage {
            input_tokens: self.input.saturating_sub(self.cache_read).saturating_sub(self.cache_write),
            cache_creation_input_tokens: self.cache_write,
            cache_read_input_tokens: self.cache_read,
            output_tokens: self.output,
        }
    }

    pub fn from_gemini(u: &gemini::UsageMetadata) -> Self {
        Usage {
            input: u.prompt_token_count,
            // Thinking is billed as output.
            output: u.candidates_token_count.saturating_add(u.thoughts_token_count),
            cache_read: u.cached_content_token_count,
            cache_write: 0,
            reasoning: u.thoughts_token_count,
        }
    }

    /// Converse's `inputTokens`, like Anthropic's, leaves cache reads and writes out.
    pub fn from_bedrock(u: &bedrock::Usage) -> Self {
        let cache_read = u.cache_read_input_tokens.unwrap_or(0);
        let cache_write = u.cache_write_input_tokens.unwrap_or(0);
        Usage {
            input: u.input_tokens.saturating_add(cache_read).saturating_add(cache_write),
            output: u.output_tokens,
            cache_read,
            cache_write,
            reasoning: 0,
        }
    }

    pub fn to_bedrock(&self) -> bedrock::Usage {
        let input = self.input.saturating_sub(self.cache_read).saturating_sub(self.cache_write);
        bedrock::Usage {
            input_tokens: input,
            output_tokens: self.output,
            total_tokens: self.total(),
            cache_read_input_tokens: (self.cache_read > 0).then_some(self.cache_read),
            cache_write_input_tokens: (self.cache_write > 0).then_some(self.cache_write),
        }
    }

    pub fn to_gemini(&self) -> gemini::UsageMetadata {
        gemini::UsageMetadata {
            prompt_token_count: self.input,
            candidates_token_count: self.output.saturating_sub(self.reasoning),
            total_token_count: self.total(),
            cached_content_token_count: self.cache_read,
            thoughts_token_count: self.reasoning,
        }
    }
}

// Each body parsed for its usage only: serde skips every other field. OpenAI and Gemini usage
// objects are the wire types; Anthropic's needs its own view, because `message_delta` carries
// only `output_tokens` and an absent count must not read as 0.
// The model that answered travels with it (`model`, Gemini's `modelVersion`).
#[derive(Deserialize)]
struct OpenAiBody {
    usage: Option<openai::Usage>,
    model: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiBody {
    usage_metadata: Option<gemini::UsageMetadata>,
    model_version: Option<String>,
}

/// A Titan embeddings answer (its vector is skipped, not parsed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanBody {
    input_text_token_count: Option<u64>,
}

/// A Converse response, or a stream's `metadata` event (no model: it is in the request path).
#[derive(Deserialize)]
struct BedrockBody {
    usage: Option<bedrock::Usage>,
}

#[derive(Deserialize)]
struct AnthropicBody {
    usage: Option<AnthropicUsage>,
    model: Option<String>,
    /// `message_start` nests the message.
    message: Option<Box<AnthropicBody>>,
}
#[derive(Deserialize)]
struct AnthropicUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Anthropic's `input_tokens` excludes cache reads and writes; ours includes them.
    fn apply_to(&self, usage: &mut Usage) {
        if let Some(input) = self.input_tokens {
            let read = self.cache_read_input_tokens.unwrap_or(0);
            let write = self.cache_creation_input_tokens.unwrap_or(0);
            usage.input = input.saturating_add(read).saturating_add(write);
            usage.cache_read = read;
            usage.cache_write = write;
        }
        if let Some(output) = self.output_tokens {
            // A running total in `message_delta`: it replaces, never adds.
            usage.output = output;
        }
    }
}

/// What a response says of itself: its usage and the model that answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reported {
    pub usage: Option<Usage>,
    pub model: Option<String>,
}

/// Usage from a complete (non-streaming) response body in `api`'s format.
pub fn from_json(api: WireApi, body: &[u8]) -> Option<Usage> {
    read_json(api, body).usage
}

/// Usage and model from a complete (non-streaming) response body in `api`'s format, in one parse.
pub fn read_json(api: WireApi, body: &[u8]) -> Reported {
    match api {
        WireApi::OpenAiChat | WireApi::OpenAiEmbeddings => match serde_json::from_slice::<OpenAiBody>(body) {
            Ok(b) => Reported { usage: b.usage.as_ref().map(Usage::from_openai), model: b.model },
            Err(_) => Reported::default(),
        },
        WireApi::AnthropicMessages => match serde_json::from_slice::<AnthropicBody>(body) {
            Ok(b) => Reported {
                usage: b.usage.map(|u| {
                    let mut out = Usage::default();
                    u.apply_to(&mut out);
                    out
                }),
                model: b.model,
            },
            Err(_) => Reported::default(),
        },
        WireApi::GeminiGenerate => match serde_json::from_slice::<GeminiBody>(body) {
            Ok(b) => {
                Reported { usage: b.usage_metadata.as_ref().map(Usage::from_gemini), model: b.model_version }
            }
            Err(_) => Reported::default(),
        },
        WireApi::BedrockConverse => match serde_json::from_slice::<BedrockBody>(body) {
            Ok(b) => Reported { usage: b.usage.as_ref().map(Usage::from_bedrock), model: None },
            Err(_) => Reported::default(),
        },
        // Titan's count is in its body; Cohere's only in a header ([`from_bedrock_headers`]).
        WireApi::BedrockEmbeddings => match serde_json::from_slice::<TitanBody>(body) {
            Ok(TitanBody { input_text_token_count: Some(input) }) => {
                Reported { usage: Some(Usage { input, ..Usage::default() }), model: None }
            }
            _ => Reported::default(),
        },
    }
}

/// Usage a Bedrock InvokeModel answer reports in its headers
/// (`x-amzn-bedrock-input-token-count`, `…-output-token-count`): every InvokeModel model's, and
/// Cohere Embed's only count. `header` reads one response header.
pub fn from_bedrock_headers(header: &mut dyn FnMut(&str) -> Option<String>) -> Option<Usage> {
    let mut count = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
    let input = count("x-amzn-bedrock-input-token-count")?;
    let output = count("x-amzn-bedrock-output-token-count").unwrap_or(0);
    Some(Usage { input, output, ..Usage::default() })
}

/// Accumulates usage over a provider's SSE stream.
#[derive(Debug, Clone)]
pub struct StreamUsage {
    api: WireApi,
    usage: Option<Usage>,
    model: Option<String>,
    finder: memchr::memmem::Finder<'static>,
}

impl StreamUsage {
    pub fn new(api: WireApi) -> Self {
        Self { api, usage: None, model: None, finder: memchr::memmem::Finder::new(b"\"usage") }
    }

    /// Whether an event may carry usage: a `"usage…"` key (`usage`, `usageMetadata`) whose
    /// value is an object. Events without one (the vast majority: content deltas, and OpenAI's
    /// `"usage": null` on every chunk of an `include_usage` stream) are skipped unparsed. A
    /// false positive (the text inside a message) only costs a parse.
    fn may_carry_usage(&self, data: &[u8]) -> bool {
        self.finder.find_iter(data).any(|at| {
            let rest = data.get(at.saturating_add(1)..).unwrap_or_default();
            let key_len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            let mut after = rest.get(key_len..).unwrap_or_default().iter().copied();
            after.next() == Some(b'"')
                && after.find(|b| !b.is_ascii_whitespace()) == Some(b':')
                && after.find(|b| !b.is_ascii_whitespace()) == Some(b'{')
        })
    }

    pub fn observe(&mut self, event: &SseEvent<'_>) {
        if !self.may_carry_usage(&event.data) {
            return;
        }
        match self.api {
            WireApi::OpenAiChat | WireApi::OpenAiEmbeddings => {
                if let Ok(OpenAiBody { usage: Some(u), model }) = serde_json::from_slice(&event.data) {
                    self.usage = Some(Usage::from_openai(&u));
                    self.model = model.or(self.model.take());
                }
            }
            WireApi::AnthropicMessages => {
                if let Ok(body) = serde_json::from_slice::<AnthropicBody>(&event.data) {
                    let (usage, model) = match body.message {
                        Some(m) if body.usage.is_none() => (m.usage, m.model),
                        _ => (body.usage, body.model),
                    };
                    if let Some(u) = usage {
                        u.apply_to(self.usage.get_or_insert_with(Usage::default));
                    }
                    self.model = model.or(self.model.take());
                }
            }
            WireApi::GeminiGenerate => {
                if let Ok(GeminiBody { usage_metadata: Some(u), model_version }) =
                    serde_json::from_slice(&event.data)
                {
                    self.usage = Some(Usage::from_gemini(&u));
                    self.model = model_version.or(self.model.take());
                }
            }
            WireApi::BedrockConverse => {
                if let Ok(BedrockBody { usage: Some(u) }) = serde_json::from_slice(&event.data) {
                    self.usage = Some(Usage::from_bedrock(&u));
                }
            }
            WireApi::BedrockEmbeddings => {}
        }
    }

    /// What the provider reported, if it reported anything.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The model the provider said answered (from the events that carry usage).
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }
}

// Test arithmetic on known small counts.
#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::sse::SseParser;

    #[test]
    fn bedrock_embeddings_count_from_body_or_headers() {
        let titan = br#"{"embedding":[0.1,0.2],"inputTextTokenCount":6}"#;
        assert_eq!(from_json(WireApi::BedrockEmbeddings, titan), Some(usage(6, 0, 0)));
        let cohere = br#"{"id":"x","embeddings":[[0.1]],"response_type":"embeddings_floats"}"#;
        assert_eq!(from_json(WireApi::BedrockEmbeddings, cohere), None);
        let headers = |input: Option<&'static str>| {
            move |name: &str| match name {
                "x-amzn-bedrock-input-token-count" => input.map(str::to_string),
                "x-amzn-bedrock-output-token-count" => Some("0".to_string()),
                _ => None,
            }
        };
        assert_eq!(from_bedrock_headers(&mut headers(Some(" 11 "))), Some(usage(11, 0, 0)));
        assert_eq!(from_bedrock_headers(&mut headers(None)), None);
        assert_eq!(from_bedrock_headers(&mut headers(Some("-1"))), None);
        assert_eq!(from_bedrock_headers(&mut headers(Some("99999999999999999999999"))), None);
    }

    #[test]
    fn only_events_with_a_usage_object_are_parsed() {
        let stream = StreamUsage::new(WireApi::OpenAiChat);
        let carries = |data: &str| stream.may_carry_usage(data.as_bytes());
        assert!(carries(r#"{"choices":[],"usage":{"prompt_tokens":1}}"#));
        assert!(carries(r#"{"usage" : 	{"output_tokens":3}}"#));
        assert!(carries(r#"{"candidates":[],"usageMetadata": {"totalTokenCount":4}}"#));
        assert!(carries(r#"{"x":"\"usage","message":{"usage":{"input_tokens":2}}}"#));
        assert!(!carries(r#"{"choices":[{"delta":{"content":"hi"}}],"usage":null}"#));
        assert!(!carries(r#"{"choices":[{"delta":{"content":"\"usage is high\""}}]}"#));
        assert!(!carries(r#"{"usage""#));
        assert!(!carries(""));
    }

    fn usage(input: u64, output: u64, cache_read: u64) -> Usage {
        Usage { input, output, cache_read, ..Usage::default() }
    }

    #[test]
    fn openai_json() {
        let body = br#"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":3}}}"#;
        assert_eq!(from_json(WireApi::OpenAiChat, body), Some(Usage { reasoning: 3, ..usage(12, 5, 4) }));
        let embed = br#"{"data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        assert_eq!(from_json(WireApi::OpenAiEmbeddings, embed), Some(usage(8, 0, 0)));
        assert_eq!(from_json(WireApi::OpenAiChat, b"not json"), None);
        assert_eq!(from_json(WireApi::OpenAiChat, br#"{"usage":null}"#), None);
    }

    #[test]
    fn anthropic_json_counts_cache_as_input() {
        let body = br#"{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":20,"output_tokens":7}}"#;
        assert_eq!(
            from_json(WireApi::AnthropicMessages, body),
            Some(Usage { cache_write: 3, ..usage(33, 7, 20) })
        );
    }

    #[test]
    fn gemini_json_counts_thoughts_as_output() {
        let body = br#"{"candidates":[],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":6,"totalTokenCount":19}}"#;
        assert_eq!(from_json(WireApi::GeminiGenerate, body), Some(Usage { reasoning: 6, ..usage(9, 10, 0) }));
    }

    #[test]
    fn bedrock_json_counts_cache_as_input() {
        let body = br#"{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn","usage":{"inputTokens":8,"outputTokens":1,"totalTokens":1029,"cacheReadInputTokens":0,"cacheWriteInputTokens":1020}}"#;
        assert_eq!(
            from_json(WireApi::BedrockConverse, body),
            Some(Usage { cache_write: 1020, ..usage(1028, 1, 0) })
        );
        let read =
            br#"{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":47,"cacheReadInputTokens":40}}"#;
        assert_eq!(from_json(WireApi::BedrockConverse, read), Some(usage(45, 2, 40)));
        assert_eq!(from_json(WireApi::BedrockConverse, br#"{"output":{}}"#), None);
    }

    #[test]
    fn bedrock_stream_metadata_event() {
        let input = b"event: contentBlockDelta\ndata: {\"contentBlockIndex\":0,\"delta\":{\"text\":\"usage\"}}\n\n\
event: messageStop\ndata: {\"stopReason\":\"end_turn\"}\n\n\
event: metadata\ndata: {\"usage\":{\"inputTokens\":10,\"outputTokens\":5,\"totalTokens\":15},\"metrics\":{\"latencyMs\":100}}\n\n";
        assert_eq!(stream(WireApi::BedrockConverse, input), Some(usage(10, 5, 0)));
    }

    /// Usage of a whole stream, checked to be the same when split at every byte (shared with
    /// the fixtures).
    pub(super) fn stream(api: WireApi, input: &[u8]) -> Option<Usage> {
        let mut parser = SseParser::default();
        let mut acc = StreamUsage::new(api);
        // Split at every offset: usage must not depend on chunking.
        let mut seen = None;
        for cut in 0..=input.len() {
            let mut acc_cut = StreamUsage::new(api);
            let mut p = SseParser::default();
            for part in [&input[..cut], &input[cut..]] {
                p.feed(part, |e| acc_cut.observe(&e)).unwrap();
            }
            p.finish(|e| acc_cut.observe(&e));
            if cut == 0 {
                seen = acc_cut.usage();
            }
            assert_eq!(acc_cut.usage(), seen, "split at {cut}");
        }
        parser.feed(input, |e| acc.observe(&e)).unwrap();
        acc.usage()
    }

    #[test]
    fn openai_stream_final_usage_chunk() {
        let input = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";
        assert_eq!(stream(WireApi::OpenAiChat, input), Some(usage(3, 2, 0)));
    }

    #[test]
    fn anthropic_stream_running_total_replaces() {
        let input = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert_eq!(stream(WireApi::AnthropicMessages, input), Some(usage(25, 15, 0)));
    }

    #[test]
    fn gemini_stream_last_chunk_wins() {
        let input = b"data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1}}\r\n\r\n\
data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":8}}\r\n\r\n";
        assert_eq!(stream(WireApi::GeminiGenerate, input), Some(usage(5, 8, 0)));
    }

    #[test]
    fn one_type_round_trips_every_token_type_through_each_format() {
        let u = Usage { input: 100, output: 40, cache_read: 30, cache_write: 20, reasoning: 10 };
        assert_eq!(
            Usage::from_anthropic(&u.to_anthropic()),
            Usage { reasoning: 0, ..u },
            "Anthropic has no reasoning count"
        );
        assert_eq!(
            Usage::from_openai(&u.to_openai()),
            Usage { cache_write: 0, ..u },
            "OpenAI has no cache-write count"
        );
        assert_eq!(Usage::from_gemini(&u.to_gemini()), Usage { cache_write: 0, ..u });
        assert_eq!(Usage::from_bedrock(&u.to_bedrock()), Usage { reasoning: 0, ..u });
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(
            json,
            r#"{"inputTokens":100,"outputTokens":40,"cacheReadTokens":30,"cacheWriteTokens":20,"reasoningTokens":10}"#
        );
    }

    #[test]
    fn stream_without_usage_reports_none() {
        assert_eq!(stream(WireApi::OpenAiChat, b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n"), None);
    }
}
