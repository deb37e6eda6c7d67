//! What the provider does to each request of one case: pure data, no I/O.

use serde::{Deserialize, Serialize};

/// What the hostile provider does to each request of one case, in order.
///
/// Request 1 meets `steps[0]`, request 2 meets `steps[1]`, and so on, across every
/// connection the client opens; a retry therefore meets a different answer than the
/// request it retries. Requests past the last step get the baseline response unchanged,
/// so a client that retries sensibly eventually succeeds.
///
/// A `Scenario` is plain data: it serialises to readable JSON, compares by value and
/// can be generated ([`crate::strategies::scenarios`]) and shrunk.
///
/// ```
/// use badgateway::{faults, Scenario};
///
/// let scenario = Scenario::new()
///     .then(faults::status(503))
///     .then(faults::truncate_body_at(17));
/// assert_eq!(scenario.steps.len(), 2);
/// let json = serde_json::to_string(&scenario).unwrap();
/// assert_eq!(json, r#"{"steps":[{"mutations":[{"status":503}]},{"mutations":[{"truncate_body":{"at":17}}]}]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One step per request, in the order the requests arrive.
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Scenario {
    /// An empty scenario: every request gets the baseline response unchanged.
    ///
    /// ```
    /// assert!(badgateway::Scenario::new().steps.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the step that the next request meets.
    ///
    /// ```
    /// use badgateway::{faults, Scenario};
    /// let s = Scenario::new().then(faults::empty_response());
    /// assert_eq!(s.steps[0], faults::empty_response());
    /// ```
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// The step for the request with this zero-based index, if the scenario has one.
    ///
    /// ```
    /// use badgateway::{faults, Scenario};
    /// let s = Scenario::new().then(faults::status(500));
    /// assert!(s.step(0).is_some());
    /// assert!(s.step(1).is_none());
    /// ```
    pub fn step(&self, request_index: usize) -> Option<&Step> {
        self.steps.get(request_index)
    }

    /// How many changes to the baseline the scenario makes: one per mutation, framing
    /// fault or transport fault, over all steps. Says how far a finding was shrunk.
    ///
    /// ```
    /// use badgateway::{faults, Scenario, Step};
    /// let s = Scenario::new().then(Step::baseline()).then(faults::status(500).sent(badgateway::Transport::EmptyResponse));
    /// assert_eq!(s.complexity(), 2);
    /// ```
    pub fn complexity(&self) -> usize {
        self.steps.iter().map(Step::complexity).sum()
    }
}

/// What the provider does to one request: take the baseline response, apply the
/// mutations in order, frame the body as `framing` says, and put it on the wire as
/// `transport` says.
///
/// The default step passes the baseline through unchanged.
///
/// ```
/// use badgateway::{Framing, Step, Transport};
/// let step = Step::baseline();
/// assert!(step.mutations.is_empty());
/// assert_eq!(step.framing, Framing::ContentLength);
/// assert_eq!(step.transport, Transport::Normal);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Changes to the baseline response, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// How the body is delimited on the wire.
    #[serde(default, skip_serializing_if = "Framing::is_default")]
    pub framing: Framing,
    /// How the bytes travel: at once, dripped, cut, reset or stalled.
    #[serde(default, skip_serializing_if = "Transport::is_default")]
    pub transport: Transport,
    /// What a correct client does with this response, when the contract says: accept
    /// it (it conforms) or reject it (it breaks a clause). Judged by the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
}

/// What a correct client does with a response, by the contract.
///
/// ```
/// use badgateway::Expectation;
/// let e = Expectation::Reject { clause: "amount: minimum".into() };
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"reject":{"clause":"amount: minimum"}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// The response conforms: returning `Err` for it is a false rejection.
    Accept,
    /// The response breaks this clause: returning `Ok` for it is a silent acceptance.
    Reject {
        /// `path: keyword`, as `data[0].amount: minimum`.
        clause: String,
    },
}

impl Step {
    /// The step that passes the baseline response through unchanged.
    ///
    /// ```
    /// assert_eq!(badgateway::Step::baseline(), Default::default());
    /// ```
    pub fn baseline() -> Self {
        Self::default()
    }

    /// Whether this step changes nothing.
    ///
    /// ```
    /// use badgateway::{faults, Step};
    /// assert!(Step::baseline().is_baseline());
    /// assert!(!faults::status(502).is_baseline());
    /// ```
    pub fn is_baseline(&self) -> bool {
        *self == Self::default()
    }

    /// Adds a mutation to this step.
    ///
    /// ```
    /// use badgateway::{faults, Mutation};
    /// let step = faults::status(200).with(Mutation::EmptyBody);
    /// assert_eq!(step.mutations.len(), 2);
    /// ```
    pub fn with(mut self, mutation: Mutation) -> Self {
        self.mutations.push(mutation);
        self
    }

