//! Reading requests off the wire: `httparse` for the head, `Content-Length` or
//! chunked bodies, pipelined requests one at a time.

/// Requests with more headers than this are answered `431` and the connection closed.
const MAX_HEADERS: usize = 128;

/// A request as read off the wire.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) wants_close: bool,
}

pub(crate) enum Parsed {
    Complete(Request, usize),
    Partial { expects_continue: bool },
    Invalid(u16, String),
}

pub(crate) fn parse_request(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Parsed::Partial {
                expects_continue: false,
            }
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(431, format!("more than {MAX_HEADERS} request headers"))
        }
        Err(e) => return Parsed::Invalid(400, format!("malformed request: {e}")),
    };
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
    let rest = &buf[head_len..];
    let body = if value("transfer-encoding").is_some_and(|te| te.ends_with("chunked")) {
        match decode_chunked(rest) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return Parsed::Partial { expects_continue },
            Err(()) => return Parsed::Invalid(400, "malformed chunked request body".into()),
        }
    } else if let Some(len) = value("content-length") {
        let Ok(len) = len.parse::<usize>() else {
            return Parsed::Invalid(400, format!("invalid content-length {len:?}"));
        };
        if rest.len() < len {
            return Parsed::Partial { expects_continue };
        }
        (rest[..len].to_vec(), len)
    } else {
        (Vec::new(), 0)
    };
    let request = Request {
        method: req.method.unwrap_or("GET").to_owned(),
        target: req.path.unwrap_or("/").to_owned(),
        headers,
        body: body.0,
        wants_close,
    };
    Parsed::Complete(request, head_len + body.1)
}

/// Decodes a chunked body: `Ok(None)` until all of it has arrived; the decoded body and
/// how many bytes it took on the wire.
#[allow(clippy::result_unit_err)]
fn decode_chunked(data: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ()> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let (line, size) = match httparse::parse_chunk_size(&data[pos..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(()),
        };
        pos += line;
        let size = usize::try_from(size).map_err(|_| ())?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let Some(end) = find_blank_line(&data[pos..]) else {
                return Ok(None);
            };
            return Ok(Some((body, pos + end)));
        }
        if data.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[pos..pos + size]);
        if &data[pos + size..pos + size + 2] != b"\r\n" {
            return Err(());
        }
        pos += size + 2;
    }
}

/// Length up to and including the empty line that ends a trailer section.
fn find_blank_line(data: &[u8]) -> Option<usize> {
    if data.starts_with(b"\r\n") {
        return Some(2);
    }
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_request_bodies_are_decoded_and_partial_ones_wait() {
        let wire = b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\nNEXT";
        assert_eq!(
            decode_chunked(wire),
            Ok(Some((b"abcdef".to_vec(), wire.len() - 4)))
        );
        assert_eq!(decode_chunked(&wire[..10]), Ok(None));
        assert_eq!(decode_chunked(b"4\r\nabcdXX"), Err(()));
    }

    #[test]
    fn pipelined_requests_are_read_one_at_a_time() {
        let two = b"POST /a HTTP/1.1\r\ncontent-length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n";
        let Parsed::Complete(first, used) = parse_request(two) else {
            panic!("first request not parsed")
        };
        assert_eq!(
            (first.method.as_str(), first.body.as_slice()),
            ("POST", &b"hi"[..])
        );
        let Parsed::Complete(second, _) = parse_request(&two[used..]) else {
            panic!("second request not parsed")
        };
        assert_eq!(second.target, "/b");
    }
}
