//! The events a provider delivers, declared in code, in a file or from a contract.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::signing::Signing;
use crate::error::{Error, ErrorKind};
use crate::scenario::json_path;
use crate::scenario::Mutation;

/// One event the provider delivers: its type and an example body.
///
/// ```
/// let event = badgateway::Event::new("payment.succeeded", serde_json::json!({"id": "evt_1", "type": "payment.succeeded"}));
/// assert_eq!(event.kind, "payment.succeeded");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The event type (`payment.succeeded`).
    #[serde(rename = "type")]
    pub kind: String,
    /// An example body, as the provider sends it.
    pub body: Value,
    /// Changes the contract says break the body, or keep it conforming, each with
    /// what it shows, when the event came from a contract.
    #[serde(skip)]
    pub(crate) variants: Vec<(String, Mutation)>,
}

/// What stands for a delivery's own event id in a body until it is sent.
pub(crate) const ID_PLACEHOLDER: &str = "{{event.id}}";

impl Event {
    /// An event of this type with this example body.
    pub fn new(kind: &str, body: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            body,
            variants: Vec::new(),
        }
    }
}

/// What a webhook campaign delivers, and how: the events, the signing scheme with
/// your test secret, where in a body the event's type and id are, and how long the
/// provider waits for an answer before it counts the delivery failed.
///
/// ```
/// use std::time::Duration;
/// use badgateway::{Event, Signing, Webhooks};
/// let webhooks = Webhooks::new(Signing::stripe("whsec_test_secret"))
///     .event(Event::new("payment_intent.succeeded", serde_json::json!({
///         "id": "evt_1", "type": "payment_intent.succeeded",
///         "data": {"object": {"id": "pi_1", "amount": 2000}}})))
///     .timeout(Duration::from_secs(2));
/// assert_eq!(webhooks.events().len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub(crate) signing: Signing,
    pub(crate) events: Vec<Event>,
    pub(crate) type_at: String,
    pub(crate) id_at: String,
    pub(crate) timeout: Duration,
}

/// How long the provider waits for a handler's answer unless told otherwise. Real
/// providers wait longer (GitHub 10 s); a handler that answers within a second on
/// loopback is answering, and a campaign stays fast.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A webhooks file: `{"events": [{"type": …, "body": …}], "type_at": "type", "id_at": "id"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    events: Vec<Event>,
    #[serde(default)]
    type_at: Option<String>,
    #[serde(default)]
    id_at: Option<String>,
}

impl Webhooks {
    /// No events yet, signed so; the type at `type` and the id at `id` of a body
    /// (Stripe's and Standard Webhooks' layout), a timeout of 1 s.
    pub fn new(signing: Signing) -> Self {
        Self {
            signing,
            events: Vec::new(),
            type_at: "type".to_owned(),
            id_at: "id".to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// One more event the provider delivers.
    pub fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// The events declared in a JSON file:
    /// `{"events": [{"type": "payment.succeeded", "body": {...}}], "type_at": "type", "id_at": "id"}`
    /// (`type_at` and `id_at` may be left out).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::InvalidFile`] naming
    /// the file, line and column and the fix when it is not such a file.
    pub fn from_file(path: impl AsRef<Path>, signing: Signing) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot read the webhooks file {}: {e}", path.display()),
            )
        })?;
        Self::from_json(&text, &path.display().to_string(), signing)
    }

    /// As [`Webhooks::from_file`], from the file's text (`source` names it in errors):
    /// for events compiled in.
    ///
    /// ```
    /// let webhooks = badgateway::Webhooks::from_json(
    ///     r#"{"events": [{"type": "payment.succeeded", "body": {"id": "evt_1"}}]}"#,
    ///     "events.json",
    ///     badgateway::Signing::github("secret"),
    /// ).unwrap();
    /// assert_eq!(webhooks.events()[0].kind, "payment.succeeded");
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidFile`] naming `source`, the line and column and the fix.
    pub fn from_json(text: &str, source: &str, signing: Signing) -> Result<Self, Error> {
        let file: File = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "{source}:{}:{}: {e}: a webhooks file is {{\"events\": [{{\"type\": \"payment.succeeded\", \"body\": {{...}}}}], \"type_at\": \"type\", \"id_at\": \"id\"}}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let mut webhooks = Self::new(signing);
        webhooks.events = file.events;
        if let Some(at) = file.type_at {
            webhooks.type_at = at;
        }
        if let Some(at) = file.id_at {
            webhooks.id_at = at;
        }
        Ok(webhooks)
    }

    /// Where the event type is in a body (`type`, `event.type`); GitHub's scheme
    /// sends it in `X-GitHub-Event` too.
    pub fn type_at(mut self, path: &str) -> Self {
        self.type_at = path.to_owned();
        self
    }

    /// Where the event id is in a body (`id`, `event.id`): each delivery gets an id
    /// of its own there, and a redelivered event keeps its id.
    pub fn id_at(mut self, path: &str) -> Self {
        self.id_at = path.to_owned();
        self
    }

    /// How long the provider waits for an answer to a delivery before it counts it
    /// failed and redelivers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The events, in the order declared.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The signing scheme.
    pub fn signing(&self) -> &Signing {
        &self.signing
    }

    /// The body a delivery of `event` starts from: its example with the type set and
    /// a placeholder for the delivery's own id, where the body says them.
    pub(crate) fn template(&self, event: &Event) -> Value {
        self.templated(&event.kind, event.body.clone())
    }

    /// `body` as a delivery of type `kind` starts from: the type set, and a
    /// placeholder for the delivery's own id, where the body says them.
    pub(crate) fn templated(&self, kind: &str, mut body: Value) -> Value {
        set(&mut body, &self.id_at, ID_PLACEHOLDER);
        set(&mut body, &self.type_at, kind);
        body
    }

    /// The event of this type.
    pub(crate) fn find(&self, kind: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.kind == kind)
    }

    /// Why these webhooks cannot be delivered, if they cannot: no event, two of one
    /// type, or a secret the scheme cannot sign with.
    pub(crate) fn check(&self) -> Result<(), Error> {
        self.signing.check()?;
        if self.events.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the webhooks declare no event: add one with Webhooks::event(Event::new(\"payment.succeeded\", body)), a file (Webhooks::from_file) or a contract's `webhooks` (Webhooks::from_contract)",
            ));
        }
        for (i, event) in self.events.iter().enumerate() {
            if self.events[..i].iter().any(|e| e.kind == event.kind) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the webhooks declare event `{}` twice: give each event type one example body",
                        event.kind
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Sets a string at a path of a body: where a value is, or as a new key of the
/// object that holds the path's last key.
fn set(body: &mut Value, path: &str, value: &str) {
    let Some(segments) = json_path::parse(path) else {
        return;
    };
    let Some((json_path::Segment::Key(key), parent)) = segments.split_last() else {
        return;
    };
    if let Some(Value::Object(object)) = json_path::get_mut(body, parent) {
        object.insert(key.clone(), Value::String(value.to_owned()));
    }
}
