//! **Stage 1 — the scenario: what the provider will do, as pure data.**
//!
//! A [`Scenario`] says, for request 1, 2, 3... of a case, what the hostile provider
//! answers: the baseline [`Response`] passed through, changed by [`Mutation`]s (status,
//! headers, body bytes, a [`JsonChange`] at a path), framed wrongly ([`Framing`]), or
//! sent with a [`Transport`] fault. Everything here is data and pure functions on it,
//! with no I/O and no randomness: applying mutations, walking JSON paths, rendering a
//! response to the exact bytes that go on the wire ([`wire`]) or to readable text
//! ([`render`]), and the one-change simplifications the shrinker tries ([`shrink`]).
//! Every other room builds on this one; it uses none of them.

mod delivery;
pub mod faults;
mod framing;
pub(crate) mod hash;
pub(crate) mod json_path;
pub(crate) mod mutation;
pub(crate) mod repeat;
pub mod render;
pub(crate) mod response;
mod route;
#[allow(clippy::module_inception)] // One concept per file, named by its noun.
mod scenario;
pub mod shrink;
mod transport;
pub mod wire;

pub use delivery::{Delivery, Forgery};
pub use framing::{ChunkFault, Framing};
pub use mutation::{JsonChange, Moment, Mutation};
pub use repeat::Repeat;
pub use response::Response;
pub(crate) use route::template_match;
pub use route::Route;
pub use scenario::{Cursor, Expectation, Scenario, Step};
pub use transport::Transport;
