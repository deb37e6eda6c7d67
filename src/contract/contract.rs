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
use crate::scenario::template_match;

use super::document::{
    check_refs, convert_30, fragment, invalid, parse_document, rebased_refs, Dialect,
};
use super::operation::{operations, Operation, ResponseSpec};
use super::servers::Servers;
use super::violation::{generalized, Violation};

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
    ignored_schemas: Vec<String>,
    /// Operations the code calls that the contract does not cover: (method, path
    /// template).
    outside: Vec<(String, String)>,
    servers: Servers,
    validators: Mutex<Validators>,
    /// The document as a JSON Schema resource, held once for every validator.
    registry: jsonschema::Registry<'static>,
}

/// The URI the contract's document has in its registry.
const DOCUMENT_URI: &str = "urn:badgateway:contract";

/// A registry holding the document as the one resource every validator refers into.
/// Its non-schema keys are unknown keywords, which 2020-12 ignores; `$schema` and `$id`
/// are dropped so that the document's URI stays the registry's.
fn registry_of(document: &Value, source: &str) -> Result<jsonschema::Registry<'static>, Error> {
    let mut root = match document {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    root.retain(|k, _| k != "$schema" && k != "$id" && k != "id");
    let resource = jsonschema::Draft::Draft202012.create_resource(Value::Object(root));
    jsonschema::Registry::new()
        .add(DOCUMENT_URI, resource)
        .and_then(|builder| builder.prepare())
        .map_err(|e| invalid(source, "", &format!("its schemas cannot be indexed: {e}")))
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
        let registry = registry_of(&document, source)?;
        let operations = operations(&document);
        let enums_may_grow = document
            .pointer("/info/x-badgateway-enums-may-grow")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Contract {
            source: source.to_owned(),
            dialect,
            servers: Servers::of(&document),
            document,
            operations,
            enums_may_grow,
            ignored: Vec::new(),
            ignored_schemas: Vec::new(),
            outside: Vec::new(),
            validators: Mutex::default(),
            registry,
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
        let document = serde_json::json!({"schema": rebased_refs(schema, "/schema")});
        check_refs(&document, "<json schema>")?;
        let registry = registry_of(&document, "<json schema>")?;
        let contract = Contract {
            source: "<json schema>".into(),
            dialect: Dialect::JsonSchema,
            document,
            operations: vec![Operation {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                id: None,
                request_schema: None,
                request_body_required: false,
                required_headers: Vec::new(),
                responses: vec![ResponseSpec {
                    status: "200".into(),
                    schema: Some("/schema".into()),
                    examples,
                    is_final: None,
                }],
            }],
            enums_may_grow: false,
            ignored: Vec::new(),
            ignored_schemas: Vec::new(),
            outside: Vec::new(),
            servers: Servers::default(),
            validators: Mutex::default(),
            registry,
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

    /// Declares an operation the code calls that this contract does not cover, such
    /// as PayPal's `POST /v1/oauth2/token`, documented in another spec than its orders:
    /// its requests are neither a setup error nor judged by this contract. The
    /// baseline still answers them, and cases still fault them. `path` is a template
    /// (`/v1/tokens/{id}`), matched as the baseline matches one, query left out.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let c = Contract::from_json_schema(serde_json::json!({}), vec![], "GET", "/v1/charges").unwrap()
    ///     .outside("POST", "/v1/oauth2/token");
    /// assert!(c.is_outside("POST", "/v1/oauth2/token?grant_type=client_credentials"));
    /// assert!(!c.is_outside("GET", "/v1/oauth2/token"));
    /// assert!(!c.is_outside("GET", "/v1/charges"));
    /// ```
    pub fn outside(mut self, method: &str, path: &str) -> Self {
        self.outside
            .push((method.to_ascii_uppercase(), path.to_owned()));
        self
    }

    /// Whether a request is to an operation declared [`Contract::outside`] it.
    pub fn is_outside(&self, method: &str, target: &str) -> bool {
        let path = target.split('?').next().unwrap_or(target);
        self.outside.iter().any(|(m, template)| {
            m.eq_ignore_ascii_case(method)
                && crate::scenario::template_match(template, path).is_some()
        })
    }

    /// Marks a named schema the client does not depend on, wherever it is used:
    /// `ignoring_schema("Card")` ignores every clause of `#/components/schemas/Card`
    /// (or `$defs/Card`, `definitions/Card`), at every path that reuses it. Its clauses
    /// are neither generated nor judged, and hostile changes are not aimed at values it
    /// describes.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let schema = serde_json::json!({"$defs": {"Money": {"type": "integer", "minimum": 0}},
    ///     "type": "object", "properties": {"amount": {"$ref": "#/$defs/Money"}, "fee": {"$ref": "#/$defs/Money"}}});
    /// let contract = Contract::from_json_schema(schema, vec![], "GET", "/c").unwrap().ignoring_schema("Money");
    /// let violations = contract.validate("/schema", &serde_json::json!({"amount": -1, "fee": "x"})).unwrap_err();
    /// assert!(violations.iter().all(|v| contract.ignores(v)));
    /// ```
    pub fn ignoring_schema(mut self, name: &str) -> Self {
        self.ignored_schemas.push(name.to_owned());
        self
    }

    /// Whether a violation is one the client does not depend on: at an ignored path
    /// ([`Contract::ignoring`]) or inside an ignored schema ([`Contract::ignoring_schema`]).
    pub fn ignores(&self, violation: &Violation) -> bool {
        let segments: Vec<&str> = violation.schema_location.split('/').collect();
        let in_ignored_schema = segments.windows(2).any(|w| {
            matches!(w[0], "schemas" | "$defs" | "definitions")
                && self.ignored_schemas.iter().any(|n| n == w[1])
        });
        in_ignored_schema || self.is_ignored(&violation.dotted_path())
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
    /// (the query is ignored; literal segments win over `{parameters}`), below any
    /// base path of the contract's `servers` (their variables' values and defaults
    /// honoured) or as it is.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let contract = Contract::from_str(r#"
    /// openapi: 3.1.0
    /// info: {title: Checkout, version: "71"}
    /// servers:
    ///   - url: https://checkout-test.example.com/{version}
    ///     variables: {version: {default: v71, enum: [v70, v71]}}
    /// paths:
    ///   /payments/{id}: {get: {responses: {"200": {description: ok}}}}
    /// "#, "checkout.yaml").unwrap();
    /// assert_eq!(contract.operation("GET", "/v71/payments/p_1").unwrap().path, "/payments/{id}");
    /// assert_eq!(contract.operation("GET", "/payments/p_1").unwrap().path, "/payments/{id}");
    /// assert!(contract.operation("GET", "/v69/payments/p_1").is_none());
    /// assert_eq!(contract.servers(), ["https://checkout-test.example.com/{version}"]);
    /// ```
    pub fn operation(&self, method: &str, target: &str) -> Option<&Operation> {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        self.servers
            .below(path)
            .into_iter()
            .find_map(|path| self.operation_at(method, path))
    }

    /// The route of the operation a request goes to, as the client calls it: the
    /// request's path with the base path it was sent under kept, and each segment the
    /// operation's template names as a parameter written as that parameter. `None`
    /// when no operation matches.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let contract = Contract::from_str(r#"
    /// openapi: 3.0.3
    /// info: {title: Paygate, version: "1"}
    /// servers: [{url: "https://api.example.com/v1"}]
    /// paths:
    ///   /operations/{id}: {get: {operationId: GetOperation, responses: {"200": {description: ok}}}}
    /// "#, "paygate.yaml").unwrap();
    /// let route = contract.route("GET", "/v1/operations/op_1?expand=x").unwrap();
    /// assert_eq!(route.to_string(), "GET /v1/operations/{id}");
    /// assert!(route.matches("GET", "/v1/operations/op_2"));
    /// assert!(contract.route("GET", "/v1/nothing").is_none());
    /// ```
    pub fn route(&self, method: &str, target: &str) -> Option<crate::scenario::Route> {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        let (below, op) = self
            .servers
            .below(path)
            .into_iter()
            .find_map(|below| Some((below, self.operation_at(method, below)?)))?;
        let base = &path[..path.len() - below.len()];
        let segments: Vec<&str> = below.trim_matches('/').split('/').collect();
        let template: Vec<&str> = op.path.trim_matches('/').split('/').collect();
        let written: Vec<&str> = segments
            .iter()
            .zip(&template)
            .map(
                |(got, want)| match want.starts_with('{') && want.ends_with('}') {
                    true => *want,
                    false => *got,
                },
            )
            .collect();
        let base = base.trim_end_matches('/');
        Some(crate::scenario::Route::new(
            method,
            &format!("{base}/{}", written.join("/")),
        ))
    }

    /// The route of the operation with this `operationId`, under the base path of
    /// the contract's first server (a server variable stands for any one segment).
    ///
    /// ```
    /// use badgateway::Contract;
    /// let contract = Contract::from_str(r#"
    /// openapi: 3.0.3
    /// info: {title: Paygate, version: "1"}
    /// servers: [{url: "https://api.example.com/{version}"}]
    /// paths:
    ///   /operations/{id}: {get: {operationId: GetOperation, responses: {"200": {description: ok}}}}
    /// "#, "paygate.yaml").unwrap();
    /// let route = contract.route_of("GetOperation").unwrap();
    /// assert_eq!(route.to_string(), "GET /{version}/operations/{id}");
    /// assert!(route.matches("GET", "/v1/operations/op_1"));
    /// assert!(contract.route_of("Nothing").is_none());
    /// ```
    pub fn route_of(&self, operation_id: &str) -> Option<crate::scenario::Route> {
        let op = self
            .operations
            .iter()
            .find(|op| op.id.as_deref() == Some(operation_id))?;
        let base = self
            .servers
            .urls
            .first()
            .map_or("", |url| super::servers::url_path(url))
            .trim_end_matches('/');
        Some(crate::scenario::Route::new(
            &op.method,
            &format!("{base}/{}", op.path.trim_start_matches('/')),
        ))
    }

    /// The operation whose template matches `path` exactly (no base path).
    fn operation_at(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| Some((template_match(&op.path, path)?, op)))
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, op)| op)
    }

    /// The URLs of the contract's top-level `servers`, as written.
    pub fn servers(&self) -> &[String] {
        &self.servers.urls
    }

    /// Why a request matches no operation, with the nearest one and the servers: for
    /// messages. `None` when it matches one.
    ///
    /// ```
    /// use badgateway::Contract;
    /// let contract = Contract::from_str(r#"
    /// openapi: 3.0.3
    /// info: {title: Paygate, version: "1"}
    /// servers: [{url: "https://api.example.com/v1"}]
    /// paths:
    ///   /charges/{id}: {get: {responses: {"200": {description: ok}}}}
    /// "#, "paygate.yaml").unwrap();
    /// let why = contract.unmatched("GET", "/v1/charge/ch_1").unwrap();
    /// assert!(why.contains("nearest: GET /charges/{id}"), "{why}");
    /// assert!(why.contains("servers: https://api.example.com/v1"), "{why}");
    /// assert_eq!(contract.unmatched("GET", "/v1/charges/ch_1"), None);
    /// ```
    pub fn unmatched(&self, method: &str, target: &str) -> Option<String> {
        if self.operation(method, target).is_some() {
            return None;
        }
        let path = target.split(['?', '#']).next().unwrap_or(target);
        let below = self.servers.below(path);
        let nearest = self.operations.iter().min_by_key(|op| {
            let method_differs = usize::from(!op.method.eq_ignore_ascii_case(method));
            let distance = below
                .iter()
                .map(|p| edit_distance(&op.path, p))
                .min()
                .unwrap_or(usize::MAX);
            (distance + 3 * method_differs, op.path.len())
        });
        let nearest = nearest.map_or_else(
            || "the contract documents no operation".to_owned(),
            |op| format!("nearest: {} {}", op.method, op.path),
        );
        let servers = match self.servers.urls.is_empty() {
            true => "the contract lists no servers".to_owned(),
            false => format!("servers: {}", self.servers.urls.join(", ")),
        };
        Some(format!(
            "{method} {path} matches no operation of {} ({nearest}; {servers})",
            self.source
        ))
    }

    /// The schema at a pointer, following `$ref`s.
    pub fn schema(&self, pointer: &str) -> Option<&Value> {
        self.resolve(self.document.pointer(pointer)?)
    }

    /// The whole document, as loaded.
    pub(crate) fn document(&self) -> &Value {
        &self.document
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
                schema_location: pointer.to_owned(),
            }]
        })?;
        let violations: Vec<Violation> = validator
            .iter_errors(instance)
            .map(|e| Violation {
                instance_path: e.instance_path().as_str().to_owned(),
                keyword: e.kind().keyword().to_owned(),
                message: e.to_string(),
                schema_location: e.schema_path().as_str().to_owned(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        // A schema that is only a `$ref` validates as its target: the operations
        // that answer with one component share its validator (Stripe's 417
        // operations answer with 107 components).
        let pointer = self.referred(pointer);
        let pointer = pointer.as_str();
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return Ok(v);
        }
        // Implementation notes: the document is held once, in the contract's registry;
        // a pointer's validator is a `$ref` into it and compiles only the schemas that
        // pointer reaches. (Compiling each pointer from its own copy of the document
        // cost about 240 MB per operation on a 50 MB spec, never freed.)
        let schema = serde_json::json!({"$ref": format!("{DOCUMENT_URI}#{}", fragment(pointer))});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_registry(&self.registry)
            .build(&schema)
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

    /// The pointer a schema that is only a `$ref` (within the document) refers to,
    /// followed to the end; `pointer` itself otherwise.
    fn referred(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_owned();
        for _ in 0..64 {
            let Some(Value::Object(schema)) = self.document.pointer(&pointer) else {
                break;
            };
            match (schema.len(), schema.get("$ref").and_then(Value::as_str)) {
                (1, Some(target)) if target.starts_with('#') => {
                    pointer = target[1..].to_owned();
                }
                _ => break,
            }
        }
        pointer
    }
}

/// The most compiled validators a contract keeps: each holds the schemas its pointer
/// reaches (about 4 MB under Stripe's spec), so a campaign over every operation of a
/// large spec must not keep them all.
const MOST_VALIDATORS: usize = 48;

/// Compiled validators by pointer, the least recently used evicted past
/// [`MOST_VALIDATORS`]. One in use elsewhere lives on until that use ends.
#[derive(Debug, Default)]
pub(crate) struct Validators {
    by_pointer: HashMap<String, (Arc<jsonschema::Validator>, u64)>,
    clock: u64,
}

impl Validators {
    fn get(&mut self, pointer: &str) -> Option<Arc<jsonschema::Validator>> {
        self.clock += 1;
        let clock = self.clock;
        self.by_pointer.get_mut(pointer).map(|(validator, used)| {
            *used = clock;
            validator.clone()
        })
    }

    fn insert(&mut self, pointer: String, validator: Arc<jsonschema::Validator>) {
        if self.by_pointer.len() >= MOST_VALIDATORS {
            let oldest = self
                .by_pointer
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(pointer, _)| pointer.clone());
            if let Some(oldest) = oldest {
                self.by_pointer.remove(&oldest);
            }
        }
        self.clock += 1;
        self.by_pointer.insert(pointer, (validator, self.clock));
    }

    /// How many are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_pointer.len()
    }
}

