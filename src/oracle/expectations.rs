//! Judging by what each served step expected: a response that breaks a clause must be
//! rejected, one that conforms must be accepted.

use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::scenario::Expectation;

/// Judges an outcome by the expectations the served steps carried: `Ok` after a
/// response that breaks a clause (and was not fetched again) is a silent acceptance;
/// `Err` when every response conformed, one of them by the contract's word, is a
/// false rejection.
pub(crate) fn judged(outcome: Outcome, journal: &Journal) -> Outcome {
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
                    (!fetched_again).then(|| clause.clone())
                }
                _ => None,
            });
            match accepted {
                Some(clause) => Outcome::SilentAcceptance { clause, value },
                None => Outcome::Ok { value },
            }
        }
        Outcome::HandledError { message } => {
            let conforming = |r: &RecordedRequest| r.step.expect == Some(Expectation::Accept);
            let all_conform = journal
                .requests
                .iter()
                .all(|r| r.step.is_baseline() || conforming(r));
            if all_conform && journal.requests.iter().any(conforming) {
                Outcome::FalseRejection { message }
            } else {
                Outcome::HandledError { message }
            }
        }
        other => other,
    }
}