    /// Sets how the body is framed.
    ///
    /// ```
    /// use badgateway::{Framing, Step};
    /// let step = Step::baseline().framed(Framing::CloseDelimited);
    /// assert_eq!(step.framing, Framing::CloseDelimited);
    /// ```
    pub fn framed(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Sets how the bytes travel.
    ///
    /// ```
    /// use badgateway::{Step, Transport};
    /// let step = Step::baseline().sent(Transport::Latency { ms: 50 });
    /// assert_eq!(step.transport, Transport::Latency { ms: 50 });
    /// ```
    pub fn sent(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// See [`Scenario::complexity`].
    ///
    /// ```
    /// assert_eq!(badgateway::Step::baseline().complexity(), 0);
    /// ```
    pub fn complexity(&self) -> usize {
        self.mutations.len()
            + usize::from(!self.framing.is_default())
            + usize::from(!self.transport.is_default())
    }
}

/// A change to the baseline response: its status, its headers, its body bytes, or one
/// value inside its JSON body.
///
/// ```
/// use badgateway::{JsonChange, Mutation};
/// let m = Mutation::Json { path: "data[0].amount".into(), change: JsonChange::NumberAsString };
/// let json = serde_json::to_string(&m).unwrap();
/// assert_eq!(json, r#"{"json":{"path":"data[0].amount","change":"number_as_string"}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// Replace the status code (the reason phrase follows it).
    Status(u16),
    /// Set a header, replacing every existing header of that name.
    SetHeader {
        /// Header name.
        name: String,
        /// Header value.
        value: String,
    },
    /// Remove every header of that name.
    RemoveHeader {
        /// Header name.
        name: String,
    },
    /// Send every header of that name twice.
    DuplicateHeader {
        /// Header name.
        name: String,
    },
    /// Add a header whose value holds a control byte (`\x01`), as a WAF cookie once did
    /// (hyper #2879, httparse #61).
    InvalidHeaderBytes {
        /// Header name.
        name: String,
    },
    /// Replace the body with this text.
    ReplaceBody {
        /// The new body.
        text: String,
    },
    /// Cut the body after `at` bytes (clamped to the body's length).
    TruncateBody {
        /// Bytes kept.
        at: usize,
    },
    /// Insert bytes that are not UTF-8 (`0xFF 0xFE`) at byte `at` (clamped).
    InvalidUtf8 {
        /// Where to insert.
        at: usize,
    },
    /// Put a UTF-8 byte order mark before the body (serde_json #805).
    PrependBom,
    /// An empty body, as a 200 with `Content-Length: 0`.
    EmptyBody,
    /// The HTML error page a load balancer or CDN puts in front of a JSON API, with
    /// this status and `Content-Type: text/html`.
    HtmlErrorPage {
        /// The status the load balancer answers with (502, 503, 504...).
        status: u16,
    },
    /// Change one value inside the JSON body.
    Json {
        /// Where: `data[0].amount`, `payment_method.card`, or `` (empty) for the root.
        path: String,
        /// What to do to the value there.
        change: JsonChange,
    },
}

/// A change to one JSON value, at a path.
///
/// ```
/// use badgateway::JsonChange;
/// let json = serde_json::to_string(&JsonChange::LongString { len: 300 }).unwrap();
/// assert_eq!(json, r#"{"long_string":{"len":300}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JsonChange {
    /// Remove the value (the key from its object, the element from its array).
    Remove,
    /// Replace the value with `null`.
    Null,
    /// Replace the value with one of another JSON type (a string becomes a number,
    /// a number a string, an object an array, ...).
    ChangeType,
    /// Replace the value with a number far beyond `u64`: `1e400` overflows `f64` too.
    HugeNumber,
    /// An integer above 2^53: exact in `i64`, rounded by float-based parsers.
    BeyondFloatPrecision,
    /// Replace the value with `-1`.
    NegativeNumber,
    /// Replace the value with a float artefact such as `-222.00000000000003`.
    FractionalNumber,
    /// Quote the value: `1000` becomes `"1000"` ("amounts sometimes quoted").
    NumberAsString,
    /// Replace the value with a string of `len` characters (at most 16 MiB).
    LongString {
        /// Characters.
        len: usize,
    },
    /// Replace the value with a string of combining marks, emoji and right-to-left text.
    UnicodeString,
    /// Replace the value with a string holding control characters and a NUL.
    ControlCharString,
    /// Replace the value with `[]` (PHP's `json_encode` of an empty map).
    EmptyArray,
    /// Wrap the value in `depth` nested arrays (serde_json stops at 128; at most
    /// 100,000).
    DeepNesting {
        /// Levels of nesting.
        depth: usize,
    },
    /// Replace the value with a string no enum of the client knows, as a provider
    /// adding a status value would.
    UnknownEnumValue,
    /// Replace the value with this JSON text, verbatim (`"not-a-date"`, `-1`).
    ReplaceWith {
        /// The JSON text put in the value's place.
        json: String,
    },
}

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

/// How the bytes of a response travel, with Toxiproxy's and WireMock's names where
/// they have one.
///
/// ```
/// use badgateway::Transport;
/// assert_eq!(serde_json::to_string(&Transport::ResetPeer { after_bytes: 0 }).unwrap(),
///            r#"{"reset_peer":{"after_bytes":0}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transport {
    /// The whole response in one write.
    #[default]
    Normal,
    /// Close the connection without replying ("empty reply from server"; WireMock's
    /// `EMPTY_RESPONSE`).
    EmptyResponse,
    /// Send `after_bytes` bytes of the response, then reset the connection (RST)
    /// (Toxiproxy's `reset_peer`, WireMock's `CONNECTION_RESET_BY_PEER`).
    ResetPeer {
        /// Bytes sent before the reset; 0 resets before replying.
        after_bytes: usize,
    },
    /// Send `bytes` bytes of the response, then close the connection cleanly
    /// (Toxiproxy's `limit_data`).
    LimitData {
        /// Bytes sent before closing.
        bytes: usize,
    },
    /// Send `after_bytes` bytes, then nothing, ever; the connection stays open
    /// (Toxiproxy's `timeout` with no timeout).
    Timeout {
        /// Bytes sent before stalling.
        after_bytes: usize,
    },
    /// Drip the response `bytes` bytes at a time, `delay_ms` between writes
    /// (Toxiproxy's `slicer`).
    Slicer {
        /// Bytes per write (at least 1).
        bytes: usize,
        /// Milliseconds between writes.
        delay_ms: u64,
    },
    /// Wait `ms` milliseconds, then send the whole response (Toxiproxy's `latency`).
    Latency {
        /// Milliseconds of delay.
        ms: u64,
    },
}

impl Framing {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Transport {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
