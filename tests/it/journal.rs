//! The journal keeps what was received, never a secret; baselines from wiremock and files.

use std::time::Duration;

use badgateway::{faults, Baseline, Case, Class, ErrorKind, JsonChange, Response, Scenario};
use payment_gateway::{naive, TEST_SECRET_KEY};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::paygate_baseline;

#[test]
fn secrets_in_headers_and_query_never_reach_the_rendered_journal() {
    let secret = "sk_live_9fQ2mZsecretvalue";
    let result = Case::new(
        paygate_baseline(),
        Scenario::new().then(faults::status(402)),
    )
    .run(move |url| async move {
        reqwest::Client::new()
            .get(format!(
                "{url}/v1/charges/ch_1?api_key={secret}&expand=customer"
            ))
            .bearer_auth(secret)
            .header("x-api-key", secret)
            .header("cookie", format!("session={secret}"))
            .header("idempotency-key", "order-1042")
            .send()
            .await
            .map(|r| r.status().as_u16())
    })
    .unwrap();
    let rendered = result.journal.to_string();
    assert!(!rendered.contains(secret), "{rendered}");
    assert!(
        !format!("{:?}", result.journal).contains(secret),
        "Debug must not leak either"
    );
    assert!(rendered.contains("authorization: [redacted]"), "{rendered}");
    assert!(rendered.contains("x-api-key: [redacted]"), "{rendered}");
    assert!(rendered.contains("cookie: [redacted]"), "{rendered}");
    assert!(
        rendered.contains("?api_key=[redacted]&expand=customer"),
        "{rendered}"
    );
    assert!(
        rendered.contains("idempotency-key: order-1042"),
        "an idempotency key is no secret: {rendered}"
    );
}

#[test]
fn a_campaign_report_never_shows_the_clients_secret_key() {
    let report = badgateway::Campaign::new("journal.naive.charge", paygate_baseline())
        .no_fixtures()
        .cases(24)
        .deadline(Duration::from_millis(500))
        .run(|url| async move {
            naive::Client::new(&url, TEST_SECRET_KEY)
                .charge("ch_1")
                .await
        })
        .unwrap();
    assert!(
        !report.findings.is_empty(),
        "the naive client unwraps: {report}"
    );
    let text = report.to_string();
    assert!(!text.contains(TEST_SECRET_KEY), "{text}");
    for finding in &report.findings {
        let journal = finding.journal.to_string();
        assert!(!journal.contains(TEST_SECRET_KEY));
        assert!(journal.contains("authorization: [redacted]"), "{journal}");
    }
}

#[tokio::test]
async fn a_wiremock_server_serves_as_baseline_and_its_response_is_mutated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", "Bearer sk_test_abc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"available": [{"amount": 1000, "currency": "eur"}]}),
            ),
        )
        .expect(2)
        .mount(&server)
        .await;
    let scenario = Scenario::new().then(faults::json(
        "available[0].amount",
        JsonChange::NumberAsString,
    ));
    let result = Case::new(Baseline::forward_to(&server.uri()), scenario)
        .run(|url| async move {
            let client = reqwest::Client::new();
            let mut bodies = Vec::new();
            for _ in 0..2 {
                let response = client
                    .get(format!("{url}/v1/balance"))
                    .bearer_auth("sk_test_abc")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                bodies.push(response.text().await.map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(bodies)
        })
        .unwrap();
    assert_eq!(result.outcome.class(), Class::Ok, "{:?}", result.outcome);
    assert_eq!(
        result.outcome,
        badgateway::Outcome::Ok {
            value: r#"["{\"available\":[{\"amount\":\"1000\",\"currency\":\"eur\"}]}", "{\"available\":[{\"amount\":1000,\"currency\":\"eur\"}]}"]"#.into()
        },
        "request 1 mutated, request 2 the mock's own response"
    );
    // The mock saw both requests, with the real header: its matchers keep working.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    server.verify().await;
}

#[test]
fn a_malformed_baseline_file_names_the_file_line_column_and_the_expected_shape() {
    let dir = std::env::temp_dir().join(format!("badgateway-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(&file, "{\n  \"endpoints\": [\n    {\"method\": \"GET\", \"path\": \"/x\", \"status\": \"200\"}\n  ]\n}\n").unwrap();
    let error = Baseline::from_file(&file).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidFile);
    assert_eq!(error.path(), Some(file.as_path()));
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "invalid baseline file {} at line 3 column",
            file.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("invalid type: string \"200\", expected u16"),
        "{text}"
    );
    assert!(
        text.contains("expected {\"endpoints\""),
        "says what shape is expected: {text}"
    );
}

#[test]
fn the_bundled_baseline_declares_every_endpoint_the_example_uses() {
    let baseline = paygate_baseline();
    for (verb, target) in [
        ("POST", "/v1/charges"),
        ("GET", "/v1/charges/ch_9"),
        ("GET", "/v1/charges?limit=100"),
        ("POST", "/v1/refunds"),
    ] {
        let response: &Response = baseline
            .declared(verb, target)
            .unwrap_or_else(|| panic!("{verb} {target}"));
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header_value("content-type"),
            Some(&b"application/json"[..])
        );
    }
}
