//! Gemini `generateContent` ⇄ the intermediate form ([`crate::llm::ir`]), requests and complete
//! answers.
//!
//! Gemini's roles are `user` and `model`; the system prompt is `systemInstruction`; tool calls
//! are `functionCall` parts and their results `functionResponse` parts in a user turn, matched
//! by function *name* — there are no call ids. Ids are synthesised as `call_<n>` (the call's
//! position in the request, or in its answer), and a result written for Gemini is named from the
//! earlier call with its id. A result's `{"error": …}` is the tool's failure.
//!
//! Gemini 3 signs its function calls (`thoughtSignature`) and rejects a follow-up request whose
//! calls lost their signature. Other formats have nowhere to put it but the id, so a signed call's
//! id is `call_<n>` + [`SIGNATURE_SEPARATOR`] + the signature (URL-safe base64, so the id stays
//! within `[A-Za-z0-9_-]`), and the signature is restored when the call comes back. Thoughts
//! (`thought: true` parts) are reasoning, with their own signature; a call signed in a Gemini
//! *request* keeps a plain id, because its signature means nothing to another provider and would
//! overflow their id limits (Converse: 64 characters).
//!
//! Tool and response schemas are rewritten to the subset Gemini accepts ([`schema`]).

use super::anthropic::{parse_arguments, strip_openai_prefix};
use super::{parse_data_url, schema, FinishReason, TranslateError};
use crate::llm::ir::{
    self, Answer, Candidate, Conversation, Document, Entry, Issuer, Media, Part, Reasoning, ResponseFormat,
    Role, Sampling, ToolChoice, ToolResult,
};
use crate::llm::usage::Usage;
use crate::llm::wire::gemini as gm;
use crate::llm::wire::Rest;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

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

/// The id of the `index`-th function call of an answer (or a request), carrying its signature.
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

const USER: &str = "user";
const MODEL: &str = "model";

// ---------------------------------------------------------------------------------------------
// Requests: Gemini → intermediate form (Gemini clients reaching other providers)

pub(crate) fn request_to_ir(
    req: gm::GenerateContentRequest,
    empty_ok: bool,
) -> Result<Conversation, TranslateError> {
    if req.contents.is_empty() && !empty_ok {
        return Err(err("`contents` must not be empty"));
    }
    let mut entries = Vec::with_capacity(req.contents.len().saturating_add(1));
    entries.extend(req.system_instruction.and_then(system_entry));
    let mut turns = TurnReader::default();
    for (source, content) in req.contents.into_iter().enumerate() {
        if content.role.as_deref() == Some(MODEL) {
            entries.push(turns.model_entry(content.parts, source)?);
        } else {
            turns.user_entries(content.parts, source, &mut entries)?;
        }
    }
    let tools = tools_to_ir(req.tools.unwrap_or_default())?;
    let tool_choice = match req.tool_config.and_then(|c| c.function_calling_config) {
        Some(config) if !tools.is_empty() => tool_choice_to_ir(config),
        _ => None,
    };
    Ok(Conversation {
        entries,
        tools,
        tool_choice,
        parallel_tool_calls: None,
        sampling: sampling_to_ir(req.generation_config.unwrap_or_default())?,
        user: None,
        audio_output: None,
    })
}

/// `systemInstruction` as one plain system entry, its texts a line each (its `source` is 0: it is
/// not in `contents`, and only text, which no writer refuses, comes from it).
fn system_entry(system: gm::Content) -> Option<Entry> {
    let texts: Vec<String> = system.parts.into_iter().filter_map(|p| p.text).collect();
    let text = texts.join("\n");
    (!text.is_empty()).then(|| Entry {
        role: Role::System,
        parts: vec![Part::text(text)],
        plain: true,
        source: 0,
    })
}

