//! OpenAI chat ⇄ Anthropic Messages, requests and complete responses.
//!
//! The shapes differ more than the meaning: Anthropic keeps the system prompt out of the
//! message list, wants user and assistant turns to alternate, puts tool calls and tool results
//! in content blocks (results in a *user* turn, before any text), requires `max_tokens`, and
//! counts cached prompt tokens apart from `input_tokens`.

use super::{data_url, parse_data_url, FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::anthropic as an;
use crate::llm::wire::openai as oa;
use crate::llm::wire::Rest;
use serde_json::Value;

/// `max_tokens` when an OpenAI client gave none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

impl FinishReason {
    pub(crate) fn from_anthropic(reason: &str) -> Self {
        match reason {
            "stop_sequence" => FinishReason::StopSequence,
            "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
            "tool_use" => FinishReason::ToolCalls,
            "refusal" => FinishReason::ContentFilter,
            // end_turn, pause_turn and anything newer.
            _ => FinishReason::Stop,
        }
    }

    pub(crate) fn anthropic(self) -> &'static str {
        match self {
            FinishReason::Stop => "end_turn",
            FinishReason::StopSequence => "stop_sequence",
            FinishReason::Length => "max_tokens",
            FinishReason::ToolCalls => "tool_use",
            FinishReason::ContentFilter => "refusal",
        }
    }
}

/// `chatcmpl-…` from a provider's id.
pub(crate) fn openai_id(provider_id: &str) -> String {
    if provider_id.is_empty() {
        "chatcmpl-portcullis".to_string()
    } else {
        format!("chatcmpl-{provider_id}")
    }
}

/// `msg_…` from a provider's id (an OpenAI id loses its `chatcmpl-`, so ids do not pile up
/// prefixes through the hub).
pub(crate) fn anthropic_id(provider_id: &str) -> String {
    let provider_id = strip_openai_prefix(provider_id);
    if provider_id.is_empty() {
        "msg_portcullis".to_string()
    } else {
        format!("msg_{provider_id}")
    }
}

/// An OpenAI id without its `chatcmpl-` prefix.
pub(crate) fn strip_openai_prefix(id: &str) -> &str {
    id.strip_prefix("chatcmpl-").unwrap_or(id)
}

fn err(message: impl Into<String>) -> TranslateError {
    TranslateError::unsupported(message)
}

// ---------------------------------------------------------------------------------------------
// Requests: OpenAI → Anthropic

pub(crate) fn request_from_openai(
    req: oa::ChatRequest,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<an::MessagesRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported by Anthropic models"));
    }
    if req.messages.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<an::Message> = Vec::new();
    for (i, message) in req.messages.into_iter().enumerate() {
        match message {
            oa::Message::System(m) | oa::Message::Developer(m) => {
                system.extend(system_blocks(m.content, i)?);
            }
            oa::Message::User(m) => {
                let content = match m.content {
                    oa::Content::Text(text) => an::Content::Text(text),
                    oa::Content::Parts(parts) => an::Content::Blocks(blocks_from_parts(parts, i)?),
                };
                push_turn(&mut messages, an::Role::User, content);
            }
            oa::Message::Assistant(m) => {
                if let Some(content) = assistant_content(m, i)? {
                    push_turn(&mut messages, an::Role::Assistant, content);
                }
            }
            oa::Message::Tool(m) => {
                let content = match m.content {
                    oa::Content::Text(text) => an::Content::Text(text),
                    oa::Content::Parts(parts) => an::Content::Blocks(blocks_from_parts(parts, i)?),
                };
                let result = an::ContentBlock::ToolResult(an::ToolResult {
                    tool_use_id: m.tool_call_id,
                    content: Some(content),
                    is_error: m.is_error.then_some(true),
                    rest: Rest::new(),
                });
                push_turn(&mut messages, an::Role::User, an::Content::Blocks(vec![result]));
            }
        }
    }
    // Anthropic wants tool results first in their user turn.
    for message in &mut messages {
        if let (an::Role::User, an::Content::Blocks(blocks)) = (message.role, &mut message.content) {
            blocks.sort_by_key(|b| !matches!(b, an::ContentBlock::ToolResult(_)));
        }
    }

    let tools = match req.tools {
        Some(tools) if !tools.is_empty() => {
            Some(tools.into_iter().map(tool_from_openai).collect::<Result<Vec<_>, _>>()?)
        }
        _ => None,
    };
    let tool_choice = if tools.is_some() {
        tool_choice_from_openai(req.tool_choice, req.parallel_tool_calls)?
    } else {
        None
    };

    let system = match system.len() {
        0 => None,
        1 => match system.pop() {
            Some(an::ContentBlock::Text(t)) => Some(an::System::Text(t.text)),
            other => other.map(|b| an::System::Blocks(vec![b])),
        },
        _ => Some(an::System::Blocks(system)),
    };

    Ok(an::MessagesRequest {
        model: model.to_string(),
        max_tokens: req.max_completion_tokens.or(req.max_tokens).unwrap_or(DEFAULT_MAX_TOKENS),
        messages,
        system,
        stop_sequences: req.stop.map(oa::Stop::into_vec),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: None,
        stream: stream.then_some(true),
        tools,
        tool_choice,
        metadata: req.user.map(|user| an::Metadata { user_id: Some(user), rest: Rest::new() }),
        rest: Rest::new(),
    })
}

