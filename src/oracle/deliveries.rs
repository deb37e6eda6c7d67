//! The webhook rules: what a handler owes the provider that delivers to it, judged
//! from the deliveries in the journal (their answers and the effects counted after
//! each) and the handler's own calls to the provider.

use crate::provider::journal::{Delivered, Journal, RecordedRequest};

use super::behaviour::succeeded as answered_whole;

/// A genuine delivery that failed and failed again when redelivered, while every call
/// the handler made to the provider during the redelivery was answered with the
/// baseline, unchanged and whole: the failure is the handler's own, and the provider
/// will keep redelivering. (A handler that answers 5xx because the provider's API
/// failed it, or sent it something it cannot read, is asking for the retry it should.)
pub(super) fn crash_loop(journal: &Journal) -> Option<(usize, String)> {
    let first = journal
        .deliveries
        .iter()
        .filter(|d| !d.redelivery && d.forged.is_none() && d.answer.is_failure());
    for delivered in first {
        let Some(again) = journal
            .deliveries
            .iter()
            .find(|d| d.redelivery && d.index == delivered.index)
        else {
            continue;
        };
        let (from, to) = again.requests;
        let calls: Vec<&RecordedRequest> = journal
            .requests
            .iter()
            .filter(|r| (from..to).contains(&r.index))
            .collect();
        let baseline =
            |r: &&RecordedRequest| r.step.is_baseline() && !r.undeclared && answered_whole(r);
        if !again.answer.is_failure() || !calls.iter().all(baseline) {
            continue;
        }
        let calls = match calls.len() {
            0 => String::new(),
            n => format!(", its {n} call(s) to the provider all answered as usual"),
        };
        return Some((
            delivered.index,
            format!(
                "{} was answered {}, and again {} when the provider redelivered it{calls}: providers redeliver a failed event for days (Stripe up to three days), so this fails each time until someone notices. Answer a 2xx once the event is taken (or a 4xx for one the handler will never take)",
                event(delivered),
                delivered.answer,
                again.answer
            ),
        ));
    }
    None
}

/// A forged or stale delivery answered with a 2xx.
pub(super) fn forged_accepted(journal: &Journal) -> Option<(usize, String)> {
    journal.deliveries.iter().find_map(|d| {
        let forgery = d.forged?;
        d.answer.is_accepted().then(|| {
            (
                d.index,
                format!(
                    "{} came with {forgery} and was answered {}: anyone who can reach the endpoint can fake this event. Verify the signature over the raw body with the secret (and the timestamp's age) before anything else, and answer 400 or 401 when it does not hold",
                    event(d),
                    d.answer
                ),
            )
        })
    })
}

/// An event delivered twice (the same id) and acted on twice: a repeat one after the
/// other that had an effect again after its first delivery had one and was answered
/// with a 2xx; or a pair sent at once whose effects outnumber those of a delivery of
/// the same event type with an id of its own before it.
pub(super) fn duplicate_delivery(
    journal: &Journal,
    scenario: &crate::scenario::Scenario,
) -> Option<(usize, String)> {
    let firsts: Vec<&Delivered> = journal
        .deliveries
        .iter()
        .filter(|d| !d.redelivery)
        .collect();
    let rise = |d: &Delivered| d.effects.saturating_sub(d.effects_before);
    for second in &firsts {
        let Some(planned) = scenario.deliveries.get(second.index) else {
            continue;
        };
        let Some(n) = planned.again else { continue };
        let Some(first) = firsts.iter().find(|d| d.index + 1 == n) else {
            continue;
        };
        if second.forged.is_some() || first.forged.is_some() {
            continue;
        }
        if !planned.at_once || first.index + 1 != second.index {
            if first.answer.is_accepted() && rise(first) > 0 && rise(second) > 0 {
                return Some((
                    second.index,
                    format!(
                        "{} repeats delivery {} (the same event id {}): the first was answered {} with {} effect(s), and the repeat had {} more. Providers deliver an event more than once; keep the ids of events already handled and answer a repeat 2xx without acting on it",
                        event(second),
                        n,
                        second.id,
                        first.answer,
                        rise(first),
                        rise(second)
                    ),
                ));
            }
            continue;
        }
        // Sent at once: the pair's effects (counted once both settled) against
        // those of one fresh delivery of the same type before it.
        let alone = firsts.iter().rev().find(|d| {
            d.index < first.index
                && d.event == first.event
                && d.forged.is_none()
                && d.effects_before != first.effects_before
                && d.answer.is_accepted()
                && scenario
                    .deliveries
                    .get(d.index)
                    .is_some_and(|p| p.again.is_none() && p.mutations.is_empty())
        });
        let Some(alone) = alone else { continue };
        if rise(alone) > 0 && rise(second) > rise(alone) {
            return Some((
                second.index,
                format!(
                    "{} and delivery {} carried the same event id {} at once, and together had {} effect(s), where delivery {} of the same event type alone had {}: two concurrent deliveries of one event both acted. Claim the event id atomically (a unique key, an insert that fails on a repeat) before acting",
                    event(second),
                    n,
                    second.id,
                    rise(second),
                    alone.index + 1,
                    rise(alone)
                ),
            ));
        }
    }
    None
}

/// `delivery 2 (payment.succeeded evt_badgateway_2)`.
fn event(d: &Delivered) -> String {
    format!("delivery {} ({} {})", d.index + 1, d.event, d.id)
}
