use super::*;
use crate::http::fake_host::FakeHost;
use serde_json::json;

fn budgets(v: serde_json::Value, priced: bool) -> Result<Vec<Budget>, ConfigError> {
    Budget::compile(serde_json::from_value(v).unwrap(), priced)
}

#[test]
fn windows_are_aligned_and_months_are_calendar_months() {
    assert_eq!(Window::Seconds(60).bounds(125), (120, 180));
    assert_eq!(Window::Seconds(86_400).bounds(86_399), (0, 86_400));
    // 2026-12-01T16:00:00Z → December 2026, ending 2027-01-01.
    let now = 1_796_083_200 + 16 * 3600;
    assert_eq!(Window::Month.bounds(now), (1_796_083_200, 1_798_761_600));
    // 2024-02-29 (leap year) → February 2024 = [2024-02-01, 2024-03-01).
    assert_eq!(Window::Month.bounds(1_709_164_800), (1_706_745_600, 1_709_251_200));
    assert_eq!(Window::Month.bounds(0), (0, 31 * 86_400));
    assert_eq!(Window::parse("30s"), Some(Window::Seconds(30)));
    assert_eq!(Window::parse("0s"), None);
    assert_eq!(Window::parse("week"), None);
}

#[test]
fn config_errors_name_the_field() {
    let err = budgets(json!([{"name": "a", "window": "day"}]), false).unwrap_err();
    assert_eq!(err.path, "budgets[0]");
    let err = budgets(json!([{"name": "a", "tokens": 5, "window": "fortnight"}]), false).unwrap_err();
    assert_eq!(err.path, "budgets[0].window");
    let err = budgets(json!([{"name": "a", "cost": 5.0, "window": "day"}]), false).unwrap_err();
    assert_eq!(err.path, "budgets[0].cost");
    assert!(err.message.contains("price table"));
    let err = budgets(
        json!([{"name": "a", "tokens": 1, "window": "day"}, {"name": "a", "tokens": 1, "window": "day"}]),
        false,
    )
    .unwrap_err();
    assert_eq!(err.path, "budgets[1].name");
    let err = budgets(json!([{"name": "a", "tokens": 0, "window": "day"}]), false).unwrap_err();
    assert_eq!(err.path, "budgets[0].tokens");
    assert_eq!(
        budgets(json!([{"name": "a", "cost": 2.5, "window": "day"}]), true).unwrap()[0].limit,
        2_500_000
    );
}

#[test]
fn reservations_fit_under_the_limit_and_settle_to_the_actual() {
    let b = &budgets(json!([{"name": "t", "tokens": 100, "window": "minute"}]), false).unwrap()[0];
    let mut host = FakeHost::default();
    let key = "portcullis.budget;t;acme".to_string();
    let (r1, s1) = reserve(&mut host, b, 0, key.clone(), 60, 125).unwrap();
    assert_eq!(s1, Standing { limit: 100, remaining: 40, reset: 55 });
    // 60 + 50 > 100: refused, with what is left.
    let refused = reserve(&mut host, b, 0, key.clone(), 50, 126).unwrap_err();
    assert_eq!(
        refused,
        Refusal::Exhausted {
            budget: 0,
            standing: Standing { limit: 100, remaining: 40, reset: 54 },
            wanted: 50
        }
    );
    // The first request used 20: 40 come back, and 50 now fit.
    settle(&mut host, &r1, 20);
    let (r2, s2) = reserve(&mut host, b, 0, key.clone(), 50, 127).unwrap();
    assert_eq!(s2.remaining, 30);
    // Using more than reserved is debited in full (the documented overshoot).
    settle(&mut host, &r2, 90);
    assert_eq!(Ledger::decode(host.shared_data(&key).0.as_deref()).spent, 110);
    assert!(reserve(&mut host, b, 0, key.clone(), 1, 128).is_err());
    // The next window starts from zero; a settlement for the old one is ignored.
    let (_, s3) = reserve(&mut host, b, 0, key.clone(), 10, 185).unwrap();
    assert_eq!(s3.remaining, 90);
    settle(&mut host, &r2, 0);
    assert_eq!(Ledger::decode(host.shared_data(&key).0.as_deref()).spent, 10);
    // A refund never goes below zero.
    let r = Reservation { budget: 0, key: key.clone(), window: 180, amount: 500 };
    settle(&mut host, &r, 0);
    assert_eq!(Ledger::decode(host.shared_data(&key).0.as_deref()).spent, 0);
}

#[test]
fn ledgers_by_scope() {
    let all = budgets(
        json!([
            {"name": "g", "tokens": 1, "window": "day", "per": "global"},
            {"name": "t", "tokens": 1, "window": "day"},
            {"name": "tm", "tokens": 1, "window": "day", "per": "tenantModel"},
            {"name": "r", "tokens": 1, "window": "day", "per": "route", "model": "gpt-*"},
        ]),
        false,
    )
    .unwrap();
    let subject =
        Subject { route: "chat", request_model: "gpt-4o", upstream_model: "gpt-4o", tenant: Some("acme") };
    let keys: Vec<String> = all.iter().map(|b| b.ledger_key(&subject, "gpt-4o")).collect();
    assert_eq!(
        keys,
        [
            "portcullis.budget;g;",
            "portcullis.budget;t;acme",
            "portcullis.budget;tm;acme/gpt-4o",
            "portcullis.budget;r;chat"
        ]
    );
    assert!(all[3].covers(&subject));
    assert!(!all[3].covers(&Subject { request_model: "claude", upstream_model: "claude", ..subject }));
}

#[test]
fn reset_is_written_like_openai() {
    assert_eq!(reset_text(1), "1s");
    assert_eq!(reset_text(360), "6m0s");
    assert_eq!(reset_text(3723), "1h2m3s");
}
