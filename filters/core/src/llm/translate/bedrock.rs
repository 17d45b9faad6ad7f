//! OpenAI chat ⇄ Bedrock Converse, requests (to Converse only: no client speaks it) and
//! complete responses (from Converse).
//!
//! Converse wants alternating `user`/`assistant` turns: consecutive messages of one role are
//! merged, OpenAI `tool` messages become `toolResult` blocks of a user turn (`status: error` for
//! an Anthropic client's `is_error` result, carried through the hub), and the model is in the
//! path (never in the body). It has no `none` tool choice: without tool blocks in the
//! conversation the tools are left out instead, with them the request is refused (Converse
//! requires `toolConfig` whenever the conversation holds tool blocks). Images and files must be
//! inline (`data:` URLs; Converse fetches no URLs); files become `document` blocks named after
//! their file name. `response_format`, `seed` and the penalties have
//! no Converse counterpart and are dropped, as for Anthropic.

use super::anthropic::{openai_id, parse_arguments};
use super::{parse_data_url, FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::bedrock as br;
use crate::llm::wire::openai as oa;
use crate::llm::wire::Rest;
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
// Requests: OpenAI → Converse

pub(crate) fn request_from_openai(
    req: oa::ChatRequest,
    empty_ok: bool,
) -> Result<br::ConverseRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported for Bedrock models"));
    }
    if req.rest.get("audio").is_some_and(|a| !a.is_null()) {
        return Err(err("audio output is not supported for Bedrock models"));
    }
    if req.messages.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<br::Message> = Vec::new();
    for (i, message) in req.messages.into_iter().enumerate() {
        match message {
            oa::Message::System(m) | oa::Message::Developer(m) => {
                system.extend(texts(m.content, i)?.into_iter().map(br::SystemBlock::text));
            }
            oa::Message::User(m) => {
                let blocks = match m.content {
                    oa::Content::Text(text) => text_block(text).into_iter().collect(),
                    oa::Content::Parts(parts) => blocks_from_parts(parts, i)?,
                };
                push_turn(&mut messages, "user", blocks);
            }
            oa::Message::Assistant(m) => {
                let mut blocks = match m.content {
                    Some(oa::Content::Text(text)) => text_block(text).into_iter().collect(),
                    Some(oa::Content::Parts(parts)) => blocks_from_parts(parts, i)?,
                    None => Vec::new(),
                };
                blocks.extend(m.refusal.and_then(text_block));
                for call in m.tool_calls.unwrap_or_default() {
                    let input = parse_arguments(&call.function.arguments).ok_or_else(|| {
                        err(format!(
                            "messages[{i}]: arguments of tool call `{}` are not a JSON object",
                            call.id
                        ))
                    })?;
                    blocks.push(br::ContentBlock {
                        tool_use: Some(br::ToolUse { tool_use_id: call.id, name: call.function.name, input }),
                        ..br::ContentBlock::default()
                    });
                }
                push_turn(&mut messages, "assistant", blocks);
            }
            oa::Message::Tool(m) => {
                let text = texts(m.content, i)?.join("\n");
                let content = if text.is_empty() {
                    Vec::new()
                } else {
                    vec![br::ToolResultContent { text: Some(text), ..br::ToolResultContent::default() }]
                };
                let status = m.is_error.then(|| "error".to_string());
                let result = br::ToolResult { tool_use_id: m.tool_call_id, content, status };
                let block = br::ContentBlock { tool_result: Some(result), ..br::ContentBlock::default() };
                push_turn(&mut messages, "user", vec![block]);
            }
        }
    }

    let has_tool_blocks =
        messages.iter().flat_map(|m| &m.content).any(|b| b.tool_use.is_some() || b.tool_result.is_some());
    let config = br::InferenceConfig {
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: req.stop.map(oa::Stop::into_vec),
        rest: Rest::new(),
    };
    let tools = req.tools.unwrap_or_default();
    let choice = match req.tool_choice {
        None => None,
        Some(oa::ToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => Some(br::ToolChoice { auto: Some(br::Empty {}), ..br::ToolChoice::default() }),
            "required" => Some(br::ToolChoice { any: Some(br::Empty {}), ..br::ToolChoice::default() }),
            // Converse has no `none`: the tools are left out, which it refuses once the
            // conversation holds tool blocks.
            "none" if has_tool_blocks && !tools.is_empty() => return Err(err(
                "tool_choice `none` cannot be expressed for Bedrock models in a conversation with tool calls",
            )),
            "none" => return Ok(converse(messages, system, config, None)),
            other => return Err(err(format!("unknown tool_choice `{other}`"))),
        },
        Some(oa::ToolChoice::Named(named)) => Some(br::ToolChoice {
            tool: Some(br::NamedTool { name: named.function.name }),
            ..br::ToolChoice::default()
        }),
    };
    let tool_config = if tools.is_empty() {
        None
    } else {
        Some(br::ToolConfig {
            tools: tools.into_iter().map(tool_from_openai).collect::<Result<_, _>>()?,
            tool_choice: choice,
            rest: Rest::new(),
        })
    };
    Ok(converse(messages, system, config, tool_config))
}

