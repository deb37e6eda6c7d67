//! Webhooks: hostile deliveries to a handler under test, judged, shrunk and kept.
//!
//! Purpose-written handlers, each with one planted defect, are found by a default
//! webhook campaign at each of ten seeds; the correct handler beside them gets no
//! finding at any. Each signing scheme verifies its provider's published example.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use badgateway::{
    Baseline, Campaign, Class, Delivery, Event, Forgery, Handler, Report, Response, Rule, Scenario,
    Signing, Webhooks,
};
use hmac::{Hmac, Mac};
use payment_gateway::server::{serve, Delivery as Received};
use payment_gateway::webhooks::{hardened, naive, TEST_WEBHOOK_SECRET};
use serde::Deserialize;
use sha2::Sha256;

use crate::support::paygate_baseline;

const SECRET: &str = "whsec_shop_test_7Hq2mLx9";

/// What the shop's handler gets wrong, one defect at a time.
#[derive(Debug, Clone, Copy, Default)]
struct Defects {
    /// Panics on an event type it does not know.
    panics_on_unknown_type: bool,
    /// Takes any well-formed `v1` for a valid signature.
    trusts_any_signature: bool,
    /// Verifies the MAC, never the timestamp's age.
    accepts_stale: bool,
    /// Acts on every delivery of an event.
    no_dedupe: bool,
    /// Unwraps the order it fetches from the provider.
    unwraps_fetch: bool,
    /// Fetches the order at all.
    fetches: bool,
}

#[derive(Deserialize)]
struct ShopEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: ShopData,
}

#[derive(Deserialize)]
struct ShopData {
    order: String,
}

#[derive(Debug, Deserialize)]
struct Order {
    id: String,
    status: String,
}

fn shop_webhooks() -> Webhooks {
    Webhooks::new(Signing::stripe(SECRET))
        .event(Event::new(
            "payment.succeeded",
            serde_json::json!({"id": "evt_1", "type": "payment.succeeded", "created": 1764115200,
                "data": {"order": "ord_1", "amount": 500, "currency": "eur", "status": "paid"}}),
        ))
        .event(Event::new(
            "payment.refunded",
            serde_json::json!({"id": "evt_2", "type": "payment.refunded", "created": 1764115300,
                "data": {"order": "ord_1", "amount": 500, "currency": "eur", "status": "refunded"}}),
        ))
}

fn shop_baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/v1/orders/{id}",
        Response::json(
            200,
            &serde_json::json!({"id": "ord_1", "status": "paid", "amount": 500}),
        ),
    )
}

