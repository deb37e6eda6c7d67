//! The campaign's judge: your word on what the code returned for a response, typed.
//!
//! Implementation notes: the value the code returned lives on the case's thread (and,
//! isolated, in the worker process), so the judge is asked there, the moment the code
//! returns: [`judging`] wraps the code, reads the case's journal from the provider
//! serving it (found by its URL, as the webhook driver finds it), and keeps the
//! verdicts for each response the oracle may ask about in that journal. [`apply`]
//! then takes the verdict on the response the outcome is about. Nothing but the
//! verdicts leaves the thread, so the value needs neither `Send` nor `Serialize`.

use std::any::{Any, TypeId};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
pub use crate::provider::journal::Judged;
use crate::provider::journal::{Journal, RecordedRequest};
use crate::provider::serving::serving;
use crate::runner::outcome::Outcome;
use crate::scenario::Expectation;

/// The judge's signature, its value's type erased: the response, `&Result<T, E>`.
type Judge = dyn Fn(&Value, &dyn Any) -> Judged + Send + Sync;

/// A judge closure, shared by every case of a campaign, with the type of what it
/// judges.
#[derive(Clone)]
pub(crate) struct JudgeFn {
    judge: Arc<Judge>,
    takes: TypeId,
    takes_name: &'static str,
}

impl std::fmt::Debug for JudgeFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JudgeFn({})", self.takes_name)
    }
}

impl JudgeFn {
    /// A judge of `Result<T, E>`, what the code under test returns.
    pub(crate) fn new<T: 'static, E: 'static>(
        judge: impl Fn(&Value, Result<&T, &E>) -> Judged + Send + Sync + 'static,
    ) -> Self {
        JudgeFn {
            judge: Arc::new(move |response, returned| {
                match returned.downcast_ref::<Result<T, E>>() {
                    Some(returned) => judge(response, returned.as_ref()),
                    // Never reached: `judging` refuses code of another type.
                    None => Judged::AsIs,
                }
            }),
            takes: TypeId::of::<Result<T, E>>(),
            takes_name: std::any::type_name::<Result<T, E>>(),
        }
    }

    /// The verdicts on `returned` for each response the oracle may ask about.
    fn verdicts(&self, journal: &Journal, returned: &dyn Any) -> Vec<(usize, Judged)> {
        let mut asked: Vec<&RecordedRequest> = [rejected, accepted, last]
            .iter()
            .filter_map(|pick| pick(journal))
            .collect();
        asked.sort_by_key(|r| r.index);
        asked.dedup_by_key(|r| r.index);
        asked
            .into_iter()
            .filter_map(|r| Some((r.index, (self.judge)(&json_body(r)?, returned))))
            .filter(|(_, judged)| *judged != Judged::AsIs)
            .collect()
    }
}

/// The code under test, asked to the judge where it returns (when there is a judge).
///
/// # Errors
/// A judge of another type than what the code returns: a judge that never runs would
/// let a test pass that checked nothing.
pub(crate) fn judging<F, Fut, T, E>(
    judge: Option<JudgeFn>,
    code: F,
) -> Result<JudgedCode<T, E>, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug + 'static,
    E: Display + 'static,
{
    if let Some(judge) = &judge {
        if judge.takes != TypeId::of::<Result<T, E>>() {
            return Err(Error::new(crate::error::ErrorKind::Config, format!(
                "the judge takes `{}` but the code returns `{}`: give the judge's closure the code's own types (`|response, returned: Result<&T, &E>|`), or the judge never runs and the campaign checks nothing it was meant to",
                short_type_name(judge.takes_name),
                short_type_name(std::any::type_name::<Result<T, E>>())
            )));
        }
    }
    Ok(Box::new(move |url: String| -> JudgedFuture<T, E> {
        let returned = code(url.clone());
        let judge = judge.clone();
        Box::pin(async move {
            let returned = returned.await;
            if let Some(judge) = judge {
                if let Some(case) = serving(&url) {
                    case.judged(judge.verdicts(&case.journal(), &returned));
                }
            }
            returned
        })
    }))
}

/// The code under test, with the judge asked where it returns.
pub(crate) type JudgedCode<T, E> = Box<dyn Fn(String) -> JudgedFuture<T, E> + Send + Sync>;

/// A type's name as a person writes it: the standard library's paths dropped,
/// another crate's kept to the crate and the name (`reqwest::Error`).
fn short_type_name(name: &str) -> String {
    let mut out = String::new();
    let mut path = String::new();
    let flush = |path: &mut String, out: &mut String| {
        let segments: Vec<&str> = path.split("::").collect();
        let short = match segments.as_slice() {
            [only] => (*only).to_owned(),
            [first, .., last] if matches!(*first, "core" | "alloc" | "std") => (*last).to_owned(),
            [first, .., last] => format!("{first}::{last}"),
            [] => String::new(),
        };
        out.push_str(&short);
        path.clear();
    };
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            flush(&mut path, &mut out);
            out.push(c);
        }
    }
    flush(&mut path, &mut out);
    out
}

/// The code's future, with the judge asked where it ends.
pub(crate) type JudgedFuture<T, E> = std::pin::Pin<Box<dyn Future<Output = Result<T, E>>>>;

/// The outcome after the judge's word. The judge saw the response the outcome is
/// about: the broken one for a silent acceptance, the last conforming one for a false
/// rejection, the last JSON response otherwise. Panics, hangs and request violations
/// are not the judge's to dismiss.
pub(crate) fn apply(outcome: Outcome, journal: &Journal) -> Outcome {
    if journal.judged.is_empty() {
        return outcome;
    }
    let subject = match &outcome {
        Outcome::SilentAcceptance { .. } => rejected(journal),
        Outcome::FalseRejection { .. } => accepted(journal),
        Outcome::Ok { .. } | Outcome::HandledError { .. } => last(journal),
        _ => None,
    };
    let Some(judged) = subject.and_then(|s| {
        journal
            .judged
            .iter()
            .find(|(index, _)| *index == s.index)
            .map(|(_, judged)| judged.clone())
    }) else {
        return outcome;
    };
    match (judged, outcome) {
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

/// The last response a step expected the code to reject.
fn rejected(journal: &Journal) -> Option<&RecordedRequest> {
    journal
        .requests
        .iter()
        .rev()
        .find(|r| matches!(r.step.expect, Some(Expectation::Reject { .. })))
}

/// The last response a step expected the code to accept.
fn accepted(journal: &Journal) -> Option<&RecordedRequest> {
    journal.requests.iter().rev().find(|r| {
        matches!(
            r.step.expect,
            Some(Expectation::Accept | Expectation::Conform)
        )
    })
}

/// The last response of all.
fn last(journal: &Journal) -> Option<&RecordedRequest> {
    journal.requests.last()
}

fn json_body(request: &RecordedRequest) -> Option<Value> {
    serde_json::from_slice(request.served.get(request.served_head_len..)?).ok()
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_read_as_written() {
        assert_eq!(
            short_type_name("core::result::Result<alloc::string::String, reqwest::error::Error>"),
            "Result<String, reqwest::Error>"
        );
        assert_eq!(
            short_type_name(
                "core::result::Result<&str, alloc::vec::Vec<(u8, it::contracts::Charged)>>"
            ),
            "Result<&str, Vec<(u8, it::Charged)>>"
        );
    }
}
