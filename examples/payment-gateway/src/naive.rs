//! The integration as it was first written: fine on the happy path, and nowhere else.
//!
//! Every bug here is deliberate and typical; badgateway finds them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A Paygate client with no timeout and no doubt.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
}

/// A charge as Paygate documents it.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// `ch_...`
    pub id: String,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217, lowercase.
    pub currency: String,
    /// Where the charge is.
    pub status: Status,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// The caller's own keys.
    pub metadata: HashMap<String, String>,
}

/// The documented charge statuses, and no others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Paid.
    Succeeded,
    /// Not yet.
    Pending,
    /// Declined.
    Failed,
}

/// How a charge was paid.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentMethod {
    /// The card.
    pub card: Card,
}

/// A card, as far as Paygate tells.
#[derive(Debug, Clone, Deserialize)]
pub struct Card {
    /// `visa`, `mastercard`...
    pub brand: String,
    /// Last four digits.
    pub last4: String,
}

/// A page of charges.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeList {
    /// The charges.
    pub data: Vec<Charge>,
    /// Whether another page follows.
    pub has_more: bool,
}

/// A refund.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// `re_...`
    pub id: String,
    /// Minor units.
    pub amount: u64,
    /// The refunded charge.
    pub charge: String,
}

#[derive(Serialize)]
struct NewCharge<'a> {
    amount: u64,
    currency: &'a str,
    payment_method: &'a str,
    metadata: HashMap<&'a str, &'a str>,
}

impl Client {
    /// A client for the API at `base_url`.
    pub fn new(base_url: &str, secret_key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        }
    }

    /// Charges a card and returns the receipt line for the order confirmation page.
    pub async fn create_charge(
        &self,
        amount: u64,
        currency: &str,
        order_id: &str,
    ) -> Result<(Charge, String), reqwest::Error> {
        let body = NewCharge {
            amount,
            currency,
            payment_method: "pm_card_visa",
            metadata: HashMap::from([("order_id", order_id)]),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self
                .http
                .post(format!("{}/v1/charges", self.base_url))
                .bearer_auth(&self.secret_key)
                // A new key per attempt: a retry after a timeout charges twice.
                .header("Idempotency-Key", format!("{order_id}-{attempt}"))
                .json(&body)
                .send()
                .await?;
            if response.status().is_server_error() {
                continue; // at once, forever
            }
            let text = response.text().await?;
            // "Paygate always answers JSON."
            let charge: Charge = serde_json::from_str(&text).unwrap();
            let last4 = &charge.payment_method.card.last4;
            let receipt = format!(
                "{} ending in {}",
                charge.payment_method.card.brand,
                &last4[last4.len() - 4..]
            );
            return Ok((charge, receipt));
        }
    }

    /// Fetches a charge.
    pub async fn charge(&self, id: &str) -> Result<Charge, reqwest::Error> {
        let response = self
            .http
            .get(format!("{}/v1/charges/{id}", self.base_url))
            .bearer_auth(&self.secret_key)
            .send()
            .await?;
        Ok(response.json::<Charge>().await.unwrap())
    }

    /// Refunds a charge in full.
    pub async fn refund(&self, charge: &Charge) -> Result<Refund, reqwest::Error> {
        let response = self
            .http
            .post(format!("{}/v1/refunds", self.base_url))
            .bearer_auth(&self.secret_key)
            .json(&serde_json::json!({"charge": charge.id, "amount": charge.amount}))
            .send()
            .await?;
        let refund: Refund = response.json().await.unwrap();
        assert_eq!(refund.amount, charge.amount, "partial refund");
        Ok(refund)
    }

    /// Every charge, following the cursor until the provider says there are no more.
    pub async fn all_charges(&self) -> Result<Vec<Charge>, reqwest::Error> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/charges?limit=100", self.base_url);
            if let Some(after) = &cursor {
                url.push_str(&format!("&starting_after={after}"));
            }
            let page: ChargeList = self
                .http
                .get(url)
                .bearer_auth(&self.secret_key)
                .send()
                .await?
                .json()
                .await
                .unwrap();
            cursor = page.data.last().map(|c| c.id.clone());
            all.extend(page.data);
            if !page.has_more {
                return Ok(all);
            }
        }
    }

    /// Waits for a refund to settle: polls it until it is no longer `pending`, at
    /// once and for as long as that takes.
    pub async fn settled_refund(&self, id: &str) -> Result<String, reqwest::Error> {
        #[derive(Deserialize)]
        struct State {
            status: String,
        }
        loop {
            let state: State = self
                .http
                .get(format!("{}/v1/refunds/{id}", self.base_url))
                .bearer_auth(&self.secret_key)
                .send()
                .await?
                .json()
                .await
                .unwrap();
            if state.status != "pending" {
                return Ok(state.status);
            }
        }
    }
}
