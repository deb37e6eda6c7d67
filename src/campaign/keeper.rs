//! Keeping findings: every one is written to the store as soon as it is seen, and
//! again once shrunk, and the campaign says so on stderr.

use crate::report::Kept;
use crate::runner::outcome::Outcome;
use crate::scenario::Scenario;
use crate::store::{Fixture, Found, Reproduced, Saved, ShrinkFigures, Store};

/// Writes findings to the store as fixtures.
#[derive(Debug, Clone)]
pub(super) struct Keeper {
    pub(super) store: Option<Store>,
    pub(super) suite: String,
    pub(super) seed: u64,
    pub(super) cases: u32,
}

impl Keeper {
    /// Keeps one finding; where it went, or why it could not be kept.
    pub(super) fn keep(
        &self,
        scenario: &Scenario,
        outcome: &Outcome,
        case: usize,
        shrink: Option<ShrinkFigures>,
        reproduced: Option<Reproduced>,
    ) -> Kept {
        let Some(store) = &self.store else {
            return Kept::NotKept;
        };
        let found = Found {
            shrink,
            reproduced,
            ..Found::by_campaign(outcome, self.seed, case, self.cases)
        };
        let fixture = Fixture::of_finding(&self.suite, scenario, outcome, found);
        match store.save(&fixture) {
            Ok(saved) => {
                if !matches!(saved, Saved::Known(_)) {
                    eprintln!(
                        "badgateway: {} kept in {}",
                        fixture.signature,
                        saved.path().display()
                    );
                }
                Kept::In(saved)
            }
            Err(error) => {
                eprintln!("badgateway: {} NOT kept: {error}", fixture.signature);
                Kept::Failed(error.to_string())
            }
        }
    }
}
