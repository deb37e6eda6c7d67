//! Where the well-formed response that a step mutates comes from.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::scenario::response::{is_framing_header, Response};
use crate::scenario::template_match;

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
    /// Path, where a segment `{name}` matches any one segment, and optionally a query
    /// (`/v1/charges?starting_after=ch_2`): then every parameter it names must be in
    /// the request's query with that value. Of the endpoints that match a request, the
    /// one naming the most parameters answers it (pages by cursor).
    pub path: String,
    /// The well-formed response. `{{base_url}}` anywhere in its headers or body is
    /// served as the provider's own base URL (`http://127.0.0.1:PORT`), for `next`
    /// links and `Location` headers; `{{path.NAME}}` as the request's segment that the
    /// path's `{NAME}` matched, and `{{query.NAME}}` as its query parameter `NAME`
    /// (empty when it has none): a response that depends on the request.
    pub response: Response,
    /// Whether a request here performs an effect the provider records (a charge
    /// created): see [`Baseline::effect`].
    pub effect: bool,
    /// Pages by number: past the last one, another response answers (see
    /// [`Baseline::numbered_pages`]).
    pub pages: Option<Pages>,
}

/// A listing paged by number: the query parameter that numbers a page, the last page
/// with items, and what every page past it answers (an empty page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pages {
    /// The query parameter that numbers a page (`page`); a request without it asks
    /// for page 1.
    pub param: String,
    /// The last page with items.
    pub last: u64,
    /// What every page past the last answers.
    pub past: Response,
}

