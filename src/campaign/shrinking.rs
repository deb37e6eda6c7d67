//! Shrinking a finding to the smallest scenario that still shows it.
//!
//! Implementation notes: shrinking is our own, not proptest's `ValueTree`. Each round
//! runs every one-change simplification ([`crate::shrink::candidates`]) concurrently
//! and keeps the first that keeps the signature, so a hang costs about one deadline
//! per round instead of one per candidate. Delays are not shrunk: a finding shrunk to
//! the deadline's edge flakes.

use std::fmt::{Debug, Display};
use std::future::Future;

use crate::error::Error;
use crate::oracle::JudgedPool;
use crate::report::{Finding, Kept};
use crate::runner::CaseResult;
use crate::scenario::shrink;
use crate::store::ShrinkFigures;

/// A shrink stops after this many rounds even if it could go on.
const MAX_SHRINK_ROUNDS: usize = 64;

/// Shrinks a finding: each round runs every simplification at once and keeps the
/// first, in candidate order, that still shows the same signature; the round stops
/// waiting as soon as that one is known, cancelling the rest.
pub(crate) async fn shrunk<F, Fut, T, E>(
    runs: &JudgedPool<F>,
    signature: String,
    first: CaseResult,
    first_case: usize,
    seen_in: usize,
) -> Result<Finding, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let original = first.scenario.clone();
    let mut current = first;
    let (mut rounds, mut tried) = (0, 0);
    while rounds < MAX_SHRINK_ROUNDS {
        let candidates = shrink::candidates(&current.scenario);
        if candidates.is_empty() {
            break;
        }
        tried += candidates.len();
        let kept = runs
            .first_kept(candidates, |r| r.outcome.signature() == signature)
            .await?;
        match kept {
            Some(smaller) => {
                current = smaller;
                rounds += 1;
            }
            None => break,
        }
    }
    Ok(Finding {
        signature,
        shrink: ShrinkFigures {
            from_steps: original.steps.len(),
            from_complexity: original.complexity(),
            to_steps: current.scenario.steps.len(),
            to_complexity: current.scenario.complexity(),
            rounds,
            from_deliveries: original.deliveries.len(),
            to_deliveries: current.scenario.deliveries.len(),
            runs: tried,
        },
        original,
        first_case,
        seen_in,
        fixture: Kept::NotKept,
        reproduced: None,
        outcome: current.outcome,
        scenario: current.scenario,
        journal: current.journal,
    })
}
