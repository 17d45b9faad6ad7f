//! The view over every format: which texts it visits and as what, editing in place, adding
//! messages, sizes, and that an untouched body is never re-serialised.

use super::*;
use serde_json::json;

fn view(api: WireApi, body: Value) -> RequestView {
    RequestView::parse(api, body.to_string().as_bytes()).unwrap()
}

fn texts(view: &mut RequestView) -> Vec<(TextKind, String)> {
    let mut out = Vec::new();
    view.texts(&mut |kind, text| out.push((kind, text.to_string())));
    out
}

use TextKind::*;

#[test]
fn openai_chat_every_kind() {
    let mut v = view(
        WireApi::OpenAiChat,
        json!({"model": "m", "messages": [
            {"role": "developer", "content": "dev"},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "content": [{"type": "text", "text": "u1"}, {"type": "image_url", "image_url": {"url": "data:x"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"q\":1}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "result"},
            {"role": "user", "content": "u2"}
        ]}),
    );
    assert_eq!(
        texts(&mut v),
        [
            (System, "dev".into()),
            (System, "sys".into()),
            (User, "u1".into()),
            (ToolCallArguments, "{\"q\":1}".into()),
            (ToolResult, "result".into()),
            (User, "u2".into())
        ]
    );
    assert_eq!(v.sizes(), Sizes { messages: 6, text_bytes: 3 + 3 + 2 + 7 + 6 + 2 });
    assert_eq!(v.last_user_text().as_deref(), Some("u2"));
}

#[test]
fn anthropic_every_kind() {
    let mut v = view(
        WireApi::AnthropicMessages,
        json!({"model": "m", "system": [{"type": "text", "text": "sys"}], "messages": [
            {"role": "user", "content": "u1"},
            {"role": "assistant", "content": [{"type": "text", "text": "a1"}, {"type": "tool_use", "id": "t", "name": "f", "input": {"q": "x", "n": [1, "y"]}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "r"}]}, {"type": "text", "text": "u2"}]}
        ]}),
    );
    assert_eq!(
        texts(&mut v),
        [
            (System, "sys".into()),
            (User, "u1".into()),
            (Assistant, "a1".into()),
            (ToolCallArguments, "x".into()),
            (ToolCallArguments, "y".into()),
            (ToolResult, "r".into()),
            (User, "u2".into())
        ]
    );
    assert_eq!(v.sizes().messages, 4);
}

#[test]
fn gemini_every_kind() {
    let mut v = view(
        WireApi::GeminiGenerate,
        json!({"systemInstruction": {"parts": [{"text": "sys"}]}, "contents": [
            {"role": "user", "parts": [{"text": "u1"}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"q": "x"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"out": "r"}}}, {"text": "u2"}]}
        ]}),
    );
    assert_eq!(
        texts(&mut v),
        [
            (System, "sys".into()),
            (User, "u1".into()),
            (ToolCallArguments, "x".into()),
            (ToolResult, "r".into()),
            (User, "u2".into())
        ]
    );
}

#[test]
fn bedrock_every_kind() {
    let mut v = view(
        WireApi::BedrockConverse,
        json!({"system": [{"text": "sys"}, {"cachePoint": {"type": "default"}}], "messages": [
            {"role": "user", "content": [{"text": "u1"}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]},
            {"role": "assistant", "content": [{"text": "a1"}, {"toolUse": {"toolUseId": "t", "name": "f", "input": {"q": "x"}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t", "content": [{"text": "r1"}, {"json": {"k": ["r2"]}}]}},
                {"text": "u2"}
            ]}
        ], "inferenceConfig": {"maxTokens": 10}}),
    );
    assert_eq!(
        texts(&mut v),
        [
            (System, "sys".into()),
            (User, "u1".into()),
            (Assistant, "a1".into()),
            (ToolCallArguments, "x".into()),
            (ToolResult, "r1".into()),
            (ToolResult, "r2".into()),
            (User, "u2".into())
        ]
    );
    assert_eq!(v.sizes().messages, 4);
    assert_eq!(v.last_user_text().as_deref(), Some("u2"));
}

#[test]
fn bedrock_added_messages_keep_turns_alternating() {
    let mut v = view(
        WireApi::BedrockConverse,
        json!({"messages": [
            {"role": "user", "content": [{"text": "q1"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}, {"text": "q2"}]}
        ]}),
    );
    v.add_message(Role::System, Position::Prepend, "Be brief.").unwrap();
    v.add_message(Role::User, Position::Prepend, "ctx0").unwrap();
    v.add_message(Role::User, Position::BeforeLastUser, "ctx").unwrap();
    v.add_message(Role::Assistant, Position::Append, "Sure:").unwrap();
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(out["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"text": "ctx0"}, {"text": "q1"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}, {"text": "ctx"}, {"text": "q2"}
            ]},
            {"role": "assistant", "content": [{"text": "Sure:"}]}
        ])
    );
    let mut v = view(WireApi::BedrockConverse, json!({"messages": [{"role": "user", "content": "no"}]}));
    assert!(v.add_message(Role::User, Position::Append, "x").is_err());
    let mut v = view(WireApi::BedrockConverse, json!({"system": "no"}));
    assert!(v.add_message(Role::System, Position::Append, "x").is_err());
}