/// Appends a turn, merging it into the previous one when the role repeats (Anthropic requires
/// alternation; OpenAI clients send consecutive tool messages, or user after tool).
fn push_turn(messages: &mut Vec<an::Message>, role: an::Role, content: an::Content) {
    if let Some(last) = messages.last_mut() {
        if last.role == role {
            let previous = std::mem::replace(&mut last.content, an::Content::Blocks(Vec::new()));
            let mut blocks = previous.into_blocks();
            blocks.extend(content.into_blocks());
            last.content = an::Content::Blocks(blocks);
            return;
        }
    }
    messages.push(an::Message { role, content });
}

fn system_blocks(content: oa::Content, i: usize) -> Result<Vec<an::ContentBlock>, TranslateError> {
    match content {
        oa::Content::Text(text) if text.is_empty() => Ok(Vec::new()),
        oa::Content::Text(text) => Ok(vec![an::ContentBlock::text(text)]),
        oa::Content::Parts(parts) => parts
            .into_iter()
            .filter(|p| !matches!(p, oa::ContentPart::Text { text } if text.is_empty()))
            .map(|part| match part {
                oa::ContentPart::Text { text } => Ok(an::ContentBlock::text(text)),
                _ => Err(err(format!("messages[{i}]: a system message may only contain text"))),
            })
            .collect(),
    }
}

fn blocks_from_parts(parts: Vec<oa::ContentPart>, i: usize) -> Result<Vec<an::ContentBlock>, TranslateError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        let block = match part {
            // Anthropic rejects empty text blocks.
            oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text }
                if text.is_empty() =>
            {
                continue
            }
            oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text } => {
                an::ContentBlock::text(text)
            }
            oa::ContentPart::ImageUrl { image_url } => {
                an::ContentBlock::Image(media(image_source(&image_url.url, i)?, None))
            }
            oa::ContentPart::File { file } => {
                let Some((mime, data)) = file.file_data.as_deref().and_then(parse_data_url) else {
                    return Err(err(format!(
                        "messages[{i}]: only files given inline as base64 `file_data` can be sent to Anthropic"
                    )));
                };
                if mime != "application/pdf" {
                    return Err(err(format!("messages[{i}]: Anthropic accepts PDF documents, not `{mime}`")));
                }
                let source = an::Source::Base64 { media_type: mime.to_string(), data: data.to_string() };
                an::ContentBlock::Document(media(source, file.filename))
            }
            oa::ContentPart::InputAudio { .. } => {
                return Err(err(format!("messages[{i}]: audio input is not supported by Anthropic models")))
            }
        };
        blocks.push(block);
    }
    Ok(blocks)
}

