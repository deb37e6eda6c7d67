//! **Stage 2 — the contract: what the provider promises, and what the client owes.**
//!
//! A [`Contract`] is read from an OpenAPI 3.0 / 3.1 document (JSON or YAML) or a bare
//! JSON Schema (`document` checks syntax and references, and rewrites 3.0
//! schemas to JSON Schema 2020-12). It lists the [`Operation`]s with their request
//! and response schemas, and validates an instance against any schema pointer,
//! naming each clause broken as a [`Violation`]. Generation (stage 5) reads it to make
//! conforming and clause-breaking bodies; the oracle (stage 7) reads it to judge what
//! the client accepted and what it sent. It uses no other room.

#[allow(clippy::module_inception)] // One concept per file, named by its noun.
mod contract;
mod document;
mod operation;
mod servers;
mod violation;

pub(crate) use contract::edit_distance;
pub use contract::Contract;
pub use document::Dialect;
pub(crate) use operation::examples_of;
pub use operation::{Operation, ResponseSpec};
pub(crate) use violation::generalized;
pub use violation::Violation;
