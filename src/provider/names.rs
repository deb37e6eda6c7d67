//! Secret names: whether a header, parameter or field name names a secret, by what the
//! whole name means.

use super::secrets::percent_decode;

/// Head words (a name's last word, what it names) that make it secret: `api_key`,
/// `access_token`, `clientSecret`, `card_cvc`.
pub(super) const HEADS: [&str; 20] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "session",
    "sessionid",
    "credentials",
    "authorization",
    "auth",
    "cookie",
    "cvc",
    "cvv",
    "csc",
    "iban",
    "ssn",
    "pin",
    "otp",
];

/// Words that make a name secret wherever they stand (`X-Hmac-Sha256`).
pub(super) const ANYWHERE: [&str; 3] = ["hmac", "jwt", "bearer"];

/// Heads that are secret after one of these words: a card or account `number`, a
/// security `code`, authentication `data`, a verification `value`, an auth `assertion`.
pub(super) const QUALIFIED: [(&str, &[&str]); 5] = [
    ("number", &["card", "account"]),
    (
        "code",
        &["security", "verification", "cvc", "cvv", "otp", "pin"],
    ),
    ("data", &["auth", "session"]),
    ("value", &["verification"]),
    ("assertion", &["auth"]),
];

/// First words of a flag or a setting about a secret, not the secret itself
/// (`allowPartialAuth`, `useNetworkToken`, `includeTransToken`, `off_session`).
const PREDICATES: [&str; 13] = [
    "allow", "use", "permit", "include", "is", "has", "enable", "disable", "require", "request",
    "should", "off", "on",
];

/// Modifiers that make a secret-sounding head public: a public key, an idempotency
/// key, a price's lookup key.
const PUBLIC_MODIFIERS: [&str; 5] = ["pub", "public", "publishable", "idempotency", "lookup"];

/// Whether a header, query parameter, JSON key or form field name carries a secret,
/// by what the whole name means, not by a word inside it: its last word (what it
/// names) must be a secret (`api_key`, `refreshToken`, `card_cvc`), or qualified as
/// one (`cardNumber`, `security_code`). A result, a date, a method, a flag or a
/// count about a secret is none (`cvcResult`, `passwordChangeDate`,
/// `threeDSReqAuthMethod`, `useNetworkToken`, `authCode` on a payment result). The
/// name is matched case-insensitively, after percent-decoding; the last part of a
/// dotted name decides (`networkToken.bin` is a BIN).
///
/// ```
/// use badgateway::journal::is_secret;
/// for name in ["Authorization", "X-Api-Key", "api%5Fkey", "stripe-signature", "X-Hmac-Sha256",
///              "X-Hub-Signature-256", "sessionid", "jwt", "code", "card_number", "cvc", "iban",
///              "password", "clientSecret", "access_token", "cardNumber", "security_code",
///              "encryptedCardNumber", "threeDSReqAuthData", "Cookie", "PayPal-Auth-Assertion"] {
///     assert!(is_secret(name), "{name}");
/// }
/// for name in ["Idempotency-Key", "content-type", "status_code", "currency", "amount",
///              "cvcResult", "authCode", "auth_code", "passwordChangeDate", "tokenDataType",
///              "allowPartialAuth", "useNetworkToken", "networkToken.bin", "iban_last_chars",
///              "sdkEphemPubKey", "sessionResult", "authorizations", "cvc_check", "tokenize",
///              "off_session"] {
///     assert!(!is_secret(name), "{name}");
/// }
/// ```
pub fn is_secret(name: &str) -> bool {
    let decoded = percent_decode(name);
    let last = decoded.rsplit('.').next().unwrap_or(&decoded);
    let mut words = words_of(last);
    let joined: String = words.concat();
    if joined == "code" || joined.contains("sessionid") || joined.contains("apikey") {
        return true;
    }
    if words.iter().any(|w| ANYWHERE.contains(&w.as_str())) {
        return true;
    }
    if words
        .first()
        .is_some_and(|w| PREDICATES.contains(&w.as_str()))
    {
        return false;
    }
    // `dateOfSignature` names a date.
    if let Some(of) = words.iter().position(|w| w == "of") {
        words.truncate(of);
    }
    // `X-Hub-Signature-256`: a version is not what the name names.
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
    {
        words.pop();
    }
    let Some(head) = words.last() else {
        return false;
    };
    let before = words.len().checked_sub(2).map(|i| words[i].as_str());
    if before.is_some_and(|b| PUBLIC_MODIFIERS.contains(&b)) {
        return false;
    }
    HEADS.contains(&head.as_str())
        || QUALIFIED
            .iter()
            .any(|(h, after)| h == head && before.is_some_and(|b| after.contains(&b)))
}

/// A name's words, lower-case: split at punctuation and at lower-to-upper case changes
/// (`X-Api-Key`, `api_key`, `clientSecret`, `threeDSReqAuthData`).
fn words_of(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        // `threeDSReq`: `DS` is a word of its own, and `Req` starts the next.
        let boundary = !c.is_ascii_alphanumeric()
            || (c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()))
            || (c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_uppercase())
                && next.is_some_and(char::is_ascii_lowercase));
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether a header carries an idempotency key: `Idempotency-Key` (Stripe, Adyen,
/// Mollie, GoCardless, the IETF draft), a name with it in (`X-Idempotency-Key`,
/// Checkout.com's `Cko-Idempotency-Key`), or PayPal's `PayPal-Request-Id`.
pub(crate) fn is_idempotency_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("idempotency") || name == "paypal-request-id"
}

/// The value of the idempotency key among `headers` ([`is_idempotency_key`]).
pub(crate) fn idempotency_key(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| is_idempotency_key(name))
        .map(|(_, value)| value.as_str())
}
