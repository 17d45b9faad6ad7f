use super::*;
use crate::llm::ir::{Entry, Text};
use serde_json::Value;

fn entry(role: Role, parts: Vec<Part>, source: usize) -> Entry {
    Entry { role, parts, plain: false, source }
}

fn cached(text: &str) -> Part {
    Part::Text(Text { text: text.to_string(), cache: Some(json!({"type": "ephemeral"})) })
}

fn converse(conversation: Conversation) -> Value {
    serde_json::to_value(request_from_ir(conversation, false).unwrap()).unwrap()
}

#[test]
fn cache_markers_become_cache_points_after_their_text() {
    let conversation = Conversation {
        entries: vec![
            entry(Role::System, vec![Part::text("Be brief."), cached("The whole manual …")], 0),
            entry(Role::User, vec![cached("Long document …"), Part::text("Question?")], 1),
        ],
        ..Conversation::default()
    };
    assert_eq!(
        converse(conversation),
        json!({
            "system": [
                {"text": "Be brief."},
                {"text": "The whole manual …"},
                {"cachePoint": {"type": "default"}}
            ],
            "messages": [{"role": "user", "content": [
                {"text": "Long document …"},
                {"cachePoint": {"type": "default"}},
                {"text": "Question?"}
            ]}]
        })
    );
}

#[test]
fn signed_and_redacted_reasoning_is_handed_back_in_its_place() {
    let signed = Reasoning {
        text: "Need the weather.".into(),
        signature: Some("sig==".into()),
        issuer: Some(Issuer::Claude),
        ..Default::default()
    };
    let redacted =
        Reasoning { redacted: Some("b3BhcXVl".into()), issuer: Some(Issuer::Claude), ..Default::default() };
    // Another model's: Converse could not verify it.
    let unsigned = Reasoning { text: "Hmm.".into(), ..Default::default() };
    let call = ir::ToolCall {
        id: "tooluse_1".into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Rome"}"#.into(),
    };
    let result = ToolResult {
        call_id: "tooluse_1".into(),
        name: None,
        content: vec![Part::text("no such"), Part::text("city")],
        plain: false,
        is_error: true,
    };
    let conversation = Conversation {
        entries: vec![
            entry(Role::User, vec![Part::text("Weather in Rome?")], 0),
            entry(
                Role::Assistant,
                vec![
                    Part::Reasoning(signed),
                    Part::Reasoning(redacted),
                    Part::Reasoning(unsigned),
                    Part::text("Checking."),
                    Part::ToolCall(call),
                ],
                1,
            ),
            entry(Role::Tool, vec![Part::ToolResult(result)], 2),
        ],
        tools: vec![ir::Tool::Function(ir::Function {
            name: "get_weather".into(),
            description: None,
            parameters: None,
            strict: None,
        })],
        ..Conversation::default()
    };
    assert_eq!(
        converse(conversation),
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "Weather in Rome?"}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "Need the weather.", "signature": "sig=="}}},
                    {"reasoningContent": {"redactedContent": "b3BhcXVl"}},
                    {"text": "Checking."},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Rome"}}}
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "no such\ncity"}], "status": "error"}}
                ]}
            ],
            "toolConfig": {"tools": [{"toolSpec": {
                "name": "get_weather",
                "inputSchema": {"json": {"type": "object", "properties": {}}}
            }}]}
        })
    );
}

#[test]
fn reasoning_in_a_user_turn_is_not_handed_back() {
    let signed = Reasoning {
        text: "x".into(),
        signature: Some("s".into()),
        issuer: Some(Issuer::Claude),
        ..Default::default()
    };
    let conversation = Conversation {
        entries: vec![entry(Role::User, vec![Part::Reasoning(signed), Part::text("hi")], 0)],
        ..Conversation::default()
    };
    assert_eq!(converse(conversation), json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}));
}

