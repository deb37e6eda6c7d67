//! **Stage 9 — the report: what a person reads.**
//!
//! A campaign's [`Report`] holds a tally of outcomes and one [`Finding`] per bug:
//! the shrunk scenario, what the provider served (readable, malformed bytes marked),
//! what the code did, how far it was shrunk, where the fixture is [`Kept`], and the
//! command that reproduces it. Its `Display` form is what a failing campaign prints;
//! the same report goes to JUnit XML for CI systems.

mod finding;
pub(crate) mod junit;
#[allow(clippy::module_inception)] // One concept per file, named by its noun.
mod report;
mod terminal;

pub use finding::{Finding, Kept};
pub use report::Report;
pub(crate) use report::{report_setting_error, served_requests};
pub(crate) use terminal::{colour_on_stdout, coloured, Progress};
