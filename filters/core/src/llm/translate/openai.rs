//! OpenAI chat completions ⇄ the intermediate form ([`crate::llm::ir`]), requests and complete
//! answers.
//!
//! OpenAI's shape is close to the intermediate form's: messages by role, content as a string
//! or typed parts, tool calls on assistant messages, tool results as `tool` messages. What it
//! cannot say is dropped on the way out, where that leaves the meaning intact: reasoning
//! (another model's cannot be handed to this one), cache markers, `top_k`.

use super::anthropic::{openai_id, strip_openai_prefix};
use super::{data_url, parse_data_url, FinishReason, TranslateError};
use crate::llm::ir::{
    self, Answer, Candidate, Conversation, Document, Entry, Media, Part, ResponseFormat, Role, Sampling,
    ToolChoice, ToolResult,
};
use crate::llm::usage::Usage;
use crate::llm::wire::openai as oa;
use crate::llm::wire::Rest;

// ---------------------------------------------------------------------------------------------
// Requests: OpenAI → intermediate form

pub(crate) fn request_to_ir(req: oa::ChatRequest, empty_ok: bool) -> Result<Conversation, TranslateError> {
    if req.messages.is_empty() && !empty_ok {
        return Err(TranslateError::unsupported("`messages` must not be empty"));
    }
    let mut entries = Vec::with_capacity(req.messages.len());
    for (source, message) in req.messages.into_iter().enumerate() {
        entries.push(match message {
            oa::Message::System(m) => content_entry(Role::System, m.content, source),
            oa::Message::Developer(m) => content_entry(Role::Developer, m.content, source),
            oa::Message::User(m) => content_entry(Role::User, m.content, source),
            oa::Message::Assistant(m) => {
                let (mut parts, plain) = match m.content {
                    Some(oa::Content::Text(text)) if text.is_empty() => (Vec::new(), true),
                    Some(oa::Content::Text(text)) => (vec![Part::text(text)], true),
                    Some(oa::Content::Parts(parts)) => (parts.into_iter().map(part_to_ir).collect(), false),
                    None => (Vec::new(), true),
                };
                if let Some(refusal) = m.refusal {
                    parts.push(Part::Refusal(refusal));
                }
                for call in m.tool_calls.unwrap_or_default() {
                    parts.push(tool_call_to_ir(call));
                }
                Entry { role: Role::Assistant, parts, plain, source }
            }
            oa::Message::Tool(m) => {
                let (content, plain) = content_parts(m.content);
                let result =
                    ToolResult { call_id: m.tool_call_id, name: None, content, plain, is_error: false };
                Entry { role: Role::Tool, parts: vec![Part::ToolResult(result)], plain: false, source }
            }
        });
    }
    let tools = req
        .tools
        .unwrap_or_default()
        .into_iter()
        .map(|tool| match (tool.kind.as_str(), tool.function) {
            ("function", Some(f)) => ir::Tool::Function(ir::Function {
                name: f.name,
                description: f.description,
                parameters: f.parameters,
                strict: f.strict,
            }),
            (kind, _) => ir::Tool::Other { kind: kind.to_string() },
        })
        .collect();
    let tool_choice = req.tool_choice.map(|choice| match choice {
        oa::ToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => ToolChoice::Other(mode),
        },
        oa::ToolChoice::Named(named) => ToolChoice::Function(named.function.name),
    });
    let response_format = req.response_format.map(|f| match (f.kind.as_str(), f.json_schema) {
        ("json_schema", Some(s)) => ResponseFormat::JsonSchema {
            name: s.name,
            description: s.description,
            schema: s.schema,
            strict: s.strict,
        },
        ("json_schema" | "json_object", None) | ("json_object", Some(_)) => ResponseFormat::Json,
        _ => ResponseFormat::Text,
    });
    let mut rest = req.rest;
    Ok(Conversation {
        entries,
        tools,
        tool_choice,
        parallel_tool_calls: req.parallel_tool_calls,
        sampling: Sampling {
            max_output_tokens: req.max_completion_tokens.or(req.max_tokens),
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: None,
            stop: req.stop.map(oa::Stop::into_vec),
            seed: req.seed,
            presence_penalty: req.presence_penalty,
            frequency_penalty: req.frequency_penalty,
            candidates: req.n,
            response_format,
        },
        user: req.user,
        audio_output: rest.remove("audio").filter(|a| !a.is_null()),
    })
}

