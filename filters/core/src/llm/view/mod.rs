//! One format-neutral view of a prompt and of an answer, over every wire format.
//!
//! Policies — decorators, templates, guardrails, token counts, retrieval — are written once,
//! against [`RequestView`] and [`ResponseView`], never against one format's JSON: a view visits
//! every text the provider (or the client) will see, by [`TextKind`], mutably or not, adds
//! messages where each format keeps them, and reports sizes. The body is parsed once per filter
//! and written back only if something changed ([`RequestView::into_bytes`]); fields the view
//! does not know pass through untouched, in order.
//!
//! Each format's layout is one small module: `openai` (chat completions), `embeddings`
//! (OpenAI's and Bedrock's embeddings inputs), `anthropic` (Messages), `gemini` (generateContent), `bedrock`
//! (Converse). Where a format carries structured data a policy still has to see — tool-call
//! arguments as Anthropic, Gemini and Converse objects, Gemini function responses, Converse
//! `json` tool results — every string inside is visited.

mod anthropic;
mod bedrock;
mod embeddings;
mod gemini;
mod openai;
pub mod params;
pub mod stream;

use crate::llm::api::WireApi;
use serde::Deserialize;
use serde_json::{Map, Value};

/// What a text is, to a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// System instructions (OpenAI `system`/`developer` messages, Anthropic `system`, Gemini
    /// `systemInstruction`).
    System,
    User,
    Assistant,
    /// Arguments of a tool call the model made (OpenAI's JSON string, every string inside
    /// Anthropic's and Gemini's objects).
    ToolCallArguments,
    /// What a tool returned, as the client passes it back.
    ToolResult,
    /// Text to embed.
    EmbeddingsInput,
}

/// Who a message added by the gateway speaks as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// Where a message added by the gateway goes: before or after the client's own, or right before
/// the client's last user message (retrieved context next to the question it answers). A
/// system message always goes where the format keeps system text, first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Position {
    #[default]
    Prepend,
    Append,
    BeforeLastUser,
}

/// How big a prompt is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Messages (turns); a system prompt outside the message list counts as one.
    pub messages: usize,
    /// Bytes of text, every kind.
    pub text_bytes: usize,
}

/// Why a body has no view: it is not a JSON object, or a field the view needs has the wrong
/// type. The message names the field, never its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewError(pub String);

impl ViewError {
    fn field(name: &str, expected: &str) -> Self {
        ViewError(format!("`{name}` is not {expected}"))
    }
}

/// A visitor over texts, mutable; returns whether it changed the text.
pub type MutVisitor<'a> = dyn FnMut(TextKind, &mut String) -> bool + 'a;

/// Which side of the exchange a view reads: what a traversal visits, per format.
pub trait Side {
    /// "the request body", "the answer": for error messages.
    const WHAT: &'static str;
    fn traverse(api: WireApi, body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool;
}

/// The request, as the provider will see it: every message, system text, tool call and result.
#[derive(Debug, Clone, Copy)]
pub enum Request {}

/// A complete (non-streamed) answer, as the client will see it: the model's text and its
/// tool-call arguments.
#[derive(Debug, Clone, Copy)]
pub enum Response {}

impl Side for Request {
    const WHAT: &'static str = "the request body";
    fn traverse(api: WireApi, body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
        match api {
            WireApi::OpenAiChat => openai::request_texts(body, f),
            WireApi::OpenAiEmbeddings => embeddings::texts(body, f),
            WireApi::AnthropicMessages => anthropic::request_texts(body, f),
            WireApi::GeminiGenerate => gemini::request_texts(body, f),
            WireApi::BedrockConverse => bedrock::request_texts(body, f),
            WireApi::BedrockEmbeddings => embeddings::bedrock_texts(body, f),
        }
    }
}

impl Side for Response {
    const WHAT: &'static str = "the answer";
    fn traverse(api: WireApi, body: &mut Map<String, Value>, f: &mut MutVisitor<'_>) -> bool {
        match api {
            WireApi::OpenAiChat => openai::response_texts(body, f),
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => false,
            WireApi::AnthropicMessages => anthropic::response_texts(body, f),
            WireApi::GeminiGenerate => gemini::response_texts(body, f),
            WireApi::BedrockConverse => bedrock::response_texts(body, f),
        }
    }
}

/// A JSON body in the API it travels in, seen format-neutrally (see the module docs).
#[derive(Debug, Clone)]
pub struct View<S: Side> {
    api: WireApi,
    body: Map<String, Value>,
    changed: bool,
    side: std::marker::PhantomData<S>,
}

pub type RequestView = View<Request>;
pub type ResponseView = View<Response>;

impl<S: Side> View<S> {
    pub fn parse(api: WireApi, body: &[u8]) -> Result<Self, ViewError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(body)) => Ok(Self { api, body, changed: false, side: std::marker::PhantomData }),
            Ok(_) => Err(ViewError(format!("{} is not a JSON object", S::WHAT))),
            Err(e) => Err(ViewError(format!("{} is not valid JSON: {e}", S::WHAT))),
        }
    }

    pub fn api(&self) -> WireApi {
        self.api
    }

    /// Every text, in order, with its kind. (`&mut self` only because one traversal per format
    /// serves reading and editing; nothing changes.)
    pub fn texts(&mut self, f: &mut dyn FnMut(TextKind, &str)) {
        S::traverse(self.api, &mut self.body, &mut |kind, text| {
            f(kind, text);
            false
        });
    }

    /// Every text, mutably. The body is re-serialised by [`View::into_bytes`] only if `f`
    /// reported a change.
    pub fn texts_mut(&mut self, f: &mut MutVisitor<'_>) {
        if S::traverse(self.api, &mut self.body, f) {
            self.changed = true;
        }
    }

    /// Whether anything changed since the parse.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The body to send: `None` if nothing changed (send the original bytes).
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        if !self.changed {
            return None;
        }
        serde_json::to_vec(&Value::Object(self.body)).ok()
    }
}

