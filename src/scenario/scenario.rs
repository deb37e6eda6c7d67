//! What the provider does to each request of one case: pure data, no I/O.

use serde::{Deserialize, Serialize};

use super::framing::Framing;
use super::mutation::Mutation;
use super::repeat::Repeat;
use super::route::Route;
use super::transport::Transport;

/// What the hostile provider does to each request of one case, in order.
///
/// Request 1 meets `steps[0]`, request 2 meets `steps[1]`, and so on, across every
/// connection the client opens; a retry therefore meets a different answer than the
/// request it retries. A step that [repeats](Step::repeat) answers that many requests
/// in a row (or every one from there on: a provider that stays down). Requests past
/// the last step get the baseline response unchanged, so a client that retries
/// sensibly eventually succeeds.
///
/// A step addressed to an operation ([`Step::at`]) answers that operation only: the
/// steps addressed to one [`Route`] answer the requests to it, counted among
/// themselves, while every other operation keeps answering (the token endpoint
/// answers, the API keeps answering 401; the operation stays `processing`). It keeps
/// one place in the case's sequence, so the steps after it answer the requests they
/// would without it, and the request that lands on its place gets the baseline. A
/// request to a route whose steps are used up, or that no step is addressed to,
/// meets the case's sequence.
///
/// A `Scenario` is plain data: it serialises to readable JSON, compares by value and
/// can be generated ([`crate::generate::strategies::scenarios`]) and shrunk.
///
/// ```
/// use badgateway::{faults, Scenario};
///
/// let scenario = Scenario::new()
///     .then(faults::status(503))
///     .then(faults::truncate_body_at(17));
/// assert_eq!(scenario.steps.len(), 2);
/// let json = serde_json::to_string(&scenario).unwrap();
/// assert_eq!(json, r#"{"steps":[{"mutations":[{"status":503}]},{"mutations":[{"truncate_body":{"at":17}}]}]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One step per request, in the order the requests arrive.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The webhook deliveries the provider makes to the handler under test, in order
    /// (see [`Delivery`](crate::Delivery)); none in a campaign of calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<super::delivery::Delivery>,
}

impl Scenario {
    /// Why this scenario would expand past what the provider serves, if it would: the
    /// step, what it holds, and the fix. Fixtures are checked with it when read.
    ///
    /// ```
    /// use badgateway::{Mutation, Scenario, Step};
    /// let dup = Mutation::DuplicateHeader { name: "x-a".into() };
    /// let step = Step { mutations: vec![dup; 40], ..Step::default() };
    /// let why = Scenario::new().then(step).expansion_error().unwrap();
    /// assert!(why.starts_with("step 1 holds 40 duplicate_header mutations"), "{why}");
    /// assert_eq!(Scenario::new().expansion_error(), None);
    /// ```
    pub fn expansion_error(&self) -> Option<String> {
        use super::mutation::MAX_DUPLICATIONS_PER_STEP;
        self.steps.iter().enumerate().find_map(|(i, step)| {
            let duplications = step
                .mutations
                .iter()
                .filter(|m| matches!(m, Mutation::DuplicateHeader { .. }))
                .count();
            (duplications > MAX_DUPLICATIONS_PER_STEP).then(|| {
                format!(
                    "step {} holds {duplications} duplicate_header mutations, each doubling the header: at most {MAX_DUPLICATIONS_PER_STEP} are served; remove the others",
                    i + 1
                )
            })
        })
    }

    /// An empty scenario: every request gets the baseline response unchanged.
    ///
    /// ```
    /// assert!(badgateway::Scenario::new().steps.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the step that the next request meets.
    ///
    /// ```
    /// use badgateway::{faults, Scenario};
    /// let s = Scenario::new().then(faults::empty_response());
    /// assert_eq!(s.steps[0], faults::empty_response());
    /// ```
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Appends a webhook delivery the provider makes to the handler under test.
    ///
    /// ```
    /// use badgateway::{Delivery, Scenario};
    /// let s = Scenario::new().deliver(Delivery::of("payment.succeeded"));
    /// assert_eq!(s.deliveries.len(), 1);
    /// ```
    pub fn deliver(mut self, delivery: super::delivery::Delivery) -> Self {
        self.deliveries.push(delivery);
        self
    }

