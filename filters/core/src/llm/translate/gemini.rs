//! OpenAI chat ⇄ Gemini `generateContent`, requests and complete responses.
//!
//! Gemini's roles are `user` and `model`; tool calls are `functionCall` parts and their results
//! `functionResponse` parts in a user turn, matched by function *name* — there are no call ids.
//! Ids are synthesised for OpenAI clients as `call_<n>` (the call's position in the response),
//! and a tool message's function name is found from the earlier call with its id.
//!
//! Gemini 3 signs its function calls (`thoughtSignature`) and rejects a follow-up request whose
//! calls lost their signature. OpenAI has nowhere to put it but the id, so a signed call's id is
//! `call_<n>` + [`SIGNATURE_SEPARATOR`] + the signature (URL-safe base64, so the id stays within
//! `[A-Za-z0-9_-]`), and the signature is restored when the call comes back.

use super::anthropic::openai_id;
use super::{data_url, parse_data_url, schema, FinishReason, TranslateError};
use crate::llm::usage::Usage;
use crate::llm::wire::gemini as gm;
use crate::llm::wire::openai as oa;
use crate::llm::wire::Rest;
use serde_json::{Map, Value};

/// Between a synthesised call id and the Gemini thought signature it carries.
pub const SIGNATURE_SEPARATOR: &str = "__sig__";

fn err(message: impl Into<String>) -> TranslateError {
    TranslateError::unsupported(message)
}

impl FinishReason {
    /// Gemini says `STOP` after function calls too; `has_tool_calls` makes it `ToolCalls`.
    pub(crate) fn from_gemini(reason: &str, has_tool_calls: bool) -> Self {
        match reason {
            "MAX_TOKENS" => FinishReason::Length,
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION" => FinishReason::ContentFilter,
            _ if has_tool_calls => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        }
    }

    pub(crate) fn gemini(self) -> &'static str {
        match self {
            FinishReason::Stop | FinishReason::StopSequence | FinishReason::ToolCalls => "STOP",
            FinishReason::Length => "MAX_TOKENS",
            FinishReason::ContentFilter => "SAFETY",
        }
    }
}

/// A Gemini `functionCall` as an OpenAI tool call (absent `args` are an empty object).
fn openai_call(id: String, name: String, args: Option<Value>) -> oa::ToolCall {
    let args = args.unwrap_or_else(|| Value::Object(Map::new()));
    oa::ToolCall::function(id, name, args.to_string())
}

/// The OpenAI id of the `index`-th function call of a response, carrying its signature.
pub(crate) fn call_id(index: usize, signature: Option<&str>) -> String {
    match signature.filter(|s| !s.is_empty()) {
        Some(sig) => {
            let mut id = format!("call_{index}{SIGNATURE_SEPARATOR}");
            id.extend(sig.chars().filter(|c| *c != '=').map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            }));
            id
        }
        None => format!("call_{index}"),
    }
}

