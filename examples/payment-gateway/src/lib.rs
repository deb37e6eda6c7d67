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

/// The test secret key the examples authenticate with. It must never appear in a
/// badgateway journal or report.
pub const TEST_SECRET_KEY: &str = "sk_test_51HcX8eKs3cR3tV4lu3";
