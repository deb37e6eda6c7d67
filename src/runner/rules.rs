//! The behaviour rules a client is held to across the requests of a case, and their
//! bounds: what the oracle judges from the journal, and the two limits the provider
//! needs to serve a case by them.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::provider::Limits;

/// One behaviour rule, judged across the requests of a case from the provider's
/// journal. Each can be switched off with [`Rules::without`].
///
/// ```
/// use badgateway::Rule;
/// assert_eq!(Rule::DuplicateEffect.to_string(), "duplicate effect");
/// assert_eq!(Rule::ALL.len(), 14);
/// assert_eq!(Rule::CrashLoop.to_string(), "crash loop: the provider will redeliver this");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub enum Rule {
    /// One logical call performed an effect twice: a retry after a fault that came
    /// after the charge, sent with no idempotency key or a new one (the double charge).
    DuplicateEffect,
    /// More attempts at one logical call than [`Rules::max_attempts`], or more
    /// requests in one case than [`Rules::max_requests`]: a storm, even when the call
    /// eventually returns.
    Storm,
    /// Retries back to back: two or more retries of one call, each less than
    /// [`Rules::min_backoff`] after the attempt before, where no `Retry-After` said to
    /// come back at once.
    Backoff,
    /// A retry sooner than `Retry-After` asked (in seconds, decimals or an HTTP date),
    /// up to [`Rules::retry_after_cap`].
    IgnoredRetryAfter,
    /// An error the client read as an answer: after a 429 or 5xx, it went on to
    /// another request of the same listing (the next page) and never asked for the
    /// one that failed again, so what that response should have held is lost.
    IgnoredStatus,
    /// Waiting past [`Rules::retry_after_cap`] because a `Retry-After` said so (a day):
    /// the client went quiet after it and did not return.
    UnboundedWait,
    /// Retrying a response the provider marked final ([`Rules::final_statuses`]: a
    /// declined card is declined again).
    RetriedFinalError,
    /// The same page requested again after it was served: the cursor the client
    /// follows repeats.
    PaginationCycle,
    /// More pages of one listing than [`Rules::max_pages`].
    UnboundedPagination,
    /// More polls of one resource than [`Rules::max_polls`]: a GET of the same target
    /// after it was answered with a success, again and again (an operation that stays
    /// `processing`).
    UnboundedPolling,
    /// Polling back to back: three or more polls of one resource in a row, each less
    /// than [`Rules::min_poll_interval`] after the request before to it.
    HastyPolling,
    /// A webhook delivery signed validly failed (a 5xx, a dropped connection, no
    /// answer in time) and failed again when redelivered, its own calls to the
    /// provider answered: the provider redelivers it for days, failing each time.
    CrashLoop,
    /// A forged or stale webhook delivery (no signature, the wrong secret, a body
    /// tampered with, a timestamp outside the tolerance...) answered with a 2xx.
    ForgedAccepted,
    /// A webhook event delivered twice (the same id, one after the other or at once)
    /// had its effect twice: an order fulfilled twice.
    DuplicateDelivery,
}

impl Rule {
    /// Every rule, in the order they are judged.
    pub const ALL: [Rule; 14] = [
        Rule::DuplicateEffect,
        Rule::PaginationCycle,
        Rule::UnboundedPagination,
        Rule::UnboundedPolling,
        Rule::Storm,
        Rule::RetriedFinalError,
        Rule::UnboundedWait,
        Rule::IgnoredStatus,
        Rule::IgnoredRetryAfter,
        Rule::Backoff,
        Rule::HastyPolling,
        Rule::CrashLoop,
        Rule::ForgedAccepted,
        Rule::DuplicateDelivery,
    ];

    /// Whether this rule judges webhook deliveries rather than the code's calls.
    ///
    /// ```
    /// assert!(badgateway::Rule::ForgedAccepted.is_webhook());
    /// assert!(!badgateway::Rule::Storm.is_webhook());
    /// ```
    pub fn is_webhook(&self) -> bool {
        matches!(
            self,
            Rule::CrashLoop | Rule::ForgedAccepted | Rule::DuplicateDelivery
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::DuplicateEffect => "duplicate effect",
            Rule::Storm => "retry storm",
            Rule::Backoff => "no backoff",
            Rule::IgnoredRetryAfter => "ignored retry-after",
            Rule::IgnoredStatus => "ignored status",
            Rule::UnboundedWait => "unbounded wait",
            Rule::RetriedFinalError => "retried final error",
            Rule::PaginationCycle => "pagination cycle",
            Rule::UnboundedPagination => "unbounded pagination",
            Rule::UnboundedPolling => "unbounded polling",
            Rule::HastyPolling => "polling back to back",
            Rule::CrashLoop => "crash loop: the provider will redeliver this",
            Rule::ForgedAccepted => "accepted a forged delivery",
            Rule::DuplicateDelivery => "duplicate effect of one event",
        })
    }
}

