//! **Stage 4 — webhooks: the provider calls the shop.**
//!
//! The other half of an integration: the provider delivers events (a payment
//! succeeded, a refund, a dispute) to the shop's webhook handler, and redelivers a
//! failed one for days. Here the provider signs deliveries as real providers do
//! ([`Signing`]: Stripe, GitHub, Standard Webhooks or an HMAC header you describe),
//! forges them ([`Forgery`](crate::Forgery)), and sends a case's
//! [`Delivery`](crate::Delivery)s to the [`Handler`] under test over loopback, writing
//! every byte itself (the only room besides the provider that opens a socket, and only
//! to loopback), while the same provider answers the handler's own calls. What
//! each delivery was answered is journaled ([`Delivered`](crate::journal::Delivered))
//! for the oracle. Events are declared in [`Webhooks`], in code, in a file or from a
//! contract's `webhooks` and `callbacks`.

mod deliver;
mod events;
mod handler;
mod signing;

pub(crate) use deliver::deliver;
pub use events::{Event, Webhooks};
pub use handler::Handler;
pub use signing::Signing;
