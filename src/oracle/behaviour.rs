//! The behaviour rules every client is held to across the requests of a case, contract
//! or not, judged from the request journal: no double effect, bounded attempts, spaced
//! retries, `Retry-After` honoured up to a cap and never past it, final errors not
//! retried, pages that end.
//!
//! Implementation notes: a *logical call* is told from the wire alone. A request is an
//! attempt at the same call as the latest earlier request with the same method, target
//! and body when that one did not succeed (no whole 2xx answer): a retry. The same
//! request after a success is a new call (polling, or the same page again, which the
//! pagination rules judge). Idempotency keys are not part of the call: a client that
//! sends a new key per attempt is exactly the one these rules must see.

use std::collections::HashSet;
use std::time::Duration;

use crate::contract::Contract;
use crate::provider::journal::{Effect, Journal, RecordedRequest};
use crate::runner::outcome::Outcome;
use crate::runner::rules::{Rule, Rules};
use crate::scenario::{Framing, Mutation, Transport};

use super::deliveries;

/// The outcome, or the first behaviour rule the code broke. A panic, a blocked thread
/// and a finding already judged outrank the rules; a hang gives way to them, because a
/// storm, pages without end or an unbounded wait is what such a hang was.
pub(crate) fn behaved(
    outcome: Outcome,
    journal: &Journal,
    rules: &Rules,
    contract: Option<&Contract>,
    scenario: &crate::scenario::Scenario,
) -> Outcome {
    let returned_ok = matches!(
        outcome,
        Outcome::Ok { .. } | Outcome::SilentAcceptance { .. }
    );
    let hung = match outcome {
        Outcome::Ok { .. } | Outcome::HandledError { .. } => false,
        Outcome::Hang { blocked: false, .. } => true,
        _ => return outcome,
    };
    // A webhook handler's calls are judged per delivery: the provider's redelivery
    // starts the handler afresh, and a call it makes again is no retry of its own.
    let windows = windows(journal);
    let windows: Vec<(&Journal, Calls)> = windows.iter().map(|w| (&**w, Calls::of(w))).collect();
    for rule in Rule::ALL.into_iter().filter(|r| rules.judges(*r)) {
        let broken = match rule {
            Rule::CrashLoop => deliveries::crash_loop(journal),
            Rule::ForgedAccepted => deliveries::forged_accepted(journal),
            Rule::DuplicateDelivery => deliveries::duplicate_delivery(journal, scenario),
            _ => windows.iter().find_map(|(journal, calls)| match rule {
                Rule::DuplicateEffect => duplicate_effect(journal),
                Rule::PaginationCycle => pagination_cycle(journal),
                Rule::UnboundedPagination => unbounded_pagination(journal, rules),
                Rule::UnboundedPolling => unbounded_polling(journal, rules),
                Rule::HastyPolling => hasty_polling(journal, rules),
                Rule::Storm => storm(journal, calls, rules),
                Rule::RetriedFinalError => retried_final_error(journal, calls, rules, contract),
                Rule::UnboundedWait if hung => unbounded_wait(journal, rules),
                Rule::IgnoredRetryAfter => ignored_retry_after(journal, rules),
                Rule::IgnoredStatus if returned_ok => ignored_status(journal),
                Rule::Backoff => no_backoff(journal, calls, rules),
                _ => None,
            }),
        };
        if let Some((request, what)) = broken {
            return Outcome::Misbehaviour {
                rule,
                request: request + 1,
                what,
            };
        }
    }
    match outcome {
        // A hang on a stall and a hang after every answer came whole are two bugs (a
        // missing timeout; a loop or lock of the code's own): one label hid the other.
        Outcome::Hang {
            after,
            blocked: false,
            live: false,
            answered: false,
        } if journal.requests.iter().all(read_whole) => Outcome::Hang {
            after,
            blocked: false,
            live: false,
            answered: true,
        },
        other => other,
    }
}

