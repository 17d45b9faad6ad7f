//! Anthropic Messages ⇄ the intermediate form ([`crate::llm::ir`]), requests and complete
//! answers.
//!
//! The shapes differ more than the meaning: Anthropic keeps the system prompt out of the
//! message list, wants user and assistant turns to alternate, puts tool calls and tool results
//! in content blocks (results in a *user* turn, before any text), requires `max_tokens`, and
//! counts cached prompt tokens apart from `input_tokens`.
//!
//! What only Anthropic says is kept in the intermediate form, so it survives whenever the other
//! side can say it too: thinking blocks with their signature and redacted thinking (written back
//! only as Anthropic's own: reasoning with neither came from another model and is dropped),
//! `cache_control` on text blocks, a tool result's `is_error`, the stop sequence that ended an
//! answer, and cache writes in usage.
//!
//! A user turn's tool results become [`Role::Tool`] entries ahead of the rest of the turn
//! (Anthropic's order), the form OpenAI's `tool` messages read into too.

use super::{FinishReason, TranslateError};
use crate::llm::ir::{
    self, Answer, Candidate, Conversation, Document, Entry, Issuer, Media, Part, Reasoning, Role, Sampling,
    Text, ToolChoice, ToolResult,
};
use crate::llm::usage::Usage;
use crate::llm::wire::anthropic as an;
use crate::llm::wire::Rest;
use serde_json::{Number, Value};

/// `max_tokens` when the client gave none (Anthropic requires one).
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
/// prefixes from one format to another).
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
// Requests: Anthropic → intermediate form

pub(crate) fn request_to_ir(
    req: an::MessagesRequest,
    empty_ok: bool,
) -> Result<Conversation, TranslateError> {
    if req.messages.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut entries = Vec::with_capacity(req.messages.len().saturating_add(1));
    if let Some(system) = req.system {
        entries.extend(system_entry(system)?);
    }
    for (source, message) in req.messages.into_iter().enumerate() {
        match message.role {
            an::Role::User => read_user(message.content, source, &mut entries)?,
            an::Role::Assistant => entries.push(read_assistant(message.content, source)?),
        }
    }
    let tools = req.tools.unwrap_or_default().into_iter().map(tool_to_ir).collect::<Result<Vec<_>, _>>()?;
    // A choice among no tools means nothing (and OpenAI rejects one).
    let (tool_choice, parallel_tool_calls) = match req.tool_choice {
        Some(choice) if !tools.is_empty() => tool_choice_to_ir(choice),
        _ => (None, None),
    };
    Ok(Conversation {
        entries,
        tools,
        tool_choice,
        parallel_tool_calls,
        sampling: Sampling {
            max_output_tokens: (req.max_tokens > 0).then_some(req.max_tokens),
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: req.top_k.as_ref().and_then(Number::as_u64),
            stop: req.stop_sequences,
            ..Sampling::default()
        },
        user: req.metadata.and_then(|m| m.user_id),
        audio_output: None,
    })
}

/// The system prompt as one entry, a text part per block, each with its cache marker; `None`
/// if it has no text.
fn system_entry(system: an::System) -> Result<Option<Entry>, TranslateError> {
    let blocks = match system {
        an::System::Text(text) => vec![an::ContentBlock::text(text)],
        an::System::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            an::ContentBlock::Text(t) if t.text.is_empty() => {}
            an::ContentBlock::Text(t) => parts.push(text_part(t)),
            _ => return Err(err("system: only text blocks are supported")),
        }
    }
    let plain = parts.len() == 1;
    Ok((!parts.is_empty()).then_some(Entry { role: Role::System, parts, plain, source: 0 }))
}

fn text_part(block: an::TextBlock) -> Part {
    Part::Text(Text { text: block.text, cache: block.cache_control })
}