/// Reads turns in order, giving every call an id and every result the id of its call.
#[derive(Default)]
struct TurnReader {
    /// Calls of the latest model turn not yet answered: (name, id). Gemini pairs results with
    /// calls by name, in order.
    open_calls: Vec<(String, String)>,
    /// Calls so far, for the next synthesised id.
    calls: usize,
}

impl TurnReader {
    fn model_entry(&mut self, parts: Vec<gm::Part>, source: usize) -> Result<Entry, TranslateError> {
        self.open_calls.clear();
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            if part.thought == Some(true) {
                out.extend(reasoning_of(part));
            } else if let Some(call) = part.function_call {
                // A signature of a call in a request stays here: see the module docs.
                let id = call.id.clone().unwrap_or_else(|| call_id(self.calls, None));
                self.calls = self.calls.saturating_add(1);
                self.open_calls.push((call.name.clone(), id.clone()));
                out.push(tool_call(id, call));
            } else if let Some(text) = part.text {
                push_text(&mut out, text);
            } else {
                return Err(err(format!(
                    "contents[{source}]: only text and function calls are supported in model turns"
                )));
            }
        }
        Ok(Entry { role: Role::Assistant, parts: out, plain: true, source })
    }

    /// A user turn: its function responses as one tool entry, then the rest as a user entry.
    fn user_entries(
        &mut self,
        parts: Vec<gm::Part>,
        source: usize,
        entries: &mut Vec<Entry>,
    ) -> Result<(), TranslateError> {
        let mut results = Vec::new();
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            if let Some(response) = part.function_response {
                results.push(Part::ToolResult(self.tool_result(response, source)?));
            } else if let Some(text) = part.text {
                if part.thought != Some(true) && !text.is_empty() {
                    out.push(Part::text(text));
                }
            } else if let Some(blob) = part.inline_data {
                out.push(part_of_blob(blob));
            } else if let Some(file) = part.file_data {
                if file.mime_type.as_deref().is_some_and(|m| !m.starts_with("image/")) {
                    return Err(err(format!(
                        "contents[{source}]: only image files can be referenced by URI for this model"
                    )));
                }
                out.push(Part::Image(Media::Url { url: file.file_uri, mime: file.mime_type }));
            } else {
                return Err(err(format!("contents[{source}]: part type not supported for this model")));
            }
        }
        if !results.is_empty() {
            entries.push(Entry { role: Role::Tool, parts: results, plain: false, source });
        }
        if !out.is_empty() {
            let plain = matches!(out.as_slice(), [Part::Text(_)]);
            entries.push(Entry { role: Role::User, parts: out, plain, source });
        }
        Ok(())
    }

    fn tool_result(
        &mut self,
        response: gm::FunctionResponse,
        source: usize,
    ) -> Result<ToolResult, TranslateError> {
        let call_id = match response.id {
            Some(id) => id,
            None => match self.open_calls.iter().position(|(name, _)| *name == response.name) {
                Some(at) => self.open_calls.remove(at).1,
                None => {
                    return Err(err(format!(
                        "contents[{source}]: functionResponse `{}` answers no functionCall",
                        response.name
                    )))
                }
            },
        };
        let (output, is_error) = function_output(response.response);
        Ok(ToolResult {
            call_id,
            name: Some(response.name),
            content: vec![Part::text(output)],
            plain: true,
            is_error,
        })
    }
}

/// A thought part as reasoning; `None` for one with neither text nor signature.
fn reasoning_of(part: gm::Part) -> Option<Part> {
    let text = part.text.unwrap_or_default();
    let signature = part.thought_signature.filter(|s| !s.is_empty());
    if text.is_empty() && signature.is_none() {
        return None;
    }
    let issuer = signature.is_some().then_some(Issuer::Gemini);
    Some(Part::Reasoning(Reasoning { text, signature, issuer, ..Reasoning::default() }))
}

/// A `functionCall` as a tool call (absent `args` are an empty object).
fn tool_call(id: String, call: gm::FunctionCall) -> Part {
    let args = call.args.unwrap_or_else(|| Value::Object(Map::new()));
    Part::ToolCall(ir::ToolCall { id, name: call.name, arguments: args.to_string() })
}

