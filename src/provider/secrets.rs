//! Secrets: every secret value the provider sees in a case, and scrubbing them out of
//! any text the harness keeps.
//!
//! Implementation notes: redacting by name (the `Authorization` header, an `api_key`
//! query parameter) is not enough, because the same value comes back in text the
//! harness never parsed. reqwest puts the URL, query included, in its error messages;
//! a client echoes a request body in a panic; a token the baseline returned is printed
//! in the code's result. So the provider collects the *values*: those of secret-named
//! headers, query parameters, path segments, JSON keys, form and multipart fields in
//! requests, every cookie's, those of secret-named JSON keys and headers in baseline
//! responses, those secret by their form anywhere (see `shapes`), and those the user
//! names.
//! The journal, and the outcome of the case, are scrubbed of every collected value
//! before anything else sees them. Fixtures, reports, JUnit files and snapshots are
//! all made from those two, so none of them can hold a collected value.
//!
//! A redacted value reads `[redacted:16-31]`: its length class, so a report still
//! tells a key from a 3-digit code. Values of 20 characters or more also get a short
//! hash, `[redacted:32-63:4f1a]`, so that two tokens in one report can be told apart.
//! Shorter values get no hash: a 16-bit hash of a card number with a known prefix, or
//! of a 3-digit CVC, can be reversed by trying every candidate.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::scenario::hash::fnv1a;

pub use super::names::is_secret;
use super::shapes::shaped_secrets;

/// Values shorter than this are not secrets worth scrubbing (and scrubbing them would
/// clobber unrelated text).
const MIN_SECRET_LEN: usize = 3;
/// Values shorter than this are replaced only where they stand alone, not inside a
/// longer word or number.
const STANDALONE_BELOW: usize = 8;
/// Values at least this long get a short hash in their redacted form.
const HASHED_FROM: usize = 20;

/// Bodies longer than this are collected each time, never remembered.
const MAX_REMEMBERED_BODY: usize = 64 * 1024;
/// Remembered bodies per thread, before the memory is cleared.
const MAX_REMEMBERED_BODIES: usize = 64;

/// What each body yielded, by the secret names in force, then by the body: both are
/// looked up borrowed, so a remembered body costs no copy.
type BodySecrets =
    std::collections::HashMap<Vec<String>, std::collections::HashMap<Vec<u8>, Vec<String>>>;

thread_local! {
    /// What each recently seen body yielded.
    static BODY_SECRETS: std::cell::RefCell<BodySecrets> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    /// Whether a header or field name is secret-like, by name.
    static SECRET_NAMES: std::cell::RefCell<std::collections::HashMap<String, bool>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`is_secret`], remembered by name (header names repeat on every request).
fn is_secret_cached(name: &str) -> bool {
    if let Some(known) = SECRET_NAMES.with(|m| m.borrow().get(name).copied()) {
        return known;
    }
    let secret = is_secret(name);
    SECRET_NAMES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 1024 {
            m.clear();
        }
        m.insert(name.to_owned(), secret);
    });
    secret
}

