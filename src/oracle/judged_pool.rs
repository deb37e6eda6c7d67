//! The runner's pool with the oracle's verdict on every result: what campaigns,
//! shrinking and replays run.

use std::fmt::{Debug, Display};
use std::future::Future;

use crate::error::Error;
use crate::runner::case::CaseResult;
use crate::runner::pool::Pool;
use crate::scenario::Scenario;

use super::oracle::Oracle;

/// A [`Pool`] whose every result is judged by an [`Oracle`].
pub(crate) struct JudgedPool<F> {
    /// Runs the cases.
    pub(crate) pool: Pool<F>,
    /// Judges them.
    pub(crate) oracle: Oracle,
}

impl<F> Clone for JudgedPool<F> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            oracle: self.oracle.clone(),
        }
    }
}

impl<F, Fut, T, E> JudgedPool<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    /// Runs every scenario and judges it; results in the order of the scenarios.
    pub(crate) async fn all(&self, scenarios: Vec<Scenario>) -> Result<Vec<CaseResult>, Error> {
        self.all_observed(scenarios, |_, _| {}).await
    }

    /// As [`JudgedPool::all`], showing each judged result to `observe` as soon as it
    /// is known.
    pub(crate) async fn all_observed(
        &self,
        scenarios: Vec<Scenario>,
        mut observe: impl FnMut(usize, &CaseResult),
    ) -> Result<Vec<CaseResult>, Error> {
        let mut results: Vec<Option<CaseResult>> = Vec::new();
        results.resize_with(scenarios.len(), || None);
        self.pool
            .each(scenarios, |i, result| {
                let result = self.oracle.judge(result);
                observe(i, &result);
                results[i] = Some(result);
            })
            .await?;
        Ok(results.into_iter().flatten().collect())
    }
}