/// A user turn: each tool result becomes a tool entry (first, as Anthropic orders them), the
/// rest one user entry.
fn read_user(content: an::Content, source: usize, entries: &mut Vec<Entry>) -> Result<(), TranslateError> {
    let blocks = match content {
        an::Content::Text(text) => {
            entries.push(Entry { role: Role::User, parts: vec![Part::text(text)], plain: true, source });
            return Ok(());
        }
        an::Content::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let an::ContentBlock::ToolResult(result) = block {
            let parts = vec![Part::ToolResult(tool_result_to_ir(result, source)?)];
            entries.push(Entry { role: Role::Tool, parts, plain: false, source });
        } else {
            parts.extend(user_part(block, source)?);
        }
    }
    if !parts.is_empty() {
        // One text block reads as the string it could have been.
        let plain = matches!(parts.as_slice(), [Part::Text(_)]);
        entries.push(Entry { role: Role::User, parts, plain, source });
    }
    Ok(())
}

/// A user content block as a part (`None`: nothing to send).
fn user_part(block: an::ContentBlock, i: usize) -> Result<Option<Part>, TranslateError> {
    Ok(Some(match block {
        an::ContentBlock::Text(t) => text_part(t),
        an::ContentBlock::Image(image) => Part::Image(match image.source {
            an::Source::Base64 { media_type, data } => Media::Base64 { mime: media_type, data },
            an::Source::Url { url } => Media::Url { url, mime: None },
            an::Source::Text { .. } | an::Source::Unsupported => {
                return Err(err(format!("messages[{i}]: images must be given as base64 or URL")))
            }
        }),
        an::ContentBlock::Document(doc) => match doc.source {
            an::Source::Base64 { media_type, data } => Part::Document(Document {
                source: Media::Base64 { mime: media_type, data },
                // OpenAI and Converse require a file name.
                name: Some(doc.title.unwrap_or_else(|| "document.pdf".to_string())),
            }),
            // Its text is what every format can take.
            an::Source::Text { data, .. } => Part::text(data),
            an::Source::Url { .. } | an::Source::Unsupported => {
                return Err(err(format!("messages[{i}]: documents must be given as base64 or text")))
            }
        },
        // Only an assistant turn's reasoning is the model's own.
        an::ContentBlock::Thinking(_) | an::ContentBlock::RedactedThinking(_) => return Ok(None),
        an::ContentBlock::ToolUse(_) => {
            return Err(err(format!("messages[{i}]: tool_use blocks belong in assistant turns")))
        }
        an::ContentBlock::ToolResult(_) | an::ContentBlock::Unsupported => {
            return Err(err(format!(
                "messages[{i}]: content block type not supported by other providers' models"
            )))
        }
    }))
}