fn media(source: an::Source, title: Option<String>) -> an::MediaBlock {
    an::MediaBlock { source, title, rest: Rest::new() }
}

fn image_source(url: &str, i: usize) -> Result<an::Source, TranslateError> {
    if let Some((mime, data)) = parse_data_url(url) {
        return Ok(an::Source::Base64 { media_type: mime.to_string(), data: data.to_string() });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(an::Source::Url { url: url.to_string() });
    }
    Err(err(format!("messages[{i}]: image_url must be an http(s) URL or a base64 data: URL")))
}

/// The assistant turn as Anthropic content; `None` if it has nothing at all.
fn assistant_content(m: oa::AssistantMessage, i: usize) -> Result<Option<an::Content>, TranslateError> {
    let tool_calls = m.tool_calls.unwrap_or_default();
    let mut blocks = match m.content {
        Some(oa::Content::Text(text)) if tool_calls.is_empty() && m.refusal.is_none() => {
            return Ok((!text.is_empty()).then_some(an::Content::Text(text)));
        }
        Some(oa::Content::Text(text)) if text.is_empty() => Vec::new(),
        Some(oa::Content::Text(text)) => vec![an::ContentBlock::text(text)],
        Some(oa::Content::Parts(parts)) => blocks_from_parts(parts, i)?,
        None => Vec::new(),
    };
    if let Some(refusal) = m.refusal.filter(|r| !r.is_empty()) {
        blocks.push(an::ContentBlock::text(refusal));
    }
    for call in tool_calls {
        blocks.push(an::ContentBlock::ToolUse(an::ToolUse {
            input: parse_arguments(&call.function.arguments).ok_or_else(|| {
                err(format!("messages[{i}]: arguments of tool call `{}` are not a JSON object", call.id))
            })?,
            id: call.id,
            name: call.function.name,
            rest: Rest::new(),
        }));
    }
    Ok((!blocks.is_empty()).then_some(an::Content::Blocks(blocks)))
}

