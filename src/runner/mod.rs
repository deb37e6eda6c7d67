//! **Stage 6 — the runner: the only room that calls your code.**
//!
//! A [`Case`] starts a provider serving one scenario and calls your code with its
//! base URL through one choke point (`call`): a thread and runtime of its own,
//! a deadline watched from the harness, panics captured from every task. What the code
//! did is an [`Outcome`]: `Ok`, `HandledError`, `Panic` or `Hang`. A pool runs many
//! cases at once so that waiting overlaps, in this process or, isolated, in worker
//! processes whose death is a `Crash` (`isolation`). The behaviour [`Rules`] a case
//! is held to live here too, as data: the provider needs two of their bounds. Nothing here judges: deciding that an `Ok`
//! was a silent acceptance is the oracle's (stage 7), which also gives `Case` its
//! public, judged [`Case::run`].

mod call;
pub(crate) use call::source_relative;
pub(crate) mod case;
pub(crate) mod harness;
pub(crate) mod isolation;
pub(crate) mod outcome;
pub(crate) mod pool;
pub(crate) mod rules;
pub(crate) mod settings;

pub use case::{Case, CaseResult, DEFAULT_DEADLINE};
pub use outcome::{Class, Outcome};
pub use rules::{Rule, Rules};