/// The journals the client rules judge one by one: the whole journal, or for a
/// webhook case the calls made during each delivery (those sent at once share one).
fn windows(journal: &Journal) -> Vec<std::borrow::Cow<'_, Journal>> {
    if journal.deliveries.is_empty() {
        return vec![std::borrow::Cow::Borrowed(journal)];
    }
    let mut ranges: Vec<(usize, usize)> = journal.deliveries.iter().map(|d| d.requests).collect();
    ranges.sort_unstable();
    ranges.dedup();
    ranges
        .into_iter()
        .filter(|(from, to)| from < to)
        .map(|(from, to)| {
            std::borrow::Cow::Owned(Journal {
                requests: journal
                    .requests
                    .iter()
                    .filter(|r| (from..to).contains(&r.index))
                    .cloned()
                    .collect(),
                ..Journal::default()
            })
        })
        .collect()
}

/// For each request of the journal (by position), the request it retries, if it is a
/// retry, and which attempt at its call it is (from 1).
struct Calls {
    retries: Vec<Option<usize>>,
    attempt: Vec<usize>,
}

impl Calls {
    fn of(journal: &Journal) -> Calls {
        let requests = &journal.requests;
        let mut retries = Vec::with_capacity(requests.len());
        let mut attempt = Vec::with_capacity(requests.len());
        for (i, request) in requests.iter().enumerate() {
            let previous = (0..i).rev().find(|&j| same_call(&requests[j], request));
            let retried = previous.filter(|&j| !succeeded(&requests[j]));
            attempt.push(retried.map_or(1, |j| attempt[j] + 1));
            retries.push(retried);
        }
        Calls { retries, attempt }
    }
}

fn same_call(a: &RecordedRequest, b: &RecordedRequest) -> bool {
    a.method == b.method && a.target == b.target && a.body == b.body
}

fn path(request: &RecordedRequest) -> &str {
    request.target.split('?').next().unwrap_or(&request.target)
}

/// Whether the client could read the head at once: well-formed (no control byte in a
/// header, no contradictory lengths), and sent whole before any cut. A head dripped or
/// delayed may have come after the client's own timeout, so it is not counted as read:
/// rules that depend on what the client saw judge only what it surely saw.
fn head_read(request: &RecordedRequest) -> bool {
    let malformed = request
        .step
        .mutations
        .iter()
        .any(|m| matches!(m, Mutation::InvalidHeaderBytes { .. }))
        || matches!(
            request.step.framing,
            Framing::ContentLengthValue { .. }
                | Framing::ContentLengthTwice { .. }
                | Framing::BothLengths
        );
    let sent = match request.step.transport {
        Transport::Normal => true,
        Transport::ResetPeer { after_bytes: n }
        | Transport::LimitData { bytes: n }
        | Transport::Timeout { after_bytes: n } => n >= request.served_head_len,
        Transport::Latency { .. } | Transport::Slicer { .. } | Transport::EmptyResponse => false,
    };
    sent && !malformed
}

/// Whether the client could read the whole response at once: its head, and a body
/// framed as it says.
fn read_whole(request: &RecordedRequest) -> bool {
    head_read(request)
        && request.step.transport == Transport::Normal
        && matches!(
            request.step.framing,
            Framing::ContentLength | Framing::Chunked { .. } | Framing::CloseDelimited
        )
}

/// Whether the client got a whole, well-framed 2xx, at once or slowly.
pub(super) fn succeeded(request: &RecordedRequest) -> bool {
    let whole = matches!(
        request.step.transport,
        Transport::Normal | Transport::Latency { .. } | Transport::Slicer { .. }
    ) && matches!(
        request.step.framing,
        Framing::ContentLength | Framing::Chunked { .. } | Framing::CloseDelimited
    );
    whole && (200..300).contains(&status_of(request))
}

/// How the provider answered, in a few words.
fn answer(request: &RecordedRequest) -> String {
    let status = status_of(request);
    match request.step.transport {
        Transport::EmptyResponse => "a close with no reply".to_owned(),
        Transport::ResetPeer { after_bytes } => format!("a reset after {after_bytes} bytes"),
        Transport::LimitData { bytes } => format!("a close after {bytes} bytes"),
        Transport::Timeout { after_bytes } => format!("a stall after {after_bytes} bytes"),
        Transport::Slicer { bytes, delay_ms } => {
            format!("{status}, dripped {bytes} bytes every {delay_ms} ms")
        }
        Transport::Latency { ms } => format!("{status} after {ms} ms"),
        Transport::Normal => format!("{status}"),
    }
}

