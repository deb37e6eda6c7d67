//! proptest strategies for hostile provider behaviour: deterministic, no I/O.
//!
//! The strategies are shaped by a [`Catalog`] of what the baseline responses look like
//! (their JSON paths, headers and sizes), so a JSON mutation lands on a value the
//! response really has, and a cut lands inside the response rather than past its end.
//! A campaign builds the catalog from one unmodified run of your code (the probe).

use proptest::prelude::*;
use proptest::sample::select;

use std::sync::Arc;

use crate::contract::{generalized, Contract};

pub use super::catalog::{Catalog, Shape};
pub use super::plan::Plan;
use crate::scenario::{
    ChunkFault, Expectation, Framing, JsonChange, Mutation, Repeat, Scenario, Step, Transport,
};

/// Statuses of a provider in trouble.
pub(crate) const TROUBLE_STATUSES: [u16; 5] = [500, 502, 503, 504, 429];
/// Statuses that are right but unexpected, or plain wrong.
pub(crate) const ODD_STATUSES: [u16; 12] =
    [400, 401, 403, 404, 409, 422, 200, 201, 202, 204, 301, 418];
/// Content types a JSON API should not answer with.
pub(crate) const CONTENT_TYPES: [&str; 4] = [
    "text/html",
    "text/plain",
    "application/xml",
    "application/json; charset=utf-16",
];
/// Content encodings, claimed of a body that has none.
pub(crate) const ENCODINGS: [&str; 3] = ["gzip", "br", "identity"];
/// `Retry-After` in every format, sane or not.
pub(crate) const RETRY_AFTERS: [&str; 7] = [
    "0",
    "2",
    "0.493",
    "-1",
    "86400",
    "Wed, 21 Oct 2026 07:28:00 GMT",
    "soon",
];
/// Bodies that parse as something other than what was promised.
pub(crate) const ODD_BODIES: [&str; 8] = [
    "null",
    "[]",
    "{}",
    "\"ok\"",
    "NaN",
    "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"try again\"}}",
    "{\"id\":1,\"id\":2}",
    "<?xml version=\"1.0\"?><error>upstream</error>",
];
/// Statuses of a load balancer's HTML error page.
pub(crate) const HTML_STATUSES: [u16; 4] = [500, 502, 503, 504];
/// Lengths of a long string.
pub(crate) const LONG_STRINGS: [usize; 8] = [0, 1, 3, 64, 255, 256, 1024, 65_536];
/// Depths of nesting around a value (serde_json stops at 128).
pub(crate) const DEPTHS: [usize; 9] = [2, 32, 127, 128, 129, 200, 1000, 10_000, 100_000];
/// Lengths of arrays made long.
pub(crate) const LONG_ARRAYS: [usize; 3] = [2, 1000, 65_536];

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
    let flows = catalog.routes().len() > 1;
    let per_step: Vec<BoxedStrategy<Step>> = (0..max_steps.max(1))
        .map(|i| addressed(steps(&catalog.shape(i)).boxed(), &catalog.shape(i), flows))
        .collect();
    (1..=per_step.len(), per_step).prop_map(|(n, mut all)| {
        all.truncate(n);
        Scenario {
            steps: all,
            ..Scenario::default()
        }
    })
}

/// Where the client calls more than one operation (`flows`), the step now and then
/// held at the operation of the request it would meet: it answers that operation's
/// requests only, while the others keep answering.
fn addressed(step: BoxedStrategy<Step>, shape: &Shape, flows: bool) -> BoxedStrategy<Step> {
    let Some(route) = shape.route.clone().filter(|_| flows) else {
        return step;
    };
    let held = prop_oneof![4 => Just(false), 1 => Just(true)];
    (step, held)
        .prop_map(move |(step, held)| match held && !step.is_baseline() {
            true => step.at(route.clone()),
            false => step,
        })
        .boxed()
}

/// One step for a response of this shape: mostly mutations, often framing and
/// transport faults, sometimes the baseline unchanged. Now and then a fault holds for
/// several requests or for good ([`repeats`]), and on a request with an effect it
/// may come after the effect.
pub fn steps(shape: &Shape) -> impl Strategy<Value = Step> {
    let after_effect = if shape.effect {
        prop_oneof![3 => Just(false), 1 => Just(true)].boxed()
    } else {
        Just(false).boxed()
    };
    let step = prop_oneof![
        1 => Just(Step::baseline()),
        6 => proptest::collection::vec(mutations(shape), 1..=2)
            .prop_map(|mutations| Step { mutations, ..Step::default() }),
        2 => framings(shape).prop_map(|framing| Step { framing, ..Step::default() }),
        3 => transports(shape).prop_map(|transport| Step { transport, ..Step::default() }),
    ];
    (step, repeats(), after_effect).prop_map(|(step, repeat, after_effect)| {
        if step.is_baseline() {
            return step;
        }
        Step {
            repeat,
            after_effect,
            ..step
        }
    })
}