impl View<Request> {
    /// Adds a message as `role`, before or after the client's own, where the format keeps it
    /// (a system message: OpenAI's message list, Anthropic's `system`, Gemini's
    /// `systemInstruction`, Converse's `system`). Embeddings have no messages: nothing is added.
    pub fn add_message(&mut self, role: Role, position: Position, text: &str) -> Result<(), ViewError> {
        let position = match (role, position) {
            (Role::System, Position::BeforeLastUser) => Position::Prepend,
            _ => position,
        };
        let added = match self.api {
            WireApi::OpenAiChat => openai::add_message(&mut self.body, role, position, text)?,
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => false,
            WireApi::AnthropicMessages => anthropic::add_message(&mut self.body, role, position, text)?,
            WireApi::GeminiGenerate => gemini::add_message(&mut self.body, role, position, text)?,
            WireApi::BedrockConverse => bedrock::add_message(&mut self.body, role, position, text)?,
        };
        self.changed |= added;
        Ok(())
    }

    /// Adds several messages, keeping their order, before or after the client's own.
    pub fn add_messages(&mut self, position: Position, messages: &[(Role, String)]) -> Result<(), ViewError> {
        match position {
            // Each prepend goes first: the last message of the list is prepended first.
            Position::Prepend => {
                messages.iter().rev().try_for_each(|(r, t)| self.add_message(*r, position, t))
            }
            Position::Append | Position::BeforeLastUser => {
                messages.iter().try_for_each(|(r, t)| self.add_message(*r, position, t))
            }
        }
    }

    /// Messages and text bytes.
    pub fn sizes(&mut self) -> Sizes {
        let messages = match self.api {
            WireApi::OpenAiChat => openai::message_count(&self.body),
            WireApi::OpenAiEmbeddings | WireApi::BedrockEmbeddings => 0,
            WireApi::AnthropicMessages => anthropic::message_count(&self.body),
            WireApi::GeminiGenerate => gemini::message_count(&self.body),
            WireApi::BedrockConverse => bedrock::message_count(&self.body),
        };
        let mut text_bytes = 0;
        self.texts(&mut |_, text| text_bytes = text.len().saturating_add(text_bytes));
        Sizes { messages, text_bytes }
    }

    /// The text of the last user turn (a retrieval query, a template's default input).
    pub fn last_user_text(&mut self) -> Option<String> {
        self.user_turns().pop()
    }

    /// The text of each user turn, in order: consecutive user texts (the parts of one message,
    /// or user messages with nothing between them) make one turn, joined by newlines.
    pub fn user_turns(&mut self) -> Vec<String> {
        let mut turns: Vec<String> = Vec::new();
        let mut previous_was_user = false;
        self.texts(&mut |kind, text| {
            if kind == TextKind::User || kind == TextKind::EmbeddingsInput {
                match (turns.last_mut(), previous_was_user) {
                    (Some(last), true) => {
                        last.push('\n');
                        last.push_str(text);
                    }
                    _ => turns.push(text.to_string()),
                }
                previous_was_user = true;
            } else {
                previous_was_user = false;
            }
        });
        turns
    }
}

/// Visits a string value; other values are not text.
fn visit_string(value: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    match value {
        Value::String(text) => f(kind, text),
        _ => false,
    }
}

/// Visits every string inside a JSON value (tool arguments and results held as objects).
fn visit_leaves(value: &mut Value, kind: TextKind, f: &mut MutVisitor<'_>) -> bool {
    match value {
        Value::String(text) => f(kind, text),
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| visit_leaves(v, kind, f) | changed),
        Value::Object(map) => map.values_mut().fold(false, |changed, v| visit_leaves(v, kind, f) | changed),
        _ => false,
    }
}

/// A list field, created when absent.
fn list<'a>(obj: &'a mut Map<String, Value>, field: &str) -> Result<&'a mut Vec<Value>, ViewError> {
    obj.entry(field)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| ViewError::field(field, "an array"))
}

fn insert(list: &mut Vec<Value>, position: Position, item: Value) {
    match position {
        Position::Prepend => list.insert(0, item),
        Position::Append => list.push(item),
        Position::BeforeLastUser => {
            // Without a user question, the message goes last.
            let last = list.iter().rposition(is_user_question);
            list.insert(last.unwrap_or(list.len()), item);
        }
    }
}

/// A user turn that asks something: every format marks user turns `"role": "user"`, and Anthropic,
/// Gemini and Converse also send tool results as user turns — inserting before one of those would split a
/// tool call from its result, which both refuse.
fn is_user_question(message: &Value) -> bool {
    if message.get("role").and_then(Value::as_str) != Some("user") {
        return false;
    }
    let only = |field: &str, is_result: &dyn Fn(&Value) -> bool| {
        message
            .get(field)
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty() && items.iter().all(is_result))
    };
    !only("content", &|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        && !only("parts", &|p| p.get("functionResponse").is_some())
        && !only("content", &|b| b.get("toolResult").is_some())
}

#[cfg(test)]
mod tests;