#[test]
fn embeddings_input_string_or_list() {
    let mut v = view(WireApi::OpenAiEmbeddings, json!({"model": "e", "input": ["a", "b", [1, 2]]}));
    assert_eq!(texts(&mut v), [(EmbeddingsInput, "a".into()), (EmbeddingsInput, "b".into())]);
    let mut v = view(WireApi::OpenAiEmbeddings, json!({"model": "e", "input": "one"}));
    assert_eq!(texts(&mut v), [(EmbeddingsInput, "one".into())]);
}

#[test]
fn bedrock_embeddings_inputs_titan_and_cohere() {
    let mut v = view(WireApi::BedrockEmbeddings, json!({"inputText": "one", "dimensions": 256}));
    assert_eq!(texts(&mut v), [(EmbeddingsInput, "one".into())]);
    let mut v = view(WireApi::BedrockEmbeddings, json!({"texts": ["a", "b"], "input_type": "search_query"}));
    assert_eq!(texts(&mut v), [(EmbeddingsInput, "a".into()), (EmbeddingsInput, "b".into())]);
    // A guard's mask is written back where it was found.
    v.texts_mut(&mut |_, text| {
        text.make_ascii_uppercase();
        true
    });
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(out, json!({"texts": ["A", "B"], "input_type": "search_query"}));
    let mut v = view(WireApi::BedrockEmbeddings, json!({"inputText": "q"}));
    assert_eq!(v.sizes(), Sizes { messages: 0, text_bytes: 1 });
    assert!(v.add_message(Role::System, Position::Prepend, "never added").is_ok());
    assert!(!v.changed());
}

#[test]
fn edits_are_written_back_and_only_then() {
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "card 4111"}], "x_unknown": {"k": 1}});
    let mut v = view(WireApi::OpenAiChat, body.clone());
    v.texts_mut(&mut |_, _| false);
    assert_eq!(v.clone().into_bytes(), None, "nothing changed: the original bytes go on");
    v.texts_mut(&mut |kind, text| {
        let hit = kind == User && text.contains("4111");
        if hit {
            *text = text.replace("4111", "[CARD]");
        }
        hit
    });
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(out["messages"][0]["content"], "card [CARD]");
    assert_eq!(out["x_unknown"], json!({"k": 1}), "unknown fields survive");
    assert_eq!(out.as_object().unwrap().keys().collect::<Vec<_>>(), ["model", "messages", "x_unknown"]);
}

