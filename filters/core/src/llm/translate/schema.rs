//! JSON Schema ⇄ Gemini's `Schema` (the OpenAPI 3.0 subset `parameters` and `responseSchema`
//! accept).
//!
//! Gemini rejects a request whose schema has a keyword it does not know (`additionalProperties`,
//! `$schema`, `$ref` …), a string `format` other than `enum`/`date-time`, or a type array. Tools
//! written for OpenAI (often generated from Pydantic or Zod) have all of these, so a schema is
//! rebuilt from an allow-list: `$ref`s into `$defs`/`definitions` are inlined, `["T","null"]` and
//! `anyOf: [T, {type: null}]` become `nullable`, `oneOf` becomes `anyOf`, `allOf` is merged,
//! `const` becomes a one-value `enum`. What cannot be expressed is left out, which loosens the
//! schema rather than failing the request.

use super::TranslateError;
use serde_json::{Map, Value};

/// Keywords Gemini's `Schema` accepts, besides the ones rebuilt below.
const KEPT: &[&str] = &[
    "title",
    "description",
    "nullable",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
    "example",
    "propertyOrdering",
];

/// Bound on the nodes produced, so `$ref` expansion cannot blow up.
const MAX_NODES: usize = 10_000;
/// Bound on nested `$ref` expansion (also stops recursive definitions).
const MAX_REF_DEPTH: usize = 16;
/// Bound on the nesting of the produced schema, so expansion cannot exhaust a wasm stack.
const MAX_DEPTH: usize = 64;

/// `schema` rewritten for Gemini.
pub(crate) fn to_gemini(schema: &Value) -> Result<Value, TranslateError> {
    let mut budget = MAX_NODES;
    let defs = definitions(schema);
    let out = convert(schema, defs, 0, 0, &mut budget)?;
    Ok(Value::Object(out))
}

/// Whether a tool's parameters declare no parameters at all (Gemini rejects an `OBJECT` with no
/// properties: such a function is declared without `parameters`).
pub(crate) fn is_empty_object(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return true;
    };
    let no_properties = obj.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty);
    let untyped_or_object = obj.get("type").is_none_or(|t| t.as_str() == Some("object"));
    no_properties && untyped_or_object && !obj.contains_key("anyOf")
}

fn definitions(root: &Value) -> Option<&Map<String, Value>> {
    root.get("$defs").or_else(|| root.get("definitions")).and_then(Value::as_object)
}

fn convert(
    schema: &Value,
    defs: Option<&Map<String, Value>>,
    ref_depth: usize,
    depth: usize,
    budget: &mut usize,
) -> Result<Map<String, Value>, TranslateError> {
    *budget = budget
        .checked_sub(1)
        .ok_or_else(|| TranslateError::unsupported("JSON schema too large for Gemini once expanded"))?;
    if depth > MAX_DEPTH {
        return Err(TranslateError::unsupported("JSON schema nested too deeply for Gemini"));
    }
    let mut out = Map::new();
    let Some(obj) = schema.as_object() else {
        // `true` / `{}`: anything. Gemini has no such schema; leave it untyped.
        return Ok(out);
    };

    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/$defs/").or_else(|| reference.strip_prefix("#/definitions/"));
        if let (Some(target), true) =
            (name.and_then(|n| defs.and_then(|d| d.get(n))), ref_depth < MAX_REF_DEPTH)
        {
            out = convert(target, defs, ref_depth.saturating_add(1), depth.saturating_add(1), budget)?;
        }
        // Sibling keywords (a description next to the $ref) refine the target.
    }

    for key in KEPT {
        if let Some(v) = obj.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }

    match obj.get("type") {
        Some(Value::String(t)) => {
            out.insert("type".into(), Value::String(t.clone()));
        }
        Some(Value::Array(types)) => {
            let mut non_null: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
            if non_null.len() < types.len() {
                out.insert("nullable".into(), Value::Bool(true));
            }
            if non_null.len() == 1 {
                if let Some(t) = non_null.pop() {
                    out.insert("type".into(), t.clone());
                }
            } else if non_null.len() > 1 {
                let variants = non_null.into_iter().map(|t| serde_json::json!({ "type": t })).collect();
                out.insert("anyOf".into(), Value::Array(variants));
            }
        }
        _ => {}
    }

    let ty = out.get("type").and_then(Value::as_str).map(str::to_string);
    if let Some(format) = obj.get("format").and_then(Value::as_str) {
        let allowed = match ty.as_deref() {
            Some("string") => matches!(format, "enum" | "date-time"),
            Some("integer") => matches!(format, "int32" | "int64"),
            Some("number") => matches!(format, "float" | "double"),
            _ => false,
        };
        if allowed {
            out.insert("format".into(), Value::String(format.to_string()));
        }
    }

    // Gemini enums are string enums.
    let values = obj
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| obj.get("const").map(|c| vec![c.clone()]));
    if let Some(values) = values {
        if !values.is_empty() && values.iter().all(Value::is_string) {
            out.insert("enum".into(), Value::Array(values));
            out.entry("type").or_insert_with(|| Value::String("string".into()));
        }
    }

    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let mut converted = Map::new();
        for (name, prop) in props {
            converted.insert(
                name.clone(),
                Value::Object(convert(prop, defs, ref_depth, depth.saturating_add(1), budget)?),
            );
        }
        if let Some(required) = obj.get("required").and_then(Value::as_array) {
            let required: Vec<Value> = required
                .iter()
                .filter(|r| r.as_str().is_some_and(|r| converted.contains_key(r)))
                .cloned()
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        out.insert("properties".into(), Value::Object(converted));
    }

    match obj.get("items") {
        Some(items @ Value::Object(_)) => {
            out.insert(
                "items".into(),
                Value::Object(convert(items, defs, ref_depth, depth.saturating_add(1), budget)?),
            );
        }
        // Tuple form: Gemini has one item schema; the first is the best approximation.
        Some(Value::Array(items)) => {
            if let Some(first) = items.first() {
                out.insert(
                    "items".into(),
                    Value::Object(convert(first, defs, ref_depth, depth.saturating_add(1), budget)?),
                );
            }
        }
        _ => {}
    }

    let union = obj.get("anyOf").or_else(|| obj.get("oneOf")).and_then(Value::as_array);
    if let Some(variants) = union {
        let mut converted = Vec::with_capacity(variants.len());
        for variant in variants {
            if variant.get("type").and_then(Value::as_str) == Some("null") {
                out.insert("nullable".into(), Value::Bool(true));
                continue;
            }
            converted.push(convert(variant, defs, ref_depth, depth.saturating_add(1), budget)?);
        }
        if converted.len() == 1 {
            // `Optional[T]`: T itself, nullable.
            if let Some(only) = converted.pop() {
                merge(&mut out, only);
            }
        } else if !converted.is_empty() {
            out.insert("anyOf".into(), Value::Array(converted.into_iter().map(Value::Object).collect()));
        }
    }

    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        for part in parts {
            let converted = convert(part, defs, ref_depth, depth.saturating_add(1), budget)?;
            merge(&mut out, converted);
        }
    }

    Ok(out)
}

