//! What the code under test did with one case.

use std::fmt;
use std::time::Duration;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    },
}

/// The class of an [`Outcome`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// See [`Outcome::Ok`].
    Ok,
    /// See [`Outcome::HandledError`].
    HandledError,
    /// See [`Outcome::Panic`].
    Panic,
    /// See [`Outcome::Hang`].
    Hang,
}

impl Outcome {
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
            Outcome::Panic { .. } => Class::Panic,
            Outcome::Hang { .. } => Class::Hang,
        }
    }

    /// Whether this outcome is a bug in the code under test.
    ///
    /// ```
    /// use std::time::Duration;
    /// let hang = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: false };
    /// assert!(hang.is_finding());
    /// ```
    pub fn is_finding(&self) -> bool {
        matches!(self.class(), Class::Panic | Class::Hang)
    }

    /// What makes two findings the same bug: the class, for a panic its location, for
    /// a hang whether the thread was blocked (a missing timeout and a blocking call on
    /// the runtime are two bugs). One bug found a hundred times has one signature.
    ///
    /// ```
    /// use std::time::Duration;
    /// let hang = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: false };
    /// assert_eq!(hang.signature(), "hang");
    /// let blocked = badgateway::Outcome::Hang { after: Duration::from_secs(1), blocked: true };
    /// assert_eq!(blocked.signature(), "hang, thread blocked");
    /// ```
    pub fn signature(&self) -> String {
        match self {
            Outcome::Hang { blocked: true, .. } => "hang, thread blocked".to_owned(),
            Outcome::Panic {
                location: Some(at), ..
            } => format!("panic at {at}"),
            Outcome::Panic { message, .. } => format!("panic: {message}"),
            other => other.class().to_string(),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Ok => "ok",
            Class::HandledError => "handled error",
            Class::Panic => "panic",
            Class::Hang => "hang",
        })
    }
}

impl fmt::Display for Outcome {
    /// One line, or a few for a panic: what the code did.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok { value } => write!(f, "returned Ok: {value}"),
            Outcome::HandledError { message } => write!(f, "returned Err: {message}"),
            Outcome::Panic { message, location } => {
                let at = location.as_deref().unwrap_or("an unknown location");
                write!(f, "panicked at {at}:\n{message}")
            }
            Outcome::Hang { after, blocked: true } => write!(
                f,
                "did not finish within {after:?} and blocked its thread (it never yielded, so it could not be cancelled)"
            ),
            Outcome::Hang { after, .. } => write!(
                f,
                "did not finish within {after:?}: it was still awaiting when cancelled"
            ),
        }
    }
}
