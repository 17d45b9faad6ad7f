//! The format-neutral view of a provider's *stream*: where each format's streamed texts sit in
//! an event, which event ends them, and how to write a minimal event carrying text — what a
//! policy needs to work on a stream event by event without knowing the format (the stream
//! guards rewrite texts in place; usage counts them when the provider did not).
//!
//! A streamed text belongs to a [`TextSlot`]: its group (an OpenAI choice, an Anthropic
//! content block, a Gemini candidate, a Converse content block) and its [`Part`] within it
//! (answer text, reasoning, refusal, one tool call's arguments). Texts of one slot arrive in
//! pieces across events and are one text to a policy; [`ends`] says when a slot has no more.
//!
//! Each format's layout is one small module (`openai`, `anthropic`, `gemini`, `bedrock`);
//! every dispatch here matches [`WireApi`] exhaustively, so a new API does not compile until
//! its stream layout is written down.

mod anthropic;
mod bedrock;
mod gemini;
mod openai;

use super::TextKind;
use crate::http::sse::{SseEvent, SseParser};
use crate::llm::api::WireApi;
use serde_json::{Map, Value};

/// Which text stream a streamed text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSlot {
    /// Choice (OpenAI), content block (Anthropic, Converse) or candidate (Gemini).
    pub group: u64,
    pub part: Part,
}

/// What a text is within its group; decides the shape of an event that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// OpenAI `delta.content`, Anthropic `text_delta`, Gemini `parts[].text`, Converse
    /// `delta.text`.
    Text,
    /// OpenAI `delta.reasoning_content` (DeepSeek and others), Anthropic `thinking_delta`,
    /// Converse `delta.reasoningContent.text`.
    Reasoning,
    /// OpenAI `delta.refusal`.
    Refusal,
    /// Tool-call arguments: OpenAI `tool_calls[i].function.arguments` (i here), Anthropic
    /// `input_json_delta`, Converse `delta.toolUse.input`.
    Tool(u64),
}

impl Part {
    /// What the text is, to a policy.
    pub fn kind(self) -> TextKind {
        match self {
            Part::Tool(_) => TextKind::ToolCallArguments,
            Part::Text | Part::Reasoning | Part::Refusal => TextKind::Assistant,
        }
    }
}

/// Which text streams an event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    Nothing,
    Group(u64),
    All,
}

impl Ends {
    pub fn covers(self, slot: TextSlot) -> bool {
        match self {
            Ends::Nothing => false,
            Ends::Group(g) => slot.group == g,
            Ends::All => true,
        }
    }
}

/// A visitor over streamed texts with their slot, mutable; returns whether it changed one.
pub type SlotVisitor<'a> = dyn FnMut(TextSlot, &mut String) -> bool + 'a;

/// Which text streams the event `body` ends.
pub fn ends(api: WireApi, body: &Map<String, Value>) -> Ends {
    match api {
        WireApi::OpenAiChat => openai::ends(body),
        WireApi::AnthropicMessages => anthropic::ends(body),
        WireApi::GeminiGenerate => gemini::ends(body),
        WireApi::BedrockConverse => bedrock::ends(body),
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => Ends::Nothing,
    }
}

/// Whether a non-JSON event ends the whole stream (OpenAI's `data: [DONE]`).
pub fn is_done_marker(api: WireApi, data: &[u8]) -> bool {
    match api {
        WireApi::OpenAiChat => data.trim_ascii() == b"[DONE]",
        WireApi::AnthropicMessages
        | WireApi::GeminiGenerate
        | WireApi::BedrockConverse
        | WireApi::OpenAiEmbeddings
        | WireApi::BedrockEmbeddings => false,
    }
}

/// Visits every text of an event that arrives in pieces, mutably, with its slot. Returns
/// whether `f` changed one.
pub fn texts_mut(api: WireApi, body: &mut Map<String, Value>, f: &mut SlotVisitor<'_>) -> bool {
    match api {
        WireApi::OpenAiChat => openai::texts(body, f),
        WireApi::AnthropicMessages => anthropic::texts(body, f),
        WireApi::GeminiGenerate => gemini::texts(body, f),
        WireApi::BedrockConverse => bedrock::texts(body, f),
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => false,
    }
}

