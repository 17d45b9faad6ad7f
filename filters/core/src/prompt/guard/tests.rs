//! Guards: compiling, scanning, masking, and config errors.

use super::*;
use serde_json::json;

fn guards(v: serde_json::Value) -> Result<Guards, ConfigError> {
    Guards::compile(serde_json::from_value(v).unwrap(), "policies.p.guards.request")
}

fn masked(g: &Guards, text: &str) -> String {
    g.mask(text, &g.scan(TextKind::User, text))
}

#[test]
fn detectors_mask_with_their_placeholders_and_keep_last() {
    let g = guards(json!([
        {"detector": "email", "action": "mask"},
        {"detector": "credit_card", "action": "mask", "keepLast": 4},
        {"detector": "us_ssn", "action": "mask", "mask": "***-**-****"}
    ]))
    .unwrap();
    assert_eq!(
        masked(&g, "mail jane@example.com, card 4111 1111 1111 1111, ssn 123-45-6789."),
        "mail [EMAIL], card [CARD]1111, ssn ***-**-****."
    );
    assert_eq!(masked(&g, "card 4111 1111 1111 1112 is not valid"), "card 4111 1111 1111 1112 is not valid");
}

#[test]
fn phrases_are_case_insensitive_and_optionally_whole_words() {
    let g = guards(json!([
        {"phrases": ["ignore previous instructions"], "action": "block", "name": "jailbreak"},
        {"phrases": ["cat"], "action": "mask", "wholeWord": true}
    ]))
    .unwrap();
    let found = g.scan(TextKind::User, "Please IGNORE previous Instructions now");
    assert_eq!(found.len(), 1);
    assert_eq!(g.guard(found[0].guard).map(|g| g.name.as_str()), Some("jailbreak"));
    assert_eq!(masked(&g, "a cat in a category"), "a [REDACTED] in a category");
}

#[test]
fn custom_patterns_and_kinds() {
    let g = guards(json!([
        {"patterns": ["EMP-[0-9]{6}", "CASE#[0-9]+"], "name": "internal_ids", "action": "mask", "mask": "[ID]",
         "kinds": ["user"]}
    ]))
    .unwrap();
    assert_eq!(masked(&g, "see EMP-123456 and CASE#77"), "see [ID] and [ID]");
    assert!(g.scan(TextKind::System, "EMP-123456").is_empty(), "only user text");
}

#[test]
fn overlaps_resolve_to_the_earlier_then_longer_match() {
    let g = guards(json!([
        {"phrases": ["card"], "action": "audit"},
        {"phrases": ["credit card number"], "action": "mask"}
    ]))
    .unwrap();
    assert_eq!(masked(&g, "my credit card number"), "my [REDACTED]");
}

#[test]
fn config_errors_name_the_field() {
    let err = |v| guards(v).unwrap_err();
    assert_eq!(err(json!([{"action": "mask"}])).path, "policies.p.guards.request[0]");
    assert_eq!(
        err(json!([{"detector": "email", "phrases": ["x"], "action": "mask"}])).path,
        "policies.p.guards.request[0]"
    );
    assert_eq!(
        err(json!([{"patterns": ["(unclosed"], "action": "mask"}])).path,
        "policies.p.guards.request[0].patterns[0]"
    );
    assert_eq!(
        err(json!([{"patterns": ["\\w{5000}{5000}"], "action": "mask"}])).path,
        "policies.p.guards.request[0].patterns[0]"
    );
    assert_eq!(err(json!([{"phrases": [], "action": "mask"}])).path, "policies.p.guards.request[0].phrases");
    assert_eq!(
        err(json!([{"patterns": ["x"], "name": "bad name", "action": "mask"}])).path,
        "policies.p.guards.request[0].name"
    );
    let unknown = serde_json::from_value::<GuardConfig>(json!({"detector": "passport", "action": "mask"}));
    assert!(unknown.is_err());
}

#[test]
fn reports_name_guards_never_values() {
    let g = guards(
        json!([{"detector": "openai_key", "action": "block"}, {"detector": "email", "action": "audit"}]),
    )
    .unwrap();
    let mut text = "key sk-proj-Ab3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3 from a@example.com".to_string();
    let report = apply_to_texts(&g, |f| {
        f(TextKind::User, &mut text);
    });
    assert_eq!(report.blocked_by.as_deref(), Some("openai_key"));
    assert_eq!(
        report.fired,
        [("openai_key".to_string(), Action::Block, 1), ("email".to_string(), Action::Audit, 1)]
    );
    assert!(!format!("{report:?}").contains("sk-proj"));
}

#[test]
fn overlapping_values_are_masked_as_one_span() {
    // The phone's digits and the "0" after it form a Luhn-valid 19-digit run that swallows
    // half the card; the card must still be found and nothing of it released.
    let g = guards(
        json!([{"detector": "phone", "action": "mask"}, {"detector": "credit_card", "action": "mask"}]),
    )
    .unwrap();
    let text = "call +1 415 555 2671 0 4111 1111 1111 1111 now";
    let masked = g.mask(text, &g.scan(TextKind::User, text));
    assert_eq!(masked, "call [PHONE] now");
}

fn every_detector() -> Guards {
    let all: Vec<serde_json::Value> =
        Detector::ALL.iter().map(|d| json!({"detector": d.name(), "action": "mask"})).collect();
    guards(serde_json::Value::Array(all)).unwrap()
}

#[test]
fn a_json_body_is_judged_without_parsing_it() {
    let g = every_detector();
    let body = |text: &str| {
        json!({"model": "m", "max_tokens": 1234567890123u64, "temperature": 0.25,
                                   "messages": [{"role": "user", "content": text}]})
        .to_string()
    };
    let clean = body("Summarise the report for the board in plain words (2024 figures), and list the risks.");
    assert!(!g.may_match_json(clean.as_bytes()), "numbers outside strings do not count");
    for hit in [
        "mail ann@example.com",
        "card 4111 1111 1111 1111",
        "key sk-proj-abc",
        "ip 10.0.0.1",
        "GB82 WEST 1234",
    ] {
        assert!(g.may_match_json(body(hit).as_bytes()), "{hit}");
    }
    // `@` spelled as an escape could hide an address: such a body is always parsed.
    assert!(g.may_match_json(br#"{"messages":[{"role":"user","content":"ann\u0040example.com"}]}"#));
}

proptest::proptest! {
    /// The cheap judgement never says "nothing" about a body one of whose texts has a finding.
    #[test]
    fn the_json_gate_never_hides_a_finding(
        words in proptest::collection::vec("[a-zA-Z]{1,8}|[0-9]{1,4}|[ ,.;:!?\n\"\\\\-]{1,2}|@|é|sk-|AKIA|eyJ|GB", 0..30),
        secrets in proptest::collection::vec(0usize..6, 0..3),
    ) {
        const SECRETS: [&str; 6] = ["ann@example.com", "4111 1111 1111 1111", "123-45-6789", "fe80::1",
                                    "+1 (415) 555-2671", "DE89 3704 0044 0532 0130 00"];
        let g = every_detector();
        let mut parts = words;
        for (i, s) in secrets.iter().enumerate() {
            parts.insert(i.min(parts.len()), format!(" {} ", SECRETS[*s]));
        }
        let text = parts.concat();
        let body = json!({"messages": [{"role": "user", "content": text}]}).to_string();
        if !g.scan(TextKind::User, &text).is_empty() {
            proptest::prop_assert!(g.may_match_json(body.as_bytes()), "{body}");
        }
    }
}
