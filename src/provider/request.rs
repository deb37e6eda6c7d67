//! Reading requests off the wire: `httparse` for the head, `Content-Length` or
//! chunked bodies, pipelined requests one at a time.
//!
//! Implementation notes: a [`Reader`] is fed bytes as they arrive and resumes where
//! it stopped, so reading a request costs time linear in its size however it is
//! sliced: the head is searched for its end only in bytes not yet searched and parsed
//! once, a `Content-Length` body is waited for by length, and a chunked body is
//! decoded one chunk at a time, never from its start again. (Re-parsing the whole
//! buffer on every read made a 16 MiB header line cost about 98 CPU-seconds in a
//! debug build, enough to delay every other case.) No arithmetic on a number the
//! client sent is unchecked: a chunk size of `ffffffffffffffff` is a `413`, not an
//! overflow.

/// Requests with more headers than this are answered `431` and the connection closed.
pub(crate) const MAX_HEADERS: usize = 128;
/// Request heads (request line and headers) larger than this are answered `431`.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Request bodies larger than this are answered `413`.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// A chunk-size line (with its extensions) or a trailer section longer than this is
/// answered `400`.
const MAX_CHUNK_LINE_BYTES: usize = 4 * 1024;

/// A request as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) wants_close: bool,
}

/// What the bytes read so far amount to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole request; its bytes are consumed.
    Complete(Request),
    /// More bytes are needed; `expects_continue` once a head with
    /// `Expect: 100-continue` has been read.
    Partial { expects_continue: bool },
    /// The request cannot be read: answer with this status and close.
    Invalid(u16, String),
}

/// Reads requests from the bytes of one connection, resuming where it stopped.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    buf: Vec<u8>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Looking for the blank line that ends the head; none ends before `scanned`.
    Head { scanned: usize },
    /// The head is read; waiting for `len` body bytes after it.
    Length { head: Head, len: usize },
    /// The head is read; decoding a chunked body.
    Chunked { head: Head, chunks: Chunks },
}

impl Default for State {
    fn default() -> Self {
        State::Head { scanned: 0 }
    }
}

/// A parsed head, waiting for its body.
#[derive(Debug)]
struct Head {
    request: Request,
    len: usize,
    expects_continue: bool,
}

impl Reader {
    /// Adds bytes that arrived.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next request, if the bytes fed so far hold one.
    pub(crate) fn next(&mut self) -> Parsed {
        loop {
            match std::mem::take(&mut self.state) {
                State::Head { scanned } => match self.head(scanned) {
                    Ok(Ok(next)) => self.state = next,
                    Ok(Err(scanned)) => {
                        self.state = State::Head { scanned };
                        return Parsed::Partial {
                            expects_continue: false,
                        };
                    }
                    Err((status, why)) => return Parsed::Invalid(status, why),
                },
                State::Length { head, len } => {
                    let Some(end) = head.len.checked_add(len) else {
                        return Parsed::Invalid(413, "request body too large".into());
                    };
                    if self.buf.len() < end {
                        let expects_continue = head.expects_continue;
                        self.state = State::Length { head, len };
                        return Parsed::Partial { expects_continue };
                    }
                    let mut request = head.request;
                    request.body = self.buf[head.len..end].to_vec();
                    self.buf.drain(..end);
                    return Parsed::Complete(request);
                }
                State::Chunked { head, mut chunks } => match chunks.advance(&self.buf) {
                    Ok(Some(end)) => {
                        let mut request = head.request;
                        request.body = chunks.body;
                        self.buf.drain(..end);
                        return Parsed::Complete(request);
                    }
                    Ok(None) => {
                        let expects_continue = head.expects_continue;
                        self.state = State::Chunked { head, chunks };
                        return Parsed::Partial { expects_continue };
                    }
                    Err((status, why)) => return Parsed::Invalid(status, why),
                },
            }
        }
    }

    /// Reads the head once its blank line has arrived: the state for its body, or
    /// how far the bytes were searched.
    fn head(&mut self, scanned: usize) -> Result<Result<State, usize>, (u16, String)> {
        let Some(len) = blank_line_end(&self.buf, scanned) else {
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err((
                    431,
                    format!("request head larger than {MAX_HEAD_BYTES} bytes"),
                ));
            }
            return Ok(Err(self.buf.len().saturating_sub(3)));
        };
        if len > MAX_HEAD_BYTES {
            return Err((
                431,
                format!("request head larger than {MAX_HEAD_BYTES} bytes"),
            ));
        }
        let (request, framing, expects_continue) = parse_head(&self.buf[..len])?;
        let head = Head {
            request,
            len,
            expects_continue,
        };
        Ok(Ok(match framing {
            BodyFraming::Chunked => State::Chunked {
                chunks: Chunks::at(len),
                head,
            },
            BodyFraming::Length(len) => State::Length { head, len },
        }))
    }
}

