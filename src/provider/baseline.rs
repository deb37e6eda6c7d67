//! Where the well-formed response that a step mutates comes from.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::scenario::response::{is_framing_header, Response};

/// The source of the baseline response for each request, before the step mutates it.
///
/// Either responses declared per endpoint (in code, or in a JSON file), or a running
/// HTTP server to forward each request to, such as a `wiremock::MockServer` you mounted
/// your mocks on: the provider forwards the request and mutates what comes back.
///
/// ```
/// use badgateway::{Baseline, Response};
/// let baseline = Baseline::new()
///     .endpoint("POST", "/v1/charges", Response::json(200, &serde_json::json!({"id": "ch_1"})))
///     .endpoint("GET", "/v1/charges/{id}", Response::json(200, &serde_json::json!({"id": "ch_1"})));
/// let found = baseline.declared("GET", "/v1/charges/ch_42?expand=x").unwrap();
/// assert_eq!(found.status, 200);
/// assert!(baseline.declared("DELETE", "/v1/charges/ch_42").is_none());
/// ```
#[derive(Debug, Clone)]
pub enum Baseline {
    /// Responses declared per endpoint; a request that matches none gets a JSON 404.
    Endpoints(Vec<Endpoint>),
    /// Forward every request to this base URL (`http://127.0.0.1:PORT`) and use what
    /// comes back.
    Forward(String),
}

/// A declared response for one method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Request method, matched case-insensitively.
    pub method: String,
    /// Path, where a segment `{name}` matches any one segment; the query is ignored.
    pub path: String,
    /// The well-formed response.
    pub response: Response,
}

impl Default for Baseline {
    fn default() -> Self {
        Self::new()
    }
}

impl Baseline {
    /// No endpoint declared yet.
    ///
    /// ```
    /// assert!(badgateway::Baseline::new().declared("GET", "/").is_none());
    /// ```
    pub fn new() -> Self {
        Baseline::Endpoints(Vec::new())
    }

    /// Declares the response for a method and path. Panics when called on a
    /// [`Baseline::Forward`]: mixing the two is a mistake in the test's setup.
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// let b = Baseline::new().endpoint("GET", "/v1/balance", Response::new(200));
    /// assert!(b.declared("get", "/v1/balance").is_some());
    /// ```
    pub fn endpoint(self, method: &str, path: &str, response: Response) -> Self {
        let Baseline::Endpoints(mut endpoints) = self else {
            panic!("Baseline::endpoint: this baseline forwards requests; declare endpoints on Baseline::new()");
        };
        endpoints.push(Endpoint {
            method: method.to_owned(),
            path: path.to_owned(),
            response,
        });
        Baseline::Endpoints(endpoints)
    }

    /// Forwards every request to a running server, for instance a
    /// `wiremock::MockServer`: `Baseline::forward_to(&mock_server.uri())`.
    ///
    /// ```
    /// let b = badgateway::Baseline::forward_to("http://127.0.0.1:9/");
    /// assert!(matches!(b, badgateway::Baseline::Forward(url) if url == "http://127.0.0.1:9"));
    /// ```
    pub fn forward_to(base_url: &str) -> Self {
        Baseline::Forward(base_url.trim_end_matches('/').to_owned())
    }

    /// Loads declared endpoints from a JSON file:
    ///
    /// ```json
    /// { "endpoints": [
    ///     { "method": "POST", "path": "/v1/charges", "status": 200,
    ///       "headers": { "request-id": "req_1" },
    ///       "body": { "id": "ch_1", "amount": 1000 } } ] }
    /// ```
    ///
    /// `body` is any JSON value, sent compactly with `Content-Type: application/json`
    /// unless the headers say otherwise; `body_text` sends a string as is instead.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("bg-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("baseline.json");
    /// std::fs::write(&file, r#"{"endpoints": [{"method": "GET", "path": "/x", "status": 200, "bodyy": 1}]}"#).unwrap();
    /// let err = badgateway::Baseline::from_file(&file).unwrap_err();
    /// assert!(err.to_string().contains("line 1 column"), "{err}");
    /// assert!(err.to_string().contains("unknown field `bodyy`"), "{err}");
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot read baseline file {}: {e}", path.display()),
            )
            .with_path(path)
        })?;
        let file: BaselineFile = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "invalid baseline file {} at line {} column {}: {e:#}; expected {{\"endpoints\": [{{\"method\", \"path\", \"status\", \"headers\", \"body\" or \"body_text\"}}]}}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
            .with_path(path)
        })?;
        Ok(file.endpoints.into_iter().fold(Baseline::new(), |b, e| {
            let (method, path, response) = e.into_parts();
            b.endpoint(&method, &path, response)
        }))
    }

    /// The declared response for a request, if one matches.
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// let b = Baseline::new().endpoint("GET", "/a/{id}/b", Response::new(204));
    /// assert!(b.declared("GET", "/a/7/b").is_some());
    /// assert!(b.declared("GET", "/a/7/c").is_none());
    /// ```
    pub fn declared(&self, method: &str, target: &str) -> Option<&Response> {
        let Baseline::Endpoints(endpoints) = self else {
            return None;
        };
        let path = target.split(['?', '#']).next().unwrap_or(target);
        endpoints
            .iter()
            .find(|e| e.method.eq_ignore_ascii_case(method) && path_matches(&e.path, path))
            .map(|e| &e.response)
    }
}

/// The response for a request that no declared endpoint matches.
pub(crate) fn not_declared(method: &str, target: &str) -> Response {
    Response::json(
        404,
        &serde_json::json!({"error": {
            "code": "badgateway_no_baseline",
            "message": format!("no baseline response is declared for {method} {target}"),
        }}),
    )
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w.starts_with('{') && w.ends_with('}')) => {}
            _ => return false,
        }
    }
}

/// Converts a forwarded `reqwest` response into a baseline response.
pub(crate) async fn from_forwarded(response: reqwest::Response) -> Response {
    let status = response.status().as_u16();
    let headers: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| !is_framing_header(name.as_str()) && name.as_str() != "date")
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    Response {
        status,
        headers,
        body,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    endpoints: Vec<EndpointFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointFile {
    method: String,
    path: String,
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, serde_json::Value>,
    body: Option<serde_json::Value>,
    body_text: Option<String>,
}

fn ok() -> u16 {
    200
}

impl EndpointFile {
    fn into_parts(self) -> (String, String, Response) {
        let mut response = Response::new(self.status);
        let has_type = self
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"));
        if self.body.is_some() && !has_type {
            response = response.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            response = response.header(name, value);
        }
        if let Some(body) = self.body {
            response.body = body.to_string().into_bytes();
        } else if let Some(text) = self.body_text {
            response.body = text.into_bytes();
        }
        (self.method, self.path, response)
    }
}
