//! The hostile provider: a loopback HTTP/1.1 server that writes every response itself.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::{Error, ErrorKind};
use crate::provider::baseline::{self, Baseline};
use crate::provider::journal::{self, Effect, Journal, RecordedRequest, REDACTED};
use crate::scenario::response::Response;
use crate::scenario::wire::{self, Wire};
use crate::scenario::{Scenario, Step, Transport};

use super::liveness::Liveness;
use super::request::{Parsed, Reader, Request};
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
struct Shared {
    base_url: String,
    limits: Limits,
    /// Idempotency keys whose request performed its endpoint's effect.
    performed_keys: Mutex<HashSet<Vec<u8>>>,
    baseline: Baseline,
    scenario: Scenario,
    forwarder: Option<reqwest::Client>,
    next_request: AtomicUsize,
    next_connection: AtomicUsize,
    journal: Mutex<Vec<RecordedRequest>>,
    /// Every secret value seen so far in this case, and those the user named.
    secrets: Mutex<Secrets>,
    /// Connection tasks that panicked: a bug in badgateway, never in the client.
    internal_panics: AtomicUsize,
    /// Whether the client is making progress.
    liveness: Arc<Liveness>,
    started: std::time::Instant,
    /// This case's connections, aborted when the provider moves on to another case.
    connections: Mutex<Vec<tokio::task::AbortHandle>>,
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
            next_connection: AtomicUsize::new(0),
            journal: Mutex::new(Vec::new()),
            secrets: Mutex::new(secrets),
            internal_panics: AtomicUsize::new(0),
            liveness: Arc::new(Liveness::new()),
            started: std::time::Instant::now(),
            connections: Mutex::new(Vec::new()),
        }
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
        let secrets = self.secrets();
        let mut journal = self.unscrubbed_journal();
        for request in &mut journal.requests {
            scrub(request, &secrets);
        }
        journal
    }

    /// The journal as received, secrets and all: for the harness's own planning
    /// (learning the baseline's shape), never for anything written or printed.
    pub(crate) fn unscrubbed_journal(&self) -> Journal {
        let mut requests = self.shared().journal.lock().expect("journal lock").clone();
        requests.sort_by_key(|r| r.index);
        Journal { requests }
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

enum Read {
    Request(Request),
    /// The client closed the connection between requests.
    Closed,
    /// The request cannot be read: answer with this status and close.
    Invalid(u16, String),
}

async fn serve_connection(mut stream: TcpStream, connection: usize, shared: Arc<Shared>) {
    // Implementation notes: every response goes out in as few writes as the step
    // allows, so Nagle's algorithm must not hold back the tail of a response.
    let _ = stream.set_nodelay(true);
    let mut reader = Reader::default();
    loop {
        let request = match read_request(&mut stream, &mut reader, &shared.liveness).await {
            Ok(Read::Request(request)) => request,
            Ok(Read::Invalid(status, why)) => {
                let response = Response::json(status, &serde_json::json!({"error": why}));
                let wire = wire::render(&response, &Default::default());
                let _ = stream.write_all(&wire.bytes).await;
                return;
            }
            Ok(Read::Closed) | Err(_) => return,
        };
        let index = shared.next_request.fetch_add(1, Ordering::SeqCst);
        shared.liveness.request_arrived();
        if shared.limits.request_cap.is_some_and(|cap| index >= cap) {
            shared.liveness.seen_enough();
        }
        let step = shared.scenario.step(index).cloned().unwrap_or_default();
        shared
            .secrets
            .lock()
            .expect("secrets lock")
            .collect_request(&request.target, &request.headers, &request.body);
        let (mut response, has_effect) = baseline_for(&shared, &request).await;
        shared
            .secrets
            .lock()
            .expect("secrets lock")
            .collect_response(&response.headers, &response.body);
        for mutation in &step.mutations {
            mutation.apply(&mut response);
        }
        let effect = has_effect.then(|| effect_of(&shared, &request, &step, &response));
        let wire = wire::render(&response, &step.framing);
        record(
            &shared, index, connection, &request, &step, &response, &wire, effect,
        );
        if let Some(wait) = retry_after(&response) {
            shared
                .liveness
                .asked_to_wait(wait.min(shared.limits.wait_cap));
        }
        let sent = send(&mut stream, &wire, &step.transport, &shared.liveness).await;
        shared.liveness.touch();
        match sent {
            After::Reset => return,
            After::KeepOpen if !wire.closes && !request.wants_close => {}
            After::KeepOpen | After::Close => {
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}

/// The baseline response to a request, and whether its endpoint has an effect.
async fn baseline_for(shared: &Shared, request: &Request) -> (Response, bool) {
    match (&shared.baseline, &shared.forwarder) {
        (Baseline::Forward(base), Some(client)) => (forward(client, base, request).await, false),
        _ => match shared
            .baseline
            .endpoint_for(&request.method, &request.target)
        {
            Some(endpoint) => (
                baseline::with_base_url(endpoint.response.clone(), &shared.base_url),
                endpoint.effect,
            ),
            None => (
                baseline::not_declared(&request.method, &request.target),
                false,
            ),
        },
    }
}

/// What a request to an endpoint with an effect does, as a real payment API keys it:
/// a key that already performed the effect replays it; otherwise the effect is
/// performed when the response succeeds (a 2xx, whole on the wire) or the step fails
/// only after the effect, and not when it fails before.
fn effect_of(shared: &Shared, request: &Request, step: &Step, response: &Response) -> Effect {
    let key = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("idempotency-key"))
        .map(|(_, v)| v.clone());
    let mut performed = shared.performed_keys.lock().expect("keys lock");
    if key.as_ref().is_some_and(|k| performed.contains(k)) {
        return Effect::Replayed;
    }
    let delivered = matches!(
        step.transport,
        Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. }
    );
    if step.after_effect || ((200..300).contains(&response.status) && delivered) {
        performed.extend(key);
        Effect::Performed
    } else {
        Effect::NotPerformed
    }
}

async fn forward(client: &reqwest::Client, base: &str, request: &Request) -> Response {
    let Some(url) = forwarded_url(base, &request.target) else {
        return Response::json(
            400,
            &serde_json::json!({"error": "badgateway forwards only origin-form request targets (`/path?query`) to the baseline"}),
        );
    };
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = client.request(method, url);
    for (name, value) in &request.headers {
        let skip = ["host", "content-length", "transfer-encoding", "connection"];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            builder = builder.header(name.as_str(), value.as_slice());
        }
    }
    match builder.body(request.body.clone()).send().await {
        Ok(response) => baseline::from_forwarded(response).await,
        Err(e) => Response::json(
            502,
            &serde_json::json!({"error": format!("badgateway could not forward to the baseline at {base}: {e}")}),
        ),
    }
}

/// How long a 429 or 503 asks the client to wait: `Retry-After` in seconds (decimals
/// too) or as an HTTP date; at most a day.
fn retry_after(response: &Response) -> Option<Duration> {
    if !matches!(response.status, 429 | 503) {
        return None;
    }
    let value = response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| String::from_utf8_lossy(v).trim().to_owned())?;
    let wait = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Duration::from_secs_f64(seconds.min(86_400.0))
        }
        Ok(_) => return None,
        Err(_) => httpdate::parse_http_date(&value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .ok()?,
    };
    Some(wait.min(Duration::from_secs(86_400)))
}

