//! How providers sign webhook deliveries, and how the provider here forges them.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind};
use crate::scenario::Forgery;

/// How deliveries are signed, with your test secret: Stripe's, GitHub's, Standard
/// Webhooks' or an HMAC header you describe. Each is checked against its provider's
/// published example (see the tests in `tests/it/webhooks.rs`).
///
/// ```
/// use badgateway::Signing;
/// let stripe = Signing::stripe("whsec_test_secret");
/// let headers = stripe.headers("evt_1", 1_700_000_000, br#"{"id":"evt_1"}"#);
/// assert_eq!(headers[0].0, "Stripe-Signature");
/// assert!(headers[0].1.starts_with("t=1700000000,v1="));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Signing {
    scheme: Scheme,
    secret: String,
}

impl std::fmt::Debug for Signing {
    /// The scheme only: the secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signing({:?}, secret redacted)", self.scheme)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    /// `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`.
    Stripe,
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the payload>`, with
    /// `X-GitHub-Event` and `X-GitHub-Delivery`.
    GitHub,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256
    /// of "id.timestamp.payload">`, keyed with the base64 after `whsec_`.
    Standard,
    /// An HMAC-SHA256 header you describe.
    Hmac(HmacHeader),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HmacHeader {
    header: String,
    prefix: String,
    base64: bool,
    /// The header that carries the timestamp, when `timestamp.payload` is signed.
    timestamp: Option<String>,
}

/// Seconds a signed timestamp may be old (Stripe's and Standard Webhooks' default
/// tolerance is five minutes); a stale forgery is an hour old.
const STALE_SECS: i64 = 3_600;

impl Signing {
    /// Stripe's scheme: `Stripe-Signature: t=…,v1=…`, an HMAC-SHA256 in hex over
    /// `{t}.{payload}`, keyed with the whole endpoint secret (`whsec_…`).
    /// <https://docs.stripe.com/webhooks#verify-manually>
    pub fn stripe(secret: &str) -> Self {
        Self::new(Scheme::Stripe, secret)
    }

    /// GitHub's scheme: `X-Hub-Signature-256: sha256=…`, an HMAC-SHA256 in hex over
    /// the payload, with `X-GitHub-Event` (the event type) and `X-GitHub-Delivery`.
    /// <https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>
    pub fn github(secret: &str) -> Self {
        Self::new(Scheme::GitHub, secret)
    }

    /// Standard Webhooks (Svix, Resend, Clerk...): `webhook-id`, `webhook-timestamp`
    /// and `webhook-signature: v1,…`, an HMAC-SHA256 in base64 over
    /// `{id}.{timestamp}.{payload}`, keyed with the base64 after `whsec_`.
    /// <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>
    pub fn standard(secret: &str) -> Self {
        Self::new(Scheme::Standard, secret)
    }

    /// An HMAC-SHA256 of the payload in hex in `header`: shape it with
    /// [`prefix`](Self::prefix), [`base64`](Self::base64) and
    /// [`timestamp_in`](Self::timestamp_in).
    ///
    /// ```
    /// use badgateway::Signing;
    /// let signing = Signing::hmac("X-Signature", "secret").prefix("sha256=").timestamp_in("X-Timestamp");
    /// let headers = signing.headers("evt_1", 1_700_000_000, b"{}");
    /// assert_eq!(headers[0], ("X-Timestamp".to_owned(), "1700000000".to_owned()));
    /// assert!(headers[1].1.starts_with("sha256="));
    /// ```
    pub fn hmac(header: &str, secret: &str) -> Self {
        Self::new(
            Scheme::Hmac(HmacHeader {
                header: header.to_owned(),
                prefix: String::new(),
                base64: false,
                timestamp: None,
            }),
            secret,
        )
    }

    /// For [`Signing::hmac`]: the signature is written after this prefix (`sha256=`).
    pub fn prefix(mut self, prefix: &str) -> Self {
        if let Scheme::Hmac(h) = &mut self.scheme {
            h.prefix = prefix.to_owned();
        }
        self
    }

    /// For [`Signing::hmac`]: the signature is base64, not hex.
    pub fn base64(mut self) -> Self {
        if let Scheme::Hmac(h) = &mut self.scheme {
            h.base64 = true;
        }
        self
    }

