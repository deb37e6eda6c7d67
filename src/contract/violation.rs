//! A clause an instance breaks, and the generalized paths clauses are named by.

use crate::scenario::json_path;

/// Why an instance does not satisfy a schema: the clause it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value (`/data/3/amount`).
    pub instance_path: String,
    /// The keyword that failed: `type`, `required`, `minimum`, `enum`, `format`...
    pub keyword: String,
    /// The validator's message.
    pub message: String,
    /// Where the clause is in the document, after references are followed
    /// (`/components/schemas/Card/properties/last4/pattern`): which named schema it
    /// belongs to.
    pub schema_location: String,
}

impl Violation {
    /// The path the violation is about, dotted (`data[0].amount`); for a missing
    /// required property, the property's path.
    ///
    /// ```
    /// let v = badgateway::Violation { instance_path: "/data/0".into(), keyword: "required".into(),
    ///     message: "\"amount\" is a required property".into(), schema_location: String::new() };
    /// assert_eq!(v.dotted_path(), "data[0].amount");
    /// ```
    pub fn dotted_path(&self) -> String {
        let path = dotted(&self.instance_path);
        match (self.keyword.as_str(), self.message.split('"').nth(1)) {
            ("required", Some(property)) => json_path::join_key(&path, property),
            _ => path,
        }
    }
}

/// `/data/0/amount` as `data[0].amount`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = json_path::key_of_token(part);
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            out = json_path::join_key(&out, &part);
        }
    }
    out
}

/// `data[3].amount` as `data[].amount`.
pub(crate) fn generalized(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            c if in_index && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indexes_generalize() {
        assert_eq!(generalized("data[3].items[12].x"), "data[].items[].x");
    }
}
