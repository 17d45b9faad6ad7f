//! Prompt templates: named, reviewed prompts kept in the gateway, filled with a client's values.
//!
//! A template is a list of messages (any role) whose text may hold `{{name}}` placeholders
//! (spaces inside the braces allowed). Every placeholder must name a declared variable, and
//! every `{{` must start one: a template that does not parse is refused at load, with its field
//! path. A client picks a template and passes values; each value is inserted as plain text in
//! one pass — a value holding `{{x}}`, quotes or JSON stays exactly that text, never template
//! syntax and never JSON. Declared variables may have a default, be optional (empty when
//! absent) and carry a length limit (in characters).

use crate::common::config::ConfigError;
use crate::llm::view::Role;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateConfig {
    pub messages: Vec<TemplateMessage>,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableConfig>,
    /// The template applies to requests for these models only (`*` patterns); absent: any.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Sampling parameters the template sets when the client did not (as a policy's
    /// `defaults`).
    #[serde(default)]
    pub parameters: crate::llm::view::params::Params,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariableConfig {
    /// Used when the client sends no value.
    #[serde(default)]
    pub default: Option<String>,
    /// Absent values are empty instead of an error.
    #[serde(default)]
    pub optional: bool,
    /// Longest value accepted, in characters.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// Longest template name; names are metric labels and filter-state values.
const MAX_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(usize),
}

#[derive(Debug, Clone)]
struct Variable {
    name: String,
    config: VariableConfig,
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    messages: Vec<(Role, Vec<Segment>)>,
    variables: Vec<Variable>,
    pub models: Option<Vec<String>>,
    pub parameters: crate::llm::view::params::Params,
}

/// Why a client's values could not fill a template (a 400; the message names the variable,
/// never echoes the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillError(pub String);

impl Template {
    pub fn compile(name: &str, config: TemplateConfig, at: &str) -> Result<Self, ConfigError> {
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ConfigError::new(at, "a template name is 1 to 64 of A-Z a-z 0-9 - _ ."));
        }
        if config.messages.is_empty() {
            return Err(ConfigError::new(format!("{at}.messages"), "a template needs at least one message"));
        }
        let variables: Vec<Variable> =
            config.variables.into_iter().map(|(name, config)| Variable { name, config }).collect();
        let mut messages = Vec::with_capacity(config.messages.len());
        for (i, m) in config.messages.into_iter().enumerate() {
            let segments = parse(&m.content, &variables)
                .map_err(|e| ConfigError::new(format!("{at}.messages[{i}].content"), e))?;
            messages.push((m.role, segments));
        }
        Ok(Self {
            name: name.to_string(),
            messages,
            variables,
            models: config.models,
            parameters: config.parameters,
        })
    }

    /// The template's messages filled with `values` (a JSON object of strings).
    pub fn fill(
        &self,
        values: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Vec<(Role, String)>, FillError> {
        let empty = serde_json::Map::new();
        let values = values.unwrap_or(&empty);
        if let Some(unknown) = values.keys().find(|k| !self.variables.iter().any(|v| &v.name == *k)) {
            return Err(FillError(format!("template `{}` has no variable `{unknown}`", self.name)));
        }
        let mut resolved = Vec::with_capacity(self.variables.len());
        for v in &self.variables {
            let value = match values.get(&v.name) {
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Err(FillError(format!("variable `{}` must be a string", v.name))),
                None => match (&v.config.default, v.config.optional) {
                    (Some(default), _) => default.as_str(),
                    (None, true) => "",
                    (None, false) => {
                        return Err(FillError(format!(
                            "template `{}` needs variable `{}`",
                            self.name, v.name
                        )))
                    }
                },
            };
            if v.config.max_length.is_some_and(|max| value.chars().count() > max) {
                return Err(FillError(format!(
                    "variable `{}` is longer than {} characters",
                    v.name,
                    v.config.max_length.unwrap_or_default()
                )));
            }
            resolved.push(value);
        }
        Ok(self
            .messages
            .iter()
            .map(|(role, segments)| {
                let mut text = String::new();
                for segment in segments {
                    match segment {
                        Segment::Text(t) => text.push_str(t),
                        Segment::Var(i) => text.push_str(resolved.get(*i).copied().unwrap_or_default()),
                    }
                }
                (*role, text)
            })
            .collect())
    }
}

