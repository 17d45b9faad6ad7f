//! The intermediate form ([`crate::llm::ir`]) ⇄ Bedrock Converse: requests to Converse and
//! complete answers from it (no client speaks Converse).
//!
//! Converse wants alternating `user`/`assistant` turns: consecutive entries of one role are
//! merged, system and developer entries become `system` blocks, tool results become `toolResult`
//! blocks of a user turn (`status: error` for a failed tool), and the model is in the path
//! (never in the body). It has no `none` tool choice: without tool blocks in the conversation
//! the tools are left out instead, with them the request is refused (Converse requires
//! `toolConfig` whenever the conversation holds tool blocks). Images and documents must be
//! inline (Converse fetches no URLs and knows no other provider's files); documents are named as
//! Converse accepts (letters, digits and a few signs, no extension). Reasoning signed by the
//! provider (or redacted by it) is handed back as `reasoningContent` in its place in the
//! assistant turn — Claude requires its thinking back when thinking and tool use are combined —
//! and unsigned reasoning (another model's) is dropped. A cache marker on a text becomes a
//! `cachePoint` block after it. `response_format`, `seed`, `top_k`, the penalties,
//! `parallel_tool_calls` and the end user have no Converse counterpart and are dropped, as for
//! Anthropic.
//!
//! Converse answers carry neither an id nor the model: the id comes from the response headers
//! ([`super::AnswerContext::response_id`]), and each client writer adds its own prefix.

use super::anthropic::parse_arguments;
use super::{FinishReason, TranslateError};
use crate::llm::ir::{
    self, Answer, Candidate, Conversation, Document, Issuer, Media, Part, Reasoning, Role, ToolChoice,
    ToolResult,
};
use crate::llm::usage::Usage;
use crate::llm::wire::bedrock as br;
use crate::llm::wire::Rest;
use base64::Engine as _;
use serde_json::json;

fn err(message: impl Into<String>) -> TranslateError {
    TranslateError::unsupported(message)
}

impl FinishReason {
    pub(crate) fn from_bedrock(reason: &str) -> Self {
        match reason {
            "stop_sequence" => FinishReason::StopSequence,
            "tool_use" => FinishReason::ToolCalls,
            "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
            "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
            // end_turn and anything newer.
            _ => FinishReason::Stop,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests: intermediate form → Converse

pub(crate) fn request_from_ir(
    conversation: Conversation,
    empty_ok: bool,
) -> Result<br::ConverseRequest, TranslateError> {
    if conversation.sampling.candidates.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported for Bedrock models"));
    }
    if conversation.audio_output.is_some() {
        return Err(err("audio output is not supported for Bedrock models"));
    }
    if conversation.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<br::Message> = Vec::new();
    for entry in conversation.entries {
        let i = entry.source;
        match entry.role {
            Role::System | Role::Developer => system.extend(system_blocks(entry.parts, i)?),
            Role::User | Role::Tool => {
                let (results, blocks) = blocks_from_parts(entry.parts, i, false)?;
                push_turn(&mut messages, "user", results);
                push_turn(&mut messages, "user", blocks);
            }
            Role::Assistant => {
                // A result in an assistant entry answers an earlier call: a user turn before it.
                let (results, blocks) = blocks_from_parts(entry.parts, i, true)?;
                push_turn(&mut messages, "user", results);
                push_turn(&mut messages, "assistant", blocks);
            }
        }
    }

    let has_tool_blocks =
        messages.iter().flat_map(|m| &m.content).any(|b| b.tool_use.is_some() || b.tool_result.is_some());
    let sampling = conversation.sampling;
    let config = br::InferenceConfig {
        max_tokens: sampling.max_output_tokens,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        stop_sequences: sampling.stop,
        rest: Rest::new(),
    };
    let tool_config = tool_config(conversation.tools, conversation.tool_choice, has_tool_blocks)?;
    Ok(br::ConverseRequest {
        messages,
        system: (!system.is_empty()).then_some(system),
        inference_config: (!config.is_empty()).then_some(config),
        tool_config,
        rest: Rest::new(),
    })
}

/// Appends a turn, merging it into the previous one when the role repeats.
fn push_turn(messages: &mut Vec<br::Message>, role: &str, blocks: Vec<br::ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut() {
        if last.role == role {
            last.content.extend(blocks);
            return;
        }
    }
    messages.push(br::Message { role: role.to_string(), content: blocks });
}

/// A system entry's texts, each followed by its cache point if marked.
fn system_blocks(parts: Vec<Part>, i: usize) -> Result<Vec<br::SystemBlock>, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            // Converse rejects blank text blocks.
            Part::Text(t) if t.text.is_empty() => {}
            Part::Text(t) => {
                out.push(br::SystemBlock::text(t.text));
                if t.cache.is_some() {
                    out.push(br::SystemBlock::cache_point());
                }
            }
            Part::Reasoning(_) => {}
            Part::Refusal(_)
            | Part::Image(_)
            | Part::Document(_)
            | Part::Audio(_)
            | Part::ToolCall(_)
            | Part::ToolResult(_) => {
                return Err(err(format!("messages[{i}]: only text is supported in this message")))
            }
        }
    }
    Ok(out)
}

