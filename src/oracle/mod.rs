//! **Stage 7 — the oracle: was what the code did a bug?**
//!
//! The runner says what the code did; the oracle decides what it means, from the
//! outcome and the request journal. A step that broke a clause must be rejected and a
//! conforming one accepted (`expectations`); every client must keep the behaviour
//! rules across its requests: no double effect, bounded and spaced retries,
//! `Retry-After` honoured up to a cap, final errors not retried, pages that end
//! (`behaviour`); under a contract, requests must be documented, carry required headers
//! and valid bodies, and retries of a POST the same idempotency key where no effect is
//! declared (`requests`); and your own judge has the last word
//! ([`Judged`]). A judged pool runs cases and judges each as it finishes.

mod behaviour;
mod deliveries;
mod expectations;
mod judge;
mod judged_case;
pub(crate) mod judged_pool;
#[allow(clippy::module_inception)] // One concept per file, named by its noun.
pub(crate) mod oracle;
mod requests;

pub(crate) use behaviour::{judged_by_timing, Timed, RECHECK_RUNS};
pub(crate) use expectations::Counterfactual;
pub use judge::Judged;
pub(crate) use judge::{judging, JudgeFn, JudgedCode};
pub(crate) use judged_pool::JudgedPool;
pub(crate) use oracle::Oracle;
