//! What conforms to a contract's schema, and what breaks it at which clause.
//!
//! Conforming values are generated from the schema (proptest strategies, no I/O).
//! Breaking changes are found by trying every change the harness knows at every path
//! of a conforming value and keeping those the validator rejects *at that path*, each
//! tagged with the keyword it breaks: correct by construction, whatever the schema.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

use crate::contract::Contract;
use crate::scenario::json_path;
use crate::scenario::response::Response;
use crate::scenario::{JsonChange, Mutation};

/// Objects and arrays nest at most this deep in generated values; past it, optional
/// properties are left out and arrays are empty, so recursive schemas end.
const MAX_DEPTH: usize = 5;
/// Below this depth, an `anyOf` or `oneOf` builds one branch, not all of them.
const ALL_BRANCHES_DEPTH: usize = 2;

/// A change that makes a conforming value break one clause of its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaking {
    /// Where: `data[0].amount`.
    pub path: String,
    /// What is done to the value there.
    pub change: JsonChange,
    /// The clause broken, `path: keyword` (`data[0].amount: minimum`).
    pub clause: String,
    /// The keyword alone: `required`, `type`, `minimum`, `format`, `enum`, `nesting`...
    pub keyword: String,
}

impl Breaking {
    /// The mutation that applies it to a response body.
    pub fn mutation(&self) -> Mutation {
        Mutation::Json {
            path: self.path.clone(),
            change: self.change.clone(),
        }
    }
}

/// Values that conform to the schema at `pointer`: optional properties present or
/// absent, extra properties where the schema allows them, boundary numbers, every
/// enum value, valid formats. Responses leave `writeOnly` properties out.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use badgateway::{conformance, Contract};
/// let schema = serde_json::json!({"type": "object", "required": ["id"], "properties": {
///     "id": {"type": "string", "pattern": "^ch_[a-z0-9]{4,8}$"},
///     "status": {"enum": ["succeeded", "pending"]}}});
/// let contract = Contract::from_json_schema(schema, vec![], "GET", "/c").unwrap();
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// for _ in 0..20 {
///     let value = conformance::conforming(&contract, "/schema").new_tree(&mut runner).unwrap().current();
///     assert!(contract.validate("/schema", &value).is_ok(), "{value}");
/// }
/// ```
pub fn conforming(contract: &Contract, pointer: &str) -> BoxedStrategy<Value> {
    conforming_strategy(contract, pointer)
}

/// Up to `n` distinct values that conform to the schema at `pointer`, from a fixed
/// seed: the same values on every run.
pub(crate) fn conforming_values(contract: &Contract, pointer: &str, n: usize) -> Vec<Value> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = conforming(contract, pointer);
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..16 * n {
        if out.len() >= n {
            break;
        }
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            break;
        };
        let value = tree.current();
        if contract.validate(pointer, &value).is_ok() && !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

fn conforming_strategy(contract: &Contract, pointer: &str) -> BoxedStrategy<Value> {
    match contract.schema(pointer) {
        Some(schema) => instances(contract, schema, 0),
        None => Just(Value::Null).boxed(),
    }
}

