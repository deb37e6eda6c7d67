//! # badgateway
//!
//! A hostile mock payment provider for your integration tests. It serves generated
//! malformed and edge-case responses to your real integration code over real loopback
//! sockets; panics and hangs are found, shrunk to the smallest response that causes
//! them, and reported with the exact bytes that were served.
//!
//! ```toml
//! [dev-dependencies]
//! badgateway = { path = "..." }
//! ```
//!
//! ## Getting started
//!
//! Declare what a well-behaved provider answers (the *baseline*), then hand the
//! campaign an async closure that calls your integration code with the provider's base
//! URL. `check` panics with a report if your code panics or hangs on anything the
//! provider could plausibly send.
//!
//! ```
//! use std::time::Duration;
//! use badgateway::{Baseline, Campaign, Response};
//!
//! #[derive(Debug, serde::Deserialize)]
//! struct Balance { available: i64 }
//!
//! async fn fetch_balance(base: &str) -> Result<Balance, String> {
//!     let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().map_err(|e| e.to_string())?;
//!     let response = client.get(format!("{base}/v1/balance")).send().await.map_err(|e| e.to_string())?;
//!     let body = response.bytes().await.map_err(|e| e.to_string())?;
//!     serde_json::from_slice(&body).map_err(|e| e.to_string())
//! }
//!
//! let baseline = Baseline::new().endpoint(
//!     "GET", "/v1/balance",
//!     Response::json(200, &serde_json::json!({"available": 1000})),
//! );
//! Campaign::new("balance", baseline)
//!     .cases(24)
//!     .deadline(Duration::from_secs(1))
//!     .check(|url| async move { fetch_balance(&url).await });
//! ```
//!
//! ## Architecture: the flow of a case
//!
//! The source has one folder per stage, ground-up, in the order a case flows through
//! them; each uses only the stages before it.
//!
//! 1. **scenario**: a [`Scenario`] is pure data saying what the provider does to
//!    request 1, 2, 3... of a case.
//! 2. **contract**: a [`Contract`] says what the provider promises and what the client
//!    owes back.
//! 3. **provider**: a [`Provider`] serves the scenario over loopback, writing every
//!    byte itself, and journals the requests ([`Journal`]).
//! 4. **webhook**: the provider delivers events to your webhook [`Handler`], signed
//!    ([`Signing`]) or forged, and journals what each was answered.
//! 5. **generate**: [`strategies`], [`conformance`] and [`equivalent`] generate scenarios from the seed,
//!    shaped by what the probe saw and by the contract.
//! 6. **runner**: a [`Case`] calls your code through one choke point and says what it
//!    did ([`Outcome`]).
//! 7. **oracle**: decides whether what it did is a bug (silent acceptance, false
//!    rejection, the behaviour [`Rules`], request violations, your [`Judged`] word).
//! 8. **store**: keeps each bug as a [`Fixture`] in a [`Store`]; a [`Replay`] runs them
//!    again with insta snapshots.
//! 9. **report**: the [`Report`] a person reads, and JUnit XML.
//! 10. **campaign**: a [`Campaign`] holds the settings and runs the flow.
//! 11. **fuzz**: [`fuzz::run`] drives a campaign's cases from libFuzzer's bytes.
//!
//! ## Concepts
//!
//! - **[`Scenario`]**: pure data saying what the provider does to request 1, 2, 3...
//!   of a case: pass the [`Baseline`] response through, [`Mutation`]s of its status,
//!   headers, body bytes or JSON values, a [`Framing`] fault, or a [`Transport`]
//!   fault. [`faults`] has shorthand constructors.
//! - **[`Provider`]**: the only part that opens sockets. A loopback HTTP/1.1 server
//!   that writes every byte itself, so broken framing really reaches the wire, and
//!   journals every request with secrets redacted ([`Journal`]).
//! - **[`Case`]**: one scenario against your code, under a deadline, on a thread and
//!   runtime of its own, classified as an [`Outcome`]: `Ok`, `HandledError`, `Panic`
//!   (from any task of the case) or `Hang` (also when your code blocks its thread).
//! - **[`Campaign`]**: many generated cases ([`strategies`]), run concurrently so
//!   waiting is overlapped; each finding is grouped by signature and shrunk
//!   ([`shrink`]) into a [`Report`].
//! - **[`Contract`]**: an OpenAPI 3.0/3.1 document or JSON Schema. With
//!   [`Campaign::contract`], cases include conforming and clause-breaking responses
//!   ([`conformance`]), and silent acceptances, false rejections and requests that
//!   break the client's half are findings too; [`Campaign::judge`] has the last word.
//! - **[`Rules`]**: behaviour across the requests of a case, judged from the journal
//!   in every campaign, replay and [`Case::run`]: a double charge
//!   ([`Rule::DuplicateEffect`], over effects a [`Baseline::effect`] declares), retry
//!   storms, retries back to back, an ignored or unbounded `Retry-After`, retried
//!   final errors, pagination cycles and pages without end. A [`Step`] can
//!   [`repeat`](Step::repeat) (the provider stays down) or come
//!   [`after_effect`](Step#structfield.after_effect) (the charge is taken, then the
//!   connection resets).
//! - **Isolation**, on by default ([`Campaign::isolated`], opted out of with
//!   [`Campaign::in_process`]): cases run in long-lived worker processes, so an abort,
//!   a stack overflow, memory exhausted or `exit(..)` is an [`Outcome::Crash`] finding
//!   instead of the end of the test run.
//! - **[`Fixture`]s in a [`Store`]**: every finding is kept as a readable JSON file,
//!   atomically, one per signature; a [`Replay`] (or [`Campaign::replay`], with the
//!   campaign's settings) replays them with one insta snapshot per fixture, so a fixed
//!   bug flips its snapshot.
//!
//! ## Prior art
//!
//! | tool | what it does well | what it lacks here |
//! |---|---|---|
//! | wiremock | in-process mocks, matchers, a request journal | no transport or framing faults, no generation or shrinking; use it as a baseline with [`Baseline::forward_to`] |
//! | Toxiproxy | TCP faults (`reset_peer`, `limit_data`, `slicer`, `timeout`) | not HTTP-aware, unseeded, a separate daemon |
//! | Prism, Microcks, stripe-mock | responses from an OpenAPI spec | valid data only, never the malformed response |
//! | Pact | consumer contracts | asserts what the client sent, never that it survived |
//! | Schemathesis | schema-driven generation, shrinking, replay | fuzzes servers, not clients |
//! | proptest, cargo-fuzz | generation, shrinking, coverage | know nothing about HTTP providers |

