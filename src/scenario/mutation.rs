//! What a step changes in a response ([`Mutation`], [`JsonChange`]), and applying
//! it to a [`Response`]: pure data and pure functions, no I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json_path;
use super::response::Response;
/// A change to the baseline response: its status, its headers, its body bytes, or one
/// value inside its JSON body.
///
/// ```
/// use badgateway::{JsonChange, Mutation};
/// let m = Mutation::Json { path: "data[0].amount".into(), change: JsonChange::NumberAsString };
/// let json = serde_json::to_string(&m).unwrap();
/// assert_eq!(json, r#"{"json":{"path":"data[0].amount","change":"number_as_string"}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// Replace the status code (the reason phrase follows it).
    Status(u16),
    /// Set a header, replacing every existing header of that name.
    SetHeader {
        /// Header name.
        name: String,
        /// Header value.
        value: String,
    },
    /// Set a header to a moment `after_secs` seconds from when the response is served
    /// (negative: in the past), written as `form` says: a `Retry-After` date a few
    /// seconds ahead, an `X-RateLimit-Reset` in epoch seconds. The value depends on the
    /// clock, its meaning does not.
    SetHeaderAt {
        /// Header name.
        name: String,
        /// Seconds from the moment the response is served.
        after_secs: i64,
        /// How the moment is written.
        form: Moment,
    },
    /// Remove every header of that name.
    RemoveHeader {
        /// Header name.
        name: String,
    },
    /// Send every header of that name twice.
    DuplicateHeader {
        /// Header name.
        name: String,
    },
    /// Add a header whose value holds a control byte (`\x01`), as a WAF cookie once did
    /// (hyper #2879, httparse #61).
    InvalidHeaderBytes {
        /// Header name.
        name: String,
    },
    /// Replace the body with this text.
    ReplaceBody {
        /// The new body.
        text: String,
    },
    /// Cut the body after `at` bytes (clamped to the body's length).
    TruncateBody {
        /// Bytes kept.
        at: usize,
    },
    /// Insert bytes that are not UTF-8 (`0xFF 0xFE`) at byte `at` (clamped).
    InvalidUtf8 {
        /// Where to insert.
        at: usize,
    },
    /// Put a UTF-8 byte order mark before the body (serde_json #805).
    PrependBom,
    /// An empty body, as a 200 with `Content-Length: 0`.
    EmptyBody,
    /// The HTML error page a load balancer or CDN puts in front of a JSON API, with
    /// this status and `Content-Type: text/html`.
    HtmlErrorPage {
        /// The status the load balancer answers with (502, 503, 504...).
        status: u16,
    },
    /// Change one value inside the JSON body.
    Json {
        /// Where: `data[0].amount`, `payment_method.card`, or `` (empty) for the root.
        path: String,
        /// What to do to the value there.
        change: JsonChange,
    },
}

/// A change to one JSON value, at a path.
///
/// ```
/// use badgateway::JsonChange;
/// let json = serde_json::to_string(&JsonChange::LongString { len: 300 }).unwrap();
/// assert_eq!(json, r#"{"long_string":{"len":300}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JsonChange {
    /// Remove the value (the key from its object, the element from its array).
    Remove,
    /// Replace the value with `null`.
    Null,
    /// Replace the value with one of another JSON type (a string becomes a number,
    /// a number a string, an object an array, ...).
    ChangeType,
    /// Replace the value with a number far beyond `u64`: `1e400` overflows `f64` too.
    HugeNumber,
    /// An integer above 2^53: exact in `i64`, rounded by float-based parsers.
    BeyondFloatPrecision,
    /// Replace the value with `-1`.
    NegativeNumber,
    /// Replace the value with a float artefact such as `-222.00000000000003`.
    FractionalNumber,
    /// Quote the value: `1000` becomes `"1000"` ("amounts sometimes quoted").
    NumberAsString,
    /// Replace the value with a string of `len` characters (at most 16 MiB).
    LongString {
        /// Characters.
        len: usize,
    },
    /// Replace the value with a string of combining marks, emoji and right-to-left text.
    UnicodeString,
    /// Replace the value with a string holding control characters and a NUL.
    ControlCharString,
    /// Replace the value with `[]` (PHP's `json_encode` of an empty map).
    EmptyArray,
    /// Replace the value with an array of `len` copies of it, or of an array's first
    /// item (at most 1,000,000 items and 256 KiB: long enough to find an algorithm
    /// quadratic in it, short enough that reading it is never mistaken for a hang).
    LongArray {
        /// Items.
        len: usize,
    },
    /// Wrap the value in `depth` nested arrays (serde_json stops at 128; at most
    /// 100,000).
    DeepNesting {
        /// Levels of nesting.
        depth: usize,
    },
    /// Replace the value with a string no enum of the client knows, as a provider
    /// adding a status value would.
    UnknownEnumValue,
    /// Replace the value with this JSON text, verbatim (`"not-a-date"`, `-1`).
    ReplaceWith {
        /// The JSON text put in the value's place.
        json: String,
    },
}

