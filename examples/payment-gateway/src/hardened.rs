//! The integration as it should be: every failure of the provider is a typed error.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// How patient the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Whole-request timeout of one attempt: connect, send, and read the whole body.
    pub timeout: Duration,
    /// Retries after the first attempt, for transport errors, 429 and 5xx.
    pub max_retries: u32,
    /// The longest wait between attempts, whatever `Retry-After` says.
    pub max_backoff: Duration,
    /// Bodies larger than this are refused.
    pub max_body_bytes: usize,
    /// Pages `all_charges` follows at most.
    pub max_pages: usize,
    /// Polls `settled_refund` makes at most, the first after `poll_pause` and each
    /// later one twice as long after the one before.
    pub max_polls: u32,
    /// The pause before the first poll.
    pub poll_pause: Duration,
}

impl Config {
    /// A config for tests and campaigns: attempts of `timeout`, 2 retries, at most
    /// 50 ms between them, so the worst case (3 x `timeout` + 100 ms) is easy to keep
    /// inside a campaign's deadline.
    pub fn quick(timeout: Duration) -> Config {
        Config {
            timeout,
            max_retries: 2,
            max_backoff: Duration::from_millis(50),
            poll_pause: Duration::from_millis(10),
            max_polls: 5,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_secs(10),
            max_retries: 3,
            max_backoff: Duration::from_secs(5),
            max_body_bytes: 1 << 20,
            max_pages: 1_000,
            max_polls: 8,
            poll_pause: Duration::from_millis(200),
        }
    }
}

/// Everything that can go wrong, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No usable response: connection refused, reset, closed, or malformed framing.
    Transport(String),
    /// An attempt took longer than [`Config::timeout`].
    Timeout,
    /// Paygate declined with a documented error body.
    Api {
        /// HTTP status.
        status: u16,
        /// `card_declined`...
        code: String,
        /// For humans.
        message: String,
    },
    /// A status or body that Paygate does not document.
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// A refund still pending after every poll.
    StillPending {
        /// Polls made.
        polls: u32,
    },
    /// Still failing after every retry.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::Timeout => write!(f, "timed out"),
            Error::Api {
                status,
                code,
                message,
            } => write!(f, "paygate {status} {code}: {message}"),
            Error::Unexpected { status, detail } => {
                write!(f, "unexpected response ({status}): {detail}")
            }
            Error::StillPending { polls } => write!(f, "still pending after {polls} polls"),
            Error::Exhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempts: {last}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A charge, tolerant of what Paygate may add.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Charge {
    /// `ch_...`
    pub id: String,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217, lowercase.
    pub currency: String,
    /// Where the charge is.
    pub status: Status,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// The caller's own keys.
    #[serde(default)]
    pub metadata: HashMap<String, Value>,
}

/// Charge statuses; Paygate documents new values as a non-breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Paid.
    Succeeded,
    /// Not yet.
    Pending,
    /// Declined.
    Failed,
    /// A status this client does not know yet.
    #[serde(other)]
    Unknown,
}

/// How a charge was paid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentMethod {
    /// The card.
    pub card: Card,
}

/// A card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Card {
    /// `visa`, `mastercard`...
    pub brand: String,
    /// Last four digits.
    pub last4: String,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Refund {
    /// `re_...`
    pub id: String,
    /// Minor units.
    pub amount: u64,
    /// The refunded charge.
    pub charge: String,
}

/// A refund, and where it stands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundState {
    /// The refund.
    #[serde(flatten)]
    pub refund: Refund,
    /// Settled, pending or failed.
    pub status: Status,
}

impl Valid for RefundState {
    fn check(&self) -> Result<(), String> {
        self.refund.check()
    }
}

/// What this client checks of the values it reads, beyond their types: the clauses of
/// Paygate's contract that it depends on.
trait Valid {
    fn check(&self) -> Result<(), String>;
}

fn id_like(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        (8..=40).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

impl Valid for Charge {
    fn check(&self) -> Result<(), String> {
        let card = &self.payment_method.card;
        let problem = if !id_like(&self.id, "ch_") {
            "id is not a charge id"
        } else if !(1..=99_999_999).contains(&self.amount) {
            "amount out of range"
        } else if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_lowercase())
        {
            "currency is not an ISO 4217 code"
        } else if card.last4.len() != 4 || !card.last4.chars().all(|c| c.is_ascii_digit()) {
            "last4 is not four digits"
        } else {
            return Ok(());
        };
        Err(format!("charge {:?}: {problem}", self.id))
    }
}

