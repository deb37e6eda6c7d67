//! **Stage 10 — the campaign: settings and orchestration.**
//!
//! A [`Campaign`] holds the settings (suite, baseline, cases, seed, deadline,
//! concurrency, contract, judge, folders) and runs the flow of the rooms below it:
//! probe the baseline once, generate cases from the seed (stage 5), run and judge them
//! in the judged pool (stages 6 and 7), keep each new bug as soon as it is seen
//! (stage 8), shrink every finding to its smallest scenario, and report (stage 9).
//! Replaying kept fixtures is the store's [`Replay`](crate::Replay);
//! [`Campaign::replay`] hands it this campaign's settings.

#[allow(clippy::module_inception)] // One concept per file, named by its noun.
mod campaign;
mod explore;
mod keeper;
pub(crate) mod settings;
pub(crate) mod shrinking;
mod webhooks;

pub use campaign::Campaign;