/// Two requests with the same method, path and body that each performed the effect,
/// the first without a clean success the client surely read: one logical call, retried,
/// charged twice. (The same request after a clean success is a new call: two orders of
/// the same amount.)
fn duplicate_effect(journal: &Journal) -> Option<(usize, String)> {
    let performed: Vec<&RecordedRequest> = journal
        .requests
        .iter()
        .filter(|r| r.effect == Some(Effect::Performed))
        .collect();
    for (n, second) in performed.iter().enumerate() {
        let Some(first) = performed[..n].iter().find(|first| {
            first.method == second.method
                && path(first) == path(second)
                && first.body == second.body
                && !(read_whole(first) && succeeded(first))
        }) else {
            continue;
        };
        let key = |r: &RecordedRequest| match crate::provider::names::idempotency_key(&r.headers) {
            Some(key) => format!("idempotency-key {key:?}"),
            None => "no idempotency-key".to_owned(),
        };
        let after = if first.step.after_effect {
            format!("{} after the effect", answer(first))
        } else {
            answer(first)
        };
        return Some((
            second.index,
            format!(
                "requests {} and {} each performed the effect of {} {} with the same body: request {} was answered with {after}, and request {} came with {} (request {} had {}), so the provider performed it twice: a double charge",
                first.index + 1,
                second.index + 1,
                second.method,
                path(second),
                first.index + 1,
                second.index + 1,
                key(second),
                first.index + 1,
                key(first),
            ),
        ));
    }
    None
}

/// Whether a GET request asks for the page after the one `since` served: its query
/// holds a value a 2xx response to the same path gave from `since` on (a cursor), or
/// its whole target appears in one (a `next` link).
fn follows_a_page(journal: &Journal, i: usize, since: usize) -> bool {
    let request = &journal.requests[i];
    let Some((_, query)) = request.target.split_once('?') else {
        return false;
    };
    let values: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(_, v)| v))
        .filter(|v| v.len() > 2)
        .map(|v| format!("\"{v}\""))
        .collect();
    journal.requests[since..i]
        .iter()
        .filter(|earlier| {
            earlier.method == "GET" && path(earlier) == path(request) && succeeded(earlier)
        })
        .any(|earlier| {
            let body = String::from_utf8_lossy(
                earlier
                    .served
                    .get(earlier.served_head_len..)
                    .unwrap_or_default(),
            );
            body.contains(request.target.as_str())
                || values.iter().any(|v| body.contains(v.as_str()))
        })
}

/// A page requested again after it was served, with a cursor the client took from that
/// page or a later one: the cursor repeats. A page served slowly is not taken as
/// received (the client may have timed out and retried it), so it judges nothing.
fn pagination_cycle(journal: &Journal) -> Option<(usize, String)> {
    let requests = &journal.requests;
    for (i, request) in requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "GET")
    {
        let Some(j) = (0..i).find(|&j| {
            let earlier = &requests[j];
            earlier.target == request.target && read_whole(earlier) && succeeded(earlier)
        }) else {
            continue;
        };
        if follows_a_page(journal, i, j) {
            return Some((
                request.index,
                format!(
                    "request {} asked for the page request {} had already been served (GET {}): the cursor repeats, so the listing never ends",
                    request.index + 1,
                    requests[j].index + 1,
                    request.target
                ),
            ));
        }
    }
    None
}

