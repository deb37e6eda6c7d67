//! The coverage phase: every single fault the harness knows, tried on purpose, before
//! random generation.
//!
//! Implementation notes: random generation found a bug that one fault at one place
//! triggers only with some seeds (a bare 503 came up in 0.75 % of cases, a 429 with a
//! date `Retry-After` about once in 22,000), so renaming a suite decided whether a bug
//! was found. The coverage phase makes that independent of the seed: for each request
//! the probe saw, one scenario per transport fault, framing fault, status, body fault,
//! header fault, `Retry-After` form paired with its status, integer limit, and JSON
//! change (under a contract: one per clause the baseline can break, plus the conforming
//! changes); rate limits in each provider's convention and payloads deep enough to
//! crash; then the faults the behaviour rules need: a provider that stays down from
//! that request on, every `false` flag made `true` for good (and the page emptied), and
//! on a request with an effect, faults after the effect. Last, states held at one
//! operation while the others answer (see `held_at_routes`). It is pure and
//! deterministic; a campaign runs it first, then its `cases` random ones.

use std::sync::Arc;

use crate::contract::Contract;
use crate::scenario::{
    ChunkFault, Expectation, Framing, JsonChange, Moment, Mutation, Repeat, Scenario, Step,
    Transport,
};

use super::catalog::{Catalog, Shape};
use super::plan::Plan;
use super::strategies::SLOW_BUDGET_MS;

/// The most requests of the probe whose responses get a coverage phase each.
const MAX_REQUESTS: usize = 4;
/// The most scenarios a coverage phase holds; past it, they are sampled evenly.
pub const MAX_COVERAGE: usize = 2_000;

/// `Retry-After` values paired with 429 and 503: whole seconds, a decimal, an HTTP
/// date in the past, a negative number, a day, garbage; and the status without one.
const RETRY_AFTER_FORMS: [Option<&str>; 7] = [
    Some("1"),
    Some("0.5"),
    Some("Wed, 21 Oct 2015 07:28:00 GMT"),
    Some("-1"),
    Some("86400"),
    Some("soon"),
    None,
];

/// A day, in seconds: a wait no service can afford.
const DAY: i64 = 86_400;

/// Rate limits that say nothing remains until a reset, as providers send them, each
/// with a 429 and with the baseline's own success: a day ahead in every convention
/// (`X-RateLimit-Reset` in epoch and in delta seconds, `RateLimit-Reset`, the IETF
/// fields, a duration), and a few seconds ahead. A client that sleeps until the reset, uncapped, is an unbounded wait that
/// names the header it obeyed.
///
/// Sources: GitHub's REST API ("Rate limits for the REST API": `x-ratelimit-remaining`,
/// `x-ratelimit-reset` in UTC epoch seconds); GitLab (`RateLimit-Reset` in Unix
/// time); the IETF draft
/// "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers: `RateLimit`
/// with `r` and `t`, `RateLimit-Policy` with `q` and `w`; earlier revisions
/// `RateLimit-Remaining`/`RateLimit-Reset` in delta seconds); OpenAI's API ("Rate
/// limits": `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests: 6m0s`).
fn rate_limits() -> Vec<Step> {
    let set = |name: &str, value: &str| Mutation::SetHeader {
        name: name.into(),
        value: value.into(),
    };
    let epoch = |after_secs: i64| {
        vec![
            set("x-ratelimit-limit", "100"),
            set("x-ratelimit-remaining", "0"),
            Mutation::SetHeaderAt {
                name: "x-ratelimit-reset".into(),
                after_secs,
                form: Moment::EpochSeconds,
            },
        ]
    };
    let forms: [Vec<Mutation>; 6] = [
        epoch(DAY),
        epoch(3),
        vec![
            set("x-ratelimit-remaining", "0"),
            set("x-ratelimit-reset", "86400"),
        ],
        vec![
            set("ratelimit-limit", "100"),
            set("ratelimit-remaining", "0"),
            set("ratelimit-reset", "86400"),
        ],
        vec![
            set("ratelimit", "\"default\";r=0;t=86400"),
            set("ratelimit-policy", "\"default\";q=100;w=86400"),
        ],
        vec![
            set("x-ratelimit-limit-requests", "60"),
            set("x-ratelimit-remaining-requests", "0"),
            set("x-ratelimit-reset-requests", "6m0s"),
        ],
    ];
    let mut steps = Vec::new();
    for headers in forms {
        let mut limited = vec![Mutation::Status(429)];
        limited.extend(headers.iter().cloned());
        steps.push(Step::baseline().with_all(limited));
        steps.push(Step::baseline().with_all(headers));
    }
    steps
}

