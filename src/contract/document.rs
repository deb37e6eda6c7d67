//! Reading a contract document: JSON or YAML syntax, which specification it is, every
//! local `$ref` resolvable, and OpenAPI 3.0 schemas rewritten to JSON Schema 2020-12.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};

/// Which specification a contract was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0.x (schemas rewritten to JSON Schema 2020-12 at load).
    OpenApi30,
    /// OpenAPI 3.1.x (its schemas are JSON Schema 2020-12).
    OpenApi31,
    /// A bare JSON Schema with example responses.
    JsonSchema,
}

/// A JSON pointer as a URI fragment: `{id}` in a path template must be percent-encoded.
pub(crate) fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn invalid(source: &str, pointer: &str, what: &str) -> Error {
    let at = if pointer.is_empty() {
        String::new()
    } else {
        format!(" at {pointer}")
    };
    Error::new(
        ErrorKind::InvalidFile,
        format!("invalid contract {source}{at}: {what}"),
    )
}

pub(crate) fn parse_document(text: &str, source: &str) -> Result<Value, Error> {
    let looks_json = source.ends_with(".json") || text.trim_start().starts_with('{');
    if looks_json {
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "invalid contract {source} at line {} column {}: {e:#}: fix the JSON syntax",
                    e.line(),
                    e.column()
                ),
            )
        })
    } else {
        serde_norway::from_str::<Value>(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            Error::new(
                ErrorKind::InvalidFile,
                format!("invalid contract {source}{at}: {e}: fix the YAML syntax"),
            )
        })
    }
}

/// Every local `$ref` must point somewhere; the error names where the ref is.
pub(crate) fn check_refs(document: &Value, source: &str) -> Result<(), Error> {
    fn walk(value: &Value, at: &mut String, document: &Value, source: &str) -> Result<(), Error> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    match r.strip_prefix('#') {
                        Some(pointer) if document.pointer(pointer).is_some() => {}
                        Some(_) => {
                            return Err(invalid(source, at, &format!("$ref {r:?} points nowhere: fix the reference, or add the schema it names")));
                        }
                        None => {
                            return Err(invalid(source, at, &format!("$ref {r:?} points outside the document: bundle the spec into one file first")));
                        }
                    }
                }
                for (key, child) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    walk(child, at, document, source)?;
                    at.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(child, at, document, source)?;
                    at.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(document, &mut String::new(), document, source)
}

/// Rewrites OpenAPI 3.0 schema keywords to JSON Schema 2020-12, everywhere.
pub(crate) fn convert_30(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(convert_30).collect()),
        Value::Object(map) => {
            let mut map: Map<String, Value> =
                map.into_iter().map(|(k, v)| (k, convert_30(v))).collect();
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(exclusive)) = map.get(flag).cloned() {
                    map.remove(flag);
                    if exclusive {
                        if let Some(limit) = map.remove(bound) {
                            map.insert(flag.into(), limit);
                        }
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                return Value::Object(nullable(map));
            }
            Value::Object(map)
        }
        other => other,
    }
}

fn nullable(mut map: Map<String, Value>) -> Map<String, Value> {
    match map.get("type").cloned() {
        Some(Value::String(t)) if map.get("$ref").is_none() => {
            map.insert("type".into(), serde_json::json!([t, "null"]));
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                if !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
            }
            map
        }
        _ => {
            // allOf / oneOf / $ref / untyped: either that schema, or null.
            let mut wrapper = Map::new();
            wrapper.insert(
                "anyOf".into(),
                serde_json::json!([Value::Object(map), {"type": "null"}]),
            );
            wrapper
        }
    }
}

/// `schema` with its local references (`#`, `#/$defs/x`) made to point below `base`,
/// where it is placed in a larger document. Iterative, so no depth of schema can
/// overflow the stack.
pub(crate) fn rebased_refs(mut schema: Value, base: &str) -> Value {
    let mut stack = vec![&mut schema];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get_mut("$ref") {
                    if let Some(rest) = r.strip_prefix('#') {
                        if rest.is_empty() || rest.starts_with('/') {
                            *r = format!("#{base}{rest}");
                        }
                    }
                }
                stack.extend(map.values_mut());
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_type_array_or_an_any_of() {
        let converted = convert_30(serde_json::json!({
            "a": {"type": "string", "nullable": true},
            "b": {"allOf": [{"$ref": "#/x"}], "nullable": true},
            "c": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
        }));
        assert_eq!(
            converted["a"],
            serde_json::json!({"type": ["string", "null"]})
        );
        assert_eq!(
            converted["b"],
            serde_json::json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]})
        );
        assert_eq!(
            converted["c"],
            serde_json::json!({"type": "integer", "exclusiveMinimum": 0})
        );
    }
}
