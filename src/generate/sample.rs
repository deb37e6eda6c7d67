//! One plausible instance of a schema, the same on every run: what a provider's
//! documentation would show for it, for a baseline answered from a contract whose
//! response has no example.
//!
//! Implementation notes: this is openapi-sampler's way (Prism's static answers):
//! each value is its schema's `const`, `example`, `default` or first `enum` value,
//! else one of its `format`, else a plain value within its bounds: a string made
//! from its property's name (`id1`), a number at its lower bound, a flag true (but
//! `has_more` and its kin false, so that a list ends). An object has every property
//! (but `writeOnly` ones; below [`ALL_PROPERTIES_DEPTH`], the required ones only), an
//! array one item or as many as `minItems` asks. A string with a `pattern` is the
//! first plain value (a date, an e-mail address, `USD`...) the pattern matches
//! whole, else one drawn from the conformance generator with a fixed seed. The
//! whole is validated; the caller falls back on the conformance generator. Conformance's
//! generated values are for testing a client, not for serving it: empty ids, odd
//! e-mail addresses and added properties, which made a PayPal client built from the
//! spec fail its very first, unmodified run.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Number, Value};

use crate::contract::Contract;

use super::conformance::{format_samples, merge, merge_all, size_range, strings, without};

/// Below this depth, an object has its required properties only.
const ALL_PROPERTIES_DEPTH: usize = 4;

/// Plain strings tried against a pattern, after the formats' samples.
const PLAIN: [&str; 10] = [
    "string",
    "example",
    "EXAMPLE",
    "USD",
    "US",
    "10.00",
    "1",
    "A1B2C3D4E5",
    "en-US",
    "ch_1",
];

/// Past this depth, nothing more is built (a schema that requires itself).
const MAX_DEPTH: usize = 16;

/// A plausible instance of the schema at `pointer`, when one that it accepts can be
/// built.
pub(crate) fn sample(contract: &Contract, pointer: &str) -> Option<Value> {
    let schema = contract.schema(pointer)?;
    let value = instance(contract, schema, 0, "");
    contract.validate(pointer, &value).is_ok().then_some(value)
}

/// `name` is the property the value is for (empty at the top): a plain string is
/// made from it.
fn instance(contract: &Contract, schema: &Value, depth: usize, name: &str) -> Value {
    let Some(schema) = contract.resolve(schema) else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    for given in ["const", "example", "default"] {
        if let Some(value) = schema.get(given) {
            return value.clone();
        }
    }
    for listed in ["examples", "enum"] {
        if let Some(value) = schema
            .get(listed)
            .and_then(Value::as_array)
            .and_then(|values| values.iter().find(|v| !v.is_null()))
        {
            return value.clone();
        }
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        return instance(
            contract,
            &merge_all(contract, schema, parts, 0),
            depth + 1,
            name,
        );
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(combinator)
            .and_then(Value::as_array)
            .and_then(|b| b.first())
        {
            let branch = contract.resolve(first).cloned().unwrap_or(Value::Null);
            return instance(
                contract,
                &merge(&without(schema, combinator), &branch),
                depth + 1,
                name,
            );
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("items").is_some() => "array",
        _ => "string",
    };
    match kind {
        "null" => Value::Null,
        "boolean" => Value::Bool(!says_there_is_more(name)),
        "integer" | "number" => number(schema, kind == "integer"),
        "array" => {
            let (min, _) = size_range(schema, "minItems", "maxItems", 0);
            let wanted = match schema.get("maxItems").and_then(Value::as_u64) {
                Some(0) => 0,
                _ => min.max(1),
            };
            let items = schema.get("items").cloned().unwrap_or(Value::Bool(true));
            let item = instance(contract, &items, depth + 1, name);
            Value::Array(vec![item; wanted])
        }
        "object" => object(contract, schema, depth),
        _ => string(schema, name),
    }
}

/// Whether a flag of this name says a list goes on (`has_more`, `hasNextPage`): false
/// in a sample, so that a client that pages until it is told to stop stops after one
/// page of the baseline, where `true` made it ask for the same page for ever.
fn says_there_is_more(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    name == "more" || name.starts_with("hasmore") || name.starts_with("hasnext")
}

fn object(contract: &Contract, schema: &Value, depth: usize) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            let resolved = contract.resolve(property).unwrap_or(property);
            let write_only = resolved.get("writeOnly") == Some(&Value::Bool(true));
            let wanted =
                required.contains(&name.as_str()) || (depth < ALL_PROPERTIES_DEPTH && !write_only);
            if wanted {
                out.insert(name.clone(), instance(contract, property, depth + 1, name));
            }
        }
    }
    Value::Object(out)
}