/// More pages of one listing than the rules allow: distinct targets asked of one
/// path by GET (cursors, page numbers, `next` links), each a page.
fn unbounded_pagination(journal: &Journal, rules: &Rules) -> Option<(usize, String)> {
    let requests = &journal.requests;
    if requests.len() <= rules.max_pages {
        return None;
    }
    let mut pages: std::collections::HashMap<&str, HashSet<&str>> = Default::default();
    for request in requests.iter().filter(|r| r.method == "GET") {
        let targets = pages.entry(path(request)).or_default();
        targets.insert(request.target.as_str());
        if targets.len() > rules.max_pages {
            return Some((
                request.index,
                format!(
                    "request {} was page {} of GET {}: more than {} pages (Rules::max_pages) of one listing",
                    request.index + 1,
                    targets.len(),
                    path(request),
                    rules.max_pages
                ),
            ));
        }
    }
    None
}

/// For each request of the journal (by position), whether it is a poll: a GET of a
/// target an earlier GET had asked for and been answered with a whole success, and
/// the request to that target just before it.
fn polls(journal: &Journal) -> Vec<Option<usize>> {
    let requests = &journal.requests;
    requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
            if request.method != "GET" {
                return None;
            }
            let same =
                |j: &usize| requests[*j].method == "GET" && requests[*j].target == request.target;
            let answered = (0..i)
                .filter(same)
                .any(|j| succeeded(&requests[j]) && read_whole(&requests[j]));
            let previous = (0..i).rev().find(same)?;
            // A page that says there is more, asked for again, is a listing that does
            // not move on: the pagination rules and the storm judge it.
            (answered && !says_there_is_more(&requests[previous])).then_some(previous)
        })
        .collect()
}

/// Whether a response's JSON body says there is more to list: a top-level flag
/// named for more (`has_more`, `moreResults`) that is `true`, or a `next` cursor or
/// link that is set.
fn says_there_is_more(request: &RecordedRequest) -> bool {
    let body = request
        .served
        .get(request.served_head_len..)
        .unwrap_or_default();
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return false;
    };
    fields.iter().any(|(key, value)| {
        let key = key.to_ascii_lowercase();
        (key.contains("more") && value == &serde_json::Value::Bool(true))
            || (key.contains("next") && value.as_str().is_some_and(|v| !v.is_empty()))
    })
}

/// More polls of one resource than the rules allow.
fn unbounded_polling(journal: &Journal, rules: &Rules) -> Option<(usize, String)> {
    let polled = polls(journal);
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for (i, request) in journal.requests.iter().enumerate() {
        if polled[i].is_none() {
            continue;
        }
        let n = counts.entry(request.target.as_str()).or_default();
        *n += 1;
        if *n > rules.max_polls {
            return Some((
                request.index,
                format!(
                    "request {} was poll {n} of GET {}, each answered {}: more than {} polls (Rules::max_polls) of one resource, with no end in sight",
                    request.index + 1,
                    request.target,
                    answer(&journal.requests[polled[i]?]),
                    rules.max_polls
                ),
            ));
        }
    }
    None
}

/// What a verdict on a journal may depend on the time between requests for: two
/// retries of one call where no `Retry-After` said when, or [`HASTY_POLLS`] polls of
/// one resource, which the cases run beside it may have spaced out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timed {
    /// Polls of one resource.
    Polls,
    /// Retries of one call.
    Retries,
}

/// How many times a case whose verdict rests on time, and that showed nothing, is run
/// again on its own before it is taken to show nothing (a campaign's on a busy
/// machine, a replayed fixture's always): load can only hide such a finding.
pub(crate) const RECHECK_RUNS: usize = 3;

/// What, if anything, a verdict on this journal depends on time for (see [`Timed`]).
pub(crate) fn judged_by_timing(journal: &Journal) -> Option<Timed> {
    let calls = Calls::of(journal);
    let requests = &journal.requests;
    let mut untold_retries: std::collections::HashMap<usize, usize> = Default::default();
    let retried_twice = calls.retries.iter().any(|retried| {
        let Some(j) = *retried else { return false };
        // A retry after a stall or a slow answer came after the client's own
        // timeout: never back to back, whatever the load.
        let slow = matches!(
            requests[j].step.transport,
            Transport::Timeout { .. } | Transport::Latency { .. } | Transport::Slicer { .. }
        );
        if slow || retry_after_value(&requests[j]).is_some() {
            return false;
        }
        // Counted by the call's first attempt.
        let mut first = j;
        while let Some(k) = calls.retries[first] {
            first = k;
        }
        let n = untold_retries.entry(first).or_default();
        *n += 1;
        *n >= 2
    });
    let mut polled: std::collections::HashMap<&str, usize> = Default::default();
    let polled_often = polls(journal).iter().enumerate().any(|(i, poll)| {
        poll.is_some() && {
            let n = polled.entry(requests[i].target.as_str()).or_default();
            *n += 1;
            *n >= HASTY_POLLS
        }
    });
    match (polled_often, retried_twice) {
        (true, _) => Some(Timed::Polls),
        (false, true) => Some(Timed::Retries),
        (false, false) => None,
    }
}