/// The behaviour rules a case is judged by, and their bounds. Every campaign, replay
/// and [`Case::run`](crate::Case::run) judges every rule unless told otherwise.
///
/// | bound | default | rule |
/// |---|---|---|
/// | [`max_attempts`](Self::max_attempts) | 10 per logical call | [`Rule::Storm`] |
/// | [`max_requests`](Self::max_requests) | 100 per case | [`Rule::Storm`] |
/// | [`min_backoff`](Self::min_backoff) | 10 ms | [`Rule::Backoff`] |
/// | [`retry_after_cap`](Self::retry_after_cap) | 5 s | [`Rule::IgnoredRetryAfter`], [`Rule::UnboundedWait`] |
/// | [`max_pages`](Self::max_pages) | 100 per listing | [`Rule::UnboundedPagination`] |
/// | [`max_polls`](Self::max_polls) | 30 per resource | [`Rule::UnboundedPolling`] |
/// | [`min_poll_interval`](Self::min_poll_interval) | 10 ms | [`Rule::HastyPolling`] |
/// | [`final_statuses`](Self::final_statuses) | 400, 401, 402, 403, 404, 405, 410, 422 | [`Rule::RetriedFinalError`] |
///
/// ```
/// use std::time::Duration;
/// use badgateway::{Rule, Rules};
/// let rules = Rules::default()
///     .max_attempts(4)
///     .retry_after_cap(Duration::from_secs(30))
///     .without(Rule::Backoff);
/// assert!(!rules.judges(Rule::Backoff));
/// assert!(rules.judges(Rule::Storm));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub(crate) max_attempts: usize,
    pub(crate) max_requests: usize,
    pub(crate) min_backoff: Duration,
    pub(crate) retry_after_cap: Duration,
    pub(crate) max_pages: usize,
    pub(crate) max_polls: usize,
    pub(crate) min_poll_interval: Duration,
    pub(crate) final_statuses: Vec<u16>,
    off: BTreeSet<Rule>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            max_requests: 100,
            min_backoff: Duration::from_millis(10),
            retry_after_cap: Duration::from_secs(5),
            max_pages: 100,
            max_polls: 30,
            min_poll_interval: Duration::from_millis(10),
            final_statuses: vec![400, 401, 402, 403, 404, 405, 410, 422],
            off: BTreeSet::new(),
        }
    }
}

impl Rules {
    /// Attempts one logical call may take (the first and its retries) before it is a
    /// storm.
    pub fn max_attempts(mut self, attempts: usize) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Requests one case may send before it is a storm; the provider also stops a
    /// case there, rather than let requests without end run to the case's limit.
    pub fn max_requests(mut self, requests: usize) -> Self {
        self.max_requests = requests.max(1);
        self
    }

    /// The shortest pause between two attempts that counts as a backoff.
    pub fn min_backoff(mut self, pause: Duration) -> Self {
        self.min_backoff = pause;
        self
    }

    /// The longest `Retry-After` a client is held to honour; a client still waiting
    /// past it is an unbounded wait. Choose what your service can afford to wait.
    pub fn retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// Pages one listing may take before it is unbounded.
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// Polls of one resource (GETs of a target already answered with a success)
    /// before it is unbounded polling.
    pub fn max_polls(mut self, polls: usize) -> Self {
        self.max_polls = polls.max(1);
        self
    }

    /// The shortest pause between two polls of one resource that is no polling back
    /// to back.
    pub fn min_poll_interval(mut self, pause: Duration) -> Self {
        self.min_poll_interval = pause;
        self
    }

    /// The statuses a client must not retry.
    pub fn final_statuses(mut self, statuses: &[u16]) -> Self {
        self.final_statuses = statuses.to_vec();
        self
    }

    /// Does not judge this rule.
    pub fn without(mut self, rule: Rule) -> Self {
        self.off.insert(rule);
        self
    }

    /// Whether this rule is judged.
    pub fn judges(&self, rule: Rule) -> bool {
        !self.off.contains(&rule)
    }

    /// What the provider needs of these rules.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            request_cap: self
                .judges(Rule::Storm)
                .then_some(self.max_requests.saturating_add(1)),
            wait_cap: if self.judges(Rule::UnboundedWait) {
                self.retry_after_cap
            } else {
                Limits::default().wait_cap
            },
        }
    }
}
