//! One connection to the provider: each request read, answered with its step of the
//! scenario, journaled and scrubbed, until the client closes it or a step cuts it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::provider::baseline::{self, Baseline};
use crate::provider::journal::{self, Effect, RecordedRequest, REDACTED};
use crate::scenario::response::Response;
use crate::scenario::wire::{self, Wire};
use crate::scenario::{Step, Transport};

use super::forward::forward;
use super::liveness::Liveness;
use super::provider::Shared;
use super::request::{Parsed, Reader, Request};
use super::secrets::Secrets;

enum Read {
    Request(Request),
    /// The client closed the connection between requests.
    Closed,
    /// The request cannot be read: answer with this status and close.
    Invalid(u16, String),
}

pub(super) async fn serve_connection(
    mut stream: TcpStream,
    connection: usize,
    shared: Arc<Shared>,
) {
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
        // The index and the routes' counts are taken together, so the requests
        // are counted in one order on every count.
        let (index, answered_by) = {
            let mut cursor = shared.cursor.lock().expect("cursor lock");
            let index = shared.next_request.fetch_add(1, Ordering::SeqCst);
            let scenario = &shared.scenario;
            let by = scenario.answering(index, &request.method, &request.target, &mut cursor);
            (index, by)
        };
        shared.liveness.request_arrived();
        if shared.limits.request_cap.is_some_and(|cap| index >= cap) {
            shared.liveness.seen_enough();
        }
        let step = answered_by
            .map(|i| shared.scenario.steps[i].clone())
            .unwrap_or_default();
        collect_apart(&shared, request.body.len(), &request, |found, request| {
            found.collect_request(&request.target, &request.headers, &request.body);
        })
        .await;
        let (mut response, has_effect, undeclared) = baseline_for(&shared, &request).await;
        collect_apart(
            &shared,
            response.body.len(),
            &response,
            |found, response| {
                found.collect_response(&response.headers, &response.body);
            },
        )
        .await;
        for mutation in &step.mutations {
            mutation.apply(&mut response);
        }
        // A change generated from what an earlier run served links to this
        // provider through `{{base_url}}`, as the baseline does.
        if !step.mutations.is_empty() {
            response = baseline::with_base_url(response, &shared.base_url);
        }
        let effect = has_effect.then(|| effect_of(&shared, &request, &step, &response));
        let wire = wire::render(&response, &step.framing);
        let served = Served {
            index,
            connection,
            answered_by,
            undeclared,
            effect,
        };
        record(&shared, served, &request, &step, &response, &wire);
        if let Some(asked) = asked_wait(&response) {
            shared
                .liveness
                .asked_to_wait(asked.wait.min(shared.limits.wait_cap));
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

/// Bodies from this size on are read for secrets on a blocking thread.
const BLOCKING_FROM: usize = 256 << 10;

/// Collects a request's or response's secrets without holding the case's lock (only
/// to take its names and to add what was found), a big body on a blocking thread: a
/// body of many MiB delays no other connection, and blocks no runtime thread.
async fn collect_apart<T>(shared: &Shared, size: usize, what: &T, collect: fn(&mut Secrets, &T))
where
    T: Clone + Send + 'static,
{
    let mut found = shared.secrets.lock().expect("secrets lock").names_only();
    let found = if size < BLOCKING_FROM {
        collect(&mut found, what);
        found
    } else {
        // Copied for the blocking thread: only a big body pays for the copy.
        let what = what.clone();
        tokio::task::spawn_blocking(move || {
            collect(&mut found, &what);
            found
        })
        .await
        .expect("collecting secrets does not panic")
    };
    shared.secrets.lock().expect("secrets lock").absorb(found);
}

/// The baseline response to a request, whether its endpoint has an effect, and
/// whether no declared endpoint matched it.
async fn baseline_for(shared: &Shared, request: &Request) -> (Response, bool, bool) {
    match (&shared.baseline, &shared.forwarder) {
        (Baseline::Forward(base), Some(client)) => {
            (forward(client, base, request).await, false, false)
        }
        _ => match shared
            .baseline
            .endpoint_for(&request.method, &request.target)
        {
            Some(endpoint) => (
                endpoint.respond(&request.target, &shared.base_url),
                endpoint.effect,
                false,
            ),
            None => (
                baseline::not_declared(&request.method, &request.target),
                false,
                true,
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
        .find(|(n, _)| super::names::is_idempotency_key(n))
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

/// The wait a response asks its client for (`Retry-After`, a rate limit's reset):
/// waiting it out, up to the cap, is no hang.
fn asked_wait(response: &Response) -> Option<journal::Wait> {
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    journal::asked_wait(response.status, &headers)
}

/// A journal entry with every secret value scrubbed from its target, headers, body
/// and the bytes served.
pub(super) fn scrub(request: &mut RecordedRequest, secrets: &Secrets) {
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

/// Where a request stands in its case, and what answering it did.
struct Served {
    index: usize,
    connection: usize,
    answered_by: Option<usize>,
    undeclared: bool,
    effect: Option<Effect>,
}

fn record(
    shared: &Shared,
    served_as: Served,
    request: &Request,
    step: &Step,
    response: &Response,
    wire: &Wire,
) {
    let Served {
        index,
        connection,
        answered_by,
        undeclared,
        effect,
    } = served_as;
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
        answered_by,
        undeclared,
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
                // No sleep at all between slices sent back to back: tokio's timer
                // rounds even a zero sleep up to its next millisecond tick.
                if i > 0 && *delay_ms > 0 {
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