/// The thought signature a synthesised id carries, back in standard base64.
fn signature_of(id: &str) -> Option<String> {
    let (head, sig) = id.split_once(SIGNATURE_SEPARATOR)?;
    let digits = head.strip_prefix("call_")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || sig.is_empty() {
        return None;
    }
    let mut out: String = sig
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padding = (4usize.wrapping_sub(out.len() % 4)) % 4;
    out.extend(std::iter::repeat_n('=', padding));
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Requests: OpenAI → Gemini

pub(crate) fn request_from_openai(
    req: oa::ChatRequest,
    empty_ok: bool,
) -> Result<gm::GenerateContentRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported for Gemini models"));
    }
    if req.messages.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut system = Vec::new();
    let mut contents: Vec<gm::Content> = Vec::new();
    // (call id, function name) of every assistant tool call so far, to name tool results.
    let mut calls: Vec<(String, String)> = Vec::new();
    for (i, message) in req.messages.into_iter().enumerate() {
        match message {
            oa::Message::System(m) | oa::Message::Developer(m) => {
                for text in texts(m.content, i)? {
                    system.push(gm::Part::text(text));
                }
            }
            oa::Message::User(m) => {
                let parts = match m.content {
                    oa::Content::Text(text) => text_part(text).into_iter().collect(),
                    oa::Content::Parts(parts) => parts_from_openai(parts, i)?,
                };
                push_turn(&mut contents, "user", parts);
            }
            oa::Message::Assistant(m) => {
                let mut parts = match m.content {
                    Some(oa::Content::Text(text)) => text_part(text).into_iter().collect(),
                    Some(oa::Content::Parts(parts)) => parts_from_openai(parts, i)?,
                    None => Vec::new(),
                };
                if let Some(refusal) = m.refusal {
                    parts.extend(text_part(refusal));
                }
                for call in m.tool_calls.unwrap_or_default() {
                    let args =
                        super::anthropic::parse_arguments(&call.function.arguments).ok_or_else(|| {
                            err(format!(
                                "messages[{i}]: arguments of tool call `{}` are not a JSON object",
                                call.id
                            ))
                        })?;
                    parts.push(gm::Part {
                        thought_signature: signature_of(&call.id),
                        function_call: Some(gm::FunctionCall {
                            id: None,
                            name: call.function.name.clone(),
                            args: Some(args),
                        }),
                        ..gm::Part::default()
                    });
                    calls.push((call.id, call.function.name));
                }
                push_turn(&mut contents, "model", parts);
            }
            oa::Message::Tool(m) => {
                let Some(name) =
                    calls.iter().rev().find(|(id, _)| *id == m.tool_call_id).map(|(_, name)| name.clone())
                else {
                    return Err(err(format!(
                        "messages[{i}]: tool result for unknown tool_call_id `{}`",
                        m.tool_call_id
                    )));
                };
                let text = texts(m.content, i)?.join("\n");
                // An object is the whole response; anything else is `{"output": text}`.
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Object(_)) => v,
                    _ => serde_json::json!({ "output": text }),
                };
                let part = gm::Part {
                    function_response: Some(gm::FunctionResponse { id: None, name, response }),
                    ..gm::Part::default()
                };
                push_turn(&mut contents, "user", vec![part]);
            }
        }
    }

    let tools = match req.tools {
        Some(tools) if !tools.is_empty() => {
            let declarations =
                tools.into_iter().map(declaration_from_openai).collect::<Result<Vec<_>, _>>()?;
            Some(vec![gm::Tool { function_declarations: Some(declarations), rest: Rest::new() }])
        }
        _ => None,
    };
    let tool_config = match (&tools, req.tool_choice) {
        (Some(_), Some(choice)) => Some(tool_config_from_openai(choice)?),
        _ => None,
    };

    let mut config = gm::GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        max_output_tokens: req.max_completion_tokens.or(req.max_tokens),
        stop_sequences: req.stop.map(oa::Stop::into_vec),
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        ..gm::GenerationConfig::default()
    };
    if let Some(format) = req.response_format {
        match format.kind.as_str() {
            "text" => {}
            "json_object" => config.response_mime_type = Some("application/json".into()),
            "json_schema" => {
                config.response_mime_type = Some("application/json".into());
                if let Some(s) = format.json_schema.and_then(|j| j.schema) {
                    config.response_schema = Some(schema::to_gemini(&s)?);
                }
            }
            other => return Err(err(format!("unknown response_format type `{other}`"))),
        }
    }

    Ok(gm::GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then_some(gm::Content { role: None, parts: system }),
        tools,
        tool_config,
        generation_config: (!config.is_empty()).then_some(config),
        rest: Rest::new(),
    })
}

/// Appends a turn, merging it into the previous one when the role repeats (several tool
/// results answer one model turn in a single user turn).
fn push_turn(contents: &mut Vec<gm::Content>, role: &str, parts: Vec<gm::Part>) {
    if parts.is_empty() {
        return;
    }
    if let Some(last) = contents.last_mut() {
        if last.role.as_deref() == Some(role) {
            last.parts.extend(parts);
            return;
        }
    }
    contents.push(gm::Content { role: Some(role.to_string()), parts });
}

/// Gemini rejects empty text parts.
fn text_part(text: String) -> Option<gm::Part> {
    (!text.is_empty()).then(|| gm::Part::text(text))
}

