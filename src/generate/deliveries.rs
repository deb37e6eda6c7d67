//! Webhook deliveries to try: the coverage phase (every hostile delivery once, from
//! the declared events alone) and random cases from the seed, and events read from a
//! contract's `webhooks` and `callbacks`.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use crate::contract::Contract;
use crate::error::{Error, ErrorKind};
use crate::scenario::json_path;
use crate::scenario::{Delivery, Forgery, JsonChange, Mutation, Scenario};
use crate::webhook::{Event, Signing, Webhooks};

use super::conformance;
use super::equivalent::ADDED_PROPERTY;

/// The type no provider sends: an event type added after the handler was written.
pub const UNKNOWN_EVENT_TYPE: &str = "badgateway.unknown_event";

/// How many values of one body get breaking changes, without a contract.
const MOST_LEAVES: usize = 12;

/// The deliveries the probe makes: each declared event once, signed validly, in the
/// order declared. The handler must accept each with a 2xx, or nothing it does later
/// could be told from a broken setup.
pub(crate) fn probe(webhooks: &Webhooks) -> Scenario {
    let mut scenario = Scenario::new();
    for event in webhooks.events() {
        scenario = scenario.deliver(Delivery::of(&event.kind));
    }
    scenario
}

/// Every hostile delivery once, each its own case: per event, an unknown type, a new
/// field, new enum values, values that break the body (what the contract says breaks
/// it, or every value made null, of another type or removed), a body cut, not UTF-8,
/// huge and deeply nested, dripped, a duplicate one after the other and one at once;
/// the events out of order; and every forgery the scheme can show.
///
/// ```
/// use badgateway::{Event, Signing, Webhooks};
/// let webhooks = Webhooks::new(Signing::stripe("whsec_test"))
///     .event(Event::new("payment.succeeded", serde_json::json!({"id": "evt_1", "type": "payment.succeeded", "amount": 5})));
/// let cases = badgateway::deliveries::coverage(&webhooks);
/// assert!(cases.iter().any(|s| s.deliveries.iter().any(|d| d.forged.is_some())));
/// assert!(cases.iter().any(|s| s.deliveries.iter().any(|d| d.again.is_some())));
/// ```
pub fn coverage(webhooks: &Webhooks) -> Vec<Scenario> {
    let alone = |d: Delivery| Scenario::new().deliver(d);
    let mut out: Vec<Scenario> = variants(webhooks).into_iter().map(alone).collect();
    for event in webhooks.events() {
        let kind = event.kind.as_str();
        out.push(
            Scenario::new()
                .deliver(Delivery::of(kind))
                .deliver(Delivery::of(kind).again(1)),
        );
        out.push(
            Scenario::new()
                .deliver(Delivery::of(kind))
                .deliver(Delivery::of(kind))
                .deliver(Delivery::of(kind).again(2).at_once()),
        );
    }
    if webhooks.events().len() > 1 {
        let mut reversed = Scenario::new();
        for event in webhooks.events().iter().rev() {
            reversed = reversed.deliver(Delivery::of(&event.kind));
        }
        out.push(reversed);
    }
    out
}

/// Every single hostile delivery: the changes to each event, then the forgeries of
/// the first (and an unsigned delivery of every other).
pub(crate) fn variants(webhooks: &Webhooks) -> Vec<Delivery> {
    let mut out = Vec::new();
    for event in webhooks.events() {
        for mutations in changes(webhooks, event) {
            let mut delivery = Delivery::of(&event.kind);
            delivery.mutations = mutations;
            out.push(delivery);
        }
        out.push(Delivery::of(&event.kind).drip(8));
    }
    let signing = webhooks.signing();
    for (i, event) in webhooks.events().iter().enumerate() {
        for forgery in Forgery::ALL.into_iter().filter(|f| signing.forges(*f)) {
            if i == 0 || forgery == Forgery::Unsigned {
                out.push(Delivery::of(&event.kind).forged(forgery));
            }
        }
    }
    out
}

