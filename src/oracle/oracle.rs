//! The oracle: every rule applied to one case's result, in one place.

use std::sync::Arc;

use crate::contract::Contract;
use crate::provider::journal::Journal;
use crate::runner::case::CaseResult;

use crate::runner::outcome::Outcome;
use crate::runner::rules::Rules;

use std::future::Future;

use crate::error::Error;
use crate::scenario::Scenario;

use super::expectations::{AcceptanceRule, BaselineOutput, Counterfactual};
use super::judge;
use super::{behaviour, expectations, requests};

/// The most runs of a counterfactual (or of the case again) that did not return `Ok`.
const SETTLING_RUNS: usize = 3;

/// What `scenario` returned, run until it returns `Ok`, [`SETTLING_RUNS`] times at
/// most: a run that did not tells nothing of the cause (a client timing out on a busy
/// machine, say), so load can delay a claim but not hide it.
async fn settled_run<Fut>(
    run: &impl Fn(Scenario) -> Fut,
    scenario: &Scenario,
) -> Result<Outcome, Error>
where
    Fut: Future<Output = Result<CaseResult, Error>>,
{
    let mut outcome = run(scenario.clone()).await?.outcome;
    for _ in 1..SETTLING_RUNS {
        if matches!(outcome, Outcome::Ok { .. }) {
            break;
        }
        outcome = run(scenario.clone()).await?.outcome;
    }
    Ok(outcome)
}

/// What judges a campaign's or a replay's cases: the steps' expectations, the
/// behaviour every client owes, the client's half of the contract (when there is one),
/// and your judge's verdicts (given where the code returned), in that order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Oracle {
    contract: Option<Arc<Contract>>,
    acceptance: AcceptanceRule,
    rules: Rules,
}

impl Oracle {
    /// An oracle with this contract.
    pub(crate) fn new(contract: Option<Arc<Contract>>) -> Self {
        Self {
            contract,
            acceptance: AcceptanceRule::default(),
            rules: Rules::default(),
        }
    }

    /// Judges behaviour across requests by these rules.
    pub(crate) fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Judges silent acceptance clause by clause (strict), or by what the broken value
    /// did to the result (not strict, the default).
    pub(crate) fn strict(mut self, strict: bool) -> Self {
        self.acceptance.strict = strict;
        self
    }

    /// What the code returned for the unmodified baseline, from two probe runs: the
    /// same `Ok` twice is stable. Says, when it is not, what that means for judging.
    pub(crate) fn set_baseline_output(
        &mut self,
        first: &Outcome,
        second: &Outcome,
    ) -> Option<String> {
        self.acceptance.baseline = match (first, second) {
            (Outcome::Ok { value: a }, Outcome::Ok { value: b }) if a == b => {
                BaselineOutput::Stable(a.clone())
            }
            (Outcome::Ok { .. }, Outcome::Ok { .. }) => BaselineOutput::Unstable,
            _ => BaselineOutput::Unknown,
        };
        (self.acceptance.baseline == BaselineOutput::Unstable && !self.acceptance.strict).then(|| {
            "the code returned different values for the same unmodified baseline on two runs (a timestamp, a random id?), so a silent acceptance was claimed only where a case returned the same twice and something else with the broken value undone; Campaign::strict() judges clause by clause".to_owned()
        })
    }

    /// The scenario this result's verdict depends on, if any: the same case with the
    /// blamed change undone, to tell whether a broken value caused what the code
    /// returned (see [`Oracle::judge`]).
    pub(crate) fn counterfactual(&self, result: &CaseResult) -> Option<Scenario> {
        if !result.scenario.deliveries.is_empty() {
            return None;
        }
        self.acceptance.counterfactual(
            &result.outcome,
            &self.placed(&result.outcome, &result.journal),
            &result.scenario,
        )
    }

    /// Whether a counterfactual needs the case itself run again too: the code's
    /// output is not known to be stable.
    pub(crate) fn needs_again(&self) -> bool {
        self.acceptance.needs_again()
    }

    /// Runs `result`'s counterfactual (and the case again, where needed) with `run`,
    /// and judges it: the whole verdict on one case, in the slot that ran it.
    pub(crate) async fn settled<Fut>(
        &self,
        result: CaseResult,
        run: impl Fn(Scenario) -> Fut,
    ) -> Result<CaseResult, Error>
    where
        Fut: Future<Output = Result<CaseResult, Error>>,
    {
        let Some(undone) = self.counterfactual(&result) else {
            return Ok(self.judge(result, None));
        };
        let without = settled_run(&run, &undone).await?;
        let again = match self.needs_again() {
            true => Some(settled_run(&run, &result.scenario).await?),
            false => None,
        };
        Ok(self.judge(result, Some(&Counterfactual { without, again })))
    }

    /// The journal with each expectation kept only where it holds for what was served
    /// (see [`expectations::placed`]), for an outcome expectations judge (`Ok`, `Err`);
    /// as it is without a contract, or for any other outcome (no body is read then).
    fn placed<'a>(&self, outcome: &Outcome, journal: &'a Journal) -> std::borrow::Cow<'a, Journal> {
        match (&self.contract, outcome) {
            (Some(contract), Outcome::Ok { .. } | Outcome::HandledError { .. }) => {
                expectations::placed(contract, journal)
            }
            _ => std::borrow::Cow::Borrowed(journal),
        }
    }

    /// The result with its outcome judged by every rule, given its counterfactual
    /// when [`Oracle::counterfactual`] asked for one (without it, no silent acceptance
    /// is claimed but in strict mode and for an error status).
    pub(crate) fn judge(
        &self,
        mut result: CaseResult,
        counterfactual: Option<&Counterfactual>,
    ) -> CaseResult {
        // A webhook case returns what its deliveries were answered, not what the
        // handler made of a response: the steps' expectations say nothing of it, and
        // the webhook rules judge it.
        let mut outcome = match result.scenario.deliveries.is_empty() {
            true => {
                let placed = self.placed(&result.outcome, &result.journal);
                expectations::judged(result.outcome, &placed, &self.acceptance, counterfactual)
            }
            false => result.outcome,
        };
        outcome = behaviour::behaved(
            outcome,
            &result.journal,
            &self.rules,
            self.contract.as_deref(),
            &result.scenario,
        );
        if let Some(contract) = &self.contract {
            outcome = requests::checked(contract, outcome, &result.journal);
        }
        outcome = judge::apply(outcome, &result.journal);
        result.outcome = outcome;
        result
    }
}
