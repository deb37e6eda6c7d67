//! What the baseline responses look like, learned from the probe's journal: the
//! JSON paths, headers and sizes that shape generation.

use serde_json::Value;

use crate::contract::Contract;
use crate::provider::journal::Journal;
use crate::scenario::{json_path, Route};

/// What the baseline responses look like, request by request.
///
/// ```
/// use badgateway::strategies::{Catalog, Shape};
/// let shape = Shape::of_json(&serde_json::json!({"id": "ch_1", "card": {"last4": "4242"}, "has_more": false, "n": 2}));
/// assert_eq!(shape.json_paths, vec!["", "id", "card", "card.last4", "has_more", "n"]);
/// assert_eq!(shape.false_flags, vec!["has_more"]);
/// assert_eq!(shape.integers, vec!["n"]);
/// let catalog = Catalog { requests: vec![shape] };
/// assert_eq!(catalog.shape(5).json_paths.len(), 6);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// One shape per request of the unmodified run, in order.
    pub requests: Vec<Shape>,
}

/// What one baseline response looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Every path in its JSON body (empty when the body is not JSON), root first.
    pub json_paths: Vec<String>,
    /// Its header names.
    pub headers: Vec<String>,
    /// Body length in bytes.
    pub body_len: usize,
    /// Length on the wire, head included.
    pub wire_len: usize,
    /// Whether the request performed an effect (see
    /// [`Baseline::effect`](crate::Baseline::effect)): faults after the effect apply.
    pub effect: bool,
    /// Paths of `false` values (`has_more`): made `true` for good, they ask a client to
    /// go on for ever.
    pub false_flags: Vec<String>,
    /// Paths of integer values (counts, sizes, amounts), for integer limits.
    pub integers: Vec<String>,
    /// Paths of arrays (pages of items), emptied while a flag says there is more.
    pub arrays: Vec<String>,
    /// Arrays with items, each with its JSON text (a few KiB at most): served on
    /// every later page, a listing never runs out.
    pub filled: Vec<(String, String)>,
    /// Cursors and links to the next page (a key naming `next` or `cursor` whose value
    /// is set), each with its JSON text: served again on every later page, they
    /// point back at a page already served.
    pub cursors: Vec<(String, String)>,
    /// Paths of strings, where a string 64 Ki characters long is tried.
    pub strings: Vec<String>,
    /// The operation the request went to (its method and path, the path as a
    /// template under a contract), for steps that hold at one operation.
    pub route: Option<Route>,
    /// Paths of strings whose key names a state (`status`, `state`), with their
    /// value: held at another value, they keep a polling client waiting.
    pub states: Vec<(String, String)>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            json_paths: Vec::new(),
            headers: vec!["content-type".into()],
            body_len: 64,
            wire_len: 160,
            effect: false,
            false_flags: Vec::new(),
            integers: Vec::new(),
            arrays: Vec::new(),
            filled: Vec::new(),
            cursors: Vec::new(),
            strings: Vec::new(),
            route: None,
            states: Vec::new(),
        }
    }
}

/// The longest array text a shape keeps to fill later pages with.
const MAX_FILLED: usize = 4 << 10;

/// At most this many JSON paths per response are offered to mutations.
const MAX_PATHS: usize = 256;

impl Shape {
    /// The shape of a JSON body served with a typical head.
    pub fn of_json(body: &Value) -> Shape {
        let body_len = body.to_string().len();
        Shape {
            body_len,
            wire_len: body_len + 96,
            ..Shape::default()
        }
        .with_json(body)
    }