/// A journal entry with every secret value scrubbed from its target, headers, body
/// and the bytes served.
fn scrub(request: &mut RecordedRequest, secrets: &Secrets) {
    if secrets.is_empty() {
        return;
    }
    request.target = secrets.scrub(&request.target);
    for (_, value) in &mut request.headers {
        *value = secrets.scrub(value);
    }
    request.body = secrets.scrub_bytes(&request.body);
    let split = request.served_head_len.min(request.served.len());
    let mut served = secrets.scrub_bytes(&request.served[..split]);
    request.served_head_len = served.len();
    served.extend(secrets.scrub_bytes(&request.served[split..]));
    request.served = served;
}

/// The upstream URL for a request target: the base URL with the target's path and
/// query, or `None` unless the target is origin-form (`/path?query`) and the result
/// still names the base's host and port. A target such as `@127.0.0.2:80/x` or
/// `//evil/x` would otherwise make the forwarder an open proxy.
fn forwarded_url(base: &str, target: &str) -> Option<reqwest::Url> {
    if !target.starts_with('/') || target.starts_with("//") {
        return None;
    }
    let base_url = reqwest::Url::parse(base).ok()?;
    let url = reqwest::Url::parse(&format!("{}{target}", base.trim_end_matches('/'))).ok()?;
    let same_origin = url.scheme() == base_url.scheme()
        && url.host_str() == base_url.host_str()
        && url.port_or_known_default() == base_url.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    same_origin.then_some(url)
}

#[allow(clippy::too_many_arguments)] // One journal entry: every part of it.
fn record(
    shared: &Shared,
    index: usize,
    connection: usize,
    request: &Request,
    step: &Step,
    response: &Response,
    wire: &Wire,
    effect: Option<Effect>,
) {
    let secret_header = response.headers.iter().any(|(n, _)| journal::is_secret(n));
    let served = if secret_header {
        let mut redacted = response.clone();
        for (name, value) in &mut redacted.headers {
            if journal::is_secret(name) {
                *value = REDACTED.as_bytes().to_vec();
            }
        }
        wire::render(&redacted, &step.framing)
    } else {
        wire.clone()
    };
    let entry = RecordedRequest {
        index,
        connection,
        method: request.method.clone(),
        target: journal::redact_target(&request.target),
        headers: request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), journal::recorded_value(n, v)))
            .collect(),
        body: request.body.clone(),
        step: step.clone(),
        served: served.bytes,
        served_head_len: served.head_len,
        at: shared.started.elapsed(),
        credentials: journal::credentials_fingerprint(&request.headers),
        effect,
    };
    shared.journal.lock().expect("journal lock").push(entry);
}