/// The changes to one event's body (and type header) the coverage phase tries, each
/// list one delivery's.
fn changes(webhooks: &Webhooks, event: &Event) -> Vec<Vec<Mutation>> {
    let template = webhooks.template(event);
    let mut out: Vec<Vec<Mutation>> = Vec::new();
    let mut unknown = vec![Mutation::Json {
        path: webhooks.type_at.clone(),
        change: JsonChange::ReplaceWith {
            json: format!("\"{UNKNOWN_EVENT_TYPE}\""),
        },
    }];
    if let Some(header) = webhooks.signing().type_header() {
        unknown.push(Mutation::SetHeader {
            name: header.to_owned(),
            value: UNKNOWN_EVENT_TYPE.to_owned(),
        });
    }
    out.push(unknown);
    if let Value::Object(map) = &template {
        let mut added = map.clone();
        added.insert(
            ADDED_PROPERTY.to_owned(),
            Value::String("a new field".into()),
        );
        out.push(vec![Mutation::ReplaceBody {
            text: Value::Object(added).to_string(),
        }]);
    }
    let leaves = leaves(&template, webhooks);
    for (path, value) in &leaves {
        let last = path.rsplit(['.', '[']).next().unwrap_or(path);
        let state = last == "status" || last == "state" || last.ends_with("_status");
        if value.is_string() && state {
            out.push(vec![json(path, JsonChange::UnknownEnumValue)]);
        }
    }
    if event.variants.is_empty() {
        for (path, value) in leaves.iter().take(MOST_LEAVES) {
            out.push(vec![json(path, JsonChange::Null)]);
            out.push(vec![json(path, JsonChange::ChangeType)]);
            if !path.ends_with(']') {
                out.push(vec![json(path, JsonChange::Remove)]);
            }
            if value.is_number() {
                out.push(vec![json(path, JsonChange::HugeNumber)]);
            }
        }
    } else {
        out.extend(event.variants.iter().map(|(_, m)| vec![m.clone()]));
    }
    let body_len = serde_json::to_string(&template).map_or(0, |t| t.len());
    out.push(vec![Mutation::EmptyBody]);
    out.push(vec![Mutation::TruncateBody { at: body_len / 2 }]);
    out.push(vec![Mutation::InvalidUtf8 { at: body_len / 2 }]);
    out.push(vec![json("", JsonChange::DeepNesting { depth: 10_000 })]);
    if let Some((path, _)) = leaves.iter().find(|(_, v)| v.is_string()) {
        out.push(vec![json(path, JsonChange::LongString { len: 1 << 20 })]);
    }
    out
}

fn json(path: &str, change: JsonChange) -> Mutation {
    Mutation::Json {
        path: path.to_owned(),
        change,
    }
}

/// The leaf values of a body, but its id and type (whose changes are their own
/// cases), parents before children.
fn leaves(template: &Value, webhooks: &Webhooks) -> Vec<(String, Value)> {
    json_path::paths(template, 256)
        .into_iter()
        .filter(|p| !p.is_empty() && *p != webhooks.id_at && *p != webhooks.type_at)
        .filter_map(|p| {
            let value = json_path::get(template, &json_path::parse(&p)?)?.clone();
            (!value.is_object() && !value.is_array()).then_some((p, value))
        })
        .collect()
}

