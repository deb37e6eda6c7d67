//! What the provider promises and what the client promises back, from OpenAPI 3.0 / 3.1
//! (JSON or YAML) or a bare JSON Schema.
//!
//! Implementation notes: the document is kept as a `serde_json::Value` and its schemas
//! are validated by the `jsonschema` crate, rather than parsed into a typed OpenAPI
//! model: openapiv3 reads only 3.0, and real published specs are sloppy in places a
//! typed model rejects (`null` where a list is expected, relative OAuth token URLs,
//! invalid example dates) but that never matter to a response schema. OpenAPI 3.0
//! schemas are rewritten to JSON Schema 2020-12 once at load (`nullable`, boolean
//! `exclusiveMinimum`), so validation and generation see one dialect.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};

/// A provider's contract: its operations, their request and response schemas, and
/// policies (may enums grow? which clauses does the client not care about?).
///
/// ```
/// use badgateway::Contract;
/// let contract = Contract::from_str(r##"
/// openapi: 3.0.3
/// info: {title: Paygate, version: "1"}
/// paths:
///   /v1/charges/{id}:
///     get:
///       responses:
///         "200":
///           content:
///             application/json:
///               schema: {$ref: "#/components/schemas/Charge"}
/// components:
///   schemas:
///     Charge:
///       type: object
///       required: [id, amount]
///       properties:
///         id: {type: string}
///         amount: {type: integer, minimum: 1}
///         refunded_at: {type: string, format: date-time, nullable: true}
/// "##, "paygate.yaml").unwrap();
/// let op = contract.operation("GET", "/v1/charges/ch_1?expand=x").unwrap();
/// let schema = op.response_schema(200).unwrap();
/// assert!(contract.validate(schema, &serde_json::json!({"id": "ch_1", "amount": 5, "refunded_at": null})).is_ok());
/// let errors = contract.validate(schema, &serde_json::json!({"id": "ch_1", "amount": 0})).unwrap_err();
/// assert_eq!(errors[0].keyword, "minimum");
/// assert_eq!(errors[0].instance_path, "/amount");
/// ```
#[derive(Debug)]
pub struct Contract {
    source: String,
    dialect: Dialect,
    document: Value,
    operations: Vec<Operation>,
    enums_may_grow: bool,
    ignored: Vec<String>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

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

/// One documented operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper-case method.
    pub method: String,
    /// Path template: `/v1/charges/{id}`.
    pub path: String,
    /// `operationId`, if any.
    pub id: Option<String>,
    /// Pointer to the JSON request body's schema, if any.
    pub request_schema: Option<String>,
    /// Header parameters the client must send (lowercase names).
    pub required_headers: Vec<String>,
    /// Documented responses, in document order.
    pub responses: Vec<ResponseSpec>,
}

/// One documented response of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    /// `200`, `2XX` or `default`.
    pub status: String,
    /// Pointer to the JSON body's schema, if any.
    pub schema: Option<String>,
    /// The examples given for it.
    pub examples: Vec<Value>,
}

/// Why an instance does not satisfy a schema: the clause it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value (`/data/3/amount`).
    pub instance_path: String,
    /// The keyword that failed: `type`, `required`, `minimum`, `enum`, `format`...
    pub keyword: String,
    /// The validator's message.
    pub message: String,
}

impl Operation {
    /// The schema pointer of the JSON body documented for a status: an exact entry,
    /// else its class (`2XX`), else `default`.
    pub fn response_schema(&self, status: u16) -> Option<&str> {
        let class = format!("{}XX", status / 100);
        let exact = status.to_string();
        [exact.as_str(), class.as_str(), "default"]
            .iter()
            .find_map(|key| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(key))
            })
            .and_then(|r| r.schema.as_deref())
    }

    /// Whether a status is documented at all (exactly, by class, or by `default`).
    pub fn documents(&self, status: u16) -> bool {
        let class = format!("{}XX", status / 100);
        self.responses.iter().any(|r| {
            r.status == status.to_string()
                || r.status.eq_ignore_ascii_case(&class)
                || r.status == "default"
        })
    }

    /// The first documented success status and its schema.
    pub fn success(&self) -> Option<(u16, &ResponseSpec)> {
        self.responses.iter().find_map(|r| {
            let code = r
                .status
                .parse::<u16>()
                .ok()
                .or_else(|| r.status.eq_ignore_ascii_case("2XX").then_some(200))?;
            (200..300).contains(&code).then_some((code, r))
        })
    }
}