/// What `{{base_url}}` in a declared response is served as.
pub const BASE_URL_PLACEHOLDER: &str = "{{base_url}}";

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
        self.declare(method, path, response, false)
    }

    /// Declares an endpoint whose requests perform an effect, as a `POST` that creates
    /// a charge does. The provider records each effect, and keys them as real payment
    /// APIs do: a request whose `Idempotency-Key` already performed the effect replays
    /// it and performs nothing, while a request with no key, or a new one, performs
    /// it again. A step can fail *after* the effect
    /// ([`Step::after_effect`](crate::Step#structfield.after_effect)): the charge is
    /// taken, and the client sees a reset, a stall or a 5xx. Two effects of one logical
    /// call are a double charge, which the oracle reports.
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// let b = Baseline::new().effect("POST", "/v1/charges", Response::json(200, &serde_json::json!({"id": "ch_1"})));
    /// let Baseline::Endpoints(endpoints) = b else { unreachable!() };
    /// assert!(endpoints[0].effect);
    /// ```
    pub fn effect(self, method: &str, path: &str, response: Response) -> Self {
        self.declare(method, path, response, true)
    }

    /// Declares a listing paged by number: pages 1 to `last` answer `page` (with
    /// `{{query.PARAM}}` served as the page's number, see [`Endpoint::response`]), and
    /// every page past the last answers `past`, an empty page. A paging baseline is
    /// one line, and a client that pages on until an empty page meets one, however far
    /// a step makes it go.
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// use serde_json::json;
    /// let b = Baseline::new().numbered_pages(
    ///     "GET", "/v1/items", "page", 3,
    ///     Response::json(200, &json!({"data": [{"id": "it_{{query.page}}"}], "total_pages": 3})),
    ///     Response::json(200, &json!({"data": [], "total_pages": 3})),
    /// );
    /// assert_eq!(b.respond("GET", "/v1/items?page=2", "").unwrap().body, br#"{"data":[{"id":"it_2"}],"total_pages":3}"#);
    /// assert_eq!(b.respond("GET", "/v1/items", "").unwrap().body, br#"{"data":[{"id":"it_1"}],"total_pages":3}"#);
    /// assert_eq!(b.respond("GET", "/v1/items?page=9", "").unwrap().body, br#"{"data":[],"total_pages":3}"#);
    /// ```
    pub fn numbered_pages(
        self,
        method: &str,
        path: &str,
        param: &str,
        last: u64,
        page: Response,
        past: Response,
    ) -> Self {
        let pages = Pages {
            param: param.to_owned(),
            last,
            past,
        };
        self.declare_endpoint(method, path, page, false, Some(pages))
    }

    fn declare(self, method: &str, path: &str, response: Response, effect: bool) -> Self {
        self.declare_endpoint(method, path, response, effect, None)
    }

    fn declare_endpoint(
        self,
        method: &str,
        path: &str,
        response: Response,
        effect: bool,
        pages: Option<Pages>,
    ) -> Self {
        let Baseline::Endpoints(mut endpoints) = self else {
            panic!("Baseline::endpoint: this baseline forwards requests; declare endpoints on Baseline::new()");
        };
        // Declared again, the same method and path answer as declared last (an
        // override of a baseline from a contract).
        endpoints.retain(|e| !(e.method.eq_ignore_ascii_case(method) && e.path == path));
        endpoints.push(Endpoint {
            method: method.to_owned(),
            path: path.to_owned(),
            response,
            effect,
            pages,
        });
        Baseline::Endpoints(endpoints)
    }

    /// The response a declared endpoint serves to this request, as the provider
    /// serves it: the page past the last where it is one, and every placeholder
    /// filled (`{{base_url}}` as `base_url`, `{{path.NAME}}`, `{{query.NAME}}`). `None`
    /// when no endpoint matches.
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// let b = Baseline::new().endpoint("GET", "/v1/operations/{id}",
    ///     Response::json(200, &serde_json::json!({"id": "{{path.id}}", "self": "{{base_url}}/v1/operations/{{path.id}}"})));
    /// let served = b.respond("GET", "/v1/operations/op_7?expand=x", "http://127.0.0.1:9").unwrap();
    /// assert_eq!(served.body, br#"{"id":"op_7","self":"http://127.0.0.1:9/v1/operations/op_7"}"#);
    /// ```
    pub fn respond(&self, method: &str, target: &str, base_url: &str) -> Option<Response> {
        let endpoint = self.endpoint_for(method, target)?;
        Some(endpoint.respond(target, base_url))
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
    /// `"effect": true` declares an effect ([`Baseline::effect`]); a `path` may hold a
    /// query, and a body `{{base_url}}`, `{{path.NAME}}` and `{{query.NAME}}` (see
    /// [`Endpoint`]); `"pages": {"param": "page", "last": 3, "past": {"body":
    /// {"data": []}}}` pages by number ([`Baseline::numbered_pages`]).
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
        Self::from_json(&text, &path.display().to_string()).map_err(|e| e.with_path(path))
    }

    /// A baseline from the text of a baseline file ([`Baseline::from_file`]'s format),
    /// for one compiled in with `include_str!`; `source` names it in errors.
    ///
    /// ```
    /// let b = badgateway::Baseline::from_json(r#"{"endpoints": [{"method": "GET", "path": "/x", "status": 204}]}"#, "inline").unwrap();
    /// assert!(b.declared("GET", "/x").is_some());
    /// let err = badgateway::Baseline::from_json("{}", "inline").unwrap_err();
    /// assert!(err.to_string().starts_with("invalid baseline file inline at line 1 column 2"), "{err}");
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<Self, Error> {
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "invalid baseline file {source} at line {} column {}: {e:#}; expected {{\"endpoints\": [{{\"method\", \"path\", \"status\", \"headers\", \"body\" or \"body_text\"}}]}}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Ok(file.endpoints.into_iter().fold(Baseline::new(), |b, e| {
            let (method, path, response, effect, pages) = e.into_parts();
            b.declare_endpoint(&method, &path, response, effect, pages)
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
    ///
    /// An endpoint that names query parameters answers only requests that carry them,
    /// and is preferred over one that names fewer:
    ///
    /// ```
    /// use badgateway::{Baseline, Response};
    /// let b = Baseline::new()
    ///     .endpoint("GET", "/v1/charges", Response::new(200).body("page 1"))
    ///     .endpoint("GET", "/v1/charges?starting_after=ch_2", Response::new(200).body("page 2"));
    /// assert_eq!(b.declared("GET", "/v1/charges?limit=2").unwrap().body, b"page 1");
    /// assert_eq!(b.declared("GET", "/v1/charges?limit=2&starting_after=ch_2").unwrap().body, b"page 2");
    /// ```
    pub fn declared(&self, method: &str, target: &str) -> Option<&Response> {
        self.endpoint_for(method, target).map(|e| &e.response)
    }

    /// The declared endpoint that answers a request, if one matches.
    pub(crate) fn endpoint_for(&self, method: &str, target: &str) -> Option<&Endpoint> {
        let Baseline::Endpoints(endpoints) = self else {
            return None;
        };
        let target = target.split('#').next().unwrap_or(target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut best: Option<(&Endpoint, (usize, usize))> = None;
        for e in endpoints {
            let (want_path, want_query) = e.path.split_once('?').unwrap_or((&e.path, ""));
            if !e.method.eq_ignore_ascii_case(method) {
                continue;
            }
            let Some(literal) = template_match(want_path, path) else {
                continue;
            };
            let wanted: Vec<&str> = want_query.split('&').filter(|p| !p.is_empty()).collect();
            if !wanted.iter().all(|w| query.split('&').any(|q| q == *w)) {
                continue;
            }
            // The most query parameters named, then the most literal segments:
            // `/charges/search` answers before `/charges/{id}`.
            let rank = (wanted.len(), literal);
            if best.is_none_or(|(_, r)| rank > r) {
                best = Some((e, rank));
            }
        }
        best.map(|(e, _)| e)
    }
}

impl Endpoint {
    /// What this endpoint serves to a request it matches: see [`Baseline::respond`].
    pub(crate) fn respond(&self, target: &str, base_url: &str) -> Response {
        let target = target.split('#').next().unwrap_or(target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
        };
        let response = match &self.pages {
            Some(pages) => {
                let number = param(&pages.param).map_or(Some(1), |v| v.parse::<u64>().ok());
                match number {
                    Some(n) if n > pages.last => pages.past.clone(),
                    _ => self.response.clone(),
                }
            }
            None => self.response.clone(),
        };
        let want_path = self.path.split('?').next().unwrap_or(&self.path);
        let segments: Vec<(&str, &str)> = want_path
            .trim_matches('/')
            .split('/')
            .zip(path.trim_matches('/').split('/'))
            .filter_map(|(w, g)| Some((w.strip_prefix('{')?.strip_suffix('}')?, g)))
            .collect();
        let mut filled = with_base_url(response, base_url);
        let fill = |bytes: &mut Vec<u8>| {
            if !bytes.windows(2).any(|w| w == b"{{") {
                return;
            }
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for (name, value) in &segments {
                text = text.replace(&format!("{{{{path.{name}}}}}"), &inert(value));
            }
            while let Some(start) = text.find("{{query.") {
                let Some(len) = text[start..].find("}}") else {
                    break;
                };
                let name = &text[start + 8..start + len];
                let value = match (
                    name == self.pages.as_ref().map_or("", |p| p.param.as_str()),
                    param(name),
                ) {
                    (true, None) => "1".to_owned(),
                    (_, value) => value.unwrap_or_default().to_owned(),
                };
                text.replace_range(start..start + len + 2, &inert(&value));
            }
            *bytes = text.into_bytes();
        };
        for (_, value) in &mut filled.headers {
            fill(value);
        }
        fill(&mut filled.body);
        filled
    }
}

/// A value from the request as a placeholder serves it: without quotes, backslashes
/// or control characters, so the client's own bytes never break the baseline's JSON
/// (a broken baseline would be blamed on the client).
fn inert(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
        .collect()
}

/// The response with every `{{base_url}}` in its headers and body served as `base`.
pub(crate) fn with_base_url(mut response: Response, base: &str) -> Response {
    let placeholder = BASE_URL_PLACEHOLDER.as_bytes();
    let replace = |bytes: &mut Vec<u8>| {
        if bytes.windows(placeholder.len()).any(|w| w == placeholder) {
            let text = String::from_utf8_lossy(bytes).replace(BASE_URL_PLACEHOLDER, base);
            *bytes = text.into_bytes();
        }
    };
    for (_, value) in &mut response.headers {
        replace(value);
    }
    replace(&mut response.body);
    response
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

/// Converts a forwarded `reqwest` response into a baseline response.
/// The largest body the forwarder takes from the baseline server: as large as a
/// request body may be.
pub(crate) const MAX_FORWARDED_BODY: usize = crate::provider::request::MAX_BODY_BYTES;

/// The baseline server's response, its body read up to [`MAX_FORWARDED_BODY`]: a
/// larger one is a `502` that says so, never memory without bound.
pub(crate) async fn from_forwarded(mut response: reqwest::Response, base: &str) -> Response {
    let status = response.status().as_u16();
    let headers: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| !is_framing_header(name.as_str()) && name.as_str() != "date")
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_FORWARDED_BODY {
            return Response::json(
                502,
                &serde_json::json!({"error": format!(
                    "badgateway: the baseline at {base} answered {status} with a body larger than {MAX_FORWARDED_BODY} bytes, the forwarder's cap: serve a smaller body there, or declare this response in the baseline"
                )}),
            );
        }
        body.extend_from_slice(&chunk);
    }
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
    #[serde(default)]
    effect: bool,
    pages: Option<PagesFile>,
}

