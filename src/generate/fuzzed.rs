//! Scenarios decoded from a fuzzer's bytes (`arbitrary`): the same vocabulary as the
//! proptest [`strategies`](super::strategies) and the coverage phase, aimed by the
//! same catalog and contract plans, so that libFuzzer mutates faults, mutations and
//! JSON values rather than raw bytes.
//!
//! Implementation notes: every choice reads as few bytes as it can, and the first
//! alternative of every choice is the plain one, so that the empty input decodes to
//! one baseline step (the pass-through case) and libFuzzer's byte-level mutations of
//! an input change one choice at a time. Slowness is bounded as in the strategies
//! (`SLOW_BUDGET_MS`), scaled to the deadline the fuzzer runs with.

use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

use crate::contract::{generalized, Contract};
use crate::scenario::{
    ChunkFault, Delivery, Expectation, Framing, JsonChange, Mutation, Repeat, Scenario, Step,
    Transport,
};
use crate::webhook::Webhooks;

use super::catalog::{Catalog, Shape};
use super::coverage::{ABSURD_LENGTHS, INTEGER_LIMITS};
use super::plan::Plan;
use super::strategies::{
    conforming_step, CONTENT_TYPES, DEPTHS, ENCODINGS, HTML_STATUSES, LONG_ARRAYS, LONG_STRINGS,
    ODD_BODIES, ODD_STATUSES, RETRY_AFTERS, SLOW_BUDGET_MS, TROUBLE_STATUSES,
};

/// Paths offered to JSON mutations when the catalog knows none (a scenario decoded
/// with no baseline in view): the names payment APIs use most.
const COMMON_PATHS: [&str; 8] = [
    "",
    "id",
    "amount",
    "status",
    "currency",
    "data",
    "data[0].id",
    "has_more",
];

/// What decoding aims at: the baseline's shapes, and the contract's plan for each
/// request (with its conforming generator, built once).
pub(crate) struct Vocabulary {
    catalog: Catalog,
    max_steps: usize,
    pace: Pace,
    contract: Option<Arc<Contract>>,
    plans: Vec<Option<Planned>>,
    /// A webhook campaign's deliveries: the plain events, then every hostile one.
    deliveries: Option<(Vec<Delivery>, Vec<Delivery>)>,
}

/// A request's plan, with what decoding needs of it made once.
struct Planned {
    plan: Plan,
    /// Its conforming generator.
    conforming: BoxedStrategy<Value>,
    /// The shape hostile steps aim at: the paths the client does not ignore.
    hostile: Shape,
}

impl Vocabulary {
    /// Decoding aimed by this catalog (no contract), `max_steps` steps at most, slow
    /// responses taking at most `slow_budget_ms` in all.
    pub(crate) fn new(catalog: Catalog, max_steps: usize, slow_budget_ms: u64) -> Self {
        Self {
            catalog,
            max_steps: max_steps.max(1),
            pace: Pace {
                slow_budget_ms: slow_budget_ms.clamp(1, SLOW_BUDGET_MS),
                short: false,
            },
            contract: None,
            plans: Vec::new(),
            deliveries: None,
        }
    }

    /// Waits kept short: a slow response takes [`SHORT_SLOW_MS`] at most (a drip
    /// still comes in slices, without the pauses), and a fault that leaves the client
    /// waiting on an open connection (a stall, a body shorter than its length or its
    /// chunks say) is served whole and then closed, but one time in [`RARE_STALL`].
    /// What libFuzzer decodes by default: hangs are the campaign's to find, and an
    /// execution spent waiting on the client's own timeout is one not spent on inputs.
    pub(crate) fn short_waits(mut self) -> Self {
        self.pace = Pace {
            slow_budget_ms: SHORT_SLOW_MS,
            short: true,
        };
        self
    }

    /// Deliveries of these webhooks too, after the steps.
    pub(crate) fn delivering(mut self, webhooks: &Webhooks) -> Self {
        let plain = super::deliveries::probe(webhooks).deliveries;
        self.deliveries = Some((plain, super::deliveries::variants(webhooks)));
        self
    }

    /// Steps judged by this contract's plans, one per request of the probe.
    pub(crate) fn under_contract(
        mut self,
        contract: Arc<Contract>,
        plans: Vec<Option<Plan>>,
    ) -> Self {
        self.plans = plans
            .into_iter()
            .enumerate()
            .map(|(i, plan)| {
                plan.map(|plan| {
                    let conforming = super::conformance::conforming(&contract, &plan.pointer);
                    let mut hostile = self.catalog.shape(i);
                    hostile.json_paths.retain(|p| {
                        !plan
                            .ignored_paths
                            .iter()
                            .any(|i| generalized(i) == generalized(p))
                    });
                    Planned {
                        plan,
                        conforming,
                        hostile,
                    }
                })
            })
            .collect();
        self.contract = Some(contract);
        self
    }

