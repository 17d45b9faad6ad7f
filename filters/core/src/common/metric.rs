//! Metric names that carry labels.
//!
//! proxy-wasm metrics have a name and no labels. Envoy's `stats_config.stats_tags` regexes turn
//! parts of a name into labels, so a labelled metric is encoded as
//! `name;key=value;key=value` and the bootstrap has one regex per key (`(;key=([^;]*))`). `;` is
//! used instead of Envoy's usual `.` because model names contain dots (`gpt-4.1`); values are
//! cleaned of the two separator characters so a label can never break out of its slot.

/// Encodes `name` with `labels`, in the given order.
pub fn labelled(name: &str, labels: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(name.len().saturating_add(labels.len().saturating_mul(24)));
    out.push_str(name);
    push_labels(&mut out, labels);
    out
}

/// Appends `;key=value` for each label, values cleaned. A flow that names many metrics with the
/// same labels encodes them once (`labelled("", …)`) and appends the rest with this.
pub fn push_labels(out: &mut String, labels: &[(&str, &str)]) {
    for (key, value) in labels {
        out.push(';');
        out.push_str(key);
        out.push('=');
        push_value(out, value);
    }
}

fn push_value(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push_str("unknown");
    } else if value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control() && b != b';' && b != b'=') {
        // The usual case (config names, model names, digits): copied whole.
        out.push_str(value);
    } else {
        out.extend(value.chars().map(|c| match c {
            ';' | '=' => '_',
            c if c.is_control() => '_',
            c => c,
        }));
    }
}

/// The `stats_tags` regex that extracts `key` (for docs, configs and tests).
pub fn tag_regex(key: &str) -> String {
    format!("(;{key}=([^;]*))")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_labels_and_cleans_values() {
        assert_eq!(
            labelled("portcullis_tokens", &[("provider", "openai"), ("model", "gpt-4.1"), ("tenant", "")]),
            "portcullis_tokens;provider=openai;model=gpt-4.1;tenant=unknown"
        );
        assert_eq!(labelled("m", &[("model", "a;b=c\n")]), "m;model=a_b_c_");
        assert_eq!(labelled("m", &[("model", "é\u{85}x\u{7f}")]), "m;model=é_x_", "C1 controls and DEL too");
        let mut out = labelled("", &[("a", "1")]);
        push_labels(&mut out, &[("b", ""), ("c", "x;y")]);
        assert_eq!(out, ";a=1;b=unknown;c=x_y");
        assert_eq!(tag_regex("model"), "(;model=([^;]*))");
    }
}