/// `"pages": {"param": "page", "last": 3, "past": {"status": 200, "body": {"data": []}}}`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PagesFile {
    param: String,
    last: u64,
    past: ResponseFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFile {
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

/// A declared response from its parts in a baseline file.
fn response_of(
    status: u16,
    headers: &serde_json::Map<String, serde_json::Value>,
    body: Option<serde_json::Value>,
    body_text: Option<String>,
) -> Response {
    let mut response = Response::new(status);
    let has_type = headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !has_type {
        response = response.header("content-type", "application/json");
    }
    for (name, value) in headers {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        response = response.header(name, value);
    }
    if let Some(body) = body {
        response.body = body.to_string().into_bytes();
    } else if let Some(text) = body_text {
        response.body = text.into_bytes();
    }
    response
}

impl EndpointFile {
    fn into_parts(self) -> (String, String, Response, bool, Option<Pages>) {
        let response = response_of(self.status, &self.headers, self.body, self.body_text);
        let pages = self.pages.map(|p| Pages {
            param: p.param,
            last: p.last,
            past: response_of(
                p.past.status,
                &p.past.headers,
                p.past.body,
                p.past.body_text,
            ),
        });
        (self.method, self.path, response, self.effect, pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_from_the_request_never_breaks_the_baselines_json() {
        let b = Baseline::new().endpoint(
            "GET",
            "/v1/items/{id}",
            Response::json(
                200,
                &serde_json::json!({"id": "{{path.id}}", "after": "{{query.after}}"}),
            ),
        );
        let served = b.respond("GET", r#"/v1/items/a"b?after=x\"y"#, "").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&served.body).unwrap();
        assert_eq!(body, serde_json::json!({"id": "ab", "after": "xy"}));
        let none = b.respond("GET", "/v1/items/7", "").unwrap();
        assert_eq!(none.body, br#"{"id":"7","after":""}"#);
    }
}
