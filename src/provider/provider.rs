//! The hostile provider: a loopback HTTP/1.1 server that writes every response itself.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::error::{Error, ErrorKind};
use crate::provider::baseline::Baseline;
use crate::provider::journal::{Delivered, Journal, Judged, RecordedRequest};
use crate::scenario::Scenario;

use super::connection::{scrub, serve_connection};
use super::liveness::Liveness;
use super::secrets::Secrets;

/// A running hostile provider, bound to `127.0.0.1` on a free port.
///
/// It reads requests with `httparse` (bodies sent with `Content-Length` or chunked,
/// keep-alive and pipelining included), takes the baseline response for each, applies
/// the scenario's step for that request, and writes the bytes itself. Every request is
/// journaled with its secrets redacted. Dropping the provider closes every connection,
/// stalled ones included.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use badgateway::{faults, Baseline, Provider, Response, Scenario};
/// let baseline = Baseline::new().endpoint("GET", "/v1/balance", Response::json(200, &serde_json::json!({"available": 10})));
/// let provider = Provider::start(baseline, Scenario::new().then(faults::status(503))).await.unwrap();
/// assert!(provider.url().starts_with("http://127.0.0.1:"));
/// # }
/// ```
#[derive(Debug)]
pub struct Provider {
    addr: SocketAddr,
    /// The case being served; a reset swaps in the next one.
    current: Arc<Mutex<Arc<Shared>>>,
    accept: JoinHandle<()>,
}

/// What the provider takes from the rules a case is judged by: when the case has
/// shown all it can, and how long a `Retry-After` wait is the provider's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Past this many requests, the case has shown a storm: it may stop.
    pub(crate) request_cap: Option<usize>,
    /// A `Retry-After` wait counts as the provider's time up to this long; past it,
    /// a client still waiting is idle (an unbounded wait).
    pub(crate) wait_cap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_cap: None,
            wait_cap: Duration::from_secs(86_400),
        }
    }
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) base_url: String,
    pub(super) limits: Limits,
    /// Idempotency keys whose request performed its endpoint's effect.
    pub(super) performed_keys: Mutex<HashSet<Vec<u8>>>,
    pub(super) baseline: Baseline,
    pub(super) scenario: Scenario,
    pub(super) forwarder: Option<reqwest::Client>,
    pub(super) next_request: AtomicUsize,
    /// The requests each route of the scenario has had, to pick each request's step.
    pub(super) cursor: Mutex<crate::scenario::Cursor>,
    pub(super) next_connection: AtomicUsize,
    pub(super) journal: Mutex<Vec<RecordedRequest>>,
    /// The webhook deliveries made to the handler under test so far.
    pub(super) delivered: Mutex<Vec<Delivered>>,
    /// The campaign's judge's verdicts on what the code returned, by request index.
    pub(super) judged: Mutex<Vec<(usize, Judged)>>,
    /// Every secret value seen so far in this case, and those the user named.
    pub(super) secrets: Mutex<Secrets>,
    /// Connection tasks that panicked: a bug in badgateway, never in the client.
    pub(super) internal_panics: AtomicUsize,
    /// Whether the client is making progress.
    pub(super) liveness: Arc<Liveness>,
    pub(super) started: std::time::Instant,
    /// This case's connections, aborted when the provider moves on to another case.
    pub(super) connections: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Shared {
    fn new(
        base_url: String,
        baseline: Baseline,
        scenario: Scenario,
        secrets: Secrets,
        limits: Limits,
        forwarder: Option<reqwest::Client>,
    ) -> Shared {
        Shared {
            base_url,
            limits,
            performed_keys: Mutex::new(HashSet::new()),
            baseline,
            scenario,
            forwarder,
            next_request: AtomicUsize::new(0),
            cursor: Mutex::new(Default::default()),
            next_connection: AtomicUsize::new(0),
            journal: Mutex::new(Vec::new()),
            delivered: Mutex::new(Vec::new()),
            judged: Mutex::new(Vec::new()),
            secrets: Mutex::new(secrets),
            internal_panics: AtomicUsize::new(0),
            liveness: Arc::new(Liveness::new()),
            started: std::time::Instant::now(),
            connections: Mutex::new(Vec::new()),
        }
    }

    /// This case's journal so far, scrubbed of every secret seen or not.
    fn journal(&self, scrubbed: bool) -> Journal {
        let mut requests = self.journal.lock().expect("journal lock").clone();
        requests.sort_by_key(|r| r.index);
        let mut journal = Journal {
            requests,
            deliveries: self.delivered.lock().expect("deliveries lock").clone(),
            judged: self.judged.lock().expect("judged lock").clone(),
        };
        if scrubbed {
            let secrets = self.secrets.lock().expect("secrets lock").clone();
            for request in &mut journal.requests {
                scrub(request, &secrets);
            }
            for delivery in &mut journal.deliveries {
                delivery.body = secrets.scrub(&delivery.body);
                delivery.id = secrets.scrub(&delivery.id);
            }
        }
        journal
    }

    /// Closes every connection of this case, stalled ones included.
    fn close_all(&self) {
        for connection in self.connections.lock().expect("connections lock").drain(..) {
            connection.abort();
        }
    }
}

