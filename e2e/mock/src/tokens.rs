//! Deterministic token counting, so tests can predict the usage the mock reports and check that
//! the gateway passes it on unchanged.
//!
//! The rule (identical for every provider):
//!
//! * **Input tokens** = the sum, over every text item of the request, of `ceil(chars / 4)`,
//!   where `chars` counts Unicode scalar values. The text items are:
//!   - each system/developer prompt text (a plain string, or each text block separately),
//!   - each message's text (a plain string, or each text part/block separately),
//!   - each tool call an assistant made earlier: its arguments as JSON text (OpenAI's
//!     `arguments` string as sent; Anthropic `tool_use.input` / Gemini `functionCall.args`
//!     serialised compactly),
//!   - each tool result: its text (OpenAI `tool` message content, Anthropic `tool_result`
//!     content; Gemini `functionResponse.response` serialised compactly),
//!   - each tool definition, serialised compactly as JSON (an OpenAI or Anthropic `tools[]`
//!     entry, a Gemini `functionDeclarations[]` entry).
//!
//!   Images, audio and files count nothing. Embedding inputs count the same way per input
//!   (a pre-tokenised input counts its token array's length).
//! * **Output tokens** = the number of whitespace-separated words in the reply text; for a tool
//!   call `ceil(chars(arguments JSON) / 4)`, summed over parallel calls.

use serde_json::Value;

/// `ceil(chars / 4)`: the token cost of one text item.
pub fn text(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

/// The token cost of a JSON value, serialised compactly.
pub fn json(v: &Value) -> u64 {
    text(&v.to_string())
}

/// Output tokens of a text reply: whitespace-separated words.
pub fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(text(""), 0);
        assert_eq!(text("abcd"), 1);
        assert_eq!(text("abcde"), 2);
        assert_eq!(text("héllo"), 2);
        assert_eq!(words("  a b\n c "), 3);
        assert_eq!(json(&serde_json::json!({})), 1);
    }
}