    /// The scenario these bytes decode to: 1 to `max_steps` steps.
    pub(crate) fn scenario(&self, u: &mut Unstructured<'_>) -> Result<Scenario> {
        let n = u.int_in_range(1..=self.max_steps)?;
        let mut steps = Vec::with_capacity(n);
        // Where the client calls more than one operation, a step now and then holds
        // at the operation of the request it would meet, as `strategies::scenarios`.
        for i in 0..n {
            steps.push(self.step(u, i)?);
        }
        // Decoded after every step, so the steps an input decodes to stay the same.
        if self.catalog.routes().len() > 1 {
            for (i, step) in steps.iter_mut().enumerate() {
                if !step.is_baseline() && one_in(u, 5)? {
                    step.at = self.catalog.shape(i).route;
                }
            }
        }
        // Decoded after the steps, so a call campaign's inputs decode as before.
        let deliveries = match &self.deliveries {
            Some((plain, hostile)) => deliveries(u, plain, hostile)?,
            None => Vec::new(),
        };
        Ok(Scenario { steps, deliveries })
    }

    fn plan(&self, i: usize) -> Option<&Planned> {
        self.plans
            .get(i)
            .or(self.plans.last())
            .and_then(Option::as_ref)
    }

    fn step(&self, u: &mut Unstructured<'_>, i: usize) -> Result<Step> {
        let (Some(contract), Some(planned)) = (&self.contract, self.plan(i)) else {
            return hostile_step(u, &self.catalog.shape(i), self.pace);
        };
        let Planned {
            plan,
            conforming,
            hostile,
        } = planned;
        // As `strategies::contract_steps`: hostile (judged when the wire allows), a
        // conforming body (validated before it is served as "must accept"), a clause
        // broken, or an additive change.
        match u.choose_index(4)? {
            0 => {
                let mut step = hostile_step(u, hostile, self.pace)?;
                step.expect = plan.expectation_of(contract, &step);
                Ok(step)
            }
            1 => {
                let seed: [u8; 32] = u.arbitrary()?;
                let mut runner = TestRunner::new_with_rng(
                    Config::default(),
                    TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
                );
                let Ok(tree) = conforming.new_tree(&mut runner) else {
                    return Ok(Step::default());
                };
                Ok(conforming_step(contract, &plan.pointer, &tree.current()))
            }
            2 if !plan.breaking.is_empty() => {
                let broken = u.choose(&plan.breaking)?;
                Ok(Step {
                    mutations: vec![broken.mutation()],
                    expect: Some(Expectation::Reject {
                        clause: broken.clause.clone(),
                    }),
                    ..Step::default()
                })
            }
            3 if !plan.additive.is_empty() || !plan.equivalent.is_empty() => {
                let all = plan.additive.len() + plan.equivalent.len();
                let k = u.choose_index(all)?;
                let (mutation, expect) = match plan.additive.get(k) {
                    Some(m) => (m, Expectation::Conform),
                    None => (
                        &plan.equivalent[k - plan.additive.len()],
                        Expectation::Accept,
                    ),
                };
                Ok(Step {
                    mutations: vec![mutation.clone()],
                    expect: Some(expect),
                    ..Step::default()
                })
            }
            _ => hostile_step(u, hostile, self.pace),
        }
    }
}

/// A scenario from any bytes, with no baseline in view: JSON mutations aim at the
/// paths payment APIs use most. A fuzz target decodes with its campaign's baseline
/// and contract instead (`badgateway::fuzz::run`), through the same code.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// let scenario = badgateway::Scenario::arbitrary(&mut Unstructured::new(&[])).unwrap();
/// assert_eq!(scenario, badgateway::Scenario::new().then(badgateway::Step::baseline()));
/// let scenario = badgateway::Scenario::arbitrary(&mut Unstructured::new(&[0xff; 64])).unwrap();
/// assert!(!scenario.steps.is_empty() && scenario.steps.len() <= 3);
/// ```
impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let shape = Shape {
            json_paths: COMMON_PATHS.iter().map(|&p| p.to_owned()).collect(),
            integers: vec!["amount".into()],
            false_flags: vec!["has_more".into()],
            arrays: vec!["data".into()],
            ..Shape::default()
        };
        Vocabulary::new(
            Catalog {
                requests: vec![shape],
            },
            3,
            SLOW_BUDGET_MS,
        )
        .scenario(u)
    }
}

/// How long decoded faults may keep the client waiting.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// The most a slow response takes in all.
    slow_budget_ms: u64,
    /// Whether waits are short (see [`Vocabulary::short_waits`]).
    short: bool,
}

/// The most a slow response takes under short waits.
pub(crate) const SHORT_SLOW_MS: u64 = 2;