/// How many polls in a row, each sooner than the interval, are polling back to back.
const HASTY_POLLS: usize = 3;

/// Polls of one resource back to back: [`HASTY_POLLS`] in a row, each sooner than
/// the rules' interval after the request before to that target.
fn hasty_polling(journal: &Journal, rules: &Rules) -> Option<(usize, String)> {
    let requests = &journal.requests;
    let polled = polls(journal);
    let mut chain: Vec<Vec<usize>> = vec![Vec::new(); requests.len()];
    for (i, request) in requests.iter().enumerate() {
        let Some(j) = polled[i] else { continue };
        // Implementation notes: as for `no_backoff`, the gap is the wall clock's, so
        // load can only hide this verdict, never make it.
        if request.at.saturating_sub(requests[j].at) >= rules.min_poll_interval {
            continue;
        }
        let mut hasty = std::mem::take(&mut chain[j]);
        hasty.push(i);
        if hasty.len() >= HASTY_POLLS {
            return Some((
                request.index,
                format!(
                    "requests {} polled GET {} each less than {:?} (Rules::min_poll_interval) after the request before: polling back to back",
                    numbers(requests, &hasty),
                    request.target,
                    rules.min_poll_interval
                ),
            ));
        }
        chain[i] = hasty;
    }
    None
}

/// Too many attempts at one call, or too many requests in one case.
fn storm(journal: &Journal, calls: &Calls, rules: &Rules) -> Option<(usize, String)> {
    let requests = &journal.requests;
    if let Some(i) = calls.attempt.iter().position(|&a| a > rules.max_attempts) {
        let r = &requests[i];
        return Some((
            r.index,
            format!(
                "request {} was attempt {} at {} {}: more than {} attempts (Rules::max_attempts) at one call, the last failed with {}",
                r.index + 1,
                calls.attempt[i],
                r.method,
                r.target,
                rules.max_attempts,
                answer(&requests[calls.retries[i]?])
            ),
        ));
    }
    let last = requests.get(rules.max_requests)?;
    Some((
        last.index,
        format!(
            "more than {} requests (Rules::max_requests) in one case, the last {} {}: requests without end",
            rules.max_requests, last.method, last.target
        ),
    ))
}

/// A retry of a response the contract marks final (`x-badgateway-final`), or else the
/// rules call final.
fn retried_final_error(
    journal: &Journal,
    calls: &Calls,
    rules: &Rules,
    contract: Option<&Contract>,
) -> Option<(usize, String)> {
    journal.requests.iter().enumerate().find_map(|(i, r)| {
        let previous = &journal.requests[calls.retries[i]?];
        let status = status_of(previous);
        let marked = contract
            .and_then(|c| c.operation(&previous.method, &previous.target))
            .and_then(|op| op.is_final(status));
        let is_final = marked.unwrap_or_else(|| rules.final_statuses.contains(&status));
        let refreshed = matches!(status, 401 | 403) && new_credentials(journal, previous, r);
        let ours = previous.undeclared;
        (read_whole(previous) && is_final && !refreshed && !ours).then(|| {
            (
                r.index,
                format!(
                    "request {} retried {} {} after request {} was answered {status}, which is final ({}): the same request fails the same way",
                    r.index + 1,
                    r.method,
                    r.target,
                    previous.index + 1,
                    if marked.is_some() { "the contract marks it x-badgateway-final" } else { "Rules::final_statuses" }
                ),
            )
        })
    })
}

