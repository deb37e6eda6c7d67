//! What the provider does to each request of one case: pure data, no I/O.

use serde::{Deserialize, Serialize};

use super::framing::Framing;
use super::mutation::Mutation;
use super::repeat::Repeat;
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
        let mut first = 0usize;
        for step in &self.steps {
            match step.repeat.span() {
                None => return Some(step),
                Some(span) if request_index < first.saturating_add(span) => return Some(step),
                Some(span) => first = first.saturating_add(span),
            }
        }
        None
    }

    /// How many changes to the baseline the scenario makes: one per mutation, framing
    /// fault or transport fault, over all steps. Says how far a finding was shrunk.
    ///
    /// ```
    /// use badgateway::{faults, Scenario, Step};
    /// let s = Scenario::new().then(Step::baseline()).then(faults::status(500).sent(badgateway::Transport::EmptyResponse));
    /// assert_eq!(s.complexity(), 2);
    /// ```
    pub fn complexity(&self) -> usize {
        self.steps.iter().map(Step::complexity).sum()
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