/// Random cases of deliveries: one to three, each a declared event or one of the
/// hostile deliveries, a later one now and then repeating an earlier one (at once or
/// after it).
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use badgateway::{Event, Signing, Webhooks};
/// let webhooks = Webhooks::new(Signing::github("secret"))
///     .event(Event::new("push", serde_json::json!({"ref": "main"})));
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let deliveries = badgateway::deliveries::random(&webhooks).new_tree(&mut runner).unwrap().current();
/// assert!((1..=3).contains(&deliveries.len()));
/// ```
pub fn random(webhooks: &Webhooks) -> BoxedStrategy<Vec<Delivery>> {
    let mut pool = variants(webhooks);
    for event in webhooks.events() {
        // The plain events are the likeliest: a flow of events, some of them hostile.
        for _ in 0..4 {
            pool.push(Delivery::of(&event.kind));
        }
    }
    let pick = select(pool);
    let repeats = proptest::collection::vec((any::<u8>(), any::<bool>(), any::<u8>()), 3);
    (proptest::collection::vec(pick, 1..=3), repeats)
        .prop_map(|(mut all, repeats)| {
            for (i, (roll, at_once, which)) in repeats.into_iter().enumerate().take(all.len()) {
                if i == 0 || roll % 4 != 0 {
                    continue;
                }
                let n = usize::from(which) % i + 1;
                all[i] = Delivery {
                    event: all[n - 1].event.clone(),
                    at_once: at_once && n == i,
                    ..Delivery::default()
                }
                .again(n);
            }
            all
        })
        .boxed()
}

