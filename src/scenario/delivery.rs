//! Webhook deliveries: what the provider sends to the handler under test in a case,
//! as pure data (the event, its changes, how it is signed or forged, when it comes).

use serde::{Deserialize, Serialize};

use super::mutation::Mutation;

/// One webhook delivery the provider makes to the handler under test: a declared
/// event (by type), changed by [`Mutation`]s of its headers and body before it is
/// signed, signed validly or [`Forgery`]-forged, sent alone or at once with the one
/// before. The signature is computed as the delivery is sent and never kept.
///
/// ```
/// use badgateway::{Delivery, Forgery};
/// let forged = Delivery::of("payment.succeeded").forged(Forgery::WrongSecret);
/// let json = serde_json::to_string(&forged).unwrap();
/// assert_eq!(json, r#"{"event":"payment.succeeded","forged":"wrong_secret"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// The declared event it is made from, by type (`payment.succeeded`).
    pub event: String,
    /// Changes to the event's headers and body, applied before it is signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// How its signature is forged; `None` for a valid signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forged: Option<Forgery>,
    /// The delivery (from 1) this one repeats: the same event id and body, signed
    /// anew, as a provider redelivers an event it is not sure arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<usize>,
    /// Sent at once with the delivery before, without waiting for its answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_once: bool,
    /// The body is sent in this many pieces, 20 ms apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drip: Option<usize>,
}

/// How a delivery's signature is forged: what an attacker (or a replay) sends.
///
/// ```
/// use badgateway::Forgery;
/// assert_eq!(Forgery::Stale.to_string(), "a valid signature over a timestamp an hour old (a replay)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forgery {
    /// No signature header at all.
    Unsigned,
    /// The signature header, empty.
    EmptyHeader,
    /// The signature header holding garbage (`t=,v1=zz`, not base64, not hex).
    Garbled,
    /// Signed with another secret.
    WrongSecret,
    /// Signed validly, then the body changed (an amount raised).
    TamperedBody,
    /// Signed validly over a timestamp an hour old: outside any tolerance.
    Stale,
    /// Two well-formed signatures in the header, neither made with the secret.
    SecondSignature,
    /// The valid MAC under a scheme version the provider never used (`v9=`).
    UnknownVersion,
}

impl Forgery {
    /// Every forgery, in the order the coverage phase sends them.
    pub const ALL: [Forgery; 8] = [
        Forgery::Unsigned,
        Forgery::EmptyHeader,
        Forgery::Garbled,
        Forgery::WrongSecret,
        Forgery::TamperedBody,
        Forgery::Stale,
        Forgery::SecondSignature,
        Forgery::UnknownVersion,
    ];
}

impl std::fmt::Display for Forgery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Forgery::Unsigned => "no signature",
            Forgery::EmptyHeader => "an empty signature header",
            Forgery::Garbled => "a garbled signature header",
            Forgery::WrongSecret => "a signature made with the wrong secret",
            Forgery::TamperedBody => "a valid signature over another body (tampered after signing)",
            Forgery::Stale => "a valid signature over a timestamp an hour old (a replay)",
            Forgery::SecondSignature => "two well-formed signatures, neither made with the secret",
            Forgery::UnknownVersion => {
                "the valid MAC under a scheme version the provider never used"
            }
        })
    }
}

impl Delivery {
    /// A validly signed delivery of the declared event of this type, unchanged.
    pub fn of(event: &str) -> Self {
        Self {
            event: event.to_owned(),
            ..Self::default()
        }
    }

    /// This delivery, forged so.
    pub fn forged(mut self, forgery: Forgery) -> Self {
        self.forged = Some(forgery);
        self
    }

    /// This delivery with one more change to the event before it is signed.
    pub fn with(mut self, mutation: Mutation) -> Self {
        self.mutations.push(mutation);
        self
    }

    /// This delivery, repeating delivery `n` (from 1): the same event id and body.
    pub fn again(mut self, n: usize) -> Self {
        self.again = Some(n);
        self
    }

    /// This delivery, sent at once with the one before.
    pub fn at_once(mut self) -> Self {
        self.at_once = true;
        self
    }

    /// This delivery, its body sent in `pieces` pieces.
    pub fn drip(mut self, pieces: usize) -> Self {
        self.drip = Some(pieces.clamp(2, 64));
        self
    }

    /// Whether the provider stands behind this delivery: signed validly. A forged
    /// one is an attacker's, whatever its body.
    pub fn is_genuine(&self) -> bool {
        self.forged.is_none()
    }
}
