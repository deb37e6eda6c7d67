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

use super::oracle::Oracle;

impl Case {
    /// Runs the case on a runtime of its own, and judges the outcome as a campaign
    /// does: by the expectations its steps carried (a silent acceptance of a
    /// clause-breaking response, a false rejection of a conforming one) and by every
    /// behaviour [`Rule`](crate::Rule) it is held to ([`Case::rules`]).
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
        let oracle = Oracle::new(None).rules(self.rules_judged().clone());
        on_harness_runtime(move || async move {
            let result = self.run_unjudged(code.clone()).await?;
            let run = |scenario| {
                let (case, code) = (self.serving(scenario), code.clone());
                async move { case.run_unjudged(code).await }
            };
            oracle.settled(result, run).await
        })
    }
}
