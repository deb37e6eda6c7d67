//! proptest strategies for hostile provider behaviour: deterministic, no I/O.
//!
//! The strategies are shaped by a [`Catalog`] of what the baseline responses look like
//! (their JSON paths, headers and sizes), so a JSON mutation lands on a value the
//! response really has, and a cut lands inside the response rather than past its end.
//! A campaign builds the catalog from one unmodified run of your code (the probe).

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use std::sync::Arc;

use crate::contract::Contract;
use crate::journal::Journal;
use crate::json_path;
use crate::response::Response;
use crate::scenario::{
    ChunkFault, Expectation, Framing, JsonChange, Mutation, Scenario, Step, Transport,
};

/// What the baseline responses look like, request by request.
///
/// ```
/// use badgateway::strategies::{Catalog, Shape};
/// let shape = Shape::of_json(&serde_json::json!({"id": "ch_1", "card": {"last4": "4242"}}));
/// assert_eq!(shape.json_paths, vec!["", "id", "card", "card.last4"]);
/// let catalog = Catalog { requests: vec![shape] };
/// assert_eq!(catalog.shape(5).json_paths.len(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// One shape per request of the unmodified run, in order.
    pub requests: Vec<Shape>,
}

/// What one baseline response looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Every path in its JSON body (empty when the body is not JSON), root first.
    pub json_paths: Vec<String>,
    /// Its header names.
    pub headers: Vec<String>,
    /// Body length in bytes.
    pub body_len: usize,
    /// Length on the wire, head included.
    pub wire_len: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            json_paths: Vec::new(),
            headers: vec!["content-type".into()],
            body_len: 64,
            wire_len: 160,
        }
    }
}

/// At most this many JSON paths per response are offered to mutations.
const MAX_PATHS: usize = 256;

impl Shape {
    /// The shape of a JSON body served with a typical head.
    pub fn of_json(body: &Value) -> Shape {
        let body_len = body.to_string().len();
        Shape {
            json_paths: json_path::paths(body, MAX_PATHS),
            body_len,
            wire_len: body_len + 96,
            ..Shape::default()
        }
    }
}

impl Catalog {
    /// The catalog of what a provider served, from its journal.
    pub fn from_journal(journal: &Journal) -> Catalog {
        let requests = journal
            .requests
            .iter()
            .map(|r| {
                let (head, body) = r.served.split_at(r.served_head_len.min(r.served.len()));
                let head = String::from_utf8_lossy(head);
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|line| {
                        line.split_once(':')
                            .map(|(n, _)| n.trim().to_ascii_lowercase())
                    })
                    .filter(|n| !crate::response::is_framing_header(n))
                    .collect();
                let json_paths = serde_json::from_slice::<Value>(body)
                    .map(|v| json_path::paths(&v, MAX_PATHS))
                    .unwrap_or_default();
                Shape {
                    json_paths,
                    headers,
                    body_len: body.len(),
                    wire_len: r.served.len(),
                }
            })
            .collect();
        Catalog { requests }
    }

    /// The shape for the request with this index: the last known one past the end
    /// (a retry usually repeats the last request), a default shape when empty.
    pub fn shape(&self, request_index: usize) -> Shape {
        self.requests
            .get(request_index)
            .or(self.requests.last())
            .cloned()
            .unwrap_or_default()
    }
}

/// Scenarios of 1 to `max_steps` steps, each shaped by the catalog.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use badgateway::strategies::{scenarios, Catalog};
/// let mut runner = TestRunner::deterministic();
/// let scenario = scenarios(&Catalog::default(), 3).new_tree(&mut runner).unwrap().current();
/// assert!((1..=3).contains(&scenario.steps.len()));
/// ```
pub fn scenarios(catalog: &Catalog, max_steps: usize) -> impl Strategy<Value = Scenario> {
    let per_step: Vec<BoxedStrategy<Step>> = (0..max_steps.max(1))
        .map(|i| steps(&catalog.shape(i)).boxed())
        .collect();
    (1..=per_step.len(), per_step).prop_map(|(n, mut all)| {
        all.truncate(n);
        Scenario { steps: all }
    })
}