/// How the body of a request is delimited.
enum BodyFraming {
    Length(usize),
    Chunked,
}

/// Parses a complete head (up to and including its blank line).
fn parse_head(bytes: &[u8]) -> Result<(Request, BodyFraming, bool), (u16, String)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err((400, "malformed request head".into())),
        Err(httparse::Error::TooManyHeaders) => {
            return Err((431, format!("more than {MAX_HEADERS} request headers")))
        }
        Err(e) => return Err((400, format!("malformed request: {e}"))),
    }
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect();
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
    };
    let wants_close = match (req.version, value("connection").as_deref()) {
        (_, Some("close")) => true,
        (Some(0), Some("keep-alive")) => false,
        (Some(0), _) => true,
        _ => false,
    };
    let expects_continue = value("expect").as_deref() == Some("100-continue");
    let framing = if value("transfer-encoding").is_some_and(|te| te.ends_with("chunked")) {
        BodyFraming::Chunked
    } else if let Some(len) = value("content-length") {
        let len = len
            .parse::<u64>()
            .map_err(|_| (400, format!("invalid content-length {len:?}")))?;
        match usize::try_from(len) {
            Ok(len) if len <= MAX_BODY_BYTES => BodyFraming::Length(len),
            _ => {
                return Err((
                    413,
                    format!("request body larger than {MAX_BODY_BYTES} bytes"),
                ))
            }
        }
    } else {
        BodyFraming::Length(0)
    };
    let request = Request {
        method: req.method.unwrap_or("GET").to_owned(),
        target: req.path.unwrap_or("/").to_owned(),
        headers,
        body: Vec::new(),
        wants_close,
    };
    Ok((request, framing, expects_continue))
}

/// A chunked body being decoded: the body so far and where the next unit starts.
#[derive(Debug)]
struct Chunks {
    body: Vec<u8>,
    /// Offset in the connection's buffer of the next chunk-size line (or trailers).
    pos: usize,
    /// Once the last chunk is read: offset of the trailers.
    trailers: Option<usize>,
    /// How far the bytes after `pos` (or the trailers) were searched for the end of
    /// the line (or section), so that no byte is searched twice.
    scanned: usize,
}

impl Chunks {
    fn at(pos: usize) -> Self {
        Self {
            body: Vec::new(),
            pos,
            trailers: None,
            scanned: pos,
        }
    }

    /// Decodes what arrived; the end of the body on the wire once it is all there.
    fn advance(&mut self, data: &[u8]) -> Result<Option<usize>, (u16, String)> {
        let malformed = || (400, "malformed chunked request body".to_owned());
        loop {
            if let Some(start) = self.trailers {
                if data.get(start..start + 2) == Some(b"\r\n") {
                    return Ok(Some(start + 2));
                }
                return match blank_line_end(data, self.scanned.max(start)) {
                    Some(end) => Ok(Some(end)),
                    None if data.len() - start > MAX_CHUNK_LINE_BYTES => Err(malformed()),
                    None => {
                        self.scanned = data.len().saturating_sub(3).max(start);
                        Ok(None)
                    }
                };
            }
            let rest = &data[self.pos..];
            // Parse the size line only once all of it is there.
            if !data[self.scanned..].contains(&b'\n') {
                self.scanned = data.len();
                return if rest.len() > MAX_CHUNK_LINE_BYTES {
                    Err(malformed())
                } else {
                    Ok(None)
                };
            }
            let (line, size) = match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete(found)) => found,
                Ok(httparse::Status::Partial) if rest.len() > MAX_CHUNK_LINE_BYTES => {
                    return Err(malformed())
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(_) => return Err(malformed()),
            };
            let too_large = || {
                (
                    413,
                    format!("request body larger than {MAX_BODY_BYTES} bytes"),
                )
            };
            let size = usize::try_from(size).map_err(|_| too_large())?;
            if size > MAX_BODY_BYTES.saturating_sub(self.body.len()) {
                return Err(too_large());
            }
            let data_start = self.pos + line;
            if size == 0 {
                // The trailers, if any, end with an empty line: `0\r\n\r\n` has none.
                self.trailers = Some(data_start);
                self.scanned = data_start;
                continue;
            }
            let data_end = data_start + size;
            if data.len() < data_end + 2 {
                return Ok(None);
            }
            if &data[data_end..data_end + 2] != b"\r\n" {
                return Err(malformed());
            }
            self.body.extend_from_slice(&data[data_start..data_end]);
            self.pos = data_end + 2;
            self.scanned = self.pos;
        }
    }
}