/// How many requests a generated fault holds for: mostly one, sometimes a few, now
/// and then for good.
pub fn repeats() -> impl Strategy<Value = Repeat> {
    prop_oneof![
        12 => Just(Repeat::Once),
        2 => (2_u32..=12).prop_map(Repeat::Times),
        1 => Just(Repeat::Always),
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
        select(HTML_STATUSES.to_vec()).prop_map(|status| Mutation::HtmlErrorPage { status }),
        select(ODD_BODIES.to_vec()).prop_map(|text| Mutation::ReplaceBody { text: text.into() }),
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
        3 => select(TROUBLE_STATUSES.to_vec()),
        2 => select(ODD_STATUSES.to_vec()),
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
        set("content-type", CONTENT_TYPES.to_vec()),
        set("content-encoding", ENCODINGS.to_vec()),
        set("retry-after", RETRY_AFTERS.to_vec()),
        select(names.clone()).prop_map(|name| Mutation::RemoveHeader { name }),
        select(names).prop_map(|name| Mutation::DuplicateHeader { name }),
        Just(Mutation::InvalidHeaderBytes {
            name: "set-cookie".into()
        }),
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
        select(LONG_STRINGS.to_vec()).prop_map(|len| JsonChange::LongString { len }),
        Just(JsonChange::UnicodeString),
        Just(JsonChange::ControlCharString),
        Just(JsonChange::EmptyArray),
        select(DEPTHS.to_vec()).prop_map(|depth| JsonChange::DeepNesting { depth }),
        Just(JsonChange::UnknownEnumValue),
        select(LONG_ARRAYS.to_vec()).prop_map(|len| JsonChange::LongArray { len }),
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
        (1..=64_usize).prop_map(|by| Framing::ContentLengthTwice { by }),
        select(crate::generate::coverage::ABSURD_LENGTHS.to_vec()).prop_map(|value| {
            Framing::ContentLengthValue {
                value: value.into(),
            }
        }),
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
        (1..=32_usize, 1..=400_u64).prop_map(move |(bytes, delay_ms)| {
            // The whole drip takes at most SLOW_BUDGET_MS: slow, but finite.
            let slices = wire.div_ceil(bytes).max(1) as u64;
            let delay_ms = delay_ms.min((SLOW_BUDGET_MS / slices).max(1));
            Transport::Slicer { bytes, delay_ms }
        }),
        (1..=SLOW_BUDGET_MS).prop_map(|ms| Transport::Latency { ms }),
    ]
}

/// How long a generated slow response (latency, a drip) takes at most: below the
/// default deadline, so that slowness alone is never a hang. Stalls (`timeout`) are
/// the faults whose point is to never finish.
pub const SLOW_BUDGET_MS: u64 = 1_500;

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
    let flows = catalog.routes().len() > 1;
    let per_step: Vec<BoxedStrategy<Step>> = (0..max_steps.max(1))
        .map(|i| {
            let step = contract_steps(&catalog.shape(i), contract, plan(i).as_ref());
            addressed(step, &catalog.shape(i), flows)
        })
        .collect();
    (1..=per_step.len(), per_step).prop_map(|(n, mut all)| {
        all.truncate(n);
        Scenario {
            steps: all,
            ..Scenario::default()
        }
    })
}

/// The step that serves a generated `value` as conforming ("must accept") when the
/// contract's validator accepts it at `pointer`, else the plain baseline, judging
/// nothing.
pub(crate) fn conforming_step(
    contract: &Contract,
    pointer: &str,
    value: &serde_json::Value,
) -> Step {
    match contract.validate(pointer, value) {
        Ok(()) => Step {
            mutations: vec![Mutation::ReplaceBody {
                text: value.to_string(),
            }],
            expect: Some(Expectation::Conform),
            ..Step::default()
        },
        Err(_) => Step::default(),
    }
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
    // Hostile changes are not aimed at what the client does not depend on.
    let mut shape = shape.clone();
    shape.json_paths.retain(|p| {
        !plan
            .ignored_paths
            .iter()
            .any(|i| generalized(i) == generalized(p))
    });
    let (judge, judged_plan) = (contract.clone(), plan.clone());
    let hostile = steps(&shape).prop_map(move |mut step| {
        step.expect = judged_plan.expectation_of(&judge, &step);
        step
    });
    // A generated value is served as "must accept" only once the contract's own
    // validator accepts it: a format or keyword the generator gets wrong must never
    // call a correct client's rejection a false one. A value that fails is served as
    // the plain baseline instead, judging nothing.
    let (validator, pointer) = (contract.clone(), plan.pointer.clone());
    let conforming = crate::generate::conformance::conforming(contract, &plan.pointer)
        .prop_map(move |value| conforming_step(&validator, &pointer, &value));
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
    for (changes, expect) in [
        (&plan.additive, Expectation::Conform),
        (&plan.equivalent, Expectation::Accept),
    ] {
        if !changes.is_empty() {
            let step = select(changes.clone()).prop_map(move |m| Step {
                mutations: vec![m],
                expect: Some(expect.clone()),
                ..Step::default()
            });
            options.push((1, step.boxed()));
        }
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}