impl Provider {
    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the socket cannot be bound.
    pub async fn start(baseline: Baseline, scenario: Scenario) -> Result<Provider, Error> {
        Self::start_with_secrets(baseline, scenario, Secrets::new()).await
    }

    /// As [`Provider::start`], scrubbing these secrets (besides those it collects)
    /// from the journal.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the socket cannot be bound.
    pub async fn start_with_secrets(
        baseline: Baseline,
        scenario: Scenario,
        secrets: Secrets,
    ) -> Result<Provider, Error> {
        Self::start_with(baseline, scenario, secrets, Limits::default()).await
    }

    /// As [`Provider::start_with_secrets`], within the rules' limits.
    pub(crate) async fn start_with(
        baseline: Baseline,
        scenario: Scenario,
        secrets: Secrets,
        limits: Limits,
    ) -> Result<Provider, Error> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot bind the provider on 127.0.0.1: {e}"),
            )
        })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot read the provider's address: {e}"),
            )
        })?;
        let forwarder = matches!(baseline, Baseline::Forward(_)).then(|| {
            // Redirects are the baseline's answer, served as they are: following one
            // would fetch from whatever host the upstream names.
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a reqwest client without TLS or proxy always builds")
        });
        let shared = Shared::new(
            format!("http://{addr}"),
            baseline,
            scenario,
            secrets,
            limits,
            forwarder,
        );
        let current = Arc::new(Mutex::new(Arc::new(shared)));
        serving::register(format!("http://{addr}"), &current);
        let accept = tokio::spawn(accept_loop(listener, current.clone()));
        Ok(Provider {
            addr,
            current,
            accept,
        })
    }

    /// Serves another case on the same listener: a fresh journal, liveness clock,
    /// effects and secrets, and every connection of the case before closed. Binding a
    /// port per case made every bind scan a port range full of `TIME_WAIT` after a
    /// few tens of thousands of cases.
    pub(crate) fn reset(
        &self,
        baseline: Baseline,
        scenario: Scenario,
        secrets: Secrets,
        limits: Limits,
    ) {
        let mut current = self.current.lock().expect("current case lock");
        let forwarder = match baseline {
            Baseline::Forward(_) => current.forwarder.clone().or_else(|| {
                reqwest::Client::builder()
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .ok()
            }),
            _ => None,
        };
        let next = Shared::new(
            current.base_url.clone(),
            baseline,
            scenario,
            secrets,
            limits,
            forwarder,
        );
        let previous = std::mem::replace(&mut *current, Arc::new(next));
        previous.close_all();
    }

    /// Closes every connection of the case served now, stalled ones included: the
    /// end of a case when the provider is kept for another.
    pub(crate) fn close_connections(&self) {
        self.shared().close_all();
    }

    /// Whether the provider still accepts connections (its runtime still runs).
    pub(crate) fn is_serving(&self) -> bool {
        !self.accept.is_finished()
    }

    fn shared(&self) -> Arc<Shared> {
        self.current.lock().expect("current case lock").clone()
    }

    /// The base URL to point the client at: `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the provider listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the provider has received so far, in request order, with every secret
    /// value it has seen scrubbed out (see [`Secrets`]).
    pub fn journal(&self) -> Journal {
        self.shared().journal(true)
    }

    /// The journal as received, secrets and all: for the harness's own planning
    /// (learning the baseline's shape), never for anything written or printed.
    pub(crate) fn unscrubbed_journal(&self) -> Journal {
        self.shared().journal(false)
    }

    /// The case's activity clock: what the client does with its connections, which
    /// the runner reads to tell a hang from a slow but live case.
    pub fn liveness(&self) -> Arc<Liveness> {
        self.shared().liveness.clone()
    }

    /// How many of the provider's own connection tasks panicked: always 0 unless
    /// badgateway has a bug (whatever the client sends). Tests of the provider assert
    /// it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let provider = badgateway::Provider::start(Default::default(), Default::default()).await.unwrap();
    /// assert_eq!(provider.internal_panics(), 0);
    /// # }
    /// ```
    pub fn internal_panics(&self) -> usize {
        self.shared().internal_panics.load(Ordering::Relaxed)
    }

    /// Every secret value seen so far in this case, and those the user named.
    pub fn secrets(&self) -> Secrets {
        self.shared().secrets.lock().expect("secrets lock").clone()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection.
        self.accept.abort();
    }
}