/// The secret values seen in one case (and those the user named), and the names that
/// mark a value as secret besides [`is_secret`]'s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: BTreeSet<String>,
    names: Vec<String>,
}

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a literal secret value, to be scrubbed wherever it appears.
    ///
    /// ```
    /// use badgateway::Secrets;
    /// let mut secrets = Secrets::new();
    /// secrets.add_value("sk_test_4eC39HqLyjWDarjtT1zdp7dc");
    /// assert_eq!(secrets.scrub("key sk_test_4eC39HqLyjWDarjtT1zdp7dc used"), "key [redacted:32-63:5d84] used");
    /// ```
    pub fn add_value(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        self.values.insert(value.to_owned());
        let encoded = percent_encode(value);
        if encoded != value {
            self.values.insert(encoded);
        }
    }

    /// Adds a name whose values are secret, besides those [`is_secret`] knows.
    pub fn add_name(&mut self, name: &str) {
        self.names.push(name.to_ascii_lowercase());
    }

    /// No values, and this one's names: what a collection apart from the case's
    /// secrets starts from.
    pub(crate) fn names_only(&self) -> Secrets {
        Secrets {
            values: BTreeSet::new(),
            names: self.names.clone(),
        }
    }

    /// Adds the values `found` collected (its names are this one's already).
    pub(crate) fn absorb(&mut self, found: Secrets) {
        self.values.extend(found.values);
    }

    /// Adds every value and name of `other`.
    pub fn extend(&mut self, other: &Secrets) {
        self.values.extend(other.values.iter().cloned());
        self.names.extend(other.names.iter().cloned());
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn is_secret_name(&self, name: &str) -> bool {
        is_secret_cached(name)
            || (!self.names.is_empty() && {
                let lower = percent_decode(name).to_ascii_lowercase();
                self.names.contains(&lower)
            })
    }

    /// Collects the secrets of a request: secret-named headers (with the credentials
    /// inside `Bearer` and `Basic` values), query parameters, and JSON or form fields.
    pub(crate) fn collect_request(
        &mut self,
        target: &str,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
    ) {
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value);
            if name.eq_ignore_ascii_case("cookie") {
                // `Cookie: session=VALUE; theme=dark`: every cookie's value.
                for pair in value.split(';') {
                    if let Some((_, cookie)) = pair.split_once('=') {
                        self.add_value(cookie);
                    }
                }
            }
            if self.is_secret_name(name) {
                self.collect_credential(&value);
            }
            self.collect_shaped(&value);
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        self.collect_form(query);
        self.collect_path(path);
        self.collect_shaped(target);
        self.collect_body(body);
    }

    /// Values by form, wherever they stand: see [`shaped_secrets`].
    fn collect_shaped(&mut self, text: &str) {
        for value in shaped_secrets(text) {
            self.add_value(&value);
        }
    }

    /// A path segment that follows a secret-named one (`/v1/tokens/tok_…`,
    /// `/api_keys/…`) is that secret's value, when it looks like one (8 characters or
    /// more, a digit among them): `/auth/login` names a route, not a secret.
    fn collect_path(&mut self, path: &str) {
        let segments: Vec<&str> = path.split('/').collect();
        for pair in segments.windows(2) {
            let value_like = pair[1].len() >= 8 && pair[1].bytes().any(|b| b.is_ascii_digit());
            // A collection's name is plural: `/tokens/…` holds tokens.
            let named = !pair[0].is_empty()
                && (self.is_secret_name(pair[0])
                    || self.is_secret_name(pair[0].trim_end_matches('s')));
            if value_like && named {
                self.add_value(pair[1]);
                self.add_value(&percent_decode(pair[1]));
            }
        }
    }

    /// Collects the secrets a response carries: secret-named headers (`Set-Cookie`)
    /// and JSON fields (an `access_token`).
    pub(crate) fn collect_response(&mut self, headers: &[(String, Vec<u8>)], body: &[u8]) {
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value);
            if self.is_secret_name(name) {
                // `Set-Cookie: sid=abc; Path=/`: the cookie's value is the secret.
                let first = value.split(';').next().unwrap_or("");
                match first.split_once('=') {
                    Some((_, cookie)) => self.add_value(cookie),
                    None => self.add_value(first),
                }
            }
            self.collect_shaped(&value);
        }
        self.collect_body(body);
    }

    fn collect_credential(&mut self, value: &str) {
        self.add_value(value);
        let Some((scheme, credential)) = value.trim().split_once(' ') else {
            return;
        };
        let credential = credential.trim();
        self.add_value(credential);
        if scheme.eq_ignore_ascii_case("basic") {
            if let Some(decoded) = base64_decode(credential) {
                let decoded = String::from_utf8_lossy(&decoded).into_owned();
                if let Some((_, password)) = decoded.split_once(':') {
                    self.add_value(password);
                }
                self.add_value(&decoded);
            }
        }
    }

    fn collect_body(&mut self, body: &[u8]) {
        // Implementation notes: this runs for every request and every baseline
        // response, and the same baseline body comes back case after case (a fuzzer
        // serves it tens of thousands of times): what a body yields, under these
        // names, is remembered by the body itself (compared whole, never by a hash
        // that could collide and leave a secret unscrubbed).
        if body.is_empty() {
            return;
        }
        if body.len() > MAX_REMEMBERED_BODY {
            return self.collect_body_now(body);
        }
        let remembered = BODY_SECRETS.with(|m| {
            m.borrow()
                .get(self.names.as_slice())
                .and_then(|bodies| bodies.get(body))
                .cloned()
        });
        let values = remembered.unwrap_or_else(|| {
            let mut alone = Secrets {
                values: BTreeSet::new(),
                names: self.names.clone(),
            };
            alone.collect_body_now(body);
            let values: Vec<String> = alone.values.into_iter().collect();
            BODY_SECRETS.with(|m| {
                let mut m = m.borrow_mut();
                if m.values()
                    .map(std::collections::HashMap::len)
                    .sum::<usize>()
                    >= MAX_REMEMBERED_BODIES
                {
                    m.clear();
                }
                m.entry(self.names.clone())
                    .or_default()
                    .insert(body.to_vec(), values.clone());
            });
            values
        });
        // `add_value` already added each encoded form: they are values in their own right.
        self.values.extend(values);
    }

    fn collect_body_now(&mut self, body: &[u8]) {
        self.collect_shaped(&String::from_utf8_lossy(body));
        // A body that names nothing secret-like is not parsed at all.
        if !self.may_name_a_secret(body) {
            return;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(json) => self.collect_json(&json, false),
            Err(_) => {
                if let Ok(text) = std::str::from_utf8(body) {
                    if text.contains('=') && !text.contains(char::is_whitespace) {
                        self.collect_form(text);
                    } else {
                        self.collect_multipart(text);
                    }
                }
            }
        }
    }

    /// The secret-named parts of a `multipart/form-data` body: each part's value, after
    /// its `Content-Disposition: form-data; name="…"` head and a blank line.
    fn collect_multipart(&mut self, text: &str) {
        const NAME: &str = "name=\"";
        let mut rest = text;
        while let Some(at) = rest.find(NAME) {
            rest = &rest[at + NAME.len()..];
            let Some(end) = rest.find('"') else { return };
            let name = &rest[..end];
            let Some(blank) = rest
                .find("\r\n\r\n")
                .map(|b| b + 4)
                .or_else(|| rest.find("\n\n").map(|b| b + 2))
            else {
                return;
            };
            let value = &rest[blank..];
            let value = &value[..value
                .find("\r\n--")
                .or_else(|| value.find("\n--"))
                .unwrap_or(value.len())];
            if self.is_secret_name(name) {
                self.add_value(value);
            }
            rest = &rest[blank..];
        }
    }

    /// Whether the body holds a word a secret's name is made of (or a name the user
    /// added), case-insensitively: a cheap look before parsing it.
    fn may_name_a_secret(&self, body: &[u8]) -> bool {
        // Every head, qualifier and word `is_secret` knows contains one of these.
        const STEMS: [&str; 25] = [
            "key",
            "auth",
            "token",
            "secret",
            "pass",
            "pwd",
            "sig",
            "session",
            "jwt",
            "hmac",
            "cvc",
            "cvv",
            "csc",
            "iban",
            "ssn",
            "pin",
            "otp",
            "card",
            "code",
            "cred",
            "bearer",
            "cookie",
            "account",
            "verification",
            "%5f",
        ];
        // One pass over the body for all of them, whatever its size.
        static SEARCH: std::sync::LazyLock<aho_corasick::AhoCorasick> =
            std::sync::LazyLock::new(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(STEMS)
                    .expect("the stems build a searcher")
            });
        SEARCH.is_match(body)
            || self.names.iter().any(|name| {
                body.windows(name.len())
                    .any(|w| w.eq_ignore_ascii_case(name.as_bytes()))
            })
    }

    fn collect_form(&mut self, form: &str) {
        for pair in form.split('&') {
            if let Some((name, value)) = pair.split_once('=') {
                if self.is_secret_name(name) {
                    self.add_value(value);
                    self.add_value(&percent_decode(&value.replace('+', " ")));
                }
            }
        }
    }

    fn collect_json(&mut self, value: &Value, secret: bool) {
        // Implementation notes: iterative, so a body nested thousands deep cannot
        // overflow the harness's stack.
        // A `number` inside a card object (`"card": {"number": ...}`, Stripe's and
        // Adyen's shape) is a card number, though its name alone says nothing.
        let mut stack = vec![(value, secret, false)];
        while let Some((value, secret, in_card)) = stack.pop() {
            match value {
                // badgateway's own codes (`badgateway_no_baseline`) are never secret.
                Value::String(s) if secret && !s.starts_with("badgateway_") => self.add_value(s),
                Value::Number(n) if secret => self.add_value(&n.to_string()),
                Value::Object(map) => {
                    for (key, child) in map {
                        let card_number = in_card && key.eq_ignore_ascii_case("number");
                        let is_card = key.to_ascii_lowercase().contains("card");
                        let secret = secret || card_number || self.is_secret_name(key);
                        stack.push((child, secret, is_card));
                    }
                }
                Value::Array(items) => stack.extend(items.iter().map(|v| (v, secret, in_card))),
                _ => {}
            }
        }
    }

    /// `text` with every known secret value replaced by its redacted form; the
    /// longest values first, so a value inside another is not half-replaced.
    ///
    /// ```
    /// use badgateway::Secrets;
    /// let mut secrets = Secrets::new();
    /// secrets.add_value("4242");
    /// assert_eq!(secrets.scrub("cvc 4242, amount 142420"), "cvc [redacted:<8], amount 142420");
    /// ```
    pub fn scrub(&self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_owned();
        }
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_owned();
        for value in values {
            if out.contains(value.as_str()) {
                out = replace_value(&out, value);
            }
        }
        out
    }

    /// Bytes with every known secret value replaced: as [`Secrets::scrub`], on the
    /// bytes that are UTF-8 (a body that is not stays as it is, but for whole values).
    pub fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.values.is_empty() {
            return bytes.to_vec();
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.scrub(text).into_bytes(),
            Err(_) => {
                let mut out = bytes.to_vec();
                for value in &self.values {
                    out = replace_bytes(&out, value.as_bytes(), redacted(value).as_bytes());
                }
                out
            }
        }
    }
}

