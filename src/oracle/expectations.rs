//! Judging by what each served step expected: a response that breaks a clause must be
//! rejected, one that conforms must be accepted.

use serde_json::Value;

use std::borrow::Cow;

use crate::contract::Contract;
use crate::generate::{judged_clauses, NOT_A_SUCCESS};
use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::scenario::json_path;
use crate::scenario::{Expectation, Framing, JsonChange, Mutation, Scenario};

/// What the code returned for the unmodified baseline, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum BaselineOutput {
    /// Not probed (a single case, scenarios run by hand).
    #[default]
    Unknown,
    /// The same `Ok` value on two runs.
    Stable(String),
    /// Two runs returned different values (timestamps, random ids): a case must be
    /// run again to tell a changed result from a changing one.
    Unstable,
}

/// How an `Ok` after a clause-breaking response is judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AcceptanceRule {
    /// The baseline's output, as probed.
    pub(crate) baseline: BaselineOutput,
    /// Every clause the code did not check is a finding, whatever it returned; every
    /// rejection of conforming responses is a false one.
    pub(crate) strict: bool,
}

/// What the code did in the same case with the blamed change undone (every other
/// step and change kept), and, where its output is not known to be stable, what it
/// did in the same case again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counterfactual {
    /// The outcome with the blamed change undone.
    pub(crate) without: Outcome,
    /// The outcome of the same case, run again.
    pub(crate) again: Option<Outcome>,
}

/// `journal` with each step's expectation kept only where it holds for the response
/// the request was actually served, judged by the served operation's schema.
///
/// Implementation notes: a step's expectation is worked out as the step is made, for
/// the response of the request it is planned to meet (the probe's second request, a
/// refund). A client that retries the first request (a charge fetched again after a
/// reset) meets that step there instead: its mutation aims at a field the charge does
/// not have, the charge is served whole, and the refund's "must reject" was laid on a
/// charge that conforms. Fuzzing the example's hardened refund found exactly that: a
/// silent acceptance of `charge: pattern` for a charge it was right to accept. So
/// the oracle checks each expectation against what was served: an error status for
/// `status: not a success`, a body that is not JSON for `body: not JSON`, the clause
/// among the clauses the served body breaks for any other rejection, and a body that
/// breaks none for an acceptance. One that does not hold judges nothing.
pub(crate) fn placed<'a>(contract: &Contract, journal: &'a Journal) -> Cow<'a, Journal> {
    let void: Vec<usize> = journal
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.step.expect.is_some() && !expectation_holds(contract, r))
        .map(|(i, _)| i)
        .collect();
    if void.is_empty() {
        return Cow::Borrowed(journal);
    }
    let mut placed = journal.clone();
    for i in void {
        placed.requests[i].step.expect = None;
    }
    Cow::Owned(placed)
}

/// Whether the expectation of the step `request` met holds for what it was served.
fn expectation_holds(contract: &Contract, request: &RecordedRequest) -> bool {
    let Some(expect) = &request.step.expect else {
        return true;
    };
    let success = (200..300).contains(&request.status());
    match expect {
        Expectation::Reject { clause } if clause == NOT_A_SUCCESS => return !success,
        _ if !success => return false,
        _ => {}
    }
    let Some(pointer) = contract
        .operation(&request.method, &request.target)
        .and_then(|op| op.response_schema(request.status()))
    else {
        return false;
    };
    let Some(body) = served_body(request) else {
        return false;
    };
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body);
    let long_array = request.step.mutations.iter().any(|m| {
        matches!(
            m,
            Mutation::Json {
                change: JsonChange::LongArray { .. },
                ..
            }
        )
    });
    let value = serde_json::from_slice::<Value>(body);
    match (expect, value) {
        (Expectation::Reject { clause }, Ok(value)) => {
            judged_clauses(contract, pointer, &value, long_array).contains(clause)
        }
        // What serde_json cannot read: not JSON at all, or JSON past its limits (too
        // deep, a number past f64), judged as the step was planned.
        (Expectation::Reject { clause }, Err(e)) => {
            let message = e.to_string();
            match clause.as_str() {
                "body: not JSON" => !is_json_beyond_serde(&e),
                _ if clause.ends_with(": number out of range") => {
                    message.starts_with("number out of range")
                }
                _ => message.starts_with("recursion limit exceeded"),
            }
        }
        (Expectation::Accept | Expectation::Conform, Ok(value)) => {
            judged_clauses(contract, pointer, &value, long_array).is_empty()
        }
        (Expectation::Accept | Expectation::Conform, Err(_)) => false,
    }
}

