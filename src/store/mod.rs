//! **Stage 8 — the store: findings kept as regression fixtures, and replayed.**
//!
//! A finding becomes a [`Fixture`]: a readable, versioned JSON file holding the
//! scenario, its signature, how it was found and how far it was shrunk
//! ([`ShrinkFigures`]). The [`Store`] writes fixtures atomically, one per signature,
//! and reads them back with errors that name the file and the fix. A [`Replay`] runs
//! every kept fixture against the current code (through the judged pool, as a
//! campaign does) and asserts each [`Verdict`] with an insta snapshot, so a fixed bug
//! flips its snapshot. JUnit files are written here too, atomically.

mod files;
pub(crate) mod fixture;
pub(crate) mod junit;
mod replay;
mod snapshot;
#[allow(clippy::module_inception)] // One concept per file, named by its noun.
pub(crate) mod store;
pub(crate) mod verdict;

pub use fixture::{Fixture, Found, Reproduced, ShrinkFigures, FORMAT_VERSION};
pub use replay::Replay;
pub(crate) use store::Keeping;
pub use store::{Saved, Store};
pub use verdict::{ReplayReport, ReplayStatus, Verdict};
