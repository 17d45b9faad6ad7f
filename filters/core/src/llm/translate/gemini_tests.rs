use super::*;
use serde_json::json;

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

fn request(v: Value) -> gm::GenerateContentRequest {
    serde_json::from_value(v).unwrap()
}

fn response(v: Value) -> gm::GenerateContentResponse {
    serde_json::from_value(v).unwrap()
}

/// A Gemini request already in the form the writer gives (lower-case schema types, one
/// user turn per run of user content).
fn full_request() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You are a weather bot."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "Weather in Paris and Atlantis? Here is Paris:"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/paris.jpg"}}
            ]},
            {"role": "model", "parts": [
                {"text": "Two cities: two calls.", "thought": true, "thoughtSignature": "CiQBcsjafPq+/w=="},
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_weather", "args": {"city": "Atlantis"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 18, "sky": "cloudy"}}},
                {"functionResponse": {"name": "get_weather", "response": {"error": "no such city"}}},
                {"text": "Summarise."}
            ]}
        ],
        "tools": [{"functionDeclarations": [{
            "name": "get_weather",
            "description": "Weather by city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {
            "temperature": 0.2,
            "topP": 0.9,
            "topK": 40,
            "maxOutputTokens": 300,
            "stopSequences": ["END"],
            "seed": 7,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"summary": {"type": "string"}}}
        }
    })
}

#[test]
fn requests_round_trip_through_the_intermediate_form() {
    let original = request(full_request());
    let conversation = request_to_ir(original.clone(), false).unwrap();
    assert_eq!(request_from_ir(conversation, false).unwrap(), original);
}

#[test]
fn thoughts_and_function_responses_are_read_as_what_they_are() {
    let conversation = request_to_ir(request(full_request()), false).unwrap();
    let roles: Vec<Role> = conversation.entries.iter().map(|e| e.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::User]);
    let sources: Vec<usize> = conversation.entries.iter().map(|e| e.source).collect();
    assert_eq!(sources, [0, 0, 1, 2, 2]);
    let model = &conversation.entries[2];
    assert_eq!(
        model.parts[0],
        Part::Reasoning(Reasoning {
            text: "Two cities: two calls.".into(),
            signature: Some("CiQBcsjafPq+/w==".into()),
            issuer: Some(Issuer::Gemini),
            ..Reasoning::default()
        })
    );
    let ids: Vec<&str> = model
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["call_0", "call_1"]);
    let results: Vec<&ToolResult> = conversation.entries[3]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolResult(r) => r,
            other => panic!("not a result: {other:?}"),
        })
        .collect();
    // Paired by name, in order; the error convention is the tool's failure.
    assert_eq!((results[0].call_id.as_str(), results[0].is_error), ("call_0", false));
    assert_eq!(results[0].content, [Part::text(r#"{"temp":18,"sky":"cloudy"}"#)]);
    assert_eq!((results[1].call_id.as_str(), results[1].is_error), ("call_1", true));
    assert_eq!(results[1].content, [Part::text("no such city")]);
    assert_eq!(results[1].name.as_deref(), Some("get_weather"));
    assert_eq!(conversation.sampling.top_k, Some(40));
}

fn signed_answer() -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Need both cities.", "thought": true, "thoughtSignature": "CiQBcsjafPq+/w=="},
                {"text": "Checking "},
                {"text": "both."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB+cjafPq/8w=="},
                {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}}
            ]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": 40,
            "candidatesTokenCount": 20,
            "totalTokenCount": 75,
            "cachedContentTokenCount": 8,
            "thoughtsTokenCount": 15
        },
        "modelVersion": "gemini-3-pro-preview",
        "responseId": "abc123"
    })
}

#[test]
fn answers_round_trip_through_the_intermediate_form() {
    let answer = answer_to_ir(response(signed_answer()));
    let candidate = &answer.candidates[0];
    assert_eq!(candidate.finish, Some(FinishReason::ToolCalls));
    assert_eq!(candidate.text(), "Checking both.");
    let usage = answer.usage.unwrap();
    assert_eq!((usage.input, usage.output, usage.reasoning, usage.cache_read), (40, 35, 15, 8));
    let back = serde_json::to_value(answer_from_ir(answer, "gemini-3-pro-preview").unwrap()).unwrap();
    let mut want = signed_answer();
    // Adjacent texts are one text.
    let parts = want["candidates"][0]["content"]["parts"].as_array_mut().unwrap();
    parts.remove(2);
    parts[1]["text"] = json!("Checking both.");
    assert_eq!(back, want);
}