impl Contract {
    /// Loads an OpenAPI 3.0 or 3.1 document, JSON or YAML (by extension, else by
    /// content).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when unreadable; [`ErrorKind::InvalidFile`] naming the file,
    /// the position or JSON pointer, what is wrong and the fix.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Contract, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot read contract {}: {e}", path.display()),
            )
            .with_path(path)
        })?;
        Contract::from_str(&text, &path.display().to_string()).map_err(|e| e.with_path(path))
    }

    /// Loads an OpenAPI document from text; `source` names it in errors.
    ///
    /// # Errors
    /// As [`Contract::from_file`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, source: &str) -> Result<Contract, Error> {
        let document = parse_document(text, source)?;
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let dialect = match version.as_deref() {
            Some(v) if v.starts_with("3.0") => Dialect::OpenApi30,
            Some(v) if v.starts_with("3.1") => Dialect::OpenApi31,
            Some(v) => return Err(invalid(source, "/openapi", &format!("OpenAPI {v} is not supported: badgateway reads 3.0 and 3.1"))),
            None if document.get("swagger").is_some() => {
                return Err(invalid(source, "/swagger", "Swagger 2.0 is not supported: convert it to OpenAPI 3 (for instance with swagger2openapi)"))
            }
            None => {
                let keys: Vec<&str> = document.as_object().map(|m| m.keys().map(String::as_str).take(6).collect()).unwrap_or_default();
                return Err(invalid(
                    source,
                    "",
                    &format!("not an OpenAPI document: no `openapi` field (top-level keys: {keys:?}); for a bare JSON Schema use Contract::from_json_schema"),
                ));
            }
        };
        let document = if dialect == Dialect::OpenApi30 {
            convert_30(document)
        } else {
            document
        };
        check_refs(&document, source)?;
        let operations = operations(&document);
        let enums_may_grow = document
            .pointer("/info/x-badgateway-enums-may-grow")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Contract {
            source: source.to_owned(),
            dialect,
            document,
            operations,
            enums_may_grow,
            ignored: Vec::new(),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// A contract from a bare JSON Schema of the response body, with example
    /// responses: one operation, `method path`, answering `200` with that schema.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let schema = serde_json::json!({"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}});
    /// let c = Contract::from_json_schema(schema, vec![serde_json::json!({"ok": true})], "GET", "/health").unwrap();
    /// let op = c.operation("GET", "/health").unwrap();
    /// assert!(c.validate(op.response_schema(200).unwrap(), &serde_json::json!({"ok": 1})).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidFile`] when an example does not satisfy the schema.
    pub fn from_json_schema(
        schema: Value,
        examples: Vec<Value>,
        method: &str,
        path: &str,
    ) -> Result<Contract, Error> {
        let document = serde_json::json!({"schema": schema});
        check_refs(&document, "<json schema>")?;
        let contract = Contract {
            source: "<json schema>".into(),
            dialect: Dialect::JsonSchema,
            document,
            operations: vec![Operation {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                id: None,
                request_schema: None,
                required_headers: Vec::new(),
                responses: vec![ResponseSpec {
                    status: "200".into(),
                    schema: Some("/schema".into()),
                    examples,
                }],
            }],
            enums_may_grow: false,
            ignored: Vec::new(),
            validators: Mutex::new(HashMap::new()),
        };
        for (i, example) in contract.operations[0].responses[0]
            .examples
            .iter()
            .enumerate()
        {
            if let Err(violations) = contract.validate("/schema", example) {
                return Err(Error::new(
                    ErrorKind::InvalidFile,
                    format!(
                        "example {i} does not satisfy the schema: {} at {}",
                        violations[0].message, violations[0].instance_path
                    ),
                ));
            }
        }
        Ok(contract)
    }

    /// Whether enum values not in the contract are a conforming change (the provider
    /// documents new values as non-breaking). Read from `info.x-badgateway-enums-may-grow`.
    pub fn enums_may_grow(&self) -> bool {
        self.enums_may_grow
    }

    /// Sets the enum policy.
    pub fn with_enums_may_grow(mut self, yes: bool) -> Self {
        self.enums_may_grow = yes;
        self
    }

    /// Marks clauses the client does not depend on: a breaking change at a path that
    /// starts with one of these (`metadata`, `data[].created`) is neither generated
    /// nor judged.
    pub fn ignoring(mut self, path_prefix: &str) -> Self {
        self.ignored.push(path_prefix.to_owned());
        self
    }

    /// Whether a clause at this path is ignored: the path is an ignored one or inside
    /// it. Array indexes match `[]` too.
    ///
    /// ```
    /// let c = badgateway::Contract::from_json_schema(serde_json::json!({}), vec![], "GET", "/").unwrap()
    ///     .ignoring("metadata").ignoring("data[].created");
    /// assert!(c.is_ignored("metadata.order_id"));
    /// assert!(c.is_ignored("data[7].created"));
    /// assert!(!c.is_ignored("metadata_version"));
    /// assert!(!c.is_ignored("data[7].amount"));
    /// ```
    pub fn is_ignored(&self, path: &str) -> bool {
        let inside = |path: &str, prefix: &str| {
            path.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
        };
        let general = generalized(path);
        self.ignored
            .iter()
            .any(|p| inside(path, p) || inside(&general, p))
    }

    /// Where the contract came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The dialect it was read as.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Every documented operation.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation a request is for: method, and path matched against the templates
    /// (the query is ignored; literal segments win over `{parameters}`).
    pub fn operation(&self, method: &str, target: &str) -> Option<&Operation> {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| {
                let want: Vec<&str> = op.path.trim_matches('/').split('/').collect();
                if want.len() != got.len() {
                    return None;
                }
                let mut literal = 0;
                for (w, g) in want.iter().zip(&got) {
                    if w.starts_with('{') && w.ends_with('}') {
                        continue;
                    }
                    if w != g {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, op))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, op)| op)
    }

    /// The schema at a pointer, following `$ref`s.
    pub fn schema(&self, pointer: &str) -> Option<&Value> {
        self.resolve(self.document.pointer(pointer)?)
    }

    /// Follows `$ref` chains (within the document) from a schema.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> Option<&'a Value> {
        for _ in 0..64 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) if r.starts_with('#') => schema = self.document.pointer(&r[1..])?,
                _ => return Some(schema),
            }
        }
        None
    }

    /// Validates an instance against the schema at a pointer, formats included.
    ///
    /// # Errors
    /// Every clause the instance breaks.
    pub fn validate(&self, pointer: &str, instance: &Value) -> Result<(), Vec<Violation>> {
        let validator = self.validator(pointer).map_err(|message| {
            vec![Violation {
                instance_path: String::new(),
                keyword: "schema".into(),
                message,
            }]
        })?;
        let violations: Vec<Violation> = validator
            .iter_errors(instance)
            .map(|e| Violation {
                instance_path: e.instance_path().as_str().to_owned(),
                keyword: e.kind().keyword().to_owned(),
                message: e.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return Ok(v.clone());
        }
        // The document is the root resource, so `#/components/...` refs resolve in it;
        // its non-schema keys are unknown keywords, which 2020-12 ignores.
        let mut root = match &self.document {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        root.retain(|k, _| k != "$schema" && k != "$id" && k != "id");
        root.insert(
            "$ref".into(),
            Value::String(format!("#{}", fragment(pointer))),
        );
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| {
                format!(
                    "schema at {pointer} in {} cannot be compiled: {e}",
                    self.source
                )
            })?;
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// A JSON pointer as a URI fragment: `{id}` in a path template must be percent-encoded.
fn fragment(pointer: &str) -> String {
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

/// `data[3].amount` as `data[].amount`.
pub(crate) fn generalized(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            c if in_index && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}

fn invalid(source: &str, pointer: &str, what: &str) -> Error {
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

fn parse_document(text: &str, source: &str) -> Result<Value, Error> {
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
fn check_refs(document: &Value, source: &str) -> Result<(), Error> {
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
fn convert_30(value: Value) -> Value {
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

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn operations(document: &Value) -> Vec<Operation> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let mut out = Vec::new();
    for (path, item) in paths {
        let shared_params = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let base = format!("/paths/{}/{method}", escape(path));
            let mut params = shared_params.clone();
            params.extend(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            let required_headers = params
                .iter()
                .filter_map(|p| resolve_in(document, p))
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("header"))
                .filter(|p| p.get("required").and_then(Value::as_bool) == Some(true))
                .filter_map(|p| {
                    p.get("name")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase)
                })
                .collect();
            let request_schema = op
                .get("requestBody")
                .and_then(|b| resolve_in(document, b))
                .and_then(|b| json_media(b).map(|(media, _)| media))
                .map(|media| {
                    let body_pointer = match op
                        .get("requestBody")
                        .and_then(|b| b.get("$ref"))
                        .and_then(Value::as_str)
                    {
                        Some(r) => r.trim_start_matches('#').to_owned(),
                        None => format!("{base}/requestBody"),
                    };
                    format!("{body_pointer}/content/{}/schema", escape(&media))
                });
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|responses| {
                    responses
                        .iter()
                        .map(|(status, response)| {
                            let response_pointer =
                                match response.get("$ref").and_then(Value::as_str) {
                                    Some(r) => r.trim_start_matches('#').to_owned(),
                                    None => format!("{base}/responses/{}", escape(status)),
                                };
                            let resolved = resolve_in(document, response);
                            let media = resolved.and_then(json_media);
                            let schema = media
                                .as_ref()
                                .filter(|(_, m)| m.get("schema").is_some())
                                .map(|(name, _)| {
                                    format!("{response_pointer}/content/{}/schema", escape(name))
                                });
                            let examples = media.map(|(_, m)| examples_of(m)).unwrap_or_default();
                            ResponseSpec {
                                status: status.clone(),
                                schema,
                                examples,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                request_schema,
                required_headers,
                responses,
            });
        }
    }
    out
}

fn resolve_in<'a>(document: &'a Value, mut value: &'a Value) -> Option<&'a Value> {
    for _ in 0..64 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => value = document.pointer(r.strip_prefix('#')?)?,
            None => return Some(value),
        }
    }
    None
}

/// The JSON media type entry of a `content` map: `application/json`, or any `+json`.
fn json_media(holder: &Value) -> Option<(String, &Value)> {
    let content = holder.get("content")?.as_object()?;
    content
        .iter()
        .find(|(name, _)| name.starts_with("application/json"))
        .or_else(|| content.iter().find(|(name, _)| name.contains("json")))
        .map(|(name, media)| (name.clone(), media))
}

fn examples_of(media: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = media.get("example").cloned().into_iter().collect();
    if let Some(examples) = media.get("examples").and_then(Value::as_object) {
        out.extend(examples.values().filter_map(|e| e.get("value").cloned()));
    }
    out
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

    #[test]
    fn array_indexes_generalize() {
        assert_eq!(generalized("data[3].items[12].x"), "data[].items[].x");
    }
}
