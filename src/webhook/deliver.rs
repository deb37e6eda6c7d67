//! The driver: sends a case's deliveries to the handler under test over loopback,
//! writing every byte itself, redelivers those that failed, and journals the answers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::events::{Webhooks, ID_PLACEHOLDER};
use super::handler::Handler;
use super::signing::tampered;
use crate::provider::journal::{Answer, Delivered};
use crate::provider::serving::{self, Serving};
use crate::scenario::{Delivery, Forgery, Response};

/// Time between the pieces of a dripped body.
const DRIP_PAUSE: Duration = Duration::from_millis(20);

/// How often the driver says the case is live while it waits on an answer (bounded
/// by the delivery timeout, so a handler that never answers still ends the wait).
const LIVE_EVERY: Duration = Duration::from_millis(50);

/// The most a handler's effects are waited on to settle after an answer.
const SETTLE_MAX: Duration = Duration::from_millis(300);

/// The most bytes of an answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Delivers the deliveries of the case the provider at `provider_url` serves to
/// `handler`, each batch (a delivery and those sent at once with it) after the one
/// before is answered and settled, then redelivers once, in order, every genuine
/// delivery that failed (a 5xx, a dropped connection, no answer in time), as a
/// provider would. Journals each answer in the case; returns the answers, one line
/// each.
///
/// # Errors
/// When no provider serves that URL in this process, the handler's URL is not a
/// loopback `http://` URL, or a delivery names an event the webhooks do not declare.
pub(crate) async fn deliver(
    provider_url: &str,
    handler: Handler,
    webhooks: &Webhooks,
) -> Result<Vec<String>, String> {
    let serving = serving::serving(provider_url)
        .ok_or_else(|| format!("badgateway: no provider serves {provider_url} in this process"))?;
    serving.add_secret(webhooks.signing.secret());
    let target = Target::parse(handler.url())?;
    let deliveries = serving.scenario().deliveries.clone();
    let built: Vec<Built> = (0..deliveries.len())
        .map(|i| build(&deliveries, i, webhooks, provider_url))
        .collect::<Result<_, _>>()?;
    // Each record is journaled as soon as it is made: a case stopped as a hang still
    // shows the deliveries answered before it.
    let mut answers: Vec<String> = Vec::new();
    let mut failed: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < built.len() {
        let end = i + 1 + deliveries[i + 1..].iter().take_while(|d| d.at_once).count();
        let batch: Vec<&Built> = built[i..end].iter().collect();
        let records = delivered(&serving, &handler, &target, webhooks, &batch, false).await;
        failed.extend(
            records
                .iter()
                .filter(|r| r.forged.is_none() && r.answer.is_failure())
                .map(|r| r.index),
        );
        journaled(&serving, &mut answers, records);
        i = end;
    }
    for index in failed {
        let records = delivered(
            &serving,
            &handler,
            &target,
            webhooks,
            &[&built[index]],
            true,
        )
        .await;
        journaled(&serving, &mut answers, records);
    }
    Ok(answers)
}

/// Keeps records in the case's journal, and their answers, one line each.
fn journaled(serving: &Serving, answers: &mut Vec<String>, records: Vec<Delivered>) {
    for record in records {
        let again = if record.redelivery {
            ", redelivered"
        } else {
            ""
        };
        answers.push(format!(
            "delivery {}{again}: {}",
            record.index + 1,
            record.answer
        ));
        serving.record(record);
    }
}

/// One delivery, ready to sign and send.
struct Built {
    index: usize,
    event: String,
    id: String,
    /// The headers before signing (content type, the event type where the scheme
    /// sends it, changed by the delivery's mutations).
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    forged: Option<Forgery>,
    drip: Option<usize>,
}