/// The longest pause after failed accepts (file descriptors exhausted, say).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

async fn accept_loop(listener: TcpListener, current: Arc<Mutex<Arc<Shared>>>) {
    let mut connections = JoinSet::new();
    // Implementation notes: an accept that fails (EMFILE when the process is out of
    // file descriptors) fails again at once, so retrying without a pause spun at
    // about 92 % CPU. The pause doubles, from 1 ms up to MAX_ACCEPT_BACKOFF, until an
    // accept succeeds; connections already open are served meanwhile.
    let mut backoff = Duration::ZERO;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    backoff = (backoff * 2).clamp(Duration::from_millis(1), MAX_ACCEPT_BACKOFF);
                    tokio::time::sleep(backoff).await;
                    continue;
                };
                backoff = Duration::ZERO;
                let shared = current.lock().expect("current case lock").clone();
                shared.liveness.touch();
                let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
                let handle = connections.spawn(serve_connection(stream, id, shared.clone()));
                shared.connections.lock().expect("connections lock").push(handle);
            }
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if done.is_err_and(|e| e.is_panic()) {
                    let shared = current.lock().expect("current case lock").clone();
                    shared.internal_panics.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reset_serves_the_next_case_on_the_same_port_and_closes_the_last_cases_connections() {
        use super::{Limits, Provider, Secrets};
        use crate::provider::Baseline;
        use crate::scenario::{faults, Response, Scenario, Transport};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let baseline = Baseline::new().endpoint("GET", "/x", Response::new(200).body("ok"));
            let get = |addr| async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream
                    .write_all(b"GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut reply = Vec::new();
                let _ = stream.read_to_end(&mut reply).await;
                String::from_utf8_lossy(&reply).into_owned()
            };
            let stall = Scenario::new()
                .then(faults::status(200).sent(Transport::Timeout { after_bytes: 0 }));
            let provider =
                Provider::start_with(baseline.clone(), stall, Secrets::new(), Limits::default())
                    .await
                    .unwrap();
            let addr = provider.addr();
            // A stalled connection of the first case.
            let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
            stalled
                .write_all(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
                .await
                .unwrap();
            while provider.journal().is_empty() {
                tokio::task::yield_now().await;
            }
            provider.reset(
                baseline,
                Scenario::new().then(faults::status(503)),
                Secrets::new(),
                Limits::default(),
            );
            let mut rest = Vec::new();
            let closed = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                stalled.read_to_end(&mut rest),
            )
            .await;
            assert!(
                closed.is_ok(),
                "the last case's stalled connection is closed"
            );
            assert!(rest.is_empty());
            assert!(provider.journal().is_empty(), "a fresh journal");
            assert!(get(addr).await.starts_with("HTTP/1.1 503"));
            assert!(get(addr).await.starts_with("HTTP/1.1 200"));
            assert_eq!(provider.journal().len(), 2);
            assert_eq!(provider.addr(), addr);
        });
    }
}