/// Splits a template text into literal text and variable references.
fn parse(text: &str, variables: &[Variable]) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let (literal, after) = rest.split_at(open);
        if !literal.is_empty() {
            segments.push(Segment::Text(literal.to_string()));
        }
        let inner_and_rest = after.get(2..).unwrap_or_default();
        let close = inner_and_rest.find("}}").ok_or("`{{` without a closing `}}`")?;
        let (inner, tail) = inner_and_rest.split_at(close);
        let name = inner.trim();
        let index = variables.iter().position(|v| v.name == name).ok_or_else(|| {
            format!("`{{{{{name}}}}}` names no declared variable (declare it in `variables`)")
        })?;
        segments.push(Segment::Var(index));
        rest = tail.get(2..).unwrap_or_default();
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest.to_string()));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(json: Value) -> Result<Template, ConfigError> {
        Template::compile("support", serde_json::from_value(json).unwrap(), "templates.support")
    }

    fn values(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn support() -> Template {
        template(json!({
            "messages": [
                {"role": "system", "content": "You answer for {{ company }}."},
                {"role": "user", "content": "Question: {{question}}\nTone: {{tone}}"}
            ],
            "variables": {"company": {"default": "Acme"}, "question": {"maxLength": 20}, "tone": {"optional": true}}
        }))
        .unwrap()
    }

    #[test]
    fn fills_in_order_with_defaults_and_optionals() {
        let out = support().fill(Some(&values(json!({"question": "Where is my order?"})))).unwrap();
        assert_eq!(
            out,
            [
                (Role::System, "You answer for Acme.".to_string()),
                (Role::User, "Question: Where is my order?\nTone: ".to_string())
            ]
        );
    }

    #[test]
    fn values_are_text_never_syntax_or_json() {
        for value in ["{{company}}", "\"}], \"x\": 1", "{{", "}}", "日本語 🎉", "\\u0000\n\r\t"] {
            let out = support().fill(Some(&values(json!({"question": value})))).unwrap();
            assert_eq!(out[1].1, format!("Question: {value}\nTone: "), "{value:?}");
        }
    }

    #[test]
    fn client_mistakes_are_named() {
        let t = support();
        let err = |v: Value| t.fill(Some(&values(v))).unwrap_err().0;
        assert!(err(json!({})).contains("needs variable `question`"));
        assert!(err(json!({"question": "x", "colour": "red"})).contains("no variable `colour`"));
        assert!(err(json!({"question": 7})).contains("must be a string"));
        assert!(err(json!({"question": "x".repeat(21)})).contains("longer than 20"));
        assert!(t.fill(Some(&values(json!({"question": "é".repeat(20)})))).is_ok(), "characters, not bytes");
        assert!(t.fill(None).is_err());
    }

    #[test]
    fn templates_that_do_not_parse_are_refused_at_load_with_the_field() {
        let err = |content: &str| {
            template(json!({"messages": [{"role": "user", "content": content}], "variables": {"a": {}}}))
                .unwrap_err()
        };
        assert_eq!(err("{{b}}").path, "templates.support.messages[0].content");
        assert!(err("{{b}}").message.contains("no declared variable"));
        assert!(err("hello {{a").message.contains("without a closing"));
        assert!(template(json!({"messages": []})).is_err());
        assert!(Template::compile(
            "bad name",
            serde_json::from_value(json!({"messages": [{"role": "user", "content": "x"}]})).unwrap(),
            "t"
        )
        .is_err());
    }
}