/// `Content-Length` values a client must not trust: past any memory, negative, not a
/// number, past `u64`.
pub const ABSURD_LENGTHS: [&str; 4] = ["1000000000000", "-1", "ten", "18446744073709551616"];

/// Integers a count or size in a body must not be trusted with: past `u32`, past
/// `i64`, `u64`'s largest.
pub const INTEGER_LIMITS: [&str; 3] = ["4294967296", "9223372036854775808", "18446744073709551615"];

/// Statuses providers answer with when something is wrong, or right but unexpected.
const STATUSES: [u16; 17] = [
    500, 502, 503, 504, 429, 400, 401, 403, 404, 409, 422, 200, 201, 202, 204, 301, 418,
];

/// Every single fault for every request the probe saw, each as its own scenario: the
/// requests before it get the baseline, the request itself the fault. Under a
/// contract, each step carries what the contract says of it.
///
/// ```
/// use badgateway::strategies::{Catalog, Shape};
/// let shape = Shape::of_json(&serde_json::json!({"id": "ch_1", "amount": 5}));
/// let catalog = Catalog { requests: vec![shape] };
/// let coverage = badgateway::coverage::single_faults(&catalog, None, &[]);
/// assert!(coverage.len() > 100);
/// assert!(coverage.iter().all(|s| s.steps.len() == 1));
/// assert_eq!(coverage, badgateway::coverage::single_faults(&catalog, None, &[]));
/// ```
pub fn single_faults(
    catalog: &Catalog,
    contract: Option<&Arc<Contract>>,
    plans: &[Option<Plan>],
) -> Vec<Scenario> {
    let requests = catalog.requests.len().clamp(1, MAX_REQUESTS);
    let mut all = Vec::new();
    for i in 0..requests {
        let shape = catalog.shape(i);
        let plan = plans.get(i).cloned().flatten();
        let mut steps = hostile_steps(&shape);
        if let (Some(contract), Some(plan)) = (contract, &plan) {
            for step in &mut steps {
                step.expect = plan.expectation_of(contract, step);
            }
            steps.extend(contract_steps(plan));
        } else {
            steps.extend(json_steps(&shape));
        }
        all.extend(steps.into_iter().map(|step| {
            let mut scenario = Scenario::new();
            for _ in 0..i {
                scenario = scenario.then(Step::baseline());
            }
            scenario.then(step)
        }));
    }
    all.extend(held_at_routes(catalog, contract, plans));
    sampled_evenly(all, MAX_COVERAGE)
}