/// One step for a response of this shape: mostly mutations, often framing and
/// transport faults, sometimes the baseline unchanged.
pub fn steps(shape: &Shape) -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::baseline()),
        6 => proptest::collection::vec(mutations(shape), 1..=2)
            .prop_map(|mutations| Step { mutations, ..Step::default() }),
        2 => framings(shape).prop_map(|framing| Step { framing, ..Step::default() }),
        3 => transports(shape).prop_map(|transport| Step { transport, ..Step::default() }),
    ]
}

/// Mutations for a response of this shape: status, headers, body bytes and JSON values.
pub fn mutations(shape: &Shape) -> impl Strategy<Value = Mutation> {
    let body = shape.body_len.max(1);
    let byte_level = prop_oneof![
        (0..body).prop_map(|at| Mutation::TruncateBody { at }),
        (0..body).prop_map(|at| Mutation::InvalidUtf8 { at }),
        Just(Mutation::PrependBom),
        Just(Mutation::EmptyBody),
        select(vec![500_u16, 502, 503, 504]).prop_map(|status| Mutation::HtmlErrorPage { status }),
        select(odd_bodies()).prop_map(|text| Mutation::ReplaceBody { text: text.into() }),
    ]
    .boxed();
    let json = if shape.json_paths.is_empty() {
        byte_level.clone().boxed()
    } else {
        (select(shape.json_paths.clone()), json_changes())
            .prop_map(|(path, change)| Mutation::Json { path, change })
            .boxed()
    };
    prop_oneof![
        2 => statuses().prop_map(Mutation::Status),
        2 => headers(shape),
        3 => byte_level,
        5 => json,
    ]
}

/// Status codes providers answer with when things go wrong, and a few that are right
/// but unexpected.
pub fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => select(vec![500_u16, 502, 503, 504, 429]),
        2 => select(vec![400_u16, 401, 403, 404, 409, 422, 200, 201, 202, 204, 301, 418]),
    ]
}

/// Header changes: wrong or missing content type, gzip lies, `Retry-After` in every
/// format, duplicated and invalid headers.
pub fn headers(shape: &Shape) -> impl Strategy<Value = Mutation> {
    let names = if shape.headers.is_empty() {
        vec!["content-type".to_owned()]
    } else {
        shape.headers.clone()
    };
    let set = |name: &'static str, values: Vec<&'static str>| {
        select(values).prop_map(move |value| Mutation::SetHeader {
            name: name.into(),
            value: value.into(),
        })
    };
    prop_oneof![
        set(
            "content-type",
            vec![
                "text/html",
                "text/plain",
                "application/xml",
                "application/json; charset=utf-16"
            ]
        ),
        set("content-encoding", vec!["gzip", "br", "identity"]),
        set(
            "retry-after",
            vec![
                "0",
                "2",
                "0.493",
                "-1",
                "86400",
                "Wed, 21 Oct 2026 07:28:00 GMT",
                "soon"
            ]
        ),
        select(names.clone()).prop_map(|name| Mutation::RemoveHeader { name }),
        select(names).prop_map(|name| Mutation::DuplicateHeader { name }),
        Just(Mutation::InvalidHeaderBytes {
            name: "set-cookie".into()
        }),
    ]
}

/// Bodies that parse as something other than what was promised.
fn odd_bodies() -> Vec<&'static str> {
    vec![
        "null",
        "[]",
        "{}",
        "\"ok\"",
        "NaN",
        "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"try again\"}}",
        "{\"id\":1,\"id\":2}",
        "<?xml version=\"1.0\"?><error>upstream</error>",
    ]
}

/// Changes to one JSON value.
pub fn json_changes() -> impl Strategy<Value = JsonChange> {
    prop_oneof![
        Just(JsonChange::Remove),
        Just(JsonChange::Null),
        Just(JsonChange::ChangeType),
        Just(JsonChange::HugeNumber),
        Just(JsonChange::BeyondFloatPrecision),
        Just(JsonChange::NegativeNumber),
        Just(JsonChange::FractionalNumber),
        Just(JsonChange::NumberAsString),
        select(vec![0_usize, 1, 3, 64, 255, 256, 1024, 65_536])
            .prop_map(|len| JsonChange::LongString { len }),
        Just(JsonChange::UnicodeString),
        Just(JsonChange::ControlCharString),
        Just(JsonChange::EmptyArray),
        select(vec![2_usize, 32, 127, 128, 129, 200, 1000])
            .prop_map(|depth| JsonChange::DeepNesting { depth }),
        Just(JsonChange::UnknownEnumValue),
    ]
}

