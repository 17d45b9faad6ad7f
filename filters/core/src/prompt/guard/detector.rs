//! Built-in detectors: personal data and secrets, validated, not just pattern-matched.
//!
//! Each detector is a candidate pattern (what the text must look like) and a validator (what
//! the candidate must be): card numbers pass Luhn and a known issuer range, IBANs their
//! country's length and mod-97, SSNs the allocation rules, addresses parse, a JWT's header is
//! JSON with an `alg`. The validator also sees the characters around the candidate, so a
//! version string `1.2.3.4.5` does not read as the address `1.2.3.4`.

use super::validate;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    Email,
    Phone,
    CreditCard,
    UsSsn,
    Iban,
    Ipv4,
    Ipv6,
    AwsAccessKey,
    OpenaiKey,
    AnthropicKey,
    GoogleApiKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    Jwt,
    PrivateKey,
}

/// See [`Detector::gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// One of these literals occurs.
    Anchors(&'static [&'static str]),
    /// A run of at least this many digits, where up to three of ` -.()` between digits do not
    /// break the run (`+1 (415) 555-2671` is a run of 11; the phone pattern allows `) (`).
    DigitRun(usize),
    /// A digit run (as above) with at least this many `.` in it (`10.0.0.1`).
    DottedRun(usize),
    /// At least this many `:` next to a hex digit or another `:`.
    HexColons(usize),
    /// Two capital letters followed by two digits (an IBAN's country and check digits).
    CountryDigits,
}

impl Detector {
    pub const ALL: [Detector; 16] = [
        Detector::Email,
        Detector::Phone,
        Detector::CreditCard,
        Detector::UsSsn,
        Detector::Iban,
        Detector::Ipv4,
        Detector::Ipv6,
        Detector::AwsAccessKey,
        Detector::OpenaiKey,
        Detector::AnthropicKey,
        Detector::GoogleApiKey,
        Detector::GithubToken,
        Detector::GitlabToken,
        Detector::SlackToken,
        Detector::Jwt,
        Detector::PrivateKey,
    ];