/// Appends model text, joining it to the text just before (Gemini may split one answer's text
/// over several parts).
fn push_text(parts: &mut Vec<Part>, text: String) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(Part::Text(last)) => last.text.push_str(&text),
        _ => parts.push(Part::text(text)),
    }
}

/// A function response's output as text, and whether it is the tool's failure: `{"output": s}`
/// is `s`, `{"error": s}` the failure `s`, anything else the whole response as JSON.
fn function_output(response: Value) -> (String, bool) {
    if let Value::Object(obj) = &response {
        if obj.len() == 1 {
            for (key, is_error) in [("output", false), ("error", true)] {
                match obj.get(key) {
                    Some(Value::String(s)) => return (s.clone(), is_error),
                    Some(other) if is_error => return (other.to_string(), true),
                    _ => {}
                }
            }
        }
    }
    (response.to_string(), false)
}

/// Inline bytes: audio (as `{data, format}`), images, anything else a document.
fn part_of_blob(blob: gm::Blob) -> Part {
    if let Some(format) = blob.mime_type.strip_prefix("audio/") {
        let format = if format == "mpeg" { "mp3" } else { format };
        return Part::Audio(serde_json::json!({"data": blob.data, "format": format}));
    }
    let image = blob.mime_type.starts_with("image/");
    let media = Media::Base64 { mime: blob.mime_type, data: blob.data };
    if image {
        Part::Image(media)
    } else {
        Part::Document(Document { source: media, name: Some("document".into()) })
    }
}

fn tools_to_ir(tools: Vec<gm::Tool>) -> Result<Vec<ir::Tool>, TranslateError> {
    let mut out = Vec::new();
    for tool in tools {
        if !tool.rest.is_empty() {
            let names: Vec<&str> = tool.rest.keys().map(String::as_str).collect();
            return Err(err(format!("Gemini tools {names:?} are not available for this model")));
        }
        for d in tool.function_declarations.unwrap_or_default() {
            let parameters = d
                .parameters_json_schema
                .or_else(|| d.parameters.as_ref().map(schema::from_gemini))
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
            out.push(ir::Tool::Function(ir::Function {
                name: d.name,
                description: d.description,
                parameters: Some(parameters),
                strict: None,
            }));
        }
    }
    Ok(out)
}

/// `ANY` with one allowed function forces it; with several it is only `Required` (the list has no
/// counterpart); `VALIDATED` and an absent mode say nothing.
fn tool_choice_to_ir(config: gm::FunctionCallingConfig) -> Option<ToolChoice> {
    let mut names = config.allowed_function_names.unwrap_or_default();
    match config.mode.as_deref() {
        Some("ANY") if names.len() == 1 => names.pop().map(ToolChoice::Function),
        Some("ANY") => Some(ToolChoice::Required),
        Some("NONE") => Some(ToolChoice::None),
        Some("AUTO") => Some(ToolChoice::Auto),
        _ => None,
    }
}

fn sampling_to_ir(config: gm::GenerationConfig) -> Result<Sampling, TranslateError> {
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(err("candidateCount > 1 is not supported for this model"));
    }
    let response_format = match config.response_mime_type.as_deref() {
        Some("application/json") => Some(
            match config
                .response_json_schema
                .or_else(|| config.response_schema.as_ref().map(schema::from_gemini))
            {
                Some(s) => ResponseFormat::JsonSchema {
                    name: "response".into(),
                    description: None,
                    schema: Some(s),
                    strict: None,
                },
                None => ResponseFormat::Json,
            },
        ),
        _ => None,
    };
    Ok(Sampling {
        max_output_tokens: config.max_output_tokens,
        temperature: config.temperature,
        top_p: config.top_p,
        top_k: config.top_k.as_ref().and_then(Number::as_u64),
        stop: config.stop_sequences,
        seed: config.seed,
        presence_penalty: config.presence_penalty,
        frequency_penalty: config.frequency_penalty,
        candidates: None,
        response_format,
    })
}

