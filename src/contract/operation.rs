//! The operations a contract documents, and what each promises: request schema,
//! required headers, responses by status.

use crate::scenario::json_path;
use serde_json::Value;

/// One documented operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper-case method.
    pub method: String,
    /// Path template: `/v1/charges/{id}`.
    pub path: String,
    /// `operationId`, if any.
    pub id: Option<String>,
    /// Pointer to the JSON request body's schema, if any.
    pub request_schema: Option<String>,
    /// Whether the request body is required (`requestBody.required: true`); an
    /// optional one may be left out (OpenAPI's default).
    pub request_body_required: bool,
    /// Header parameters the client must send (lowercase names).
    pub required_headers: Vec<String>,
    /// Documented responses, in document order.
    pub responses: Vec<ResponseSpec>,
}

/// One documented response of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    /// `200`, `2XX` or `default`.
    pub status: String,
    /// Pointer to the JSON body's schema, if any.
    pub schema: Option<String>,
    /// The examples given for it.
    pub examples: Vec<Value>,
    /// Whether a client must not retry this response (`x-badgateway-final: true`, a
    /// declined card) or may (`false`); `None` leaves it to
    /// [`Rules::final_statuses`](crate::Rules::final_statuses).
    pub is_final: Option<bool>,
}

impl Operation {
    /// The schema pointer of the JSON body documented for a status: an exact entry,
    /// else its class (`2XX`), else `default`.
    pub fn response_schema(&self, status: u16) -> Option<&str> {
        let class = format!("{}XX", status / 100);
        let exact = status.to_string();
        [exact.as_str(), class.as_str(), "default"]
            .iter()
            .find_map(|key| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(key))
            })
            .and_then(|r| r.schema.as_deref())
    }

    /// Whether the contract marks the response with this exact status final (not to
    /// be retried), retryable, or neither (`None`).
    pub fn is_final(&self, status: u16) -> Option<bool> {
        let exact = status.to_string();
        self.responses
            .iter()
            .find(|r| r.status == exact)
            .and_then(|r| r.is_final)
    }

    /// Whether a status is documented at all (exactly, by class, or by `default`).
    pub fn documents(&self, status: u16) -> bool {
        let class = format!("{}XX", status / 100);
        self.responses.iter().any(|r| {
            r.status == status.to_string()
                || r.status.eq_ignore_ascii_case(&class)
                || r.status == "default"
        })
    }

    /// The first documented success status and its schema.
    pub fn success(&self) -> Option<(u16, &ResponseSpec)> {
        self.responses.iter().find_map(|r| {
            let code = r
                .status
                .parse::<u16>()
                .ok()
                .or_else(|| r.status.eq_ignore_ascii_case("2XX").then_some(200))?;
            (200..300).contains(&code).then_some((code, r))
        })
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub(crate) fn operations(document: &Value) -> Vec<Operation> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let escape = json_path::pointer_token;
    let mut out = Vec::new();
    for (path, item) in paths {
        let shared_params = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let base = format!("/paths/{}/{method}", escape(path));
            let mut params = shared_params.clone();
            params.extend(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            let required_headers = params
                .iter()
                .filter_map(|p| resolve_in(document, p))
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("header"))
                .filter(|p| p.get("required").and_then(Value::as_bool) == Some(true))
                .filter_map(|p| {
                    p.get("name")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase)
                })
                .collect();
            let request_schema = op
                .get("requestBody")
                .and_then(|b| resolve_in(document, b))
                .and_then(|b| json_media(b).map(|(media, _)| media))
                .map(|media| {
                    let body_pointer = match op
                        .get("requestBody")
                        .and_then(|b| b.get("$ref"))
                        .and_then(Value::as_str)
                    {
                        Some(r) => r.trim_start_matches('#').to_owned(),
                        None => format!("{base}/requestBody"),
                    };
                    format!("{body_pointer}/content/{}/schema", escape(&media))
                });
            let request_body_required = op
                .get("requestBody")
                .and_then(|b| resolve_in(document, b))
                .and_then(|b| b.get("required"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|responses| {
                    responses
                        .iter()
                        .map(|(status, response)| {
                            let response_pointer =
                                match response.get("$ref").and_then(Value::as_str) {
                                    Some(r) => r.trim_start_matches('#').to_owned(),
                                    None => format!("{base}/responses/{}", escape(status)),
                                };
                            let resolved = resolve_in(document, response);
                            let media = resolved.and_then(json_media);
                            let schema = media
                                .as_ref()
                                .filter(|(_, m)| m.get("schema").is_some())
                                .map(|(name, _)| {
                                    format!("{response_pointer}/content/{}/schema", escape(name))
                                });
                            let examples = media
                                .map(|(_, m)| examples_of(document, m))
                                .unwrap_or_default();
                            let is_final = resolved
                                .and_then(|r| r.get("x-badgateway-final"))
                                .and_then(Value::as_bool);
                            ResponseSpec {
                                status: status.clone(),
                                schema,
                                examples,
                                is_final,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                request_schema,
                request_body_required,
                required_headers,
                responses,
            });
        }
    }
    out
}

fn resolve_in<'a>(document: &'a Value, mut value: &'a Value) -> Option<&'a Value> {
    for _ in 0..64 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => value = document.pointer(r.strip_prefix('#')?)?,
            None => return Some(value),
        }
    }
    None
}

/// The JSON media type entry of a `content` map: `application/json`, or any `+json`.
fn json_media(holder: &Value) -> Option<(String, &Value)> {
    let content = holder.get("content")?.as_object()?;
    content
        .iter()
        .find(|(name, _)| name.starts_with("application/json"))
        .or_else(|| content.iter().find(|(name, _)| name.contains("json")))
        .map(|(name, media)| (name.clone(), media))
}

/// A media type's `example`, then the values of its `examples`, each followed
/// through a `$ref` (`#/components/examples/...`) where it is one.
pub(crate) fn examples_of(document: &Value, media: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = media.get("example").cloned().into_iter().collect();
    if let Some(examples) = media.get("examples").and_then(Value::as_object) {
        out.extend(examples.values().filter_map(|e| {
            let e = resolve_in(document, e)?;
            e.get("value").cloned()
        }));
    }
    out
}