/// The providers serving a case in this process, by base URL: how the webhook driver,
/// handed only the URL as any code under test is, finds the case it delivers for.
pub(crate) mod serving {
    use std::sync::{Arc, Mutex, Weak};
    use std::time::Duration;

    use super::Shared;
    use crate::provider::journal::{Delivered, Effect, Journal, Judged};
    use crate::scenario::Scenario;

    type Current = Mutex<Arc<Shared>>;

    static SERVING: Mutex<Vec<(String, Weak<Current>)>> = Mutex::new(Vec::new());

    /// Puts a provider on record under its URL, forgetting those that are gone.
    pub(super) fn register(url: String, current: &Arc<Current>) {
        let mut all = SERVING.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(_, weak)| weak.strong_count() > 0);
        all.push((url, Arc::downgrade(current)));
    }

    /// The case the provider at `url` serves now, if one in this process does.
    pub(crate) fn serving(url: &str) -> Option<Serving> {
        let all = SERVING.lock().unwrap_or_else(|e| e.into_inner());
        let current = all.iter().rev().find(|(u, _)| u == url)?.1.upgrade()?;
        let shared = current.lock().expect("current case lock").clone();
        Some(Serving(shared))
    }

    /// One case as its provider serves it, for the webhook driver.
    pub(crate) struct Serving(Arc<Shared>);

    impl Serving {
        /// The scenario served.
        pub(crate) fn scenario(&self) -> &Scenario {
            &self.0.scenario
        }

        /// The case's journal so far, scrubbed.
        pub(crate) fn journal(&self) -> Journal {
            self.0.journal(true)
        }

        /// Keeps the judge's verdicts on what the code returned in the case's journal.
        pub(crate) fn judged(&self, verdicts: Vec<(usize, Judged)>) {
            *self.0.judged.lock().expect("judged lock") = verdicts;
        }

        /// Keeps a delivery's record in the case's journal.
        pub(crate) fn record(&self, delivered: Delivered) {
            self.0
                .delivered
                .lock()
                .expect("deliveries lock")
                .push(delivered);
        }

        /// How many requests have reached the provider in this case: the index the
        /// next one gets.
        pub(crate) fn requests(&self) -> usize {
            self.0
                .next_request
                .load(std::sync::atomic::Ordering::SeqCst)
        }

        /// How many effects the provider performed in this case.
        pub(crate) fn performed(&self) -> u64 {
            let journal = self.0.journal.lock().expect("journal lock");
            journal
                .iter()
                .filter(|r| r.effect == Some(Effect::Performed))
                .count() as u64
        }

        /// How long since the handler's last request to the provider arrived.
        pub(crate) fn since_request(&self) -> Duration {
            self.0.liveness.since_request()
        }

        /// The case is making progress: the driver sent or read something.
        pub(crate) fn touch(&self) {
            self.0.liveness.touch();
        }

        /// A value to scrub from everything the case keeps (the signing secret).
        pub(crate) fn add_secret(&self, value: &str) {
            self.0
                .secrets
                .lock()
                .expect("secrets lock")
                .add_value(value);
        }
    }
}
