//! What the provider received and what it answered, with secrets redacted.

use std::fmt;

use crate::scenario::render::escape_bytes;
use crate::scenario::Step;

/// What replaces a secret wherever the journal keeps or shows it.
pub const REDACTED: &str = "[redacted]";

/// Every request one provider received, in arrival order, with what it answered.
///
/// Secrets never enter the journal: `Authorization`, `Proxy-Authorization`, cookies,
/// API keys and any header or query parameter whose name mentions a token, secret,
/// password, signature or key (but not `Idempotency-Key`) are replaced by
/// [`REDACTED`] as the request is recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Journal {
    /// The requests, in arrival order.
    pub requests: Vec<RecordedRequest>,
    /// The webhook deliveries the provider made to the handler under test, in the
    /// order they were answered; none in a campaign of calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivered>,
    /// The campaign's judge's verdicts on what the code returned, by the index of the
    /// request whose response it judged: given where the code returned, read by the
    /// oracle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) judged: Vec<(usize, Judged)>,
}

/// Your verdict on what the code returned for a response (see
/// [`Campaign::judge`](crate::Campaign::judge)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Judged {
    /// The harness's own classification stands.
    AsIs,
    /// Not a bug: what the code returned is right for this response, so a silent
    /// acceptance or false rejection is dismissed (the case counts as `Ok` or
    /// `HandledError`).
    Fine,
    /// A bug: what the code returned is wrong for this response (a
    /// [`Outcome::WrongValue`](crate::Outcome::WrongValue) finding), with the reason.
    Wrong(String),
}

/// One webhook delivery the provider made to the handler under test, and how it was
/// answered. Its signature is never kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivered {
    /// Which delivery of the scenario it is (zero-based).
    pub index: usize,
    /// Whether this is the provider's redelivery of it after it failed, as providers
    /// redeliver for days.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redelivery: bool,
    /// The event type.
    pub event: String,
    /// The event id sent.
    pub id: String,
    /// The body sent, secrets redacted.
    pub body: String,
    /// How the handler answered.
    pub answer: Answer,
    /// How its signature was forged; `None` for a valid signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forged: Option<crate::scenario::Forgery>,
    /// The effects counted before it was sent: effects the provider performed for
    /// the handler's requests, plus the count the handler reports of its own, when it
    /// reports one.
    pub effects_before: u64,
    /// The effects counted once it was answered and the handler settled (those of
    /// the deliveries sent at once with it included).
    pub effects: u64,
    /// The handler's requests to the provider while it was delivered: indexes from,
    /// to (exclusive).
    pub requests: (usize, usize),
}

/// How a handler answered a delivery.
///
/// ```
/// use badgateway::journal::Answer;
/// assert!(Answer::Status(200).is_accepted());
/// assert!(Answer::Status(500).is_failure());
/// assert!(!Answer::Status(400).is_failure());
/// assert!(Answer::Dropped.is_failure());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A status line.
    Status(u16),
    /// The connection closed or reset before a whole status line came.
    Dropped,
    /// Nothing within the provider's timeout.
    NoAnswer {
        /// The timeout.
        after: std::time::Duration,
    },
}

impl Answer {
    /// A 2xx: the provider counts the delivery done.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Answer::Status(200..=299))
    }

    /// A 5xx, a dropped connection or no answer: the provider redelivers it.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Answer::Status(100..=499))
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Status(status) => write!(f, "{status}"),
            Answer::Dropped => f.write_str("the connection dropped before an answer"),
            Answer::NoAnswer { after } => write!(f, "no answer within {after:?}"),
        }
    }
}

impl fmt::Display for Delivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let again = if self.redelivery {
            " (redelivered)"
        } else {
            ""
        };
        writeln!(
            f,
            "delivery {}{again}: {} {}, answered {}",
            self.index + 1,
            self.event,
            self.id,
            self.answer
        )?;
        let shown: String = self.body.chars().take(300).collect();
        let more = if shown.len() < self.body.len() {
            "..."
        } else {
            ""
        };
        writeln!(f, "  {}{more}", escape_bytes(shown.as_bytes()))
    }
}