    /// The step for the request with this zero-based index, if the scenario has one.
    ///
    /// ```
    /// use badgateway::{faults, Scenario};
    /// let s = Scenario::new().then(faults::status(500));
    /// assert!(s.step(0).is_some());
    /// assert!(s.step(1).is_none());
    /// ```
    ///
    /// A step that repeats answers the requests after its first too:
    ///
    /// ```
    /// use badgateway::{faults, Repeat, Scenario};
    /// let s = Scenario::new().then(faults::status(503).repeat(Repeat::Times(2))).then(faults::status(429));
    /// assert_eq!(s.step(1), Some(&faults::status(503).repeat(Repeat::Times(2))));
    /// assert_eq!(s.step(2), Some(&faults::status(429)));
    /// let down = Scenario::new().then(faults::status(503).repeat(Repeat::Always));
    /// assert!(down.step(1_000_000).is_some());
    /// ```
    pub fn step(&self, request_index: usize) -> Option<&Step> {
        let position = self.in_sequence(request_index)?;
        Some(&self.steps[position])
    }

    /// The position of the step of the case's sequence that answers the request with
    /// this index, if one does. A step addressed to an operation keeps its place in
    /// the sequence (so the steps after it answer the requests they always did), but
    /// answers a request there only through its operation's own count: the request
    /// that lands on its place gets the baseline.
    fn in_sequence(&self, request_index: usize) -> Option<usize> {
        let span = |s: &Step| match s.at {
            Some(_) => Some(1),
            None => s.repeat.span(),
        };
        let (position, step) = nth_answering(self.steps.iter().enumerate(), span, request_index)?;
        step.at.is_none().then_some(position)
    }

    /// The operations the steps are addressed to, each once, in the order of their
    /// first step.
    ///
    /// ```
    /// use badgateway::{faults, Route, Scenario};
    /// let api = Route::new("GET", "/v1/charges/{id}");
    /// let s = Scenario::new()
    ///     .then(faults::status(401).at(api.clone()))
    ///     .then(faults::status(500))
    ///     .then(faults::status(503).at(api.clone()));
    /// assert_eq!(s.routes(), vec![&api]);
    /// ```
    pub fn routes(&self) -> Vec<&Route> {
        let mut routes: Vec<&Route> = Vec::new();
        for route in self.steps.iter().filter_map(|s| s.at.as_ref()) {
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
        routes
    }

    /// Which step answers a request, as the requests of a case arrive: the position
    /// in [`steps`](Self::steps) of the step that answers the request with this
    /// zero-based index, method and target, `None` for the baseline unchanged.
    /// `cursor` counts the requests to each route so far; one cursor serves one case.
    ///
    /// ```
    /// use badgateway::{faults, Cursor, Repeat, Route, Scenario};
    /// let api = Route::new("GET", "/v1/charges/{id}");
    /// let s = Scenario::new()
    ///     .then(faults::status(503))
    ///     .then(faults::status(401).at(api).repeat(Repeat::Always));
    /// let mut cursor = Cursor::default();
    /// assert_eq!(s.answering(0, "POST", "/v1/tokens", &mut cursor), Some(0));
    /// assert_eq!(s.answering(1, "GET", "/v1/charges/ch_1", &mut cursor), Some(1));
    /// assert_eq!(s.answering(2, "POST", "/v1/tokens", &mut cursor), None);
    /// assert_eq!(s.answering(3, "GET", "/v1/charges/ch_1", &mut cursor), Some(1));
    /// ```
    pub fn answering(
        &self,
        index: usize,
        method: &str,
        target: &str,
        cursor: &mut Cursor,
    ) -> Option<usize> {
        let routes = self.routes();
        cursor.counts.resize(routes.len(), 0);
        let mut chosen = None;
        for (r, route) in routes.iter().enumerate() {
            if !route.matches(method, target) {
                continue;
            }
            let n = cursor.counts[r];
            cursor.counts[r] += 1;
            if chosen.is_none() {
                let at_route = self.positions(|s| s.at.as_ref() == Some(*route));
                let span = |s: &Step| s.repeat.span();
                chosen = nth_answering(at_route, span, n).map(|(position, _)| position);
            }
        }
        chosen.or_else(|| self.in_sequence(index))
    }

    fn positions<'a>(
        &'a self,
        keep: impl Fn(&Step) -> bool + 'a,
    ) -> impl Iterator<Item = (usize, &'a Step)> + 'a {
        self.steps.iter().enumerate().filter(move |(_, s)| keep(s))
    }

    /// How many changes to the baseline the scenario makes: one per mutation, framing
    /// fault or transport fault, over all steps, and per webhook delivery one, and one
    /// more per change, forgery, repeat, concurrency or drip. Says how far a finding
    /// was shrunk.
    ///
    /// ```
    /// use badgateway::{faults, Scenario, Step};
    /// let s = Scenario::new().then(Step::baseline()).then(faults::status(500).sent(badgateway::Transport::EmptyResponse));
    /// assert_eq!(s.complexity(), 2);
    /// ```
    pub fn complexity(&self) -> usize {
        let deliveries: usize = self
            .deliveries
            .iter()
            .map(|d| {
                1 + d.mutations.len()
                    + usize::from(d.forged.is_some())
                    + usize::from(d.again.is_some())
                    + usize::from(d.at_once)
                    + usize::from(d.drip.is_some())
            })
            .sum();
        self.steps.iter().map(Step::complexity).sum::<usize>() + deliveries
    }
}

/// What the provider does to one request: take the baseline response, apply the
/// mutations in order, frame the body as `framing` says, and put it on the wire as
/// `transport` says.
///
/// The default step passes the baseline through unchanged.
///
/// ```
/// use badgateway::{Framing, Step, Transport};
/// let step = Step::baseline();
/// assert!(step.mutations.is_empty());
/// assert_eq!(step.framing, Framing::ContentLength);
/// assert_eq!(step.transport, Transport::Normal);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The operation this step answers, if it answers only one: see [`Scenario`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Route>,
    /// Changes to the baseline response, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// How the body is delimited on the wire.
    #[serde(default, skip_serializing_if = "Framing::is_default")]
    pub framing: Framing,
    /// How the bytes travel: at once, dripped, cut, reset or stalled.
    #[serde(default, skip_serializing_if = "Transport::is_default")]
    pub transport: Transport,
    /// How many requests in a row this step answers (once unless set).
    #[serde(default, skip_serializing_if = "Repeat::is_once")]
    pub repeat: Repeat,
    /// On an endpoint the baseline declares an effect for (a charge), the provider
    /// performs the effect first and then answers with this step's fault: the reset,
    /// stall or 5xx after the card was charged. Without it, a response that fails (an
    /// error status, a broken transport) fails before the effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_effect: bool,
    /// What a correct client does with this response, when the contract says: accept
    /// it (it conforms) or reject it (it breaks a clause). Judged by the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
}

