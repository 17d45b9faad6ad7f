use super::*;
use serde_json::json;

fn request(v: Value) -> an::MessagesRequest {
    serde_json::from_value(v).unwrap()
}

/// Read into the intermediate form and written back.
fn round_trip(v: Value) -> Value {
    let conversation = request_to_ir(request(v), false).unwrap();
    serde_json::to_value(request_from_ir(conversation, "claude-x", false, false).unwrap()).unwrap()
}

#[test]
fn requests_survive_the_intermediate_form() {
    let original = json!({
        "model": "claude-x",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You review contracts."},
            {"type": "text", "text": "<contract>…</contract>", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Is it signed?", "cache_control": {"type": "ephemeral"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Look it up.", "signature": "EqQBsig"},
                {"type": "redacted_thinking", "data": "EmwKAhgB"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "signature"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "no such page", "is_error": true},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                    {"type": "text", "text": "page 1"}, {"type": "text", "text": "page 2"}
                ]},
                {"type": "text", "text": "Go on."}
            ]}
        ],
        "stop_sequences": ["###"],
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "tools": [{"name": "lookup", "description": "Finds a page", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "metadata": {"user_id": "u-1"}
    });
    assert_eq!(round_trip(original.clone()), original);
}

#[test]
fn reasoning_is_read_in_order_with_its_signature() {
    let conversation = request_to_ir(
        request(json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Hello."}
            ]}
        ]})),
        false,
    )
    .unwrap();
    let assistant = &conversation.entries[1];
    assert_eq!(assistant.role, Role::Assistant);
    assert_eq!(
        assistant.parts,
        vec![
            Part::Reasoning(Reasoning {
                text: "Hmm.".into(),
                signature: Some("sig".into()),
                issuer: Some(Issuer::Claude),
                ..Reasoning::default()
            }),
            Part::Reasoning(Reasoning {
                redacted: Some("opaque".into()),
                issuer: Some(Issuer::Claude),
                ..Reasoning::default()
            }),
            Part::text("Hello."),
        ]
    );
}

#[test]
fn tool_results_are_tool_entries_before_the_rest_of_their_turn() {
    let conversation = request_to_ir(
        request(json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Thanks"},
                {"type": "tool_result", "tool_use_id": "t1", "is_error": true, "content": "boom"}
            ]}
        ]})),
        false,
    )
    .unwrap();
    let roles: Vec<Role> = conversation.entries.iter().map(|e| e.role).collect();
    assert_eq!(roles, [Role::Tool, Role::User]);
    assert!(conversation.entries.iter().all(|e| e.source == 0));
    let Part::ToolResult(result) = &conversation.entries[0].parts[0] else { panic!("a tool result") };
    assert!(result.is_error);
    assert_eq!(result.content, vec![Part::text("boom")]);
}

fn entry(role: Role, parts: Vec<Part>, source: usize) -> Entry {
    Entry { role, parts, plain: true, source }
}

#[test]
fn another_models_reasoning_is_dropped_and_anthropics_kept_in_place() {
    let conversation = Conversation {
        entries: vec![
            entry(Role::User, vec![Part::text("Hi")], 0),
            entry(
                Role::Assistant,
                vec![
                    Part::Reasoning(Reasoning { text: "someone else's".into(), ..Reasoning::default() }),
                    Part::text("Hello."),
                    Part::Reasoning(Reasoning {
                        text: "mine".into(),
                        signature: Some("sig".into()),
                        issuer: Some(Issuer::Claude),
                        ..Reasoning::default()
                    }),
                    Part::Reasoning(Reasoning {
                        redacted: Some("opaque".into()),
                        issuer: Some(Issuer::Claude),
                        ..Reasoning::default()
                    }),
                ],
                1,
            ),
        ],
        ..Conversation::default()
    };
    let out = serde_json::to_value(request_from_ir(conversation, "m", false, false).unwrap()).unwrap();
    assert_eq!(
        out["messages"][1]["content"],
        json!([
            {"type": "text", "text": "Hello."},
            {"type": "thinking", "thinking": "mine", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"}
        ])
    );
}

#[test]
fn tool_entries_join_the_next_user_turn_with_their_error_flag() {
    let result = |id: &str, is_error| {
        Part::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content: vec![Part::text("out")],
            plain: true,
            is_error,
        })
    };
    let call = Part::ToolCall(ir::ToolCall { id: "a".into(), name: "f".into(), arguments: String::new() });
    let conversation = Conversation {
        entries: vec![
            entry(Role::User, vec![Part::text("Go")], 0),
            entry(Role::Assistant, vec![call], 1),
            entry(Role::Tool, vec![result("a", true)], 2),
            entry(Role::User, vec![Part::text("And?")], 3),
            entry(Role::Tool, vec![result("b", false)], 4),
        ],
        ..Conversation::default()
    };
    let out = serde_json::to_value(request_from_ir(conversation, "m", false, false).unwrap()).unwrap();
    assert_eq!(
        out["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": "out", "is_error": true},
            {"type": "tool_result", "tool_use_id": "b", "content": "out"},
            {"type": "text", "text": "And?"}
        ]})
    );
}