/// Under short waits, a fault that leaves the client waiting is kept one time in this
/// many (the bytes decide, so an input always decodes the same).
pub(crate) const RARE_STALL: usize = 256;

/// One hostile step for a response of this shape: the vocabulary of
/// `strategies::steps` and of the coverage phase's persistent and limit faults.
fn hostile_step(u: &mut Unstructured<'_>, shape: &Shape, pace: Pace) -> Result<Step> {
    let step = match u.choose_index(5)? {
        0 => return Ok(Step::baseline()),
        1 | 2 => {
            let mut mutations = vec![mutation(u, shape)?];
            if one_in(u, 4)? {
                mutations.push(mutation(u, shape)?);
            }
            Step {
                mutations,
                ..Step::default()
            }
        }
        3 => {
            let framing = framing(u, shape)?;
            // Served whole, then closed: the client that waits for more bytes meets
            // the end of the connection instead of its own timeout.
            let transport = match pace.short && leaves_waiting(&framing) && !one_in(u, RARE_STALL)?
            {
                true => Transport::LimitData { bytes: usize::MAX },
                false => Transport::Normal,
            };
            Step {
                framing,
                transport,
                ..Step::default()
            }
        }
        _ => Step {
            transport: transport(u, shape, pace)?,
            ..Step::default()
        },
    };
    let repeat = match u.choose_index(8)? {
        6 => Repeat::Times(u.int_in_range(2..=12)?),
        7 => Repeat::Always,
        _ => Repeat::Once,
    };
    let after_effect = shape.effect && one_in(u, 4)?;
    Ok(Step {
        repeat,
        after_effect,
        ..step
    })
}

/// True one time in `n`, and false when the bytes have run out (`Unstructured::ratio`
/// is true then).
/// A case's deliveries: every event plain (what the empty input decodes to), or one
/// to three, each a plain event or a hostile delivery, a later one now and then
/// repeating an earlier one, at once or after it.
fn deliveries(
    u: &mut Unstructured<'_>,
    plain: &[Delivery],
    hostile: &[Delivery],
) -> Result<Vec<Delivery>> {
    if !bool::arbitrary(u)? {
        return Ok(plain.to_vec());
    }
    let n = u.int_in_range(1..=3)?;
    let mut out: Vec<Delivery> = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && one_in(u, 4)? {
            let again = u.int_in_range(1..=i)?;
            let mut repeat = Delivery::of(&out[again - 1].event).again(again);
            repeat.at_once = again == i && bool::arbitrary(u)?;
            out.push(repeat);
            continue;
        }
        let pool = if bool::arbitrary(u)? { hostile } else { plain };
        match pool.get(u.choose_index(pool.len().max(1))?) {
            Some(delivery) => out.push(delivery.clone()),
            None => out.push(plain[0].clone()),
        }
    }
    Ok(out)
}

fn one_in(u: &mut Unstructured<'_>, n: usize) -> Result<bool> {
    Ok(u.choose_index(n)? == n - 1)
}

fn mutation(u: &mut Unstructured<'_>, shape: &Shape) -> Result<Mutation> {
    let body = shape.body_len.max(1);
    Ok(match u.choose_index(6)? {
        0 => Mutation::Status(if u.ratio(3, 5)? {
            *u.choose(&TROUBLE_STATUSES)?
        } else {
            *u.choose(&ODD_STATUSES)?
        }),
        1 => header(u, shape)?,
        2 => match u.choose_index(6)? {
            0 => Mutation::TruncateBody {
                at: u.choose_index(body)?,
            },
            1 => Mutation::InvalidUtf8 {
                at: u.choose_index(body)?,
            },
            2 => Mutation::PrependBom,
            3 => Mutation::EmptyBody,
            4 => Mutation::HtmlErrorPage {
                status: *u.choose(&HTML_STATUSES)?,
            },
            _ => Mutation::ReplaceBody {
                text: (*u.choose(&ODD_BODIES)?).to_owned(),
            },
        },
        3 if !shape.integers.is_empty() => Mutation::Json {
            path: u.choose(&shape.integers)?.clone(),
            change: JsonChange::ReplaceWith {
                json: (*u.choose(&INTEGER_LIMITS)?).to_owned(),
            },
        },
        4 if !shape.false_flags.is_empty() => Mutation::Json {
            path: u.choose(&shape.false_flags)?.clone(),
            change: JsonChange::ReplaceWith {
                json: "true".into(),
            },
        },
        _ if shape.json_paths.is_empty() => Mutation::EmptyBody,
        _ => Mutation::Json {
            path: u.choose(&shape.json_paths)?.clone(),
            change: json_change(u)?,
        },
    })
}

