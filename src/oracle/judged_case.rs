//! [`Case::run`]: one case, run and judged.
//!
//! Implementation notes: `Case` is the runner's type, but its public `run` judges the
//! outcome too, and judging is this room's. An inherent `impl` may live in any module
//! of the crate, so the runner stays unaware of the oracle and imports still point
//! one way.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use crate::error::Error;
use crate::runner::case::{Case, CaseResult};
use crate::runner::harness::on_harness_runtime;

use super::expectations;

impl Case {
    /// Runs the case on a runtime of its own, and judges the outcome by the
    /// expectations its steps carried (a silent acceptance of a clause-breaking
    /// response, a false rejection of a conforming one).
    ///
    /// # Errors
    /// Only the harness's own failures (the provider could not bind); everything your
    /// code does is in [`CaseResult::outcome`].
    pub fn run<F, Fut, T, E>(self, code: F) -> Result<CaseResult, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let code = Arc::new(code);
        on_harness_runtime(move || async move {
            let mut result = self.run_unjudged(code).await?;
            result.outcome =
                expectations::judged(result.outcome, &result.journal, &Default::default());
            Ok(result)
        })
    }
}