impl Webhooks {
    /// The events a contract documents: each operation of OpenAPI 3.1's `webhooks`
    /// and of every operation's `callbacks`, with its JSON request body's example (a
    /// conforming body generated from the schema when it has none), typed by the
    /// schema's `type` constant (or the example's, or the webhook's name). The
    /// coverage phase then sends the changes that schema says break the body, or keep
    /// it conforming, besides its own.
    ///
    /// ```
    /// let spec = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
    ///   "webhooks": {"paymentSucceeded": {"post": {"requestBody": {"content": {"application/json": {
    ///     "schema": {"type": "object", "required": ["id", "type"], "properties": {
    ///       "id": {"type": "string"}, "type": {"const": "payment.succeeded"},
    ///       "amount": {"type": "integer", "minimum": 1}}},
    ///     "example": {"id": "evt_1", "type": "payment.succeeded", "amount": 500}}}}}}}}"##;
    /// let contract = badgateway::Contract::from_str(spec, "spec.json").unwrap();
    /// let webhooks = badgateway::Webhooks::from_contract(&contract, badgateway::Signing::stripe("whsec_x")).unwrap();
    /// assert_eq!(webhooks.events()[0].kind, "payment.succeeded");
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidFile`] naming the contract and the fix when it documents no
    /// webhook or callback with a JSON body.
    pub fn from_contract(contract: &Contract, signing: Signing) -> Result<Webhooks, Error> {
        let mut webhooks = Webhooks::new(signing);
        for (name, item) in documented(contract) {
            let Some((pointer, media)) = json_body(contract, &item) else {
                continue;
            };
            let Some(body) = example(contract, &pointer, media) else {
                continue;
            };
            let kind = kind(contract, &pointer, &body, &webhooks.type_at).unwrap_or(name);
            if webhooks.find(&kind).is_some() {
                continue;
            }
            let mut event = Event::new(&kind, body.clone());
            let mut variants: Vec<(String, Mutation)> =
                conformance::breaking(contract, &pointer, &body)
                    .into_iter()
                    .filter(|b| b.path != webhooks.id_at && b.path != webhooks.type_at)
                    .map(|b| (b.clause, json(&b.path, b.change)))
                    .collect();
            variants.extend(
                conformance::additive(contract, &pointer, &body)
                    .into_iter()
                    .map(|m| ("conforming".to_owned(), m)),
            );
            // Conforming bodies generated from the schema, as responses are: other
            // values the provider may send, each its own genuine delivery.
            for generated in conformance::conforming_values(contract, &pointer, CONFORMING_BODIES) {
                let text = webhooks.templated(&kind, generated).to_string();
                variants.push(("conforming".to_owned(), Mutation::ReplaceBody { text }));
            }
            event.variants = variants;
            webhooks = webhooks.event(event);
        }
        if webhooks.events().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "{} documents no webhook (`webhooks`, OpenAPI 3.1) or callback with a JSON request body: document one, or declare the events with Webhooks::event",
                    contract.source()
                ),
            ));
        }
        Ok(webhooks)
    }
}

/// Every documented webhook and callback operation: its name and a JSON pointer to
/// its path item.
fn documented(contract: &Contract) -> Vec<(String, String)> {
    let escape = json_path::pointer_token;
    let mut out = Vec::new();
    if let Some(Value::Object(hooks)) = contract.schema("/webhooks") {
        for name in hooks.keys() {
            out.push((name.clone(), format!("/webhooks/{}", escape(name))));
        }
    }
    if let Some(Value::Object(paths)) = contract.schema("/paths") {
        for (path, item) in paths {
            let Value::Object(item) = item else { continue };
            for (method, operation) in item {
                let Some(Value::Object(callbacks)) = operation.get("callbacks") else {
                    continue;
                };
                for (name, callback) in callbacks {
                    let Value::Object(expressions) = callback else {
                        continue;
                    };
                    for expression in expressions.keys() {
                        out.push((
                            name.clone(),
                            format!(
                                "/paths/{}/{method}/callbacks/{}/{}",
                                escape(path),
                                escape(name),
                                escape(expression)
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The pointer to a path item's JSON request body schema (following a `$ref`d
/// request body) and its media type object.
fn json_body<'c>(contract: &'c Contract, item: &str) -> Option<(String, &'c Value)> {
    let operation = ["post", "put", "patch"].iter().find_map(|m| {
        contract
            .schema(&format!("{item}/{m}"))
            .map(|_| format!("{item}/{m}"))
    })?;
    let mut body_at = format!("{operation}/requestBody");
    if let Some(Value::String(r)) = contract_raw(contract, &body_at).and_then(|b| b.get("$ref")) {
        body_at = r.trim_start_matches('#').to_owned();
    }
    let body = contract.schema(&body_at)?;
    let Value::Object(content) = body.get("content")? else {
        return None;
    };
    let media = content
        .keys()
        .find(|k| k.starts_with("application/json") || k.ends_with("+json"))?;
    let media_at = format!("{body_at}/content/{}", json_path::pointer_token(media));
    Some((format!("{media_at}/schema"), content.get(media)?))
}

/// The value at a pointer as written, without following its `$ref`.
fn contract_raw<'c>(contract: &'c Contract, pointer: &str) -> Option<&'c Value> {
    let (parent, key) = pointer.rsplit_once('/')?;
    contract.schema(parent)?.get(json_path::key_of_token(key))
}

/// The media type's example, the first of its examples, the schema's, or a
/// conforming body generated from the schema.
fn example(contract: &Contract, pointer: &str, media: &Value) -> Option<Value> {
    if let Some(example) = media.get("example") {
        return Some(example.clone());
    }
    if let Some(Value::Object(examples)) = media.get("examples") {
        if let Some(value) = examples.values().find_map(|e| e.get("value")) {
            return Some(value.clone());
        }
    }
    let schema = contract.schema(pointer)?;
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(Value::Array(examples)) = schema.get("examples") {
        if let Some(first) = examples.first() {
            return Some(first.clone());
        }
    }
    conformance::conforming_values(contract, pointer, 1).pop()
}

/// How many bodies generated from a contract event's schema the coverage phase
/// delivers.
const CONFORMING_BODIES: usize = 3;

/// The event type the schema fixes (`const`, a one-value `enum`) at the type's path,
/// or the example's.
fn kind(contract: &Contract, pointer: &str, body: &Value, type_at: &str) -> Option<String> {
    let schema = contract.schema(pointer)?;
    let property = schema
        .get("properties")
        .and_then(|p| p.get(type_at))
        .and_then(|t| contract.resolve(t));
    let fixed = property.and_then(|t| {
        t.get("const").or_else(|| match t.get("enum") {
            Some(Value::Array(values)) if values.len() == 1 => values.first(),
            _ => None,
        })
    });
    let from_body = json_path::parse(type_at).and_then(|s| json_path::get(body, &s).cloned());
    fixed
        .cloned()
        .or(from_body)
        .and_then(|v| v.as_str().map(str::to_owned))
}
