//! What the code under test did with one case.

use std::fmt;
use std::time::Duration;

use crate::provider::Secrets;
use crate::scenario::Forgery;

use super::rules::Rule;

/// How one case ended for the code under test.
///
/// `Ok` and `HandledError` are what robust code does; `Panic` and `Hang` are findings.
///
/// ```
/// use badgateway::Outcome;
/// let o = Outcome::Panic { message: "boom".into(), location: Some("src/lib.rs:3:5".into()) };
/// assert!(o.is_finding());
/// assert_eq!(o.signature(), "panic at src/lib.rs:3:5");
/// assert!(!Outcome::HandledError { message: "timed out".into() }.is_finding());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The code returned `Ok`; `value` is its `Debug` form (cut at 500 characters).
    Ok {
        /// What it returned.
        value: String,
    },
    /// The code returned `Err`; `message` is its `Display` form.
    HandledError {
        /// The error message.
        message: String,
    },
    /// The process that ran the case died (in isolation, see
    /// [`Campaign::isolated`](crate::Campaign::isolated)): an abort, a stack overflow,
    /// memory exhausted, `exit(..)` called, or a signal.
    Crash {
        /// What killed it: `stack overflow`, `out of memory`, `exit code 0`,
        /// `signal 6 (SIGABRT)`.
        kind: String,
        /// How the process ended, as the operating system said.
        status: String,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// The code panicked, on its own thread, in a spawned task or on the blocking pool.
    Panic {
        /// The panic message.
        message: String,
        /// `file:line:column` of the panic, when the payload had one.
        location: Option<String>,
    },
    /// The code did not finish before the deadline.
    Hang {
        /// The deadline it missed.
        after: Duration,
        /// Whether it blocked its thread (it never yielded, so it could not even be
        /// cancelled) rather than awaiting something that never came.
        blocked: bool,
        /// Whether it was live to the end: it kept its connections busy (an endless
        /// drip read without an overall timeout, an unbounded wait, requests without
        /// end) until the case's limit stopped it, rather than waiting on a stall.
        live: bool,
        /// Whether every request it made had been answered in full and well-formed:
        /// it was not waiting on the provider but on something of its own (a loop, a
        /// lock, a sleep). Another bug than a missing timeout on a stall.
        #[serde(default)]
        answered: bool,
    },
    /// Across the requests of the case, the code broke a behaviour [`Rule`]: a double
    /// charge, a retry storm, retries back to back, an ignored or unbounded
    /// `Retry-After`, a retried final error, pages without end. It counts whatever
    /// the code finally returned, and when the case also reached its deadline.
    Misbehaviour {
        /// The rule broken.
        rule: Rule,
        /// The request that broke it (from 1).
        request: usize,
        /// What happened, from the journal.
        what: String,
    },
    /// The code returned `Ok` for a response that breaks a clause of the contract.
    SilentAcceptance {
        /// The clause broken: `data[0].amount: minimum`.
        clause: String,
        /// What the code returned.
        value: String,
        /// What it returned for the same case with only the broken change undone,
        /// when that differs: the broken value caused the result. `None` in strict
        /// mode and for an error status, which are findings whatever the cause.
        baseline: Option<String>,
    },
    /// The code returned `Err` for responses that all conform to the contract.
    FalseRejection {
        /// The error message.
        message: String,
    },
    /// The campaign's judge found what the code returned wrong for the response it
    /// got (see [`crate::Campaign::judge`]).
    WrongValue {
        /// The judge's reason.
        message: String,
        /// What the code returned (its `Debug` form), or its error message.
        returned: String,
    },
    /// A request the code sent breaks the client's half of the contract.
    RequestViolation {
        /// Which request (from 1).
        request: usize,
        /// What is wrong with it.
        what: String,
    },
}

/// The class of an [`Outcome`], without its details.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Class {
    /// See [`Outcome::Ok`].
    Ok,
    /// See [`Outcome::HandledError`].
    HandledError,
    /// See [`Outcome::Crash`].
    Crash,
    /// See [`Outcome::Panic`].
    Panic,
    /// See [`Outcome::Hang`].
    Hang,
    /// See [`Outcome::Misbehaviour`].
    Misbehaviour,
    /// See [`Outcome::SilentAcceptance`].
    SilentAcceptance,
    /// See [`Outcome::FalseRejection`].
    FalseRejection,
    /// See [`Outcome::WrongValue`].
    WrongValue,
    /// See [`Outcome::RequestViolation`].
    RequestViolation,
}

