//! Counting tokens where the provider's count is not there (yet): a prompt at admission, an
//! answer the provider did not count (a stream cut off, a provider that omits usage).
//!
//! OpenAI's encodings are exact for OpenAI's models: `o200k_base` (GPT-4o, GPT-4.1, GPT-5, the
//! o-series) and `cl100k_base` (GPT-4, GPT-3.5, the `text-embedding-3` family), through
//! tiktoken-rs. Other families' tokenizers are not public (Claude) or not offline (Gemini's
//! `countTokens` is an API call): they are counted with `o200k_base` too — an approximation,
//! which is why every count made here is marked `estimated`. Which encoding counts which model
//! is config (`tokenizer.encodings`, model patterns), defaulting to [`default_encoding`].
//!
//! The vocabularies are compiled into the module but decoded only on the first count that
//! needs one (tens of MB of tables per VM; time and memory are in the README), never at VM
//! start, so a usage filter that never counts never pays for them.
//!
//! Text is counted in segments of at most [`SEGMENT`] bytes cut where tiktoken's own
//! pre-tokenizer cuts (before a word's leading space, after a line break): the byte-pair merge is quadratic in a
//! piece's length and tiktoken-rs's regex gives up (and panics) past a backtracking limit, so no
//! piece handed to it may be long, whatever a client sends. A run of [`SEGMENT`] bytes without
//! whitespace (a base64 blob) is cut where it reaches the bound; such text counts within a
//! token or two of tiktoken's count per cut.

use crate::common::glob::glob_match;
use serde::Deserialize;
#[cfg(feature = "tokenizer")]
use std::sync::OnceLock;
#[cfg(feature = "tokenizer")]
use tiktoken_rs::CoreBPE;

/// Built without the `tokenizer` feature (the modules that never count): no vocabulary, every
/// count is the bytes / 4 approximation.
#[cfg(not(feature = "tokenizer"))]
pub struct CoreBPE;

#[cfg(not(feature = "tokenizer"))]
impl CoreBPE {
    fn encode_ordinary(&self, text: &str) -> Vec<()> {
        vec![(); approximate(text) as usize]
    }
}

/// Longest piece of text handed to the encoder at once.
pub const SEGMENT: usize = 256;

/// Text beyond this is not encoded but counted at [`BYTES_PER_TOKEN`] (the bound keeps a
/// hostile 100 MB prompt from costing seconds of CPU).
pub const MAX_ENCODED_BYTES: usize = 1 << 20;

/// Bytes per token of the approximation used past [`MAX_ENCODED_BYTES`].
pub const BYTES_PER_TOKEN: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    #[cfg(not(feature = "tokenizer"))]
    fn bpe(self) -> Option<&'static CoreBPE> {
        None
    }

    #[cfg(not(feature = "tokenizer"))]
    pub fn loaded(self) -> bool {
        false
    }

    #[cfg(feature = "tokenizer")]
    fn cell(self) -> &'static OnceLock<Option<CoreBPE>> {
        static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        match self {
            Encoding::O200kBase => &O200K,
            Encoding::Cl100kBase => &CL100K,
        }
    }

    #[cfg(feature = "tokenizer")]
    fn bpe(self) -> Option<&'static CoreBPE> {
        self.cell()
            .get_or_init(|| match self {
                Encoding::O200kBase => tiktoken_rs::o200k_base().ok(),
                Encoding::Cl100kBase => tiktoken_rs::cl100k_base().ok(),
            })
            .as_ref()
    }

    /// Whether this VM has decoded the vocabulary yet.
    #[cfg(feature = "tokenizer")]
    pub fn loaded(self) -> bool {
        self.cell().get().is_some()
    }
}

