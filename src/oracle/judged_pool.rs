//! The runner's pool with the oracle's verdict on every result: what campaigns,
//! shrinking and replays run.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::ops::ControlFlow;

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
    /// Runs every scenario, as the pool does, each with the runs its verdict depends
    /// on in the same slot, and hands each judged result to `each`.
    async fn each_settled(
        &self,
        scenarios: impl IntoIterator<Item = Scenario>,
        each: impl FnMut(usize, CaseResult) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let (pool, oracle) = (self.pool.clone(), self.oracle.clone());
        let run = move |scenario| {
            let (pool, oracle) = (pool.clone(), oracle.clone());
            async move {
                let result = pool.run_one(scenario).await?;
                oracle.settled(result, |s| pool.run_one(s)).await
            }
        };
        self.pool.each(scenarios, run, each).await
    }

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
        self.each_settled(scenarios, |i, result| {
            observe(i, &result);
            results[i] = Some(result);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(results.into_iter().flatten().collect())
    }

    /// Runs every scenario (taken as slots free up) and hands each judged result to
    /// `fold` as soon as it is known, keeping none of them.
    pub(crate) async fn each_judged(
        &self,
        scenarios: impl IntoIterator<Item = Scenario>,
        mut fold: impl FnMut(usize, CaseResult),
    ) -> Result<(), Error> {
        self.each_settled(scenarios, |i, result| {
            fold(i, result);
            ControlFlow::Continue(())
        })
        .await
    }

    /// The first scenario, in the order given, whose judged result `keeps`, and its
    /// result; `None` when none does. Deterministic, yet it stops waiting early: as
    /// soon as a result keeps and every scenario before it has finished without
    /// keeping, the cases still running (a hanging one included) are cancelled.
    pub(crate) async fn first_kept(
        &self,
        scenarios: Vec<Scenario>,
        keeps: impl Fn(&CaseResult) -> bool,
    ) -> Result<Option<CaseResult>, Error> {
        let mut results: Vec<Option<CaseResult>> = Vec::new();
        results.resize_with(scenarios.len(), || None);
        let mut first: Option<CaseResult> = None;
        self.each_settled(scenarios, |i, result| {
            results[i] = Some(result);
            // The earliest index whose result keeps, with all before it known.
            for slot in &mut results {
                match slot {
                    None => return ControlFlow::Continue(()),
                    Some(result) if keeps(result) => {
                        first = slot.take();
                        return ControlFlow::Break(());
                    }
                    Some(_) => {}
                }
            }
            ControlFlow::Continue(())
        })
        .await?;
        Ok(first)
    }
}
