//! Putting a response on the wire: the exact bytes, framing faults included.
//!
//! Implementation notes: a hyper-based server cannot put broken framing on the wire
//! (it panics in debug builds on a wrong `Content-Length`), so well-formed and
//! malformed responses alike come out of this one raw writer.

use crate::scenario::response::Response;
use crate::scenario::{ChunkFault, Framing};

/// The bytes of one response, as the provider writes them.
///
/// ```
/// use badgateway::{wire, Framing, Response};
/// let w = wire::render(&Response::new(200).body("hello"), &Framing::ContentLengthTooLong { by: 3 });
/// assert_eq!(w.bytes, b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nhello");
/// assert_eq!(w.head_len, w.bytes.len() - 5);
/// assert!(!w.closes);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    /// Status line, headers and framed body.
    pub bytes: Vec<u8>,
    /// Length of the status line and headers, blank line included.
    pub head_len: usize,
    /// Whether the provider must close the connection after these bytes, because the
    /// framing ends the message only by closing.
    pub closes: bool,
}

/// The canonical reason phrase of a status code, or `Unknown`.
///
/// ```
/// assert_eq!(badgateway::wire::reason(429), "Too Many Requests");
/// assert_eq!(badgateway::wire::reason(599), "Unknown");
/// ```
pub fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

/// Renders a response with the given framing.
///
/// ```
/// use badgateway::{wire, ChunkFault, Framing, Response};
/// let r = Response::new(200).body("abc");
/// let w = wire::render(&r, &Framing::Chunked { size: 2 });
/// assert!(w.bytes.ends_with(b"transfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"));
/// let w = wire::render(&r, &Framing::MalformedChunk(ChunkFault::InvalidSize));
/// assert!(w.bytes.ends_with(b"\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"));
/// ```
pub fn render(response: &Response, framing: &Framing) -> Wire {
    let body = &response.body;
    let len = body.len();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    )
    .into_bytes();
    for (name, value) in &response.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    let chunked = "transfer-encoding: chunked\r\n";
    let (framing_headers, framed_body, closes) = match framing {
        Framing::ContentLength => (content_length(len), body.clone(), false),
        Framing::ContentLengthTooLong { by } => {
            (content_length(len.saturating_add(*by)), body.clone(), false)
        }
        Framing::ContentLengthTooShort { by } => {
            (content_length(len - (*by).min(len)), body.clone(), false)
        }
        Framing::CloseDelimited => ("connection: close\r\n".into(), body.clone(), true),
        Framing::Chunked { size } => (chunked.into(), chunks(body, *size, true), false),
        Framing::ContentLengthValue { value } => (
            format!("content-length: {}\r\n", value.replace(['\r', '\n'], "")),
            body.clone(),
            true,
        ),
        Framing::ContentLengthTwice { by } => (
            format!(
                "{}{}",
                content_length(len),
                content_length(len.saturating_add(*by))
            ),
            body.clone(),
            true,
        ),
        Framing::BothLengths => (
            format!("{}{chunked}", content_length(len)),
            chunks(body, len.max(1), true),
            false,
        ),
        Framing::MalformedChunk(fault) => {
            let framed = match fault {
                ChunkFault::InvalidSize => [b"zz\r\n", &body[..], b"\r\n0\r\n\r\n"].concat(),
                ChunkFault::ShortChunk => [
                    format!("{:x}\r\n", len.saturating_add(16)).as_bytes(),
                    &body[..],
                ]
                .concat(),
                ChunkFault::MissingLastChunk => chunks(body, len.max(1), false),
            };
            (chunked.into(), framed, true)
        }
    };
    head.extend_from_slice(framing_headers.as_bytes());
    head.extend_from_slice(b"\r\n");
    let head_len = head.len();
    head.extend_from_slice(&framed_body);
    Wire {
        bytes: head,
        head_len,
        closes,
    }
}

fn content_length(len: usize) -> String {
    format!("content-length: {len}\r\n")
}

fn chunks(body: &[u8], size: usize, last_chunk: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 32);
    for chunk in body.chunks(size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    if last_chunk {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}
