//! The oracle: every rule applied to one case's result, in one place.

use std::sync::Arc;

use crate::contract::Contract;
use crate::runner::case::CaseResult;

use super::judge::{self, JudgeFn};
use super::{behaviour, expectations, requests};

/// What judges a campaign's or a replay's cases: the steps' expectations, the
/// behaviour every client owes, the client's half of the contract (when there is one),
/// and your judge (when there is one), in that order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Oracle {
    contract: Option<Arc<Contract>>,
    judge: Option<JudgeFn>,
}

impl Oracle {
    /// An oracle with this contract and judge.
    pub(crate) fn new(contract: Option<Arc<Contract>>, judge: Option<JudgeFn>) -> Self {
        Self { contract, judge }
    }

    /// The result with its outcome judged by every rule.
    pub(crate) fn judge(&self, mut result: CaseResult) -> CaseResult {
        let mut outcome = expectations::judged(result.outcome, &result.journal);
        outcome = behaviour::behaved(outcome, &result.journal);
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
