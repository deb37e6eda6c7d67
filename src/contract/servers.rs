//! The contract's `servers`: the base paths its operations' paths hang below.
//!
//! Implementation notes: a real spec's server URL often ends in a path (Adyen's
//! `https://checkout-test.adyen.com/v71`), and a client configured with that URL sends
//! `/v71/payments` for the operation `/payments`. Matching the paths alone called 464 of
//! 526 cases of a correct client "undocumented operation". Each server's path is read
//! with its variables: a segment that is one whole variable (`/{version}`) matches any
//! of its `enum` values (any value where none is listed), and a variable inside a
//! segment (`/v{major}`) stands for its default. A request's path is matched below
//! every base path it starts with, longest first, then as it is, so a baseline written
//! without the base path still matches.

use serde_json::Value;

/// The base paths of a contract's top-level `servers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Servers {
    /// The server URLs as written, to name in messages.
    pub(crate) urls: Vec<String>,
    /// Each URL's path, one pattern per segment.
    bases: Vec<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// A whole-segment variable: any of these values, or any value at all.
    Variable(Option<Vec<String>>),
}

impl Servers {
    /// The `servers` of an OpenAPI document.
    pub(crate) fn of(document: &Value) -> Servers {
        let mut servers = Servers::default();
        for server in document
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(url) = server.get("url").and_then(Value::as_str) else {
                continue;
            };
            let variables = server.get("variables");
            let base: Vec<Segment> = url_path(url)
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|segment| self::segment(segment, variables))
                .collect();
            servers.urls.push(url.to_owned());
            if !base.is_empty() && !servers.bases.contains(&base) {
                servers.bases.push(base);
            }
        }
        servers.bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
        servers
    }

    /// The paths `path` may stand for below the base paths: with each base path it
    /// starts with removed (longest first), then `path` itself: under the server
    /// `https://host/v71`, `/v71/payments` may stand for `/payments` or itself.
    pub(crate) fn below<'a>(&self, path: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for base in &self.bases {
            if let Some(rest) = strip(base, path) {
                out.push(rest);
            }
        }
        out.push(path);
        out
    }
}

/// `path` with the base's segments removed from its start, if it starts with them.
fn strip<'a>(base: &[Segment], path: &'a str) -> Option<&'a str> {
    let mut rest = path;
    for want in base {
        let trimmed = rest.strip_prefix('/')?;
        let (got, after) = match trimmed.find('/') {
            Some(end) => (&trimmed[..end], &trimmed[end..]),
            None => (trimmed, ""),
        };
        let matches = match want {
            Segment::Literal(literal) => got == literal,
            Segment::Variable(None) => !got.is_empty(),
            Segment::Variable(Some(values)) => values.iter().any(|v| v == got),
        };
        if !matches {
            return None;
        }
        rest = after;
    }
    Some(if rest.is_empty() { "/" } else { rest })
}

/// The path of a server URL: after the scheme and host of an absolute URL, else the
/// URL itself (relative to where the spec is served).
pub(crate) fn url_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    }
}

fn segment(segment: &str, variables: Option<&Value>) -> Segment {
    let variable = |name: &str| variables.and_then(|v| v.get(name));
    if let Some(name) = segment
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .filter(|n| !n.contains(['{', '}']))
    {
        let values = variable(name)
            .and_then(|v| v.get("enum"))
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
        return Segment::Variable(values);
    }
    // A variable inside a segment (`v{major}`) stands for its default.
    let mut out = String::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let default = variable(name)
            .and_then(|v| v.get("default"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        out.push_str(default);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Segment::Literal(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_with_their_variables_are_stripped_longest_first() {
        let document = serde_json::json!({"servers": [
            {"url": "https://checkout-test.adyen.com/v71"},
            {"url": "https://{region}.example.com/api/{version}/v{major}",
             "variables": {"region": {"default": "eu"}, "version": {"default": "beta", "enum": ["beta", "live"]}, "major": {"default": "2"}}},
            {"url": "/"},
        ]});
        let servers = Servers::of(&document);
        assert_eq!(servers.urls.len(), 3);
        assert_eq!(
            servers.below("/v71/payments"),
            ["/payments", "/v71/payments"]
        );
        assert_eq!(
            servers.below("/api/live/v2/x/y"),
            ["/x/y", "/api/live/v2/x/y"]
        );
        assert_eq!(servers.below("/api/test/v2/x"), ["/api/test/v2/x"]);
        assert_eq!(servers.below("/v71"), ["/", "/v71"]);
        assert_eq!(servers.below("/v711/payments"), ["/v711/payments"]);
    }
}
