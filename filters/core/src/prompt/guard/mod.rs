//! Guardrails: what may reach a provider, and what may come back.
//!
//! A guard finds something in text — a built-in [`detector::Detector`] (personal data and
//! secrets, validated), deny-list `phrases` (Aho-Corasick, case-insensitive unless told,
//! optionally whole words) or custom `patterns` (the `regex` crate: linear time on any input,
//! size-limited at load) — and acts on it: `block` (the request or answer is refused),
//! `mask` (the match is replaced by a placeholder, optionally keeping its last characters) or
//! `audit` (counted and recorded, text unchanged). A policy lists guards for the `request` and
//! the `response` phase; [`Guards`] is one phase's compiled set.
//!
//! Scanning first learns which guards can match at all — one Aho-Corasick pass over the
//! detectors' anchor literals (`@`, `sk-`, `AKIA`, …), one count of digits and colons, one
//! `RegexSet` pass over custom patterns — and only those then run their own regex. Text without
//! a candidate — nearly all of it — costs those passes. Findings never carry the
//! matched text out of this module: logs, metrics and filter state name the guard, not the
//! value.

mod anchors;
pub mod detector;
pub mod events;
pub mod moderation;
pub mod policy;
pub mod remote;
pub mod stream;
pub mod validate;
pub mod webhook;

use crate::common::config::ConfigError;
use crate::llm::view::TextKind;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use detector::{Detector, Gate};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use std::ops::Range;

/// Limit on one compiled pattern (and on the combined set), so a config cannot make a pattern
/// that costs megabytes per VM.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Block,
    Mask,
    Audit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Mask => "mask",
            Action::Audit => "audit",
        }
    }
}

/// Which texts a guard reads (`kinds` in config); default: every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindConfig {
    System,
    User,
    Assistant,
    ToolCallArguments,
    ToolResult,
    EmbeddingsInput,
}

impl KindConfig {
    fn kind(self) -> TextKind {
        match self {
            KindConfig::System => TextKind::System,
            KindConfig::User => TextKind::User,
            KindConfig::Assistant => TextKind::Assistant,
            KindConfig::ToolCallArguments => TextKind::ToolCallArguments,
            KindConfig::ToolResult => TextKind::ToolResult,
            KindConfig::EmbeddingsInput => TextKind::EmbeddingsInput,
        }
    }
}

/// One guard as configured: exactly one of `detector`, `phrases`, `patterns`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardConfig {
    #[serde(default)]
    pub detector: Option<Detector>,
    #[serde(default)]
    pub phrases: Option<Vec<String>>,
    #[serde(default)]
    pub patterns: Option<Vec<String>>,
    /// The guard's name in metrics and errors (default: the detector's, else `phrases` /
    /// `patterns`).
    #[serde(default)]
    pub name: Option<String>,
    pub action: Action,
    /// Phrases: match case (default: case-insensitive).
    #[serde(default)]
    pub case_sensitive: bool,
    /// Phrases: only where they stand as whole words.
    #[serde(default)]
    pub whole_word: bool,
    /// Mask: the text put in place of a match (default `[EMAIL]`, `[CARD]`, … or `[REDACTED]`).
    #[serde(default)]
    pub mask: Option<String>,
    /// Mask: keep this many of the match's last characters after the placeholder.
    #[serde(default)]
    pub keep_last: Option<usize>,
    /// Texts to read (default: all).
    #[serde(default)]
    pub kinds: Option<Vec<KindConfig>>,
}

/// How a guard finds its matches. Custom patterns own entries of `Guards::patterns` (found
/// through `Guards::pattern_owner`).
#[derive(Debug)]
enum Matcher {
    Detector { detector: Detector, regex: Regex },
    Patterns,
    Phrases { automaton: AhoCorasick, whole_word: bool },
}

#[derive(Debug)]
pub struct Guard {
    pub name: String,
    pub action: Action,
    matcher: Matcher,
    placeholder: String,
    keep_last: usize,
    kinds: Option<Vec<TextKind>>,
    /// Longest possible match (streams hold back at most this).
    max_len: usize,
}

