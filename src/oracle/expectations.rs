//! Judging by what each served step expected: a response that breaks a clause must be
//! rejected, one that conforms must be accepted.

use serde_json::Value;

use crate::generate::NOT_A_SUCCESS;
use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::scenario::json_path;
use crate::scenario::{Expectation, Mutation};

/// What the code returned for the unmodified baseline, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum BaselineOutput {
    /// Not probed (a single case, scenarios run by hand).
    #[default]
    Unknown,
    /// The same `Ok` value on two runs.
    Stable(String),
    /// Two runs returned different values (timestamps, random ids): only whether a
    /// broken value was passed through can be judged.
    Unstable,
}

/// How an `Ok` after a clause-breaking response is judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AcceptanceRule {
    /// The baseline's output, to compare with.
    pub(crate) baseline: BaselineOutput,
    /// Every clause the code did not check is a finding, whatever it returned.
    pub(crate) strict: bool,
}

impl AcceptanceRule {
    /// The outcome of returning `value` after the response `request` got, which breaks
    /// `clause`.
    ///
    /// Implementation notes: a correct client that never reads a field, or passes an
    /// unvalidated string through to its caller, is not wrong to return `Ok`; calling
    /// every unchecked clause a finding buried the one real bug under 8 to 25 of them.
    /// So by default the finding is what the broken value *did*: the output differs
    /// from the baseline's and does not carry the broken value verbatim (an unknown
    /// status mapped to a valid one, a missing amount defaulted to 0, a number past
    /// 2^53 rounded). `Ok` for an error status is always a finding; strict mode, and a
    /// case with no probed baseline, judge clause by clause as before.
    fn judge(&self, clause: String, value: String, request: &RecordedRequest) -> Outcome {
        let finding = |baseline| Outcome::SilentAcceptance {
            clause: clause.clone(),
            value: value.clone(),
            baseline,
        };
        if self.strict || clause == NOT_A_SUCCESS {
            return finding(None);
        }
        match &self.baseline {
            BaselineOutput::Unknown => finding(None),
            BaselineOutput::Stable(baseline) if *baseline == value => Outcome::Ok { value },
            _ if carried(&value, request, &clause) => Outcome::Ok { value },
            BaselineOutput::Stable(baseline) => finding(Some(baseline.clone())),
            BaselineOutput::Unstable => finding(None),
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
/// response that breaks a clause (and was not fetched again) is a silent acceptance;
/// `Err` when every response conformed, one of them by the contract's word, is a
/// false rejection.
pub(crate) fn judged(outcome: Outcome, journal: &Journal, rule: &AcceptanceRule) -> Outcome {
    let path = |target: &str| target.split('?').next().unwrap_or(target).to_owned();
    match outcome {
        Outcome::Ok { value } => {
            let accepted = journal.requests.iter().find_map(|r| match &r.step.expect {
                Some(Expectation::Reject { clause }) => {
                    let fetched_again = journal.requests.iter().any(|later| {
                        later.index > r.index
                            && later.method == r.method
                            && path(&later.target) == path(&r.target)
                    });
                    (!fetched_again).then(|| (clause.clone(), r))
                }
                _ => None,
            });
            match accepted {
                Some((clause, request)) => rule.judge(clause, value, request),
                None => Outcome::Ok { value },
            }
        }
        Outcome::HandledError { message } => {
            let conforming = |r: &RecordedRequest| r.step.expect == Some(Expectation::Accept);
            let all_conform = journal
                .requests
                .iter()
                .all(|r| r.step.is_baseline() || conforming(r));
            if all_conform
                && journal.requests.iter().any(conforming)
                && !baseline_after_generated(journal)
            {
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
        r.step.expect == Some(Expectation::Accept)
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