impl Outcome {
    /// This outcome with every secret value scrubbed from its text (panic and error
    /// messages, returned values), so no report, fixture or snapshot can hold one.
    ///
    /// ```
    /// use badgateway::{Outcome, Secrets};
    /// let mut secrets = Secrets::new();
    /// secrets.add_value("sk_test_51HqLyjWDarjtT1zdp7dc");
    /// let outcome = Outcome::HandledError { message: "error for url (http://127.0.0.1:1/v1?key=sk_test_51HqLyjWDarjtT1zdp7dc)".into() };
    /// assert_eq!(outcome.scrubbed(&secrets).to_string(), "returned Err: error for url (http://127.0.0.1:1/v1?key=[redacted:16-31:63fc])");
    /// ```
    pub fn scrubbed(self, secrets: &Secrets) -> Outcome {
        if secrets.is_empty() {
            return self;
        }
        let s = |text: String| secrets.scrub(&text);
        match self {
            Outcome::Ok { value } => Outcome::Ok { value: s(value) },
            Outcome::HandledError { message } => Outcome::HandledError {
                message: s(message),
            },
            Outcome::Panic { message, location } => Outcome::Panic {
                message: s(message),
                location,
            },
            hang @ Outcome::Hang { .. } => hang,
            Outcome::Crash {
                kind,
                status,
                stderr,
            } => Outcome::Crash {
                kind,
                status,
                stderr: s(stderr),
            },
            Outcome::Misbehaviour {
                rule,
                request,
                what,
            } => Outcome::Misbehaviour {
                rule,
                request,
                what: s(what),
            },
            Outcome::SilentAcceptance {
                clause,
                value,
                baseline,
            } => Outcome::SilentAcceptance {
                clause,
                value: s(value),
                baseline: baseline.map(s),
            },
            Outcome::FalseRejection { message } => Outcome::FalseRejection {
                message: s(message),
            },
            Outcome::WrongValue { message, returned } => Outcome::WrongValue {
                message: s(message),
                returned: s(returned),
            },
            Outcome::RequestViolation { request, what } => Outcome::RequestViolation {
                request,
                what: s(what),
            },
        }
    }

    /// The class of this outcome.
    ///
    /// ```
    /// use badgateway::{Class, Outcome};
    /// assert_eq!(Outcome::Ok { value: "()".into() }.class(), Class::Ok);
    /// ```
    pub fn class(&self) -> Class {
        match self {
            Outcome::Ok { .. } => Class::Ok,
            Outcome::HandledError { .. } => Class::HandledError,
            Outcome::Crash { .. } => Class::Crash,
            Outcome::Panic { .. } => Class::Panic,
            Outcome::Hang { .. } => Class::Hang,
            Outcome::Misbehaviour { .. } => Class::Misbehaviour,
            Outcome::SilentAcceptance { .. } => Class::SilentAcceptance,
            Outcome::FalseRejection { .. } => Class::FalseRejection,
            Outcome::WrongValue { .. } => Class::WrongValue,
            Outcome::RequestViolation { .. } => Class::RequestViolation,
        }
    }

    /// Whether this outcome is a bug in the code under test.
    ///
    /// ```
    /// use std::time::Duration;
    /// let hang = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: false, live: false, answered: false };
    /// assert!(hang.is_finding());
    /// ```
    pub fn is_finding(&self) -> bool {
        !matches!(self.class(), Class::Ok | Class::HandledError)
    }