/// Tool-call arguments as the JSON object Anthropic wants (`""` is a call without arguments).
pub(crate) fn parse_arguments(arguments: &str) -> Option<Value> {
    if arguments.trim().is_empty() {
        return Some(Value::Object(Default::default()));
    }
    match serde_json::from_str(arguments) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

fn tool_from_openai(tool: oa::Tool) -> Result<an::Tool, TranslateError> {
    let function = match (tool.kind.as_str(), tool.function) {
        ("function", Some(f)) => f,
        (kind, _) => {
            return Err(err(format!("tools of type `{kind}` are not supported by Anthropic models")))
        }
    };
    Ok(an::Tool {
        kind: None,
        name: function.name,
        description: function.description,
        input_schema: Some(
            function.parameters.unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        ),
        rest: Rest::new(),
    })
}

fn tool_choice_from_openai(
    choice: Option<oa::ToolChoice>,
    parallel: Option<bool>,
) -> Result<Option<an::ToolChoice>, TranslateError> {
    let disable = (parallel == Some(false)).then_some(true);
    Ok(match choice {
        None if disable.is_some() => Some(an::ToolChoice::Auto { disable_parallel_tool_use: disable }),
        None => None,
        Some(oa::ToolChoice::Mode(mode)) => Some(match mode.as_str() {
            "auto" => an::ToolChoice::Auto { disable_parallel_tool_use: disable },
            "required" => an::ToolChoice::Any { disable_parallel_tool_use: disable },
            "none" => an::ToolChoice::None,
            other => return Err(err(format!("unknown tool_choice `{other}`"))),
        }),
        Some(oa::ToolChoice::Named(named)) => {
            Some(an::ToolChoice::Tool { name: named.function.name, disable_parallel_tool_use: disable })
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Requests: Anthropic → OpenAI

pub(crate) fn request_to_openai(
    req: an::MessagesRequest,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<oa::ChatRequest, TranslateError> {
    if req.messages.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut messages = Vec::with_capacity(req.messages.len().saturating_add(1));
    let system = match req.system {
        Some(an::System::Text(text)) => text,
        Some(an::System::Blocks(blocks)) => blocks
            .into_iter()
            .map(|b| match b {
                an::ContentBlock::Text(t) => Ok(t.text),
                _ => Err(err("system: only text blocks are supported")),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join("\n"),
        None => String::new(),
    };
    if !system.is_empty() {
        messages.push(oa::Message::System(oa::ContentMessage {
            content: oa::Content::Text(system),
            name: None,
            rest: Rest::new(),
        }));
    }
    for (i, message) in req.messages.into_iter().enumerate() {
        match message.role {
            an::Role::User => user_to_openai(message.content, i, &mut messages)?,
            an::Role::Assistant => messages.push(assistant_to_openai(message.content, i)?),
        }
    }

    let tools = match req.tools {
        Some(tools) if !tools.is_empty() => {
            Some(tools.into_iter().map(tool_to_openai).collect::<Result<Vec<_>, _>>()?)
        }
        _ => None,
    };
    let (tool_choice, parallel_tool_calls) = match (&tools, req.tool_choice) {
        (Some(_), Some(choice)) => tool_choice_to_openai(choice),
        _ => (None, None),
    };

    Ok(oa::ChatRequest {
        model: model.to_string(),
        messages,
        max_completion_tokens: (req.max_tokens > 0).then_some(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        stream: stream.then_some(true),
        // Without it an OpenAI stream carries no usage, and Anthropic clients expect usage.
        stream_options: stream.then(|| oa::StreamOptions { include_usage: Some(true), rest: Rest::new() }),
        stop: req.stop_sequences.map(oa::Stop::Many),
        tools,
        tool_choice,
        parallel_tool_calls,
        user: req.metadata.and_then(|m| m.user_id),
        ..oa::ChatRequest::default()
    })
}

/// A user turn: its tool results become `tool` messages (first, as Anthropic orders them), the
/// rest one user message.
fn user_to_openai(
    content: an::Content,
    i: usize,
    messages: &mut Vec<oa::Message>,
) -> Result<(), TranslateError> {
    let blocks = match content {
        an::Content::Text(text) => {
            messages.push(user_message(oa::Content::Text(text)));
            return Ok(());
        }
        an::Content::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            an::ContentBlock::ToolResult(result) => {
                messages.push(oa::Message::Tool(oa::ToolMessage {
                    tool_call_id: result.tool_use_id,
                    content: oa::Content::Text(tool_result_text(result.content, i)?),
                    is_error: result.is_error == Some(true),
                    rest: Rest::new(),
                }));
            }
            other => {
                if let Some(part) = part_from_block(other, i)? {
                    parts.push(part);
                }
            }
        }
    }
    match parts.len() {
        0 => {}
        1 if matches!(parts.first(), Some(oa::ContentPart::Text { .. })) => {
            if let Some(oa::ContentPart::Text { text }) = parts.pop() {
                messages.push(user_message(oa::Content::Text(text)));
            }
        }
        _ => messages.push(user_message(oa::Content::Parts(parts))),
    }
    Ok(())
}

fn user_message(content: oa::Content) -> oa::Message {
    oa::Message::User(oa::ContentMessage { content, name: None, rest: Rest::new() })
}

/// A user content block as an OpenAI part (`None`: nothing to send, e.g. thinking).
fn part_from_block(block: an::ContentBlock, i: usize) -> Result<Option<oa::ContentPart>, TranslateError> {
    Ok(Some(match block {
        an::ContentBlock::Text(t) => oa::ContentPart::Text { text: t.text },
        an::ContentBlock::Image(image) => {
            let url = match image.source {
                an::Source::Base64 { media_type, data } => data_url(&media_type, &data),
                an::Source::Url { url } => url,
                _ => return Err(err(format!("messages[{i}]: images must be given as base64 or URL"))),
            };
            oa::ContentPart::ImageUrl { image_url: oa::ImageUrl { url, detail: None } }
        }
        an::ContentBlock::Document(doc) => match doc.source {
            an::Source::Base64 { media_type, data } => oa::ContentPart::File {
                file: oa::FileRef {
                    file_data: Some(data_url(&media_type, &data)),
                    file_id: None,
                    filename: Some(doc.title.unwrap_or_else(|| "document.pdf".to_string())),
                },
            },
            an::Source::Text { data, .. } => oa::ContentPart::Text { text: data },
            _ => return Err(err(format!("messages[{i}]: documents must be given as base64 or text"))),
        },
        an::ContentBlock::Thinking(_) | an::ContentBlock::RedactedThinking(_) => return Ok(None),
        an::ContentBlock::ToolUse(_) => {
            return Err(err(format!("messages[{i}]: tool_use blocks belong in assistant turns")))
        }
        an::ContentBlock::ToolResult(_) | an::ContentBlock::Unsupported => {
            return Err(err(format!("messages[{i}]: content block type not supported by OpenAI chat models")))
        }
    }))
}

fn tool_result_text(content: Option<an::Content>, i: usize) -> Result<String, TranslateError> {
    match content {
        None => Ok(String::new()),
        Some(an::Content::Text(text)) => Ok(text),
        Some(an::Content::Blocks(blocks)) => {
            let texts = blocks
                .into_iter()
                .map(|b| match b {
                    an::ContentBlock::Text(t) => Ok(t.text),
                    _ => Err(err(format!("messages[{i}]: OpenAI tool results can only hold text"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(texts.join("\n"))
        }
    }
}

fn assistant_to_openai(content: an::Content, i: usize) -> Result<oa::Message, TranslateError> {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    match content {
        an::Content::Text(t) => text = t,
        an::Content::Blocks(blocks) => {
            for block in blocks {
                match block {
                    an::ContentBlock::Text(t) => text.push_str(&t.text),
                    an::ContentBlock::ToolUse(call) => {
                        tool_calls.push(oa::ToolCall::function(call.id, call.name, call.input.to_string()))
                    }
                    // Another model's reasoning cannot be handed to this one.
                    an::ContentBlock::Thinking(_) | an::ContentBlock::RedactedThinking(_) => {}
                    _ => {
                        return Err(err(format!(
                            "messages[{i}]: assistant content block type not supported by OpenAI chat models"
                        )))
                    }
                }
            }
        }
    }
    Ok(oa::Message::Assistant(oa::AssistantMessage {
        content: (!text.is_empty() || tool_calls.is_empty()).then_some(oa::Content::Text(text)),
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        ..oa::AssistantMessage::default()
    }))
}

fn tool_to_openai(tool: an::Tool) -> Result<oa::Tool, TranslateError> {
    if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
        return Err(err(format!("Anthropic server tool `{kind}` is not available on OpenAI chat models")));
    }
    Ok(oa::Tool::function(tool.name, tool.description, tool.input_schema))
}

fn tool_choice_to_openai(choice: an::ToolChoice) -> (Option<oa::ToolChoice>, Option<bool>) {
    let mode = |m: &str| Some(oa::ToolChoice::Mode(m.to_string()));
    let (choice, disable) = match choice {
        an::ToolChoice::Auto { disable_parallel_tool_use } => (mode("auto"), disable_parallel_tool_use),
        an::ToolChoice::Any { disable_parallel_tool_use } => (mode("required"), disable_parallel_tool_use),
        an::ToolChoice::Tool { name, disable_parallel_tool_use } => {
            (Some(oa::ToolChoice::function(name)), disable_parallel_tool_use)
        }
        an::ToolChoice::None => (mode("none"), None),
    };
    (choice, (disable == Some(true)).then_some(false))
}

// ---------------------------------------------------------------------------------------------
// Responses

/// An Anthropic message as an OpenAI chat completion.
pub(crate) fn response_to_openai(resp: an::MessagesResponse, model: &str) -> oa::ChatCompletion {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in resp.content {
        match block {
            an::ContentBlock::Text(t) => text.push_str(&t.text),
            an::ContentBlock::ToolUse(call) => {
                tool_calls.push(oa::ToolCall::function(call.id, call.name, call.input.to_string()))
            }
            _ => {}
        }
    }
    let reason = resp.stop_reason.as_deref().map_or(FinishReason::Stop, FinishReason::from_anthropic);
    oa::ChatCompletion::single(
        openai_id(&resp.id),
        model,
        text,
        tool_calls,
        reason.openai(),
        Some(Usage::from_anthropic(&resp.usage).to_openai()),
    )
}

/// An OpenAI chat completion (first choice) as an Anthropic message.
pub(crate) fn response_from_openai(
    resp: oa::ChatCompletion,
    model: &str,
) -> Result<an::MessagesResponse, TranslateError> {
    let Some(choice) = resp.choices.into_iter().next() else {
        return Err(err("provider response has no choices"));
    };
    let message = choice.message;
    let mut content = Vec::new();
    match message.content {
        Some(oa::Content::Text(text)) if !text.is_empty() => content.push(an::ContentBlock::text(text)),
        Some(oa::Content::Parts(parts)) => {
            for part in parts {
                if let oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text } = part {
                    if !text.is_empty() {
                        content.push(an::ContentBlock::text(text));
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
        content.push(an::ContentBlock::text(refusal));
    }
    let tool_calls = message.tool_calls.unwrap_or_default();
    let has_tool_calls = !tool_calls.is_empty();
    for call in tool_calls {
        // The model's own JSON; keep it even if malformed rather than lose it.
        let input =
            parse_arguments(&call.function.arguments).unwrap_or(Value::String(call.function.arguments));
        content.push(an::ContentBlock::ToolUse(an::ToolUse {
            id: call.id,
            name: call.function.name,
            input,
            rest: Rest::new(),
        }));
    }
    let mut reason = choice.finish_reason.as_deref().map_or(FinishReason::Stop, FinishReason::from_openai);
    if has_tool_calls && reason == FinishReason::Stop {
        // Some compatible servers say `stop` after tool calls.
        reason = FinishReason::ToolCalls;
    }
    let usage = resp.usage.as_ref().map(Usage::from_openai).unwrap_or_default();
    Ok(an::MessagesResponse {
        id: anthropic_id(&resp.id),
        kind: "message".to_string(),
        role: an::Role::Assistant,
        model: model.to_string(),
        content,
        stop_reason: Some(reason.anthropic().to_string()),
        stop_sequence: None,
        usage: usage.to_anthropic(),
        rest: Rest::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// The intermediate form. Transitional: through the OpenAI shape until this module reads and
// writes the intermediate form itself.

pub(crate) fn request_to_ir(
    req: an::MessagesRequest,
    empty_ok: bool,
) -> Result<crate::llm::ir::Conversation, TranslateError> {
    super::openai::request_to_ir(request_to_openai(req, "", false, empty_ok)?, true)
}

pub(crate) fn request_from_ir(
    conversation: crate::llm::ir::Conversation,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<an::MessagesRequest, TranslateError> {
    request_from_openai(super::openai::request_from_ir(conversation, "", false), model, stream, empty_ok)
}

pub(crate) fn answer_to_ir(resp: an::MessagesResponse) -> crate::llm::ir::Answer {
    let model = resp.model.clone();
    let mut answer = super::openai::answer_to_ir(response_to_openai(resp, ""));
    answer.model = model;
    answer
}

pub(crate) fn answer_from_ir(
    answer: crate::llm::ir::Answer,
    model: &str,
) -> Result<an::MessagesResponse, TranslateError> {
    let usage = answer.usage;
    let mut out = response_from_openai(super::openai::answer_from_ir(answer, model), model)?;
    // OpenAI's usage has no cache writes: taken from the answer itself.
    if let Some(usage) = usage {
        out.usage = usage.to_anthropic();
    }
    Ok(out)
}