// ---------------------------------------------------------------------------------------------
// Requests: intermediate form → Gemini

pub(crate) fn request_from_ir(
    conversation: Conversation,
    empty_ok: bool,
) -> Result<gm::GenerateContentRequest, TranslateError> {
    // `parallel_tool_calls`, `user` and `audio_output` have no Gemini counterpart.
    let Conversation { entries, tools, tool_choice, sampling, .. } = conversation;
    if sampling.candidates.is_some_and(|n| n > 1) {
        return Err(err("`n` > 1 is not supported for Gemini models"));
    }
    if entries.is_empty() && !empty_ok {
        return Err(err("`messages` must not be empty"));
    }
    let mut turns = TurnWriter::default();
    for entry in entries {
        turns.entry(entry)?;
    }
    let tools = if tools.is_empty() {
        None
    } else {
        let declarations = tools.into_iter().map(declaration).collect::<Result<Vec<_>, _>>()?;
        Some(vec![gm::Tool { function_declarations: Some(declarations), rest: Rest::new() }])
    };
    let tool_config = match (&tools, tool_choice) {
        (Some(_), Some(choice)) => Some(tool_config(choice)?),
        _ => None,
    };
    let config = generation_config(sampling)?;
    Ok(gm::GenerateContentRequest {
        contents: turns.contents,
        system_instruction: (!turns.system.is_empty())
            .then_some(gm::Content { role: None, parts: turns.system }),
        tools,
        tool_config,
        generation_config: (!config.is_empty()).then_some(config),
        rest: Rest::new(),
    })
}

/// Writes entries in order: system texts aside, turns merged where the role repeats.
#[derive(Default)]
struct TurnWriter {
    system: Vec<gm::Part>,
    contents: Vec<gm::Content>,
    /// (call id, function name) of every call so far, to name the results.
    calls: Vec<(String, String)>,
}

impl TurnWriter {
    fn entry(&mut self, entry: Entry) -> Result<(), TranslateError> {
        let Entry { role, parts, plain, source } = entry;
        // Tool results travel as a user turn's function responses, before the rest of their entry.
        let mut responses = Vec::new();
        let mut rest = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Part::ToolResult(result) => responses.push(self.function_response(result, source)?),
                other => rest.push(other),
            }
        }
        push_turn(&mut self.contents, USER, responses);
        let rest = if plain { joined(rest) } else { rest };
        match role {
            Role::System | Role::Developer => {
                for text in only_texts(rest, source)? {
                    self.system.extend(text_part(text));
                }
            }
            Role::User => {
                let parts = user_parts(rest, source)?;
                push_turn(&mut self.contents, USER, parts);
            }
            Role::Assistant => {
                let parts = self.model_parts(rest, source)?;
                push_turn(&mut self.contents, MODEL, parts);
            }
            // Only results, written above.
            Role::Tool => {}
        }
        Ok(())
    }

    fn model_parts(&mut self, parts: Vec<Part>, source: usize) -> Result<Vec<gm::Part>, TranslateError> {
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Part::ToolCall(call) => {
                    let Some(args) = parse_arguments(&call.arguments) else {
                        return Err(err(format!(
                            "messages[{source}]: arguments of tool call `{}` are not a JSON object",
                            call.id
                        )));
                    };
                    self.calls.push((call.id.clone(), call.name.clone()));
                    out.push(function_call(call, args));
                }
                Part::Reasoning(reasoning) => out.extend(thought_part(reasoning, true)),
                other => out.extend(user_part(other, source)?),
            }
        }
        Ok(out)
    }

    fn function_response(&self, result: ToolResult, source: usize) -> Result<gm::Part, TranslateError> {
        let known =
            self.calls.iter().rev().find(|(id, _)| *id == result.call_id).map(|(_, name)| name.clone());
        let Some(name) = known.or(result.name) else {
            return Err(err(format!(
                "messages[{source}]: tool result for unknown tool_call_id `{}`",
                result.call_id
            )));
        };
        let texts = only_texts(result.content, source)?;
        let text = if result.plain { texts.concat() } else { texts.join("\n") };
        // An object is the whole response; anything else is `{"output": text}`. A failure is
        // `{"error": …}`, Gemini's convention.
        let output = match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => v,
            _ => Value::String(text),
        };
        let response = match output {
            output if result.is_error => serde_json::json!({ "error": output }),
            v @ Value::Object(_) => v,
            text => serde_json::json!({ "output": text }),
        };
        Ok(gm::Part {
            function_response: Some(gm::FunctionResponse { id: None, name, response }),
            ..gm::Part::default()
        })
    }
}