/// Adds `from`'s keywords to `into`, keeping what `into` already says (a description at the use
/// site beats the one in the definition).
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        into.entry(k).or_insert(v);
    }
}

/// A Gemini schema (types possibly upper-case, `nullable`) as JSON Schema for OpenAI.
pub(crate) fn from_gemini(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => {
            let mut out = Map::new();
            let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
            for (k, v) in obj {
                match k.as_str() {
                    "type" => {
                        let t = v.as_str().map(str::to_ascii_lowercase);
                        let t = match t {
                            Some(t) if t != "type_unspecified" => t,
                            _ => continue,
                        };
                        out.insert(
                            "type".into(),
                            if nullable { serde_json::json!([t, "null"]) } else { Value::String(t) },
                        );
                    }
                    "nullable" | "propertyOrdering" => {}
                    "properties" => {
                        let props = v
                            .as_object()
                            .map(|p| p.iter().map(|(name, s)| (name.clone(), from_gemini(s))).collect())
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    "items" => {
                        out.insert(k.clone(), from_gemini(v));
                    }
                    "anyOf" => {
                        let variants =
                            v.as_array().map(|a| a.iter().map(from_gemini).collect()).unwrap_or_default();
                        out.insert(k.clone(), Value::Array(variants));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_unknown_keywords_and_formats() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "where"},
                "when": {"type": "string", "format": "date-time"},
                "n": {"type": "integer", "exclusiveMinimum": 0, "minimum": 1}
            },
            "required": ["url", "missing"]
        });
        assert_eq!(
            to_gemini(&schema).unwrap(),
            json!({
                "type": "object",
                "properties": {
                    "url": {"type": "string", "description": "where"},
                    "when": {"type": "string", "format": "date-time"},
                    "n": {"type": "integer", "minimum": 1}
                },
                "required": ["url"]
            })
        );
    }

    #[test]
    fn nullable_forms_and_refs() {
        let schema = json!({
            "type": "object",
            "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}], "description": "unit"},
                "c": {"const": "fixed"},
                "d": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "e": {"enum": [1, 2]}
            }
        });
        assert_eq!(
            to_gemini(&schema).unwrap(),
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string", "nullable": true},
                    "b": {"description": "unit", "nullable": true, "type": "string", "enum": ["c", "f"]},
                    "c": {"type": "string", "enum": ["fixed"]},
                    "d": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "e": {}
                }
            })
        );
    }

    #[test]
    fn recursive_refs_are_bounded() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {
                "l": {"$ref": "#/$defs/Node"}, "r": {"$ref": "#/$defs/Node"}}}},
            "$ref": "#/$defs/Node"
        });
        // Two children per level, 16 levels: more than the node budget.
        assert!(to_gemini(&schema).is_err());
        let linear = json!({
            "$defs": {"List": {"type": "object", "properties": {"next": {"$ref": "#/$defs/List"}}}},
            "$ref": "#/$defs/List"
        });
        assert!(to_gemini(&linear).is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut schema = json!({"type": "string"});
        for _ in 0..100 {
            schema = json!({"type": "array", "items": schema});
        }
        assert!(to_gemini(&schema).is_err());
    }

    #[test]
    fn empty_objects() {
        assert!(is_empty_object(&json!({"type": "object", "properties": {}})));
        assert!(is_empty_object(&json!({})));
        assert!(!is_empty_object(&json!({"type": "object", "properties": {"a": {}}})));
    }

    #[test]
    fn gemini_schema_to_json_schema() {
        assert_eq!(
            from_gemini(&json!({"type": "OBJECT", "properties": {
                "a": {"type": "STRING", "nullable": true}}, "propertyOrdering": ["a"]})),
            json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}})
        );
    }
}