/// Builds delivery `i`: its event's body with its id and type set, changed by its
/// mutations; a delivery that repeats another takes that one's id and body.
fn build(
    deliveries: &[Delivery],
    i: usize,
    webhooks: &Webhooks,
    provider_url: &str,
) -> Result<Built, String> {
    let delivery = &deliveries[i];
    let source = match delivery.again {
        Some(n) if n >= 1 && n - 1 < i => {
            let mut original = build(deliveries, n - 1, webhooks, provider_url)?;
            original.index = i;
            original.forged = delivery.forged;
            original.drip = delivery.drip;
            return Ok(original);
        }
        Some(n) => {
            return Err(format!(
                "delivery {} repeats delivery {n}, which does not come before it",
                i + 1
            ))
        }
        None => delivery,
    };
    let event = webhooks.find(&source.event).ok_or_else(|| {
        let declared: Vec<&str> = webhooks.events.iter().map(|e| e.kind.as_str()).collect();
        format!(
            "delivery {} is of event `{}`, which the webhooks do not declare (they declare {})",
            i + 1,
            source.event,
            declared.join(", ")
        )
    })?;
    let id = format!("evt_badgateway_{}", i + 1);
    let text =
        serde_json::to_string(&webhooks.template(event)).expect("a JSON value always serialises");
    let mut headers = vec![("Content-Type".to_owned(), b"application/json".to_vec())];
    if let Some(name) = webhooks.signing.type_header() {
        headers.push((name.to_owned(), event.kind.as_bytes().to_vec()));
    }
    let mut response = Response {
        status: 200,
        headers,
        body: text.into_bytes(),
    };
    for mutation in &source.mutations {
        mutation.apply(&mut response);
    }
    let body = String::from_utf8_lossy(&response.body)
        .replace(ID_PLACEHOLDER, &id)
        .replace("{{base_url}}", provider_url);
    response.body = match std::str::from_utf8(&response.body) {
        Ok(_) => body.into_bytes(),
        // Bytes that are not UTF-8 (a mutation put them there) are sent as they are.
        Err(_) => response.body,
    };
    Ok(Built {
        index: i,
        event: event.kind.clone(),
        id,
        headers: response.headers,
        body: response.body,
        forged: delivery.forged,
        drip: delivery.drip,
    })
}

/// Sends a batch at once, waits for every answer and for the handler to settle, and
/// says what each was answered.
async fn delivered(
    serving: &Serving,
    handler: &Handler,
    target: &Target,
    webhooks: &Webhooks,
    batch: &[&Built],
    redelivery: bool,
) -> Vec<Delivered> {
    let before = serving.performed() + handler.effects();
    let from = serving.requests();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let sends = batch.iter().map(|built| {
        let forged = built.forged.filter(|f| webhooks.signing.forges(*f));
        let signed = webhooks.signing.built(&built.id, now, &built.body, forged);
        // A handler may echo what it got (a panic message, a log line): the MACs
        // sent are secrets of the case, scrubbed from all it keeps.
        for mac in signed.iter().flat_map(|(_, value)| macs(value)) {
            serving.add_secret(mac);
        }
        let body = match forged {
            Some(Forgery::TamperedBody) => tampered(&built.body),
            _ => built.body.clone(),
        };
        let request = target.request(&built.headers, &signed, &body);
        send(
            serving,
            target,
            request,
            body.len(),
            built.drip,
            webhooks.timeout,
        )
    });
    let answers = join_all(sends.collect()).await;
    let effects = settled(serving, handler, before).await;
    let to = serving.requests();
    batch
        .iter()
        .zip(answers)
        .map(|(built, answer)| Delivered {
            index: built.index,
            redelivery,
            event: built.event.clone(),
            id: built.id.clone(),
            body: String::from_utf8_lossy(&built.body).into_owned(),
            answer,
            forged: built.forged.filter(|f| webhooks.signing.forges(*f)),
            effects_before: before,
            effects,
            requests: (from, to),
        })
        .collect()
}

/// The MACs in a signature header's value: each part (between commas and spaces)
/// without its version label (`v1=`, `sha256=`), 16 characters or more.
fn macs(value: &str) -> impl Iterator<Item = &str> {
    value.split([',', ' ']).filter_map(|part| {
        let mac = match part.split_once('=') {
            Some((label, rest))
                if label.len() <= 8 && label.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                rest
            }
            _ => part,
        };
        (mac.len() >= 16).then_some(mac)
    })
}