#[test]
fn responses_every_format() {
    let cases = [
        (
            WireApi::OpenAiChat,
            json!({"choices": [{"message": {"content": "hi", "tool_calls": [{"function": {"arguments": "{}"}}]}}]}),
        ),
        (
            WireApi::AnthropicMessages,
            json!({"content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "input": {"a": "{}"}}]}),
        ),
        (
            WireApi::GeminiGenerate,
            json!({"candidates": [{"content": {"parts": [{"text": "hi"}, {"functionCall": {"args": {"a": "{}"}}}]}}]}),
        ),
        (
            WireApi::BedrockConverse,
            json!({"output": {"message": {"role": "assistant", "content": [{"text": "hi"}, {"toolUse": {"toolUseId": "t", "name": "f", "input": {"a": "{}"}}}]}}, "stopReason": "tool_use"}),
        ),
    ];
    for (api, body) in cases {
        let mut v = ResponseView::parse(api, body.to_string().as_bytes()).unwrap();
        let mut seen = Vec::new();
        v.texts(&mut |kind, text| seen.push((kind, text.to_string())));
        assert_eq!(seen, [(Assistant, "hi".into()), (ToolCallArguments, "{}".into())], "{api}");
        v.texts_mut(&mut |_, text| {
            text.make_ascii_uppercase();
            true
        });
        let out = String::from_utf8(v.into_bytes().unwrap()).unwrap();
        assert!(out.contains("\"HI\""), "{out}");
    }
}

#[test]
fn messages_are_added_where_each_format_keeps_them() {
    let mut v = view(WireApi::OpenAiChat, json!({"messages": [{"role": "user", "content": "hi"}]}));
    v.add_message(Role::System, Position::Prepend, "Be brief.").unwrap();
    v.add_message(Role::User, Position::Append, "Sign off.").unwrap();
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(
        out["messages"],
        json!([{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"user","content":"Sign off."}])
    );

    for (system, expected) in [
        (json!("You are kind."), json!("Be brief.\n\nYou are kind.")),
        (
            json!([{"type": "text", "text": "A"}]),
            json!([{"type":"text","text":"Be brief."},{"type":"text","text":"A"}]),
        ),
        (Value::Null, json!("Be brief.")),
    ] {
        let mut v = view(WireApi::AnthropicMessages, json!({"system": system, "messages": []}));
        v.add_message(Role::System, Position::Prepend, "Be brief.").unwrap();
        let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
        assert_eq!(out["system"], expected);
    }

    let mut v =
        view(WireApi::GeminiGenerate, json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}));
    v.add_message(Role::System, Position::Append, "Be brief.").unwrap();
    v.add_message(Role::Assistant, Position::Prepend, "Hello.").unwrap();
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(out["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
    assert_eq!(out["contents"][0], json!({"role": "model", "parts": [{"text": "Hello."}]}));

    let mut v = view(WireApi::OpenAiEmbeddings, json!({"input": "x"}));
    v.add_message(Role::System, Position::Prepend, "ignored").unwrap();
    assert_eq!(v.into_bytes(), None, "embeddings have no messages");
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    assert!(RequestView::parse(WireApi::OpenAiChat, b"[1,2]").is_err());
    assert!(RequestView::parse(WireApi::OpenAiChat, b"{oops").is_err());
    let mut v = view(WireApi::OpenAiChat, json!({"messages": "no"}));
    assert!(v.add_message(Role::System, Position::Prepend, "x").is_err());
    assert!(texts(&mut v).is_empty());
    let mut v = view(WireApi::AnthropicMessages, json!({"system": 3}));
    assert!(v.add_message(Role::System, Position::Prepend, "x").is_err());
    // Texts of the wrong type are not text: skipped, never a panic.
    let mut v = view(WireApi::GeminiGenerate, json!({"contents": [{"parts": [{"text": 5}, "x", null]}]}));
    assert!(texts(&mut v).is_empty());
}

#[test]
fn several_messages_keep_their_order_either_way() {
    let mut v = view(WireApi::OpenAiChat, json!({"messages": [{"role": "user", "content": "client"}]}));
    let added = [(Role::System, "s".to_string()), (Role::User, "u".to_string())];
    v.add_messages(Position::Prepend, &added).unwrap();
    v.add_messages(Position::Append, &added).unwrap();
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    let contents: Vec<&str> =
        out["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["s", "u", "client", "s", "u"]);
    let mut v = view(WireApi::AnthropicMessages, json!({"system": "client", "messages": []}));
    v.add_messages(Position::Prepend, &[(Role::System, "a".into()), (Role::System, "b".into())]).unwrap();
    let out: Value = serde_json::from_slice(&v.into_bytes().unwrap()).unwrap();
    assert_eq!(out["system"], "a\n\nb\n\nclient");
}