/// Marks a string value whose serialised form is replaced by raw JSON text that
/// `serde_json::Value` cannot hold (`1e400`).
const RAW_MARKER: &str = "\u{0}badgateway-raw\u{0}";

impl Mutation {
    /// Applies this mutation to a response. A JSON mutation whose path is absent, or
    /// whose body is not JSON, changes nothing.
    ///
    /// ```
    /// use badgateway::{JsonChange, Mutation, Response};
    /// let mut r = Response::json(200, &serde_json::json!({"amount": 1000}));
    /// Mutation::Json { path: "amount".into(), change: JsonChange::NumberAsString }.apply(&mut r);
    /// assert_eq!(r.body, br#"{"amount":"1000"}"#);
    /// Mutation::TruncateBody { at: 5 }.apply(&mut r);
    /// assert_eq!(r.body, br#"{"amo"#);
    /// ```
    pub fn apply(&self, response: &mut Response) {
        match self {
            Mutation::Status(code) => response.status = *code,
            Mutation::SetHeader { name, value } => {
                remove_header(response, name);
                response
                    .headers
                    .push((name.clone(), value.as_bytes().to_vec()));
            }
            Mutation::SetHeaderAt {
                name,
                after_secs,
                form,
            } => {
                remove_header(response, name);
                let value = form.written(*after_secs);
                response.headers.push((name.clone(), value.into_bytes()));
            }
            Mutation::RemoveHeader { name } => remove_header(response, name),
            Mutation::DuplicateHeader { name } => {
                // Each duplication doubles the header: bounded, or 40 of them would
                // serve a trillion headers.
                let room = MAX_SERVED_HEADERS.saturating_sub(response.headers.len());
                let copies: Vec<_> = response
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .take(room)
                    .cloned()
                    .collect();
                response.headers.extend(copies);
            }
            Mutation::InvalidHeaderBytes { name } => response
                .headers
                .push((name.clone(), b"bg=\x01value".to_vec())),
            Mutation::ReplaceBody { text } => response.body = text.as_bytes().to_vec(),
            Mutation::TruncateBody { at } => {
                let at = (*at).min(response.body.len());
                response.body.truncate(at);
            }
            Mutation::InvalidUtf8 { at } => {
                let at = (*at).min(response.body.len());
                response.body.splice(at..at, [0xFF, 0xFE]);
            }
            Mutation::PrependBom => {
                response.body.splice(0..0, [0xEF, 0xBB, 0xBF]);
            }
            Mutation::EmptyBody => response.body.clear(),
            Mutation::HtmlErrorPage { status } => html_error_page(response, *status),
            Mutation::Json { path, change } => apply_json(response, path, change),
        }
    }
}

fn remove_header(response: &mut Response, name: &str) {
    response
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

fn html_error_page(response: &mut Response, status: u16) {
    let reason = crate::scenario::wire::reason(status);
    response.status = status;
    response.headers = vec![("content-type".into(), b"text/html".to_vec())];
    response.body = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
         <center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n\
         </body>\r\n</html>\r\n"
    )
    .into_bytes();
}