/// A plain entry's adjacent texts as one (it was one string).
fn joined(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        match (out.last_mut(), part) {
            (Some(Part::Text(last)), Part::Text(t)) => last.text.push_str(&t.text),
            (_, part) => out.push(part),
        }
    }
    out
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

/// The texts of content that may only hold text (system entries, tool results). Reasoning and
/// calls are not content there and are left out.
fn only_texts(parts: Vec<Part>, source: usize) -> Result<Vec<String>, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(t) => out.push(t.text),
            Part::Reasoning(_) | Part::ToolCall(_) | Part::ToolResult(_) => {}
            Part::Refusal(_) | Part::Image(_) | Part::Document(_) | Part::Audio(_) => {
                return Err(err(format!("messages[{source}]: only text is supported in this message")))
            }
        }
    }
    Ok(out)
}

fn user_parts(parts: Vec<Part>, source: usize) -> Result<Vec<gm::Part>, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        out.extend(user_part(part, source)?);
    }
    Ok(out)
}

/// One part of a turn's content; `None` for what a turn's content cannot hold (a user's
/// reasoning or calls).
fn user_part(part: Part, source: usize) -> Result<Option<gm::Part>, TranslateError> {
    Ok(match part {
        Part::Text(t) => text_part(t.text),
        Part::Refusal(refusal) => text_part(refusal),
        Part::Image(media) => Some(image_part(media, source)?),
        Part::Document(doc) => Some(document_part(doc.source, source)?),
        Part::Audio(audio) => Some(audio_part(&audio, source)?),
        Part::Reasoning(_) | Part::ToolCall(_) | Part::ToolResult(_) => None,
    })
}

fn image_part(media: Media, source: usize) -> Result<gm::Part, TranslateError> {
    match media {
        Media::Base64 { mime, data } => Ok(inline(mime, data)),
        Media::Text { mime, data } => Ok(inline_text(mime, &data)),
        Media::Url { url, mime } => {
            if let Some((mime, data)) = parse_data_url(&url) {
                Ok(inline(mime.to_string(), data.to_string()))
            } else if url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://") {
                let mime_type = mime.or_else(|| mime_from_url(&url).map(str::to_string));
                Ok(gm::Part {
                    file_data: Some(gm::FileData { mime_type, file_uri: url }),
                    ..gm::Part::default()
                })
            } else {
                Err(image_url_error(source))
            }
        }
        Media::FileId(_) => Err(image_url_error(source)),
    }
}

fn image_url_error(source: usize) -> TranslateError {
    err(format!("messages[{source}]: image_url must be an http(s) URL or a base64 data: URL"))
}

/// Documents go inline only (Gemini reads URIs of its own File API, not the web's).
fn document_part(media: Media, source: usize) -> Result<gm::Part, TranslateError> {
    match media {
        Media::Base64 { mime, data } => Ok(inline(mime, data)),
        Media::Text { mime, data } => Ok(inline_text(mime, &data)),
        Media::Url { url, .. } => match parse_data_url(&url) {
            Some((mime, data)) => Ok(inline(mime.to_string(), data.to_string())),
            None => Err(document_error(source)),
        },
        Media::FileId(_) => Err(document_error(source)),
    }
}