fn converse(
    messages: Vec<br::Message>,
    system: Vec<br::SystemBlock>,
    config: br::InferenceConfig,
    tool_config: Option<br::ToolConfig>,
) -> br::ConverseRequest {
    br::ConverseRequest {
        messages,
        system: (!system.is_empty()).then_some(system),
        inference_config: (!config.is_empty()).then_some(config),
        tool_config,
        rest: Rest::new(),
    }
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

/// Converse rejects blank text blocks.
fn text_block(text: String) -> Option<br::ContentBlock> {
    (!text.is_empty()).then(|| br::ContentBlock::text(text))
}

/// The text of content that may only hold text (system and tool messages).
fn texts(content: oa::Content, i: usize) -> Result<Vec<String>, TranslateError> {
    match content {
        oa::Content::Text(text) => Ok((!text.is_empty()).then_some(text).into_iter().collect()),
        oa::Content::Parts(parts) => parts
            .into_iter()
            .filter_map(|part| match part {
                oa::ContentPart::Text { text } if text.is_empty() => None,
                oa::ContentPart::Text { text } => Some(Ok(text)),
                _ => Some(Err(err(format!("messages[{i}]: only text is supported in this message")))),
            })
            .collect(),
    }
}

fn blocks_from_parts(parts: Vec<oa::ContentPart>, i: usize) -> Result<Vec<br::ContentBlock>, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text } => {
                out.extend(text_block(text));
            }
            oa::ContentPart::ImageUrl { image_url } => {
                let Some((mime, data)) = parse_data_url(&image_url.url) else {
                    return Err(err(format!(
                        "messages[{i}]: images must be base64 data: URLs for Bedrock models (no remote URLs)"
                    )));
                };
                let format = match mime {
                    "image/png" => "png",
                    "image/jpeg" | "image/jpg" => "jpeg",
                    "image/gif" => "gif",
                    "image/webp" => "webp",
                    other => {
                        return Err(err(format!(
                            "messages[{i}]: image type `{other}` is not supported by Bedrock"
                        )))
                    }
                };
                let source = br::Source { bytes: Some(data.to_string()), rest: Rest::new() };
                out.push(br::ContentBlock {
                    image: Some(br::Image { format: format.to_string(), source }),
                    ..br::ContentBlock::default()
                });
            }
            oa::ContentPart::File { file } => out.push(document(file, i)?),
            oa::ContentPart::InputAudio { .. } => {
                return Err(err(format!("messages[{i}]: audio input is not supported for Bedrock models")))
            }
        }
    }
    Ok(out)
}

/// An inline file as a Converse document.
fn document(file: oa::FileRef, i: usize) -> Result<br::ContentBlock, TranslateError> {
    let Some((mime, data)) = file.file_data.as_deref().and_then(parse_data_url) else {
        return Err(err(format!(
            "messages[{i}]: only files given inline as base64 `file_data` can be sent to Bedrock models"
        )));
    };
    let format = match mime {
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
    let source = br::Source { bytes: Some(data.to_string()), rest: Rest::new() };
    let name = document_name(file.filename.as_deref().unwrap_or_default());
    Ok(br::ContentBlock {
        document: Some(br::Document { format: format.to_string(), name, source }),
        ..br::ContentBlock::default()
    })
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

fn tool_from_openai(tool: oa::Tool) -> Result<br::Tool, TranslateError> {
    let function = match (tool.kind.as_str(), tool.function) {
        ("function", Some(f)) => f,
        (kind, _) => return Err(err(format!("tools of type `{kind}` are not supported for Bedrock models"))),
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
// Responses: Converse → OpenAI

/// A Converse response as an OpenAI chat completion. Converse answers carry no id: `id` is the
/// response's `x-amzn-requestid` (empty if unknown).
pub(crate) fn response_to_openai(resp: br::ConverseResponse, id: &str, model: &str) -> oa::ChatCompletion {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in resp.output.message.map(|m| m.content).unwrap_or_default() {
        if let Some(call) = block.tool_use {
            tool_calls.push(oa::ToolCall::function(call.tool_use_id, call.name, call.input.to_string()));
        } else if let Some(t) = block.text {
            text.push_str(&t);
        }
        // reasoningContent, citations …: not translated.
    }
    let reason = resp.stop_reason.as_deref().map_or(FinishReason::Stop, FinishReason::from_bedrock);
    oa::ChatCompletion::single(
        openai_id(id),
        model,
        text,
        tool_calls,
        reason.openai(),
        resp.usage.as_ref().map(|u| Usage::from_bedrock(u).to_openai()),
    )
}

// ---------------------------------------------------------------------------------------------
// The intermediate form. Transitional: through the OpenAI shape until this module reads and
// writes the intermediate form itself.

pub(crate) fn request_from_ir(
    conversation: crate::llm::ir::Conversation,
    empty_ok: bool,
) -> Result<br::ConverseRequest, TranslateError> {
    request_from_openai(super::openai::request_from_ir(conversation, "", false), empty_ok)
}

/// `id`: the answer's id from the response headers (Converse answers carry none).
pub(crate) fn answer_to_ir(resp: br::ConverseResponse, id: &str) -> crate::llm::ir::Answer {
    let usage = resp.usage.as_ref().map(Usage::from_bedrock);
    let mut answer = super::openai::answer_to_ir(response_to_openai(resp, id, ""));
    // OpenAI's usage has no cache writes: taken from the answer itself.
    if usage.is_some() {
        answer.usage = usage;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_are_what_converse_accepts() {
        assert_eq!(document_name("Q3 report (final).pdf"), "Q3 report (final)");
        assert_eq!(document_name("a_b.c  d.txt"), "a b c d");
        assert_eq!(document_name(".pdf"), "document");
        assert_eq!(document_name(""), "document");
        assert_eq!(document_name("résumé"), "r sum");
    }
}