/// The text of content that may only hold text (system and tool messages).
fn texts(content: oa::Content, i: usize) -> Result<Vec<String>, TranslateError> {
    match content {
        oa::Content::Text(text) => Ok((!text.is_empty()).then_some(text).into_iter().collect()),
        oa::Content::Parts(parts) => parts
            .into_iter()
            .map(|part| match part {
                oa::ContentPart::Text { text } => Ok(text),
                _ => Err(err(format!("messages[{i}]: only text is supported in this message"))),
            })
            .collect(),
    }
}

fn parts_from_openai(parts: Vec<oa::ContentPart>, i: usize) -> Result<Vec<gm::Part>, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let part = match part {
            oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text } => {
                match text_part(text) {
                    Some(p) => p,
                    None => continue,
                }
            }
            oa::ContentPart::ImageUrl { image_url } => {
                if let Some((mime, data)) = parse_data_url(&image_url.url) {
                    inline(mime, data)
                } else if image_url.url.starts_with("https://")
                    || image_url.url.starts_with("http://")
                    || image_url.url.starts_with("gs://")
                {
                    gm::Part {
                        file_data: Some(gm::FileData {
                            mime_type: mime_from_url(&image_url.url).map(str::to_string),
                            file_uri: image_url.url,
                        }),
                        ..gm::Part::default()
                    }
                } else {
                    return Err(err(format!(
                        "messages[{i}]: image_url must be an http(s) URL or a base64 data: URL"
                    )));
                }
            }
            oa::ContentPart::File { file } => match file.file_data.as_deref().and_then(parse_data_url) {
                Some((mime, data)) => inline(mime, data),
                None => {
                    return Err(err(format!(
                        "messages[{i}]: only files given inline as base64 `file_data` can be sent to Gemini"
                    )))
                }
            },
            oa::ContentPart::InputAudio { input_audio } => {
                let data = input_audio.get("data").and_then(Value::as_str);
                let format = input_audio.get("format").and_then(Value::as_str);
                match (data, format) {
                    (Some(data), Some(format)) => inline(&format!("audio/{format}"), data),
                    _ => return Err(err(format!("messages[{i}]: input_audio needs `data` and `format`"))),
                }
            }
        };
        out.push(part);
    }
    Ok(out)
}

fn inline(mime: &str, data: &str) -> gm::Part {
    gm::Part {
        inline_data: Some(gm::Blob { mime_type: mime.to_string(), data: data.to_string() }),
        ..gm::Part::default()
    }
}

/// A URL's MIME type from its extension, for `fileData` (optional there, so `None` is fine).
fn mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

fn declaration_from_openai(tool: oa::Tool) -> Result<gm::FunctionDeclaration, TranslateError> {
    let function = match (tool.kind.as_str(), tool.function) {
        ("function", Some(f)) => f,
        (kind, _) => return Err(err(format!("tools of type `{kind}` are not supported for Gemini models"))),
    };
    let parameters = match function.parameters {
        Some(p) if !schema::is_empty_object(&p) => Some(schema::to_gemini(&p)?),
        _ => None,
    };
    Ok(gm::FunctionDeclaration {
        name: function.name,
        description: function.description,
        parameters,
        parameters_json_schema: None,
    })
}