    /// This shape with the paths of a JSON body: all of them, and by kind of value
    /// (the first item of each array stands for the rest).
    fn with_json(mut self, body: &Value) -> Shape {
        self.json_paths = json_path::paths(body, MAX_PATHS);
        let value_at = |path: &str| json_path::get(body, &json_path::parse(path)?);
        let first_items = |path: &&String| !path.contains("[1]") && !path.contains("[2]");
        for path in self.json_paths.iter().filter(first_items) {
            match value_at(path) {
                Some(Value::Bool(false)) => self.false_flags.push(path.clone()),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                    self.integers.push(path.clone());
                }
                Some(Value::Array(items)) => {
                    self.arrays.push(path.clone());
                    let text = Value::Array(items.clone()).to_string();
                    if !items.is_empty() && text.len() <= MAX_FILLED && self.filled.len() < 2 {
                        self.filled.push((path.clone(), text));
                    }
                }
                Some(Value::String(value)) => {
                    if names_a_cursor(path) && !value.is_empty() && self.cursors.len() < 2 {
                        let text = Value::String(value.clone()).to_string();
                        self.cursors.push((path.clone(), text));
                    }
                    self.strings.push(path.clone());
                    if names_a_state(path) {
                        self.states.push((path.clone(), value.clone()));
                    }
                }
                _ => {}
            }
        }
        self
    }
}

/// Whether the last key of a JSON path names the state of a resource: `status`,
/// `state`, `payment_status`, `processingState`.
fn names_a_state(path: &str) -> bool {
    let key = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    !key.ends_with(']') && (key.ends_with("status") || key.ends_with("state"))
}

/// Whether the last key of a JSON path names where the next page is: `next`,
/// `next_url`, `nextPageToken`, `cursor`, `next_cursor`.
fn names_a_cursor(path: &str) -> bool {
    let key = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    !key.ends_with(']') && (key.contains("next") || key.contains("cursor"))
}

impl Catalog {
    /// The catalog of what a provider served, from its journal.
    pub fn from_journal(journal: &Journal) -> Catalog {
        let requests = journal
            .requests
            .iter()
            .map(|r| {
                let (head, body) = r.served.split_at(r.served_head_len.min(r.served.len()));
                let head = String::from_utf8_lossy(head);
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|line| {
                        line.split_once(':')
                            .map(|(n, _)| n.trim().to_ascii_lowercase())
                    })
                    .filter(|n| !crate::scenario::response::is_framing_header(n))
                    .collect();
                let shape = Shape {
                    route: Some(Route::new(&r.method, &r.target)),
                    headers,
                    body_len: body.len(),
                    wire_len: r.served.len(),
                    effect: r.effect.is_some(),
                    ..Shape::default()
                };
                // Links to the probe's provider are kept as `{{base_url}}`: a held
                // cursor must point at the case's own provider.
                let base = crate::provider::journal::base_url_of(r);
                let body = String::from_utf8_lossy(body);
                let body = crate::provider::journal::with_placeholder(&body, base.as_deref());
                match serde_json::from_str::<Value>(&body) {
                    Ok(json) => shape.with_json(&json),
                    Err(_) => shape,
                }
            })
            .collect();
        Catalog { requests }
    }

    /// The routes of the requests written as the contract's templates (`GET
    /// /v1/operations/{id}`), where the contract has their operation.
    pub fn with_templates(mut self, contract: &Contract) -> Catalog {
        for shape in &mut self.requests {
            let templated = shape
                .route
                .as_ref()
                .and_then(|r| contract.route(&r.method, &r.path));
            if templated.is_some() {
                shape.route = templated;
            }
        }
        self
    }

    /// Every route the requests went to, each once, in the order first seen.
    ///
    /// ```
    /// use badgateway::strategies::{Catalog, Shape};
    /// use badgateway::Route;
    /// let at = |m: &str, p: &str| Shape { route: Some(Route::new(m, p)), ..Shape::default() };
    /// let catalog = Catalog { requests: vec![at("POST", "/t"), at("GET", "/c"), at("POST", "/t")] };
    /// assert_eq!(catalog.routes(), vec![Route::new("POST", "/t"), Route::new("GET", "/c")]);
    /// ```
    pub fn routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = Vec::new();
        for route in self.requests.iter().filter_map(|s| s.route.as_ref()) {
            if !routes.contains(route) {
                routes.push(route.clone());
            }
        }
        routes
    }

    /// The shape for the request with this index: the last known one past the end
    /// (a retry usually repeats the last request), a default shape when empty.
    pub fn shape(&self, request_index: usize) -> Shape {
        self.requests
            .get(request_index)
            .or(self.requests.last())
            .cloned()
            .unwrap_or_default()
    }
}