/// Framing faults for a body of this shape.
pub fn framings(shape: &Shape) -> impl Strategy<Value = Framing> {
    let body = shape.body_len.max(1);
    prop_oneof![
        (1..=64_usize).prop_map(|by| Framing::ContentLengthTooLong { by }),
        (1..=body).prop_map(|by| Framing::ContentLengthTooShort { by }),
        Just(Framing::CloseDelimited),
        (1..=body).prop_map(|size| Framing::Chunked { size }),
        select(vec![
            ChunkFault::InvalidSize,
            ChunkFault::ShortChunk,
            ChunkFault::MissingLastChunk
        ])
        .prop_map(Framing::MalformedChunk),
        Just(Framing::BothLengths),
    ]
}

/// Transport and timing faults for a response of this shape.
pub fn transports(shape: &Shape) -> impl Strategy<Value = Transport> {
    let wire = shape.wire_len.max(1);
    prop_oneof![
        Just(Transport::EmptyResponse),
        (0..wire).prop_map(|after_bytes| Transport::ResetPeer { after_bytes }),
        (0..wire).prop_map(|bytes| Transport::LimitData { bytes }),
        (0..wire).prop_map(|after_bytes| Transport::Timeout { after_bytes }),
        (1..=32_usize, 1..=400_u64)
            .prop_map(|(bytes, delay_ms)| Transport::Slicer { bytes, delay_ms }),
        (1..=3000_u64).prop_map(|ms| Transport::Latency { ms }),
    ]
}

/// What the contract says about one request of the probe: where its response
/// schema is, the baseline response, and the changes that break it or conform to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Pointer to the response schema in the contract.
    pub pointer: String,
    /// The baseline response (it conforms).
    pub baseline: Response,
    /// Changes to the baseline body that break one clause each.
    pub breaking: Vec<crate::conformance::Breaking>,
    /// Changes the contract calls conforming (new enum values, when enums may grow).
    pub additive: Vec<Mutation>,
}

impl Plan {
    /// The plan for a baseline response whose JSON body must conform to the schema at
    /// `pointer`.
    ///
    /// # Errors
    /// Why the body does not conform: not JSON, or the first clause it breaks.
    pub fn new(contract: &Contract, pointer: &str, baseline: Response) -> Result<Plan, String> {
        let body: Value = serde_json::from_slice(&baseline.body)
            .map_err(|e| format!("the body is not JSON: {e}"))?;
        contract
            .validate(pointer, &body)
            .map_err(|v| format!("{} at `{}`", v[0].message, v[0].instance_path))?;
        Ok(Plan {
            pointer: pointer.to_owned(),
            breaking: crate::conformance::breaking(contract, pointer, &body),
            additive: crate::conformance::additive(contract, pointer, &body),
            baseline,
        })
    }

