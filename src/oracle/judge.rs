//! The campaign's judge: your word on what the code did with a response.

use std::sync::Arc;

use serde_json::Value;

use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::scenario::Expectation;

/// Your verdict on one case, given the response it is about and the outcome.
///
/// ```
/// use badgateway::{Judged, Outcome};
/// let judge = |response: &serde_json::Value, outcome: &Outcome| match outcome {
///     // Rejecting a page that says "more" but has no cursor is right.
///     Outcome::FalseRejection { .. } if response["has_more"] == true && response["data"] == serde_json::json!([]) => Judged::Fine,
///     _ => Judged::AsIs,
/// };
/// let outcome = Outcome::FalseRejection { message: "cursor does not move".into() };
/// assert_eq!(judge(&serde_json::json!({"data": [], "has_more": true}), &outcome), Judged::Fine);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// The harness's own classification stands.
    AsIs,
    /// Not a bug: a silent acceptance or false rejection is dismissed (the case counts
    /// as `Ok` or `HandledError`).
    Fine,
    /// A bug: what the code returned is wrong for this response (a
    /// [`Outcome::WrongValue`] finding), with the reason.
    Wrong(String),
}

/// The judge's signature: the response, the outcome, the verdict.
type Judge = dyn Fn(&Value, &Outcome) -> Judged + Send + Sync;

/// A judge closure, shared by every case of a campaign.
#[derive(Clone)]
pub(crate) struct JudgeFn(pub(crate) Arc<Judge>);

impl std::fmt::Debug for JudgeFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JudgeFn(..)")
    }
}

/// The outcome after the judge's word. The judge sees the response the outcome is
/// about: the broken one for a silent acceptance, the last conforming one for a false
/// rejection, the last JSON response otherwise. Panics, hangs and request violations
/// are not the judge's to dismiss.
pub(crate) fn apply(judge: &JudgeFn, outcome: Outcome, journal: &Journal) -> Outcome {
    let rejected = |r: &&RecordedRequest| matches!(r.step.expect, Some(Expectation::Reject { .. }));
    let accepted = |r: &&RecordedRequest| {
        matches!(
            r.step.expect,
            Some(Expectation::Accept | Expectation::Conform)
        )
    };
    let subject = match &outcome {
        Outcome::SilentAcceptance { .. } => journal.requests.iter().rev().find(rejected),
        Outcome::FalseRejection { .. } => journal.requests.iter().rev().find(accepted),
        Outcome::Ok { .. } | Outcome::HandledError { .. } => journal.requests.last(),
        _ => None,
    };
    let Some(response) = subject.and_then(json_body) else {
        return outcome;
    };
    match ((judge.0)(&response, &outcome), outcome) {
        (Judged::Fine, Outcome::SilentAcceptance { value, .. }) => Outcome::Ok { value },
        (Judged::Fine, Outcome::FalseRejection { message }) => Outcome::HandledError { message },
        (
            Judged::Wrong(message),
            Outcome::Ok { value } | Outcome::SilentAcceptance { value, .. },
        ) => Outcome::WrongValue {
            message,
            returned: value,
        },
        (
            Judged::Wrong(message),
            Outcome::HandledError { message: error } | Outcome::FalseRejection { message: error },
        ) => Outcome::WrongValue {
            message,
            returned: format!("Err: {error}"),
        },
        (_, outcome) => outcome,
    }
}

fn json_body(request: &RecordedRequest) -> Option<Value> {
    serde_json::from_slice(request.served.get(request.served_head_len..)?).ok()
}