/// A `Stripe-Signature` check: the MACs that match, and whether the timestamp is
/// within five minutes; `None` when the header is not one.
fn stripe_check(header: &str, body: &[u8], any_well_formed: bool) -> Option<(bool, bool)> {
    let mut t = None;
    let mut macs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => macs.push(v),
            _ => {}
        }
    }
    let t = t?;
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let valid = macs.iter().any(|m| match any_well_formed {
        true => m.len() == 64 && m.bytes().all(|b| b.is_ascii_hexdigit()),
        false => *m == expected,
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Some((valid, now.abs_diff(t) <= 300))
}

/// Starts the shop's handler with these defects; returns it with its count of
/// orders fulfilled.
async fn shop(api: String, defects: Defects) -> Handler {
    let fulfilled = Arc::new(AtomicU64::new(0));
    let claimed: Arc<Mutex<HashSet<String>>> = Arc::default();
    let count = fulfilled.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = serve(move |delivery: Received| {
        let (api, count, claimed, http) =
            (api.clone(), count.clone(), claimed.clone(), http.clone());
        async move {
            let checked = delivery
                .header("stripe-signature")
                .and_then(|h| stripe_check(h, &delivery.body, defects.trusts_any_signature));
            match checked {
                Some((true, fresh)) if fresh || defects.accepts_stale => {}
                _ => return (400, "bad signature".to_owned()),
            }
            let Ok(event) = serde_json::from_slice::<ShopEvent>(&delivery.body) else {
                return (400, "not an event".to_owned());
            };
            // An order id it could never fetch is a 400, never a redelivery.
            let order = &event.data.order;
            let valid = order.len() <= 40
                && order.strip_prefix("ord_").is_some_and(|id| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !valid {
                return (400, "no such order id".to_owned());
            }
            match event.kind.as_str() {
                "payment.succeeded" | "payment.refunded" => {}
                other if defects.panics_on_unknown_type => panic!("unknown event type {other}"),
                _ => return (200, "ignored".to_owned()),
            }
            if !defects.no_dedupe && !claimed.lock().unwrap().insert(event.id.clone()) {
                return (200, "already handled".to_owned());
            }
            if event.kind == "payment.succeeded" {
                if defects.fetches {
                    let fetched = async {
                        let response = http
                            .get(format!("{api}/v1/orders/{}", event.data.order))
                            .send()
                            .await
                            .and_then(reqwest::Response::error_for_status)
                            .map_err(|e| e.to_string())?;
                        let body = response.bytes().await.map_err(|e| e.to_string())?;
                        serde_json::from_slice::<Order>(&body).map_err(|e| e.to_string())
                    };
                    let order = match fetched.await {
                        Ok(order) => order,
                        Err(e) if defects.unwraps_fetch => panic!("cannot read the order: {e}"),
                        Err(e) => {
                            claimed.lock().unwrap().remove(&event.id);
                            return (503, e);
                        }
                    };
                    if order.id != event.data.order || order.status != "paid" {
                        return (200, "not paid".to_owned());
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
            }
            (200, "ok".to_owned())
        }
    })
    .await;
    Handler::at(format!("{url}/webhooks")).counting(move || fulfilled.load(Ordering::SeqCst))
}

fn shop_campaign(seed: u64) -> Campaign {
    Campaign::new("webhooks.shop", shop_baseline())
        .webhooks(shop_webhooks())
        .seed(seed)
        .cases(48)
        .no_fixtures()
        .in_process()
}

/// A default webhook campaign (but for its case count) at seeds 1 to 10.
fn ten_seeds(defects: Defects) -> Vec<Report> {
    (1..=10)
        .map(|seed| {
            shop_campaign(seed)
                .run_handler(move |api| shop(api, defects))
                .unwrap()
        })
        .collect()
}

#[track_caller]
fn each_finds(reports: &[Report], what: impl Fn(&badgateway::Finding) -> bool, label: &str) {
    for report in reports {
        assert!(
            report.findings.iter().any(&what),
            "{label} not found at seed {:#x}:\n{report}",
            report.seed
        );
    }
}

#[track_caller]
fn clean(reports: &[Report]) {
    for report in reports {
        assert!(report.findings.is_empty(), "{report}");
    }
}

fn rule(finding: &badgateway::Finding, rule: Rule) -> bool {
    matches!(finding.outcome, badgateway::Outcome::Misbehaviour { rule: r, .. } if r == rule)
}

#[test]
fn the_correct_shop_handler_is_clean_at_ten_seeds() {
    clean(&ten_seeds(Defects::default()));
}

#[test]
fn the_correct_shop_handler_that_fetches_is_clean_at_ten_seeds() {
    clean(&ten_seeds(Defects {
        fetches: true,
        ..Defects::default()
    }));
}

#[test]
fn a_panic_on_an_unknown_event_type_is_found_at_ten_seeds() {
    let reports = ten_seeds(Defects {
        panics_on_unknown_type: true,
        ..Defects::default()
    });
    each_finds(
        &reports,
        |f| matches!(&f.outcome, badgateway::Outcome::Panic { message, .. } if message.contains("unknown event type")),
        "the panic on an unknown type",
    );
    // The report calls it what it is.
    let report = reports[0].to_string();
    assert!(
        report.contains("crash loop: the provider will redeliver this, at delivery 1"),
        "{report}"
    );
}

#[test]
fn a_wrong_signature_accepted_is_found_at_ten_seeds() {
    let reports = ten_seeds(Defects {
        trusts_any_signature: true,
        ..Defects::default()
    });
    each_finds(
        &reports,
        |f| rule(f, Rule::ForgedAccepted),
        "the forged delivery accepted",
    );
    for report in &reports {
        // What it shrinks to: one delivery, forged.
        let finding = report
            .findings
            .iter()
            .find(|f| rule(f, Rule::ForgedAccepted))
            .unwrap();
        assert_eq!(finding.scenario.deliveries.len(), 1, "{report}");
        assert!(finding.scenario.deliveries[0].forged.is_some(), "{report}");
    }
}

#[test]
fn a_stale_timestamp_accepted_is_found_at_ten_seeds() {
    let reports = ten_seeds(Defects {
        accepts_stale: true,
        ..Defects::default()
    });
    each_finds(
        &reports,
        |f| {
            rule(f, Rule::ForgedAccepted)
                && f.scenario
                    .deliveries
                    .iter()
                    .any(|d| d.forged == Some(Forgery::Stale))
        },
        "the replayed timestamp accepted",
    );
}

#[test]
fn a_duplicate_processed_twice_is_found_at_ten_seeds() {
    let reports = ten_seeds(Defects {
        no_dedupe: true,
        ..Defects::default()
    });
    each_finds(
        &reports,
        |f| rule(f, Rule::DuplicateDelivery),
        "the duplicate acted on twice",
    );
}

#[test]
fn a_handler_that_crashes_on_a_malformed_response_is_found_at_ten_seeds() {
    let reports = ten_seeds(Defects {
        fetches: true,
        unwraps_fetch: true,
        ..Defects::default()
    });
    each_finds(
        &reports,
        |f| {
            matches!(&f.outcome, badgateway::Outcome::Panic { message, .. } if message.contains("cannot read the order"))
                && !f.scenario.steps.is_empty()
                && !f.scenario.deliveries.is_empty()
        },
        "the crash on a malformed response",
    );
}

/// A handler that answers 500 to what it cannot read, rather than 400.
async fn answers_500_to_garbage(_api: String) -> Handler {
    let url = serve(|delivery: Received| async move {
        match stripe_check(
            delivery.header("stripe-signature").unwrap_or(""),
            &delivery.body,
            false,
        ) {
            Some((true, true)) => {}
            _ => return (400, "bad signature".to_owned()),
        }
        match serde_json::from_slice::<ShopEvent>(&delivery.body) {
            Ok(_) => (200, "ok".to_owned()),
            Err(e) => (500, e.to_string()),
        }
    })
    .await;
    Handler::at(url)
}

#[test]
fn a_5xx_to_a_body_it_cannot_read_is_a_crash_loop_and_a_5xx_when_the_api_fails_is_not() {
    let report = shop_campaign(1)
        .run_handler(answers_500_to_garbage)
        .unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| rule(f, Rule::CrashLoop))
        .unwrap_or_else(|| panic!("{report}"));
    let text = finding.outcome.to_string();
    assert!(
        text.contains("was answered 500, and again 500 when the provider redelivered it"),
        "{text}"
    );
    // The correct handler answers 503 whenever the provider's API fails it: the
    // redelivery is what it asks for, and no crash loop (see the clean runs above).
    let redelivered = Scenario::new()
        .deliver(Delivery::of("payment.succeeded"))
        .then(badgateway::faults::empty_response());
    let results = shop_campaign(1)
        .run_handler_scenarios(vec![redelivered], |api| {
            shop(
                api,
                Defects {
                    fetches: true,
                    ..Defects::default()
                },
            )
        })
        .unwrap();
    let answers: Vec<String> = results[0]
        .journal
        .deliveries
        .iter()
        .map(|d| d.answer.to_string())
        .collect();
    assert_eq!(answers, ["503", "200"], "{:?}", results[0]);
    assert_eq!(
        results[0].outcome.class(),
        Class::Ok,
        "{:?}",
        results[0].outcome
    );
}

#[test]
fn the_example_naive_handler_is_found_and_the_hardened_one_is_clean() {
    let campaign = |suite: &str| {
        Campaign::new(suite, paygate_baseline())
            .webhooks(paygate_webhooks())
            .cases(32)
            .no_fixtures()
    };
    let report = campaign("webhooks.naive")
        .run_handler(|api| async move {
            let running = naive::start(api).await;
            let fulfilled = running.fulfilled.clone();
            Handler::at(running.url).counting(move || fulfilled.load(Ordering::SeqCst))
        })
        .unwrap();
    let text = report.to_string();
    assert!(report.findings.iter().any(|f| matches!(&f.outcome, badgateway::Outcome::Panic { message, .. } if message.contains("unexpected event type"))), "{text}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| rule(f, Rule::ForgedAccepted)),
        "{text}"
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| rule(f, Rule::DuplicateDelivery)),
        "{text}"
    );
    // The secret never reaches the report.
    assert!(!text.contains(TEST_WEBHOOK_SECRET), "{text}");
    let report = campaign("webhooks.hardened")
        .run_handler(|api| async move {
            let running = hardened::start(api).await;
            let fulfilled = running.fulfilled.clone();
            Handler::at(running.url).counting(move || fulfilled.load(Ordering::SeqCst))
        })
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
}

/// Paygate's webhooks as the example declares them.
pub(super) fn paygate_webhooks() -> Webhooks {
    Webhooks::from_file(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/webhooks/paygate.json"
        ),
        Signing::stripe(TEST_WEBHOOK_SECRET),
    )
    .expect("the bundled webhooks file loads")
}

/// The hex of a MAC.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn hmac_sha256_is_rfc_4231s() {
    // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    let signing = Signing::hmac("X-Signature", "Jefe");
    let headers = signing.headers("evt", 0, b"what do ya want for nothing?");
    assert_eq!(
        headers,
        [(
            "X-Signature".to_owned(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843".to_owned()
        )]
    );
    let base64 = Signing::hmac("X-Signature", "Jefe")
        .base64()
        .prefix("sha256=");
    assert_eq!(
        base64.headers("evt", 0, b"what do ya want for nothing?")[0].1,
        "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    );
}

#[test]
fn githubs_signature_is_its_published_example() {
    // docs.github.com, "Validating webhook deliveries", testing the webhook payload
    // validation: secret "It's a Secret to Everybody", payload "Hello, World!".
    let signing = Signing::github("It's a Secret to Everybody");
    let headers = signing.headers("7f5b1c00-0000-11ee-8000-000000000000", 0, b"Hello, World!");
    assert!(
        headers.contains(&(
            "X-Hub-Signature-256".to_owned(),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".to_owned()
        )),
        "{headers:?}"
    );
    assert!(headers.contains(&(
        "X-GitHub-Delivery".to_owned(),
        "7f5b1c00-0000-11ee-8000-000000000000".to_owned()
    )));
}

#[test]
fn standard_webhooks_signature_is_its_specs_example() {
    // The Standard Webhooks specification's example (spec/standard-webhooks.md).
    let signing = Signing::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let headers = signing.headers(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(
        headers,
        [
            (
                "webhook-id".to_owned(),
                "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()
            ),
            ("webhook-timestamp".to_owned(), "1614265330".to_owned()),
            (
                "webhook-signature".to_owned(),
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()
            ),
        ]
    );
}

#[test]
fn stripes_signature_is_its_documented_construction() {
    // Stripe publishes no test vector: docs.stripe.com/webhooks#verify-manually says
    // the header is `t=<timestamp>,v1=<signature>`, the signature an HMAC-SHA256 in
    // hex keyed with the endpoint secret over `<timestamp>.<payload>`. HMAC-SHA256
    // itself is pinned by RFC 4231 above; this pins the construction, and that the
    // example handler's verification (written from the docs) accepts it.
    let secret = "whsec_test_secret";
    let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
    let headers = Signing::stripe(secret).headers("evt_test_webhook", 1_492_774_577, body);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(b"1492774577.");
    mac.update(body);
    let expected = format!("t=1492774577,v1={}", hex(&mac.finalize().into_bytes()));
    assert_eq!(headers, [("Stripe-Signature".to_owned(), expected)]);
}

#[test]
fn each_forgery_reaches_the_wire_as_it_says_and_a_correct_verifier_refuses_it() {
    let signing = Signing::stripe(SECRET);
    let forgeries: Vec<Forgery> = Forgery::ALL
        .into_iter()
        .filter(|f| signing.forges(*f))
        .collect();
    assert_eq!(forgeries.len(), 8, "Stripe's scheme can show every forgery");
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let recorded = seen.clone();
    let scenarios: Vec<Scenario> = forgeries
        .iter()
        .map(|f| Scenario::new().deliver(Delivery::of("payment.succeeded").forged(*f)))
        .collect();
    let results = shop_campaign(1)
        .concurrency(1)
        .run_handler_scenarios(scenarios, move |_| {
            let recorded = recorded.clone();
            async move {
                let url = serve(move |delivery: Received| {
                    let recorded = recorded.clone();
                    async move {
                        let checked = delivery
                            .header("stripe-signature")
                            .and_then(|h| stripe_check(h, &delivery.body, false));
                        recorded.lock().unwrap().push(delivery);
                        match checked {
                            Some((true, true)) => (200, "ok".to_owned()),
                            _ => (400, "refused".to_owned()),
                        }
                    }
                })
                .await;
                Handler::at(url)
            }
        })
        .unwrap();
    for (forgery, result) in forgeries.iter().zip(&results) {
        let answers: Vec<String> = result
            .journal
            .deliveries
            .iter()
            .map(|d| d.answer.to_string())
            .collect();
        assert_eq!(answers, ["400"], "{forgery}: {result:?}");
        assert_eq!(result.journal.deliveries[0].forged, Some(*forgery));
        assert_eq!(result.outcome.class(), Class::Ok);
    }
    let seen = seen.lock().unwrap();
    let header = |i: usize| seen[i].header("stripe-signature").map(str::to_owned);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(header(0), None, "unsigned");
    assert_eq!(header(1).as_deref(), Some(""), "an empty header");
    assert_eq!(header(2).as_deref(), Some("t=,v1=zz,="), "garbled");
    // The wrong secret and two signatures: well formed, and neither verifies.
    for i in [3, 6] {
        let h = header(i).unwrap();
        assert!(h.starts_with("t=") && h.contains(",v1="), "{h}");
        assert_eq!(
            stripe_check(&h, &seen[i].body, true),
            Some((true, true)),
            "{h}"
        );
        assert_eq!(
            stripe_check(&h, &seen[i].body, false),
            Some((false, true)),
            "{h}"
        );
    }
    assert_eq!(header(6).unwrap().matches("v1=").count(), 2);
    // Tampered: the signature holds for another body than the one sent.
    assert!(String::from_utf8_lossy(&seen[4].body).starts_with(r#"{"badgateway_tampered":true,"#));
    // Stale: the MAC verifies, over a timestamp an hour old.
    let stale = header(5).unwrap();
    let t: u64 = stale[2..stale.find(',').unwrap()].parse().unwrap();
    assert!(now - t >= 3_590, "{stale}");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&seen[5].body);
    assert!(
        stale.ends_with(&hex(&mac.finalize().into_bytes())),
        "{stale}"
    );
    // An unknown version: the valid MAC, labelled v9.
    assert!(header(7).unwrap().contains(",v9="), "{:?}", header(7));
    // No signature reaches the journal.
    for result in &results {
        let journal = serde_json::to_string(&result.journal).unwrap();
        assert!(
            !journal.contains("v1=") && !journal.contains(SECRET),
            "{journal}"
        );
    }
    // GitHub signs no timestamp: there is no stale delivery to forge.
    assert!(!Signing::github("s").forges(Forgery::Stale));
    assert!(!Signing::hmac("X-Sig", "s").forges(Forgery::UnknownVersion));
}

#[test]
fn a_standard_webhooks_secret_that_is_not_base64_is_refused_with_the_fix() {
    let error = Campaign::new("webhooks.bad_secret", Baseline::new())
        .webhooks(
            Webhooks::new(Signing::standard("whsec_not base64!"))
                .event(Event::new("a", serde_json::json!({}))),
        )
        .no_fixtures()
        .in_process()
        .run_handler(|_| async { Handler::at("http://127.0.0.1:9/") })
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the part after `whsec_` is not base64"),
        "{error}"
    );
}

#[test]
fn a_webhooks_file_that_is_not_one_names_the_file_the_position_and_the_fix() {
    let dir = std::env::temp_dir().join(format!("badgateway-webhooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.json");
    std::fs::write(&path, "{\"events\": [{\"type\": \"a\", \"bdy\": {}}]}").unwrap();
    let error = Webhooks::from_file(&path, Signing::github("s")).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("events.json:1:"), "{text}");
    assert!(text.contains("unknown field `bdy`"), "{text}");
    assert!(text.contains("a webhooks file is"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every file under `dir`, read.
fn all_files(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_files(&path));
        } else {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    out
}

#[test]
fn the_signing_secret_and_signatures_reach_no_fixture_snapshot_report_or_junit_file() {
    let dir = crate::support::fresh_dir("webhook-secrets");
    let (fixtures, junit) = (dir.join("fixtures"), dir.join("junit"));
    // A handler that echoes what it got (the signature header included) in its
    // panic message, as a careless one logs a request.
    let report = Campaign::new("webhooks.secrets", shop_baseline())
        .webhooks(shop_webhooks())
        .cases(8)
        .fixtures_dir(&fixtures)
        .junit_dir(&junit)
        .run_handler(|_| async move {
            let url = serve(|delivery: Received| async move {
                match delivery.header("stripe-signature") {
                    Some(h)
                        if h.contains("v1=") && !delivery.body.starts_with(b"{\"badgateway") =>
                    {
                        if String::from_utf8_lossy(&delivery.body).contains("unknown_event") {
                            panic!("cannot handle {:?} with secret {SECRET}", delivery.headers);
                        }
                        (200, "ok".to_owned())
                    }
                    _ => (400, "no".to_owned()),
                }
            })
            .await;
            Handler::at(url)
        })
        .unwrap();
    assert!(!report.findings.is_empty(), "{report}");
    let written = format!("{report}\n{}\n{}", all_files(&fixtures), all_files(&junit));
    assert!(
        written.contains("cannot handle"),
        "the panic is reported: {written}"
    );
    assert!(!written.contains(SECRET), "{written}");
    // The handler echoed its signature header: the MAC in it is redacted.
    assert!(written.contains("v1=[redacted:"), "{written}");
    assert!(
        written
            .match_indices("v1=")
            .all(|(at, _)| written[at + 3..].starts_with("[redacted:")),
        "no signature is written: {written}"
    );
    assert!(format!("{:?}", Signing::stripe(SECRET)).contains("secret redacted"));
    assert!(!format!("{:?}", shop_webhooks()).contains(SECRET));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A handler verifying GitHub's or Standard Webhooks' signature, strictly or
/// sloppily (any version label taken, the MAC compared alone).
async fn verifying(scheme: &'static str, secret: &'static str, sloppy: bool) -> Handler {
    let url = serve(move |delivery: Received| async move {
        let mac = |key: &[u8], content: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(content);
            mac.finalize().into_bytes().to_vec()
        };
        let valid = match scheme {
            "github" => {
                let expected = hex(&mac(secret.as_bytes(), &delivery.body));
                delivery
                    .header("x-hub-signature-256")
                    .is_some_and(|h| match sloppy {
                        true => h.split_once('=').is_some_and(|(_, m)| m == expected),
                        false => h == format!("sha256={expected}"),
                    })
            }
            _ => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD;
                let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap();
                let (Some(id), Some(t), Some(sigs)) = (
                    delivery.header("webhook-id"),
                    delivery.header("webhook-timestamp"),
                    delivery.header("webhook-signature"),
                ) else {
                    return (400, "unsigned".to_owned());
                };
                let Ok(t) = t.parse::<u64>() else {
                    return (400, "bad timestamp".to_owned());
                };
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let mut content = format!("{id}.{t}.").into_bytes();
                content.extend_from_slice(&delivery.body);
                let expected = b64.encode(mac(&key, &content));
                now.abs_diff(t) <= 300
                    && sigs.split(' ').any(|s| match (s.split_once(','), sloppy) {
                        (Some((_, m)), true) => m == expected,
                        (Some(("v1", m)), false) => m == expected,
                        _ => false,
                    })
            }
        };
        match valid {
            true => (200, "ok".to_owned()),
            false => (401, "bad signature".to_owned()),
        }
    })
    .await;
    Handler::at(url)
}

#[test]
fn github_and_standard_webhooks_deliveries_pass_a_strict_verifier_and_catch_a_sloppy_one() {
    const STANDARD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let event = || {
        Event::new(
            "push",
            serde_json::json!({"id": "evt_1", "type": "push", "ref": "refs/heads/main"}),
        )
    };
    for (scheme, signing, secret) in [
        (
            "github",
            Signing::github("It's a Secret to Everybody"),
            "It's a Secret to Everybody",
        ),
        ("standard", Signing::standard(STANDARD), STANDARD),
    ] {
        let campaign = || {
            Campaign::new("webhooks.schemes", Baseline::new())
                .webhooks(Webhooks::new(signing.clone()).event(event()))
                .cases(16)
                .no_fixtures()
                .in_process()
        };
        let strict = campaign()
            .run_handler(move |_| verifying(scheme, secret, false))
            .unwrap();
        assert!(strict.findings.is_empty(), "{scheme}: {strict}");
        let sloppy = campaign()
            .run_handler(move |_| verifying(scheme, secret, true))
            .unwrap();
        let signatures: Vec<String> = sloppy
            .findings
            .iter()
            .map(|f| f.signature.clone())
            .collect();
        assert_eq!(
            signatures,
            ["accepted a forged delivery: the valid MAC under a scheme version the provider never used"],
            "{scheme}: {sloppy}"
        );
    }
}

/// A handler that checks an event id was seen, then acts, then marks it: two
/// deliveries of one event at once both act.
async fn racy_dedupe(_api: String) -> Handler {
    let fulfilled = Arc::new(AtomicU64::new(0));
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let count = fulfilled.clone();
    let url = serve(move |delivery: Received| {
        let (seen, count) = (seen.clone(), count.clone());
        async move {
            match stripe_check(
                delivery.header("stripe-signature").unwrap_or(""),
                &delivery.body,
                false,
            ) {
                Some((true, true)) => {}
                _ => return (400, "bad signature".to_owned()),
            }
            let Ok(event) = serde_json::from_slice::<ShopEvent>(&delivery.body) else {
                return (400, "not an event".to_owned());
            };
            if seen.lock().unwrap().contains(&event.id) {
                return (200, "already handled".to_owned());
            }
            // The order is fulfilled (a call elsewhere), then the id is marked.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if event.kind == "payment.succeeded" {
                count.fetch_add(1, Ordering::SeqCst);
            }
            seen.lock().unwrap().insert(event.id);
            (200, "ok".to_owned())
        }
    })
    .await;
    Handler::at(url).counting(move || fulfilled.load(Ordering::SeqCst))
}

#[test]
fn a_check_then_act_dedupe_is_found_by_two_deliveries_at_once() {
    let report = shop_campaign(1).run_handler(racy_dedupe).unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| rule(f, Rule::DuplicateDelivery))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        finding.scenario.deliveries.iter().any(|d| d.at_once),
        "{report}"
    );
    assert!(finding.outcome.to_string().contains("at once"), "{report}");
    assert_eq!(report.findings.len(), 1, "{report}");
}

#[test]
fn a_handler_that_aborts_the_process_is_a_crash_and_a_crash_loop_in_an_isolated_campaign() {
    let report = Campaign::new("webhooks.abort", shop_baseline())
        .webhooks(shop_webhooks())
        .cases(8)
        .no_fixtures()
        .run_handler(|api| async move {
            let handler = shop(api, Defects::default()).await;
            let url = serve(move |delivery: Received| async move {
                if String::from_utf8_lossy(&delivery.body)
                    .contains(badgateway::deliveries::UNKNOWN_EVENT_TYPE)
                {
                    std::process::abort();
                }
                (200, "ok".to_owned())
            })
            .await;
            let _ = handler;
            Handler::at(url)
        })
        .unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.outcome.class() == Class::Crash)
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(finding.signature, "crash: signal 6 (SIGABRT)");
    let text = report.to_string();
    assert!(
        text.contains("crash loop: the provider will redeliver this, at one of its deliveries"),
        "{text}"
    );
    assert_eq!(
        finding.scenario.deliveries.len(),
        1,
        "shrunk to the one delivery: {text}"
    );
}

