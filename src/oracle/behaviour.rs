//! The promises every client makes, contract or not, checked from the request
//! journal: bounded retries (no retry storm), and honouring `Retry-After`.

use std::time::{Duration, SystemTime};

use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::scenario::Transport;

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
        let Some((wait, asked)) = retry_after(request) else {
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
                    // Only what was served goes in the message, never a measured
                    // time: the verdict is snapshotted and must read the same each run.
                    what: format!(
                        "ignored retry-after: request {} was asked to wait (retry-after: {asked}) and request {} came before that",
                        request.index + 1,
                        next.index + 1,
                    ),
                };
            }
        }
    }
    outcome
}

/// How long a 429 or 503 asked the client to wait: `Retry-After` as seconds (decimals
/// too, as some providers send) or as an HTTP date (from now; a past date is no wait).
fn retry_after(request: &RecordedRequest) -> Option<(Duration, String)> {
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
            .then(|| (Duration::from_secs_f64(seconds.min(86_400.0)), value));
    }
    let date = httpdate::parse_http_date(&value).ok()?;
    let wait = date.duration_since(SystemTime::now()).ok()?;
    Some((wait, value))
}

pub(super) fn status_of(request: &RecordedRequest) -> u16 {
    std::str::from_utf8(request.served.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0)
}

/// Whether the provider's answer to a request was a failure a client retries.
pub(super) fn failed(request: &RecordedRequest) -> bool {
    let status = status_of(request);
    let transport_failed = !matches!(
        request.step.transport,
        Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. }
    );
    transport_failed || status == 429 || status >= 500
}