/// What a scan found: which guard, where (byte range in the scanned text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub guard: usize,
    pub range: Range<usize>,
}

/// One phase's compiled guards.
#[derive(Debug, Default)]
pub struct Guards {
    guards: Vec<Guard>,
    /// Every detector guard's anchor literals ([`Gate::Anchors`]).
    anchors: anchors::Anchors,
    /// Custom patterns: one set learns which match at all, then only those locate matches.
    patterns: Vec<Regex>,
    pattern_set: Option<RegexSet>,
    /// For each custom pattern: its guard.
    pattern_owner: Vec<usize>,
}

impl Guards {
    pub fn compile(configs: Vec<GuardConfig>, at: &str) -> Result<Self, ConfigError> {
        let mut out = Guards::default();
        let mut sources: Vec<String> = Vec::new();
        for (i, c) in configs.into_iter().enumerate() {
            let at = format!("{at}[{i}]");
            let defined = [c.detector.is_some(), c.phrases.is_some(), c.patterns.is_some()];
            if defined.iter().filter(|d| **d).count() != 1 {
                return Err(ConfigError::new(at, "set exactly one of `detector`, `phrases`, `patterns`"));
            }
            let index = out.guards.len();
            let (matcher, name, placeholder, max_len) = if let Some(d) = c.detector {
                let regex = compile_regex(d.pattern(), &format!("{at}.detector"))?;
                match d.gate() {
                    Gate::Anchors(literals) => {
                        for literal in literals {
                            if !out.anchors.add(literal, index) {
                                return Err(ConfigError::new(
                                    format!("{at}.detector"),
                                    "internal: an anchor without a rare byte",
                                ));
                            }
                        }
                    }
                    Gate::DigitRun(_) | Gate::DottedRun(_) | Gate::HexColons(_) | Gate::CountryDigits => {}
                }
                let matcher = Matcher::Detector { detector: d, regex };
                (matcher, d.name().to_string(), d.placeholder().to_string(), d.max_len())
            } else if let Some(phrases) = c.phrases {
                if phrases.is_empty() || phrases.iter().any(String::is_empty) {
                    return Err(ConfigError::new(
                        format!("{at}.phrases"),
                        "needs at least one non-empty phrase",
                    ));
                }
                let automaton = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(!c.case_sensitive)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&phrases)
                    .map_err(|e| ConfigError::new(format!("{at}.phrases"), e.to_string()))?;
                let longest = phrases.iter().map(String::len).max().unwrap_or(0);
                (
                    Matcher::Phrases { automaton, whole_word: c.whole_word },
                    "phrases".into(),
                    "[REDACTED]".into(),
                    longest,
                )
            } else {
                let patterns = c.patterns.unwrap_or_default();
                if patterns.is_empty() {
                    return Err(ConfigError::new(format!("{at}.patterns"), "needs at least one pattern"));
                }
                for (j, p) in patterns.iter().enumerate() {
                    let regex = compile_regex(p, &format!("{at}.patterns[{j}]"))?;
                    out.patterns.push(regex);
                    out.pattern_owner.push(index);
                    sources.push(p.clone());
                }
                // A custom pattern has no known length: streams hold back up to their cap.
                (Matcher::Patterns, "patterns".into(), "[REDACTED]".into(), usize::MAX)
            };
            let name = c.name.unwrap_or(name);
            if name.is_empty()
                || name.len() > 64
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(ConfigError::new(format!("{at}.name"), "1 to 64 of A-Z a-z 0-9 - _ ."));
            }
            out.guards.push(Guard {
                name,
                action: c.action,
                matcher,
                placeholder: c.mask.unwrap_or(placeholder),
                keep_last: c.keep_last.unwrap_or(0),
                kinds: c.kinds.map(|k| k.into_iter().map(KindConfig::kind).collect()),
                max_len,
            });
        }
        if !sources.is_empty() {
            let set =
                RegexSetBuilder::new(&sources)
                    .size_limit(REGEX_SIZE_LIMIT.saturating_mul(4))
                    .build()
                    .map_err(|e| ConfigError::new(at, format!("the patterns together are too large: {e}")))?;
            out.pattern_set = Some(set);
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    pub fn has_action(&self, action: Action) -> bool {
        self.guards.iter().any(|g| g.action == action)
    }

    pub fn guard(&self, index: usize) -> Option<&Guard> {
        self.guards.get(index)
    }

    /// Detector guards whose matches can be longer than `cap` (name, longest match): in a
    /// stream, such a match can be released in part.
    pub fn longer_than(&self, cap: usize) -> Vec<(&str, usize)> {
        self.guards
            .iter()
            .filter(|g| matches!(g.matcher, Matcher::Detector { .. }) && g.max_len > cap)
            .map(|g| (g.name.as_str(), g.max_len))
            .collect()
    }

    /// The longest match any guard can make, bounded by `cap`.
    pub fn hold_back(&self, cap: usize) -> usize {
        self.guards.iter().map(|g| g.max_len).max().unwrap_or(0).min(cap)
    }

    /// What a stream must hold back whatever the text: the longest deny-list phrase (phrases
    /// span words, which the token-run rule of [`stream`] does not see), bounded by `cap`.
    pub fn min_hold(&self, cap: usize) -> usize {
        let phrase = |g: &Guard| matches!(g.matcher, Matcher::Phrases { .. }).then_some(g.max_len);
        self.guards.iter().filter_map(phrase).max().unwrap_or(0).min(cap)
    }

    /// Whether any guard could find anything in a JSON body (`raw`, as it arrived), judged
    /// without parsing it: the detectors' gates over the contents of its strings, the phrases
    /// over the whole of it. `false` means no text of the body can match, so the body need not
    /// be parsed at all — the common case, and the cheap one. A `\u` escape (which could spell
    /// `@` or `sk-` in disguise) or any custom pattern makes it `true`.
    pub fn may_match_json(&self, raw: &[u8]) -> bool {
        let mut open = vec![false; self.guards.len()];
        let signals = Signals::of(raw, true, &self.anchors, &mut open);
        if signals.unicode_escape {
            return true;
        }
        self.guards.iter().enumerate().any(|(index, guard)| match &guard.matcher {
            Matcher::Detector { detector, .. } => signals.opens(detector.gate(), &open, index),
            Matcher::Phrases { automaton, .. } => automaton.find(raw).is_some(),
            Matcher::Patterns => true,
        })
    }

    /// Every finding in `text` (of kind `kind`), in order, overlaps resolved: the earlier match
    /// wins, then the longer.
    pub fn scan(&self, kind: TextKind, text: &str) -> Vec<Finding> {
        let mut found = Vec::new();
        let applies = |g: &Guard| g.kinds.as_ref().is_none_or(|k| k.contains(&kind));
        // Which detectors can match at all: one pass over the anchors, one over the bytes.
        let mut open = vec![false; self.guards.len()];
        let signals = Signals::of(text.as_bytes(), false, &self.anchors, &mut open);
        for (index, guard) in self.guards.iter().enumerate() {
            let Matcher::Detector { detector, regex } = &guard.matcher else { continue };
            if applies(guard) && signals.opens(detector.gate(), &open, index) {
                validated_matches(regex, *detector, text, |range| {
                    found.push(Finding { guard: index, range })
                });
            }
        }
        if let Some(set) = &self.pattern_set {
            for r in set.matches(text).iter() {
                let Some(&owner) = self.pattern_owner.get(r) else { continue };
                let (Some(guard), Some(regex)) = (self.guards.get(owner), self.patterns.get(r)) else {
                    continue;
                };
                if applies(guard) {
                    let matches = regex.find_iter(text).filter(|m| m.start() < m.end());
                    found.extend(matches.map(|m| Finding { guard: owner, range: m.range() }));
                }
            }
        }
        for (index, guard) in self.guards.iter().enumerate() {
            let Matcher::Phrases { automaton, whole_word } = &guard.matcher else { continue };
            if !applies(guard) {
                continue;
            }
            for m in automaton.find_iter(text) {
                if !*whole_word || at_word_bounds(text, m.start(), m.end()) {
                    found.push(Finding { guard: index, range: m.start()..m.end() });
                }
            }
        }
        found.sort_by(|a, b| a.range.start.cmp(&b.range.start).then(b.range.end.cmp(&a.range.end)));
        // Overlapping matches (a phone run into a card, two guards on one value) become one
        // span, so no part of either escapes; the strongest action speaks for the span.
        let mut resolved: Vec<Finding> = Vec::with_capacity(found.len());
        for f in found {
            match resolved.last_mut() {
                Some(last) if f.range.start < last.range.end => {
                    last.range.end = last.range.end.max(f.range.end);
                    if self.strength(f.guard) > self.strength(last.guard) {
                        last.guard = f.guard;
                    }
                }
                _ => resolved.push(f),
            }
        }
        resolved
    }

    fn strength(&self, guard: usize) -> u8 {
        match self.guards.get(guard).map(|g| g.action) {
            Some(Action::Block) => 2,
            Some(Action::Mask) => 1,
            _ => 0,
        }
    }

    /// `text` with every masking finding replaced (others untouched).
    pub fn mask(&self, text: &str, findings: &[Finding]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in findings {
            let Some(guard) = self.guards.get(f.guard) else { continue };
            if guard.action != Action::Mask {
                continue;
            }
            out.push_str(text.get(at..f.range.start).unwrap_or_default());
            out.push_str(&guard.placeholder);
            if guard.keep_last > 0 {
                let matched = text.get(f.range.clone()).unwrap_or_default();
                let kept: String = matched.chars().rev().take(guard.keep_last).collect();
                out.extend(kept.chars().rev());
            }
            at = f.range.end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        out
    }
}

/// A detector's matches that pass its validator. A greedy candidate can swallow a neighbour
/// (`4111 1111 1111 1111 01`: 18 digits, no card): then the longest valid prefix ending at a
/// separator is taken, and otherwise the search goes on from the next character, so a real
/// value beside other digits is still found. Work stays linear: a candidate is at most the
/// detector's maximum length.
fn validated_matches(regex: &Regex, detector: Detector, text: &str, mut found: impl FnMut(Range<usize>)) {
    let mut at = 0;
    while let Some(m) = regex.find_at(text, at) {
        let (start, end) = (m.start(), m.end());
        if start == end {
            at = next_char(text, end);
            continue;
        }
        if detector.validate(text, start, end) {
            found(start..end);
            // A valid run of digit groups may still end inside another value
            // (`415 555 2671 0 4111 1111` is Luhn-valid and swallows half a card): look again
            // from the next group; overlaps are merged later.
            at = if detector.digit_groups() { next_char(text, start) } else { end };
            continue;
        }
        let shorter = text
            .get(start..end)
            .unwrap_or_default()
            .char_indices()
            .filter(|(_, c)| " -.()".contains(*c))
            .map(|(i, _)| start.saturating_add(i))
            .rev()
            .find(|&e| detector.validate(text, start, e));
        match shorter {
            Some(e) => {
                found(start..e);
                at = if detector.digit_groups() { next_char(text, start) } else { e };
            }
            None => at = next_char(text, start),
        }
        if at >= text.len() {
            break;
        }
    }
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether a byte of `x` is strictly between `m` and `n` (ASCII bytes; `m`, `n` ≤ 128).
fn has_between(x: u64, m: u8, n: u8) -> bool {
    let seven = x & LOW_BITS.wrapping_mul(127);
    let below_n = LOW_BITS.wrapping_mul(127u64.wrapping_add(u64::from(n))).wrapping_sub(seven);
    let above_m = seven.wrapping_add(LOW_BITS.wrapping_mul(127u64.wrapping_sub(u64::from(m))));
    below_n & !x & above_m & HIGH_BITS != 0
}

/// Whether a byte of `x` is `b`.
fn has_byte(x: u64, b: u8) -> bool {
    let y = x ^ LOW_BITS.wrapping_mul(u64::from(b));
    y.wrapping_sub(LOW_BITS) & !y & HIGH_BITS != 0
}

/// [`Signals::of`]'s state between bytes.
#[derive(Default)]
struct Scan {
    signals: Signals,
    json: bool,
    in_string: bool,
    escaped: bool,
    run: usize,
    gap: usize,
    dots: usize,
    last: [u8; 3],
}

impl Scan {
    fn reset(&mut self) {
        (self.run, self.gap, self.dots, self.last) = (0, 0, 0, [0; 3]);
    }

    /// Eight bytes inside text without a digit, `:`, `"` or `\\`.
    fn quiet_word(&mut self, word: [u8; 8]) {
        if self.escaped {
            // The first byte is escaped: the slow path handles it.
            word.iter().for_each(|&b| self.byte(b));
            return;
        }
        if self.last[2] == b':' && word[0].is_ascii_hexdigit() {
            self.signals.hex_colons = self.signals.hex_colons.saturating_add(1);
        }
        (self.run, self.gap, self.dots) = (0, 0, 0);
        self.last = [word[5], word[6], word[7]];
    }

    fn byte(&mut self, b: u8) {
        if self.json {
            if !self.in_string {
                self.in_string = b == b'"';
                self.reset();
                return;
            }
            if self.escaped {
                self.escaped = false;
                self.signals.unicode_escape |= b == b'u';
                self.reset();
                return;
            }
            if b == b'\\' {
                self.escaped = true;
                return;
            }
            if b == b'"' {
                self.in_string = false;
                return;
            }
        }
        let s = &mut self.signals;
        if b.is_ascii_digit() {
            self.run = self.run.saturating_add(1);
            self.gap = 0;
            s.longest_run = s.longest_run.max(self.run);
            s.dotted_run = s.dotted_run.max(self.dots);
        } else if self.run > 0 && matches!(b, b' ' | b'-' | b'.' | b'(' | b')') {
            self.gap = self.gap.saturating_add(1);
            self.dots = self.dots.saturating_add(usize::from(b == b'.'));
            if self.gap > 3 {
                (self.run, self.gap, self.dots) = (0, 0, 0);
            }
        } else {
            (self.run, self.gap, self.dots) = (0, 0, 0);
        }
        let [a, c, d] = self.last;
        let hexish = |x: u8| x.is_ascii_hexdigit() || x == b':';
        if (b == b':' && hexish(d)) || (d == b':' && b.is_ascii_hexdigit()) {
            s.hex_colons = s.hex_colons.saturating_add(1);
        }
        if b.is_ascii_digit() && d.is_ascii_digit() && c.is_ascii_uppercase() && a.is_ascii_uppercase() {
            s.country_digits = true;
        }
        self.last = [c, d, b];
    }
}

/// What the detectors' gates look at, from one pass over the bytes (see [`Gate`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Signals {
    longest_run: usize,
    /// The most `.` in one digit run.
    dotted_run: usize,
    hex_colons: usize,
    country_digits: bool,
    /// JSON only: a `\u` escape inside a string.
    unicode_escape: bool,
}

impl Signals {
    /// `json`: `bytes` is a JSON document, and only the contents of its strings count (an
    /// escaped character breaks runs, as the character it stands for would).
    ///
    /// Eight bytes at a time: a word without a digit or `:` (nor, in JSON, `"` or `\\`) —
    /// most words of most text — only resets the run (eight bytes without a digit end any run)
    /// and keeps its last bytes for the next word; the others go byte by byte.
    ///
    /// The same pass finds the anchors: a word holding one of their rare bytes goes byte by byte,
    /// and each rare byte has its anchors compared (`open[guard]` set for each found).
    fn of(bytes: &[u8], json: bool, anchors: &anchors::Anchors, open: &mut [bool]) -> Self {
        let mut state = Scan { json, in_string: !json, ..Scan::default() };
        let slow = |state: &mut Scan, open: &mut [bool], at: usize, word: &[u8]| {
            for (i, &b) in word.iter().enumerate() {
                state.byte(b);
                if anchors::Anchors::is_key(b) {
                    anchors.check_at(bytes, at.saturating_add(i), open);
                }
            }
        };
        let mut at = 0usize;
        let mut words = bytes.chunks_exact(8);
        for word in words.by_ref() {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            let x = u64::from_le_bytes(eight);
            let busy = has_between(x, b'0' - 1, b':' + 1)
                || has_byte(x, b'@')
                || has_byte(x, b'-')
                || has_byte(x, b'_')
                || has_byte(x, b'A')
                || has_byte(x, b'J')
                || (json && (has_byte(x, b'"') || has_byte(x, b'\\')));
            if busy || !state.in_string {
                slow(&mut state, open, at, word);
            } else {
                state.quiet_word(eight);
            }
            at = at.saturating_add(8);
        }
        slow(&mut state, open, at, words.remainder());
        state.signals
    }

    fn opens(&self, gate: Gate, anchors: &[bool], guard: usize) -> bool {
        match gate {
            Gate::Anchors(_) => anchors.get(guard).copied().unwrap_or(false),
            Gate::DigitRun(n) => self.longest_run >= n,
            Gate::DottedRun(n) => self.dotted_run >= n,
            Gate::HexColons(n) => self.hex_colons >= n,
            Gate::CountryDigits => self.country_digits,
        }
    }
}

fn next_char(text: &str, at: usize) -> usize {
    let mut next = at.saturating_add(1);
    while next < text.len() && !text.is_char_boundary(next) {
        next = next.saturating_add(1);
    }
    next
}

fn compile_regex(pattern: &str, at: &str) -> Result<Regex, ConfigError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| ConfigError::new(at, format!("invalid or too large pattern: {e}")))
}