fn instances(contract: &Contract, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
    let Some(schema) = contract.resolve(schema) else {
        return Just(Value::Null).boxed();
    };
    if depth > MAX_DEPTH + 8 {
        // Only a schema that requires itself gets here; it has no finite instance.
        return Just(Value::Null).boxed();
    }
    if let Some(value) = schema.get("const") {
        return Just(value.clone()).boxed();
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        if !values.is_empty() {
            return select(values.clone()).boxed();
        }
    }
    // Combinators count as a level of depth: a schema that cycles through `allOf`,
    // `anyOf` or `oneOf` ends at the depth bound instead of overflowing the stack.
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        let merged = merge_all(contract, schema, parts, 0);
        return instances(contract, &merged, depth + 1);
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = schema.get(combinator) {
            let rest = without(schema, combinator);
            // Below the first levels, one branch is built, the plainest: Stripe's
            // expandable fields (`anyOf: [string, object]` on every level) made building
            // every branch of every level cost seconds, for values nobody looks at.
            let branches: Vec<&Value> = if depth >= ALL_BRANCHES_DEPTH {
                let plain = branches.iter().find(|b| {
                    let b = contract.resolve(b).unwrap_or(b);
                    b.get("properties").is_none()
                        && !matches!(
                            b.get("type").and_then(Value::as_str),
                            Some("object" | "array")
                        )
                        && b.get("anyOf")
                            .or(b.get("oneOf"))
                            .or(b.get("allOf"))
                            .is_none()
                });
                plain.or(branches.first()).into_iter().collect()
            } else {
                branches.iter().collect()
            };
            let options: Vec<BoxedStrategy<Value>> = branches
                .into_iter()
                .map(|branch| {
                    let branch = contract.resolve(branch).cloned().unwrap_or(Value::Null);
                    instances(contract, &merge(&rest, &branch), depth + 1)
                })
                .collect();
            if !options.is_empty() {
                return proptest::strategy::Union::new(options).boxed();
            }
        }
    }
    match schema.get("type") {
        Some(Value::Array(types)) => {
            let options: Vec<BoxedStrategy<Value>> = types
                .iter()
                .filter_map(Value::as_str)
                .map(|t| typed(contract, schema, t, depth))
                .collect();
            if options.is_empty() {
                Just(Value::Null).boxed()
            } else {
                proptest::strategy::Union::new(options).boxed()
            }
        }
        Some(Value::String(t)) => typed(contract, schema, t, depth),
        _ if schema.get("properties").is_some() => typed(contract, schema, "object", depth),
        _ if schema.get("items").is_some() => typed(contract, schema, "array", depth),
        _ => typed(contract, schema, "string", depth),
    }
}

fn typed(contract: &Contract, schema: &Value, kind: &str, depth: usize) -> BoxedStrategy<Value> {
    match kind {
        "null" => Just(Value::Null).boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "integer" => integers(schema).prop_map(Value::from).boxed(),
        "number" => numbers(schema),
        "string" => strings(schema),
        "array" => arrays(contract, schema, depth),
        "object" => objects(contract, schema, depth),
        _ => Just(Value::Null).boxed(),
    }
}

fn bound(schema: &Value, inclusive: &str, exclusive: &str) -> Option<(f64, bool)> {
    match (
        schema.get(exclusive).and_then(Value::as_f64),
        schema.get(inclusive).and_then(Value::as_f64),
    ) {
        (Some(e), _) => Some((e, true)),
        (None, Some(i)) => Some((i, false)),
        _ => None,
    }
}

fn integers(schema: &Value) -> impl Strategy<Value = i64> {
    let low = bound(schema, "minimum", "exclusiveMinimum").map_or(-1_000, |(v, excl)| {
        if excl {
            v.floor() as i64 + 1
        } else {
            v.ceil() as i64
        }
    });
    let high =
        bound(schema, "maximum", "exclusiveMaximum").map_or(low.max(0) + 1_000_000, |(v, excl)| {
            if excl {
                v.ceil() as i64 - 1
            } else {
                v.floor() as i64
            }
        });
    let high = high.max(low);
    let step = schema
        .get("multipleOf")
        .and_then(Value::as_i64)
        .filter(|m| *m > 0)
        .unwrap_or(1);
    let first = low.div_euclid(step) * step + if low.rem_euclid(step) == 0 { 0 } else { step };
    let count = if first > high {
        0
    } else {
        (high - first) / step
    };
    prop_oneof![
        1 => Just(first),
        1 => Just(first + count * step),
        3 => (0..=count).prop_map(move |k| first + k * step),
    ]
}

fn numbers(schema: &Value) -> BoxedStrategy<Value> {
    let (low, low_excl) = bound(schema, "minimum", "exclusiveMinimum").unwrap_or((-1_000.0, false));
    let (high, high_excl) =
        bound(schema, "maximum", "exclusiveMaximum").unwrap_or((low.max(0.0) + 1_000_000.0, false));
    let (low, high) = (
        if low_excl { low + 0.5 } else { low },
        if high_excl { high - 0.5 } else { high },
    );
    let high = high.max(low);
    prop_oneof![Just(low), Just(high), low..=high]
        .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
        .boxed()
}