#[test]
fn text_documents_are_sent_as_bytes_and_tool_results_keep_images() {
    let doc =
        Document { source: Media::Text { mime: None, data: "hello".into() }, name: Some("notes.txt".into()) };
    let png = Media::Base64 { mime: "image/png".into(), data: "iVBORw0KGgo=".into() };
    let result = ToolResult {
        call_id: "t".into(),
        name: None,
        content: vec![Part::text("chart:"), Part::Image(png)],
        plain: false,
        is_error: false,
    };
    let conversation = Conversation {
        entries: vec![entry(Role::User, vec![Part::ToolResult(result), Part::Document(doc)], 0)],
        ..Conversation::default()
    };
    assert_eq!(
        converse(conversation),
        json!({"messages": [{"role": "user", "content": [
            {"toolResult": {"toolUseId": "t", "content": [
                {"text": "chart:"},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
            ]}},
            {"document": {"format": "txt", "name": "notes", "source": {"bytes": "aGVsbG8="}}}
        ]}]})
    );
}

#[test]
fn errors_name_the_clients_own_message() {
    let url = Media::Url { url: "https://example.com/a.png".into(), mime: None };
    let conversation = Conversation {
        entries: vec![
            entry(Role::System, vec![Part::text("s")], 0),
            entry(Role::User, vec![Part::Image(url)], 3),
        ],
        ..Conversation::default()
    };
    let e = request_from_ir(conversation, false).unwrap_err();
    assert!(e.message.starts_with("messages[3]: "), "{}", e.message);
    assert!(e.message.contains("no remote URLs"), "{}", e.message);
}

#[test]
fn answers_keep_reasoning_with_its_signature_and_redacted_data() {
    let resp: br::ConverseResponse = serde_json::from_value(json!({
        "output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "sig=="}}},
            {"reasoningContent": {"redactedContent": "b3BhcXVl"}},
            {"text": "Let me "},
            {"text": "check."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "f", "input": {"a": 1}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 20, "cacheWriteInputTokens": 8}
    }))
    .unwrap();
    let answer = answer_to_ir(resp, "req-1");
    assert_eq!(answer.id, "req-1");
    let candidate = answer.candidates.first().unwrap();
    assert_eq!(
        candidate.parts,
        vec![
            Part::Reasoning(Reasoning {
                text: "Think.".into(),
                signature: Some("sig==".into()),
                issuer: Some(Issuer::Claude),
                ..Default::default()
            }),
            Part::Reasoning(Reasoning {
                redacted: Some("b3BhcXVl".into()),
                issuer: Some(Issuer::Claude),
                ..Default::default()
            }),
            Part::text("Let me check."),
            Part::ToolCall(ir::ToolCall {
                id: "tooluse_1".into(),
                name: "f".into(),
                arguments: r#"{"a":1}"#.into()
            }),
        ]
    );
    assert_eq!(candidate.finish, Some(FinishReason::ToolCalls));
    assert_eq!(answer.usage.unwrap().cache_write, 8);
}

#[test]
fn answers_tell_the_stop_sequence_where_the_model_reports_it() {
    let resp: br::ConverseResponse = serde_json::from_value(json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "1, 2"}]}},
        "stopReason": "stop_sequence",
        "additionalModelResponseFields": {"stop_sequence": "###"}
    }))
    .unwrap();
    let answer = answer_to_ir(resp, "");
    let candidate = answer.candidates.first().unwrap();
    assert_eq!(candidate.finish, Some(FinishReason::StopSequence));
    assert_eq!(candidate.stop_sequence.as_deref(), Some("###"));
    assert_eq!(answer.usage, None);
}

#[test]
fn document_names_are_what_converse_accepts() {
    assert_eq!(document_name("Q3 report (final).pdf"), "Q3 report (final)");
    assert_eq!(document_name("a_b.c  d.txt"), "a b c d");
    assert_eq!(document_name(".pdf"), "document");
    assert_eq!(document_name(""), "document");
    assert_eq!(document_name("résumé"), "r sum");
}
