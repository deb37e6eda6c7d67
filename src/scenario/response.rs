//! A response as data: status, headers in order, body bytes.

/// An HTTP response as plain data, before it is framed and put on the wire.
///
/// Header values are bytes, not strings, because the provider deliberately sends
/// values no string type would hold. Framing headers (`Content-Length`,
/// `Transfer-Encoding`, `Connection`) are not kept here: the step's [`crate::Framing`]
/// writes them.
///
/// ```
/// use badgateway::Response;
/// let r = Response::json(201, &serde_json::json!({"id": "ch_1"})).header("request-id", "req_9");
/// assert_eq!(r.status, 201);
/// assert_eq!(r.header_value("content-type"), Some(&b"application/json"[..]));
/// assert_eq!(r.body, br#"{"id":"ch_1"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, in the order they are sent, names as given.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with this status, no headers and no body.
    ///
    /// ```
    /// assert!(badgateway::Response::new(204).body.is_empty());
    /// ```
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response: the value serialised compactly, `Content-Type: application/json`.
    ///
    /// ```
    /// let r = badgateway::Response::json(200, &serde_json::json!([1, 2]));
    /// assert_eq!(r.body, b"[1,2]");
    /// ```
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(value.to_string())
    }

    /// Adds a header (framing headers are ignored: the step's framing writes them).
    ///
    /// ```
    /// let r = badgateway::Response::new(200).header("x-a", "1").header("content-length", "9");
    /// assert_eq!(r.headers.len(), 1);
    /// ```
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        if !is_framing_header(name) {
            self.headers
                .push((name.to_owned(), value.as_ref().to_vec()));
        }
        self
    }

    /// Sets the body.
    ///
    /// ```
    /// assert_eq!(badgateway::Response::new(200).body("hi").body, b"hi");
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    ///
    /// ```
    /// let r = badgateway::Response::new(200).header("Retry-After", "2");
    /// assert_eq!(r.header_value("retry-after"), Some(&b"2"[..]));
    /// ```
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

impl Response {
    /// A response back from the bytes a provider served with `Content-Length`
    /// framing: status, headers (framing headers dropped), body.
    ///
    /// ```
    /// use badgateway::{wire, Framing, Response};
    /// let r = Response::json(201, &serde_json::json!({"a": 1})).header("x-b", "2");
    /// let w = wire::render(&r, &Framing::ContentLength);
    /// assert_eq!(Response::from_served(&w.bytes, w.head_len), r);
    /// ```
    pub fn from_served(bytes: &[u8], head_len: usize) -> Response {
        let head_len = head_len.min(bytes.len());
        let head = String::from_utf8_lossy(&bytes[..head_len]);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let response = lines
            .filter_map(|l| l.split_once(": "))
            .fold(Response::new(status), |r, (n, v)| r.header(n, v));
        response.body(bytes[head_len..].to_vec())
    }
}

/// Headers that delimit the message; the provider writes them from the step's framing.
pub(crate) fn is_framing_header(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}