/// The end (just past it) of the first `\r\n\r\n` at or after `from`.
fn blank_line_end(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| from + p + 4)
}

/// Reads `data` as a stream of requests, sliced into reads of `slice` bytes, the way
/// the provider reads a connection; how many whole requests it held. The entry point
/// of badgateway's own request-parsing fuzz target and property test: no input may
/// panic it, and every request it yields must be within the limits.
pub(crate) fn read_stream(data: &[u8], slice: usize) -> usize {
    let mut reader = Reader::default();
    let mut secrets = super::secrets::Secrets::new();
    let mut complete = 0;
    for piece in data.chunks(slice.max(1)) {
        reader.feed(piece);
        loop {
            match reader.next() {
                Parsed::Complete(request) => {
                    assert!(request.body.len() <= MAX_BODY_BYTES);
                    assert!(request.headers.len() <= MAX_HEADERS);
                    secrets.collect_request(&request.target, &request.headers, &request.body);
                    let _ = secrets.scrub(&request.target);
                    complete += 1;
                }
                Parsed::Partial { .. } => break,
                Parsed::Invalid(status, _) => {
                    assert!(matches!(status, 400 | 413 | 431), "status {status}");
                    return complete;
                }
            }
        }
    }
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(wire: &[u8], slice: usize) -> Vec<Parsed> {
        let mut reader = Reader::default();
        let mut out = Vec::new();
        for piece in wire.chunks(slice.max(1)) {
            reader.feed(piece);
            loop {
                match reader.next() {
                    Parsed::Partial { .. } => break,
                    done @ Parsed::Invalid(..) => {
                        out.push(done);
                        return out;
                    }
                    done => out.push(done),
                }
            }
        }
        out
    }

    fn body(parsed: &Parsed) -> &[u8] {
        match parsed {
            Parsed::Complete(request) => &request.body,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn chunked_bodies_are_decoded_however_the_bytes_are_sliced() {
        let wire = b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\nx-t: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        for slice in [1, 2, 3, 7, wire.len()] {
            let got = read_all(wire, slice);
            assert_eq!(got.len(), 2, "slice {slice}: {got:?}");
            assert_eq!(body(&got[0]), b"abcdef");
            assert!(matches!(&got[1], Parsed::Complete(r) if r.target == "/b"));
        }
    }

    #[test]
    fn pipelined_requests_are_read_one_at_a_time() {
        let two = b"POST /a HTTP/1.1\r\ncontent-length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n";
        let got = read_all(two, two.len());
        assert_eq!(body(&got[0]), b"hi");
        assert!(matches!(&got[1], Parsed::Complete(r) if r.target == "/b" && r.body.is_empty()));
    }

    #[test]
    fn a_chunk_size_past_usize_is_a_413_not_an_overflow() {
        // See: issue "nothing secret is written, and no input breaks the harness".
        let wire = b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nx";
        let got = read_all(wire, wire.len());
        assert!(matches!(got[..], [Parsed::Invalid(413, _)]), "{got:?}");
    }

    #[test]
    fn absurd_and_malformed_lengths_are_refused() {
        for (wire, status) in [
            (
                &b"POST / HTTP/1.1\r\ncontent-length: 99999999999999999999\r\n\r\n"[..],
                400,
            ),
            (
                b"POST / HTTP/1.1\r\ncontent-length: 1000000000000\r\n\r\n",
                413,
            ),
            (b"POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXX",
                400,
            ),
        ] {
            let got = read_all(wire, wire.len());
            assert!(
                matches!(got[..], [Parsed::Invalid(s, _)] if s == status),
                "{}: {got:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn a_head_past_its_limit_is_a_431_before_it_ends() {
        let mut reader = Reader::default();
        reader.feed(b"GET / HTTP/1.1\r\nx-long: ");
        reader.feed(&vec![b'a'; MAX_HEAD_BYTES]);
        assert!(matches!(reader.next(), Parsed::Invalid(431, _)));
    }
}
