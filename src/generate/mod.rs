//! **Stage 5 — generation: which scenarios to try, deterministically.**
//!
//! The probe (one unmodified run of your code) tells what the baseline responses look
//! like: a [`Catalog`] of their JSON paths, headers and sizes. The proptest
//! [`strategies`] turn it into hostile scenarios whose mutations land on values the
//! responses really have. Under a contract, each probed response gets a [`Plan`]: the
//! schema it must conform to, [`conformance`]-generated bodies that conform (which a
//! client may still refuse: they may mean a documented failure), [`equivalent`] ways of
//! writing the baseline that a client must accept, and changes that break one clause each, which it must reject. Cases come from the
//! campaign's seed alone (`seeded`), so a run is reproducible anywhere. No I/O
//! here: the journal is read, never made.

mod answers;
mod catalog;
pub mod conformance;
pub mod coverage;
pub mod deliveries;
pub mod equivalent;
pub(crate) mod fuzzed;
mod plan;
mod sample;
pub(crate) mod seeded;
pub mod strategies;

pub use catalog::Catalog;
pub(crate) use plan::{judged_clauses, plans, NOT_A_SUCCESS};
