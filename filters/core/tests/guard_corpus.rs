//! Precision and recall of every built-in detector on its labelled corpus
//! (`fixtures/guard/corpus.tsv`, written by `generate.py`: true positives and near misses).
//!
//! A `+` line must yield exactly one finding of its detector; a `-` line none. The test prints
//! a table (run with `--nocapture` to see it; the README lists it) and fails below the floor:
//! precision and recall of 1.0 on this corpus — every miss here is a known case to fix, not
//! noise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use portcullis_core::llm::view::TextKind;
use portcullis_core::prompt::guard::detector::Detector;
use portcullis_core::prompt::guard::{GuardConfig, Guards};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Default)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
    misses: Vec<String>,
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn precision_and_recall_per_detector() {
    let corpus =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/guard/corpus.tsv"))
            .unwrap();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let guards: BTreeMap<&str, Guards> = Detector::ALL
        .iter()
        .map(|d| {
            let config: GuardConfig =
                serde_json::from_value(serde_json::json!({"detector": d.name(), "action": "mask"})).unwrap();
            (d.name(), Guards::compile(vec![config], "corpus").unwrap())
        })
        .collect();
    for line in corpus.lines() {
        let mut fields = line.splitn(3, '\t');
        let (detector, label, text) =
            (fields.next().unwrap(), fields.next().unwrap(), unescape(fields.next().unwrap()));
        let found = guards[detector].scan(TextKind::User, &text).len();
        let score = scores.entry(detector.to_string()).or_default();
        match (label, found) {
            ("+", 1) => score.tp += 1,
            ("+", _) => {
                score.fn_ += 1;
                score.misses.push(format!("missed: {text:?} ({found} findings)"));
            }
            ("-", 0) => score.tn += 1,
            _ => {
                score.fp += 1;
                score.misses.push(format!("false positive: {text:?}"));
            }
        }
    }
    println!("| detector | true positives | near misses | precision | recall |");
    println!("|---|---:|---:|---:|---:|");
    let mut failures = Vec::new();
    for (name, s) in &scores {
        let precision = f64::from(s.tp) / f64::from((s.tp + s.fp).max(1));
        let recall = f64::from(s.tp) / f64::from((s.tp + s.fn_).max(1));
        println!("| `{name}` | {} | {} | {precision:.2} | {recall:.2} |", s.tp + s.fn_, s.tn + s.fp);
        assert!(s.tp + s.fn_ >= 30 && s.tn + s.fp >= 30, "{name}: the corpus needs 30 of each");
        if s.fp + s.fn_ > 0 {
            failures.push(format!("{name}:\n  {}", s.misses.join("\n  ")));
        }
    }
    assert_eq!(scores.len(), Detector::ALL.len(), "every detector has a corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