fn apply_json(response: &mut Response, path: &str, change: &JsonChange) {
    let Ok(mut doc) = serde_json::from_slice::<Value>(&response.body) else {
        return;
    };
    let Some(segments) = json_path::parse(path) else {
        return;
    };
    let mut raw: Option<String> = None;
    if *change == JsonChange::Remove {
        if segments.is_empty() {
            response.body.clear();
            return;
        }
        json_path::remove(&mut doc, &segments);
    } else if let Some(value) = json_path::get_mut(&mut doc, &segments) {
        (*value, raw) = changed(value, change);
    }
    let mut text = doc.to_string();
    if let Some(raw) = raw {
        let marker = Value::String(RAW_MARKER.into()).to_string();
        text = text.replacen(&marker, &raw, 1);
    }
    response.body = text.into_bytes();
}

/// Longest string a [`JsonChange::LongString`] makes, whatever a fixture asks for.
pub(crate) const MAX_STRING_LEN: usize = 16 << 20;
/// The most headers a mutated response has.
pub(crate) const MAX_SERVED_HEADERS: usize = 1024;
/// The most `duplicate_header` mutations one step may hold (2^10 copies reach
/// [`MAX_SERVED_HEADERS`]).
pub(crate) const MAX_DUPLICATIONS_PER_STEP: usize = 10;
/// How a [`Mutation::SetHeaderAt`] writes its moment.
///
/// ```
/// use badgateway::{Mutation, Moment, Response};
/// let mut r = Response::new(429);
/// let at = Mutation::SetHeaderAt { name: "x-ratelimit-reset".into(), after_secs: 60, form: Moment::EpochSeconds };
/// at.apply(&mut r);
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
/// let reset: u64 = String::from_utf8(r.headers[0].1.clone()).unwrap().parse().unwrap();
/// assert!((now + 59..=now + 61).contains(&reset));
/// assert_eq!(serde_json::to_string(&Moment::HttpDate).unwrap(), r#""http_date""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), as `Retry-After` allows.
    HttpDate,
    /// Seconds since the Unix epoch, as `X-RateLimit-Reset` is often sent.
    EpochSeconds,
}

impl Moment {
    /// The moment `after_secs` seconds from now, written in this form.
    fn written(self, after_secs: i64) -> String {
        let now = std::time::SystemTime::now();
        let delta = std::time::Duration::from_secs(after_secs.unsigned_abs());
        let at = match after_secs >= 0 {
            true => now.checked_add(delta),
            false => now.checked_sub(delta),
        }
        .unwrap_or(now);
        match self {
            Moment::HttpDate => httpdate::fmt_http_date(at),
            Moment::EpochSeconds => at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .to_string(),
        }
    }
}

/// Most items a [`JsonChange::LongArray`] makes, whatever a fixture asks for.
pub(crate) const MAX_ITEMS: usize = 1_000_000;
/// Most bytes a [`JsonChange::LongArray`] makes: a debug build's JSON parser reads
/// 2 MiB in about a case's deadline, which would be a thread blocked by our size.
const MAX_ARRAY_BYTES: usize = 256 << 10;

/// Deepest nesting a [`JsonChange::DeepNesting`] makes, whatever a fixture asks for.
pub(crate) const MAX_DEPTH: usize = 100_000;

