//! A complete answer, format-neutrally: the provider's id and model, one [`Candidate`] per
//! answer the provider gave (one unless the request asked for several), and the usage with
//! every token type.

use super::{Part, Usage};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// The provider's id for the answer, as it gave it (writers add their own prefix).
    pub id: String,
    /// The model the provider says answered.
    pub model: String,
    pub candidates: Vec<Candidate>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// Text, refusals, reasoning and tool calls, in the order the model produced them.
    pub parts: Vec<Part>,
    /// Why generation ended; `None` where the provider did not say.
    pub finish: Option<FinishReason>,
    /// The stop sequence that ended it, where the provider says which.
    pub stop_sequence: Option<String>,
    /// Its position among the provider's answers.
    pub index: u32,
}

impl Candidate {
    /// The answer's text parts, joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Part::Text(t) = part {
                out.push_str(&t.text);
            }
        }
        out
    }

    pub fn has_tool_calls(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::ToolCall(_)))
    }
}

/// Why generation ended, in terms every API can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end of the turn.
    Stop,
    /// A client stop sequence was produced.
    StopSequence,
    /// The token limit was reached.
    Length,
    /// The model wants tools called.
    ToolCalls,
    /// Blocked or refused for safety.
    ContentFilter,
}
