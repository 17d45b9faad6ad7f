//! Masking inside a live stream: text arrives in pieces (deltas, split anywhere — inside a
//! word, a number, a key), and a value split across pieces must never reach the client
//! unmasked, while ordinary text should not wait longer than it must.
//!
//! [`StreamMasker`] keeps back only what could still become (part of) a match: the run of
//! characters at the end of what it has seen that a detector match could continue — key and
//! address characters (`A-Z a-z 0-9 . _ % + - @ / = : ~`), digit groups joined by single
//! spaces, dashes or parentheses (cards, phones, IBANs), an open `-----BEGIN` block — and at
//! least the longest deny-list phrase (phrases span words). Everything before that is scanned,
//! masked and released. What is held never exceeds `cap` bytes (the oldest part goes first): a
//! secret longer than the cap can be released unmasked in part, which is why the cap should be
//! at least the longest match of the guards in use ([`Guards::hold_back`] bounds it by theirs).
//! At the end of the stream everything held is scanned and released.
//!
//! A `block` finding is reported, and the caller ends the stream; the blocked text is not
//! released.

use super::{Action, Guards, Report};
use crate::llm::view::TextKind;

/// Default cap on what one stream holds back.
pub const DEFAULT_CAP: usize = 1024;

/// Characters a detector's match is made of (besides digit-group separators).
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-@/=:~".contains(c)
}

fn group_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase()
}

/// Where the text that could still continue a match begins.
fn candidate_start(text: &str, min_hold: usize) -> usize {
    let mut start = text.len();
    // Backwards, knowing the character after the current one (`next`) and before it (peek).
    let mut chars = text.char_indices().rev().peekable();
    let mut next: Option<char> = None;
    while let Some((at, c)) = chars.next() {
        let before = chars.peek().map(|(_, p)| *p);
        let joins_groups = matches!(c, ' ' | '-' | '(' | ')')
            && before.is_some_and(|p| group_char(p) || p == ')')
            && next.is_none_or(|n| group_char(n) || n == '(');
        if token_char(c) || joins_groups {
            start = at;
            next = Some(c);
        } else {
            break;
        }
    }
    // An open private-key block, and room for the longest phrase.
    if let Some(begin) = text.rfind("-----BEGIN") {
        if !text.get(begin..).unwrap_or_default().contains("-----END") {
            start = start.min(begin);
        }
    }
    let fixed = text.len().saturating_sub(min_hold);
    start.min(floor_char_boundary(text, fixed))
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at = at.saturating_sub(1);
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at = at.saturating_add(1);
    }
    at.min(text.len())
}

/// How much already-released text is kept as left context for the next scan: enough for a
/// pattern's word boundary and a validator's look at the characters before a match, so a
/// match is judged as it would be in the whole text.
const CONTEXT: usize = 16;

/// Where the left context kept before `end` starts: `CONTEXT` bytes back, and further back to the
/// start of the word there (up to `MAX_CONTEXT`). A context that began inside a word would show
/// the next scan a word start that is not one — `A6011…` cut to `6011…` — and a pattern could
/// match there and swallow a real match after it.
fn context_start(text: &str, end: usize) -> usize {
    let mut start = ceil_char_boundary(text, end.saturating_sub(CONTEXT));
    let floor = end.saturating_sub(MAX_CONTEXT);
    let head = text.get(..start).unwrap_or_default();
    for (at, c) in head.char_indices().rev() {
        if at < floor || !token_char(c) {
            break;
        }
        start = at;
    }
    start
}

/// Bound on the left context when it reaches back to a word's start.
const MAX_CONTEXT: usize = 256;

/// One text stream's masking state (one per choice, content block or candidate).
#[derive(Debug, Default, Clone)]
pub struct StreamMasker {
    held: String,
    /// The last few bytes released (as they were, unmasked): left context for the next scan.
    context: String,
    blocked: bool,
}