fn number(schema: &Value, integer: bool) -> Value {
    let get = |key| schema.get(key).and_then(Value::as_f64);
    let step = get("multipleOf").filter(|m| *m > 0.0).unwrap_or(1.0);
    let low = match (get("minimum"), get("exclusiveMinimum")) {
        (_, Some(e)) => e + step,
        (Some(m), None) => m,
        (None, None) => step.max(1.0),
    };
    let low = (low / step).ceil() * step;
    let high = match (get("maximum"), get("exclusiveMaximum")) {
        (_, Some(e)) => Some(e - step),
        (Some(m), None) => Some(m),
        (None, None) => None,
    };
    let value = match high {
        Some(high) if low > high => high,
        _ => low,
    };
    match integer {
        true => Value::from(value as i64),
        false => Number::from_f64(value).map_or(Value::Null, Value::Number),
    }
}

fn string(schema: &Value, name: &str) -> Value {
    if let Some(sample) = schema
        .get("format")
        .and_then(Value::as_str)
        .and_then(format_samples)
        .and_then(|samples| samples.first().copied())
    {
        return Value::String(sample.to_owned());
    }
    if let Some(pattern) = schema.get("pattern") {
        // A plain value the pattern matches whole (PayPal patterns its dates and e-mail
        // addresses rather than giving a `format`), else one drawn from it.
        let mut bounds = Map::new();
        bounds.insert("type".into(), "string".into());
        // Matched whole: `[0-9]{2}` is found in a date too.
        let whole = format!("^(?:{})$", pattern.as_str().unwrap_or_default());
        bounds.insert("pattern".into(), whole.into());
        for key in ["minLength", "maxLength"] {
            if let Some(n) = schema.get(key) {
                bounds.insert(key.into(), n.clone());
            }
        }
        if let Ok(validator) = jsonschema::validator_for(&Value::Object(bounds)) {
            let plain = ["date-time", "date", "email", "uri", "uuid"]
                .into_iter()
                .filter_map(format_samples)
                .flatten()
                .chain(PLAIN);
            if let Some(text) = plain.map(Value::from).find(|v| validator.is_valid(v)) {
                return text;
            }
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        if let Ok(tree) = strings(schema).new_tree(&mut runner) {
            return tree.current();
        }
    }
    // Made from the property's name, letters and digits only (it may end up in a
    // path): `id1`, `clientsecret1`. One value for every string would make a secret
    // field's value (Stripe's `client_secret`) every string's, and redact them all.
    let plain: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .chain(std::iter::once('1'))
        .collect();
    let plain = if plain.len() > 1 {
        plain
    } else {
        "string".to_owned()
    };
    let (min, max) = size_range(schema, "minLength", "maxLength", plain.len());
    let len = max.min(min.max(plain.len()));
    Value::String(plain.chars().cycle().take(len).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        Contract::from_str(
            r#"
openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    order:
      type: object
      required: [id]
      allOf:
        - properties:
            created: {type: string, pattern: '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'}
        - properties:
            id: {type: string, pattern: '^[A-Z0-9]{17}$'}
            status: {type: string, enum: [CREATED, COMPLETED]}
            amount: {type: integer, minimum: 50, multipleOf: 25}
            rate: {type: number, exclusiveMaximum: 1, minimum: 0}
            email: {type: string, format: email}
            secret: {type: string, writeOnly: true}
            items: {type: array, minItems: 2, items: {type: string, example: widget}}
            last4: {type: string, pattern: '[0-9]{4}'}
            note: {type: [string, "null"], maxLength: 3}
            livemode: {type: boolean}
            has_more: {type: boolean}
            hasNextPage: {type: boolean}
"#,
            "sample.yaml",
        )
        .unwrap()
    }

    #[test]
    fn a_sample_reads_like_documentation_and_conforms() {
        let contract = contract();
        let order = sample(&contract, "/components/schemas/order").unwrap();
        assert_eq!(order["created"], "2026-11-26T07:28:00Z", "{order}");
        assert_eq!(order["status"], "CREATED");
        assert_eq!(order["amount"], 50);
        assert_eq!(order["email"], "ada@example.com");
        assert_eq!(order["items"], serde_json::json!(["widget", "widget"]));
        // A whole match is preferred to a plain value the pattern is found in.
        assert_eq!(order["last4"].as_str().map(str::len), Some(4), "{order}");
        assert_eq!(order["note"], "not", "made from its name, within maxLength");
        // A list says it ends, so a client that pages until told to stop stops.
        assert_eq!(
            (
                &order["livemode"],
                &order["has_more"],
                &order["hasNextPage"]
            ),
            (&Value::Bool(true), &Value::Bool(false), &Value::Bool(false))
        );
        assert!(
            order["id"].as_str().is_some_and(|id| id.len() == 17),
            "{order}"
        );
        assert!(
            order.get("secret").is_none(),
            "a writeOnly property is never answered"
        );
        assert!(order["rate"]
            .as_f64()
            .is_some_and(|r| (0.0..1.0).contains(&r)));
        // The same on every run.
        assert_eq!(Some(order), sample(&contract, "/components/schemas/order"));
    }
}