/// What becomes of the connection after a response.
enum After {
    /// Serve the next request, unless the framing or the request says close.
    KeepOpen,
    /// Close cleanly (FIN).
    Close,
    /// Drop at once; with `SO_LINGER` 0 set, that sends an RST.
    Reset,
}

/// Writes the response as the transport says.
async fn send(
    stream: &mut TcpStream,
    wire: &Wire,
    transport: &Transport,
    liveness: &Liveness,
) -> After {
    let bytes = &wire.bytes;
    let prefix = |n: usize| &bytes[..n.min(bytes.len())];
    let written = |result: std::io::Result<()>| {
        if result.is_ok() {
            After::KeepOpen
        } else {
            After::Reset
        }
    };
    match transport {
        Transport::Normal => written(stream.write_all(bytes).await),
        Transport::Latency { ms } => {
            let _slow = liveness.slow_response();
            provider_sleep(liveness, Duration::from_millis(*ms)).await;
            written(stream.write_all(bytes).await)
        }
        Transport::EmptyResponse => After::Close,
        Transport::LimitData { bytes: n } => {
            let _ = stream.write_all(prefix(*n)).await;
            After::Close
        }
        Transport::ResetPeer { after_bytes } => {
            let _ = stream.write_all(prefix(*after_bytes)).await;
            let _ = stream.set_zero_linger();
            After::Reset
        }
        Transport::Timeout { after_bytes } => {
            let _ = stream.write_all(prefix(*after_bytes)).await;
            liveness.touch();
            // Stall, but keep reading: a client that gives up and closes the
            // connection is making progress, and the activity clock must see it. The
            // stall lasts until then, or until the provider is dropped.
            let mut sink = [0u8; 1024];
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return After::Reset,
                    Ok(_) => {}
                }
            }
        }
        Transport::Slicer { bytes: n, delay_ms } => {
            let _slow = liveness.slow_response();
            for (i, slice) in bytes.chunks((*n).max(1)).enumerate() {
                if i > 0 {
                    provider_sleep(liveness, Duration::from_millis(*delay_ms)).await;
                }
                if stream.write_all(slice).await.is_err() {
                    return After::Reset;
                }
            }
            After::KeepOpen
        }
    }
}

/// Sleeps as a slow response asked, and excuses the time slept past that: on a busy
/// machine a drip of 2 ms a byte stretched past the case limit, and a finite drip
/// became a live hang. The stretch is the machine's, not the client's.
async fn provider_sleep(liveness: &Liveness, wanted: Duration) {
    let started = tokio::time::Instant::now();
    tokio::time::sleep(wanted).await;
    let over = started.elapsed().saturating_sub(wanted);
    if over > Duration::from_millis(1) {
        liveness.excuse(over);
    }
}

async fn read_request(
    stream: &mut TcpStream,
    reader: &mut Reader,
    liveness: &Liveness,
) -> std::io::Result<Read> {
    let mut sent_continue = false;
    let mut chunk = [0u8; 8192];
    loop {
        match reader.next() {
            Parsed::Complete(request) => return Ok(Read::Request(request)),
            Parsed::Invalid(status, why) => return Ok(Read::Invalid(status, why)),
            Parsed::Partial { expects_continue } => {
                if expects_continue && !sent_continue {
                    stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
                    sent_continue = true;
                }
            }
        }
        let read = stream.read(&mut chunk).await;
        // Bytes, a close and a reset are all the client doing something.
        liveness.touch();
        let n = read?;
        if n == 0 {
            return Ok(Read::Closed);
        }
        reader.feed(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::forwarded_url;

    #[test]
    fn only_origin_form_targets_are_forwarded_and_only_to_the_base() {
        let base = "http://127.0.0.1:4000";
        let url = |t| forwarded_url(base, t).map(|u| u.to_string());
        assert_eq!(
            url("/v1/charges?limit=3").as_deref(),
            Some("http://127.0.0.1:4000/v1/charges?limit=3")
        );
        for hostile in [
            "@127.0.0.2:80/x",
            "//127.0.0.2/x",
            "http://127.0.0.2/x",
            "*",
            "",
            "/@x",
        ] {
            let forwarded = url(hostile);
            assert!(
                forwarded.is_none()
                    || forwarded
                        .as_deref()
                        .is_some_and(|u| u.starts_with("http://127.0.0.1:4000/")),
                "{hostile:?} forwarded to {forwarded:?}"
            );
        }
        assert_eq!(url("@127.0.0.2:80/x"), None);
        assert_eq!(url("//127.0.0.2/x"), None);
        assert_eq!(
            forwarded_url("http://127.0.0.1:4000/api", "/x")
                .map(|u| u.to_string())
                .as_deref(),
            Some("http://127.0.0.1:4000/api/x")
        );
    }

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