/// Visits every text that arrives whole in one event (Gemini's function-call arguments, an
/// object: every string inside), mutably. Returns whether `f` changed one.
pub fn whole_texts_mut(
    api: WireApi,
    body: &mut Map<String, Value>,
    f: &mut dyn FnMut(&mut String) -> bool,
) -> bool {
    match api {
        WireApi::GeminiGenerate => gemini::whole_texts(body, f),
        WireApi::OpenAiChat
        | WireApi::AnthropicMessages
        | WireApi::BedrockConverse
        | WireApi::OpenAiEmbeddings
        | WireApi::BedrockEmbeddings => false,
    }
}

/// The top-level fields that identify a stream's events (OpenAI `id`, `created`, `model`;
/// Gemini `modelVersion`, `responseId`), which an event written by the gateway copies.
pub fn id_fields(api: WireApi) -> &'static [&'static str] {
    match api {
        WireApi::OpenAiChat => &["id", "object", "created", "model", "system_fingerprint"],
        WireApi::GeminiGenerate => &["modelVersion", "responseId"],
        WireApi::AnthropicMessages
        | WireApi::BedrockConverse
        | WireApi::OpenAiEmbeddings
        | WireApi::BedrockEmbeddings => &[],
    }
}

/// A minimal event carrying `text` for the text stream `slot`, with the stream's `ids`: its
/// SSE event name (where the format names events) and its data. `None` for an API without
/// text streams.
pub fn text_event(
    api: WireApi,
    slot: TextSlot,
    text: &str,
    ids: &Map<String, Value>,
) -> Option<(Option<&'static str>, Value)> {
    match api {
        WireApi::OpenAiChat => Some(openai::text_event(slot, text, ids)),
        WireApi::AnthropicMessages => Some(anthropic::text_event(slot, text)),
        WireApi::GeminiGenerate => Some(gemini::text_event(slot, text, ids)),
        WireApi::BedrockConverse => Some(bedrock::text_event(slot, text)),
        WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => None,
    }
}

/// Every streamed text of a whole provider stream (`api`'s format), in order — answer text,
/// reasoning, refusals, tool-call arguments: what a stream said, for counting its tokens when
/// the provider did not. Events that are not JSON objects are passed over.
pub fn texts_of(api: WireApi, stream: &[u8], f: &mut dyn FnMut(&str)) {
    let mut on_event = |event: SseEvent<'_>| {
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&event.data) else { return };
        texts_mut(api, &mut body, &mut |_, text| {
            f(text);
            false
        });
        whole_texts_mut(api, &mut body, &mut |text| {
            f(text);
            false
        });
    };
    // No bound on one event here: the caller bounds the whole stream it keeps.
    let mut parser = SseParser::new(usize::MAX);
    if parser.feed(stream, &mut on_event).is_ok() {
        parser.finish(&mut on_event);
    }
}

/// `v`'s `index`, else its position in its list.
fn index_or(v: &Value, position: usize) -> u64 {
    v.get("index").and_then(Value::as_u64).unwrap_or(position as u64)
}

/// The group of the first choice/candidate with a finish reason. (Several finishing in one
/// event — possible with `n > 1` — end together: everything.)
fn first_finished(list: Option<&Value>, field: &str) -> Ends {
    let Some(items) = list.and_then(Value::as_array) else { return Ends::Nothing };
    let finished: Vec<u64> = items
        .iter()
        .enumerate()
        .filter(|(_, c)| c.get(field).is_some_and(|f| !f.is_null()))
        .map(|(i, c)| index_or(c, i))
        .collect();
    match finished.as_slice() {
        [] => Ends::Nothing,
        [one] => Ends::Group(*one),
        _ => Ends::All,
    }
}

/// Calls `f` on `v` if it is a string; whether `f` changed it.
fn visit(slot: TextSlot, v: Option<&mut Value>, f: &mut SlotVisitor<'_>) -> bool {
    match v {
        Some(Value::String(text)) => f(slot, text),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
