//! The client's half of the contract, checked from the request journal: what it
//! sends, and that a failed POST is retried under the same idempotency key.

use crate::contract::Contract;
use crate::provider::journal::{Journal, RecordedRequest};
use crate::provider::names::idempotency_key;
use crate::runner::outcome::Outcome;

use super::behaviour::failed;

/// The outcome, or the first request that breaks the client's half of the contract:
/// an undocumented operation, a missing required header, a body that breaks the
/// request schema (or none where one is required), or a retry of a failed POST under another idempotency key (the
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
    if contract.is_outside(&request.method, &request.target) {
        return None;
    }
    let Some(op) = contract.operation(&request.method, &request.target) else {
        let why = contract.unmatched(&request.method, &request.target);
        return Some(format!(
            "undocumented operation: {}",
            why.unwrap_or_default()
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
    // An optional body (OpenAPI's default) may be left out: PayPal's capture takes
    // an empty POST.
    let left_out = request.body.is_empty() && !op.request_body_required;
    if let Some(pointer) = op.request_schema.as_ref().filter(|_| !left_out) {
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
    // Where the baseline declares the effect, the duplicate-effect rule judges what a
    // retry did; elsewhere, a failed POST retried with no key or another one is the
    // client's half broken (no key twice is no key at all).
    if request.method == "POST" && request.effect.is_none() {
        let key = idempotency_key(&request.headers);
        let retried = journal
            .requests
            .iter()
            .filter(|earlier| earlier.index < request.index)
            .find(|earlier| {
                earlier.method == request.method
                    && earlier.target.split('?').next() == Some(path)
                    && failed(earlier)
                    && (key.is_none() || idempotency_key(&earlier.headers) != key)
            });
        if let Some(earlier) = retried {
            return Some(format!(
                "retried {name} without the same idempotency key: request {} failed and request {} sent another key, so a charge can be taken twice",
                earlier.index + 1,
                request.index + 1
            ));
        }
    }
    None
}