fn tool_call_to_ir(call: oa::ToolCall) -> Part {
    Part::ToolCall(ir::ToolCall { id: call.id, name: call.function.name, arguments: call.function.arguments })
}

fn content_entry(role: Role, content: oa::Content, source: usize) -> Entry {
    let (parts, plain) = content_parts(content);
    Entry { role, parts, plain, source }
}

fn content_parts(content: oa::Content) -> (Vec<Part>, bool) {
    match content {
        oa::Content::Text(text) => (vec![Part::text(text)], true),
        oa::Content::Parts(parts) => (parts.into_iter().map(part_to_ir).collect(), false),
    }
}

fn part_to_ir(part: oa::ContentPart) -> Part {
    match part {
        oa::ContentPart::Text { text } => Part::text(text),
        oa::ContentPart::Refusal { refusal } => Part::Refusal(refusal),
        oa::ContentPart::ImageUrl { image_url } => Part::Image(media_of_url(image_url.url)),
        oa::ContentPart::InputAudio { input_audio } => Part::Audio(input_audio),
        oa::ContentPart::File { file } => {
            let source = match (file.file_data, file.file_id) {
                (Some(data), _) => media_of_url(data),
                (None, Some(id)) => Media::FileId(id),
                (None, None) => Media::FileId(String::new()),
            };
            Part::Document(Document { source, name: file.filename })
        }
    }
}

/// A `data:` URL's bytes, or the URL.
fn media_of_url(url: String) -> Media {
    match parse_data_url(&url) {
        Some((mime, data)) => Media::Base64 { mime: mime.to_string(), data: data.to_string() },
        None => Media::Url { url, mime: None },
    }
}

// ---------------------------------------------------------------------------------------------
// Requests: intermediate form → OpenAI

/// The OpenAI request for `conversation`; `stream` also asks the stream for its usage.
pub(crate) fn request_from_ir(conversation: Conversation, model: &str, stream: bool) -> oa::ChatRequest {
    let mut messages = Vec::with_capacity(conversation.entries.len());
    for entry in conversation.entries {
        let Entry { role, parts, plain, .. } = entry;
        // Tool results travel as `tool` messages, before the rest of their turn.
        let (results, parts): (Vec<Part>, Vec<Part>) =
            parts.into_iter().partition(|p| matches!(p, Part::ToolResult(_)));
        for result in results {
            if let Part::ToolResult(r) = result {
                messages.push(oa::Message::Tool(oa::ToolMessage {
                    tool_call_id: r.call_id,
                    // OpenAI has no error flag on a tool result: its text says it.
                    content: instructions_of(r.content, r.plain),
                    rest: Rest::new(),
                }));
            }
        }
        match role {
            // An entry that held only tool results.
            Role::System | Role::Developer | Role::User if parts.is_empty() => {}
            Role::System => {
                messages.push(oa::Message::System(content_message(instructions_of(parts, plain))))
            }
            Role::Developer => {
                messages.push(oa::Message::Developer(content_message(instructions_of(parts, plain))))
            }
            Role::User => messages.push(oa::Message::User(content_message(content_of(parts, plain)))),
            Role::Assistant => messages.push(oa::Message::Assistant(assistant_message(parts, plain))),
            Role::Tool => {}
        }
    }
    let tools: Vec<oa::Tool> = conversation
        .tools
        .into_iter()
        .map(|tool| match tool {
            ir::Tool::Function(f) => {
                let mut tool = oa::Tool::function(f.name, f.description, f.parameters);
                if let Some(def) = &mut tool.function {
                    def.strict = f.strict;
                }
                tool
            }
            ir::Tool::Other { kind } => oa::Tool { kind, function: None, rest: Rest::new() },
        })
        .collect();
    let mode = |m: &str| oa::ToolChoice::Mode(m.to_string());
    let tool_choice = conversation.tool_choice.map(|choice| match choice {
        ToolChoice::Auto => mode("auto"),
        ToolChoice::None => mode("none"),
        ToolChoice::Required => mode("required"),
        ToolChoice::Function(name) => oa::ToolChoice::function(name),
        ToolChoice::Other(other) => oa::ToolChoice::Mode(other),
    });
    let sampling = conversation.sampling;
    let response_format = sampling.response_format.map(|f| match f {
        ResponseFormat::Text => oa::ResponseFormat { kind: "text".into(), json_schema: None },
        ResponseFormat::Json => oa::ResponseFormat { kind: "json_object".into(), json_schema: None },
        ResponseFormat::JsonSchema { name, description, schema, strict } => oa::ResponseFormat {
            kind: "json_schema".into(),
            json_schema: Some(oa::JsonSchemaFormat { name, description, schema, strict }),
        },
    });
    let mut rest = Rest::new();
    if let Some(audio) = conversation.audio_output {
        rest.insert("audio".into(), audio);
    }
    oa::ChatRequest {
        model: model.to_string(),
        messages,
        max_completion_tokens: sampling.max_output_tokens,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        n: sampling.candidates,
        stream: stream.then_some(true),
        // Without it an OpenAI stream carries no usage, and every client expects usage.
        stream_options: stream.then(|| oa::StreamOptions { include_usage: Some(true), rest: Rest::new() }),
        stop: sampling.stop.map(oa::Stop::Many),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        parallel_tool_calls: conversation.parallel_tool_calls,
        response_format,
        seed: sampling.seed,
        presence_penalty: sampling.presence_penalty,
        frequency_penalty: sampling.frequency_penalty,
        user: conversation.user,
        rest,
        ..oa::ChatRequest::default()
    }
}