/// Every fault that does not depend on the body's JSON: transport, framing, status,
/// body bytes, headers, and `Retry-After` paired with its status.
fn hostile_steps(shape: &Shape) -> Vec<Step> {
    let wire = shape.wire_len.max(1);
    let body = shape.body_len.max(1);
    let mut steps: Vec<Step> = Vec::new();
    let transports = [
        Transport::EmptyResponse,
        Transport::ResetPeer { after_bytes: 0 },
        Transport::ResetPeer {
            after_bytes: wire / 2,
        },
        Transport::LimitData { bytes: wire / 2 },
        Transport::Timeout { after_bytes: 0 },
        Transport::Timeout {
            after_bytes: wire / 2,
        },
        Transport::Slicer {
            bytes: 1,
            delay_ms: (SLOW_BUDGET_MS / wire as u64).max(1),
        },
        Transport::Latency {
            ms: SLOW_BUDGET_MS / 2,
        },
    ];
    steps.extend(transports.into_iter().map(|transport| Step {
        transport,
        ..Step::default()
    }));
    let framings = [
        Framing::ContentLengthTooLong { by: 1 },
        Framing::ContentLengthTooShort { by: 1 },
        Framing::CloseDelimited,
        Framing::Chunked { size: 7 },
        Framing::MalformedChunk(ChunkFault::InvalidSize),
        Framing::MalformedChunk(ChunkFault::ShortChunk),
        Framing::MalformedChunk(ChunkFault::MissingLastChunk),
        Framing::BothLengths,
        Framing::ContentLengthTwice { by: 10 },
    ];
    let absurd = ABSURD_LENGTHS.map(|value| Framing::ContentLengthValue {
        value: value.into(),
    });
    steps.extend(framings.into_iter().chain(absurd).map(|framing| Step {
        framing,
        ..Step::default()
    }));
    let mut mutations: Vec<Mutation> = STATUSES.iter().map(|s| Mutation::Status(*s)).collect();
    mutations.extend([500, 502, 503, 504].map(|status| Mutation::HtmlErrorPage { status }));
    mutations.extend([
        Mutation::TruncateBody { at: 0 },
        Mutation::TruncateBody { at: body / 2 },
        Mutation::InvalidUtf8 { at: body / 2 },
        Mutation::PrependBom,
        Mutation::EmptyBody,
    ]);
    mutations.extend(
        [
            "null",
            "[]",
            "{}",
            "\"ok\"",
            "NaN",
            "{\"id\":1,\"id\":2}",
            "<?xml version=\"1.0\"?><error>upstream</error>",
        ]
        .map(|text| Mutation::ReplaceBody { text: text.into() }),
    );
    let set = |name: &str, value: &str| Mutation::SetHeader {
        name: name.into(),
        value: value.into(),
    };
    for value in [
        "text/html",
        "text/plain",
        "application/xml",
        "application/json; charset=utf-16",
    ] {
        mutations.push(set("content-type", value));
    }
    for value in ["gzip", "br"] {
        mutations.push(set("content-encoding", value));
    }
    for name in &shape.headers {
        mutations.push(Mutation::RemoveHeader { name: name.clone() });
        mutations.push(Mutation::DuplicateHeader { name: name.clone() });
    }
    mutations.push(Mutation::InvalidHeaderBytes {
        name: "set-cookie".into(),
    });
    steps.extend(mutations.into_iter().map(|m| Step {
        mutations: vec![m],
        ..Step::default()
    }));
    // Paired faults: a status and its Retry-After, as one unit.
    for status in [429, 503] {
        let dates = [3, DAY].map(|after_secs| Mutation::SetHeaderAt {
            name: "retry-after".into(),
            after_secs,
            form: Moment::HttpDate,
        });
        let forms = RETRY_AFTER_FORMS
            .iter()
            .map(|form| form.map(|value| set("retry-after", value)))
            .chain(dates.map(Some));
        for form in forms {
            let mut pair = vec![Mutation::Status(status)];
            pair.extend(form);
            steps.push(Step {
                mutations: pair,
                ..Step::default()
            });
        }
    }
    steps.extend(rate_limits());
    steps.extend(integer_limits(shape));
    steps.extend(deep_payloads(shape));
    steps.extend(persistent_steps(shape));
    steps.extend(after_effect_steps(shape));
    steps
}

/// Every integer of the body at each of [`INTEGER_LIMITS`], where clients allocate or
/// count from it.
fn integer_limits(shape: &Shape) -> Vec<Step> {
    shape
        .integers
        .iter()
        .flat_map(|path| {
            INTEGER_LIMITS.map(|limit| Step {
                mutations: vec![Mutation::Json {
                    path: path.clone(),
                    change: JsonChange::ReplaceWith { json: limit.into() },
                }],
                ..Step::default()
            })
        })
        .collect()
}

/// Depths of nesting tried in the coverage phase: the deepest serde_json reads, one
/// past it, and as deep as a parser without a limit reads until its stack runs out.
const DEEP: [usize; 4] = [127, 129, 10_000, 100_000];
/// The longest string the coverage phase serves: 64 Ki characters.
const LONGEST_STRING: usize = 65_536;
/// The longest array the coverage phase asks for, in items (the mutation bounds it
/// to 256 KiB).
const LONGEST_ARRAY: usize = 65_536;
/// The most paths of one kind given a deep payload each.
const DEEP_PATHS: usize = 8;

/// Payloads deep enough to crash a client that recurses or preallocates: every
/// string 64 Ki characters long, the first array (else the first value below the
/// root) nested [`DEEP`] levels deep, and every array [`LONGEST_ARRAY`] items long.
/// Each is bounded in the provider's memory (a few MiB at most).
fn deep_payloads(shape: &Shape) -> Vec<Step> {
    let at = |path: &String, change: JsonChange| Step {
        mutations: vec![Mutation::Json {
            path: path.clone(),
            change,
        }],
        ..Step::default()
    };
    let mut steps: Vec<Step> = shape
        .strings
        .iter()
        .take(DEEP_PATHS)
        .map(|path| {
            at(
                path,
                JsonChange::LongString {
                    len: LONGEST_STRING,
                },
            )
        })
        .collect();
    let nested = shape
        .arrays
        .first()
        .or_else(|| shape.json_paths.iter().find(|p| !p.is_empty()));
    if let Some(path) = nested {
        steps.extend(DEEP.map(|depth| at(path, JsonChange::DeepNesting { depth })));
    }
    steps.extend(
        shape
            .arrays
            .iter()
            .take(DEEP_PATHS)
            .map(|path| at(path, JsonChange::LongArray { len: LONGEST_ARRAY })),
    );
    steps
}

