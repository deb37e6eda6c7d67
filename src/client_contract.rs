//! The client's half of the contract, checked from the request journal: what it
//! sends (against a contract) and how it retries (always).

use std::time::{Duration, SystemTime};

use crate::contract::Contract;
use crate::journal::{Journal, RecordedRequest};
use crate::outcome::Outcome;
use crate::scenario::Transport;

/// The outcome, or the first request that breaks the client's half of the contract:
/// an undocumented operation, a missing required header, a body that breaks the
/// request schema, or a retry of a failed POST under another idempotency key (the
/// way a charge is taken twice). A finding the code already had takes precedence.
pub(crate) fn checked(contract: &Contract, outcome: Outcome, journal: &Journal) -> Outcome {
    if outcome.is_finding() {
        return outcome;
    }
    for request in &journal.requests {
        if let Some(what) = violation(contract, journal, request) {
            return Outcome::RequestViolation {
                request: request.index + 1,
                what,
            };
        }
    }
    outcome
}

fn violation(contract: &Contract, journal: &Journal, request: &RecordedRequest) -> Option<String> {
    let path = request.target.split('?').next().unwrap_or(&request.target);
    let Some(op) = contract.operation(&request.method, &request.target) else {
        return Some(format!(
            "undocumented operation {} {path}: the contract has no such operation",
            request.method
        ));
    };
    let name = format!("{} {}", op.method, op.path);
    let header = |h: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(h))
            .map(|(_, v)| v.clone())
    };
    for required in &op.required_headers {
        if header(required).is_none() {
            return Some(format!(
                "missing required header {required} on {name}: the request has no such header"
            ));
        }
    }
    if let Some(pointer) = &op.request_schema {
        let body: serde_json::Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => return Some(format!("request body of {name} is not JSON: {e}")),
        };
        if let Err(violations) = contract.validate(pointer, &body) {
            let v = &violations[0];
            return Some(format!(
                "request body of {name} breaks {} at {}: {}",
                v.keyword, v.instance_path, v.message
            ));
        }
    }
    if request.method == "POST" {
        let key = header("idempotency-key");
        let retried = journal
            .requests
            .iter()
            .filter(|earlier| earlier.index < request.index)
            .find(|earlier| {
                earlier.method == request.method
                    && earlier.target.split('?').next() == Some(path)
                    && failed(earlier)
                    && earlier
                        .headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("idempotency-key"))
                        .map(|(_, v)| v.clone())
                        != key
            });
        if let Some(earlier) = retried {
            return Some(format!(
                "retried {name} without the same idempotency-key: request {} failed and request {} sent another key, so a charge can be taken twice",
                earlier.index + 1,
                request.index + 1
            ));
        }
    }
    None
}

/// More requests than this in one case is a retry storm.
pub(crate) const MAX_REQUESTS: usize = 30;
/// How much earlier than `Retry-After` asked a retry may come (clock granularity).
const RETRY_AFTER_SLACK: Duration = Duration::from_millis(20);

/// The outcome, or how the code broke the promises every client makes, contract or
/// not: bounded retries (no retry storm), and honouring `Retry-After`.
pub(crate) fn behaved(outcome: Outcome, journal: &Journal) -> Outcome {
    if outcome.is_finding() {
        return outcome;
    }
    if journal.len() > MAX_REQUESTS {
        let last = &journal.requests[journal.len() - 1];
        return Outcome::RequestViolation {
            request: last.index + 1,
            what: format!(
                "retry storm: more than {MAX_REQUESTS} requests in one case ({} by the end, the last {} {})",
                journal.len(),
                last.method,
                last.target
            ),
        };
    }
    for (i, request) in journal.requests.iter().enumerate() {
        let Some(wait) = retry_after(request) else {
            continue;
        };
        let path = |r: &RecordedRequest| r.target.split('?').next().map(str::to_owned);
        let next = journal.requests[i + 1..]
            .iter()
            .find(|later| later.method == request.method && path(later) == path(request));
        if let Some(next) = next {
            let waited = next.at.saturating_sub(request.at);
            if waited + RETRY_AFTER_SLACK < wait {
                return Outcome::RequestViolation {
                    request: next.index + 1,
                    what: format!(
                        "ignored retry-after: request {} was asked to wait {:.3} s and request {} came after {} ms",
                        request.index + 1,
                        wait.as_secs_f64(),
                        next.index + 1,
                        waited.as_millis()
                    ),
                };
            }
        }
    }
    outcome
}

/// How long a 429 or 503 asked the client to wait: `Retry-After` as seconds (decimals
/// too, as some providers send) or as an HTTP date (from now; a past date is no wait).
fn retry_after(request: &RecordedRequest) -> Option<Duration> {
    let head_delivered = match request.step.transport {
        Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. } => true,
        Transport::ResetPeer { after_bytes: n }
        | Transport::LimitData { bytes: n }
        | Transport::Timeout { after_bytes: n } => n >= request.served_head_len,
        Transport::EmptyResponse => false,
    };
    if !head_delivered || !matches!(status_of(request), 429 | 503) {
        return None;
    }
    let head = String::from_utf8_lossy(request.served.get(..request.served_head_len)?);
    let value = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("retry-after"))
        .map(|(_, value)| value.trim().to_owned())?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds > 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = httpdate::parse_http_date(&value).ok()?;
    date.duration_since(SystemTime::now()).ok()
}

fn status_of(request: &RecordedRequest) -> u16 {
    std::str::from_utf8(request.served.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0)
}

/// Whether the provider's answer to a request was a failure a client retries.
fn failed(request: &RecordedRequest) -> bool {
    let status = status_of(request);
    let transport_failed = !matches!(
        request.step.transport,
        Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. }
    );
    transport_failed || status == 429 || status >= 500
}