    /// For [`Signing::hmac`]: the unix timestamp goes in this header, and
    /// `{timestamp}.{payload}` is signed.
    pub fn timestamp_in(mut self, header: &str) -> Self {
        if let Scheme::Hmac(h) = &mut self.scheme {
            h.timestamp = Some(header.to_owned());
        }
        self
    }

    fn new(scheme: Scheme, secret: &str) -> Self {
        Self {
            scheme,
            secret: secret.to_owned(),
        }
    }

    /// The secret, for scrubbing it from everything a case keeps.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The header that carries the event type, for schemes that send it beside the
    /// body (GitHub's `X-GitHub-Event`).
    pub(crate) fn type_header(&self) -> Option<&'static str> {
        matches!(self.scheme, Scheme::GitHub).then_some("X-GitHub-Event")
    }

    /// Why the secret cannot sign under this scheme, if it cannot.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.secret.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the webhook signing secret is empty: give the test secret your handler verifies with",
            ));
        }
        if self.scheme == Scheme::Standard && self.key().is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                "a Standard Webhooks secret is `whsec_` followed by base64 (as `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`): the part after `whsec_` is not base64",
            ));
        }
        Ok(())
    }

    /// Whether this scheme can be forged so: a stale timestamp needs a signed one,
    /// an unknown version a scheme that names its version.
    pub fn forges(&self, forgery: Forgery) -> bool {
        match forgery {
            Forgery::Stale => self.timestamped(),
            Forgery::UnknownVersion => match &self.scheme {
                Scheme::Hmac(h) => !h.prefix.is_empty(),
                _ => true,
            },
            _ => true,
        }
    }

    fn timestamped(&self) -> bool {
        match &self.scheme {
            Scheme::Stripe | Scheme::Standard => true,
            Scheme::GitHub => false,
            Scheme::Hmac(h) => h.timestamp.is_some(),
        }
    }

    /// The key bytes: the secret's bytes, or for Standard Webhooks the base64 after
    /// `whsec_`.
    fn key(&self) -> Option<Vec<u8>> {
        match self.scheme {
            Scheme::Standard => {
                let encoded = self.secret.strip_prefix("whsec_").unwrap_or(&self.secret);
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()
            }
            _ => Some(self.secret.as_bytes().to_vec()),
        }
    }

    /// The bytes the MAC is computed over.
    fn signed_content(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut content = match &self.scheme {
            Scheme::Stripe => format!("{timestamp}.").into_bytes(),
            Scheme::Standard => format!("{id}.{timestamp}.").into_bytes(),
            Scheme::GitHub => Vec::new(),
            Scheme::Hmac(h) => match h.timestamp {
                Some(_) => format!("{timestamp}.").into_bytes(),
                None => Vec::new(),
            },
        };
        content.extend_from_slice(body);
        content
    }

    /// The MAC, encoded as the scheme writes it.
    fn mac(&self, key: &[u8], content: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(content);
        let bytes = mac.finalize().into_bytes();
        let base64 = match &self.scheme {
            Scheme::Standard => true,
            Scheme::Hmac(h) => h.base64,
            _ => false,
        };
        match base64 {
            true => base64::engine::general_purpose::STANDARD.encode(bytes),
            false => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The signature header's value for these MACs, under this version label
    /// (`None`: the scheme's own).
    fn signature_value(&self, timestamp: i64, macs: &[String], version: Option<&str>) -> String {
        match &self.scheme {
            Scheme::Stripe => {
                let v = version.unwrap_or("v1");
                let sigs: Vec<String> = macs.iter().map(|m| format!("{v}={m}")).collect();
                format!("t={timestamp},{}", sigs.join(","))
            }
            Scheme::GitHub => {
                let v = version.unwrap_or("sha256");
                let sigs: Vec<String> = macs.iter().map(|m| format!("{v}={m}")).collect();
                sigs.join(",")
            }
            Scheme::Standard => {
                let v = version.unwrap_or("v1");
                let sigs: Vec<String> = macs.iter().map(|m| format!("{v},{m}")).collect();
                sigs.join(" ")
            }
            Scheme::Hmac(h) => {
                let prefix = match version {
                    Some(v) => format!("{v}="),
                    None => h.prefix.clone(),
                };
                let sigs: Vec<String> = macs.iter().map(|m| format!("{prefix}{m}")).collect();
                sigs.join(",")
            }
        }
    }

    fn signature_header(&self) -> &str {
        match &self.scheme {
            Scheme::Stripe => "Stripe-Signature",
            Scheme::GitHub => "X-Hub-Signature-256",
            Scheme::Standard => "webhook-signature",
            Scheme::Hmac(h) => &h.header,
        }
    }

    /// The headers that sign `body` as event `id` at `timestamp` (unix seconds),
    /// in the order they are sent: what a genuine delivery carries.
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
        self.built(id, timestamp, body, None)
    }

    /// The headers of a delivery of `body` forged so (`None`: signed validly), at
    /// `now`. A forgery this scheme cannot show ([`Signing::forges`]) is signed
    /// validly.
    pub(crate) fn built(
        &self,
        id: &str,
        now: i64,
        body: &[u8],
        forgery: Option<Forgery>,
    ) -> Vec<(String, String)> {
        let forgery = forgery.filter(|f| self.forges(*f));
        let timestamp = match forgery {
            Some(Forgery::Stale) => now - STALE_SECS,
            _ => now,
        };
        let key = self
            .key()
            .unwrap_or_else(|| self.secret.as_bytes().to_vec());
        let content = self.signed_content(id, timestamp, body);
        let mut wrong_key = key.clone();
        wrong_key.extend_from_slice(b"-not-the-secret");
        let wrong = |salt: &[u8]| {
            let mut k = wrong_key.clone();
            k.extend_from_slice(salt);
            self.mac(&k, &content)
        };
        let signature = match forgery {
            None | Some(Forgery::Stale) | Some(Forgery::TamperedBody) => {
                Some(self.signature_value(timestamp, &[self.mac(&key, &content)], None))
            }
            Some(Forgery::Unsigned) => None,
            Some(Forgery::EmptyHeader) => Some(String::new()),
            Some(Forgery::Garbled) => Some(match &self.scheme {
                Scheme::Stripe => "t=,v1=zz,=".to_owned(),
                Scheme::GitHub => "sha256=zz".to_owned(),
                Scheme::Standard => "v1,!!not-base64!!".to_owned(),
                Scheme::Hmac(h) => format!("{}zz", h.prefix),
            }),
            Some(Forgery::WrongSecret) => {
                Some(self.signature_value(timestamp, &[wrong(b"")], None))
            }
            Some(Forgery::SecondSignature) => {
                Some(self.signature_value(timestamp, &[wrong(b"1"), wrong(b"2")], None))
            }
            Some(Forgery::UnknownVersion) => {
                let version = match &self.scheme {
                    Scheme::Stripe => "v9",
                    Scheme::GitHub => "sha512",
                    Scheme::Standard => "v9",
                    Scheme::Hmac(_) => "v9",
                };
                Some(self.signature_value(timestamp, &[self.mac(&key, &content)], Some(version)))
            }
        };
        let mut headers = Vec::new();
        match &self.scheme {
            Scheme::Standard => {
                headers.push(("webhook-id".to_owned(), id.to_owned()));
                headers.push(("webhook-timestamp".to_owned(), timestamp.to_string()));
            }
            Scheme::GitHub => headers.push(("X-GitHub-Delivery".to_owned(), id.to_owned())),
            Scheme::Hmac(HmacHeader {
                timestamp: Some(name),
                ..
            }) => headers.push((name.clone(), timestamp.to_string())),
            _ => {}
        }
        if let Some(signature) = signature {
            headers.push((self.signature_header().to_owned(), signature));
        }
        headers
    }
}

/// A body changed after signing: a field the signature does not cover added at the
/// front of a JSON object (a name no event uses, so only the signature can tell), or
/// a byte appended to anything else.
pub(crate) fn tampered(body: &[u8]) -> Vec<u8> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start {
        Some(at) if body[at] == b'{' => {
            let mut out = body[..=at].to_vec();
            let rest = &body[at + 1..];
            let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
            out.extend_from_slice(br#""badgateway_tampered":true"#);
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(rest);
            out
        }
        _ => {
            let mut out = body.to_vec();
            out.push(b' ');
            out
        }
    }
}