const SPEC: &str = r##"{"openapi": "3.1.0", "info": {"title": "invoices", "version": "1"}, "paths": {
  "/v1/subscriptions": {"post": {"operationId": "subscribe", "responses": {"201": {"description": "ok"}},
    "callbacks": {"renewed": {"{$request.body#/callback}": {"post": {"requestBody": {"content": {"application/json": {
      "schema": {"type": "object", "required": ["id", "type", "period"], "properties": {
        "id": {"type": "string"}, "type": {"const": "subscription.renewed"}, "period": {"type": "integer", "minimum": 1}}}}}},
      "responses": {"200": {"description": "ok"}}}}}}}}},
  "webhooks": {"invoicePaid": {"post": {"requestBody": {"$ref": "#/components/requestBodies/InvoicePaid"},
    "responses": {"200": {"description": "ok"}}}}},
  "components": {"requestBodies": {"InvoicePaid": {"content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/InvoicePaid"},
    "example": {"id": "evt_9", "type": "invoice.paid", "amount": 1200, "currency": "eur"}}}}},
    "schemas": {"InvoicePaid": {"type": "object", "required": ["id", "type", "amount", "currency"], "properties": {
      "id": {"type": "string"}, "type": {"const": "invoice.paid"},
      "amount": {"type": "integer", "minimum": 1}, "currency": {"type": "string", "enum": ["eur", "usd"]}}}}}}"##;