pub(super) fn strings(schema: &Value) -> BoxedStrategy<Value> {
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        if let Some(samples) = format_samples(format) {
            return select(samples)
                .prop_map(|s| Value::String(s.to_owned()))
                .boxed();
        }
    }
    let (min, max) = size_range(schema, "minLength", "maxLength", 16);
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let bare = ecma_dots(pattern.trim_start_matches('^').trim_end_matches('$'));
        if bounded_pattern(&bare) {
            if let Ok(strategy) = proptest::string::string_regex(&bare) {
                // A pattern says nothing of `minLength`/`maxLength` (PayPal's e-mail
                // pattern made addresses past its 254 characters): matches outside the
                // length bounds are drawn again. Bounds are counted in characters, as
                // JSON Schema counts them.
                let has_bounds =
                    schema.get("minLength").is_some() || schema.get("maxLength").is_some();
                let max = if schema.get("maxLength").is_some() {
                    max
                } else {
                    usize::MAX
                };
                return strategy
                    .prop_filter("a match within the schema's length bounds", move |s| {
                        let n = s.chars().count();
                        !has_bounds || (min..=max).contains(&n)
                    })
                    .prop_map(Value::String)
                    .boxed();
            }
        }
    }
    proptest::string::string_regex(&format!("[a-zA-Z0-9_]{{{min},{}}}", max.min(min + 24)))
        .expect("a character class with a repeat is a valid regex")
        .prop_map(Value::String)
        .boxed()
}

/// The pattern with each `.` outside a class as JSON Schema's (ECMA-262) means it: any
/// character but a line terminator. Rust's regex lets `.` match `\r`, `\u{2028}` and
/// `\u{2029}`, which PayPal's `^.*$` then rejected.
///
/// ```text
/// a.b[.]\.  ->  a[^\n\r\u{2028}\u{2029}]b[.]\.
/// ```
fn ecma_dots(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut escaped, mut in_class) = (false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '.' if !in_class => {
                out.push_str("[^\\n\\r\\u{2028}\\u{2029}]");
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The longest string a pattern may force generation to build.
const MAX_PATTERN_LEN: usize = 4096;

/// Whether strings for a pattern can be generated in bounded memory: it parses, and
/// its matches need not be longer than [`MAX_PATTERN_LEN`] (`((a{1000}){1000}){1000}`
/// would need a gigabyte). Where not, plain strings are generated; they break the
/// pattern, so they are dropped before use rather than served as conforming.
fn bounded_pattern(pattern: &str) -> bool {
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return false;
    };
    let properties = hir.properties();
    properties
        .minimum_len()
        .is_some_and(|n| n <= MAX_PATTERN_LEN)
        && properties
            .maximum_len()
            .is_none_or(|n| n <= MAX_PATTERN_LEN)
}

/// A schema's size bounds (`minLength`/`maxLength`, `minItems`/`maxItems`): the
/// minimum, and the maximum, or `slack` above the minimum when there is none.
pub(super) fn size_range(
    schema: &Value,
    min_key: &str,
    max_key: &str,
    slack: usize,
) -> (usize, usize) {
    let bound = |key: &str| schema.get(key).and_then(Value::as_u64).map(|n| n as usize);
    let min = bound(min_key).unwrap_or(0);
    (min, bound(max_key).unwrap_or(min + slack).max(min))
}

/// Valid samples for the formats providers use.
pub(super) fn format_samples(format: &str) -> Option<Vec<&'static str>> {
    Some(match format {
        "date-time" => vec![
            "2026-11-26T07:28:00Z",
            "2026-02-28T23:59:59.123+01:00",
            "1970-01-01T00:00:00Z",
        ],
        "date" => vec!["2026-11-26", "2024-02-29", "1970-01-01"],
        "uuid" => vec![
            "3f2a9c1e-5b7d-4a10-9c3e-8d2f6b1a0e47",
            "00000000-0000-0000-0000-000000000000",
        ],
        "uri" => vec![
            "https://paygate.example/v1/charges/ch_1",
            "https://example.com/",
        ],
        "email" => vec!["ada@example.com", "billing+eu@shop.example"],
        _ => return None,
    })
}

fn arrays(contract: &Contract, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
    let (min, max) = size_range(schema, "minItems", "maxItems", 3);
    let max = if depth >= MAX_DEPTH {
        min
    } else {
        max.min(min + 3)
    };
    let items = schema.get("items").cloned().unwrap_or(Value::Bool(true));
    let item = instances(contract, &items, depth + 1);
    proptest::collection::vec(item, min..=max)
        .prop_map(Value::Array)
        .boxed()
}

