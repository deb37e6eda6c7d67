//! An integration with **Paygate**, a fictional payment provider shaped like the
//! common payment APIs: create a charge (`POST /v1/charges`, JSON, an
//! `Idempotency-Key` header), fetch a charge, refund it, list charges with cursor
//! pagination. Amounts are in minor units, `status` is an enum, errors come as
//! `{"error": {"type", "code", "message"}}`.
//!
//! It is written twice, side by side, to demonstrate badgateway:
//!
//! - [`naive`] is written the way the code in an outage postmortem was: it unwraps
//!   what it parses, has no timeout, retries server errors at once and forever with a
//!   new idempotency key each time, and trusts every field.
//! - [`hardened`] handles everything: timeouts, bounded retries with backoff that
//!   honour `Retry-After` and keep the idempotency key, a body size limit, tolerant
//!   enums, and typed errors.

pub mod hardened;
pub mod naive;
pub mod server;
pub mod webhooks;

/// The test secret key the examples authenticate with. It must never appear in a
/// badgateway journal or report.
pub const TEST_SECRET_KEY: &str = "sk_test_51HcX8eKs3cR3tV4lu3";

/// The fields of Paygate's responses this integration never reads: a broken clause
/// there is no bug of the integration, so contract campaigns ignore them
/// (`Contract::ignoring`).
pub const UNREAD_FIELDS: &[&str] = &[
    "object",
    "created",
    "refunded",
    "amount_refunded",
    "refunded_at",
    "failure",
    "metadata",
    "payment_method.type",
    "payment_method.card.exp_month",
    "payment_method.card.exp_year",
    "data[].object",
    "data[].created",
    "data[].refunded",
    "data[].amount_refunded",
    "data[].refunded_at",
    "data[].failure",
    "data[].metadata",
    "data[].payment_method.type",
    "data[].payment_method.card.exp_month",
    "data[].payment_method.card.exp_year",
];

/// Paygate's contract, as the integration reads it: the OpenAPI document in the
/// repository's `fixtures/contracts/paygate.yaml`, less the [`UNREAD_FIELDS`].
pub const CONTRACT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/contracts/paygate.yaml"
);

/// Where the repository keeps the findings about this integration as regression
/// fixtures, one folder per suite.
pub const REGRESSIONS_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/regressions");