impl StreamMasker {
    /// Feeds the next piece of text; returns what can be released now, masked. After a block,
    /// nothing more is released.
    pub fn push(
        &mut self,
        guards: &Guards,
        kind: TextKind,
        piece: &str,
        cap: usize,
        report: &mut Report,
    ) -> String {
        if self.blocked {
            return String::new();
        }
        self.held.push_str(piece);
        let mut text = std::mem::take(&mut self.context);
        let offset = text.len();
        text.push_str(&self.held);
        self.held.clear();
        let mut hold_from = candidate_start(&text, guards.min_hold(cap)).max(offset);
        // Never more than `cap` held.
        hold_from = hold_from.max(ceil_char_boundary(&text, text.len().saturating_sub(cap)));
        let findings: Vec<_> =
            guards.scan(kind, &text).into_iter().filter(|f| f.range.start >= offset).collect();
        for f in &findings {
            if f.range.end > hold_from && f.range.start < hold_from {
                hold_from = f.range.start; // a match reaching into the held part waits whole
            }
        }
        let released: Vec<_> = findings
            .into_iter()
            .filter(|f| f.range.end <= hold_from)
            .map(|f| super::Finding {
                guard: f.guard,
                range: f.range.start.saturating_sub(offset)..f.range.end.saturating_sub(offset),
            })
            .collect();
        let release = text.get(offset..hold_from).unwrap_or_default().to_string();
        self.held = text.get(hold_from..).unwrap_or_default().to_string();
        self.context = text.get(context_start(&text, hold_from)..hold_from).unwrap_or_default().to_string();
        self.emit(guards, &release, &released, report)
    }

    /// End of the stream: everything held, scanned and released.
    pub fn finish(&mut self, guards: &Guards, kind: TextKind, report: &mut Report) -> String {
        if self.blocked {
            return String::new();
        }
        let offset = self.context.len();
        let mut text = std::mem::take(&mut self.context);
        text.push_str(&std::mem::take(&mut self.held));
        let findings: Vec<_> = guards
            .scan(kind, &text)
            .into_iter()
            .filter(|f| f.range.start >= offset)
            .map(|f| super::Finding {
                guard: f.guard,
                range: f.range.start.saturating_sub(offset)..f.range.end.saturating_sub(offset),
            })
            .collect();
        let rest = text.get(offset..).unwrap_or_default().to_string();
        self.emit(guards, &rest, &findings, report)
    }

    fn emit(
        &mut self,
        guards: &Guards,
        text: &str,
        findings: &[super::Finding],
        report: &mut Report,
    ) -> String {
        report.record(guards, findings);
        if findings.iter().any(|f| guards.guard(f.guard).is_some_and(|g| g.action == Action::Block)) {
            self.blocked = true;
            self.held.clear();
            return String::new();
        }
        guards.mask(text, findings)
    }

    pub fn blocked(&self) -> bool {
        self.blocked
    }

    /// Bytes held back now.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::prompt::guard::GuardConfig;
    use proptest::prelude::*;

    fn guards(json: serde_json::Value) -> Guards {
        let configs: Vec<GuardConfig> = serde_json::from_value(json).unwrap();
        Guards::compile(configs, "guards").unwrap()
    }

    fn all_masking() -> Guards {
        guards(serde_json::json!([
            {"detector": "email", "action": "mask"},
            {"detector": "credit_card", "action": "mask", "keepLast": 4},
            {"detector": "phone", "action": "mask"},
            {"detector": "us_ssn", "action": "mask"},
            {"detector": "iban", "action": "mask"},
            {"detector": "openai_key", "action": "mask"},
            {"detector": "aws_access_key", "action": "mask"},
            {"detector": "github_token", "action": "mask"},
            {"detector": "jwt", "action": "mask"},
            {"detector": "private_key", "action": "mask"},
            {"phrases": ["project nightingale"], "action": "mask", "mask": "[CODENAME]"}
        ]))
    }

    fn masked_whole(g: &Guards, text: &str) -> String {
        g.mask(text, &g.scan(TextKind::Assistant, text))
    }

    fn streamed(g: &Guards, pieces: &[&str]) -> String {
        let mut m = StreamMasker::default();
        let mut report = Report::default();
        let mut out = String::new();
        for p in pieces {
            out.push_str(&m.push(g, TextKind::Assistant, p, DEFAULT_CAP, &mut report));
        }
        out.push_str(&m.finish(g, TextKind::Assistant, &mut report));
        out
    }