/// An entry's parts as content blocks: its tool results (they go to a user turn) and the rest.
/// `assistant`: the entry is the model's own (reasoning and tool calls belong there).
fn blocks_from_parts(
    parts: Vec<Part>,
    i: usize,
    assistant: bool,
) -> Result<(Vec<br::ContentBlock>, Vec<br::ContentBlock>), TranslateError> {
    let mut results = Vec::new();
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(t) if t.text.is_empty() => {}
            Part::Text(t) => {
                out.push(br::ContentBlock::text(t.text));
                if t.cache.is_some() {
                    out.push(br::ContentBlock::cache_point());
                }
            }
            Part::Refusal(text) => out.extend(text_block(text)),
            Part::Image(media) => {
                out.push(br::ContentBlock { image: Some(image(media, i)?), ..br::ContentBlock::default() })
            }
            Part::Document(doc) => out
                .push(br::ContentBlock { document: Some(document(doc, i)?), ..br::ContentBlock::default() }),
            Part::Audio(_) => return Err(audio_unsupported(i)),
            Part::Reasoning(r) if assistant => out.extend(reasoning_block(r)),
            // Reasoning is only ever handed back in the model's own turn.
            Part::Reasoning(_) => {}
            Part::ToolCall(call) if assistant => {
                let input = parse_arguments(&call.arguments).ok_or_else(|| {
                    err(format!("messages[{i}]: arguments of tool call `{}` are not a JSON object", call.id))
                })?;
                let tool_use = br::ToolUse { tool_use_id: call.id, name: call.name, input };
                out.push(br::ContentBlock { tool_use: Some(tool_use), ..br::ContentBlock::default() });
            }
            Part::ToolCall(_) => {
                return Err(err(format!("messages[{i}]: tool calls belong in assistant turns")))
            }
            Part::ToolResult(result) => results.push(br::ContentBlock {
                tool_result: Some(tool_result(result, i)?),
                ..br::ContentBlock::default()
            }),
        }
    }
    Ok((results, out))
}

/// Converse rejects blank text blocks.
fn text_block(text: String) -> Option<br::ContentBlock> {
    (!text.is_empty()).then(|| br::ContentBlock::text(text))
}

/// Signed reasoning as it came; redacted reasoning as its opaque data; `None` for reasoning
/// Converse would not take back (unsigned: another model's).
fn reasoning_block(reasoning: Reasoning) -> Option<br::ContentBlock> {
    if reasoning.issuer != Some(Issuer::Claude) {
        return None; // Converse hands back only Claude's reasoning.
    }
    let content = match (reasoning.redacted, reasoning.signature) {
        (Some(data), _) => br::ReasoningContent { redacted_content: Some(data), ..Default::default() },
        (None, Some(signature)) => br::ReasoningContent {
            reasoning_text: Some(br::ReasoningText { text: reasoning.text, signature: Some(signature) }),
            ..Default::default()
        },
        (None, None) => return None,
    };
    Some(br::ContentBlock { reasoning_content: Some(content), ..br::ContentBlock::default() })
}