/// The encoding OpenAI uses for `model`; `o200k_base` (the approximation) for the rest.
pub fn default_encoding(model: &str) -> Encoding {
    const CL100K: [&str; 5] =
        ["gpt-4-*", "gpt-4", "gpt-3.5-*", "text-embedding-3-*", "text-embedding-ada-002"];
    // `gpt-4o`, `gpt-4.1` and later share the `gpt-4` prefix: exclude them first.
    let newer = ["gpt-4o*", "gpt-4.*"].iter().any(|p| glob_match(p, model));
    if !newer && CL100K.iter().any(|p| glob_match(p, model)) {
        Encoding::Cl100kBase
    } else {
        Encoding::O200kBase
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncodingRule {
    /// Model name or `*` pattern.
    pub model: String,
    pub encoding: Encoding,
}

/// Which encoding counts which model.
#[derive(Debug, Clone, Default)]
pub struct Tokenizer {
    rules: Vec<EncodingRule>,
}

/// A count, and how it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    pub tokens: u64,
    /// Some text was past [`MAX_ENCODED_BYTES`] and approximated.
    pub approximated: bool,
}

/// Counts texts fed one by one.
pub struct Counter {
    bpe: Option<&'static CoreBPE>,
    encoded: usize,
    count: Count,
}

impl Counter {
    pub fn add(&mut self, text: &str) {
        let room = MAX_ENCODED_BYTES.saturating_sub(self.encoded);
        let (now, later) = text.split_at(floor_char_boundary(text, room));
        if let Some(bpe) = self.bpe {
            for segment in segments(now) {
                let n = bpe.encode_ordinary(segment).len() as u64;
                self.count.tokens = self.count.tokens.saturating_add(n);
            }
        } else {
            self.count.tokens = self.count.tokens.saturating_add(approximate(now));
        }
        self.encoded = self.encoded.saturating_add(now.len());
        if !later.is_empty() {
            self.count.tokens = self.count.tokens.saturating_add(approximate(later));
            self.count.approximated = true;
        }
    }

    /// Adds tokens counted elsewhere (message framing).
    pub fn add_tokens(&mut self, n: u64) {
        self.count.tokens = self.count.tokens.saturating_add(n);
    }

    pub fn count(&self) -> Count {
        self.count
    }
}

fn approximate(text: &str) -> u64 {
    (text.len() as u64).div_ceil(BYTES_PER_TOKEN as u64)
}

impl Tokenizer {
    pub fn new(rules: Vec<EncodingRule>) -> Self {
        Self { rules }
    }

    pub fn encoding(&self, model: &str) -> Encoding {
        self.rules
            .iter()
            .find(|r| glob_match(&r.model, model))
            .map_or_else(|| default_encoding(model), |r| r.encoding)
    }

    /// A counter for `model`'s texts (decodes the vocabulary on first use in this VM).
    pub fn counter(&self, model: &str) -> Counter {
        let encoding = self.encoding(model);
        let bpe = encoding.bpe();
        if bpe.is_none() {
            log::error!("the {} vocabulary could not be decoded; counting bytes / 4", encoding.as_str());
        }
        Counter { bpe, encoded: 0, count: Count::default() }
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0)
}

/// `text` cut into pieces of at most [`SEGMENT`] bytes, each cut where the pre-tokenizer cuts
/// anyway where there is such a place, else at a char boundary.
pub fn segments(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() <= SEGMENT {
            return Some(std::mem::take(&mut rest));
        }
        let window_end = floor_char_boundary(rest, SEGMENT);
        let window = rest.get(..window_end).unwrap_or(rest);
        // The last place the pre-tokenizer always cuts: before a space or tab that follows a
        // non-space (a word keeps its leading space), or after a line break before a non-space
        // (punctuation keeps the line breaks that follow it, `.\n\n`, so not before them).
        let mut cut = None;
        let mut previous: Option<char> = None;
        for (i, c) in window.char_indices() {
            if let Some(p) = previous {
                let before_space = c.is_whitespace() && c != '\n' && c != '\r' && !p.is_whitespace();
                let after_break = !c.is_whitespace() && (p == '\n' || p == '\r');
                if before_space || after_break {
                    cut = Some(i);
                }
            }
            previous = Some(c);
        }
        let cut = cut.filter(|c| *c > 0).unwrap_or(window_end.max(1));
        let cut = if rest.is_char_boundary(cut) { cut } else { rest.len() };
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

#[cfg(test)]
#[cfg(feature = "tokenizer")]
mod tests;