    /// What a correct client does with the response a hostile step makes of the
    /// baseline, when that can be told without the wire: an error status or a body
    /// that breaks the success schema must be rejected. Framing and transport faults,
    /// changes the contract ignores, and additive changes are left unjudged.
    pub fn expectation_of(&self, contract: &Contract, step: &Step) -> Option<Expectation> {
        let benign_framing = matches!(
            step.framing,
            Framing::ContentLength | Framing::Chunked { .. } | Framing::CloseDelimited
        );
        let benign_transport = matches!(
            step.transport,
            Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. }
        );
        if step.mutations.is_empty() || !benign_framing || !benign_transport {
            return None;
        }
        let mut response = self.baseline.clone();
        for mutation in &step.mutations {
            mutation.apply(&mut response);
        }
        let reject = |clause: &str| {
            Some(Expectation::Reject {
                clause: clause.to_owned(),
            })
        };
        if !(200..300).contains(&response.status) {
            return reject("status: not a success");
        }
        // RFC 8259 lets a parser ignore a byte order mark: a BOM alone is no breach.
        let body = response
            .body
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&response.body);
        let value = match serde_json::from_slice::<Value>(body) {
            Ok(value) => value,
            // `1e400` is JSON, but no f64: it breaks the clause where it stands,
            // unless the client ignores that field.
            Err(e) if e.to_string().starts_with("number out of range") => {
                let huge = step.mutations.iter().find_map(|m| match m {
                    Mutation::Json {
                        path,
                        change: JsonChange::HugeNumber,
                    } if !contract.is_ignored(path) => Some(path),
                    _ => None,
                })?;
                return reject(&format!("{huge}: number out of range"));
            }
            Err(_) => return reject("body: not JSON"),
        };
        let violations = contract.validate(&self.pointer, &value).err()?;
        let judged = violations.iter().find_map(|v| {
            let path = violation_path(v);
            let grown_enum = v.keyword == "enum"
                && contract.enums_may_grow()
                && value
                    .pointer(&v.instance_path)
                    .is_some_and(Value::is_string);
            (!contract.is_ignored(&path) && !grown_enum).then(|| (path, v.keyword.clone()))
        })?;
        let (path, keyword) = judged;
        reject(&format!(
            "{}: {keyword}",
            if path.is_empty() { "(root)" } else { &path }
        ))
    }
}

/// The path a violation is about: for a missing required property, the property.
fn violation_path(violation: &crate::contract::Violation) -> String {
    let path = dotted(&violation.instance_path);
    match (
        violation.keyword.as_str(),
        violation.message.split('"').nth(1),
    ) {
        ("required", Some(property)) => json_path::join_key(&path, property),
        _ => path,
    }
}

/// `/data/0/amount` as `data[0].amount`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            out = json_path::join_key(&out, &part);
        }
    }
    out
}

/// Scenarios under a contract: each step is a hostile one as in [`scenarios`], a
/// conforming response generated from the schema (the client must accept it), a
/// baseline broken at one clause (the client must reject it), or an additive change
/// the contract allows. `plans[i]` is the plan for request `i` (none: hostile only).
pub fn scenarios_under_contract(
    catalog: &Catalog,
    contract: &Arc<Contract>,
    plans: &[Option<Plan>],
    max_steps: usize,
) -> impl Strategy<Value = Scenario> {
    let plan = |i: usize| plans.get(i).or(plans.last()).cloned().flatten();
    let per_step: Vec<BoxedStrategy<Step>> = (0..max_steps.max(1))
        .map(|i| contract_steps(&catalog.shape(i), contract, plan(i).as_ref()))
        .collect();
    (1..=per_step.len(), per_step).prop_map(|(n, mut all)| {
        all.truncate(n);
        Scenario { steps: all }
    })
}

/// One step under a contract: see [`scenarios_under_contract`].
pub fn contract_steps(
    shape: &Shape,
    contract: &Arc<Contract>,
    plan: Option<&Plan>,
) -> BoxedStrategy<Step> {
    let Some(plan) = plan else {
        return steps(shape).boxed();
    };
    let (judge, judged_plan) = (contract.clone(), plan.clone());
    let hostile = steps(shape).prop_map(move |mut step| {
        step.expect = judged_plan.expectation_of(&judge, &step);
        step
    });
    let conforming =
        crate::conformance::conforming(contract, &plan.pointer).prop_map(|value| Step {
            mutations: vec![Mutation::ReplaceBody {
                text: value.to_string(),
            }],
            expect: Some(Expectation::Accept),
            ..Step::default()
        });
    let mut options: Vec<(u32, BoxedStrategy<Step>)> =
        vec![(3, hostile.boxed()), (2, conforming.boxed())];
    if !plan.breaking.is_empty() {
        let breaking = select(plan.breaking.clone()).prop_map(|b| Step {
            mutations: vec![b.mutation()],
            expect: Some(Expectation::Reject {
                clause: b.clause.clone(),
            }),
            ..Step::default()
        });
        options.push((4, breaking.boxed()));
    }
    if !plan.additive.is_empty() {
        let additive = select(plan.additive.clone()).prop_map(|m| Step {
            mutations: vec![m],
            expect: Some(Expectation::Accept),
            ..Step::default()
        });
        options.push((1, additive.boxed()));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}
