//! Applying [`Mutation`]s to a [`Response`]: pure functions, no I/O.

use serde_json::Value;

use crate::json_path;
use crate::response::Response;
use crate::scenario::{JsonChange, Mutation};

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
            Mutation::RemoveHeader { name } => remove_header(response, name),
            Mutation::DuplicateHeader { name } => {
                let copies: Vec<_> = response
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
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
    let reason = crate::wire::reason(status);
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
