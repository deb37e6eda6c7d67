//! No secret value reaches a fixture, snapshot, report, journal or JUnit file.
// See: issue "nothing secret is written, and no input breaks the harness", item 1.

use std::path::Path;
use std::time::Duration;

use badgateway::{Baseline, Campaign, Class, Response};

use crate::support::fresh_dir;

const QUERY_SECRET: &str = "qk_live_query_51Hq9f3kd02";
const BEARER_SECRET: &str = "bearer_live_77aa9c0e1b2d";
const BASIC_PASSWORD: &str = "basic-pass-5ea1f00d";
const API_KEY_SECRET: &str = "xak_live_f00dfeed4242";
const FORM_SECRET: &str = "cs_live_form_8c1d2e3f";
const CARD_NUMBER: &str = "4000056655665556";
const CVC: &str = "913";
const BASELINE_TOKEN: &str = "at_live_baseline_token_9a8b7c6d5e4f";

/// The Basic credentials as they travel: base64 of `merchant:PASSWORD`.
fn basic_header_value() -> String {
    // base64("merchant:basic-pass-5ea1f00d"), spelled out so the test needs no crate.
    "bWVyY2hhbnQ6YmFzaWMtcGFzcy01ZWExZjAwZA==".to_owned()
}

fn planted() -> Vec<String> {
    let mut all: Vec<String> = [
        QUERY_SECRET,
        BEARER_SECRET,
        BASIC_PASSWORD,
        API_KEY_SECRET,
        FORM_SECRET,
        CARD_NUMBER,
        BASELINE_TOKEN,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    all.push(basic_header_value());
    all
}

fn baseline() -> Baseline {
    Baseline::new()
        .endpoint(
            "POST",
            "/oauth/token",
            Response::json(
                200,
                &serde_json::json!({"access_token": BASELINE_TOKEN, "token_type": "bearer"}),
            ),
        )
        .endpoint(
            "POST",
            "/v1/charges",
            Response::json(200, &serde_json::json!({"id": "ch_1", "amount": 2500})),
        )
}

/// A careless client: it sends every kind of secret, and prints all of them (the URL
/// with its query, the token it got, its request bodies) when a charge fails.
async fn careless(url: String) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .map_err(|e| e.to_string())?;
    let form = format!("grant_type=client_credentials&client_secret={FORM_SECRET}");
    let token = http
        .post(format!("{url}/oauth/token"))
        .header("authorization", format!("Basic {}", basic_header_value()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let access = serde_json::from_str::<serde_json::Value>(&token)
        .ok()
        .and_then(|t| t["access_token"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let charge_url = format!("{url}/v1/charges?api_key={QUERY_SECRET}");
    let body = serde_json::json!({"amount": 2500, "card": {"number": CARD_NUMBER, "cvc": CVC}});
    let response = http
        .post(&charge_url)
        .header("authorization", format!("Bearer {BEARER_SECRET}"))
        .header("x-api-key", API_KEY_SECRET)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    assert!(
        status.is_success(),
        "charge failed with {status} at {charge_url} (token {access}, form {form}, body {body})"
    );
    response.text().await.map_err(|e| e.to_string())
}

/// Every file below `dir`, as text.
fn files_below(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
    out
}

#[test]
fn no_planted_secret_reaches_any_file_report_journal_or_snapshot() {
    let root = fresh_dir("secrets");
    let (fixtures, junit) = (root.join("fixtures"), root.join("junit"));
    let campaign = || {
        Campaign::new("secrets", baseline())
            .cases(48)
            .seed(7)
            .deadline(Duration::from_secs(2))
            .fixtures_dir(&fixtures)
            .junit_dir(&junit)
    };
    let report = campaign().run(careless).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.outcome.class() == Class::Panic),
        "the careless client panics with every secret in its message: {report}"
    );
    let replay = campaign().replay_report("careless", careless).unwrap();
    // Accept every verdict as its snapshot, as `cargo insta review` would, so the
    // snapshot files exist to be read.
    for verdict in &replay.verdicts {
        let dir = fixtures.join("secrets/snapshots");
        std::fs::create_dir_all(&dir).unwrap();
        let snap = dir.join(format!("careless__{}.snap", verdict.fixture.id));
        std::fs::write(snap, verdict.snapshot_text()).unwrap();
    }

    let mut texts: Vec<(String, String)> = files_below(&root);
    assert!(texts.iter().any(|(p, _)| p.ends_with(".snap")));
    assert!(texts.iter().any(|(p, _)| p.ends_with(".xml")));
    assert!(texts.iter().any(|(p, _)| p.ends_with(".json")));
    texts.push(("the printed report".into(), report.to_string()));
    texts.push(("the printed replay".into(), replay.to_string()));
    for finding in &report.findings {
        texts.push(("a finding's journal".into(), finding.journal.to_string()));
        texts.push(("a finding's outcome".into(), finding.outcome.to_string()));
    }
    for (place, text) in &texts {
        for secret in planted() {
            assert!(!text.contains(&secret), "{secret} reached {place}:\n{text}");
        }
        assert!(
            !text.contains(&format!("\"cvc\":\"{CVC}\"")) && !text.contains(&format!("cvc={CVC}")),
            "the CVC reached {place}:\n{text}"
        );
    }
    // The redacted forms are there instead, so the report still reads.
    assert!(report.to_string().contains("[redacted:"), "{report}");
}
