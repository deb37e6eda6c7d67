//! Shorthand constructors for the [`Step`]s real providers are seen to take.
//!
//! Each returns a whole step, so scenarios read as a list of what went wrong:
//!
//! ```
//! use badgateway::{faults, Scenario};
//! let s = Scenario::new()
//!     .then(faults::status(503))
//!     .then(faults::reset_peer_after(0))
//!     .then(faults::truncate_body_at(17));
//! assert_eq!(s.steps.len(), 3);
//! ```

use crate::scenario::{ChunkFault, Framing, JsonChange, Mutation, Step, Transport};

/// Answer with this status (the baseline's headers and body are kept).
///
/// ```
/// use badgateway::{faults, Mutation};
/// assert_eq!(faults::status(503).mutations, vec![Mutation::Status(503)]);
/// ```
pub fn status(code: u16) -> Step {
    Step::baseline().with(Mutation::Status(code))
}

/// A 429 with this `Retry-After` value, verbatim (`"2"`, `"0.493"`, an HTTP date...).
///
/// ```
/// let step = badgateway::faults::too_many_requests("Wed, 21 Oct 2026 07:28:00 GMT");
/// assert_eq!(step.mutations.len(), 2);
/// ```
pub fn too_many_requests(retry_after: &str) -> Step {
    status(429).with(Mutation::SetHeader {
        name: "retry-after".into(),
        value: retry_after.into(),
    })
}

/// Cut the body after `at` bytes, with a `Content-Length` that matches the cut body.
///
/// ```
/// use badgateway::{faults, Mutation};
/// assert_eq!(faults::truncate_body_at(17).mutations, vec![Mutation::TruncateBody { at: 17 }]);
/// ```
pub fn truncate_body_at(at: usize) -> Step {
    Step::baseline().with(Mutation::TruncateBody { at })
}

/// An empty body with the baseline's status (a 200 with `Content-Length: 0`).
///
/// ```
/// use badgateway::{faults, Mutation};
/// assert_eq!(faults::empty_body().mutations, vec![Mutation::EmptyBody]);
/// ```
pub fn empty_body() -> Step {
    Step::baseline().with(Mutation::EmptyBody)
}

/// A load balancer's HTML error page with this status.
///
/// ```
/// use badgateway::{faults, Mutation};
/// assert_eq!(faults::html_error_page(502).mutations, vec![Mutation::HtmlErrorPage { status: 502 }]);
/// ```
pub fn html_error_page(status: u16) -> Step {
    Step::baseline().with(Mutation::HtmlErrorPage { status })
}

/// Change the JSON value at `path`.
///
/// ```
/// use badgateway::{faults, JsonChange};
/// let step = faults::json("amount", JsonChange::NumberAsString);
/// assert_eq!(step.mutations.len(), 1);
/// ```
pub fn json(path: &str, change: JsonChange) -> Step {
    Step::baseline().with(Mutation::Json {
        path: path.into(),
        change,
    })
}

/// Frame the body with this [`Framing`].
///
/// ```
/// use badgateway::{faults, Framing};
/// assert_eq!(faults::framing(Framing::BothLengths).framing, Framing::BothLengths);
/// ```
pub fn framing(framing: Framing) -> Step {
    Step::baseline().framed(framing)
}

/// Announce `by` bytes more than the body has.
///
/// ```
/// use badgateway::{faults, Framing};
/// assert_eq!(faults::content_length_too_long(5).framing, Framing::ContentLengthTooLong { by: 5 });
/// ```
pub fn content_length_too_long(by: usize) -> Step {
    framing(Framing::ContentLengthTooLong { by })
}

/// Break chunked encoding this way.
///
/// ```
/// use badgateway::{faults, ChunkFault, Framing};
/// assert_eq!(faults::malformed_chunk(ChunkFault::InvalidSize).framing,
///            Framing::MalformedChunk(ChunkFault::InvalidSize));
/// ```
pub fn malformed_chunk(fault: ChunkFault) -> Step {
    framing(Framing::MalformedChunk(fault))
}

/// Send the response with this [`Transport`].
///
/// ```
/// use badgateway::{faults, Transport};
/// assert_eq!(faults::transport(Transport::EmptyResponse).transport, Transport::EmptyResponse);
/// ```
pub fn transport(transport: Transport) -> Step {
    Step::baseline().sent(transport)
}

/// Close the connection without replying.
///
/// ```
/// use badgateway::{faults, Transport};
/// assert_eq!(faults::empty_response().transport, Transport::EmptyResponse);
/// ```
pub fn empty_response() -> Step {
    transport(Transport::EmptyResponse)
}

/// Reset the connection after `after_bytes` bytes of the response (0: before replying).
///
/// ```
/// use badgateway::{faults, Transport};
/// assert_eq!(faults::reset_peer_after(0).transport, Transport::ResetPeer { after_bytes: 0 });
/// ```
pub fn reset_peer_after(after_bytes: usize) -> Step {
    transport(Transport::ResetPeer { after_bytes })
}

/// Send `after_bytes` bytes, then stall forever with the connection open.
///
/// ```
/// use badgateway::{faults, Transport};
/// assert_eq!(faults::stall_after(12).transport, Transport::Timeout { after_bytes: 12 });
/// ```
pub fn stall_after(after_bytes: usize) -> Step {
    transport(Transport::Timeout { after_bytes })
}

/// Drip the response `bytes` at a time with `delay_ms` between writes.
///
/// ```
/// use badgateway::{faults, Transport};
/// assert_eq!(faults::drip(1, 100).transport, Transport::Slicer { bytes: 1, delay_ms: 100 });
/// ```
pub fn drip(bytes: usize, delay_ms: u64) -> Step {
    transport(Transport::Slicer { bytes, delay_ms })
}