/// What a correct client does with a response, by the contract.
///
/// ```
/// use badgateway::Expectation;
/// let e = Expectation::Reject { clause: "amount: minimum".into() };
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"reject":{"clause":"amount: minimum"}}"#);
/// assert_eq!(serde_json::to_string(&Expectation::Conform).unwrap(), r#""conform""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// The response conforms and means the same as the baseline (a property added,
    /// keys reordered, other whitespace, other escapes in strings): no correct client
    /// returns `Err` for it, so doing so is a false rejection.
    Accept,
    /// The response conforms but may mean something else than the baseline (a
    /// generated body, another enum value: a documented failure is an answer): a
    /// client may surface it as `Err`; only [`Campaign::strict`](crate::Campaign::strict)
    /// calls that a false rejection. Returning `Ok` for it is never a finding.
    Conform,
    /// The response breaks this clause: returning `Ok` for it is a silent acceptance.
    Reject {
        /// `path: keyword`, as `data[0].amount: minimum`.
        clause: String,
    },
}

/// What a case's provider has counted so far to pick each request's step: how many
/// requests each route of the scenario has had. See [`Scenario::answering`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    counts: Vec<usize>,
}

/// The step of a sequence that answers its `n`-th request (from 0), each step
/// answering as many in a row as `span` says (`None`: every one from there on).
fn nth_answering<'a>(
    steps: impl Iterator<Item = (usize, &'a Step)>,
    span: impl Fn(&Step) -> Option<usize>,
    n: usize,
) -> Option<(usize, &'a Step)> {
    let mut first = 0usize;
    for (position, step) in steps {
        match span(step) {
            None => return Some((position, step)),
            Some(span) if n < first.saturating_add(span) => return Some((position, step)),
            Some(span) => first = first.saturating_add(span),
        }
    }
    None
}

impl Step {
    /// The step that passes the baseline response through unchanged.
    ///
    /// ```
    /// assert_eq!(badgateway::Step::baseline(), Default::default());
    /// ```
    pub fn baseline() -> Self {
        Self::default()
    }