fn document_error(source: usize) -> TranslateError {
    err(format!("messages[{source}]: only files given inline as base64 `file_data` can be sent to Gemini"))
}

fn audio_part(audio: &Value, source: usize) -> Result<gm::Part, TranslateError> {
    let data = audio.get("data").and_then(Value::as_str);
    let format = audio.get("format").and_then(Value::as_str);
    match (data, format) {
        (Some(data), Some(format)) => Ok(inline(format!("audio/{format}"), data.to_string())),
        _ => Err(err(format!("messages[{source}]: input_audio needs `data` and `format`"))),
    }
}

fn inline(mime_type: String, data: String) -> gm::Part {
    gm::Part { inline_data: Some(gm::Blob { mime_type, data }), ..gm::Part::default() }
}

/// Plain text given as a document: inline data is base64.
fn inline_text(mime: Option<String>, text: &str) -> gm::Part {
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    inline(mime.unwrap_or_else(|| "text/plain".into()), data)
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

/// A call as a `functionCall` part, its signature restored from the id.
fn function_call(call: ir::ToolCall, args: Value) -> gm::Part {
    gm::Part {
        thought_signature: signature_of(&call.id),
        function_call: Some(gm::FunctionCall { id: None, name: call.name, args: Some(args) }),
        ..gm::Part::default()
    }
}

/// Reasoning as a thought part, with its signature. Encrypted reasoning (another provider's
/// `redacted`) has no Gemini form, and a part needs text.
fn thought_part(reasoning: Reasoning, in_request: bool) -> Option<gm::Part> {
    let own = reasoning.issuer == Some(Issuer::Gemini);
    if reasoning.redacted.is_some() || (in_request && !own) {
        return None; // another model's reasoning is not handed to Gemini
    }
    // Shown to a Gemini client, another model's reasoning carries no signature it could hand
    // back to Gemini.
    let signature = if own { reasoning.signature } else { None };
    let text = if reasoning.text.is_empty() { reasoning.summary.unwrap_or_default() } else { reasoning.text };
    (!text.is_empty()).then(|| gm::Part {
        text: Some(text),
        thought: Some(true),
        thought_signature: signature.filter(|s| !s.is_empty()),
        ..gm::Part::default()
    })
}

fn declaration(tool: ir::Tool) -> Result<gm::FunctionDeclaration, TranslateError> {
    let function = match tool {
        ir::Tool::Function(f) => f,
        ir::Tool::Other { kind } => {
            return Err(err(format!("tools of type `{kind}` are not supported for Gemini models")))
        }
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

fn tool_config(choice: ToolChoice) -> Result<gm::ToolConfig, TranslateError> {
    let (mode, names) = match choice {
        ToolChoice::Auto => ("AUTO", None),
        ToolChoice::Required => ("ANY", None),
        ToolChoice::None => ("NONE", None),
        ToolChoice::Function(name) => ("ANY", Some(vec![name])),
        ToolChoice::Other(other) => return Err(err(format!("unknown tool_choice `{other}`"))),
    };
    Ok(gm::ToolConfig {
        function_calling_config: Some(gm::FunctionCallingConfig {
            mode: Some(mode.to_string()),
            allowed_function_names: names,
        }),
        rest: Rest::new(),
    })
}

fn generation_config(sampling: Sampling) -> Result<gm::GenerationConfig, TranslateError> {
    let mut config = gm::GenerationConfig {
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        top_k: sampling.top_k.map(Number::from),
        max_output_tokens: sampling.max_output_tokens,
        stop_sequences: sampling.stop,
        seed: sampling.seed,
        presence_penalty: sampling.presence_penalty,
        frequency_penalty: sampling.frequency_penalty,
        ..gm::GenerationConfig::default()
    };
    match sampling.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::Json) => config.response_mime_type = Some("application/json".into()),
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => {
            config.response_mime_type = Some("application/json".into());
            if let Some(s) = s {
                config.response_schema = Some(schema::to_gemini(&s)?);
            }
        }
    }
    Ok(config)
}

// ---------------------------------------------------------------------------------------------
// Answers

/// A Gemini response in the intermediate form, one candidate per Gemini candidate.
pub(crate) fn answer_to_ir(resp: gm::GenerateContentResponse) -> Answer {
    let mut candidates: Vec<Candidate> =
        resp.candidates.into_iter().enumerate().map(|(position, c)| candidate_to_ir(c, position)).collect();
    if candidates.is_empty() {
        // The prompt itself was blocked: no candidates, only `promptFeedback`.
        let blocked = resp.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some());
        let finish = if blocked { FinishReason::ContentFilter } else { FinishReason::Stop };
        candidates.push(Candidate { finish: Some(finish), ..Candidate::default() });
    }
    Answer {
        id: resp.response_id.unwrap_or_default(),
        model: resp.model_version.unwrap_or_default(),
        candidates,
        usage: resp.usage_metadata.as_ref().map(Usage::from_gemini),
    }
}