fn at_word_bounds(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let before = text.get(..start).and_then(|t| t.chars().next_back());
    let after = text.get(end..).and_then(|t| t.chars().next());
    !before.is_some_and(word) && !after.is_some_and(word)
}

/// What the guards of one phase did to one body or stream: for metrics and the access log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// (guard name, action, count) in first-seen order.
    pub fired: Vec<(String, Action, u64)>,
    /// The guard that blocked, if one did.
    pub blocked_by: Option<String>,
}

impl Report {
    pub fn record(&mut self, guards: &Guards, findings: &[Finding]) {
        for f in findings {
            let Some(g) = guards.guard(f.guard) else { continue };
            match self.fired.iter_mut().find(|(n, a, _)| *n == g.name && *a == g.action) {
                Some(entry) => entry.2 = entry.2.saturating_add(1),
                None => self.fired.push((g.name.clone(), g.action, 1)),
            }
            if g.action == Action::Block && self.blocked_by.is_none() {
                self.blocked_by = Some(g.name.clone());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fired.is_empty()
    }
}

/// Runs `guards` over every text of a view-like visitor: masks in place, records findings.
/// Returns the report; a block stops nothing here (the caller answers).
pub fn apply_to_texts(
    guards: &Guards,
    visit: impl FnOnce(&mut dyn FnMut(TextKind, &mut String) -> bool),
) -> Report {
    let mut report = Report::default();
    visit(&mut |kind, text| {
        let findings = guards.scan(kind, text);
        if findings.is_empty() {
            return false;
        }
        report.record(guards, &findings);
        let masked = guards.mask(text, &findings);
        if masked != *text {
            *text = masked;
            true
        } else {
            false
        }
    });
    report
}

#[cfg(test)]
mod tests;