/// The body the provider served `request`, unframed: chunks joined.
fn served_body(request: &RecordedRequest) -> Option<Vec<u8>> {
    let raw = request.served.get(request.served_head_len..)?;
    if !matches!(request.step.framing, Framing::Chunked { .. }) {
        return Some(raw.to_vec());
    }
    let mut body = Vec::new();
    let mut rest = raw;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The change a silent acceptance would be laid at: the first response that broke a
/// clause and was not fetched again (a client that fetched it again did not rely on
/// it), with that clause.
pub(crate) fn blamed(journal: &Journal) -> Option<(&str, &RecordedRequest)> {
    let path = |target: &str| target.split('?').next().unwrap_or(target).to_owned();
    journal.requests.iter().find_map(|r| match &r.step.expect {
        Some(Expectation::Reject { clause }) => {
            let fetched_again = journal.requests.iter().any(|later| {
                later.index > r.index
                    && later.method == r.method
                    && path(&later.target) == path(&r.target)
            });
            (!fetched_again).then_some((clause.as_str(), r))
        }
        _ => None,
    })
}

/// `scenario` with the step that answered `request` undone: its mutations and
/// expectation dropped, its timing, framing, persistence and operation kept, so every
/// other request meets what it met before.
pub(crate) fn undone(scenario: &Scenario, request: &RecordedRequest) -> Scenario {
    let mut undone = scenario.clone();
    if let Some(step) = request.answered_by.and_then(|i| undone.steps.get_mut(i)) {
        step.mutations.clear();
        step.expect = None;
    }
    undone
}

impl AcceptanceRule {
    /// Whether judging `Ok` for this case needs it run with the blamed change undone:
    /// not in strict mode, not for an error status (always a finding), not when the
    /// broken value was passed through verbatim (never one). The scenario to run.
    pub(crate) fn counterfactual(
        &self,
        outcome: &Outcome,
        journal: &Journal,
        scenario: &Scenario,
    ) -> Option<Scenario> {
        let Outcome::Ok { value } = outcome else {
            return None;
        };
        let (clause, request) = blamed(journal)?;
        if self.strict || clause == NOT_A_SUCCESS || carried(value, request, clause) {
            return None;
        }
        Some(undone(scenario, request))
    }

    /// Whether a counterfactual must also run the case again: the code's output for
    /// the same responses is not known to be the same on every run.
    pub(crate) fn needs_again(&self) -> bool {
        !matches!(self.baseline, BaselineOutput::Stable(_))
    }

    /// The outcome of returning `value` after the response `request` got, which breaks
    /// `clause`.
    ///
    /// Implementation notes: a correct client that never reads a field, or passes an
    /// unvalidated string through to its caller, is not wrong to return `Ok`; calling
    /// every unchecked clause a finding buried the one real bug under 8 to 25 of them.
    /// Comparing with the unmodified baseline's output was tried next, and laid every
    /// conforming change elsewhere in the case (a valid page of 3 items, a token's
    /// unread field) at the broken clause's door: 29 of 31 such findings on clients
    /// that read two endpoints were false. So the finding is what the broken value
    /// *caused*: the same case with that one change undone returns something else, the
    /// case itself returns the same on a second run where that is not known, and the
    /// result does not carry the broken value verbatim. `Ok` for an error status is
    /// always a finding; strict mode judges clause by clause.
    fn judge(
        &self,
        clause: &str,
        value: String,
        request: &RecordedRequest,
        counterfactual: Option<&Counterfactual>,
    ) -> Outcome {
        let finding = |without| Outcome::SilentAcceptance {
            clause: clause.to_owned(),
            value: value.clone(),
            baseline: without,
        };
        if self.strict || clause == NOT_A_SUCCESS {
            return finding(None);
        }
        if carried(&value, request, clause) {
            return Outcome::Ok { value };
        }
        let Some(Counterfactual { without, again }) = counterfactual else {
            // Nothing to tell the cause by: no claim.
            return Outcome::Ok { value };
        };
        let steady = match again {
            None => true,
            Some(Outcome::Ok { value: again }) => *again == value,
            Some(_) => false,
        };
        match without {
            Outcome::Ok { value: without } if steady && *without != value => {
                finding(Some(without.clone()))
            }
            _ => Outcome::Ok { value },
        }
    }
}

/// Whether `value` holds, verbatim, a value the step changed (at the clause's path or
/// at any other path the step changed): passed through, not interpreted. When another
/// change of the same step is passed through, the difference from the baseline cannot
/// be laid at the clause's door, and no finding is made of it.
fn carried(value: &str, request: &RecordedRequest, clause: &str) -> bool {
    let clause_path = clause.rsplit_once(": ").map_or(clause, |(path, _)| path);
    let Some(body) = request.served.get(request.served_head_len..) else {
        return false;
    };
    let json = match serde_json::from_slice::<Value>(body) {
        Ok(json) => json,
        // JSON that serde_json cannot hold (nesting past its limit, `1e400`): what the
        // step served cannot be read back, so the difference cannot be laid at the
        // clause's door either. No finding is made of what cannot be told.
        Err(e) if e.is_syntax() && is_json_beyond_serde(&e) => return true,
        Err(_) => return false,
    };
    let changed = request.step.mutations.iter().filter_map(|m| match m {
        Mutation::Json { path, .. } => Some(path.as_str()),
        _ => None,
    });
    std::iter::once(clause_path).chain(changed).any(|path| {
        json_path::parse(path)
            .and_then(|s| json_path::get(&json, &s).cloned())
            .is_some_and(|served| holds(value, &served))
    })
}

/// Whether serde_json refused valid JSON: too deep, or a number past `f64`.
fn is_json_beyond_serde(error: &serde_json::Error) -> bool {
    let message = error.to_string();
    message.starts_with("recursion limit exceeded") || message.starts_with("number out of range")
}

/// Whether `value` (a `Debug` form, cut at 500 characters) holds `served` verbatim.
fn holds(value: &str, served: &Value) -> bool {
    match served {
        Value::String(s) => {
            // A long string may be cut off in the returned value: its start will do.
            let start: String = s.chars().take(64).collect();
            let debug = format!("{start:?}");
            value.contains(start.as_str()) || value.contains(debug.trim_matches('"'))
        }
        Value::Number(n) => value.contains(&n.to_string()),
        Value::Bool(b) => value.contains(&b.to_string()),
        Value::Null => value.contains("None") || value.contains("null"),
        container => value.contains(&container.to_string()),
    }
}

/// Judges an outcome by the expectations the served steps carried: `Ok` after a
/// response that breaks a clause (and was not fetched again) is a silent acceptance
/// when the counterfactual says the broken value caused what was returned; `Err`
/// when every response conformed and meant the same as the baseline (in strict mode:
/// merely conformed) is a false rejection.
pub(crate) fn judged(
    outcome: Outcome,
    journal: &Journal,
    rule: &AcceptanceRule,
    counterfactual: Option<&Counterfactual>,
) -> Outcome {
    // A request no declared response matched got the provider's own 404: what the
    // code then returned says nothing of a provider that answers it, so no silent
    // acceptance and no false rejection is judged (the campaign warns instead).
    if journal.requests.iter().any(|r| r.undeclared) {
        return outcome;
    }
    match outcome {
        Outcome::Ok { value } => match blamed(journal) {
            Some((clause, request)) => rule.judge(clause, value, request, counterfactual),
            None => Outcome::Ok { value },
        },
        Outcome::HandledError { message } => {
            let owed = |r: &RecordedRequest| match &r.step.expect {
                Some(Expectation::Accept) => true,
                Some(Expectation::Conform) => rule.strict,
                _ => false,
            };
            let all_owed = journal
                .requests
                .iter()
                .all(|r| r.step.is_baseline() || owed(r));
            if all_owed && journal.requests.iter().any(owed) && !baseline_after_generated(journal) {
                Outcome::FalseRejection { message }
            } else {
                Outcome::HandledError { message }
            }
        }
        other => other,
    }
}

/// Whether another call was answered with the baseline after a response whose body
/// was generated: the baseline may not agree with it (a refund of the baseline's
/// charge after a generated charge was fetched), and a client that refuses the pair
/// is right. Each response conforms; together they need not, so no rejection of them
/// can be called false. Retries of the same call are not another call.
fn baseline_after_generated(journal: &Journal) -> bool {
    let path = |target: &str| target.split('?').next().unwrap_or(target).to_owned();
    let generated = journal.requests.iter().find(|r| {
        r.step.expect == Some(Expectation::Conform)
            && r.step
                .mutations
                .iter()
                .any(|m| matches!(m, Mutation::ReplaceBody { .. }))
    });
    generated.is_some_and(|first| {
        journal.requests.iter().any(|later| {
            later.index > first.index
                && later.step.is_baseline()
                && (later.method != first.method || path(&later.target) != path(&first.target))
        })
    })
}
