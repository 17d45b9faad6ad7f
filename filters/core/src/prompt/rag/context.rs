//! What retrieved documents become in the prompt: the ones that score high enough, best first,
//! cut to the context cap, rendered into the policy's template and added through the view — as a
//! system message or as a user message right before the question — in every wire format.

use super::Document;
use crate::common::config::ConfigError;
use crate::llm::view::{Position, RequestView, Role, ViewError};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// Where the format keeps system text, before the client's own.
    #[default]
    System,
    /// A user message right before the client's last question.
    User,
}

pub fn default_template() -> String {
    "Use the following context to answer the question. If it does not help, say so.\n\n\
     <context>\n{{context}}\n</context>"
        .into()
}

/// The bound on the rendered context (the documents, not the template around them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub chars: usize,
}

/// Characters per token for `maxContextTokens` (English prose with OpenAI's and Anthropic's
/// tokenizers averages about 4).
const CHARS_PER_TOKEN: usize = 4;

impl Cap {
    pub fn compile(chars: Option<usize>, tokens: Option<usize>, at: &str) -> Result<Self, ConfigError> {
        if chars == Some(0) {
            return Err(ConfigError::new(format!("{at}.maxContextChars"), "must be at least 1"));
        }
        if tokens == Some(0) {
            return Err(ConfigError::new(format!("{at}.maxContextTokens"), "must be at least 1"));
        }
        let by_tokens = tokens.map(|t| t.saturating_mul(CHARS_PER_TOKEN));
        let chars = match (chars, by_tokens) {
            (Some(c), Some(t)) => c.min(t),
            (Some(c), None) | (None, Some(c)) => c,
            (None, None) => super::DEFAULT_MAX_CONTEXT_CHARS,
        };
        Ok(Self { chars })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Context,
    Question,
}

/// The template, split at its placeholders once at load, so a document or a question that
/// contains `{{question}}` is never expanded.
#[derive(Debug, Clone)]
pub struct Injection {
    segments: Vec<Segment>,
    placement: Placement,
    cap: Cap,
}

impl Injection {
    pub fn compile(template: &str, placement: Placement, cap: Cap, at: &str) -> Result<Self, ConfigError> {
        let mut segments = Vec::new();
        let mut rest = template;
        while let Some((text, after)) = rest.split_once("{{") {
            let (name, tail) = after.split_once("}}").ok_or_else(|| {
                ConfigError::new(at, "an unclosed `{{`; placeholders are {{context}} and {{question}}")
            })?;
            if !text.is_empty() {
                segments.push(Segment::Text(text.to_string()));
            }
            segments.push(match name.trim() {
                "context" => Segment::Context,
                "question" => Segment::Question,
                other => {
                    return Err(ConfigError::new(
                        at,
                        format!("unknown placeholder `{{{{{other}}}}}`; placeholders are {{{{context}}}} and {{{{question}}}}"),
                    ))
                }
            });
            rest = tail;
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        if !segments.contains(&Segment::Context) {
            return Err(ConfigError::new(at, "must contain {{context}}"));
        }
        Ok(Self { segments, placement, cap })
    }

    /// The documents that make it in: at least `min_score`, best first, at most `top_k`.
    pub fn select(mut documents: Vec<Document>, min_score: Option<f64>, top_k: u32) -> Vec<Document> {
        documents
            .retain(|d| !d.text.is_empty() && d.score.is_finite() && min_score.is_none_or(|m| d.score >= m));
        documents.sort_by(|a, b| b.score.total_cmp(&a.score));
        documents.truncate(usize::try_from(top_k).unwrap_or(usize::MAX));
        documents
    }

    /// The context block: each document as `<document id="…">text</document>`, in order, until
    /// the cap; the document that crosses it is cut (at a character boundary) and is the last.
    /// Returns the block and the documents that are in it.
    pub fn render_context<'d>(&self, documents: &'d [Document]) -> (String, Vec<&'d Document>) {
        let mut out = String::new();
        let mut chars = 0usize;
        let mut used = Vec::new();
        for doc in documents {
            let left = self.cap.chars.saturating_sub(chars);
            if left == 0 {
                break;
            }
            let mut piece = String::with_capacity(doc.text.len().saturating_add(32));
            if !out.is_empty() {
                piece.push('\n');
            }
            piece.push_str("<document id=\"");
            piece.extend(doc.id.chars().map(|c| if c == '"' || c.is_control() { '_' } else { c }));
            piece.push_str("\">\n");
            piece.push_str(&doc.text);
            piece.push_str("\n</document>");
            used.push(doc);
            let size = piece.chars().count();
            if size > left {
                out.extend(piece.chars().take(left));
                break;
            }
            out.push_str(&piece);
            chars = chars.saturating_add(size);
        }
        (out, used)
    }

    /// The template with the context and question in place.
    pub fn render(&self, context: &str, question: &str) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Context => out.push_str(context),
                Segment::Question => out.push_str(question),
            }
        }
        out
    }

    /// Adds the rendered text to the request.
    pub fn inject(&self, view: &mut RequestView, text: &str) -> Result<(), ViewError> {
        match self.placement {
            Placement::System => view.add_message(Role::System, Position::Prepend, text),
            Placement::User => view.add_message(Role::User, Position::BeforeLastUser, text),
        }
    }
}
