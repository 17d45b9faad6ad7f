//! Model names are client input that reaches provider paths, tenant scopes, logs and metric
//! names: a name is checked before it is used anywhere.
//!
//! Every name: 1 to [`MAX_LEN`] bytes of ASCII letters, digits and `- . _ : / @ +` — enough for
//! every provider's real names (`gpt-4o-2024-08-06`, `ft:gpt-4o-mini:org::id`,
//! `anthropic/claude-sonnet-4.5` on OpenRouter, `meta-llama/Llama-3.3-70B` on Together or vLLM,
//! `llama3.1:8b` on Ollama, `claude-opus-4-1@20250805` on Vertex) and nothing that could end a
//! path segment early, start a query, inject a header line or a metric label (`? & # % ; =`,
//! spaces, control characters).
//!
//! Providers whose model sits in the URL path (Gemini, Vertex AI, Azure deployments) are
//! stricter: no `/` and no `:` (Gemini's verb separator), and no segment of only dots, so a name
//! can never climb out of its path segment (`gemini-x/../../v1beta/files`). Path builders still
//! percent-encode the segment ([`path_segment`]), as a second line.

/// The longest model name accepted (real ones are under 100 bytes).
pub const MAX_LEN: usize = 256;

/// Why a name was refused, for the client's 400 (the name itself is not echoed: it is
/// attacker-controlled and may hold what the check refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelNameError {
    Empty,
    TooLong,
    BadCharacter,
    /// Valid in general, not in this provider's URL path.
    NotAPathSegment,
}

impl ModelNameError {
    pub fn message(self) -> String {
        match self {
            ModelNameError::Empty => "you must provide a model parameter".into(),
            ModelNameError::TooLong => format!("the model name is longer than {MAX_LEN} bytes"),
            ModelNameError::BadCharacter => {
                "the model name may only contain letters, digits and - . _ : / @ +".into()
            }
            ModelNameError::NotAPathSegment => {
                "the model name may not contain `/` or `:` or be only dots for this provider".into()
            }
        }
    }
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'/' | b'@' | b'+')
}

/// Checks a model name a client sent (see the module docs).
pub fn check(name: &str) -> Result<(), ModelNameError> {
    if name.is_empty() {
        return Err(ModelNameError::Empty);
    }
    if name.len() > MAX_LEN {
        return Err(ModelNameError::TooLong);
    }
    if !name.bytes().all(allowed) {
        return Err(ModelNameError::BadCharacter);
    }
    Ok(())
}

/// Checks a name that becomes one URL path segment.
pub fn check_path_segment(name: &str) -> Result<(), ModelNameError> {
    check(name)?;
    if name.contains(['/', ':']) || name.bytes().all(|b| b == b'.') {
        return Err(ModelNameError::NotAPathSegment);
    }
    Ok(())
}

/// Checks a Bedrock model id (`anthropic.claude-3-5-haiku-20241022-v1:0`, an inference profile
/// `us.amazon.nova-lite-v1:0`): one path segment, `:` allowed (percent-encoded when sent).
pub fn check_bedrock_model(name: &str) -> Result<(), ModelNameError> {
    check(name)?;
    if name.contains('/') || name.bytes().all(|b| b == b'.') {
        return Err(ModelNameError::NotAPathSegment);
    }
    Ok(())
}

/// `name` percent-encoded for a path segment: every byte but RFC 3986's unreserved ones and `@`.
pub fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
            out.push(char::from(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0')));
        }
    }
    out
}

const HEX: [u8; 16] = *b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_model_names_pass() {
        for name in [
            "gpt-4o",
            "gpt-4o-2024-08-06",
            "ft:gpt-4o-mini:acme::9abc",
            "o3-mini",
            "claude-sonnet-4-5",
            "anthropic/claude-3.5-sonnet",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "llama3.1:8b",
            "claude-opus-4-1@20250805",
            "gemini-2.5-flash",
            "text-embedding-3-small",
            "accounts/fireworks/models/llama-v3p1-8b+lora",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        for name in ["gemini-2.5-flash", "prod-gpt4o_eu", "gemini-1.5-pro@001"] {
            assert_eq!(check_path_segment(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn tricks_are_refused() {
        for name in [
            "gpt-4o?api-version=2020-01-01",
            "gpt-4o&x=1",
            "gpt#frag",
            "gpt 4o",
            "gpt\r\nx-injected: 1",
            "gpt%2F..",
            "m;gen_ai_token_type=output",
            "m=1",
            "gpt\u{0}",
            "gpt-é",
        ] {
            assert_eq!(check(name), Err(ModelNameError::BadCharacter), "{name:?}");
        }
        assert_eq!(check(""), Err(ModelNameError::Empty));
        assert_eq!(check(&"a".repeat(MAX_LEN + 1)), Err(ModelNameError::TooLong));
        assert_eq!(check(&"a".repeat(MAX_LEN)), Ok(()));
        for name in ["gemini-x/../../v1beta/files", "x:countTokens", "..", ".", "azure-x/../other"] {
            assert_eq!(check_path_segment(name), Err(ModelNameError::NotAPathSegment), "{name}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(path_segment("gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(path_segment("a/b:c d"), "a%2Fb%3Ac%20d");
        assert_eq!(path_segment("x@1"), "x@1");
    }
}
