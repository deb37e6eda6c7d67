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
//! - **[`Fixture`]s in a [`Store`]**: every finding is kept as a readable JSON file,
//!   atomically, one per signature; [`Campaign::replay`] replays them with one insta
//!   snapshot per fixture, so a fixed bug flips its snapshot.
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

mod baseline;
mod campaign;
mod case;
mod client_contract;
pub mod conformance;
mod contract;
mod error;
pub mod faults;
mod fixture;
pub mod journal;
mod json_path;
mod judge;
mod junit;
mod mutation;
mod outcome;
mod provider;
pub mod render;
pub mod replay;
mod report;
mod response;
mod runner;
mod scenario;
pub mod shrink;
mod store;
pub mod strategies;
pub mod wire;

pub use baseline::{Baseline, Endpoint};
pub use campaign::Campaign;
pub use case::{Case, CaseResult, DEFAULT_DEADLINE};
pub use contract::{Contract, Dialect, Operation, ResponseSpec, Violation};
pub use error::{Error, ErrorKind};
pub use fixture::{Fixture, Found, FORMAT_VERSION};
pub use journal::{Journal, RecordedRequest};
pub use judge::Judged;
pub use outcome::{Class, Outcome};
pub use provider::Provider;
pub use replay::ReplayReport;
pub use report::{Finding, Kept, Report, ShrinkFigures};
pub use response::Response;
pub use scenario::{
    ChunkFault, Expectation, Framing, JsonChange, Mutation, Scenario, Step, Transport,
};
pub use store::{Saved, Store};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