    const SECRETS: [&str; 9] = [
        "jane.doe@example.com",
        "4111 1111 1111 1111",
        "+1 415 555 2671",
        "123-45-6789",
        "DE89 3704 0044 0532 0130 00",
        "sk-proj-Ab3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "Project Nightingale",
    ];

    #[test]
    fn a_value_split_at_every_offset_is_masked_like_the_whole() {
        let g = all_masking();
        for secret in SECRETS {
            let text = format!("Reach me at {secret} tomorrow, thanks.");
            let whole = masked_whole(&g, &text);
            assert!(!whole.contains(secret), "{whole}");
            for cut in 1..text.len() {
                if !text.is_char_boundary(cut) {
                    continue;
                }
                let (a, b) = text.split_at(cut);
                assert_eq!(streamed(&g, &[a, b]), whole, "split at {cut} of {text:?}");
            }
            // And byte-sized pieces (char by char).
            let pieces: Vec<String> = text.chars().map(String::from).collect();
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            assert_eq!(streamed(&g, &refs), whole);
        }
    }

    #[test]
    fn ordinary_text_is_held_only_as_long_as_a_match_could_span() {
        let g = all_masking();
        let mut m = StreamMasker::default();
        let mut report = Report::default();
        let out = m.push(&g, TextKind::Assistant, "The weather is nice today and", DEFAULT_CAP, &mut report);
        // Held: what a phrase could still span (the longest is 19 bytes), no more.
        assert_eq!(out, "The weathe");
        assert_eq!(m.held_len(), "Project Nightingale".len());
    }

    #[test]
    fn a_private_key_block_is_held_until_it_ends() {
        let g = all_masking();
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
        let text = format!("here:\n{key}\ndone");
        let pieces: Vec<&str> = text.split_inclusive('\n').collect();
        let out = streamed(&g, &pieces);
        assert_eq!(out, "here:\n[PRIVATE KEY]\ndone");
    }

    #[test]
    fn a_block_stops_the_stream() {
        let g = guards(serde_json::json!([{"detector": "openai_key", "action": "block"}]));
        let mut m = StreamMasker::default();
        let mut report = Report::default();
        let first =
            m.push(&g, TextKind::Assistant, "key: sk-proj-Ab3dE5fG7hI9jK1lM3nO5", DEFAULT_CAP, &mut report);
        let second =
            m.push(&g, TextKind::Assistant, "pQ7rS9tU1vW3xY5zA7bC9dE and more", DEFAULT_CAP, &mut report);
        assert!(!format!("{first}{second}").contains("sk-proj"));
        assert!(m.blocked());
        assert_eq!(report.blocked_by.as_deref(), Some("openai_key"));
        assert_eq!(m.finish(&g, TextKind::Assistant, &mut report), "");
    }

    fn chunked(text: &str, cuts: &[usize]) -> Vec<String> {
        let mut bounds: Vec<usize> =
            cuts.iter().map(|c| c % (text.len() + 1)).filter(|c| text.is_char_boundary(*c)).collect();
        bounds.push(0);
        bounds.push(text.len());
        bounds.sort_unstable();
        bounds.dedup();
        bounds.windows(2).map(|w| text[w[0]..w[1]].to_string()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        #[test]
        fn random_text_with_secrets_and_random_chunking(
            words in proptest::collection::vec("[a-zA-Z]{1,8}|[0-9]{1,4}|[ ,.;:!?\n]{1,2}|é|日本", 0..40),
            picks in proptest::collection::vec((0usize..9, 0usize..40), 0..4),
            cuts in proptest::collection::vec(0usize..4000, 0..30),
        ) {
            let g = all_masking();
            let mut parts: Vec<String> = words;
            for (secret, at) in &picks {
                let at = (*at).min(parts.len());
                parts.insert(at, format!(" {} ", SECRETS[*secret]));
            }
            let text: String = parts.concat();
            let whole = masked_whole(&g, &text);
            let pieces = chunked(&text, &cuts);
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let out = streamed(&g, &refs);
            prop_assert_eq!(&out, &whole);
            for (secret, _) in &picks {
                prop_assert!(!out.contains(SECRETS[*secret]), "{} leaked in {:?}", SECRETS[*secret], out);
            }
        }
    }
}