/// A tool result with its texts, in order.
fn tool_result_to_ir(result: an::ToolResult, i: usize) -> Result<ToolResult, TranslateError> {
    let (content, plain) = match result.content {
        None => (Vec::new(), true),
        Some(an::Content::Text(text)) => (vec![Part::text(text)], true),
        Some(an::Content::Blocks(blocks)) => {
            let content = blocks
                .into_iter()
                .map(|block| match block {
                    an::ContentBlock::Text(t) => Ok(text_part(t)),
                    _ => Err(err(format!("messages[{i}]: tool results may only hold text"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let plain = content.len() == 1;
            (content, plain)
        }
    };
    Ok(ToolResult {
        call_id: result.tool_use_id,
        name: None,
        content,
        plain,
        is_error: result.is_error == Some(true),
    })
}

fn read_assistant(content: an::Content, source: usize) -> Result<Entry, TranslateError> {
    let parts = match content {
        an::Content::Text(text) if text.is_empty() => Vec::new(),
        an::Content::Text(text) => vec![Part::text(text)],
        an::Content::Blocks(blocks) => blocks
            .into_iter()
            .map(|block| match block {
                an::ContentBlock::Text(t) => Ok(text_part(t)),
                an::ContentBlock::ToolUse(call) => Ok(tool_call(call)),
                an::ContentBlock::Thinking(t) => Ok(thinking(t)),
                an::ContentBlock::RedactedThinking(r) => Ok(redacted(r)),
                an::ContentBlock::Image(_)
                | an::ContentBlock::Document(_)
                | an::ContentBlock::ToolResult(_)
                | an::ContentBlock::Unsupported => Err(err(format!(
                    "messages[{source}]: assistant content block type not supported by other providers' models"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    // The model's text blocks read as one text where a format has only one.
    Ok(Entry { role: Role::Assistant, parts, plain: true, source })
}

fn tool_call(call: an::ToolUse) -> Part {
    Part::ToolCall(ir::ToolCall { id: call.id, name: call.name, arguments: call.input.to_string() })
}

fn thinking(block: an::Thinking) -> Part {
    let signature = (!block.signature.is_empty()).then_some(block.signature);
    Part::Reasoning(Reasoning {
        text: block.thinking,
        signature,
        issuer: Some(Issuer::Claude),
        ..Reasoning::default()
    })
}

fn redacted(block: an::RedactedThinking) -> Part {
    Part::Reasoning(Reasoning {
        redacted: Some(block.data),
        issuer: Some(Issuer::Claude),
        ..Reasoning::default()
    })
}

fn tool_to_ir(tool: an::Tool) -> Result<ir::Tool, TranslateError> {
    // Anthropic runs these itself, and a request from an Anthropic client goes to another provider.
    if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
        return Err(err(format!(
            "Anthropic server tool `{kind}` is not available on other providers' models"
        )));
    }
    Ok(ir::Tool::Function(ir::Function {
        name: tool.name,
        description: tool.description,
        parameters: tool.input_schema,
        strict: None,
    }))
}

/// The choice, and `Some(false)` for parallel tool calls if they are disabled.
fn tool_choice_to_ir(choice: an::ToolChoice) -> (Option<ToolChoice>, Option<bool>) {
    let (choice, disable) = match choice {
        an::ToolChoice::Auto { disable_parallel_tool_use } => (ToolChoice::Auto, disable_parallel_tool_use),
        an::ToolChoice::Any { disable_parallel_tool_use } => {
            (ToolChoice::Required, disable_parallel_tool_use)
        }
        an::ToolChoice::Tool { name, disable_parallel_tool_use } => {
            (ToolChoice::Function(name), disable_parallel_tool_use)
        }
        an::ToolChoice::None => (ToolChoice::None, None),
    };
    (Some(choice), (disable == Some(true)).then_some(false))
}

// ---------------------------------------------------------------------------------------------
// Requests: intermediate form → Anthropic

pub(crate) fn request_from_ir(
    conversation: Conversation,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<an::MessagesRequest, TranslateError> {
    let Conversation { entries, tools, tool_choice, parallel_tool_calls, sampling, user, audio_output } =
        conversation;
    if sampling.candidates.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported by Anthropic models"));
    }
    if audio_output.is_some() {
        return Err(err("audio output is not supported by Anthropic models"));
    }
    if entries.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for entry in entries {
        write_entry(entry, &mut system, &mut messages)?;
    }
    // Anthropic wants tool results first in their user turn.
    for message in &mut messages {
        if let (an::Role::User, an::Content::Blocks(blocks)) = (message.role, &mut message.content) {
            blocks.sort_by_key(|b| !matches!(b, an::ContentBlock::ToolResult(_)));
        }
    }
    let tools = tools.into_iter().map(tool_from_ir).collect::<Result<Vec<_>, _>>()?;
    let tool_choice =
        if tools.is_empty() { None } else { tool_choice_from_ir(tool_choice, parallel_tool_calls)? };
    Ok(an::MessagesRequest {
        model: model.to_string(),
        max_tokens: sampling.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        messages,
        system: system_of(system),
        stop_sequences: sampling.stop,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        top_k: sampling.top_k.map(Number::from),
        stream: stream.then_some(true),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        metadata: user.map(|user| an::Metadata { user_id: Some(user), rest: Rest::new() }),
        rest: Rest::new(),
    })
}

/// Adds an entry: system and developer text to `system`, the rest as turns.
fn write_entry(
    entry: Entry,
    system: &mut Vec<an::ContentBlock>,
    messages: &mut Vec<an::Message>,
) -> Result<(), TranslateError> {
    let Entry { role, parts, plain, source: i } = entry;
    // Tool results travel in a user turn, whichever entry holds them.
    let (results, parts): (Vec<Part>, Vec<Part>) =
        parts.into_iter().partition(|p| matches!(p, Part::ToolResult(_)));
    if !results.is_empty() {
        push_turn(messages, an::Role::User, an::Content::Blocks(blocks_of(results, i)?));
    }
    match role {
        Role::System | Role::Developer => system.extend(system_blocks(parts, i)?),
        Role::User | Role::Tool if parts.is_empty() => {}
        Role::User | Role::Tool => push_turn(messages, an::Role::User, content_of(parts, plain, i)?),
        Role::Assistant => match content_of(parts, plain, i)? {
            an::Content::Text(text) if text.is_empty() => {}
            an::Content::Blocks(blocks) if blocks.is_empty() => {}
            content => push_turn(messages, an::Role::Assistant, content),
        },
    }
    Ok(())
}

/// Appends a turn, merging it into the previous one when the role repeats (Anthropic requires
/// alternation; other formats send tool results as their own entries, or user after tool).
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

fn system_blocks(parts: Vec<Part>, i: usize) -> Result<Vec<an::ContentBlock>, TranslateError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(t) if t.text.is_empty() => {}
            Part::Text(t) => blocks.push(text_block(t)),
            Part::Refusal(_)
            | Part::Image(_)
            | Part::Document(_)
            | Part::Audio(_)
            | Part::Reasoning(_)
            | Part::ToolCall(_)
            | Part::ToolResult(_) => {
                return Err(err(format!("messages[{i}]: a system message may only contain text")))
            }
        }
    }
    Ok(blocks)
}

/// The system prompt: a string where one unmarked text says it all.
fn system_of(mut blocks: Vec<an::ContentBlock>) -> Option<an::System> {
    match blocks.as_slice() {
        [] => None,
        [an::ContentBlock::Text(t)] if t.cache_control.is_none() => match blocks.pop() {
            Some(an::ContentBlock::Text(t)) => Some(an::System::Text(t.text)),
            other => other.map(|b| an::System::Blocks(vec![b])),
        },
        _ => Some(an::System::Blocks(blocks)),
    }
}

fn text_block(text: Text) -> an::ContentBlock {
    an::ContentBlock::Text(an::TextBlock { text: text.text, cache_control: text.cache, rest: Rest::new() })
}

/// Parts as Anthropic content: one string where they are unmarked text and may be written so,
/// blocks otherwise.
fn content_of(parts: Vec<Part>, plain: bool, i: usize) -> Result<an::Content, TranslateError> {
    if plain && parts.iter().all(|p| matches!(p, Part::Text(Text { cache: None, .. }))) {
        let mut text = String::new();
        for part in parts {
            if let Part::Text(t) = part {
                text.push_str(&t.text);
            }
        }
        return Ok(an::Content::Text(text));
    }
    Ok(an::Content::Blocks(blocks_of(parts, i)?))
}

fn blocks_of(parts: Vec<Part>, i: usize) -> Result<Vec<an::ContentBlock>, TranslateError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        blocks.extend(block_of(part, i)?);
    }
    Ok(blocks)
}

/// A part as a content block (`None`: nothing to send).
fn block_of(part: Part, i: usize) -> Result<Option<an::ContentBlock>, TranslateError> {
    Ok(Some(match part {
        // Anthropic rejects empty text blocks.
        Part::Text(t) if t.text.is_empty() => return Ok(None),
        Part::Text(t) => text_block(t),
        Part::Refusal(refusal) if refusal.is_empty() => return Ok(None),
        Part::Refusal(refusal) => an::ContentBlock::text(refusal),
        Part::Image(media) => an::ContentBlock::Image(media_block(image_source(media, i)?, None)),
        Part::Document(doc) => an::ContentBlock::Document(document(doc, i)?),
        Part::Audio(_) => {
            return Err(err(format!("messages[{i}]: audio input is not supported by Anthropic models")))
        }
        Part::Reasoning(reasoning) => return Ok(thinking_block(reasoning)),
        Part::ToolCall(call) => an::ContentBlock::ToolUse(an::ToolUse {
            input: parse_arguments(&call.arguments).ok_or_else(|| {
                err(format!("messages[{i}]: arguments of tool call `{}` are not a JSON object", call.id))
            })?,
            id: call.id,
            name: call.name,
            rest: Rest::new(),
        }),
        Part::ToolResult(result) => an::ContentBlock::ToolResult(an::ToolResult {
            tool_use_id: result.call_id,
            content: Some(content_of(result.content, result.plain, i)?),
            is_error: result.is_error.then_some(true),
            rest: Rest::new(),
        }),
    }))
}

/// Reasoning Anthropic can take back: Claude's own, signed or redacted. Another model's
/// cannot be handed to this one (nor shown to a client that would hand it back).
fn thinking_block(reasoning: Reasoning) -> Option<an::ContentBlock> {
    if reasoning.issuer != Some(Issuer::Claude) {
        return None;
    }
    if let Some(data) = reasoning.redacted {
        return Some(an::ContentBlock::RedactedThinking(an::RedactedThinking { data }));
    }
    let signature = reasoning.signature?;
    Some(an::ContentBlock::Thinking(an::Thinking { thinking: reasoning.text, signature }))
}

fn media_block(source: an::Source, title: Option<String>) -> an::MediaBlock {
    an::MediaBlock { source, title, rest: Rest::new() }
}

fn image_source(media: Media, i: usize) -> Result<an::Source, TranslateError> {
    match media {
        Media::Base64 { mime, data } => Ok(an::Source::Base64 { media_type: mime, data }),
        Media::Url { url, .. } if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(an::Source::Url { url })
        }
        Media::Url { .. } | Media::FileId(_) | Media::Text { .. } => {
            Err(err(format!("messages[{i}]: image_url must be an http(s) URL or a base64 data: URL")))
        }
    }
}

/// A document block: Anthropic takes PDFs inline or by URL, and plain text.
fn document(doc: Document, i: usize) -> Result<an::MediaBlock, TranslateError> {
    let source = match doc.source {
        Media::Base64 { mime, .. } if mime != "application/pdf" => {
            return Err(err(format!("messages[{i}]: Anthropic accepts PDF documents, not `{mime}`")))
        }
        Media::Base64 { mime, data } => an::Source::Base64 { media_type: mime, data },
        Media::Text { mime, data } => {
            an::Source::Text { media_type: mime.unwrap_or_else(|| "text/plain".to_string()), data }
        }
        Media::Url { url, .. } if url.starts_with("https://") || url.starts_with("http://") => {
            an::Source::Url { url }
        }
        Media::Url { .. } | Media::FileId(_) => {
            return Err(err(format!(
                "messages[{i}]: only files given inline as base64 `file_data` can be sent to Anthropic"
            )))
        }
    };
    Ok(media_block(source, doc.name))
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

fn tool_from_ir(tool: ir::Tool) -> Result<an::Tool, TranslateError> {
    match tool {
        ir::Tool::Function(f) => Ok(an::Tool {
            kind: None,
            name: f.name,
            description: f.description,
            input_schema: Some(
                f.parameters.unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            ),
            rest: Rest::new(),
        }),
        ir::Tool::Other { kind } => {
            Err(err(format!("tools of type `{kind}` are not supported by Anthropic models")))
        }
    }
}

fn tool_choice_from_ir(
    choice: Option<ToolChoice>,
    parallel: Option<bool>,
) -> Result<Option<an::ToolChoice>, TranslateError> {
    let disable = (parallel == Some(false)).then_some(true);
    Ok(match choice {
        None if disable.is_some() => Some(an::ToolChoice::Auto { disable_parallel_tool_use: disable }),
        None => None,
        Some(ToolChoice::Auto) => Some(an::ToolChoice::Auto { disable_parallel_tool_use: disable }),
        Some(ToolChoice::Required) => Some(an::ToolChoice::Any { disable_parallel_tool_use: disable }),
        Some(ToolChoice::None) => Some(an::ToolChoice::None),
        Some(ToolChoice::Function(name)) => {
            Some(an::ToolChoice::Tool { name, disable_parallel_tool_use: disable })
        }
        Some(ToolChoice::Other(other)) => return Err(err(format!("unknown tool_choice `{other}`"))),
    })
}

// ---------------------------------------------------------------------------------------------
// Answers

/// An Anthropic message in the intermediate form: one candidate.
pub(crate) fn answer_to_ir(resp: an::MessagesResponse) -> Answer {
    let parts = resp.content.into_iter().filter_map(answer_part).collect();
    let candidate = Candidate {
        parts,
        finish: resp.stop_reason.as_deref().map(FinishReason::from_anthropic),
        stop_sequence: resp.stop_sequence,
        index: 0,
    };
    Answer {
        id: resp.id,
        model: resp.model,
        candidates: vec![candidate],
        usage: Some(Usage::from_anthropic(&resp.usage)),
    }
}

fn answer_part(block: an::ContentBlock) -> Option<Part> {
    Some(match block {
        an::ContentBlock::Text(t) => text_part(t),
        an::ContentBlock::ToolUse(call) => tool_call(call),
        an::ContentBlock::Thinking(t) => thinking(t),
        an::ContentBlock::RedactedThinking(r) => redacted(r),
        // Server tool results, images …: nothing another format's answer can hold.
        an::ContentBlock::Image(_)
        | an::ContentBlock::Document(_)
        | an::ContentBlock::ToolResult(_)
        | an::ContentBlock::Unsupported => return None,
    })
}

/// An answer (its first candidate) as an Anthropic message, for a client that asked for `model`.
pub(crate) fn answer_from_ir(answer: Answer, model: &str) -> Result<an::MessagesResponse, TranslateError> {
    let Some(candidate) = answer.candidates.into_iter().next() else {
        return Err(err("provider response has no choices"));
    };
    let mut reason = candidate.finish.unwrap_or(FinishReason::Stop);
    if reason == FinishReason::Stop && candidate.has_tool_calls() {
        // Some compatible servers say `stop` after tool calls.
        reason = FinishReason::ToolCalls;
    }
    let stop_sequence = candidate.stop_sequence.filter(|_| reason == FinishReason::StopSequence);
    Ok(an::MessagesResponse {
        id: anthropic_id(&answer.id),
        kind: "message".to_string(),
        role: an::Role::Assistant,
        model: model.to_string(),
        content: candidate.parts.into_iter().filter_map(answer_block).collect(),
        stop_reason: Some(reason.anthropic().to_string()),
        stop_sequence,
        usage: answer.usage.unwrap_or_default().to_anthropic(),
        rest: Rest::new(),
    })
}

fn answer_block(part: Part) -> Option<an::ContentBlock> {
    match part {
        Part::Text(Text { text, .. }) | Part::Refusal(text) if text.is_empty() => None,
        Part::Text(Text { text, .. }) | Part::Refusal(text) => Some(an::ContentBlock::text(text)),
        Part::ToolCall(call) => {
            // The model's own JSON; keep it even if malformed rather than lose it.
            let input = parse_arguments(&call.arguments).unwrap_or(Value::String(call.arguments));
            Some(an::ContentBlock::ToolUse(an::ToolUse {
                id: call.id,
                name: call.name,
                input,
                rest: Rest::new(),
            }))
        }
        Part::Reasoning(reasoning) => thinking_block(reasoning),
        Part::Image(_) | Part::Document(_) | Part::Audio(_) | Part::ToolResult(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "anthropic_tests.rs"]
mod tests;