/// A tool result: adjacent texts joined into one block, images and documents as they are.
fn tool_result(result: ToolResult, i: usize) -> Result<br::ToolResult, TranslateError> {
    let mut content: Vec<br::ToolResultContent> = Vec::with_capacity(result.content.len());
    for part in result.content {
        match part {
            Part::Text(ir::Text { text, .. }) | Part::Refusal(text) => push_result_text(&mut content, text),
            Part::Image(media) => {
                content.push(br::ToolResultContent { image: Some(image(media, i)?), ..Default::default() })
            }
            Part::Document(doc) => content
                .push(br::ToolResultContent { document: Some(document(doc, i)?), ..Default::default() }),
            Part::Reasoning(_) => {}
            Part::Audio(_) => return Err(audio_unsupported(i)),
            Part::ToolCall(_) | Part::ToolResult(_) => {
                return Err(err(format!("messages[{i}]: a tool result cannot hold tool calls or results")))
            }
        }
    }
    let status = result.is_error.then(|| "error".to_string());
    Ok(br::ToolResult { tool_use_id: result.call_id, content, status })
}

fn push_result_text(content: &mut Vec<br::ToolResultContent>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(br::ToolResultContent { text: Some(last), .. }) = content.last_mut() {
        last.push('\n');
        last.push_str(&text);
        return;
    }
    content.push(br::ToolResultContent { text: Some(text), ..Default::default() });
}

fn audio_unsupported(i: usize) -> TranslateError {
    err(format!("messages[{i}]: audio input is not supported for Bedrock models"))
}

fn image(media: Media, i: usize) -> Result<br::Image, TranslateError> {
    let (mime, data) = match media {
        Media::Base64 { mime, data } => (mime, data),
        Media::Url { .. } => {
            return Err(err(format!(
                "messages[{i}]: images must be inline base64 for Bedrock models (no remote URLs)"
            )))
        }
        Media::FileId(_) => {
            return Err(err(format!(
                "messages[{i}]: images must be inline base64 for Bedrock models (no file ids)"
            )))
        }
        Media::Text { mime, .. } => {
            let mime = mime.as_deref().unwrap_or("text/plain");
            return Err(err(format!("messages[{i}]: image type `{mime}` is not supported by Bedrock")));
        }
    };
    let format = match mime.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => return Err(err(format!("messages[{i}]: image type `{other}` is not supported by Bedrock"))),
    };
    Ok(br::Image { format: format.to_string(), source: bytes(data) })
}

/// An inline document (a plain-text one is sent as the bytes of its text).
fn document(doc: Document, i: usize) -> Result<br::Document, TranslateError> {
    let (mime, data) = match doc.source {
        Media::Base64 { mime, data } => (mime, data),
        Media::Text { mime, data } => (
            mime.unwrap_or_else(|| "text/plain".to_string()),
            base64::engine::general_purpose::STANDARD.encode(data),
        ),
        Media::Url { .. } | Media::FileId(_) => {
            return Err(err(format!(
                "messages[{i}]: only files given inline (base64) can be sent to Bedrock models"
            )))
        }
    };
    let format = match mime.as_str() {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" => "md",
        other => return Err(err(format!("messages[{i}]: file type `{other}` is not supported by Bedrock"))),
    };
    let name = document_name(doc.name.as_deref().unwrap_or_default());
    Ok(br::Document { format: format.to_string(), name, source: bytes(data) })
}

fn bytes(data: String) -> br::Source {
    br::Source { bytes: Some(data), rest: Rest::new() }
}

/// A file name as Converse accepts it: no extension, only ASCII letters and digits, hyphens, parentheses
/// and square brackets, words separated by single spaces (anything else becomes a space).
fn document_name(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(stem, _)| stem);
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') { c } else { ' ' })
        .collect();
    let name = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        "document".to_string()
    } else {
        name
    }
}