/// Faults that hold from the request on, for the rest of the case: the provider stays
/// down (503, 500, 429, resets), and every page says there is more (each `false` flag
/// made `true` for good, alone and with every array emptied).
fn persistent_steps(shape: &Shape) -> Vec<Step> {
    let always = |step: Step| step.repeat(Repeat::Always);
    let mut steps: Vec<Step> = [503, 500, 429]
        .map(|status| always(Step::baseline().with(Mutation::Status(status))))
        .into();
    steps.push(always(
        Step::baseline().sent(Transport::ResetPeer { after_bytes: 0 }),
    ));
    steps.extend(more_pages(shape).into_iter().map(always));
    steps
}

/// Each `false` flag made `true` (there is more), alone and with every array emptied.
fn more_pages(shape: &Shape) -> Vec<Step> {
    let mut steps = Vec::new();
    for flag in &shape.false_flags {
        let more = Mutation::Json {
            path: flag.clone(),
            change: JsonChange::ReplaceWith {
                json: "true".into(),
            },
        };
        steps.push(Step::baseline().with(more.clone()));
        if !shape.arrays.is_empty() {
            let emptied = shape.arrays.iter().map(|path| Mutation::Json {
                path: path.clone(),
                change: JsonChange::EmptyArray,
            });
            let mut step = Step::baseline().with(more);
            step.mutations.extend(emptied);
            steps.push(step);
        }
    }
    steps
}

/// States a polling client waits on, guessed where no contract lists a field's
/// values: the words providers use for an operation not yet done.
const WAITING_STATES: [&str; 3] = ["pending", "processing", "in_progress"];

/// The most states held at one field.
const MAX_STATES: usize = 8;

/// Steps that hold at one operation for the rest of the case, from its first request,
/// while every other operation keeps answering: each other value of a state field
/// (the operation stays `processing`; under a contract, each value its enum lists and
/// that conforms, else the usual waiting words), and, where the client calls more
/// than one operation, the API that stays down or keeps answering 401 while the token
/// endpoint answers, and the listing that always has more.
fn held_at_routes(
    catalog: &Catalog,
    contract: Option<&Arc<Contract>>,
    plans: &[Option<Plan>],
) -> Vec<Scenario> {
    let routes = catalog.routes();
    let mut all = Vec::new();
    for route in &routes {
        let Some(i) = catalog
            .requests
            .iter()
            .position(|s| s.route.as_ref() == Some(route))
        else {
            continue;
        };
        let shape = &catalog.requests[i];
        let plan = plans.get(i).and_then(Option::as_ref);
        let planned = contract.zip(plan);
        let mut steps = Vec::new();
        if routes.len() > 1 {
            steps.extend([401, 500, 503, 429].map(|s| Step::baseline().with(Mutation::Status(s))));
            steps.push(Step::baseline().sent(Transport::ResetPeer { after_bytes: 0 }));
            steps.extend(more_pages(shape));
            if let Some((contract, plan)) = planned {
                for step in &mut steps {
                    step.expect = plan.expectation_of(contract, step);
                }
            }
        }
        steps.extend(held_states(shape, planned));
        // An operation the client called more than once (pages, polls): every later
        // answer holds the items, or the cursor, of the first, so a listing never runs
        // out however far the client pages, while its totals and flags stay as they
        // were.
        let called = catalog
            .requests
            .iter()
            .filter(|s| s.route.as_ref() == Some(route));
        if called.count() > 1 {
            steps.extend(never_empty(shape, planned));
        }
        all.extend(
            steps
                .into_iter()
                .map(|step| Scenario::new().then(step.at(route.clone()).repeat(Repeat::Always))),
        );
    }
    all
}

/// Each array with items, served with those items on every request, and each cursor
/// or link to the next page, served as the first page gave it (it points back at a
/// page already served: a client that follows it blindly pages in a cycle): under a
/// contract only where that conforms.
fn never_empty(shape: &Shape, planned: Option<(&Arc<Contract>, &Plan)>) -> Vec<Step> {
    shape
        .filled
        .iter()
        .chain(&shape.cursors)
        .map(|(path, items)| Mutation::Json {
            path: path.clone(),
            change: JsonChange::ReplaceWith {
                json: items.clone(),
            },
        })
        .filter_map(|mutation| conforming_hold(mutation, planned))
        .collect()
}