// The rooms, ground-up, in the order a case flows through them: each uses only the
// rooms above it (`tests/it/layout.rs` fails on an upward import). `error` is the
// one shared type every room may use.
mod error;
mod scenario;
mod contract;
mod provider;
mod webhook;
mod generate;
mod runner;
mod oracle;
mod store;
mod report;
mod campaign;
pub mod fuzz;

pub use generate::{conformance, coverage, deliveries, equivalent, strategies};
pub use provider::journal;
pub use scenario::{faults, render, shrink, wire};

pub use campaign::Campaign;
pub use contract::{Contract, Dialect, Operation, ResponseSpec, Violation};
pub use error::{Error, ErrorKind};

/// Entry points for badgateway's own fuzz targets (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::provider::fuzz_read_stream as read_stream;
}
pub use oracle::Judged;
pub use provider::{
    Baseline, Endpoint, Journal, Liveness, Pages, Provider, RecordedRequest, Secrets,
};
pub use report::{Finding, Kept, Report};
pub use runner::{Case, CaseResult, Class, Outcome, Rule, Rules, DEFAULT_DEADLINE};
pub use scenario::{
    ChunkFault, Cursor, Delivery, Expectation, Forgery, Framing, JsonChange, Moment, Mutation,
    Repeat, Response, Route, Scenario, Step, Transport,
};
pub use store::{
    Fixture, Found, Replay, ReplayReport, ReplayStatus, Reproduced, Saved, ShrinkFigures, Store,
    Verdict, FORMAT_VERSION,
};
pub use webhook::{Event, Handler, Signing, Webhooks};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