fn tool_config_from_openai(choice: oa::ToolChoice) -> Result<gm::ToolConfig, TranslateError> {
    let (mode, names) = match choice {
        oa::ToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => ("AUTO", None),
            "required" => ("ANY", None),
            "none" => ("NONE", None),
            other => return Err(err(format!("unknown tool_choice `{other}`"))),
        },
        oa::ToolChoice::Named(named) => ("ANY", Some(vec![named.function.name])),
    };
    Ok(gm::ToolConfig {
        function_calling_config: Some(gm::FunctionCallingConfig {
            mode: Some(mode.to_string()),
            allowed_function_names: names,
        }),
        rest: Rest::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// Requests: Gemini → OpenAI (Gemini clients reaching other providers)

pub(crate) fn request_to_openai(
    req: gm::GenerateContentRequest,
    model: &str,
    stream: bool,
    empty_ok: bool,
) -> Result<oa::ChatRequest, TranslateError> {
    if req.contents.is_empty() && !empty_ok {
        return Err(err("`contents` must not be empty"));
    }
    let mut messages = Vec::new();
    if let Some(system) = req.system_instruction {
        let text: Vec<String> = system.parts.into_iter().filter_map(|p| p.text).collect();
        let text = text.join("\n");
        if !text.is_empty() {
            messages.push(oa::Message::System(oa::ContentMessage {
                content: oa::Content::Text(text),
                name: None,
                rest: Rest::new(),
            }));
        }
    }
    // Calls of the latest model turn not yet answered: (name, id). Gemini pairs results with
    // calls by name, in order.
    let mut open_calls: Vec<(String, String)> = Vec::new();
    let mut next_call = 0usize;
    for (i, content) in req.contents.into_iter().enumerate() {
        if content.role.as_deref() == Some("model") {
            let mut text = String::new();
            let mut tool_calls = Vec::new();
            open_calls.clear();
            for part in content.parts {
                if part.thought == Some(true) {
                    continue;
                }
                if let Some(call) = part.function_call {
                    let id = call.id.unwrap_or_else(|| call_id(next_call, None));
                    next_call = next_call.saturating_add(1);
                    open_calls.push((call.name.clone(), id.clone()));
                    tool_calls.push(openai_call(id, call.name, call.args));
                } else if let Some(t) = part.text {
                    text.push_str(&t);
                } else {
                    return Err(err(format!(
                        "contents[{i}]: only text and function calls are supported in model turns"
                    )));
                }
            }
            messages.push(oa::Message::Assistant(oa::AssistantMessage {
                content: (!text.is_empty() || tool_calls.is_empty()).then_some(oa::Content::Text(text)),
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                ..oa::AssistantMessage::default()
            }));
            continue;
        }
        let mut parts = Vec::new();
        for part in content.parts {
            if let Some(result) = part.function_response {
                let id = match result.id {
                    Some(id) => id,
                    None => match open_calls.iter().position(|(name, _)| *name == result.name) {
                        Some(at) => open_calls.remove(at).1,
                        None => {
                            return Err(err(format!(
                                "contents[{i}]: functionResponse `{}` answers no functionCall",
                                result.name
                            )))
                        }
                    },
                };
                messages.push(oa::Message::Tool(oa::ToolMessage {
                    tool_call_id: id,
                    content: oa::Content::Text(function_output(result.response)),
                    is_error: false,
                    rest: Rest::new(),
                }));
            } else if let Some(text) = part.text {
                if part.thought != Some(true) && !text.is_empty() {
                    parts.push(oa::ContentPart::Text { text });
                }
            } else if let Some(blob) = part.inline_data {
                parts.push(part_from_blob(blob));
            } else if let Some(file) = part.file_data {
                if file.mime_type.as_deref().is_some_and(|m| !m.starts_with("image/")) {
                    return Err(err(format!(
                        "contents[{i}]: only image files can be referenced by URI for this model"
                    )));
                }
                parts.push(oa::ContentPart::ImageUrl {
                    image_url: oa::ImageUrl { url: file.file_uri, detail: None },
                });
            } else {
                return Err(err(format!("contents[{i}]: part type not supported for this model")));
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
    }

    let mut tools = Vec::new();
    for tool in req.tools.unwrap_or_default() {
        if !tool.rest.is_empty() {
            let names: Vec<&str> = tool.rest.keys().map(String::as_str).collect();
            return Err(err(format!("Gemini tools {names:?} are not available for this model")));
        }
        for d in tool.function_declarations.unwrap_or_default() {
            let parameters = d
                .parameters_json_schema
                .or_else(|| d.parameters.as_ref().map(schema::from_gemini))
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
            tools.push(oa::Tool::function(d.name, d.description, Some(parameters)));
        }
    }
    let tool_choice = match req.tool_config.and_then(|c| c.function_calling_config) {
        Some(config) if !tools.is_empty() => {
            let mut names = config.allowed_function_names.unwrap_or_default();
            match config.mode.as_deref() {
                Some("ANY") if names.len() == 1 => names.pop().map(oa::ToolChoice::function),
                Some("ANY") => Some(oa::ToolChoice::Mode("required".into())),
                Some("NONE") => Some(oa::ToolChoice::Mode("none".into())),
                Some("AUTO") => Some(oa::ToolChoice::Mode("auto".into())),
                _ => None,
            }
        }
        _ => None,
    };

    let config = req.generation_config.unwrap_or_default();
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(err("candidateCount > 1 is not supported for this model"));
    }
    let response_format = match config.response_mime_type.as_deref() {
        Some("application/json") => Some(
            match config
                .response_json_schema
                .or_else(|| config.response_schema.as_ref().map(schema::from_gemini))
            {
                Some(s) => oa::ResponseFormat {
                    kind: "json_schema".into(),
                    json_schema: Some(oa::JsonSchemaFormat {
                        name: "response".into(),
                        description: None,
                        schema: Some(s),
                        strict: None,
                    }),
                },
                None => oa::ResponseFormat { kind: "json_object".into(), json_schema: None },
            },
        ),
        _ => None,
    };

    Ok(oa::ChatRequest {
        model: model.to_string(),
        messages,
        max_completion_tokens: config.max_output_tokens,
        temperature: config.temperature,
        top_p: config.top_p,
        stream: stream.then_some(true),
        stream_options: stream.then(|| oa::StreamOptions { include_usage: Some(true), rest: Rest::new() }),
        stop: config.stop_sequences.map(oa::Stop::Many),
        tool_choice,
        tools: (!tools.is_empty()).then_some(tools),
        response_format,
        seed: config.seed,
        presence_penalty: config.presence_penalty,
        frequency_penalty: config.frequency_penalty,
        ..oa::ChatRequest::default()
    })
}

fn user_message(content: oa::Content) -> oa::Message {
    oa::Message::User(oa::ContentMessage { content, name: None, rest: Rest::new() })
}

fn part_from_blob(blob: gm::Blob) -> oa::ContentPart {
    if let Some(format) = blob.mime_type.strip_prefix("audio/") {
        let format = if format == "mpeg" { "mp3" } else { format };
        return oa::ContentPart::InputAudio {
            input_audio: serde_json::json!({"data": blob.data, "format": format}),
        };
    }
    let url = data_url(&blob.mime_type, &blob.data);
    if blob.mime_type.starts_with("image/") {
        oa::ContentPart::ImageUrl { image_url: oa::ImageUrl { url, detail: None } }
    } else {
        oa::ContentPart::File {
            file: oa::FileRef { file_data: Some(url), file_id: None, filename: Some("document".into()) },
        }
    }
}

/// A function response as tool-message text: `{"output": "text"}` unwrapped, anything else as
/// JSON.
fn function_output(response: Value) -> String {
    if let Value::Object(obj) = &response {
        if obj.len() == 1 {
            if let Some(Value::String(s)) = obj.get("output") {
                return s.clone();
            }
        }
    }
    response.to_string()
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A Gemini response as an OpenAI chat completion, one choice per candidate.
pub(crate) fn response_to_openai(resp: gm::GenerateContentResponse, model: &str) -> oa::ChatCompletion {
    let mut choices = Vec::with_capacity(resp.candidates.len().max(1));
    for (position, candidate) in resp.candidates.into_iter().enumerate() {
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if part.thought == Some(true) {
                continue;
            }
            if let Some(call) = part.function_call {
                let id =
                    call.id.unwrap_or_else(|| call_id(tool_calls.len(), part.thought_signature.as_deref()));
                tool_calls.push(openai_call(id, call.name, call.args));
            } else if let Some(t) = part.text {
                text.push_str(&t);
            }
        }
        let reason = FinishReason::from_gemini(
            candidate.finish_reason.as_deref().unwrap_or("STOP"),
            !tool_calls.is_empty(),
        );
        choices.push(oa::Choice {
            index: candidate.index.unwrap_or(position as u32),
            message: oa::ResponseMessage {
                role: "assistant".to_string(),
                content: (!text.is_empty()).then_some(oa::Content::Text(text)),
                refusal: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                rest: Rest::new(),
            },
            logprobs: None,
            finish_reason: Some(reason.openai().to_string()),
        });
    }
    if choices.is_empty() {
        // The prompt itself was blocked: no candidates, only `promptFeedback`.
        let blocked = resp.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some());
        choices.push(oa::Choice {
            message: oa::ResponseMessage { role: "assistant".to_string(), ..oa::ResponseMessage::default() },
            finish_reason: Some(
                if blocked { FinishReason::ContentFilter } else { FinishReason::Stop }.openai().to_string(),
            ),
            ..oa::Choice::default()
        });
    }
    oa::ChatCompletion {
        id: openai_id(resp.response_id.as_deref().unwrap_or_default()),
        object: "chat.completion".to_string(),
        created: 0,
        model: model.to_string(),
        choices,
        usage: resp.usage_metadata.as_ref().map(|u| Usage::from_gemini(u).to_openai()),
        rest: Rest::new(),
    }
}

/// An OpenAI chat completion as a Gemini response (for Gemini clients).
pub(crate) fn response_from_openai(
    resp: oa::ChatCompletion,
    model: &str,
) -> Result<gm::GenerateContentResponse, TranslateError> {
    if resp.choices.is_empty() {
        return Err(err("provider response has no choices"));
    }
    let candidates = resp
        .choices
        .into_iter()
        .map(|choice| {
            let mut parts = Vec::new();
            match choice.message.content {
                Some(oa::Content::Text(text)) => parts.extend(text_part(text)),
                Some(oa::Content::Parts(ps)) => {
                    for p in ps {
                        if let oa::ContentPart::Text { text } | oa::ContentPart::Refusal { refusal: text } = p
                        {
                            parts.extend(text_part(text));
                        }
                    }
                }
                None => {}
            }
            if let Some(refusal) = choice.message.refusal {
                parts.extend(text_part(refusal));
            }
            for call in choice.message.tool_calls.unwrap_or_default() {
                let args = super::anthropic::parse_arguments(&call.function.arguments)
                    .unwrap_or_else(|| Value::Object(Map::new()));
                parts.push(gm::Part {
                    function_call: Some(gm::FunctionCall {
                        id: None,
                        name: call.function.name,
                        args: Some(args),
                    }),
                    ..gm::Part::default()
                });
            }
            let reason =
                choice.finish_reason.as_deref().map_or(FinishReason::Stop, FinishReason::from_openai);
            gm::Candidate {
                content: Some(gm::Content { role: Some("model".to_string()), parts }),
                finish_reason: Some(reason.gemini().to_string()),
                index: Some(choice.index),
                rest: Rest::new(),
            }
        })
        .collect();
    Ok(gm::GenerateContentResponse {
        candidates,
        prompt_feedback: None,
        usage_metadata: resp.usage.as_ref().map(|u| Usage::from_openai(u).to_gemini()),
        model_version: Some(model.to_string()),
        response_id: Some(super::anthropic::strip_openai_prefix(&resp.id))
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        rest: Rest::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// The intermediate form. Transitional: through the OpenAI shape until this module reads and
// writes the intermediate form itself.

pub(crate) fn request_to_ir(
    req: gm::GenerateContentRequest,
    empty_ok: bool,
) -> Result<crate::llm::ir::Conversation, TranslateError> {
    super::openai::request_to_ir(request_to_openai(req, "", false, empty_ok)?, true)
}

pub(crate) fn request_from_ir(
    conversation: crate::llm::ir::Conversation,
    empty_ok: bool,
) -> Result<gm::GenerateContentRequest, TranslateError> {
    request_from_openai(super::openai::request_from_ir(conversation, "", false), empty_ok)
}

pub(crate) fn answer_to_ir(resp: gm::GenerateContentResponse) -> crate::llm::ir::Answer {
    let model = resp.model_version.clone().unwrap_or_default();
    let mut answer = super::openai::answer_to_ir(response_to_openai(resp, ""));
    answer.model = model;
    answer
}

pub(crate) fn answer_from_ir(
    answer: crate::llm::ir::Answer,
    model: &str,
) -> Result<gm::GenerateContentResponse, TranslateError> {
    response_from_openai(super::openai::answer_from_ir(answer, model), model)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_through_ids() {
        let sig = "CiQB+/x=";
        let id = call_id(3, Some(sig));
        assert_eq!(id, "call_3__sig__CiQB-_x");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        assert_eq!(signature_of(&id).as_deref(), Some("CiQB+/x="));
        assert_eq!(call_id(0, None), "call_0");
        assert_eq!(signature_of("call_0"), None);
        assert_eq!(signature_of("toolu_01__sig__abc"), None);
    }
}