fn objects(contract: &Contract, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            let resolved = contract.resolve(property).unwrap_or(property);
            if resolved.get("writeOnly") == Some(&Value::Bool(true))
                && !required.contains(&name.as_str())
            {
                continue;
            }
            let name = name.clone();
            let value = instances(contract, property, depth + 1);
            if required.contains(&name.as_str()) {
                fields.push(value.prop_map(move |v| Some((name.clone(), v))).boxed());
            } else if depth < MAX_DEPTH {
                fields.push(
                    proptest::option::weighted(0.7, value.prop_map(move |v| (name.clone(), v)))
                        .boxed(),
                );
            }
        }
    }
    // New properties where the schema allows them: the additive change providers
    // call non-breaking.
    let extra = match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        Some(extra @ Value::Object(_)) => Some(instances(contract, extra, depth + 1)),
        _ => Some(Just(Value::String("added by the provider".into())).boxed()),
    };
    if let (Some(extra), true) = (extra, depth < MAX_DEPTH) {
        let key = if schema.get("properties").is_some() {
            "x_badgateway_new_field"
        } else {
            "key_1"
        };
        fields.push(
            proptest::option::weighted(0.3, extra.prop_map(move |v| (key.to_owned(), v))).boxed(),
        );
    }
    fields
        .prop_map(|fields| {
            Value::Object(fields.into_iter().flatten().collect::<Map<String, Value>>())
        })
        .boxed()
}

/// The schema without one keyword.
pub(super) fn without(schema: &Value, keyword: &str) -> Value {
    let mut map = schema.as_object().cloned().unwrap_or_default();
    map.remove(keyword);
    Value::Object(map)
}