/// The new value, and raw JSON text to put in its place where a `Value` cannot hold it
/// (or should not: nesting is written as text, so no recursion ever sees its depth).
fn changed(value: &Value, change: &JsonChange) -> (Value, Option<String>) {
    let raw = |text: String| (Value::String(RAW_MARKER.into()), Some(text));
    let new = match change {
        JsonChange::Remove => unreachable!("handled by the caller"),
        JsonChange::Null => Value::Null,
        JsonChange::ChangeType => match value {
            Value::String(_) => Value::from(123),
            Value::Number(_) => Value::Bool(true),
            Value::Bool(_) | Value::Null => Value::String("true".into()),
            Value::Object(_) => Value::String("[object Object]".into()),
            Value::Array(_) => Value::Object(Default::default()),
        },
        JsonChange::HugeNumber => return raw("1e400".into()),
        JsonChange::BeyondFloatPrecision => Value::from(9_007_199_254_740_993_u64),
        JsonChange::NegativeNumber => Value::from(-1),
        JsonChange::FractionalNumber => Value::from(-222.000_000_000_000_03_f64),
        JsonChange::NumberAsString => match value {
            Value::String(s) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        },
        JsonChange::LongString { len } => Value::String("x".repeat((*len).min(MAX_STRING_LEN))),
        JsonChange::UnicodeString => {
            Value::String("Z\u{0351}\u{0364}a\u{0306} 💳 \u{202E}gnp.exe".into())
        }
        JsonChange::ControlCharString => Value::String("a\u{0}b\u{1}\u{1b}[31mc\r\n".into()),
        JsonChange::EmptyArray => Value::Array(Vec::new()),
        JsonChange::LongArray { len } => {
            let item = match value {
                Value::Array(items) => items.first().unwrap_or(&Value::Null).to_string(),
                other => other.to_string(),
            };
            let fits = MAX_ARRAY_BYTES / (item.len() + 1);
            let len = (*len).min(MAX_ITEMS).min(fits);
            let mut text = String::with_capacity(len * (item.len() + 1) + 2);
            text.push('[');
            for i in 0..len {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&item);
            }
            text.push(']');
            return raw(text);
        }
        JsonChange::DeepNesting { depth } => {
            let depth = (*depth).min(MAX_DEPTH);
            return raw(format!("{}{value}{}", "[".repeat(depth), "]".repeat(depth)));
        }
        JsonChange::UnknownEnumValue => Value::String("badgateway_unknown_variant".into()),
        JsonChange::ReplaceWith { json } => return raw(json.clone()),
    };
    (new, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge() -> Response {
        Response::json(
            200,
            &serde_json::json!({"id": "ch_1", "amount": 1000, "data": [{"x": 1}]}),
        )
    }

    fn body_after(change: JsonChange, path: &str) -> String {
        let mut r = charge();
        Mutation::Json {
            path: path.into(),
            change,
        }
        .apply(&mut r);
        String::from_utf8(r.body).unwrap()
    }

    #[test]
    fn json_changes_keep_key_order_and_reach_nested_paths() {
        assert_eq!(
            body_after(JsonChange::Remove, "id"),
            r#"{"amount":1000,"data":[{"x":1}]}"#
        );
        assert_eq!(
            body_after(JsonChange::HugeNumber, "data[0].x"),
            r#"{"id":"ch_1","amount":1000,"data":[{"x":1e400}]}"#
        );
        assert_eq!(
            body_after(JsonChange::DeepNesting { depth: 2 }, "amount"),
            r#"{"id":"ch_1","amount":[[1000]],"data":[{"x":1}]}"#
        );
        assert_eq!(body_after(JsonChange::Remove, ""), "");
    }

    #[test]
    fn absurd_sizes_from_a_fixture_are_clamped_not_obeyed() {
        let nested = body_after(JsonChange::DeepNesting { depth: usize::MAX }, "amount");
        assert_eq!(nested.matches('[').count(), MAX_DEPTH + 1);
        let items = body_after(JsonChange::LongArray { len: usize::MAX }, "data");
        assert_eq!(items.matches(r#"{"x":1}"#).count(), MAX_ARRAY_BYTES / 8);
        let numbers = body_after(JsonChange::LongArray { len: usize::MAX }, "amount");
        assert!(numbers.len() <= MAX_ARRAY_BYTES + 64, "{}", numbers.len());
        let three = body_after(JsonChange::LongArray { len: 3 }, "amount");
        assert_eq!(
            three,
            r#"{"id":"ch_1","amount":[1000,1000,1000],"data":[{"x":1}]}"#
        );
        let long = body_after(JsonChange::LongString { len: usize::MAX }, "id");
        assert_eq!(
            long.len(),
            MAX_STRING_LEN + r#"{"id":"","amount":1000,"data":[{"x":1}]}"#.len()
        );
    }

    #[test]
    fn json_change_at_missing_path_changes_nothing() {
        let original = String::from_utf8(charge().body).unwrap();
        assert_eq!(body_after(JsonChange::Null, "nope.deeper"), original);
    }

    #[test]
    fn invalid_utf8_and_bom_are_real_bytes() {
        let mut r = Response::new(200).body("ab");
        Mutation::InvalidUtf8 { at: 1 }.apply(&mut r);
        Mutation::PrependBom.apply(&mut r);
        assert_eq!(r.body, b"\xEF\xBB\xBFa\xFF\xFEb");
    }
}