/// Whether `retry` went out with other credentials than `previous`, the request it
/// retries: its secret headers changed, or the client called another operation in
/// between (fetched a token). A 401 or 403 then says nothing of the retry: refreshing
/// credentials once and trying again is what a correct client does, and refreshing
/// without end is still bounded by `max_attempts`.
fn new_credentials(journal: &Journal, previous: &RecordedRequest, retry: &RecordedRequest) -> bool {
    let between = journal
        .requests
        .iter()
        .filter(|r| r.index > previous.index && r.index < retry.index);
    retry.credentials != previous.credentials
        || between
            .into_iter()
            .any(|r| r.method != previous.method || path(r) != path(previous))
}

/// After a response that asked for a wait longer than the cap (`Retry-After`, or a
/// rate limit with nothing remaining until its reset), nothing more: the code kept
/// waiting, and the finding names the header it obeyed.
fn unbounded_wait(journal: &Journal, rules: &Rules) -> Option<(usize, String)> {
    let last = journal.requests.last()?;
    let asked = asked_wait(last)?;
    (asked.wait > rules.retry_after_cap).then(|| {
        (
            last.index,
            format!(
                "request {} was answered {} with {}, and the code sent nothing more and did not return for longer than {:?} (Rules::retry_after_cap): it waits as long as the provider says",
                last.index + 1,
                status_of(last),
                asked.asked,
                rules.retry_after_cap
            ),
        )
    })
}

/// The wait a response the client surely read asked for, by any header.
fn asked_wait(request: &RecordedRequest) -> Option<crate::provider::journal::Wait> {
    if !head_read(request) {
        return None;
    }
    let head = String::from_utf8_lossy(request.served.get(..request.served_head_len)?);
    let headers: Vec<(String, String)> = head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    crate::provider::journal::asked_wait(status_of(request), &headers)
}

/// How much earlier than `Retry-After` asked a retry may come (clock granularity).
const RETRY_AFTER_SLACK: Duration = Duration::from_millis(20);

/// A retry sooner than `Retry-After` asked, up to the cap.
fn ignored_retry_after(journal: &Journal, rules: &Rules) -> Option<(usize, String)> {
    for (i, request) in journal.requests.iter().enumerate() {
        let Some((wait, asked)) = retry_after(request) else {
            continue;
        };
        // Only a retry of the same call is judged here: a client that went on to
        // another page after a 429 did not retry too soon, it ignored the status
        // (`ignored_status`), and one label must not hide the other cause.
        let next = journal.requests[i + 1..]
            .iter()
            .find(|later| same_call(later, request));
        if let Some(next) = next {
            let waited = next.at.saturating_sub(request.at);
            if waited + RETRY_AFTER_SLACK < wait.min(rules.retry_after_cap) {
                return Some((
                    next.index,
                    // Only what was served goes in the message, never a measured
                    // time: the verdict is snapshotted and must read the same each run.
                    format!(
                        "request {} was asked to wait (retry-after: {asked}) and request {} came before that",
                        request.index + 1,
                        next.index + 1,
                    ),
                ));
            }
        }
    }
    None
}

/// A 429 or 5xx read whole, after which the client asked for another target of the
/// same listing (method and path), never for the failed one again, and returned `Ok`:
/// it read the error as the answer and moved on (the next page), losing what that
/// response should have held. A client that returns `Err` surfaced the failure.
fn ignored_status(journal: &Journal) -> Option<(usize, String)> {
    let requests = &journal.requests;
    requests.iter().enumerate().find_map(|(i, failed)| {
        let status = status_of(failed);
        if !(status == 429 || (500..600).contains(&status)) || !read_whole(failed) {
            return None;
        }
        let later = &requests[i + 1..];
        if later.iter().any(|r| same_call(r, failed)) {
            return None;
        }
        let next = later.iter().find(|r| {
            r.method == failed.method && path(r) == path(failed) && moved_on(failed, r)
        })?;
        Some((
            next.index,
            format!(
                "request {} ({} {}) was answered {status}, and the code went on to request {} ({}) without asking for it again: it read the error as an answer",
                failed.index + 1,
                failed.method,
                failed.target,
                next.index + 1,
                next.target
            ),
        ))
    })
}