/// Two schemas as one: properties and required united, other keywords from `a` first.
pub(super) fn merge(a: &Value, b: &Value) -> Value {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return b.clone();
    };
    let mut out = a.clone();
    for (key, value) in b {
        match (key.as_str(), out.get_mut(key)) {
            ("properties", Some(Value::Object(mine))) => {
                if let Value::Object(theirs) = value {
                    for (k, v) in theirs {
                        mine.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            ("required", Some(Value::Array(mine))) => {
                if let Value::Array(theirs) = value {
                    for v in theirs {
                        if !mine.contains(v) {
                            mine.push(v.clone());
                        }
                    }
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// `allOf` parts nested deeper than this are merged no further (a cycle of `allOf`s
/// has no end).
const MAX_MERGE_DEPTH: usize = 16;

pub(super) fn merge_all(
    contract: &Contract,
    schema: &Value,
    parts: &[Value],
    depth: usize,
) -> Value {
    parts.iter().fold(without(schema, "allOf"), |acc, part| {
        let part = contract.resolve(part).cloned().unwrap_or(Value::Null);
        let part = match part.get("allOf") {
            Some(Value::Array(inner)) if depth < MAX_MERGE_DEPTH => {
                merge_all(contract, &part, inner, depth + 1)
            }
            _ => part,
        };
        merge(&acc, &part)
    })
}

/// Every single change that makes `instance` (which must conform to the schema at
/// `pointer`) break exactly at the changed path, each tagged with the clause.
/// Paths the contract ignores are left out; with the contract's enums-may-grow
/// policy, an unknown enum value is not breaking and is left out too.
///
/// ```
/// use badgateway::{conformance, Contract, JsonChange};
/// let schema = serde_json::json!({"type": "object", "required": ["amount"], "properties": {
///     "amount": {"type": "integer", "minimum": 1}}});
/// let contract = Contract::from_json_schema(schema, vec![], "GET", "/c").unwrap();
/// let breaking = conformance::breaking(&contract, "/schema", &serde_json::json!({"amount": 5}));
/// let clauses: Vec<&str> = breaking.iter().map(|b| b.clause.as_str()).collect();
/// assert!(clauses.contains(&"amount: required"));
/// assert!(clauses.contains(&"amount: minimum"));
/// assert!(clauses.contains(&"amount: type"));
/// ```
pub fn breaking(contract: &Contract, pointer: &str, instance: &Value) -> Vec<Breaking> {
    let mut out: Vec<Breaking> = Vec::new();
    for path in json_path::paths(instance, 256) {
        if path.is_empty() || contract.is_ignored(&path) {
            continue;
        }
        let Some(value) = json_path::parse(&path).and_then(|s| json_path::get(instance, &s)) else {
            continue;
        };
        let is_key = !path.ends_with(']');
        for change in candidate_changes(value, is_key) {
            let found = breaks_at(contract, pointer, instance, &path, &change);
            // Where enums may grow, any other string in an enum is a new value.
            let additive = |b: &Breaking| {
                b.keyword == "enum" && contract.enums_may_grow() && yields_string(&b.change)
            };
            if let Some(found) = found.filter(|b| !additive(b)) {
                if !out.iter().any(|b| b.clause == found.clause) || found.keyword == "required" {
                    out.push(found);
                }
            }
        }
    }
    if !contract.is_ignored("") {
        out.push(Breaking {
            path: String::new(),
            change: JsonChange::DeepNesting { depth: 200 },
            clause: "(root): nesting".into(),
            keyword: "nesting".into(),
        });
    }
    out.dedup_by(|a, b| a.path == b.path && a.change == b.change);
    out
}

/// The paths of `instance` the client does not depend on: ignored by path, or whose
/// value a change of type shows to be described by an ignored schema.
///
/// ```
/// use badgateway::{conformance, Contract};
/// let schema = serde_json::json!({"$defs": {"Card": {"type": "object", "properties": {"last4": {"type": "string"}}}},
///     "type": "object", "properties": {"card": {"$ref": "#/$defs/Card"}, "amount": {"type": "integer"}}});
/// let contract = Contract::from_json_schema(schema, vec![], "GET", "/c").unwrap().ignoring_schema("Card");
/// let body = serde_json::json!({"card": {"last4": "4242"}, "amount": 5});
/// assert_eq!(conformance::ignored_paths(&contract, "/schema", &body), ["card", "card.last4"]);
/// ```
pub fn ignored_paths(contract: &Contract, pointer: &str, instance: &Value) -> Vec<String> {
    json_path::paths(instance, 256)
        .into_iter()
        .filter(|path| !path.is_empty())
        .filter(|path| {
            if contract.is_ignored(path) {
                return true;
            }
            let mut response = Response::json(200, instance);
            Mutation::Json {
                path: path.clone(),
                change: JsonChange::ChangeType,
            }
            .apply(&mut response);
            let Ok(changed) = serde_json::from_slice::<Value>(&response.body) else {
                return false;
            };
            let here = json_path::parse(path).map(|s| pointer_of(&s));
            match contract.validate(pointer, &changed) {
                Ok(()) => false,
                Err(violations) => {
                    let at_path: Vec<_> = violations
                        .iter()
                        .filter(|v| Some(&v.instance_path) == here.as_ref())
                        .collect();
                    !at_path.is_empty() && at_path.iter().all(|v| contract.ignores(v))
                }
            }
        })
        .collect()
}

fn yields_string(change: &JsonChange) -> bool {
    match change {
        JsonChange::UnknownEnumValue
        | JsonChange::LongString { .. }
        | JsonChange::UnicodeString
        | JsonChange::ControlCharString => true,
        JsonChange::ReplaceWith { json } => json.starts_with('"'),
        _ => false,
    }
}

/// The changes worth trying on a value of this kind.
fn candidate_changes(value: &Value, is_key: bool) -> Vec<JsonChange> {
    let mut changes = vec![JsonChange::Null, JsonChange::ChangeType];
    if is_key {
        changes.insert(0, JsonChange::Remove);
    }
    match value {
        Value::Number(n) => {
            changes.extend([
                JsonChange::NumberAsString,
                JsonChange::FractionalNumber,
                JsonChange::NegativeNumber,
                JsonChange::BeyondFloatPrecision,
            ]);
            if let Some(f) = n.as_f64() {
                changes.push(JsonChange::ReplaceWith {
                    json: format!("{}", (f - 1e9).floor()),
                });
                changes.push(JsonChange::ReplaceWith {
                    json: format!("{}", (f + 1e12).floor()),
                });
            }
        }
        Value::String(_) => changes.extend([
            JsonChange::UnknownEnumValue,
            JsonChange::ReplaceWith {
                json: "\"not a valid 2026-13-45 value\"".into(),
            },
            JsonChange::ReplaceWith {
                json: "\"\"".into(),
            },
            JsonChange::LongString { len: 300 },
        ]),
        Value::Object(_) => changes.push(JsonChange::EmptyArray),
        Value::Array(_) => changes.push(JsonChange::ReplaceWith { json: "[]".into() }),
        _ => {}
    }
    changes
}

/// The breaking change, if applying `change` at `path` makes the validator reject
/// the value at that path (or, for a removal, the parent's `required`).
fn breaks_at(
    contract: &Contract,
    pointer: &str,
    instance: &Value,
    path: &str,
    change: &JsonChange,
) -> Option<Breaking> {
    let mut response = Response::json(200, instance);
    Mutation::Json {
        path: path.to_owned(),
        change: change.clone(),
    }
    .apply(&mut response);
    let changed: Value = serde_json::from_slice(&response.body).ok()?;
    let violations = contract.validate(pointer, &changed).err()?;
    let segments = json_path::parse(path)?;
    let at = pointer_of(&segments);
    let parent = pointer_of(&segments[..segments.len() - 1]);
    let keyword = violations.iter().find_map(|v| {
        if contract.ignores(v) {
            return None;
        }
        let here = v.instance_path == at;
        let missing =
            *change == JsonChange::Remove && v.instance_path == parent && v.keyword == "required";
        // Inside a combinator the validator may report the combinator itself.
        let combinator = v.instance_path == at && matches!(v.keyword.as_str(), "anyOf" | "oneOf");
        (here || missing || combinator).then(|| v.keyword.clone())
    })?;
    Some(Breaking {
        path: path.to_owned(),
        change: change.clone(),
        clause: format!("{path}: {keyword}"),
        keyword,
    })
}

fn pointer_of(segments: &[json_path::Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            json_path::Segment::Key(k) => format!("/{}", json_path::pointer_token(k)),
            json_path::Segment::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// The values the schema at `pointer` lists in an `enum` for the value at `path`
/// (through `$ref`, `allOf`, `anyOf` and `oneOf`), each once, in the schema's order.
///
/// ```
/// use badgateway::Contract;
/// let contract = Contract::from_str(r##"
/// openapi: 3.1.0
/// info: {title: Ops, version: "1"}
/// paths:
///   /ops:
///     get:
///       responses:
///         "200":
///           description: ok
///           content:
///             application/json:
///               schema:
///                 properties: {data: {type: array, items: {$ref: "#/components/schemas/Op"}}}
/// components:
///   schemas:
///     Op: {allOf: [{properties: {status: {enum: [pending, processing, done]}}}]}
/// "##, "ops.yaml").unwrap();
/// let pointer = contract.operation("GET", "/ops").unwrap().response_schema(200).unwrap().to_owned();
/// let values = badgateway::conformance::enum_values(&contract, &pointer, "data[0].status");
/// assert_eq!(values, ["pending", "processing", "done"]);
/// ```
pub fn enum_values(contract: &Contract, pointer: &str, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let (Some(schema), Some(segments)) = (contract.schema(pointer), json_path::parse(path)) {
        enums_below(contract, schema, &segments, &mut found, 0);
    }
    found
}

fn enums_below(
    contract: &Contract,
    schema: &Value,
    segments: &[json_path::Segment],
    found: &mut Vec<String>,
    depth: usize,
) {
    let Some(schema) = contract.resolve(schema).filter(|_| depth < 64) else {
        return;
    };
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            enums_below(contract, part, segments, found, depth + 1);
        }
    }
    let below = match segments.split_first() {
        None => {
            let values = schema.get("enum").and_then(Value::as_array);
            for value in values.into_iter().flatten().filter_map(Value::as_str) {
                if !found.iter().any(|f| f == value) {
                    found.push(value.to_owned());
                }
            }
            return;
        }
        Some((json_path::Segment::Key(key), rest)) => (
            schema.get("properties").and_then(|p| p.get(key.as_str())),
            rest,
        ),
        Some((json_path::Segment::Index(_), rest)) => (schema.get("items"), rest),
    };
    if let (Some(sub), rest) = below {
        enums_below(contract, sub, rest, found, depth + 1);
    }
}

/// Additive changes the contract calls conforming: an unknown enum value where
/// enums may grow. Empty unless the policy is on.
pub fn additive(contract: &Contract, pointer: &str, instance: &Value) -> Vec<Mutation> {
    if !contract.enums_may_grow() {
        return Vec::new();
    }
    json_path::paths(instance, 256)
        .into_iter()
        .filter(|path| {
            let Some(value) = json_path::parse(path).and_then(|s| json_path::get(instance, &s))
            else {
                return false;
            };
            value.is_string()
                && breaks_at(
                    contract,
                    pointer,
                    instance,
                    path,
                    &JsonChange::UnknownEnumValue,
                )
                .is_some_and(|b| b.keyword == "enum")
        })
        .map(|path| Mutation::Json {
            path,
            change: JsonChange::UnknownEnumValue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dots_outside_classes_exclude_line_terminators_as_in_json_schema() {
        assert_eq!(
            super::ecma_dots(r"a.b[.]\.c"),
            r"a[^\n\r\u{2028}\u{2029}]b[.]\.c"
        );
    }
}