/// The tools and the choice among them; `None` without tools. Converse has no `none`: the
/// tools are left out, which it refuses once the conversation holds tool blocks.
fn tool_config(
    tools: Vec<ir::Tool>,
    choice: Option<ToolChoice>,
    has_tool_blocks: bool,
) -> Result<Option<br::ToolConfig>, TranslateError> {
    let choice = match choice {
        None => None,
        Some(ToolChoice::Auto) => Some(br::ToolChoice { auto: Some(br::Empty {}), ..Default::default() }),
        Some(ToolChoice::Required) => Some(br::ToolChoice { any: Some(br::Empty {}), ..Default::default() }),
        Some(ToolChoice::Function(name)) => {
            Some(br::ToolChoice { tool: Some(br::NamedTool { name }), ..Default::default() })
        }
        Some(ToolChoice::None) if has_tool_blocks && !tools.is_empty() => {
            return Err(err(
                "tool_choice `none` cannot be expressed for Bedrock models in a conversation with tool calls",
            ))
        }
        Some(ToolChoice::None) => return Ok(None),
        Some(ToolChoice::Other(other)) => return Err(err(format!("unknown tool_choice `{other}`"))),
    };
    if tools.is_empty() {
        return Ok(None);
    }
    Ok(Some(br::ToolConfig {
        tools: tools.into_iter().map(tool).collect::<Result<_, _>>()?,
        tool_choice: choice,
        rest: Rest::new(),
    }))
}

fn tool(tool: ir::Tool) -> Result<br::Tool, TranslateError> {
    let function = match tool {
        ir::Tool::Function(f) => f,
        ir::Tool::Other { kind } => {
            return Err(err(format!("tools of type `{kind}` are not supported for Bedrock models")))
        }
    };
    let schema = function.parameters.unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    Ok(br::Tool {
        tool_spec: Some(br::ToolSpec {
            name: function.name,
            description: function.description,
            input_schema: br::InputSchema { json: schema },
        }),
        rest: Rest::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// Answers: Converse → intermediate form

/// A Converse answer in the intermediate form. Converse answers carry no id: `id` is the
/// response's `x-amzn-requestid` (empty if unknown).
pub(crate) fn answer_to_ir(resp: br::ConverseResponse, id: &str) -> Answer {
    let mut parts = Vec::new();
    for block in resp.output.message.map(|m| m.content).unwrap_or_default() {
        if let Some(call) = block.tool_use {
            let arguments = call.input.to_string();
            parts.push(Part::ToolCall(ir::ToolCall { id: call.tool_use_id, name: call.name, arguments }));
        } else if let Some(text) = block.text {
            push_text(&mut parts, text);
        } else if let Some(reasoning) = block.reasoning_content {
            parts.extend(reasoning_to_ir(reasoning));
        }
        // citationsContent, guardContent …: not translated.
    }
    let candidate = Candidate {
        parts,
        finish: resp.stop_reason.as_deref().map(FinishReason::from_bedrock),
        stop_sequence: stop_sequence(&resp.rest),
        index: 0,
    };
    Answer {
        id: id.to_string(),
        model: String::new(),
        candidates: vec![candidate],
        usage: resp.usage.as_ref().map(Usage::from_bedrock),
    }
}

/// Appends a text, joined to the text before it: Converse may split one text into several
/// blocks, which say nothing more than the text.
fn push_text(parts: &mut Vec<Part>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(last)) = parts.last_mut() {
        last.text.push_str(&text);
        return;
    }
    parts.push(Part::text(text));
}

fn reasoning_to_ir(content: br::ReasoningContent) -> Option<Part> {
    let reasoning = match (content.reasoning_text, content.redacted_content) {
        (_, Some(data)) => {
            Reasoning { redacted: Some(data), issuer: Some(Issuer::Claude), ..Reasoning::default() }
        }
        // Signed reasoning on Bedrock is Claude's (other models' carries no signature).
        (Some(t), None) => Reasoning {
            issuer: t.signature.is_some().then_some(Issuer::Claude),
            text: t.text,
            signature: t.signature,
            ..Reasoning::default()
        },
        (None, None) => return None,
    };
    Some(Part::Reasoning(reasoning))
}

/// The stop sequence that ended the answer: Converse says it only among the model's own fields,
/// and only for models that report it (Claude's `stop_sequence`, when the request asked for it
/// in `additionalModelResponseFieldPaths`).
fn stop_sequence(rest: &Rest) -> Option<String> {
    rest.get("additionalModelResponseFields")?.get("stop_sequence")?.as_str().map(str::to_string)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "bedrock_tests.rs"]
mod tests;
