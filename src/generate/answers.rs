//! A baseline answered from a contract's examples: every operation's documented
//! success, as Prism, Microcks and stripe-mock answer from a spec.

use serde_json::Value;

use crate::contract::{Contract, Operation};
use crate::error::{Error, ErrorKind};
use crate::provider::Baseline;
use crate::scenario::Response;

use super::conformance;
use crate::scenario::json_path;

impl Baseline {
    /// Every operation of `contract` answered with a documented success (the first
    /// with a usable example, else the first): the response's first example that its
    /// schema accepts and that is not an echo of the request's example (every value of
    /// it found there, as PayPal documents a new order), else its schema's example,
    /// else a plausible value built from the schema (every property, each its
    /// example, default, first enum value or a value of its format or pattern), else a
    /// conforming value generated from it, the same on every run; no body where none
    /// is documented. Paths are the contract's templates (`{id}` matches any segment),
    /// under the base path of the first server URL as well as without it. An
    /// operation with an idempotency-key header parameter (`Idempotency-Key`,
    /// `X-Idempotency-Key`, PayPal's `PayPal-Request-Id`), or marked
    /// `x-badgateway-effect: true`, performs an effect ([`Baseline::effect`]).
    /// Declare an endpoint after it to override what one operation answers.
    ///
    /// ```
    /// use badgateway::{Baseline, Contract, Response};
    /// let contract = Contract::from_str(r#"
    /// openapi: 3.0.3
    /// info: {title: Paygate, version: "1"}
    /// servers: [{url: "https://api.example.com/v1"}]
    /// paths:
    ///   /charges:
    ///     post:
    ///       parameters: [{name: Idempotency-Key, in: header, schema: {type: string}}]
    ///       responses:
    ///         "201":
    ///           description: created
    ///           content: {application/json: {example: {id: ch_1, amount: 500}}}
    ///   /charges/{id}:
    ///     get:
    ///       responses:
    ///         "200":
    ///           description: a charge
    ///           content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: string}}}}}
    /// "#, "paygate.yaml").unwrap();
    /// let baseline = Baseline::from_contract(&contract).unwrap();
    /// let created = baseline.respond("POST", "/v1/charges", "").unwrap();
    /// assert_eq!((created.status, created.body.as_slice()), (201, br#"{"id":"ch_1","amount":500}"#.as_slice()));
    /// assert_eq!(baseline.respond("GET", "/charges/ch_9", "").unwrap().status, 200);
    /// // An override, declared after.
    /// let baseline = baseline.endpoint("GET", "/v1/charges/{id}", Response::json(200, &serde_json::json!({"id": "ch_7"})));
    /// assert_eq!(baseline.respond("GET", "/v1/charges/ch_7", "").unwrap().body, br#"{"id":"ch_7"}"#);
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidFile`] naming the contract when it documents no operation
    /// with a success response.
    pub fn from_contract(contract: &Contract) -> Result<Baseline, Error> {
        let base = contract
            .servers()
            .first()
            .map(|url| server_path(url).trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let mut baseline = Baseline::new();
        for operation in contract.operations() {
            // The documented success with an example, else the first one.
            let successes: Vec<(u16, &crate::contract::ResponseSpec)> = operation
                .responses
                .iter()
                .filter_map(|r| {
                    let code = r.status.parse::<u16>().ok()?;
                    (200..300).contains(&code).then_some((code, r))
                })
                .collect();
            let asked = request_examples(contract, operation);
            let answered = successes.iter().find_map(|&(status, spec)| {
                Some((
                    status,
                    spec,
                    Some(answering_example(contract, spec, &asked)?),
                ))
            });
            let chosen = answered.or_else(|| {
                let (status, spec) = successes.first().copied().or_else(|| operation.success())?;
                Some((status, spec, None))
            });
            let Some((status, spec, example)) = chosen else {
                continue;
            };
            let body = example.or_else(|| {
                let pointer = spec.schema.as_deref()?;
                schema_example(contract, pointer)
                    .filter(|e| contract.validate(pointer, e).is_ok())
                    .or_else(|| super::sample::sample(contract, pointer))
                    .or_else(|| conformance::conforming_values(contract, pointer, 1).pop())
            });
            let response = match body {
                Some(body) => Response::json(status, &body),
                None => Response::new(status),
            };
            let effect = performs_effect(contract, operation);
            let mut paths = vec![operation.path.clone()];
            if !base.is_empty() && !operation.path.starts_with(&format!("{base}/")) {
                paths.insert(0, format!("{base}{}", operation.path));
            }
            for path in paths {
                baseline = match effect {
                    true => baseline.effect(&operation.method, &path, response.clone()),
                    false => baseline.endpoint(&operation.method, &path, response.clone()),
                };
            }
        }
        match &baseline {
            Baseline::Endpoints(endpoints) if endpoints.is_empty() => Err(Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "{} documents no operation with a success response (a 2xx): there is nothing to answer a client with; declare the baseline in code (Baseline::new().endpoint(...))",
                    contract.source()
                ),
            )),
            _ => Ok(baseline),
        }
    }
}

/// The path of a server URL (after the scheme and host).
fn server_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |at| &rest[at..]),
        None => url,
    }
}

/// The first of a response's examples that can answer for it: one its schema (if
/// any) accepts, and not an echo of the operation's request example, every value of
/// it found there (PayPal's `POST /v2/checkout/orders` documents part of the order
/// it is asked for as its `201` example: no `id`, no `status`).
fn answering_example(
    contract: &Contract,
    spec: &crate::contract::ResponseSpec,
    asked: &[Value],
) -> Option<Value> {
    spec.examples
        .iter()
        .filter(|e| !asked.iter().any(|a| echoes(e, a)))
        .find(|e| {
            spec.schema
                .as_deref()
                .is_none_or(|pointer| contract.validate(pointer, e).is_ok())
        })
        .cloned()
}

/// Whether every value of `answer` is found in `asked` at the same place.
fn echoes(answer: &Value, asked: &Value) -> bool {
    match (answer, asked) {
        (Value::Object(answer), Value::Object(asked)) => answer
            .iter()
            .all(|(key, value)| asked.get(key).is_some_and(|a| echoes(value, a))),
        (Value::Array(answer), Value::Array(asked)) => {
            answer.len() == asked.len() && answer.iter().zip(asked).all(|(v, a)| echoes(v, a))
        }
        _ => answer == asked,
    }
}

/// The examples of the operation's request body, in every media type.
fn request_examples(contract: &Contract, operation: &Operation) -> Vec<Value> {
    let at = format!(
        "/paths/{}/{}/requestBody",
        json_path::pointer_token(&operation.path),
        operation.method.to_ascii_lowercase()
    );
    let Some(Value::Object(media)) = contract.schema(&at).and_then(|body| body.get("content"))
    else {
        return Vec::new();
    };
    media
        .values()
        .flat_map(|m| crate::contract::examples_of(contract.document(), m))
        .collect()
}

/// The schema's own `example`, or the first of its `examples`.
fn schema_example(contract: &Contract, pointer: &str) -> Option<Value> {
    let schema = contract.schema(pointer)?;
    schema
        .get("example")
        .cloned()
        .or_else(|| match schema.get("examples") {
            Some(Value::Array(examples)) => examples.first().cloned(),
            _ => None,
        })
}

/// Whether the contract says the operation performs an effect: an idempotency-key
/// header parameter (`Idempotency-Key`, PayPal's `PayPal-Request-Id`: see
/// `names::is_idempotency_key`; on the operation or its path), or
/// `x-badgateway-effect: true`.
fn performs_effect(contract: &Contract, operation: &Operation) -> bool {
    let escape = json_path::pointer_token;
    let item = format!("/paths/{}", escape(&operation.path));
    let at = format!("{item}/{}", operation.method.to_ascii_lowercase());
    if let Some(Value::Bool(marked)) = contract
        .schema(&at)
        .and_then(|o| o.get("x-badgateway-effect"))
    {
        return *marked;
    }
    [format!("{at}/parameters"), format!("{item}/parameters")]
        .iter()
        .filter_map(|pointer| contract.schema(pointer)?.as_array())
        .flatten()
        .filter_map(|parameter| contract.resolve(parameter))
        .any(|p| {
            p.get("in").and_then(Value::as_str) == Some("header")
                && p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(crate::provider::names::is_idempotency_key)
        })
}