/// Runs the futures at once on this task, in order of their results.
async fn join_all<F: std::future::Future<Output = Answer>>(futures: Vec<F>) -> Vec<Answer> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut answers: Vec<Option<Answer>> = vec![None; futures.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in futures.iter_mut().enumerate() {
            if answers[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(answer) => answers[i] = Some(answer),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        match pending {
            true => std::task::Poll::Pending,
            false => std::task::Poll::Ready(()),
        }
    })
    .await;
    answers
        .into_iter()
        .map(|a| a.expect("every future finished"))
        .collect()
}

/// The effects once the handler has settled: no request to the provider for a
/// moment and the count the same twice, up to [`SETTLE_MAX`].
async fn settled(serving: &Serving, handler: &Handler, before: u64) -> u64 {
    let read = || serving.performed() + handler.effects();
    let started = tokio::time::Instant::now();
    let mut last = read();
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Waiting on the handler to settle is the driver's own progress.
        serving.touch();
        let now = read();
        let quiet = serving.since_request() >= Duration::from_millis(10);
        if (now == last && quiet) || started.elapsed() >= SETTLE_MAX {
            return now.max(before);
        }
        last = now;
    }
}

/// Where deliveries go: a loopback `http://` URL.
struct Target {
    host: String,
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("the handler's URL {url:?} is not http://: start the handler's server on 127.0.0.1:0 and hand over http://127.0.0.1:PORT/path")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let host = match authority.rsplit_once(':') {
            Some((host, _)) => host,
            None => authority,
        };
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!(
                "the handler's URL {url:?} is not on loopback: deliveries carry signatures made with your secret and go to 127.0.0.1 only"
            ));
        }
        let host = match host {
            "localhost" => "127.0.0.1",
            "[::1]" => "::1",
            other => other,
        };
        let port = authority.rsplit_once(':').map_or("80", |(_, p)| p);
        Ok(Target {
            host: format!("{host}:{port}"),
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The request's head, then its body.
    fn request(
        &self,
        headers: &[(String, Vec<u8>)],
        signed: &[(String, String)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut out = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: badgateway-webhooks\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.path,
            self.authority,
            body.len()
        )
        .into_bytes();
        let lines = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .chain(signed.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
        for (name, value) in lines {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        out
    }
}

/// Sends one request (its body in `drip` pieces, when asked) and reads the status
/// line of the answer, within `timeout` of the connection.
async fn send(
    serving: &Serving,
    target: &Target,
    request: Vec<u8>,
    body_len: usize,
    drip: Option<usize>,
    timeout: Duration,
) -> Answer {
    serving.touch();
    let exchange = async {
        let mut stream = TcpStream::connect(target.host.as_str()).await.ok()?;
        let head_len = request.len() - body_len;
        match drip {
            Some(pieces) if body_len > 0 => {
                stream.write_all(&request[..head_len]).await.ok()?;
                let size = body_len.div_ceil(pieces.max(1)).max(1);
                for piece in request[head_len..].chunks(size) {
                    tokio::time::sleep(DRIP_PAUSE).await;
                    serving.touch();
                    stream.write_all(piece).await.ok()?;
                }
            }
            _ => stream.write_all(&request).await.ok()?,
        }
        let mut read = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            read.extend_from_slice(&buf[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&read) {
                Ok(httparse::Status::Complete(_)) => return response.code,
                Ok(httparse::Status::Partial) if read.len() < MAX_ANSWER => continue,
                // A status line is enough to know the answer, whatever follows it.
                _ => return status_line(&read),
            }
        }
    };
    let live = async {
        loop {
            tokio::time::sleep(LIVE_EVERY).await;
            serving.touch();
        }
    };
    let answer = tokio::select! {
        answered = tokio::time::timeout(timeout, exchange) => match answered {
            Ok(Some(status)) => Answer::Status(status),
            Ok(None) => Answer::Dropped,
            Err(_) => Answer::NoAnswer { after: timeout },
        },
        () = live => unreachable!("the liveness loop never ends"),
    };
    serving.touch();
    answer
}

/// The status of a whole status line at the start of `read`, if there is one.
fn status_line(read: &[u8]) -> Option<u16> {
    let line_end = read.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&read[..line_end]).ok()?;
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}
