//! How a response is framed on the wire, and how that framing is broken.

use serde::{Deserialize, Serialize};

/// How the body is delimited on the wire.
///
/// ```
/// use badgateway::Framing;
/// assert_eq!(serde_json::to_string(&Framing::ContentLengthTooLong { by: 10 }).unwrap(),
///            r#"{"content_length_too_long":{"by":10}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Framing {
    /// A correct `Content-Length`.
    #[default]
    ContentLength,
    /// `Content-Length` larger than the body: the client waits for bytes that never come.
    ContentLengthTooLong {
        /// How many bytes too many it announces.
        by: usize,
    },
    /// `Content-Length` smaller than the body: the rest poisons the next response on
    /// the connection.
    ContentLengthTooShort {
        /// How many bytes too few it announces (clamped to the body length).
        by: usize,
    },
    /// No length at all: the body ends when the provider closes the connection.
    CloseDelimited,
    /// Correct chunked encoding, in chunks of `size` bytes.
    Chunked {
        /// Bytes per chunk (at least 1).
        size: usize,
    },
    /// Broken chunked encoding (WireMock's `MALFORMED_RESPONSE_CHUNK`).
    MalformedChunk(ChunkFault),
    /// Both `Content-Length` and `Transfer-Encoding: chunked` (RFC 9112 forbids it).
    BothLengths,
    /// A `Content-Length` no body has: `1000000000000`, `-1`, `ten`, past `u64`. The
    /// real body follows, and the connection closes after it. A client that allocates
    /// from the length, or parses it unchecked, meets it here.
    ContentLengthValue {
        /// The value announced, as written.
        value: String,
    },
    /// Two `Content-Length` headers that disagree (RFC 9112 makes it an error): the
    /// right one, and one `by` bytes larger.
    ContentLengthTwice {
        /// How much larger the second one is.
        by: usize,
    },
}

/// How chunked encoding is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkFault {
    /// A chunk size line that is not hexadecimal.
    InvalidSize,
    /// A chunk announces more bytes than it carries, then the connection closes.
    ShortChunk,
    /// The body's chunks are sent but the terminating `0` chunk never is; the
    /// connection closes.
    MissingLastChunk,
}

impl Framing {
    pub(crate) fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