impl Valid for Refund {
    fn check(&self) -> Result<(), String> {
        if id_like(&self.id, "re_") && id_like(&self.charge, "ch_") && self.amount >= 1 {
            Ok(())
        } else {
            Err(format!("refund {:?} is not a valid refund", self.id))
        }
    }
}

impl Valid for ChargeList {
    fn check(&self) -> Result<(), String> {
        self.data.iter().try_for_each(Valid::check)
    }
}

#[derive(Debug, Deserialize)]
struct ChargeList {
    data: Vec<Charge>,
    has_more: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// A Paygate client that expects the worst.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
    config: Config,
}

/// An attempt that failed, and whether (and when) it may be retried.
struct Failed {
    error: Error,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Failed {
    fn fatal(error: Error) -> Self {
        Failed {
            error,
            retry: false,
            retry_after: None,
        }
    }
    fn retryable(error: Error) -> Self {
        Failed {
            error,
            retry: true,
            retry_after: None,
        }
    }
}

impl Client {
    /// A client for the API at `base_url`.
    pub fn new(base_url: &str, secret_key: &str, config: Config) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .expect("a client without TLS builds");
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            config,
        }
    }

    /// Charges a card and returns the receipt line for the order confirmation page.
    /// Retries keep the idempotency key, so a retry never charges twice.
    pub async fn create_charge(
        &self,
        amount: u64,
        currency: &str,
        order_id: &str,
    ) -> Result<(Charge, String), Error> {
        let body = serde_json::json!({
            "amount": amount,
            "currency": currency,
            "payment_method": "pm_card_visa",
            "metadata": {"order_id": order_id},
        });
        let key = format!("order-{order_id}");
        let charge: Charge = self
            .call(
                reqwest::Method::POST,
                "/v1/charges",
                Some(&body),
                Some(&key),
            )
            .await?;
        let card = &charge.payment_method.card;
        let receipt = format!("{} ending in {}", card.brand, card.last4);
        Ok((charge, receipt))
    }

    /// Fetches a charge.
    pub async fn charge(&self, id: &str) -> Result<Charge, Error> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/charges/{id}"),
            None,
            None,
        )
        .await
    }

    /// Refunds a charge in full, and says where the refund stands (pending, succeeded or
    /// failed: the caller decides).
    pub async fn refund(&self, charge: &Charge) -> Result<RefundState, Error> {
        let body = serde_json::json!({"charge": charge.id, "amount": charge.amount});
        let key = format!("refund-{}", charge.id);
        // Read with its status: a refund answered without one is not a refund this
        // client can report as made (a status it does not know yet is `Unknown`: Paygate
        // documents new values as a non-breaking change).
        let state: RefundState = self
            .call(
                reqwest::Method::POST,
                "/v1/refunds",
                Some(&body),
                Some(&key),
            )
            .await?;
        let refund = &state.refund;
        if refund.amount != charge.amount || refund.charge != charge.id {
            return Err(Error::Unexpected {
                status: 200,
                detail: format!(
                    "refund {} is for {} of {}, asked for {} of {}",
                    refund.id, refund.amount, refund.charge, charge.amount, charge.id
                ),
            });
        }
        Ok(state)
    }

    /// Every charge, following the cursor at most [`Config::max_pages`] pages and
    /// refusing a cursor that does not move.
    pub async fn all_charges(&self) -> Result<Vec<Charge>, Error> {
        let mut all: Vec<Charge> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let path = match &cursor {
                Some(after) => format!("/v1/charges?limit=100&starting_after={after}"),
                None => "/v1/charges?limit=100".to_owned(),
            };
            let page: ChargeList = self.call(reqwest::Method::GET, &path, None, None).await?;
            // A page that says "more" but holds nothing has no cursor to follow: done.
            if !page.has_more || page.data.is_empty() {
                all.extend(page.data);
                return Ok(all);
            }
            let next = page.data.last().map(|c| c.id.clone());
            if next.is_none() || next == cursor {
                return Err(Error::Unexpected {
                    status: 200,
                    detail: "has_more is true but the cursor does not move".into(),
                });
            }
            cursor = next;
            all.extend(page.data);
        }
        Err(Error::Unexpected {
            status: 200,
            detail: format!("more than {} pages", self.config.max_pages),
        })
    }

    async fn call<T: DeserializeOwned + Valid>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<T, Error> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failed = match self.attempt(method.clone(), path, body, key).await {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            // Only idempotent requests, or ones with an idempotency key, are retried.
            let safe = method == reqwest::Method::GET || key.is_some();
            if !(failed.retry && safe) {
                return Err(failed.error);
            }
            if attempts > self.config.max_retries {
                return Err(Error::Exhausted {
                    attempts,
                    last: Box::new(failed.error),
                });
            }
            // The provider's Retry-After is honoured or the call gives up: retrying
            // sooner than asked is how a retry storm starts.
            let wait = match failed.retry_after {
                Some(asked) if asked > self.config.max_backoff => {
                    return Err(Error::Exhausted {
                        attempts,
                        last: Box::new(Error::Unexpected {
                            status: 429,
                            detail: format!("the provider asks to retry after {asked:?}, longer than this client waits"),
                        }),
                    })
                }
                Some(asked) => asked,
                None => Duration::from_millis(50 * 2u64.pow(attempts.min(10))).min(self.config.max_backoff),
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt<T: DeserializeOwned + Valid>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<T, Failed> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.secret_key);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failed::retryable(transport(e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failed::retryable(transport(e)))?
        {
            if bytes.len() + chunk.len() > self.config.max_body_bytes {
                return Err(Failed::fatal(Error::Unexpected {
                    status,
                    detail: "body too large".into(),
                }));
            }
            bytes.extend_from_slice(&chunk);
        }
        match status {
            200..=299 => {
                // JSON is UTF-8 (RFC 8259), and serde skips the fields it ignores
                // without checking theirs: the whole body is checked first.
                std::str::from_utf8(&bytes).map_err(|e| {
                    Failed::fatal(Error::Unexpected {
                        status,
                        detail: format!("invalid body: not UTF-8: {e}"),
                    })
                })?;
                let value: T = serde_json::from_slice(&bytes).map_err(|e| {
                    Failed::fatal(Error::Unexpected {
                        status,
                        detail: format!("invalid body: {e}"),
                    })
                })?;
                value
                    .check()
                    .map_err(|detail| Failed::fatal(Error::Unexpected { status, detail }))?;
                Ok(value)
            }
            429 | 500..=599 => Err(Failed {
                error: Error::Unexpected {
                    status,
                    detail: "server error".into(),
                },
                retry: true,
                retry_after,
            }),
            400..=499 => Err(Failed::fatal(
                match serde_json::from_slice::<ErrorBody>(&bytes) {
                    Ok(ErrorBody { error }) => Error::Api {
                        status,
                        code: error.code,
                        message: error.message,
                    },
                    Err(e) => Error::Unexpected {
                        status,
                        detail: format!("undocumented error body: {e}"),
                    },
                },
            )),
            _ => Err(Failed::fatal(Error::Unexpected {
                status,
                detail: "undocumented status".into(),
            })),
        }
    }

    /// Waits for a refund to settle: polls it until it is no longer pending, at most
    /// [`Config::max_polls`] times, pausing twice as long before each poll as before
    /// the one before. A failed refund is settled too: the caller decides.
    pub async fn settled_refund(&self, id: &str) -> Result<Status, Error> {
        let mut pause = self.config.poll_pause;
        for _ in 0..self.config.max_polls {
            let state: RefundState = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/refunds/{id}"),
                    None,
                    None,
                )
                .await?;
            match state.status {
                Status::Pending => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                settled => return Ok(settled),
            }
        }
        Err(Error::StillPending {
            polls: self.config.max_polls,
        })
    }
}

/// `Retry-After` as seconds (decimals too) or an HTTP date; a past date is no wait.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn transport(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        Error::Timeout
    } else {
        // The chain says what broke: "connection closed before message completed"...
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::Transport(text)
    }
}