/// Every standalone occurrence of `value` in `text` replaced (anywhere, for long ones).
fn replace_value(text: &str, value: &str) -> String {
    let marker = redacted(value);
    if value.len() >= STANDALONE_BELOW {
        return text.replace(value, &marker);
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(value) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + value.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(value);
        } else {
            out.push_str(&marker);
        }
        rest = &rest[at + value.len()..];
    }
    out.push_str(rest);
    out
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The redacted form of a value: its length class, and a short hash for long ones.
fn redacted(value: &str) -> String {
    let len = value.chars().count();
    let class = match len {
        0..=7 => "<8",
        8..=15 => "8-15",
        16..=31 => "16-31",
        32..=63 => "32-63",
        _ => "64+",
    };
    if len >= HASHED_FROM {
        format!(
            "[redacted:{class}:{:04x}]",
            fnv1a(value.as_bytes()) & 0xffff
        )
    } else {
        format!("[redacted:{class}]")
    }
}

/// `text` with its `%XX` escapes decoded (an invalid one is kept as it is), bytes
/// that are not UTF-8 replaced.
pub(super) fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Every byte but the unreserved ones (RFC 3986) escaped, as a form or query encodes
/// a value.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Base64 as credentials carry it: the standard or the URL-safe alphabet, padded or
/// not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    [
        GeneralPurpose::new(&base64::alphabet::STANDARD, config),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, config),
    ]
    .iter()
    .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::names::{ANYWHERE, HEADS, QUALIFIED};

    #[test]
    fn a_remembered_body_yields_the_same_secrets_and_a_named_field_is_not_forgotten() {
        let body = br#"{"token": "tok_live_remembered_1", "merchant_ref": "mref-0042-private"}"#;
        let collected = |names: &[&str]| {
            let mut secrets = Secrets::new();
            for name in names {
                secrets.add_name(name);
            }
            secrets.collect_response(&[], body);
            secrets.values
        };
        let first = collected(&[]);
        assert!(first.contains("tok_live_remembered_1"));
        assert!(!first.contains("mref-0042-private"));
        // The same body again, remembered: the same values.
        assert_eq!(collected(&[]), first);
        // Under a name the user added, the body is collected afresh, not taken from
        // what it yielded without that name.
        let named = collected(&["merchant_ref"]);
        assert!(named.contains("mref-0042-private"), "{named:?}");
        assert!(named.contains("tok_live_remembered_1"));
    }

    #[test]
    fn basic_credentials_are_decoded_and_their_password_collected() {
        let mut secrets = Secrets::new();
        // "merchant:hunter2-pass"
        secrets.collect_request(
            "/",
            &[(
                "Authorization".into(),
                b"Basic bWVyY2hhbnQ6aHVudGVyMi1wYXNz".to_vec(),
            )],
            b"",
        );
        assert_eq!(secrets.scrub("login hunter2-pass"), "login [redacted:8-15]");
        assert!(!secrets
            .scrub("bWVyY2hhbnQ6aHVudGVyMi1wYXNz")
            .contains("bWVy"));
    }

    #[test]
    fn form_json_and_query_values_are_collected_and_percent_encoded_forms_scrubbed() {
        let mut secrets = Secrets::new();
        secrets.collect_request(
            "/v1/x?api%5Fkey=sk live/1&limit=3",
            &[],
            b"grant_type=client_credentials&client_secret=cs_9f8e7d6c5b",
        );
        secrets.collect_body(
            br#"{"card": {"number": 4242424242424242, "cvc": "737"}, "amount": 737}"#,
        );
        let text = "GET /v1/x?api%5Fkey=sk%20live%2F1 secret=cs_9f8e7d6c5b cvc=737 amount=7370";
        let scrubbed = secrets.scrub(text);
        for leaked in ["sk%20live%2F1", "cs_9f8e7d6c5b", "cvc=737 "] {
            assert!(!scrubbed.contains(leaked), "{leaked} in {scrubbed}");
        }
        assert!(scrubbed.ends_with("amount=7370"), "{scrubbed}");
    }

    #[test]
    fn two_long_secrets_stay_distinguishable_and_the_form_is_stable() {
        let (a, b) = (
            "tok_aaaaaaaaaaaaaaaaaaaaaaaa",
            "tok_bbbbbbbbbbbbbbbbbbbbbbbb",
        );
        assert_ne!(redacted(a), redacted(b));
        assert_eq!(redacted(a), redacted(a));
        assert_eq!(redacted("737"), "[redacted:<8]");
    }

    #[test]
    fn the_cheap_look_before_parsing_misses_no_name_is_secret_knows() {
        let secrets = Secrets::new();
        let names = HEADS.iter().chain(ANYWHERE.iter()).copied();
        let qualified: Vec<String> = QUALIFIED
            .iter()
            .flat_map(|(head, after)| after.iter().map(move |a| format!("{a}_{head}")))
            .collect();
        let names = names.chain(qualified.iter().map(String::as_str)).chain([
            "code",
            "clientSecret",
            "api%5Fkey",
        ]);
        for name in names {
            assert!(is_secret(name), "{name}");
            let body = format!("{{\"{name}\": \"v\"}}");
            assert!(secrets.may_name_a_secret(body.as_bytes()), "{name}");
        }
        assert!(!secrets.may_name_a_secret(br#"{"id": "ch_1", "amount": 5}"#));
    }

    #[test]
    fn a_deeply_nested_body_does_not_overflow_the_stack() {
        let body = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        let mut secrets = Secrets::new();
        secrets.collect_body(body.as_bytes());
        assert!(secrets.is_empty());
    }
}