fn header(u: &mut Unstructured<'_>, shape: &Shape) -> Result<Mutation> {
    let set = |name: &str, value: &str| Mutation::SetHeader {
        name: name.into(),
        value: value.into(),
    };
    let fallback = ["content-type".to_owned()];
    let names: &[String] = if shape.headers.is_empty() {
        &fallback
    } else {
        &shape.headers
    };
    Ok(match u.choose_index(6)? {
        0 => set("content-type", u.choose(&CONTENT_TYPES)?),
        1 => set("content-encoding", u.choose(&ENCODINGS)?),
        2 => set("retry-after", u.choose(&RETRY_AFTERS)?),
        3 => Mutation::RemoveHeader {
            name: u.choose(names)?.clone(),
        },
        4 => Mutation::DuplicateHeader {
            name: u.choose(names)?.clone(),
        },
        _ => Mutation::InvalidHeaderBytes {
            name: "set-cookie".into(),
        },
    })
}

fn json_change(u: &mut Unstructured<'_>) -> Result<JsonChange> {
    Ok(match u.choose_index(14)? {
        0 => JsonChange::Remove,
        1 => JsonChange::Null,
        2 => JsonChange::ChangeType,
        3 => JsonChange::HugeNumber,
        4 => JsonChange::BeyondFloatPrecision,
        5 => JsonChange::NegativeNumber,
        6 => JsonChange::FractionalNumber,
        7 => JsonChange::NumberAsString,
        8 => JsonChange::LongString {
            len: *u.choose(&LONG_STRINGS)?,
        },
        9 => JsonChange::UnicodeString,
        10 => JsonChange::ControlCharString,
        11 => JsonChange::EmptyArray,
        // A size past what a client expects: one byte chooses a depth of nesting
        // or a length of array, so every other change decodes as it always did.
        12 => match u.choose_index(DEPTHS.len() + LONG_ARRAYS.len())? {
            k if k < DEPTHS.len() => JsonChange::DeepNesting { depth: DEPTHS[k] },
            k => JsonChange::LongArray {
                len: LONG_ARRAYS[k - DEPTHS.len()],
            },
        },
        _ => JsonChange::UnknownEnumValue,
    })
}

fn framing(u: &mut Unstructured<'_>, shape: &Shape) -> Result<Framing> {
    let body = shape.body_len.max(1);
    Ok(match u.choose_index(8)? {
        0 => Framing::ContentLengthTooLong {
            by: u.int_in_range(1..=64)?,
        },
        1 => Framing::ContentLengthTooShort {
            by: u.int_in_range(1..=body)?,
        },
        2 => Framing::CloseDelimited,
        3 => Framing::Chunked {
            size: u.int_in_range(1..=body)?,
        },
        4 => Framing::MalformedChunk(*u.choose(&[
            ChunkFault::InvalidSize,
            ChunkFault::ShortChunk,
            ChunkFault::MissingLastChunk,
        ])?),
        5 => Framing::BothLengths,
        6 => Framing::ContentLengthTwice {
            by: u.int_in_range(1..=64)?,
        },
        _ => Framing::ContentLengthValue {
            value: (*u.choose(&ABSURD_LENGTHS)?).to_owned(),
        },
    })
}

/// Whether a framing leaves a client waiting for bytes that never come, on a
/// connection the provider keeps open.
fn leaves_waiting(framing: &Framing) -> bool {
    matches!(
        framing,
        Framing::ContentLengthTooLong { .. }
            | Framing::ContentLengthTwice { .. }
            | Framing::ContentLengthValue { .. }
            | Framing::MalformedChunk(ChunkFault::ShortChunk | ChunkFault::MissingLastChunk)
    )
}

fn transport(u: &mut Unstructured<'_>, shape: &Shape, pace: Pace) -> Result<Transport> {
    let slow_budget_ms = pace.slow_budget_ms;
    let wire = shape.wire_len.max(1);
    Ok(match u.choose_index(6)? {
        0 => Transport::EmptyResponse,
        1 => Transport::ResetPeer {
            after_bytes: u.choose_index(wire)?,
        },
        2 => Transport::LimitData {
            bytes: u.choose_index(wire)?,
        },
        3 => {
            let after_bytes = u.choose_index(wire)?;
            match pace.short && !one_in(u, RARE_STALL)? {
                // The stall, cut short: the same bytes, then the end of the connection.
                true => Transport::LimitData { bytes: after_bytes },
                false => Transport::Timeout { after_bytes },
            }
        }
        4 => {
            let bytes = u.int_in_range(1..=32_usize)?;
            let slices = wire.div_ceil(bytes).max(1) as u64;
            let delay_ms = u
                .int_in_range(1..=400_u64)?
                .min((slow_budget_ms / slices).max(1));
            Transport::Slicer {
                bytes,
                delay_ms: if pace.short { 0 } else { delay_ms },
            }
        }
        _ => Transport::Latency {
            ms: u.int_in_range(1..=slow_budget_ms)?,
        },
    })
}