fn content_message(content: oa::Content) -> oa::ContentMessage {
    oa::ContentMessage { content, name: None, rest: Rest::new() }
}

/// Parts as OpenAI content: one string where the parts are text only and may be written so,
/// typed parts otherwise. Reasoning has no OpenAI request form and is left out.
fn content_of(parts: Vec<Part>, plain: bool) -> oa::Content {
    if plain && parts.iter().all(|p| matches!(p, Part::Text(_))) {
        let mut text = String::new();
        for part in parts {
            if let Part::Text(t) = part {
                text.push_str(&t.text);
            }
        }
        return oa::Content::Text(text);
    }
    oa::Content::Parts(parts.into_iter().filter_map(part_from_ir).collect())
}

/// System, developer and tool content: texts only are one string, joined by line breaks, as
/// every OpenAI-compatible server accepts (some take no typed parts there); anything else as
/// [`content_of`] writes it.
fn instructions_of(parts: Vec<Part>, plain: bool) -> oa::Content {
    if parts.len() > 1 && parts.iter().all(|p| matches!(p, Part::Text(_))) {
        let texts: Vec<String> = parts
            .into_iter()
            .filter_map(|p| if let Part::Text(t) = p { Some(t.text) } else { None })
            .collect();
        return oa::Content::Text(texts.join("\n"));
    }
    content_of(parts, plain)
}

fn part_from_ir(part: Part) -> Option<oa::ContentPart> {
    Some(match part {
        Part::Text(t) => oa::ContentPart::Text { text: t.text },
        Part::Refusal(refusal) => oa::ContentPart::Refusal { refusal },
        Part::Image(media) => {
            oa::ContentPart::ImageUrl { image_url: oa::ImageUrl { url: url_of(media), detail: None } }
        }
        Part::Audio(input_audio) => oa::ContentPart::InputAudio { input_audio },
        Part::Document(doc) => {
            let file = match doc.source {
                Media::FileId(id) => oa::FileRef { file_data: None, file_id: Some(id), filename: doc.name },
                source => oa::FileRef { file_data: Some(url_of(source)), file_id: None, filename: doc.name },
            };
            oa::ContentPart::File { file }
        }
        Part::Reasoning(_) | Part::ToolCall(_) | Part::ToolResult(_) => return None,
    })
}

fn url_of(media: Media) -> String {
    match media {
        Media::Url { url, .. } => url,
        Media::Base64 { mime, data } => data_url(&mime, &data),
        Media::FileId(id) => id,
        Media::Text { mime, data } => data_url(mime.as_deref().unwrap_or("text/plain"), &data),
    }
}

