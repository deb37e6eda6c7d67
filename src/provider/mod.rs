//! **Stage 3 — the provider: the only room that listens on a socket.**
//!
//! A [`Provider`] is a loopback HTTP/1.1 server bound to `127.0.0.1`. For each request
//! it reads (`request` parsing, with `httparse`) it takes the [`Baseline`]
//! response (declared, loaded from a file, or forwarded to a wiremock server), applies
//! the scenario's step for that request, and writes the bytes itself, so that broken
//! framing and transport faults really reach the wire. Every request and what was
//! served for it goes into the [`Journal`]; every secret value it sees (in requests, in
//! baseline responses, or named by the user) is collected in [`Secrets`] and scrubbed
//! from the journal, and the runner scrubs the case's outcome with the same set. It builds on the
//! scenario room only.

pub(crate) mod baseline;
mod connection;
mod forward;
pub mod journal;
mod liveness;
pub(crate) mod names;
#[allow(clippy::module_inception)] // One concept per file, named by its noun.
mod provider;
mod request;
pub(crate) mod secrets;
mod shapes;
mod waits;

pub use baseline::{Baseline, Endpoint, Pages};
pub use journal::{Journal, RecordedRequest};
pub use liveness::Liveness;
pub(crate) use provider::serving;
pub(crate) use provider::Limits;
pub use provider::Provider;
pub use secrets::Secrets;

/// The request parser as the fuzz target drives it: see `request::read_stream`.
#[doc(hidden)]
pub fn fuzz_read_stream(data: &[u8], slice: usize) -> usize {
    request::read_stream(data, slice)
}
