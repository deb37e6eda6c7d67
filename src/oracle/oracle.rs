//! The oracle: every rule applied to one case's result, in one place.

use std::sync::Arc;

use crate::contract::Contract;
use crate::runner::case::CaseResult;

use crate::runner::outcome::Outcome;
use crate::runner::rules::Rules;

use super::expectations::{AcceptanceRule, BaselineOutput};
use super::judge::{self, JudgeFn};
use super::{behaviour, expectations, requests};

/// What judges a campaign's or a replay's cases: the steps' expectations, the
/// behaviour every client owes, the client's half of the contract (when there is one),
/// and your judge (when there is one), in that order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Oracle {
    contract: Option<Arc<Contract>>,
    judge: Option<JudgeFn>,
    acceptance: AcceptanceRule,
    rules: Rules,
}

impl Oracle {
    /// An oracle with this contract and judge.
    pub(crate) fn new(contract: Option<Arc<Contract>>, judge: Option<JudgeFn>) -> Self {
        Self {
            contract,
            judge,
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
            "the code returned different values for the same unmodified baseline on two runs (a timestamp, a random id?), so a silent acceptance was judged only by whether the broken value was passed through, not by comparing results".to_owned()
        })
    }

    /// The result with its outcome judged by every rule.
    pub(crate) fn judge(&self, mut result: CaseResult) -> CaseResult {
        let mut outcome = expectations::judged(result.outcome, &result.journal, &self.acceptance);
        outcome = behaviour::behaved(
            outcome,
            &result.journal,
            &self.rules,
            self.contract.as_deref(),
        );
        if let Some(contract) = &self.contract {
            outcome = requests::checked(contract, outcome, &result.journal);
        }
        if let Some(judge) = &self.judge {
            outcome = judge::apply(judge, outcome, &result.journal);
        }
        result.outcome = outcome;
        result
    }
}