fn assistant_message(parts: Vec<Part>, plain: bool) -> oa::AssistantMessage {
    let mut tool_calls = Vec::new();
    let mut content = Vec::new();
    for part in parts {
        match part {
            Part::ToolCall(call) => {
                tool_calls.push(oa::ToolCall::function(call.id, call.name, call.arguments))
            }
            // Another model's reasoning cannot be handed to this one.
            Part::Reasoning(_) => {}
            other => content.push(other),
        }
    }
    let (content, refusal) = if plain {
        let mut text = String::new();
        let mut refusal: Option<String> = None;
        for part in content {
            match part {
                Part::Text(t) => text.push_str(&t.text),
                Part::Refusal(r) => refusal.get_or_insert_with(String::new).push_str(&r),
                _ => {}
            }
        }
        ((!text.is_empty() || tool_calls.is_empty()).then_some(oa::Content::Text(text)), refusal)
    } else {
        (Some(oa::Content::Parts(content.into_iter().filter_map(part_from_ir).collect())), None)
    };
    oa::AssistantMessage {
        content,
        refusal,
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        ..oa::AssistantMessage::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

/// An OpenAI chat completion in the intermediate form, one candidate per choice.
pub(crate) fn answer_to_ir(resp: oa::ChatCompletion) -> Answer {
    let candidates = resp
        .choices
        .into_iter()
        .map(|choice| {
            let mut message = choice.message;
            let mut parts = Vec::new();
            // DeepSeek, vLLM, OpenRouter and others answer with the reasoning beside the text.
            for field in ["reasoning_content", "reasoning"] {
                if let Some(serde_json::Value::String(text)) = message.rest.remove(field) {
                    if !text.is_empty() && parts.is_empty() {
                        parts.push(Part::Reasoning(ir::Reasoning { text, ..ir::Reasoning::default() }));
                    }
                }
            }
            match message.content {
                Some(oa::Content::Text(text)) if !text.is_empty() => parts.push(Part::text(text)),
                Some(oa::Content::Parts(content)) => {
                    for part in content {
                        match part {
                            oa::ContentPart::Text { text } if !text.is_empty() => {
                                parts.push(Part::text(text))
                            }
                            oa::ContentPart::Refusal { refusal } if !refusal.is_empty() => {
                                parts.push(Part::Refusal(refusal))
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
                parts.push(Part::Refusal(refusal));
            }
            for call in message.tool_calls.unwrap_or_default() {
                parts.push(tool_call_to_ir(call));
            }
            Candidate {
                parts,
                finish: choice.finish_reason.as_deref().map(FinishReason::from_openai),
                stop_sequence: None,
                index: choice.index,
            }
        })
        .collect();
    Answer { id: resp.id, model: resp.model, candidates, usage: resp.usage.as_ref().map(Usage::from_openai) }
}

/// An answer as an OpenAI chat completion, for an OpenAI client that asked for `model`.
pub(crate) fn answer_from_ir(answer: Answer, model: &str) -> oa::ChatCompletion {
    let choices = answer
        .candidates
        .into_iter()
        .map(|candidate| {
            let mut text = String::new();
            let mut refusal: Option<String> = None;
            let mut reasoning = String::new();
            let mut tool_calls = Vec::new();
            for part in candidate.parts {
                match part {
                    Part::Text(t) => text.push_str(&t.text),
                    Part::Reasoning(r) => reasoning.push_str(if r.text.is_empty() {
                        r.summary.as_deref().unwrap_or_default()
                    } else {
                        &r.text
                    }),
                    Part::Refusal(r) => refusal.get_or_insert_with(String::new).push_str(&r),
                    Part::ToolCall(call) => {
                        tool_calls.push(oa::ToolCall::function(call.id, call.name, call.arguments))
                    }
                    _ => {}
                }
            }
            oa::Choice {
                index: candidate.index,
                message: oa::ResponseMessage {
                    role: "assistant".to_string(),
                    content: (!text.is_empty()).then_some(oa::Content::Text(text)),
                    refusal,
                    tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                    // Where compatible servers put it (the official SDKs ignore the field); as
                    // streams carry it. Never a signature: a client cannot hand it back.
                    rest: if reasoning.is_empty() {
                        Rest::new()
                    } else {
                        Rest::from_iter([(
                            "reasoning_content".to_string(),
                            serde_json::Value::String(reasoning),
                        )])
                    },
                },
                logprobs: None,
                finish_reason: Some(candidate.finish.unwrap_or(FinishReason::Stop).openai().to_string()),
            }
        })
        .collect();
    oa::ChatCompletion {
        id: openai_id(strip_openai_prefix(&answer.id)),
        object: "chat.completion".to_string(),
        created: 0,
        model: model.to_string(),
        choices,
        usage: answer.usage.map(|u| u.to_openai()),
        rest: Rest::new(),
    }
}
