//! The finding report's exact text, pinned with insta: a panic, a hang, a framing fault
//! and a multi-step case.

use std::collections::BTreeMap;
use std::time::Duration;

use badgateway::{faults, Baseline, Campaign, Finding, Framing, Report, Response, Scenario};

fn baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/v1/charges/ch_1",
        Response::json(
            200,
            &serde_json::json!({"id": "ch_1", "amount": 2500, "card": {"last4": "4242"}}),
        )
        .header("request-id", "req_1"),
    )
}

/// Fetches the charge and trusts it, retrying once on a 503.
async fn trusting_client(url: String) -> Result<i64, String> {
    let get = || reqwest::get(format!("{url}/v1/charges/ch_1"));
    let first = get().await.map_err(|e| e.to_string())?;
    if first.status().as_u16() == 503 {
        let retry = get()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let charge: serde_json::Value =
            serde_json::from_str(&retry).expect("the retry's body is JSON");
        return Ok(charge["amount"].as_i64().unwrap_or_default());
    }
    let body = first.text().await.map_err(|e| e.to_string())?;
    let charge: serde_json::Value = serde_json::from_str(&body).expect("the body is JSON");
    Ok(charge["amount"].as_i64().unwrap_or_default())
}

/// The report of one minimised finding, with the run-dependent header fixed.
fn report_of(scenario: Scenario) -> String {
    let finding: Finding = Campaign::new("reports", baseline())
        .deadline(Duration::from_millis(300))
        .minimize(scenario, trusting_client)
        .unwrap()
        .expect("the scenario is a finding");
    shown(finding)
}

/// The report of one finding, as a campaign would print it.
fn shown(finding: Finding) -> String {
    Report {
        suite: "reports".into(),
        seed: 0x2a,
        cases: 1,
        coverage: 0,
        deadline: Duration::from_millis(300),
        tally: BTreeMap::from([(finding.outcome.class(), 1)]),
        findings: vec![finding],
        elapsed: Duration::ZERO,
        shrinking: Duration::ZERO,
        rerun: "cargo test reports".into(),
        warnings: vec![],
    }
    .to_string()
}

#[test]
fn a_panic_report() {
    insta::assert_snapshot!(
        "panic",
        report_of(Scenario::new().then(faults::truncate_body_at(30)))
    );
}

#[test]
fn a_hang_report() {
    insta::assert_snapshot!(
        "hang",
        report_of(Scenario::new().then(faults::stall_after(25)))
    );
}

#[test]
fn a_framing_fault_report() {
    let step = faults::framing(Framing::ContentLengthTooShort { by: 20 });
    insta::assert_snapshot!("framing", report_of(Scenario::new().then(step)));
}

#[test]
fn a_multi_step_report() {
    let scenario = Scenario::new()
        .then(faults::status(503))
        .then(faults::truncate_body_at(9));
    let text = report_of(scenario);
    assert!(text.contains("request 2: GET /v1/charges/ch_1"), "{text}");
    insta::assert_snapshot!("multi_step", text);
}

#[test]
fn the_report_class_tally_is_in_order() {
    let text = report_of(Scenario::new().then(faults::truncate_body_at(3)));
    assert!(text.starts_with("badgateway: 1 finding in campaign `reports` (1 cases, seed 0x2a, deadline 300ms, 0.0 s)\noutcomes: 1 panic\n"), "{text}");
}

#[test]
fn a_long_body_is_shown_around_its_change_with_the_rest_elided() {
    // See: issue "verdicts a team can trust", item 8: a person facing 30 findings
    // reads the change, not 200 unchanged lines around it.
    let items: Vec<serde_json::Value> = (0..30)
        .map(|i| serde_json::json!({"id": format!("ch_{i:03}"), "amount": 100 + i}))
        .collect();
    let long = Baseline::new().endpoint(
        "GET",
        "/charge",
        Response::json(200, &serde_json::json!({"data": items})),
    );
    let scenario = Scenario::new().then(faults::json(
        "data[20].amount",
        badgateway::JsonChange::ReplaceWith {
            json: "-77777".into(),
        },
    ));
    let finding = Campaign::new("reports", long)
        .deadline(Duration::from_millis(300))
        .minimize(scenario, |url| async move {
            let body = reqwest::get(format!("{url}/charge"))
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            assert!(!body.contains("-77777"), "a negative amount");
            Ok::<_, String>(())
        })
        .unwrap()
        .expect("a panic");
    let text = shown(finding);
    assert!(text.contains("\"amount\": -77777"), "{text}");
    assert!(
        text.contains("\"id\": \"ch_020\""),
        "the context around the change: {text}"
    );
    assert!(
        !text.contains("\"id\": \"ch_003\""),
        "far from the change: {text}"
    );
    assert!(text.contains("unchanged lines"), "{text}");
}
