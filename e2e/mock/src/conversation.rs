//! What a chat request asks for, independent of the wire format, and the deterministic answer the
//! mock gives to it.
//!
//! Each provider module reads its request into a [`Conversation`]; [`answer`] then decides the
//! reply (text, tool calls, finish reason, token counts) the same way for every provider, so
//! tests written against one provider hold for the others.

use crate::control::Controls;
use crate::tokens;
use serde_json::{Map, Value};

/// A tool the request declares.
pub struct ToolDef {
    pub name: String,
    /// JSON schema of the arguments (`Value::Null` when the tool declares none).
    pub schema: Value,
}

/// How the request lets the model use its tools.
#[derive(PartialEq, Eq)]
pub enum ToolChoice {
    /// The model may call a tool (the mock always does when it may).
    Auto,
    /// Tools must not be called.
    None,
    /// A tool must be called (`required` / `any` / `ANY`).
    Any,
    /// This tool must be called.
    Named(String),
}

/// The provider-neutral summary of a chat request.
pub struct Conversation {
    pub model: String,
    /// Text of the last user message (text parts joined with a space).
    pub last_user_text: String,
    /// The last message is a user message (and not a tool result).
    pub last_is_user: bool,
    /// The last message is a tool result: its content as text.
    pub tool_result: Option<String>,
    pub tools: Vec<ToolDef>,
    pub tool_choice: ToolChoice,
    /// Input tokens per [`crate::tokens`].
    pub input_tokens: u64,
    /// The reply is cut to this many words (finish reason "length").
    pub max_tokens: Option<u64>,
    /// The reply is cut before the first of these (finish reason "stop sequence").
    pub stop: Vec<String>,
    /// Ids of the `<document id="…">` blocks a gateway's retrieval put in the prompt: the reply
    /// names them, so a grounded answer is visible.
    pub documents: Vec<String>,
}

impl Conversation {
    pub fn new(model: String) -> Self {
        Conversation {
            model,
            last_user_text: String::new(),
            last_is_user: false,
            tool_result: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            input_tokens: 0,
            max_tokens: None,
            stop: Vec::new(),
            documents: Vec::new(),
        }
    }

    /// Counts a prompt text's tokens and notes the retrieved documents in it.
    pub fn add_text(&mut self, text: &str) {
        self.input_tokens += tokens::text(text);
        let mut rest = text;
        while let Some(at) = rest.find("<document id=\"") {
            rest = &rest[at + "<document id=\"".len()..];
            let Some(end) = rest.find('"') else { break };
            self.documents.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

/// Why the answer ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
    StopSequence(String),
    ToolUse,
}

/// One tool call of the answer.
pub struct ToolCall {
    pub name: String,
    pub args: Value,
    /// `args` serialised compactly: what is streamed and counted.
    pub args_json: String,
}

/// The mock's answer: either text or tool calls.
pub struct Answer {
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub finish: Finish,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `x-mock-*-tokens`: reported on top of the counts above (see `usage` in each provider).
    pub extra: crate::control::ExtraTokens,
}

/// Decides the answer. `provider` names the provider in the default reply text.
///
/// * `x-mock-reply` forces a text answer with that text.
/// * Tools declared, the last message a user message, tool choice not "none" → tool call(s):
///   the forced tool, else the first `x-mock-parallel-tools` (default 1) tools.
/// * Last message a tool result → `"Tool result received: <content, first 60 chars>"`.
/// * Otherwise `"Mock reply from <provider> to: <last user text, first 60 chars>"`.
pub fn answer(conv: &Conversation, provider: &str, ctl: &Controls) -> Answer {
    if ctl.reply.is_none() && wants_tool_call(conv) {
        let calls = tool_calls(conv, ctl.parallel_tools);
        let output_tokens = calls.iter().map(|c| tokens::text(&c.args_json)).sum();
        return Answer {
            text: String::new(),
            calls,
            finish: Finish::ToolUse,
            input_tokens: conv.input_tokens,
            output_tokens,
            extra: ctl.extra,
        };
    }
    let full = match (&ctl.reply, &conv.tool_result) {
        (Some(reply), _) => reply.clone(),
        (None, Some(result)) => format!("Tool result received: {}", prefix(result, 60)),
        (None, None) if !conv.documents.is_empty() => format!(
            "Mock reply from {provider}, grounded in {}, to: {}",
            conv.documents.join(", "),
            prefix(&conv.last_user_text, 60)
        ),
        (None, None) => format!("Mock reply from {provider} to: {}", prefix(&conv.last_user_text, 60)),
    };
    let (text, finish) = cut(full, &conv.stop, conv.max_tokens);
    Answer {
        output_tokens: tokens::words(&text),
        extra: ctl.extra,
        text,
        calls: Vec::new(),
        finish,
        input_tokens: conv.input_tokens,
    }
}

fn wants_tool_call(conv: &Conversation) -> bool {
    !conv.tools.is_empty()
        && conv.last_is_user
        && conv.tool_result.is_none()
        && conv.tool_choice != ToolChoice::None
}

fn tool_calls(conv: &Conversation, parallel: usize) -> Vec<ToolCall> {
    let chosen: Vec<(&str, &Value)> = match &conv.tool_choice {
        ToolChoice::Named(name) => {
            let schema = conv.tools.iter().find(|t| &t.name == name).map_or(&Value::Null, |t| &t.schema);
            vec![(name.as_str(), schema)]
        }
        _ => conv.tools.iter().take(parallel.max(1)).map(|t| (t.name.as_str(), &t.schema)).collect(),
    };
    chosen
        .into_iter()
        .map(|(name, schema)| {
            let args = placeholder_args(schema);
            ToolCall { name: name.to_string(), args_json: args.to_string(), args }
        })
        .collect()
}

/// Arguments satisfying a JSON schema's `required` properties with placeholders: `"mock"` for
/// strings, `1` for numbers and integers, `true` for booleans, `[]` for arrays, `{}` for objects
/// (the first `enum` value when the property has one). Type names are matched case-insensitively
/// (Gemini's OpenAPI schemas say `STRING`).
pub fn placeholder_args(schema: &Value) -> Value {
    let mut args = Map::new();
    let props = schema.get("properties");
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            let prop = props.and_then(|p| p.get(name)).unwrap_or(&Value::Null);
            args.insert(name.to_string(), placeholder(prop));
        }
    }
    Value::Object(args)
}

