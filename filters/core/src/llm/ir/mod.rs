//! Portcullis's own form of a conversation and of an answer: what every chat wire format is
//! translated to and from ([`crate::llm::translate`]), so that a translation between two
//! formats is one reader and one writer (N + M), and nothing either format can say is lost on
//! the way through a third's narrower shape.
//!
//! It is rich enough for every client and provider API the gateway speaks, and for what agents
//! send: system and developer entries at any position; content parts (text, image, document,
//! audio, refusal); tool definitions, calls and results with their error flag; reasoning with its
//! signature or its redacted form; cache markers; usage with every token type
//! ([`Usage`]); finish reasons; provider ids.
//!
//! What only one provider understands rides in the part it belongs to, named for what it is
//! (a reasoning [`Reasoning::signature`], a text's [`Text::cache`] marker), never as another
//! format's field. A writer that cannot express a part either drops it where the answer's
//! meaning does not change (another model's reasoning) or refuses the request with a
//! [`TranslateError`](crate::llm::translate::TranslateError) (audio to a model that takes none).
//!
//! Readers keep the source position of every entry ([`Entry::source`]), so a writer's error
//! names the client's own `messages[i]`, whatever format it writes.

pub mod answer;

pub use answer::{Answer, Candidate, FinishReason};

pub use crate::llm::usage::Usage;
use serde_json::{Number, Value};

/// A request's conversation and what shapes the answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// In order. System and developer entries may stand anywhere.
    pub entries: Vec<Entry>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// `false`: at most one tool call per turn.
    pub parallel_tool_calls: Option<bool>,
    pub sampling: Sampling,
    /// The end user, for the provider's abuse monitoring (OpenAI `user`, Anthropic
    /// `metadata.user_id`).
    pub user: Option<String>,
    /// The client asked for spoken output (OpenAI `audio`), as it asked.
    pub audio_output: Option<Value>,
}

/// What shapes the answer, beyond the conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    /// The cap on output tokens.
    pub max_output_tokens: Option<u64>,
    pub temperature: Option<Number>,
    pub top_p: Option<Number>,
    pub top_k: Option<u64>,
    pub stop: Option<Vec<String>>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<Number>,
    pub frequency_penalty: Option<Number>,
    /// Answers wanted (OpenAI `n`, Gemini `candidateCount`).
    pub candidates: Option<u64>,
    pub response_format: Option<ResponseFormat>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    /// Any JSON object.
    Json,
    /// JSON valid against `schema`.
    JsonSchema {
        name: String,
        description: Option<String>,
        schema: Option<Value>,
        strict: Option<bool>,
    },
}

/// One entry of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub role: Role,
    pub parts: Vec<Part>,
    /// The entry's content was one plain string (or is best written as one): a writer with a
    /// string form uses it when the parts are text only.
    pub plain: bool,
    /// The position of the entry's source in the client's own list (`messages[i]`,
    /// `contents[i]`), for error messages.
    pub source: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions from the application.
    System,
    /// Instructions under OpenAI's newer name (reasoning models); a system entry elsewhere.
    Developer,
    User,
    Assistant,
    /// What tools returned (only [`Part::ToolResult`] parts).
    Tool,
}

/// One piece of an entry's or an answer's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(Text),
    /// The model declined (OpenAI `refusal`).
    Refusal(String),
    Image(Media),
    Document(Document),
    /// Audio input, as OpenAI's `input_audio` (`{"data", "format"}`).
    Audio(Value),
    Reasoning(Reasoning),
    ToolCall(ToolCall),
    ToolResult(ToolResult),
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text(Text { text: text.into(), cache: None })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub text: String,
    /// A prompt-cache marker on this text (Anthropic's `cache_control`, as given).
    pub cache: Option<Value>,
}

/// Where an image's or a document's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    /// An `http(s):` URL, or a URI the provider resolves (Gemini `fileData`).
    Url {
        url: String,
        mime: Option<String>,
    },
    Base64 {
        mime: String,
        data: String,
    },
    /// A file uploaded to the provider (OpenAI `file_id`).
    FileId(String),
    /// Plain text (Anthropic's text documents).
    Text {
        mime: Option<String>,
        data: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub source: Media,
    /// The file's name or the document's title.
    pub name: Option<String>,
}

/// The model's reasoning ("thinking").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reasoning {
    pub text: String,
    /// A summary of it, where the provider gives one instead of the text.
    pub summary: Option<String>,
    /// The provider's proof that the reasoning is its own (Anthropic and Converse `signature`),
    /// required to hand it back in a later turn.
    pub signature: Option<String>,
    /// Reasoning the provider encrypted (Anthropic `redacted_thinking.data`, Converse
    /// `redactedContent`): opaque, only ever handed back.
    pub redacted: Option<String>,
    /// Whose models signed or encrypted it: a provider takes back only its own models'
    /// (Gemini refuses a Claude signature, and the other way round). `None`: unsigned.
    pub issuer: Option<Issuer>,
}

/// A family of models whose reasoning signatures are one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// Claude, on Anthropic's API or on Bedrock (thinking signatures, redacted thinking).
    Claude,
    /// Gemini (thought signatures).
    Gemini,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The [`ToolCall::id`] it answers.
    pub call_id: String,
    /// The function's name, where the format says it (Gemini pairs results by name).
    pub name: Option<String>,
    /// Texts (and, where the format allows, images).
    pub content: Vec<Part>,
    /// The content was one plain string.
    pub plain: bool,
    /// The tool failed (Anthropic `is_error`, Converse `status: error`).
    pub is_error: bool,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    Function(Function),
    /// A tool of a kind only its provider runs (an OpenAI `type` other than `function`, an
    /// Anthropic server tool): no other provider can.
    Other {
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments; `None` for a function without any.
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    /// Some tool must be called.
    Required,
    /// This function must be called.
    Function(String),
    /// A mode no format here knows (refused by writers).
    Other(String),
}

impl Conversation {
    /// Whether the conversation has no entries but system ones (a prompt template fills it).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