/// How many single-character edits turn `a` into `b` (Levenshtein), where a path
/// template's `{parameter}` counts as one character.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let tokens = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            match (c, rest.find('}')) {
                ('{', Some(end)) => {
                    out.push(rest[..=end].to_owned());
                    rest = &rest[end + 1..];
                }
                _ => {
                    out.push(c.to_string());
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        out
    };
    let (a, b) = (tokens(a), tokens(b));
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = previous + usize::from(x != y && !x.starts_with('{'));
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A campaign over every operation of a large spec compiled a validator per schema
    /// and kept them all (1.82 GB under Stripe's): the cache is bounded, and a schema
    /// whose validator was evicted still validates, compiled again.
    #[test]
    fn validators_are_bounded_and_an_evicted_one_validates_again() {
        let schemas: serde_json::Map<String, Value> = (0..MOST_VALIDATORS + 20)
            .map(|i| {
                let schema = serde_json::json!({
                    "type": "object",
                    "required": [format!("field_{i}")],
                    "properties": {format!("field_{i}"): {"type": "integer"}}
                });
                (format!("S{i}"), schema)
            })
            .collect();
        let spec = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "many", "version": "1"},
            "paths": {},
            "components": {"schemas": schemas}
        });
        let contract = Contract::from_str(&spec.to_string(), "many.json").unwrap();
        for i in 0..MOST_VALIDATORS + 20 {
            let pointer = format!("/components/schemas/S{i}");
            let good = serde_json::json!({ format!("field_{i}"): 1 });
            assert!(contract.validate(&pointer, &good).is_ok(), "{pointer}");
        }
        let kept = contract.validators.lock().unwrap().len();
        assert_eq!(kept, MOST_VALIDATORS);
        let evicted = "/components/schemas/S0";
        assert!(contract
            .validate(evicted, &serde_json::json!({"field_0": 1}))
            .is_ok());
        assert!(contract
            .validate(evicted, &serde_json::json!({"field_0": "x"}))
            .is_err());
    }

    /// `Baseline::from_contract` over Stripe's spec took 17.5 s in a debug build,
    /// most of it compiling one validator per operation: operations answered with the
    /// same component now share its validator (7.8 s).
    #[test]
    fn schemas_that_only_refer_to_one_component_share_its_validator() {
        let contract = Contract::from_str(
            r##"
openapi: 3.1.0
info: {title: shared, version: "1"}
paths:
  /a: {get: {responses: {"200": {description: a, content: {application/json: {schema: {$ref: "#/components/schemas/Charge"}}}}}}}
  /b: {get: {responses: {"200": {description: b, content: {application/json: {schema: {$ref: "#/components/schemas/Alias"}}}}}}}
components:
  schemas:
    Alias: {$ref: "#/components/schemas/Charge"}
    Charge: {type: object, required: [id], properties: {id: {type: string}}}
"##,
            "shared.yaml",
        )
        .unwrap();
        let at = |path: &str| {
            format!("/paths/~1{path}/get/responses/200/content/application~1json/schema")
        };
        for path in ["a", "b"] {
            assert!(contract
                .validate(&at(path), &serde_json::json!({"id": "ch_1"}))
                .is_ok());
            assert!(contract
                .validate(&at(path), &serde_json::json!({"id": 1}))
                .is_err());
        }
        assert_eq!(contract.validators.lock().unwrap().len(), 1);
    }
}