/// A handler that reads the invoice's amount as an integer and answers 500 when it
/// cannot (or 400, when `careful`).
async fn invoices(careful: bool) -> Handler {
    let url = serve(move |delivery: Received| async move {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cr3t-value-for-tests").unwrap();
        mac.update(&delivery.body);
        if delivery.header("x-signature") != Some(hex(&mac.finalize().into_bytes()).as_str()) {
            return (401, "bad signature".to_owned());
        }
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(&delivery.body) else {
            return (400, "not JSON".to_owned());
        };
        if event["type"] != "invoice.paid" {
            return (200, "ignored".to_owned());
        }
        match (event["amount"].as_i64(), careful) {
            (Some(amount), _) if amount >= 1 => (200, "ok".to_owned()),
            (_, true) => (400, "no amount".to_owned()),
            (_, false) => (500, "no amount".to_owned()),
        }
    })
    .await;
    Handler::at(url)
}

#[test]
fn events_come_from_a_contracts_webhooks_and_callbacks_and_its_clauses_break_them() {
    let contract = badgateway::Contract::from_str(SPEC, "invoices.json").unwrap();
    let webhooks = Webhooks::from_contract(
        &contract,
        Signing::hmac("X-Signature", "s3cr3t-value-for-tests"),
    )
    .unwrap();
    let kinds: Vec<&str> = webhooks.events().iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["invoice.paid", "subscription.renewed"]);
    // The webhook's example; the callback's body generated from its schema.
    assert_eq!(webhooks.events()[0].body["amount"], 1200);
    assert!(contract.validate(
        "/paths/~1v1~1subscriptions/post/callbacks/renewed/{$request.body#~1callback}/post/requestBody/content/application~1json/schema",
        &webhooks.events()[1].body
    ).is_ok(), "{:?}", webhooks.events()[1].body);
    // Conforming bodies generated from the schema are delivered too, each with the
    // delivery's own id.
    let generated: Vec<serde_json::Value> = badgateway::deliveries::coverage(&webhooks)
        .iter()
        .flat_map(|s| &s.deliveries)
        .filter(|d| d.event == "invoice.paid")
        .flat_map(|d| &d.mutations)
        .filter_map(|m| match m {
            badgateway::Mutation::ReplaceBody { text } if !text.contains("x_badgateway_added") => {
                serde_json::from_str(&text.replace("{{event.id}}", "evt_1")).ok()
            }
            _ => None,
        })
        .collect();
    assert_eq!(generated.len(), 3, "{generated:?}");
    for body in &generated {
        assert!(
            contract
                .validate("/components/schemas/InvoicePaid", body)
                .is_ok(),
            "{body}"
        );
        assert_eq!(body["id"], "evt_1");
    }
    let campaign = || {
        Campaign::new("webhooks.invoices", Baseline::new())
            .webhooks(webhooks.clone())
            .cases(16)
            .no_fixtures()
            .in_process()
    };
    let report = campaign().run_handler(|_| invoices(false)).unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| rule(f, Rule::CrashLoop))
        .unwrap_or_else(|| panic!("{report}"));
    let change = serde_json::to_string(&finding.scenario.deliveries[0].mutations).unwrap();
    assert!(change.contains("amount"), "{change}");
    let clean = campaign().run_handler(|_| invoices(true)).unwrap();
    assert!(clean.findings.is_empty(), "{clean}");
    let none = badgateway::Contract::from_str(
        r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#,
        "empty.json",
    )
    .unwrap();
    let error = Webhooks::from_contract(&none, Signing::github("s")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("empty.json documents no webhook"),
        "{error}"
    );
}

#[test]
fn a_case_of_deliveries_and_responses_shrinks_across_both() {
    // The handler crashes on a malformed order; the case also holds deliveries and
    // changes that play no part. Shrinking keeps the one delivery that fetches and
    // the one broken response.
    let scenario = Scenario::new()
        .deliver(Delivery::of("payment.refunded"))
        .deliver(Delivery::of("payment.succeeded").forged(Forgery::WrongSecret))
        .deliver(Delivery::of("payment.succeeded"))
        .then(badgateway::faults::truncate_body_at(10));
    let finding = shop_campaign(1)
        .minimize_handler(scenario, |api| {
            shop(
                api,
                Defects {
                    fetches: true,
                    unwraps_fetch: true,
                    ..Defects::default()
                },
            )
        })
        .unwrap()
        .expect("the truncated order panics the handler");
    assert_eq!(
        finding.scenario,
        Scenario::new()
            .deliver(Delivery::of("payment.succeeded"))
            .then(badgateway::faults::truncate_body_at(0))
    );
}
