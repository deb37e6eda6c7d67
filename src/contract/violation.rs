//! A clause an instance breaks, and the generalized paths clauses are named by.

/// Why an instance does not satisfy a schema: the clause it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value (`/data/3/amount`).
    pub instance_path: String,
    /// The keyword that failed: `type`, `required`, `minimum`, `enum`, `format`...
    pub keyword: String,
    /// The validator's message.
    pub message: String,
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
