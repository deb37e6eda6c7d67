//! What the contract says about one request of the probe: where its response schema
//! is, and the changes that break it at one clause or conform to it.

use serde_json::Value;

use crate::contract::Contract;
use crate::error::{Error, ErrorKind};
use crate::provider::journal::Journal;
use crate::scenario::response::Response;
use crate::scenario::{Expectation, Framing, JsonChange, Mutation, Step, Transport};

/// What the contract says about one request of the probe: where its response
/// schema is, the baseline response, and the changes that break it or conform to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Pointer to the response schema in the contract.
    pub pointer: String,
    /// The baseline response (it conforms).
    pub baseline: Response,
    /// Changes to the baseline body that break one clause each.
    pub breaking: Vec<crate::generate::conformance::Breaking>,
    /// Changes the contract calls conforming (new enum values, when enums may grow):
    /// they may mean something new, so a client may refuse them.
    pub additive: Vec<Mutation>,
    /// The baseline written in ways that mean the same (a property added, keys
    /// reordered, whitespace, escapes): a client must accept them.
    pub equivalent: Vec<Mutation>,
    /// Paths of the baseline body the client does not depend on (ignored by path or
    /// by schema name): hostile changes are not aimed at them.
    pub ignored_paths: Vec<String>,
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
        let ignored_paths = crate::generate::conformance::ignored_paths(contract, pointer, &body);
        let mut breaking = crate::generate::conformance::breaking(contract, pointer, &body);
        // A value the client does not depend on is not judged missing or broken either.
        breaking.retain(|b| !ignored_paths.contains(&b.path));
        Ok(Plan {
            pointer: pointer.to_owned(),
            breaking,
            additive: crate::generate::conformance::additive(contract, pointer, &body),
            equivalent: crate::generate::equivalent::equivalents(contract, pointer, &body),
            ignored_paths,
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
            return reject(NOT_A_SUCCESS);
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
            // Nesting deeper than serde_json's limit is still JSON, and clients with
            // other parsers read it: judge a deep-nesting change by the same change at a
            // depth the validator can read (the schema's verdict at that path is the
            // same), and anything else too deep not at all, never as "not JSON".
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                return self.expectation_of(contract, &shallower(step)?);
            }
            Err(_) => return reject("body: not JSON"),
        };
        let long_array = step.mutations.iter().any(|m| {
            matches!(
                m,
                Mutation::Json {
                    change: JsonChange::LongArray { .. },
                    ..
                }
            )
        });
        let clauses = judged_clauses(contract, &self.pointer, &value, long_array);
        reject(clauses.first()?)
    }
}

/// The clauses of the schema at `pointer` that `value` breaks and a client is judged
/// by, `path: keyword`: not those the contract ignores, not a new value of an enum
/// that may grow, and (for a long array, `long_array`) not `maxItems`: a long array
/// tries what a client does with length (a crash, a hang, a quadratic walk), not
/// whether it counts items, which few clients do and none owes.
pub(crate) fn judged_clauses(
    contract: &Contract,
    pointer: &str,
    value: &Value,
    long_array: bool,
) -> Vec<String> {
    let Err(violations) = contract.validate(pointer, value) else {
        return Vec::new();
    };
    violations
        .iter()
        .filter(|v| !(long_array && v.keyword == "maxItems"))
        .filter_map(|v| {
            let path = v.dotted_path();
            let grown_enum = v.keyword == "enum"
                && contract.enums_may_grow()
                && value
                    .pointer(&v.instance_path)
                    .is_some_and(Value::is_string);
            (!contract.ignores(v) && !grown_enum).then(|| {
                format!(
                    "{}: {}",
                    if path.is_empty() { "(root)" } else { &path },
                    v.keyword
                )
            })
        })
        .collect()
}

impl Plan {
    /// This plan with the probe's base URL written as `{{base_url}}` in every change
    /// it holds: a body or value generated from the probe's response links to the
    /// provider of the case it is served in.
    fn with_placeholder(mut self, base: Option<&str>) -> Plan {
        let Some(base) = base else { return self };
        let fix = |m: &mut Mutation| match m {
            Mutation::ReplaceBody { text } => {
                *text = crate::provider::journal::with_placeholder(text, Some(base));
            }
            Mutation::Json {
                change: JsonChange::ReplaceWith { json },
                ..
            } => *json = crate::provider::journal::with_placeholder(json, Some(base)),
            _ => {}
        };
        self.additive.iter_mut().for_each(fix);
        self.equivalent.iter_mut().for_each(fix);
        for b in &mut self.breaking {
            if let JsonChange::ReplaceWith { json } = &mut b.change {
                *json = crate::provider::journal::with_placeholder(json, Some(base));
            }
        }
        self
    }
}

/// The clause of a response whose HTTP status is an error. The oracle recognises it by
/// this name: `Ok` for such a response is always a finding.
pub(crate) const NOT_A_SUCCESS: &str = "status: not a success";

/// Nesting the validator can read, standing in for deeper nesting.
const READABLE_DEPTH: usize = 64;

/// The step with every deep-nesting change made readable, or `None` when it has none
/// deeper than that (the depth came from elsewhere, and nothing can be judged).
fn shallower(step: &Step) -> Option<Step> {
    let mut changed = false;
    let mutations = step
        .mutations
        .iter()
        .map(|m| match m {
            Mutation::Json {
                path,
                change: JsonChange::DeepNesting { depth },
            } if *depth > READABLE_DEPTH => {
                changed = true;
                Mutation::Json {
                    path: path.clone(),
                    change: JsonChange::DeepNesting {
                        depth: READABLE_DEPTH,
                    },
                }
            }
            other => other.clone(),
        })
        .collect();
    changed.then(|| Step {
        mutations,
        ..step.clone()
    })
}

/// What the contract says about each request of the probe. The baseline must
/// conform: a breaking change is only a breaking change of a conforming response.
pub(crate) fn plans(contract: &Contract, probe: &Journal) -> Result<Vec<Option<Plan>>, Error> {
    probe
        .requests
        .iter()
        .map(|r| {
            let Some(op) = contract.operation(&r.method, &r.target) else {
                return Ok(None);
            };
            let status = r.status();
            let Some(pointer) = op.response_schema(status) else {
                return Ok(None);
            };
            let baseline = Response::from_served(&r.served, r.served_head_len);
            let base = crate::provider::journal::base_url_of(r);
            let plan = Plan::new(contract, pointer, baseline).map(|p| p.with_placeholder(base.as_deref())).map_err(|why| {
                Error::new(
                    ErrorKind::Baseline,
                    format!(
                        "the baseline response to {} {} does not conform to the contract ({}): {why}; fix the baseline or the contract",
                        r.method,
                        r.target,
                        contract.source()
                    ),
                )
            })?;
            Ok(Some(plan))
        })
        .collect()
}
