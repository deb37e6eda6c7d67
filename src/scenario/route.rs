//! The operation a step is addressed to: a method and a path template.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One operation of the provider, as the requests to it are told apart: a method and a
/// path template whose `{name}` segments stand for any one segment. The query is no
/// part of it: every page of a listing is the same operation.
///
/// A [`Step`](crate::Step) addressed to a route answers only the requests to it,
/// counted among themselves, while the other operations keep answering. It is written
/// as `METHOD /path`, in code and in fixtures:
///
/// ```
/// use badgateway::Route;
/// let route: Route = "GET /v1/operations/{id}".parse().unwrap();
/// assert!(route.matches("GET", "/v1/operations/op_1?expand=all"));
/// assert!(route.matches("get", "/v1/operations/op_2/"));
/// assert!(!route.matches("POST", "/v1/operations/op_1"));
/// assert!(!route.matches("GET", "/v1/operations"));
/// assert!(!route.matches("GET", "/v1/operations/op_1/cancel"));
/// assert_eq!(route.to_string(), "GET /v1/operations/{id}");
/// assert_eq!(serde_json::to_string(&route).unwrap(), r#""GET /v1/operations/{id}""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Route {
    /// The method, upper case.
    pub method: String,
    /// The path template, from its first `/`, with no query.
    pub path: String,
}

impl Route {
    /// The route of this method and path template.
    ///
    /// ```
    /// let route = badgateway::Route::new("post", "/v1/tokens");
    /// assert_eq!(route.to_string(), "POST /v1/tokens");
    /// ```
    pub fn new(method: &str, path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Route {
            method: method.to_ascii_uppercase(),
            path,
        }
    }

    /// Whether a request with this method and target (path and query) is one to this
    /// operation: the same method, and as many segments as the template, each equal to
    /// the template's or standing for a `{name}` of it. A trailing `/` is no segment.
    pub fn matches(&self, method: &str, target: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let path = target.split(['?', '#']).next().unwrap_or(target);
        template_match(&self.path, path).is_some()
    }
}

/// Whether a path (no query) matches a path template, and how closely: the number of
/// the template's literal segments, when it has as many segments as the path and each
/// equals the path's or is a `{name}` standing for a non-empty one. A trailing `/` is
/// no segment. The one matcher of templates: routes, baseline endpoints and a
/// contract's operations (the most literal segments win: `/charges/search` before
/// `/charges/{id}`).
pub(crate) fn template_match(template: &str, path: &str) -> Option<usize> {
    let want = segments(template);
    let got = segments(path);
    if want.len() != got.len() {
        return None;
    }
    let mut literal = 0;
    for (w, g) in want.iter().zip(&got) {
        if w.starts_with('{') && w.ends_with('}') && !g.is_empty() {
            continue;
        }
        if w != g {
            return None;
        }
        literal += 1;
    }
    Some(literal)
}

fn segments(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl FromStr for Route {
    type Err = String;

    /// Reads `METHOD /path`; says what is wrong and what a route looks like.
    ///
    /// ```
    /// use badgateway::Route;
    /// let why = "/v1/charges".parse::<Route>().unwrap_err();
    /// assert!(why.contains("GET /v1/charges/{id}"), "{why}");
    /// ```
    fn from_str(text: &str) -> Result<Route, String> {
        let fix = "a route is a method and a path template, as \"GET /v1/charges/{id}\"";
        let (method, path) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{text:?} is no route: {fix}"))?;
        let path = path.trim();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("{text:?} starts with no method: {fix}"));
        }
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            return Err(format!("{text:?} has no path from its first `/`: {fix}"));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "{text:?} holds a query: a route matches every query of its path; {fix}"
            ));
        }
        Ok(Route::new(method, path))
    }
}

impl TryFrom<String> for Route {
    type Error = String;
    fn try_from(text: String) -> Result<Route, String> {
        text.parse()
    }
}

impl From<Route> for String {
    fn from(route: Route) -> String {
        route.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_route_in_a_fixture_is_named_with_its_fix() {
        let err = serde_json::from_str::<Route>(r#""GET v1/x""#).unwrap_err();
        assert!(err.to_string().contains("GET /v1/charges/{id}"), "{err}");
        let err = serde_json::from_str::<Route>(r#""GET /v1/x?page=2""#).unwrap_err();
        assert!(err.to_string().contains("holds a query"), "{err}");
    }

    #[test]
    fn the_root_and_templates_match_one_segment_each() {
        let root = Route::new("GET", "/");
        assert!(root.matches("GET", "/?a=1"));
        assert!(!root.matches("GET", "/x"));
        let id = Route::new("GET", "/x/{id}");
        assert!(!id.matches("GET", "/x//"));
    }
}
