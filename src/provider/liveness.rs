//! Liveness: whether the client is making progress, as the provider sees it.
//!
//! Implementation notes: a hang judged by the wall clock called a correct client with
//! a 2 s timeout and three retries a hang, and a slow but finite response a hang, and
//! its verdict changed with the machine's load. The provider sees what the client does
//! with its sockets, so it keeps an activity clock instead: a connection opened or
//! closed, request bytes read, response bytes written all count as progress. Time
//! spent in a finite slow response the provider chose (latency, a drip) is the
//! provider's, not the client's, and so is a `Retry-After` wait the provider asked
//! for. What is left is time in which nothing moved: the runner calls a case a hang
//! when that reaches its limit.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The activity clock of one case's provider.
#[derive(Debug)]
pub struct Liveness {
    started: Instant,
    /// Microseconds after `started` of the last progress.
    last_activity: AtomicU64,
    /// Finite slow responses being written right now.
    slow_responses: AtomicUsize,
    /// Microseconds after `started` until which waiting was asked for (`Retry-After`).
    wait_until: AtomicU64,
    /// Microseconds the harness itself was starved of CPU, in all.
    excused: AtomicU64,
    /// The client sent more requests than any verdict needs: stop the case.
    enough: AtomicBool,
    /// Requests received.
    requests: AtomicUsize,
    /// Microseconds after `started` of the last request.
    last_request: AtomicU64,
}

/// Counts a finite slow response while it is written; its end is progress.
#[derive(Debug)]
pub(crate) struct SlowResponse<'a>(&'a Liveness);

impl Drop for SlowResponse<'_> {
    fn drop(&mut self) {
        self.0.slow_responses.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

impl Default for Liveness {
    fn default() -> Self {
        Self::new()
    }
}

impl Liveness {
    /// A clock whose last progress is now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            last_activity: AtomicU64::new(0),
            slow_responses: AtomicUsize::new(0),
            wait_until: AtomicU64::new(0),
            excused: AtomicU64::new(0),
            enough: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            last_request: AtomicU64::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Something moved: a connection, a request byte, a response byte.
    pub(crate) fn touch(&self) {
        self.last_activity
            .fetch_max(self.now_us(), Ordering::SeqCst);
    }

    /// A finite slow response starts; it counts until the guard drops.
    pub(crate) fn slow_response(&self) -> SlowResponse<'_> {
        self.slow_responses.fetch_add(1, Ordering::SeqCst);
        SlowResponse(self)
    }

    /// The provider asked the client to wait this long before it retries.
    pub(crate) fn asked_to_wait(&self, wait: Duration) {
        let until = self
            .now_us()
            .saturating_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX));
        self.wait_until.fetch_max(until, Ordering::SeqCst);
    }

    /// A request arrived: a new attempt, or a new call.
    pub(crate) fn request_arrived(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.last_request.fetch_max(self.now_us(), Ordering::SeqCst);
        self.touch();
    }

    /// How long since the last request arrived (since the start, before any).
    ///
    /// ```
    /// assert!(badgateway::Liveness::new().since_request() < std::time::Duration::from_secs(1));
    /// ```
    pub fn since_request(&self) -> Duration {
        let last = self.last_request.load(Ordering::SeqCst);
        Duration::from_micros(self.now_us().saturating_sub(last))
    }

    /// How many requests arrived so far.
    ///
    /// ```
    /// assert_eq!(badgateway::Liveness::new().requests(), 0);
    /// ```
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The case has shown all it can (the client sent more requests than the storm
    /// rule allows): the runner may stop it now instead of at its limit.
    pub(crate) fn seen_enough(&self) {
        self.enough.store(true, Ordering::SeqCst);
    }

    /// Whether the case has shown all it can (see the storm rule).
    ///
    /// ```
    /// assert!(!badgateway::Liveness::new().is_enough());
    /// ```
    pub fn is_enough(&self) -> bool {
        self.enough.load(Ordering::SeqCst)
    }

    /// Time the harness itself was not running (its own scheduling delay) is not the
    /// client's idleness: it moves the clock of last progress forward by that much.
    pub fn excuse(&self, starved: Duration) {
        let now = self.now_us();
        let by = u64::try_from(starved.as_micros()).unwrap_or(u64::MAX);
        self.excused.fetch_add(by, Ordering::SeqCst);
        let _ = self
            .last_activity
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(last.saturating_add(by).min(now))
            });
    }

    /// How long the harness was starved of CPU while watching this case, in all.
    pub fn excused(&self) -> Duration {
        Duration::from_micros(self.excused.load(Ordering::SeqCst))
    }

    /// How long nothing has moved: zero while a finite slow response is being written,
    /// and not counting a wait the provider asked for.
    ///
    /// ```
    /// let liveness = badgateway::Liveness::new();
    /// assert!(liveness.idle() < std::time::Duration::from_secs(1));
    /// ```
    pub fn idle(&self) -> Duration {
        if self.slow_responses.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        let since = self
            .last_activity
            .load(Ordering::SeqCst)
            .max(self.wait_until.load(Ordering::SeqCst));
        Duration::from_micros(self.now_us().saturating_sub(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_response_and_an_asked_wait_are_not_idleness_and_starvation_is_excused() {
        let liveness = Liveness::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(liveness.idle() >= Duration::from_millis(30));
        {
            let _slow = liveness.slow_response();
            assert_eq!(liveness.idle(), Duration::ZERO);
        }
        assert!(liveness.idle() < Duration::from_millis(30));
        liveness.asked_to_wait(Duration::from_secs(60));
        assert_eq!(liveness.idle(), Duration::ZERO);
        let other = Liveness::new();
        std::thread::sleep(Duration::from_millis(30));
        other.excuse(Duration::from_secs(10));
        assert!(other.idle() < Duration::from_millis(30));
    }
}
