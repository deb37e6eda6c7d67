//! Responses that mean the same as the baseline: the only conforming responses a
//! client owes acceptance.
//!
//! Implementation notes: a false rejection claims that no correct client could have
//! returned `Err`. A generated body says something else than the baseline (another
//! status, `failed` where it said `succeeded`, an empty list), and a correct client
//! surfaces a documented failure as an error: 26 to 28 cases per seed called a correct
//! client wrong for it. What carries no new meaning is the baseline written another
//! way: a property added where the schema allows one, keys in another order, other
//! whitespace, strings written with escapes. Each is validated against the contract
//! before it is served. Numbers written another way (`1e2` for `100`) are left out:
//! JSON calls them equal, but typed clients (serde's `i64`) refuse `1e2` by design,
//! and a finding must be a bug.

use serde_json::{Map, Value};

use crate::contract::Contract;
use crate::scenario::json_path;
use crate::scenario::Mutation;

/// The name of the property added to objects: one no provider sends.
pub const ADDED_PROPERTY: &str = "x_badgateway_added";

/// How many objects of a body get a property added, each in a variant of its own.
const MOST_ADDED: usize = 8;

/// The baseline body `instance` written in ways that mean the same, each one a
/// [`Mutation::ReplaceBody`] that the schema at `pointer` accepts.
///
/// ```
/// use badgateway::{equivalent::equivalents, Contract};
/// let contract = Contract::from_json_schema(serde_json::json!({"type": "object"}), vec![], "GET", "/c").unwrap();
/// let pointer = contract.operation("GET", "/c").unwrap().response_schema(200).unwrap();
/// let variants = equivalents(&contract, pointer, &serde_json::json!({"id": "ch_1", "n": 1}));
/// // a property added, keys reordered, whitespace, escapes
/// assert_eq!(variants.len(), 4, "{variants:?}");
/// let closed = Contract::from_json_schema(serde_json::json!({"type": "object", "additionalProperties": false}), vec![], "GET", "/c").unwrap();
/// assert_eq!(equivalents(&closed, pointer, &serde_json::json!({"id": "ch_1", "n": 1})).len(), 3);
/// ```
pub fn equivalents(contract: &Contract, pointer: &str, instance: &Value) -> Vec<Mutation> {
    let mut texts = Vec::new();
    for at in object_pointers(instance).into_iter().take(MOST_ADDED) {
        let mut added = instance.clone();
        if let Some(Value::Object(map)) = added.pointer_mut(&at) {
            map.insert(
                ADDED_PROPERTY.to_owned(),
                Value::String("a new field".into()),
            );
        }
        if contract.validate(pointer, &added).is_ok() {
            texts.push(added.to_string());
        }
    }
    // Compared as text: values compare equal whatever the order of their keys.
    let original = instance.to_string();
    let reordered = reordered(instance).to_string();
    if reordered != original {
        texts.push(reordered);
    }
    if let Ok(pretty) = serde_json::to_string_pretty(instance) {
        texts.push(format!("\n{pretty}\n"));
    }
    let escaped = escaped(instance);
    if escaped != original {
        texts.push(escaped);
    }
    texts
        .into_iter()
        .map(|text| Mutation::ReplaceBody { text })
        .collect()
}

/// JSON pointers to every object in `value`, the root first.
fn object_pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                out.push(at.clone());
                for (key, child) in map {
                    let key = json_path::pointer_token(key);
                    walk(child, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// `value` with every object's keys in reverse order.
fn reordered(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reordered(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reordered).collect()),
        other => other.clone(),
    }
}

/// `value` as compact JSON text with every ASCII character in its strings (keys
/// included) that is not a letter or digit written as a `\u` escape, and `/` as `\/`.
/// A link to the provider itself (loopback) is written plainly: it is served as the
/// `{{base_url}}` of the case that serves it, which an escaped one could not be.
fn escaped(value: &Value) -> String {
    fn string(s: &str, out: &mut String) {
        if s.contains("://127.0.0.1:") {
            out.push_str(&Value::String(s.to_owned()).to_string());
            return;
        }
        out.push('"');
        for c in s.chars() {
            match c {
                '/' => out.push_str("\\/"),
                c if c.is_ascii_alphanumeric() || !c.is_ascii() => out.push(c),
                c => out.push_str(&format!("\\u{:04x}", c as u32)),
            }
        }
        out.push('"');
    }
    fn walk(value: &Value, out: &mut String) {
        match value {
            Value::String(s) => string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    walk(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(key, out);
                    out.push(':');
                    walk(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    walk(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_reads_back_as_the_same_value_but_the_added_property() {
        let value =
            serde_json::json!({"id": "ch_1/x", "card": {"last4": "4242"}, "list": [{"a": 1}]});
        let texts = [reordered(&value).to_string(), escaped(&value)];
        for text in texts {
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                value,
                "{text}"
            );
        }
        assert!(
            escaped(&value).contains(r"ch\u005f1\/x"),
            "{}",
            escaped(&value)
        );
        assert_eq!(object_pointers(&value), ["", "/card", "/list/0"]);
    }
}
