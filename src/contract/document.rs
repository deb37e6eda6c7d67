//! Reading a contract document: JSON or YAML syntax, which specification it is, every
//! local `$ref` resolvable, and OpenAPI 3.0 schemas rewritten to JSON Schema 2020-12.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::scenario::json_path;

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
            if e.to_string().contains("recursion limit exceeded") {
                let offset = offset_of(text, e.line(), e.column());
                return too_deep(
                    source,
                    &format!(
                        " at line {} column {} ({})",
                        e.line(),
                        e.column(),
                        pointer_at(text, offset)
                    ),
                );
            }
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
            if e.to_string().contains("recursion limit exceeded") {
                return too_deep(source, &at);
            }
            Error::new(
                ErrorKind::InvalidFile,
                format!("invalid contract {source}{at}: {e}: fix the YAML syntax"),
            )
        })
    }
}

/// How deep a contract may nest: the JSON and YAML readers' own limit, which also
/// keeps every later walk over the document far from the stack's end.
const NESTING_LIMIT: usize = 128;

/// A document nested deeper than [`NESTING_LIMIT`]: valid, but not read.
fn too_deep(source: &str, at: &str) -> Error {
    Error::new(
        ErrorKind::InvalidFile,
        format!(
            "contract {source} nests deeper than {NESTING_LIMIT} levels{at}: that is badgateway's nesting limit, not a syntax error; flatten it by moving the inner schemas to `components/schemas` and pointing at them with `$ref`"
        ),
    )
}

/// The byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// The JSON pointer of where `offset` is in the JSON `text`, by a scan that tracks the
/// objects, arrays and keys open there (no recursion, so any depth).
fn pointer_at(text: &str, offset: usize) -> String {
    enum Open {
        Object {
            key: Option<String>,
            expect_key: bool,
        },
        Array(usize),
    }
    let mut open: Vec<Open> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < offset.min(bytes.len()) {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Open::Object { key, expect_key }) = open.last_mut() {
                    if *expect_key {
                        let raw = &text[start..i.min(text.len())];
                        *key = Some(
                            serde_json::from_str(&format!("\"{raw}\""))
                                .unwrap_or_else(|_| raw.to_owned()),
                        );
                    }
                }
            }
            b'{' => open.push(Open::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => open.push(Open::Array(0)),
            b'}' | b']' => {
                open.pop();
            }
            b':' => {
                if let Some(Open::Object { expect_key, .. }) = open.last_mut() {
                    *expect_key = false;
                }
            }
            b',' => match open.last_mut() {
                Some(Open::Object { expect_key, .. }) => *expect_key = true,
                Some(Open::Array(index)) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut pointer = String::from("#");
    for level in &open {
        match level {
            Open::Object { key: Some(key), .. } => {
                pointer.push('/');
                pointer.push_str(&json_path::pointer_token(key));
            }
            Open::Object { key: None, .. } => {}
            Open::Array(index) => pointer.push_str(&format!("/{index}")),
        }
    }
    pointer
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
                    at.push_str(&json_path::pointer_token(key));
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

    /// A valid spec nested 1,000 levels deep was refused with "fix the JSON syntax":
    /// the limit is named as such, with where it was hit.
    #[test]
    fn a_spec_past_the_nesting_limit_is_named_as_such_with_its_pointer() {
        let mut schema = String::from(r#"{"type":"string"}"#);
        for _ in 0..1000 {
            schema = format!(r#"{{"type":"array","items":{schema}}}"#);
        }
        let spec = format!(
            r#"{{"openapi":"3.1.0","paths":{{"/v1/a~b":{{"get":{{"responses":{{"200":{{"content":{{"application/json":{{"schema":{schema}}}}}}}}}}}}}}}}}"#
        );
        let message = parse_document(&spec, "deep.json").unwrap_err().to_string();
        assert!(
            message.contains("nests deeper than 128 levels"),
            "{message}"
        );
        assert!(!message.contains("fix the JSON syntax"), "{message}");
        assert!(
            message.contains("(#/paths/~1v1~1a~0b/get/responses/200/content/application~1json/schema/items/items/"),
            "{message}"
        );
        assert!(message.contains("components/schemas"), "{message}");
        let yaml = format!(
            "openapi: 3.1.0\nx: {}{}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        let message = parse_document(&yaml, "deep.yaml").unwrap_err().to_string();
        assert!(
            message.contains("nests deeper than 128 levels"),
            "{message}"
        );
        // Within the limit, the same shape reads.
        assert!(parse_document(
            &spec
                .replacen(&"{\"type\":\"array\",\"items\":".repeat(900), "", 1)
                .replacen(&"}".repeat(900), "", 1),
            "ok.json"
        )
        .is_ok());
    }

    #[test]
    fn the_pointer_of_an_offset_follows_keys_indexes_and_escapes() {
        let text = r#"{"a":[1,{"b\"c":{"d/e":[0,0,{"#;
        assert_eq!(pointer_at(text, text.len()), "#/a/1/b\"c/d~1e/2");
    }

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