    /// What makes two findings the same bug: the class, for a panic its location, for
    /// a hang whether the thread was blocked (a missing timeout and a blocking call on
    /// the runtime are two bugs). One bug found a hundred times has one signature.
    ///
    /// ```
    /// use std::time::Duration;
    /// let hang = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: false, live: false, answered: false };
    /// assert_eq!(hang.signature(), "hang");
    /// let blocked = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: true, live: false, answered: false };
    /// assert_eq!(blocked.signature(), "hang, thread blocked");
    /// ```
    pub fn signature(&self) -> String {
        match self {
            Outcome::Hang { blocked: true, .. } => "hang, thread blocked".to_owned(),
            Outcome::Hang { live: true, .. } => "hang, live without end".to_owned(),
            Outcome::Hang { answered: true, .. } => {
                "hang, every response answered in full".to_owned()
            }
            Outcome::Panic {
                location: Some(at), ..
            } => format!("panic at {at}"),
            Outcome::Panic { message, .. } => format!("panic: {message}"),
            Outcome::SilentAcceptance { clause, .. } => {
                format!(
                    "silent acceptance of {}",
                    crate::contract::generalized(clause)
                )
            }
            Outcome::RequestViolation { what, .. } => {
                format!(
                    "request violation: {}",
                    what.split(':').next().unwrap_or(what)
                )
            }
            Outcome::WrongValue { message, .. } => format!("wrong value: {message}"),
            // Each forgery accepted is its own bug: a signature not required, a MAC
            // not checked, a timestamp's age not checked are fixed in three places.
            Outcome::Misbehaviour {
                rule: Rule::ForgedAccepted,
                what,
                ..
            } => match Forgery::ALL.iter().find(|f| what.contains(&f.to_string())) {
                Some(forgery) => format!("{}: {forgery}", Rule::ForgedAccepted),
                None => Rule::ForgedAccepted.to_string(),
            },
            Outcome::Misbehaviour { rule, .. } => rule.to_string(),
            Outcome::Crash { kind, .. } => format!("crash: {kind}"),
            other => other.class().to_string(),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Ok => "ok",
            Class::HandledError => "handled error",
            Class::Crash => "crash",
            Class::Panic => "panic",
            Class::Hang => "hang",
            Class::Misbehaviour => "misbehaviour",
            Class::SilentAcceptance => "silent acceptance",
            Class::FalseRejection => "false rejection",
            Class::WrongValue => "wrong value",
            Class::RequestViolation => "request violation",
        })
    }
}

impl fmt::Display for Outcome {
    /// One line, or a few for a panic: what the code did.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok { value } => write!(f, "returned Ok: {value}"),
            Outcome::HandledError { message } => write!(f, "returned Err: {message}"),
            Outcome::Crash {
                kind,
                status,
                stderr,
            } => {
                write!(f, "crashed the process that ran it: {kind} ({status})")?;
                if !stderr.is_empty() {
                    write!(f, "\nthe last lines it wrote to stderr:\n{stderr}")?;
                }
                Ok(())
            }
            Outcome::Panic { message, location } => {
                let at = location.as_deref().unwrap_or("an unknown location");
                write!(f, "panicked at {at}:\n{message}")
            }
            Outcome::Hang {
                after, live: true, ..
            } => write!(
                f,
                "was still live after {after:?} (an endless drip, an unbounded wait, or requests without end) and was stopped: it has no overall limit of its own"
            ),
            Outcome::Hang {
                after,
                blocked: true,
                ..
            } => write!(
                f,
                "did not finish within {after:?} and blocked its thread (it never yielded, so it could not be cancelled)"
            ),
            Outcome::Hang {
                after,
                answered: true,
                ..
            } => write!(
                f,
                "did not finish within {after:?}, although every request it made had been answered in full: it was waiting on something of its own (a loop, a lock, a sleep), not on the provider"
            ),
            Outcome::Hang { after, .. } => write!(
                f,
                "did not finish within {after:?}: it was still awaiting when cancelled"
            ),
            Outcome::SilentAcceptance {
                clause,
                value,
                baseline: None,
            } => write!(
                f,
                "returned Ok for a response that breaks `{clause}`:\n{value}"
            ),
            Outcome::SilentAcceptance {
                clause,
                value,
                baseline: Some(baseline),
            } => write!(
                f,
                "returned Ok for a response that breaks `{clause}`, and the broken value caused what it returned:\n{value}\nwith only that change undone (every other response as served) it returned:\n{baseline}"
            ),
            Outcome::FalseRejection { message } => write!(
                f,
                "returned Err for responses that conform to the contract: {message}"
            ),
            Outcome::WrongValue { message, returned } => {
                write!(f, "returned a wrong value: {message}\n{returned}")
            }
            Outcome::Misbehaviour {
                rule,
                request,
                what,
            } if rule.is_webhook() => write!(f, "{rule}, at delivery {request}: {what}"),
            Outcome::Misbehaviour {
                rule,
                request,
                what,
            } => write!(f, "broke the {rule} rule at request {request}: {what}"),
            Outcome::RequestViolation { request, what } => {
                write!(f, "request {request} breaks the client's half of the contract: {what}")
            }
        }
    }
}