/// A step that holds this mutation: under a contract only when the baseline with it
/// conforms. It carries no expectation: a state the provider may stay in is judged by
/// what the client does across requests (polls without end, back to back), and a
/// client that gives up on it with an error after a bounded wait is right, strict
/// mode or not.
fn conforming_hold(mutation: Mutation, planned: Option<(&Arc<Contract>, &Plan)>) -> Option<Step> {
    if let Some((contract, plan)) = planned {
        let mut response = plan.baseline.clone();
        mutation.apply(&mut response);
        let body = serde_json::from_slice(&response.body).ok()?;
        contract.validate(&plan.pointer, &body).ok()?;
    }
    Some(Step::baseline().with(mutation))
}

/// Each other value of each state field of the shape: under a contract, the values
/// its enum lists that conform; elsewhere, the usual waiting words.
fn held_states(shape: &Shape, planned: Option<(&Arc<Contract>, &Plan)>) -> Vec<Step> {
    let mut steps = Vec::new();
    for (path, current) in &shape.states {
        let listed = planned
            .map(|(contract, plan)| super::conformance::enum_values(contract, &plan.pointer, path))
            .unwrap_or_default();
        let values: Vec<String> = match listed.is_empty() {
            true => WAITING_STATES.map(str::to_owned).into(),
            false => listed,
        };
        let held = values
            .into_iter()
            .filter(|v| v != current)
            .map(|value| Mutation::Json {
                path: path.clone(),
                change: JsonChange::ReplaceWith {
                    json: serde_json::Value::String(value).to_string(),
                },
            })
            .filter_map(|mutation| conforming_hold(mutation, planned));
        steps.extend(held.take(MAX_STATES));
    }
    steps
}

/// On a request that performed an effect: the effect, then a fault (a 500, a 503, a
/// reset, a close with no reply, a stall): the charge is taken and the client cannot
/// know it.
fn after_effect_steps(shape: &Shape) -> Vec<Step> {
    if !shape.effect {
        return Vec::new();
    }
    let mut steps: Vec<Step> = [500, 503]
        .map(|status| Step::baseline().with(Mutation::Status(status)))
        .into();
    for transport in [
        Transport::ResetPeer { after_bytes: 0 },
        Transport::EmptyResponse,
        Transport::Timeout { after_bytes: 0 },
    ] {
        steps.push(Step::baseline().sent(transport));
    }
    steps.into_iter().map(Step::after_effect).collect()
}

/// Every JSON change at every path of the response (no contract to say which break it).
fn json_steps(shape: &Shape) -> Vec<Step> {
    let changes = [
        JsonChange::Remove,
        JsonChange::Null,
        JsonChange::ChangeType,
        JsonChange::HugeNumber,
        JsonChange::BeyondFloatPrecision,
        JsonChange::NegativeNumber,
        JsonChange::FractionalNumber,
        JsonChange::NumberAsString,
        JsonChange::LongString { len: 1024 },
        JsonChange::UnicodeString,
        JsonChange::ControlCharString,
        JsonChange::EmptyArray,
        JsonChange::DeepNesting { depth: 200 },
        JsonChange::UnknownEnumValue,
    ];
    shape
        .json_paths
        .iter()
        .flat_map(|path| {
            changes.iter().map(move |change| Step {
                mutations: vec![Mutation::Json {
                    path: path.clone(),
                    change: change.clone(),
                }],
                ..Step::default()
            })
        })
        .collect()
}

/// Under a contract: each clause the baseline can break, once, each conforming
/// change, once, and each way of writing the baseline that means the same, once.
fn contract_steps(plan: &Plan) -> Vec<Step> {
    let breaking = plan.breaking.iter().map(|b| Step {
        mutations: vec![b.mutation()],
        expect: Some(Expectation::Reject {
            clause: b.clause.clone(),
        }),
        ..Step::default()
    });
    let conforming = [
        (&plan.additive, Expectation::Conform),
        (&plan.equivalent, Expectation::Accept),
    ]
    .into_iter()
    .flat_map(|(changes, expect)| {
        changes.iter().map(move |m| Step {
            mutations: vec![m.clone()],
            expect: Some(expect.clone()),
            ..Step::default()
        })
    });
    breaking.chain(conforming).collect()
}

/// At most `max` of `all`, spread evenly over it, in order.
fn sampled_evenly<T>(all: Vec<T>, max: usize) -> Vec<T> {
    if all.len() <= max {
        return all;
    }
    let n = all.len();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| (i * max) / n != ((i + 1) * max) / n)
        .map(|(_, t)| t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_keeps_exactly_the_budget_spread_evenly() {
        let kept = sampled_evenly((0..10).collect::<Vec<_>>(), 4);
        assert_eq!(kept.len(), 4);
        assert_eq!(sampled_evenly((0..3).collect::<Vec<_>>(), 4), [0, 1, 2]);
    }
}
