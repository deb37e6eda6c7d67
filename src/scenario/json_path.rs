//! Paths to values inside a JSON document: `data[3].amount`, `payment_method.card`.

use serde_json::Value;

/// One step of a path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Parses `a.b[2]["odd.key"]` into segments; the empty path is the root.
pub(crate) fn parse(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]")?;
            segments.push(Segment::Key(after[..end].to_owned()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            segments.push(Segment::Index(after[..end].parse().ok()?));
            rest = &after[end + 1..];
        } else {
            let rest_key = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_key.find(['.', '[']).unwrap_or(rest_key.len());
            if end == 0 {
                return None;
            }
            segments.push(Segment::Key(rest_key[..end].to_owned()));
            rest = &rest_key[end..];
        }
    }
    Some(segments)
}

/// A key as one reference token of a JSON pointer (RFC 6901): `~` as `~0`, `/` as
/// `~1`. The one escape every room uses (contracts' `$ref`s, schema pointers,
/// instance paths).
pub(crate) fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer's reference token as the key it names: `~1` as `/`, `~0` as `~`.
pub(crate) fn key_of_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Appends a key to a path, quoting keys that would not read back.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (plain, path.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[\"{key}\"]"),
    }
}

/// Every path in a document, parents before children, at most `limit` of them.
pub(crate) fn paths(value: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, String::new(), limit, &mut out);
    out
}

fn collect(value: &Value, path: String, limit: usize, out: &mut Vec<String>) {
    if out.len() >= limit {
        return;
    }
    out.push(path.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                collect(child, join_key(&path, key), limit, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().take(3) {
                collect(child, format!("{path}[{i}]"), limit, out);
            }
        }
        _ => {}
    }
}

/// The value at a path.
pub(crate) fn get<'v>(root: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Key(k) => value.as_object()?.get(k),
        Segment::Index(i) => value.as_array()?.get(*i),
    })
}

/// The value at a path, mutably.
pub(crate) fn get_mut<'v>(root: &'v mut Value, path: &[Segment]) -> Option<&'v mut Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Key(k) => value.as_object_mut()?.get_mut(k),
        Segment::Index(i) => value.as_array_mut()?.get_mut(*i),
    })
}

/// Removes the value at a non-root path; false when there is none.
pub(crate) fn remove(root: &mut Value, path: &[Segment]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    match (get_mut(root, parent), last) {
        (Some(Value::Object(map)), Segment::Key(k)) => map.shift_remove(k).is_some(),
        (Some(Value::Array(items)), Segment::Index(i)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_through_parse() {
        let doc =
            serde_json::json!({"data": [{"amount": 1, "odd.key": {"x": true}}], "has_more": false});
        for path in paths(&doc, 100) {
            let segments = parse(&path).unwrap_or_else(|| panic!("{path} does not parse"));
            assert!(get_mut(&mut doc.clone(), &segments).is_some(), "{path}");
        }
        assert!(paths(&doc, 100).contains(&"data[0][\"odd.key\"].x".to_owned()));
    }

    #[test]
    fn malformed_paths_are_rejected() {
        assert_eq!(parse("a..b"), None);
        assert_eq!(parse("a[x]"), None);
        assert_eq!(parse("a[1"), None);
    }
}