    /// Whether this step changes nothing.
    ///
    /// ```
    /// use badgateway::{faults, Step};
    /// assert!(Step::baseline().is_baseline());
    /// assert!(!faults::status(502).is_baseline());
    /// ```
    pub fn is_baseline(&self) -> bool {
        *self == Self::default()
    }

    /// Adds a mutation to this step.
    ///
    /// ```
    /// use badgateway::{faults, Mutation};
    /// let step = faults::status(200).with(Mutation::EmptyBody);
    /// assert_eq!(step.mutations.len(), 2);
    /// ```
    pub fn with(mut self, mutation: Mutation) -> Self {
        self.mutations.push(mutation);
        self
    }

    /// Adds these mutations to this step, in order.
    ///
    /// ```
    /// use badgateway::{Mutation, Step};
    /// let step = Step::baseline().with_all([Mutation::Status(429), Mutation::EmptyBody]);
    /// assert_eq!(step.mutations.len(), 2);
    /// ```
    pub fn with_all(mut self, mutations: impl IntoIterator<Item = Mutation>) -> Self {
        self.mutations.extend(mutations);
        self
    }

    /// Sets how the body is framed.
    ///
    /// ```
    /// use badgateway::{Framing, Step};
    /// let step = Step::baseline().framed(Framing::CloseDelimited);
    /// assert_eq!(step.framing, Framing::CloseDelimited);
    /// ```
    pub fn framed(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Sets how the bytes travel.
    ///
    /// ```
    /// use badgateway::{Step, Transport};
    /// let step = Step::baseline().sent(Transport::Latency { ms: 50 });
    /// assert_eq!(step.transport, Transport::Latency { ms: 50 });
    /// ```
    pub fn sent(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// See [`Scenario::complexity`].
    ///
    /// ```
    /// assert_eq!(badgateway::Step::baseline().complexity(), 0);
    /// ```
    pub fn complexity(&self) -> usize {
        self.mutations.len()
            + usize::from(!self.framing.is_default())
            + usize::from(!self.transport.is_default())
            + usize::from(!self.repeat.is_once())
            + usize::from(self.after_effect)
    }

    /// Makes this step answer that many requests in a row.
    ///
    /// ```
    /// use badgateway::{faults, Repeat};
    /// let down = faults::status(503).repeat(Repeat::Always);
    /// assert_eq!(down.repeat, Repeat::Always);
    /// ```
    pub fn repeat(mut self, repeat: Repeat) -> Self {
        self.repeat = repeat;
        self
    }

    /// Addresses this step to one operation: it answers only the requests to `route`
    /// (see [`Scenario`]).
    ///
    /// ```
    /// use badgateway::{faults, Repeat, Route};
    /// let held = faults::status(401).at(Route::new("GET", "/v1/charges")).repeat(Repeat::Always);
    /// let json = serde_json::to_string(&held).unwrap();
    /// assert_eq!(json, r#"{"at":"GET /v1/charges","mutations":[{"status":401}],"repeat":"always"}"#);
    /// ```
    pub fn at(mut self, route: Route) -> Self {
        self.at = Some(route);
        self
    }

    /// Performs the endpoint's effect before this step's fault (see
    /// [`Step::after_effect`](Step#structfield.after_effect)).
    ///
    /// ```
    /// use badgateway::faults;
    /// let lost = faults::reset_peer_after(0).after_effect();
    /// assert!(lost.after_effect);
    /// ```
    pub fn after_effect(mut self) -> Self {
        self.after_effect = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::faults;

    #[test]
    fn a_step_held_at_an_operation_keeps_its_place_in_the_sequence() {
        // Generated as one step per request of the probe: the token, then the API.
        // Holding the first at the API must not move the second onto the token.
        let api = Route::new("GET", "/v1/balances/{id}");
        let s = Scenario::new()
            .then(faults::status(401).at(api))
            .then(faults::status(500));
        let mut cursor = Cursor::default();
        assert_eq!(s.answering(0, "POST", "/v1/token", &mut cursor), None);
        assert_eq!(
            s.answering(1, "GET", "/v1/balances/b_1", &mut cursor),
            Some(0)
        );
        assert_eq!(s.answering(2, "POST", "/v1/token", &mut cursor), None);
        let mut cursor = Cursor::default();
        assert_eq!(s.answering(0, "POST", "/v1/token", &mut cursor), None);
        assert_eq!(s.answering(1, "POST", "/v1/token", &mut cursor), Some(1));
        assert_eq!(s.step(1), Some(&faults::status(500)));
        assert_eq!(s.step(0), None);
    }
}