/// One request and the provider's answer to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedRequest {
    /// Zero-based index of the request in the case (which step it met).
    pub index: usize,
    /// Zero-based index of the connection it came on.
    pub connection: usize,
    /// Request method.
    pub method: String,
    /// Request target: path and query, secrets in the query redacted.
    pub target: String,
    /// Request headers in order, secrets redacted, non-UTF-8 bytes escaped.
    pub headers: Vec<(String, String)>,
    /// Request body, decoded from its framing.
    pub body: Vec<u8>,
    /// The step the provider applied.
    pub step: Step,
    /// Where that step is in the scenario's steps; `None` when no step answered (the
    /// baseline, unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<usize>,
    /// No declared response matched the request: the provider answered its own 404,
    /// and what the code did with it judges nothing (see [`Baseline`](crate::Baseline)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undeclared: bool,
    /// The bytes the provider meant to write for this request (before the transport
    /// cut or dripped them), secrets in the headers redacted.
    pub served: Vec<u8>,
    /// How many of those bytes are the status line and headers.
    pub served_head_len: usize,
    /// When the request had arrived whole, from the provider's start.
    pub at: std::time::Duration,
    /// A fingerprint of the request's credentials (every header whose value is
    /// secret: `Authorization`, API keys, cookies), `0` with none: a salted hash whose
    /// salt is drawn anew in every process, so it tells within one run whether two
    /// requests carried the same credentials and says nothing of what they were.
    #[serde(default)]
    pub credentials: u64,
    /// What the request did to the provider's state, on an endpoint that declares an
    /// effect ([`Baseline::effect`](crate::Baseline::effect)); `None` elsewhere.
    pub effect: Option<Effect>,
}

/// What a request to an endpoint with an effect did.
///
/// ```
/// use badgateway::journal::Effect;
/// assert_ne!(Effect::Performed, Effect::Replayed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    /// It performed the effect (a charge was taken), whatever the client then saw.
    Performed,
    /// Its idempotency key had performed the effect already: the provider replayed
    /// that result and performed nothing.
    Replayed,
    /// It failed before the effect: nothing was performed.
    NotPerformed,
}

impl RecordedRequest {
    /// The status the provider's answer named in its head (0 when none can be read).
    ///
    /// ```
    /// # use badgateway::{Case, Response, Baseline, Scenario};
    /// let baseline = Baseline::new().endpoint("GET", "/", Response::new(201));
    /// let result = Case::new(baseline, Scenario::new())
    ///     .run(|url| async move { reqwest::get(url).await.map(|_| ()) })
    ///     .unwrap();
    /// assert_eq!(result.journal.requests[0].status(), 201);
    /// ```
    pub fn status(&self) -> u16 {
        std::str::from_utf8(self.served.get(9..12).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0)
    }
}

impl Journal {
    /// The number of requests received.
    ///
    /// ```
    /// assert_eq!(badgateway::Journal::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether no request was received.
    ///
    /// ```
    /// assert!(badgateway::Journal::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// The provider's own base URL as the client addressed it in this request
/// (`http://` and its `Host`), if it sent one.
pub(crate) fn base_url_of(request: &RecordedRequest) -> Option<String> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, host)| format!("http://{host}"))
}

/// `text` with the provider's base URL of the run that served it written as the
/// placeholder `{{base_url}}` again: what a probe served, served in another case
/// (another port), links to that case's provider, never to a provider that is gone.
pub(crate) fn with_placeholder(text: &str, base_url: Option<&str>) -> String {
    match base_url {
        Some(base) if text.contains(base) => {
            text.replace(base, super::baseline::BASE_URL_PLACEHOLDER)
        }
        _ => text.to_owned(),
    }
}

pub use super::secrets::is_secret;
pub use super::shapes::shaped_secrets;
pub use super::waits::{asked_wait, Wait};

/// A header value as the journal keeps it: redacted if secret, escaped if not UTF-8.
pub(crate) fn recorded_value(name: &str, value: &[u8]) -> String {
    if is_secret(name) {
        REDACTED.to_owned()
    } else {
        escape_bytes(value)
    }
}

/// See [`RecordedRequest::credentials`].
pub(crate) fn credentials_fingerprint(headers: &[(String, Vec<u8>)]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    static SALT: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut secret = headers.iter().filter(|(n, _)| is_secret(n)).peekable();
    if secret.peek().is_none() {
        return 0;
    }
    let mut hasher = SALT.get_or_init(Default::default).build_hasher();
    for (name, value) in secret {
        name.to_ascii_lowercase().hash(&mut hasher);
        value.hash(&mut hasher);
    }
    hasher.finish().max(1)
}

/// A request target with the values of secret query parameters redacted.
///
/// ```
/// use badgateway::journal::redact_target;
/// assert_eq!(redact_target("/v1/charges?api_key=sk_live_1&limit=3"), "/v1/charges?api_key=[redacted]&limit=3");
/// ```
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

impl fmt::Display for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "request {} (connection {}): {} {}",
            self.index + 1,
            self.connection + 1,
            self.method,
            self.target
        )?;
        for (name, value) in &self.headers {
            writeln!(f, "  {name}: {value}")?;
        }
        if !self.body.is_empty() {
            writeln!(f, "  body: {}", escape_bytes(&self.body))?;
        }
        Ok(())
    }
}

impl fmt::Display for Journal {
    /// One block per request: line, headers (secrets redacted), body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.deliveries.iter().try_for_each(|d| write!(f, "{d}"))?;
        if self.requests.is_empty() {
            return writeln!(f, "no request reached the provider");
        }
        self.requests.iter().try_for_each(|r| write!(f, "{r}"))
    }
}
