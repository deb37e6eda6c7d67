//! What the baseline responses look like, learned from the probe's journal: the
//! JSON paths, headers and sizes that shape generation.

use serde_json::Value;

use crate::provider::journal::Journal;
use crate::scenario::json_path;

/// What the baseline responses look like, request by request.
///
/// ```
/// use badgateway::strategies::{Catalog, Shape};
/// let shape = Shape::of_json(&serde_json::json!({"id": "ch_1", "card": {"last4": "4242"}}));
/// assert_eq!(shape.json_paths, vec!["", "id", "card", "card.last4"]);
/// let catalog = Catalog { requests: vec![shape] };
/// assert_eq!(catalog.shape(5).json_paths.len(), 4);
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
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            json_paths: Vec::new(),
            headers: vec!["content-type".into()],
            body_len: 64,
            wire_len: 160,
        }
    }
}

/// At most this many JSON paths per response are offered to mutations.
const MAX_PATHS: usize = 256;

impl Shape {
    /// The shape of a JSON body served with a typical head.
    pub fn of_json(body: &Value) -> Shape {
        let body_len = body.to_string().len();
        Shape {
            json_paths: json_path::paths(body, MAX_PATHS),
            body_len,
            wire_len: body_len + 96,
            ..Shape::default()
        }
    }
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
                let json_paths = serde_json::from_slice::<Value>(body)
                    .map(|v| json_path::paths(&v, MAX_PATHS))
                    .unwrap_or_default();
                Shape {
                    json_paths,
                    headers,
                    body_len: body.len(),
                    wire_len: r.served.len(),
                }
            })
            .collect();
        Catalog { requests }
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