#[test]
fn refusals() {
    let server_tool = request(json!({"model": "m", "max_tokens": 1,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "Hi"}]}));
    let e = request_to_ir(server_tool, false).unwrap_err();
    assert!(e.message.contains("Anthropic server tool `web_search_20250305` is not available"), "{e}");

    let image_result = request(json!({"model": "m", "max_tokens": 1, "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
        ]}]}
    ]}));
    let e = request_to_ir(image_result, false).unwrap_err();
    assert!(e.message.contains("messages[1]: tool results may only hold text"), "{e}");

    let several = Conversation {
        entries: vec![entry(Role::User, vec![Part::text("Hi")], 0)],
        sampling: Sampling { candidates: Some(2), ..Sampling::default() },
        ..Conversation::default()
    };
    assert!(request_from_ir(several, "m", false, false).is_err());

    let audio = Conversation {
        entries: vec![entry(Role::User, vec![Part::Audio(json!({"data": "", "format": "wav"}))], 7)],
        ..Conversation::default()
    };
    let e = request_from_ir(audio, "m", false, false).unwrap_err();
    assert!(e.message.contains("messages[7]: audio input is not supported"), "{e}");
}

#[test]
fn answers_survive_the_intermediate_form() {
    let original = json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "client-model",
        "content": [
            {"type": "thinking", "thinking": "Count.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "1, 2, 3"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}
        ],
        "stop_reason": "stop_sequence",
        "stop_sequence": "4",
        "usage": {
            "input_tokens": 5,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 200,
            "output_tokens": 7
        }
    });
    let answer = answer_to_ir(serde_json::from_value(original.clone()).unwrap());
    assert_eq!(answer.candidates[0].finish, Some(FinishReason::StopSequence));
    assert_eq!(answer.usage.unwrap().cache_write, 100);
    let mut out = serde_json::to_value(answer_from_ir(answer, "client-model").unwrap()).unwrap();
    // Ids gain the prefix every writer adds.
    assert_eq!(out["id"], "msg_msg_01");
    out["id"] = json!("msg_01");
    assert_eq!(out, original);
}

#[test]
fn a_stop_sequence_is_named_only_when_it_ended_the_answer() {
    let answer = |finish| Answer {
        candidates: vec![Candidate {
            parts: vec![Part::text("x")],
            finish: Some(finish),
            stop_sequence: Some("###".into()),
            index: 0,
        }],
        ..Answer::default()
    };
    let out = answer_from_ir(answer(FinishReason::StopSequence), "m").unwrap();
    assert_eq!(
        (out.stop_reason.as_deref(), out.stop_sequence.as_deref()),
        (Some("stop_sequence"), Some("###"))
    );
    let out = answer_from_ir(answer(FinishReason::Length), "m").unwrap();
    assert_eq!((out.stop_reason.as_deref(), out.stop_sequence), (Some("max_tokens"), None));
    let e = answer_from_ir(Answer::default(), "m").unwrap_err();
    assert!(e.message.contains("no choices"));
}