fn placeholder(prop: &Value) -> Value {
    if let Some(first) = prop.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let ty = match prop.get("type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .unwrap_or("string")
            .to_ascii_lowercase(),
        _ => "string".to_string(),
    };
    match ty.as_str() {
        "number" | "integer" => Value::from(1),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "object" => Value::Object(Map::new()),
        _ => Value::from("mock"),
    }
}

/// The first `n` characters of `s`.
pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Applies stop sequences, then the output-token limit, to a reply.
fn cut(mut text: String, stop: &[String], max_tokens: Option<u64>) -> (String, Finish) {
    let first_stop = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, seq)) = first_stop {
        let seq = seq.clone();
        text.truncate(at);
        return (text, Finish::StopSequence(seq));
    }
    if let Some(max) = max_tokens {
        if tokens::words(&text) > max {
            text.truncate(end_of_word(&text, max));
            return (text, Finish::Length);
        }
    }
    (text, Finish::Stop)
}

/// Byte offset just past the `n`-th whitespace-separated word (0 for `n == 0`).
fn end_of_word(s: &str, n: u64) -> usize {
    if n == 0 {
        return 0;
    }
    let mut done = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_word {
                done += 1;
                if done == n {
                    return i;
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    s.len()
}

/// Text parts of a message content that is either a string or an array of parts with a `text`
/// field (OpenAI `{"type":"text","text":…}`, Anthropic text blocks).
pub fn content_texts(content: &Value) -> Vec<&str> {
    match content {
        Value::String(s) => vec![s.as_str()],
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str).unwrap_or("text") == "text")
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cuts_at_stop_and_length() {
        let (t, f) = cut("one two three".into(), &["thr".into()], None);
        assert_eq!((t.as_str(), f), ("one two ", Finish::StopSequence("thr".into())));
        let (t, f) = cut("one two  three".into(), &[], Some(2));
        assert_eq!((t.as_str(), f), ("one two", Finish::Length));
        let (t, f) = cut("one two".into(), &[], Some(2));
        assert_eq!((t.as_str(), f), ("one two", Finish::Stop));
        let (t, _) = cut("one two".into(), &[], Some(0));
        assert_eq!(t, "");
    }

    #[test]
    fn placeholders_follow_schema() {
        let schema = json!({"type":"object","properties":{
            "a":{"type":"string"},"b":{"type":"INTEGER"},"c":{"type":"boolean"},
            "d":{"type":"array"},"e":{"type":"object"},"f":{"enum":["x","y"]},"g":{"type":"string"}},
            "required":["a","b","c","d","e","f"]});
        assert_eq!(placeholder_args(&schema), json!({"a":"mock","b":1,"c":true,"d":[],"e":{},"f":"x"}));
        assert_eq!(placeholder_args(&Value::Null), json!({}));
    }

    #[test]
    fn prefix_counts_chars() {
        assert_eq!(prefix("héllo", 2), "hé");
        assert_eq!(prefix("hi", 60), "hi");
    }
}
