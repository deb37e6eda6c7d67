//! One bug found by a campaign, shrunk, and where it is kept.

use crate::provider::journal::Journal;
use crate::runner::outcome::Outcome;
use crate::scenario::Scenario;
use crate::store::{Reproduced, Saved, ShrinkFigures};

/// One bug: a signature, and the smallest scenario found that shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// What makes it one bug: see [`Outcome::signature`].
    pub signature: String,
    /// What the code did with the shrunk scenario.
    pub outcome: Outcome,
    /// The shrunk scenario.
    pub scenario: Scenario,
    /// What the provider received and sent in the shrunk case, secrets redacted.
    pub journal: Journal,
    /// The generated scenario before shrinking.
    pub original: Scenario,
    /// Index of the first generated case that showed it.
    pub first_case: usize,
    /// How many generated cases showed it.
    pub seen_in: usize,
    /// How far it was shrunk.
    pub shrink: ShrinkFigures,
    /// Where it is kept as a regression fixture.
    pub fixture: Kept,
    /// How its shrunk scenario behaved when run again, alone (`None` when it was not).
    pub reproduced: Option<Reproduced>,
}

/// Where a finding is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kept {
    /// The campaign keeps no fixtures.
    NotKept,
    /// In the store: see [`Saved`].
    In(Saved),
    /// Writing the fixture failed; the report still shows the finding.
    Failed(String),
}
