//! **Stage 11 — fuzzing: the campaign's cases, driven by libFuzzer.**
//!
//! `cargo test` runs campaigns: a seeded, bounded search that gates CI. `cargo fuzz`
//! is how a team spends a night looking for the bug nobody imagined. Both speak the
//! same scenario language: a fuzz target hands [`run`] libFuzzer's bytes, a
//! [`Campaign`](crate::Campaign) (baseline, contract, rules, deadline, suite) and the
//! same async closure the campaign test uses. The bytes decode to a [`Scenario`]
//! (`Scenario` implements `arbitrary::Arbitrary`; under a campaign's baseline and
//! contract, JSON changes aim at the paths the responses really have, and steps
//! conform to or break the schema), which runs through the same provider, runner and
//! oracle as a campaign case. A finding (panic, hang, crash, silent acceptance, double
//! charge, storm...) that shows again on a second run is a libFuzzer crash, printed
//! as the campaign report prints it, with the command that reproduces it and the one
//! that promotes it to an ordinary regression fixture (`badgateway promote`).
//!
//! ```no_run
//! // fuzz/fuzz_targets/create_charge.rs
//! #![no_main]
//! use std::sync::LazyLock;
//! use std::time::Duration;
//! use badgateway::{Baseline, Campaign, Response};
//!
//! static CAMPAIGN: LazyLock<Campaign> = LazyLock::new(|| {
//!     let baseline = Baseline::new().endpoint("GET", "/v1/balance", Response::json(200, &serde_json::json!({"available": 10})));
//!     Campaign::new("balance", baseline).deadline(Duration::from_millis(100))
//! });
//!
//! # macro_rules! fuzz_target { (|$d:ident: &[u8]| $b:block) => { fn target($d: &[u8]) $b }; }
//! fuzz_target!(|data: &[u8]| {
//!     badgateway::fuzz::run(data, &CAMPAIGN, |url| async move {
//!         reqwest::get(format!("{url}/v1/balance")).await?.json::<serde_json::Value>().await
//!     });
//! });
//! ```
//!
//! [`Scenario`]: crate::Scenario

mod fuzzer;
mod input;
mod promote;

pub use fuzzer::{decode, decode_handler, known_findings, run, run_handler};
pub use input::{describe_handler_with, describe_with, Input};
pub use promote::{Promoted, PROMOTE_OUT_VAR, PROMOTE_SUITE_VAR};
