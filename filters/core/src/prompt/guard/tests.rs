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