    /// The config name (`credit_card`), also the guard's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CreditCard => "credit_card",
            Detector::UsSsn => "us_ssn",
            Detector::Iban => "iban",
            Detector::Ipv4 => "ipv4",
            Detector::Ipv6 => "ipv6",
            Detector::AwsAccessKey => "aws_access_key",
            Detector::OpenaiKey => "openai_key",
            Detector::AnthropicKey => "anthropic_key",
            Detector::GoogleApiKey => "google_api_key",
            Detector::GithubToken => "github_token",
            Detector::GitlabToken => "gitlab_token",
            Detector::SlackToken => "slack_token",
            Detector::Jwt => "jwt",
            Detector::PrivateKey => "private_key",
        }
    }

    /// The text a masked match becomes by default.
    pub fn placeholder(self) -> &'static str {
        match self {
            Detector::Email => "[EMAIL]",
            Detector::Phone => "[PHONE]",
            Detector::CreditCard => "[CARD]",
            Detector::UsSsn => "[SSN]",
            Detector::Iban => "[IBAN]",
            Detector::Ipv4 | Detector::Ipv6 => "[IP]",
            Detector::Jwt => "[JWT]",
            Detector::PrivateKey => "[PRIVATE KEY]",
            _ => "[SECRET]",
        }
    }

    /// What a text must contain for this detector to have any chance — checked for every
    /// detector in one cheap pass before any of their regexes runs, so prose without digits,
    /// `@` or key prefixes costs almost nothing. Each gate is implied by the pattern.
    pub fn gate(self) -> Gate {
        match self {
            Detector::Email => Gate::Anchors(&["@"]),
            Detector::Phone => Gate::DigitRun(7),
            Detector::CreditCard => Gate::DigitRun(13),
            Detector::UsSsn => Gate::DigitRun(9),
            Detector::Iban => Gate::CountryDigits,
            Detector::Ipv4 => Gate::DottedRun(3),
            Detector::Ipv6 => Gate::HexColons(2),
            Detector::AwsAccessKey => {
                Gate::Anchors(&["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ASCA"])
            }
            Detector::OpenaiKey => Gate::Anchors(&["sk-"]),
            Detector::AnthropicKey => Gate::Anchors(&["sk-ant-"]),
            Detector::GoogleApiKey => Gate::Anchors(&["AIza"]),
            Detector::GithubToken => Gate::Anchors(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
            Detector::GitlabToken => Gate::Anchors(&["glpat-", "gldt-", "glptt-", "glrt-"]),
            Detector::SlackToken => Gate::Anchors(&["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"]),
            Detector::Jwt => Gate::Anchors(&["eyJ"]),
            Detector::PrivateKey => Gate::Anchors(&["-----BEGIN"]),
        }
    }

    /// The candidate pattern.
    pub fn pattern(self) -> &'static str {
        match self {
            Detector::Email => {
                r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
            }
            Detector::Phone => {
                r"\+[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,4}\)?){1,5}[ .-]?[0-9]{2,4}|\([0-9]{3}\)[ .-]?[0-9]{3}[ .-][0-9]{4}|\b[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}\b|\b0[0-9]{1,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4}\b"
            }
            Detector::CreditCard => r"\b[0-9](?:[ -]?[0-9]){12,18}\b",
            Detector::UsSsn => r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
            Detector::Iban => r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
            Detector::Ipv4 => r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b",
            Detector::Ipv6 => r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}",
            Detector::AwsAccessKey => r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASCA)[A-Z2-7]{16}\b",
            Detector::OpenaiKey => r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}",
            Detector::AnthropicKey => r"\bsk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{40,}",
            Detector::GoogleApiKey => r"\bAIza[0-9A-Za-z_-]{35}",
            Detector::GithubToken => r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})",
            Detector::GitlabToken => r"\bgl(?:pat|dt|ptt|rt)-[A-Za-z0-9_-]{20,}",
            Detector::SlackToken => r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
            Detector::Jwt => r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
            Detector::PrivateKey => {
                r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )?PRIVATE KEY-----"
            }
        }
    }

    /// The longest text a match can be (the bound on what a stream holds back for it).
    pub fn max_len(self) -> usize {
        match self {
            Detector::Email => 254,
            Detector::Phone => 24,
            Detector::CreditCard => 23,
            Detector::UsSsn => 11,
            Detector::Iban => 42,
            Detector::Ipv4 => 15,
            Detector::Ipv6 => 45,
            Detector::AwsAccessKey => 20,
            Detector::OpenaiKey | Detector::AnthropicKey => 256,
            Detector::GoogleApiKey => 39,
            Detector::GithubToken => 128,
            Detector::GitlabToken | Detector::SlackToken => 128,
            Detector::Jwt => 4096,
            Detector::PrivateKey => 8192,
        }
    }

    /// Whether matches are runs of digit groups, which can run into a neighbouring number.
    pub fn digit_groups(self) -> bool {
        matches!(
            self,
            Detector::Phone | Detector::CreditCard | Detector::UsSsn | Detector::Iban | Detector::Ipv4
        )
    }

    /// Whether the candidate `text[start..end]` is what this detector looks for.
    pub fn validate(self, text: &str, start: usize, end: usize) -> bool {
        let candidate = text.get(start..end).unwrap_or_default();
        let before = text.get(..start).and_then(|t| t.chars().next_back());
        let after = text.get(end..).and_then(|t| t.chars().next());
        let after2 = text.get(end..).and_then(|t| t.chars().nth(1));
        // Part of a longer dotted or dashed number (a version, an id): not this.
        let in_number = || {
            matches!(before, Some(c) if c.is_ascii_digit() || c == '.')
                || matches!((after, after2), (Some('.' | '-'), Some(c)) if c.is_ascii_digit())
        };
        match self {
            Detector::Email => validate::email(candidate),
            Detector::Phone => !in_number() && validate::phone(candidate),
            Detector::CreditCard => !in_number() && validate::card(candidate),
            Detector::UsSsn => !in_number() && validate::ssn(candidate),
            Detector::Iban => validate::iban(candidate),
            Detector::Ipv4 => !in_number() && validate::ipv4(candidate),
            Detector::Ipv6 => {
                let hexish = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit() || c == ':');
                // `::ffff:1.2.3.4` forms are left to the IPv4 detector; a trailing `.` + digit
                // means the candidate is cut out of something longer.
                !hexish(before) && !hexish(after) && !in_number() && validate::ipv6(candidate)
            }
            Detector::OpenaiKey => {
                !candidate.starts_with("sk-ant-")
                    && candidate.bytes().any(|b| b.is_ascii_digit())
                    && candidate.bytes().any(|b| b.is_ascii_alphabetic())
            }
            Detector::Jwt => validate::jwt(candidate),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for d in Detector::ALL {
            assert!(regex::Regex::new(d.pattern()).is_ok(), "{}", d.name());
            assert!(names.insert(d.name()));
            let parsed: Detector = serde_json::from_value(serde_json::json!(d.name())).unwrap();
            assert_eq!(parsed, d);
        }
    }
}