/// Whether `next` asks for another page of the listing `failed` asked for: a query
/// parameter that names a position in a listing (`page`, `offset`, a cursor such as
/// `starting_after` or `page_token`) has another value. Any other change of the query
/// (an attempt counter, a cache buster) is no moving on.
fn moved_on(failed: &RecordedRequest, next: &RecordedRequest) -> bool {
    const POSITION: [&str; 9] = [
        "page", "offset", "cursor", "after", "before", "marker", "skip", "start", "continu",
    ];
    let query = |r: &RecordedRequest| -> Vec<(String, String)> {
        let q = r.target.split_once('?').map_or("", |(_, q)| q);
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
            .collect()
    };
    let (before, after) = (query(failed), query(next));
    after.iter().any(|(name, value)| {
        POSITION.iter().any(|p| name.contains(p))
            && before.iter().find(|(n, _)| n == name).map(|(_, v)| v) != Some(value)
    })
}

/// Two or more retries of one call, each sooner than the shortest backoff after the
/// attempt before, where no `Retry-After` said to come back.
fn no_backoff(journal: &Journal, calls: &Calls, rules: &Rules) -> Option<(usize, String)> {
    let requests = &journal.requests;
    let mut hasty: Vec<Vec<usize>> = vec![Vec::new(); requests.len()];
    for (i, request) in requests.iter().enumerate() {
        let Some(j) = calls.retries[i] else { continue };
        let previous = &requests[j];
        let told = retry_after_value(previous).is_some();
        // A retry with new credentials after a 401 or 403 retries nothing that
        // failed for want of time: refreshing a token and trying again at once is
        // what a correct client does (`max_attempts` still bounds it).
        let refreshed =
            matches!(status_of(previous), 401 | 403) && new_credentials(journal, previous, request);
        if refreshed {
            continue;
        }
        let mut chain = std::mem::take(&mut hasty[j]);
        // Implementation notes: the gap is the wall clock's. Taking the harness's
        // starvation off it was tried, to find a hasty client on a busy machine too,
        // but it can also make a spaced client look hasty: a missed finding costs
        // less than a false one, so load can only hide this rule's verdict.
        if !told && request.at.saturating_sub(previous.at) < rules.min_backoff {
            chain.push(i);
        }
        if chain.len() >= 2 {
            return Some((
                request.index,
                format!(
                    "requests {} retried {} {} each less than {:?} (Rules::min_backoff) after the attempt before: retries back to back",
                    numbers(requests, &chain),
                    request.method,
                    request.target,
                    rules.min_backoff
                ),
            ));
        }
        hasty[i] = chain;
    }
    None
}

/// The requests at these positions, as the report numbers them: `2, 3, 4`.
fn numbers(requests: &[RecordedRequest], positions: &[usize]) -> String {
    let shown: Vec<String> = positions
        .iter()
        .map(|&k| (requests[k].index + 1).to_string())
        .collect();
    shown.join(", ")
}

/// The `Retry-After` value a delivered 429 or 503 carried.
fn retry_after_value(request: &RecordedRequest) -> Option<String> {
    if !head_read(request) || !matches!(status_of(request), 429 | 503) {
        return None;
    }
    let head = String::from_utf8_lossy(request.served.get(..request.served_head_len)?);
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("retry-after"))
        .map(|(_, value)| value.trim().to_owned())
}

/// How long a 429 or 503 asked the client to wait by its `Retry-After`, read as the
/// provider reads it (`journal::asked_wait`: seconds, decimals, an HTTP date from now;
/// a past date is no wait), and the value as served.
fn retry_after(request: &RecordedRequest) -> Option<(Duration, String)> {
    let value = retry_after_value(request)?;
    let header = [("retry-after".to_owned(), value.clone())];
    let asked = crate::provider::journal::asked_wait(status_of(request), &header)?;
    Some((asked.wait, value))
}

pub(super) fn status_of(request: &RecordedRequest) -> u16 {
    request.status()
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