fn candidate_to_ir(candidate: gm::Candidate, position: usize) -> Candidate {
    let mut parts = Vec::new();
    let mut calls = 0usize;
    for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
        if part.thought == Some(true) {
            parts.extend(reasoning_of(part));
        } else if let Some(call) = part.function_call {
            let id = call.id.clone().unwrap_or_else(|| call_id(calls, part.thought_signature.as_deref()));
            calls = calls.saturating_add(1);
            parts.push(tool_call(id, call));
        } else if let Some(text) = part.text {
            push_text(&mut parts, text);
        }
    }
    let reason = candidate.finish_reason.as_deref().unwrap_or("STOP");
    Candidate {
        parts,
        finish: Some(FinishReason::from_gemini(reason, calls > 0)),
        stop_sequence: None,
        index: candidate.index.unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX)),
    }
}

/// An answer as a Gemini response, for a Gemini client that asked for `model`.
pub(crate) fn answer_from_ir(
    answer: Answer,
    model: &str,
) -> Result<gm::GenerateContentResponse, TranslateError> {
    if answer.candidates.is_empty() {
        return Err(err("provider response has no choices"));
    }
    // Gemini has no id prefix of its own; an OpenAI id loses its prefix.
    let id = strip_openai_prefix(&answer.id);
    Ok(gm::GenerateContentResponse {
        candidates: answer.candidates.into_iter().map(candidate_from_ir).collect(),
        prompt_feedback: None,
        usage_metadata: answer.usage.map(|u| u.to_gemini()),
        model_version: Some(model.to_string()),
        response_id: Some(if id.is_empty() { "portcullis" } else { id }.to_string()),
        rest: Rest::new(),
    })
}

fn candidate_from_ir(candidate: Candidate) -> gm::Candidate {
    let mut parts = Vec::with_capacity(candidate.parts.len());
    for part in joined(candidate.parts) {
        match part {
            Part::Text(t) => parts.extend(text_part(t.text)),
            Part::Refusal(refusal) => parts.extend(text_part(refusal)),
            Part::Reasoning(reasoning) => parts.extend(thought_part(reasoning, false)),
            Part::ToolCall(call) => {
                let args = parse_arguments(&call.arguments).unwrap_or_else(|| Value::Object(Map::new()));
                parts.push(function_call(call, args));
            }
            // Not in an answer.
            Part::Image(_) | Part::Document(_) | Part::Audio(_) | Part::ToolResult(_) => {}
        }
    }
    gm::Candidate {
        content: Some(gm::Content { role: Some(MODEL.to_string()), parts }),
        finish_reason: Some(candidate.finish.unwrap_or(FinishReason::Stop).gemini().to_string()),
        index: Some(candidate.index),
        rest: Rest::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "gemini_tests.rs"]
mod tests;
