//! Paygate's webhooks, received twice: Paygate delivers `charge.succeeded` and
//! `charge.refunded` events signed as Stripe signs them (`Stripe-Signature: t=…,v1=…`),
//! and redelivers any delivery not answered with a 2xx.
//!
//! - [`naive`] fulfils the order of a succeeded charge: it checks a signature only
//!   when there is one, panics on an event type it does not know, and fulfils an event
//!   delivered twice twice.
//! - [`hardened`] verifies every delivery (signature and timestamp age) before
//!   reading it, answers 400 to what it cannot read and 2xx to types it does not
//!   handle, claims each event id once, and answers 503 when Paygate's API fails it,
//!   so Paygate's redelivery comes back later.
//!
//! Both fetch the charge an event names from Paygate's API before fulfilling it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::server::{serve, Delivery};
use crate::{hardened as api, naive as naive_api};

/// The webhook signing secret of the examples' test endpoint. It must never appear
/// in a badgateway journal, fixture or report.
pub const TEST_WEBHOOK_SECRET: &str = "whsec_4eC39HqLyjWDarjtT1zdp7dcHqLy";

/// A webhook handler running: where Paygate delivers, and the orders it fulfilled.
#[derive(Debug, Clone)]
pub struct Running {
    /// The URL deliveries are posted to.
    pub url: String,
    /// Orders fulfilled so far.
    pub fulfilled: Arc<AtomicU64>,
}

impl Running {
    /// Orders fulfilled so far.
    pub fn fulfilled(&self) -> u64 {
        self.fulfilled.load(Ordering::SeqCst)
    }
}

/// An event as Paygate documents it.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Debug, Deserialize)]
struct EventObject {
    id: String,
}

/// The handler as it was first written.
pub mod naive {
    use super::*;

    /// Starts the handler on the current runtime, calling Paygate at `api_url`.
    pub async fn start(api_url: String) -> Running {
        let fulfilled = Arc::new(AtomicU64::new(0));
        let count = fulfilled.clone();
        let url = serve(move |delivery: Delivery| {
            let (api_url, count) = (api_url.clone(), count.clone());
            async move {
                // Checked when it is there.
                if let Some(header) = delivery.header("stripe-signature") {
                    if !signed(header, &delivery.body, TEST_WEBHOOK_SECRET, None) {
                        return (400, "bad signature".to_owned());
                    }
                }
                let event: Event = serde_json::from_slice(&delivery.body).unwrap();
                match event.kind.as_str() {
                    "charge.succeeded" => {
                        let charge = naive_api::Client::new(&api_url, crate::TEST_SECRET_KEY)
                            .charge(&event.data.object.id)
                            .await
                            .unwrap();
                        if charge.status == naive_api::Status::Succeeded {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    "charge.refunded" => {}
                    other => panic!("unexpected event type {other}"),
                }
                (200, "ok".to_owned())
            }
        })
        .await;
        Running {
            url: format!("{url}/webhooks/paygate"),
            fulfilled,
        }
    }
}

/// The handler that keeps Paygate's redeliveries from ever looping.
pub mod hardened {
    use super::*;

    /// How old a signed timestamp may be: Stripe's default tolerance.
    pub const TOLERANCE: Duration = Duration::from_secs(300);

    /// Starts the handler on the current runtime, calling Paygate at `api_url`.
    pub async fn start(api_url: String) -> Running {
        let fulfilled = Arc::new(AtomicU64::new(0));
        let count = fulfilled.clone();
        let claimed: Arc<Mutex<HashSet<String>>> = Arc::default();
        let url = serve(move |delivery: Delivery| {
            let (api_url, count, claimed) = (api_url.clone(), count.clone(), claimed.clone());
            async move {
                let verified = delivery.header("stripe-signature").is_some_and(|h| {
                    signed(h, &delivery.body, TEST_WEBHOOK_SECRET, Some(TOLERANCE))
                });
                if !verified {
                    return (400, "the signature does not verify".to_owned());
                }
                let Ok(event) = serde_json::from_slice::<Event>(&delivery.body) else {
                    return (400, "not a Paygate event".to_owned());
                };
                if !matches!(event.kind.as_str(), "charge.succeeded" | "charge.refunded") {
                    return (200, "ignored".to_owned());
                }
                // Claimed before acting, so two deliveries at once act once.
                if !claimed.lock().expect("claims").insert(event.id.clone()) {
                    return (200, "already handled".to_owned());
                }
                let release = |why: String| {
                    claimed.lock().expect("claims").remove(&event.id);
                    (503, why)
                };
                if event.kind == "charge.succeeded" {
                    let client = api::Client::new(
                        &api_url,
                        crate::TEST_SECRET_KEY,
                        api::Config::quick(Duration::from_millis(150)),
                    );
                    match client.charge(&event.data.object.id).await {
                        Ok(charge) if charge.status == api::Status::Succeeded => {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(e) => return release(format!("Paygate failed us: {e}")),
                    }
                }
                (200, "ok".to_owned())
            }
        })
        .await;
        Running {
            url: format!("{url}/webhooks/paygate"),
            fulfilled,
        }
    }
}

/// Whether a `Stripe-Signature` header signs `body` with `secret`: any `v1` MAC over
/// `{t}.{body}` matches, and `t` is within `tolerance` of now when one is given.
fn signed(header: &str, body: &[u8], secret: &str, tolerance: Option<Duration>) -> bool {
    let mut timestamp = None;
    let mut macs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", mac)) => macs.push(mac),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if let Some(tolerance) = tolerance {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now.abs_diff(t) > tolerance.as_secs() {
            return false;
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    macs.iter().any(|m| *m == expected)
}