#[test]
fn signatures_of_an_answer_come_back_with_its_calls() {
    let answer = answer_to_ir(response(signed_answer()));
    let parts = answer.candidates[0].parts.clone();
    let ids: Vec<String> = parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["call_0__sig__CiQB-cjafPq_8w", "call_1"]);
    // The client's next request: the answer as its assistant turn, then the results.
    let result = |id: &str, text: &str| {
        Part::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content: vec![Part::text(text)],
            plain: true,
            is_error: false,
        })
    };
    let conversation = Conversation {
        entries: vec![
            Entry { role: Role::User, parts: vec![Part::text("Weather?")], plain: true, source: 0 },
            Entry { role: Role::Assistant, parts, plain: false, source: 1 },
            Entry { role: Role::Tool, parts: vec![result(&ids[0], "18C")], plain: false, source: 2 },
            Entry { role: Role::Tool, parts: vec![result(&ids[1], "25C")], plain: false, source: 3 },
        ],
        ..Conversation::default()
    };
    let req = serde_json::to_value(request_from_ir(conversation, false).unwrap()).unwrap();
    assert_eq!(
        req["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {"role": "model", "parts": [
                {"text": "Need both cities.", "thought": true, "thoughtSignature": "CiQBcsjafPq+/w=="},
                {"text": "Checking both."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB+cjafPq/8w=="},
                {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": "18C"}}},
                {"functionResponse": {"name": "get_weather", "response": {"output": "25C"}}}
            ]}
        ])
    );
}

#[test]
fn another_models_reasoning_is_never_handed_to_gemini_and_shown_unsigned() {
    let redacted =
        Reasoning { redacted: Some("opaque".into()), issuer: Some(Issuer::Claude), ..Reasoning::default() };
    assert_eq!(thought_part(redacted.clone(), true), None);
    assert_eq!(thought_part(redacted, false), None);
    let claude = Reasoning {
        text: "Mine.".into(),
        signature: Some("claude-sig".into()),
        issuer: Some(Issuer::Claude),
        ..Reasoning::default()
    };
    assert_eq!(thought_part(claude.clone(), true), None, "a Claude signature would be refused");
    let shown = thought_part(claude, false).unwrap();
    assert_eq!((shown.text.as_deref(), shown.thought_signature), (Some("Mine."), None));
    let own = Reasoning {
        text: "Gemini's.".into(),
        signature: Some("g-sig".into()),
        issuer: Some(Issuer::Gemini),
        ..Reasoning::default()
    };
    assert_eq!(thought_part(own, true).unwrap().thought_signature.as_deref(), Some("g-sig"));
    let summary = Reasoning { summary: Some("Thought about it.".into()), ..Reasoning::default() };
    assert_eq!(thought_part(summary, false).unwrap().text.as_deref(), Some("Thought about it."));
}

#[test]
fn errors_name_the_clients_own_position() {
    let req = request(json!({"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
    ]}));
    let e = request_to_ir(req, false).unwrap_err();
    assert!(e.message.contains("contents[1]: functionResponse `f` answers no functionCall"), "{e}");

    let call = ir::ToolCall { id: "call_9".into(), name: "f".into(), arguments: "[1]".into() };
    let conversation = Conversation {
        entries: vec![Entry {
            role: Role::Assistant,
            parts: vec![Part::ToolCall(call)],
            plain: true,
            source: 4,
        }],
        ..Conversation::default()
    };
    let e = request_from_ir(conversation, false).unwrap_err();
    assert_eq!(e.message, "messages[4]: arguments of tool call `call_9` are not a JSON object");

    let config =
        json!({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"candidateCount": 2}});
    assert!(request_to_ir(request(config), false).is_err());
    assert!(request_to_ir(request(json!({"contents": []})), false).is_err());
    assert!(request_to_ir(request(json!({"contents": []})), true).is_ok());
}

#[test]
fn a_blocked_prompt_is_one_filtered_candidate() {
    let answer = answer_to_ir(response(json!({"promptFeedback": {"blockReason": "SAFETY"}})));
    assert_eq!(answer.candidates.len(), 1);
    assert_eq!(answer.candidates[0].finish, Some(FinishReason::ContentFilter));
    let none = Answer { candidates: Vec::new(), ..Answer::default() };
    assert_eq!(answer_from_ir(none, "m").unwrap_err().message, "provider response has no choices");
}
