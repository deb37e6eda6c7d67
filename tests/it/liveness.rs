//! Hangs judged by liveness, not by the wall clock: a client that gives up on a stall
//! is making progress whatever its own timeout; one that waits on a stalled
//! connection is hanging whatever its timeout.
// See: issue "verdicts a team can trust", item 1.

use std::time::Duration;

use badgateway::{faults, Case, Class, Scenario, Transport};

use crate::support::hello_baseline;

const DEADLINE: Duration = Duration::from_millis(400);

fn stall() -> badgateway::Step {
    faults::stall_after(0)
}

/// A client with this timeout (or none) and this many attempts, with a short backoff.
async fn client(url: String, timeout: Option<Duration>, attempts: u32) -> Result<String, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    let http = builder.build().map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match http.get(format!("{url}/hello")).send().await {
            Ok(response) if response.status().is_success() => {
                return response.text().await.map_err(|e| e.to_string())
            }
            Ok(response) => last = response.status().to_string(),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn class_of(scenario: Scenario, timeout: Option<Duration>, attempts: u32) -> Class {
    Case::new(hello_baseline(), scenario)
        .deadline(DEADLINE)
        .run(move |url| client(url, timeout, attempts))
        .unwrap()
        .outcome
        .class()
}

#[test]
fn a_client_whose_timeout_equals_the_deadline_retrying_three_stalls_is_no_hang() {
    // Three stalls of one deadline each: 1.2 s in all, three times the deadline, and
    // every one of them given up on.
    let scenario = Scenario::new().then(stall()).then(stall()).then(stall());
    assert_eq!(class_of(scenario, Some(DEADLINE), 3), Class::HandledError);
}

#[test]
fn a_client_with_no_timeout_on_a_stall_is_a_hang() {
    assert_eq!(
        class_of(Scenario::new().then(stall()), None, 1),
        Class::Hang
    );
}

#[test]
fn a_client_whose_timeout_is_thirty_seconds_on_a_stall_is_a_hang() {
    let scenario = Scenario::new().then(stall());
    assert_eq!(
        class_of(scenario, Some(Duration::from_secs(30)), 1),
        Class::Hang
    );
}

#[test]
fn a_slow_but_finite_response_is_no_hang_for_a_patient_client() {
    let latency = faults::transport(Transport::Latency { ms: 1_000 });
    assert_eq!(class_of(Scenario::new().then(latency), None, 1), Class::Ok);
    // A drip that takes longer than the deadline, one byte at a time.
    let drip = faults::drip(8, 60);
    assert_eq!(class_of(Scenario::new().then(drip), None, 1), Class::Ok);
}

#[test]
fn waiting_out_the_retry_after_the_provider_asked_for_is_no_hang() {
    async fn honours_retry_after(url: String) -> Result<String, String> {
        for _ in 0..3 {
            let response = reqwest::get(format!("{url}/hello"))
                .await
                .map_err(|e| e.to_string())?;
            if response.status() == 429 {
                let wait: f64 = response.headers()["retry-after"]
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or("no retry-after")?;
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                continue;
            }
            return response.text().await.map_err(|e| e.to_string());
        }
        Err("gave up".into())
    }
    // Asked to wait 1 s: over twice the deadline.
    let result = Case::new(
        hello_baseline(),
        Scenario::new().then(faults::too_many_requests("1")),
    )
    .deadline(DEADLINE)
    .run(honours_retry_after)
    .unwrap();
    assert_eq!(result.outcome.class(), Class::Ok, "{}", result.outcome);
}

#[test]
fn an_endless_drip_read_without_an_overall_timeout_is_ended_by_the_total_cap() {
    // One byte every 300 ms of a ~100-byte response: live, but a minute long. The
    // case is ended at ten deadlines, as a hang.
    let drip = faults::drip(1, 300);
    let result = Case::new(hello_baseline(), Scenario::new().then(drip))
        .deadline(Duration::from_millis(200))
        .run(|url| client(url, None, 1))
        .unwrap();
    assert_eq!(result.outcome.class(), Class::Hang, "{}", result.outcome);
    assert_eq!(result.outcome.signature(), "hang, live without end");
    assert!(
        result.outcome.to_string().contains("still live after 2s"),
        "{}",
        result.outcome
    );
    assert!(result.elapsed < Duration::from_secs(30));
    // The limit is a setting.
    let limited = Case::new(hello_baseline(), Scenario::new().then(faults::drip(1, 300)))
        .deadline(Duration::from_millis(200))
        .limit(Duration::from_millis(900))
        .run(|url| client(url, None, 1))
        .unwrap();
    assert!(
        limited
            .outcome
            .to_string()
            .contains("still live after 900ms"),
        "{}",
        limited.outcome
    );
}

#[test]
fn a_hang_that_does_not_come_back_when_run_again_alone_is_not_reported_nor_kept() {
    // See: issue "verdicts a team can trust", item 2: under load, hangs that did not
    // reproduce were reported and kept as fixtures.
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let report = badgateway::Campaign::new("liveness.flaky", hello_baseline())
        .cases(6)
        .concurrency(1)
        .deadline(Duration::from_millis(300))
        .no_fixtures()
        .run(|url| async move {
            // Calls 0 and 1 are the probe; the first generated case waits forever,
            // as if the machine had stopped it; nothing else ever does.
            if CALLS.fetch_add(1, Ordering::SeqCst) == 2 {
                std::future::pending::<()>().await;
            }
            let http = reqwest::Client::builder()
                .timeout(Duration::from_millis(100))
                .build()
                .map_err(|e| e.to_string())?;
            let _ = http.get(format!("{url}/hello")).send().await;
            Ok::<_, String>(())
        })
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
    assert_eq!(report.warnings.len(), 1, "{report}");
    assert!(report.warnings[0].contains("did not come back"), "{report}");
}

#[test]
fn a_finding_that_comes_back_every_time_is_labelled_deterministic() {
    let report = badgateway::Campaign::new("liveness.deterministic", hello_baseline())
        .cases(32)
        .deadline(DEADLINE)
        .no_fixtures()
        .run(|url| client(url, None, 1))
        .unwrap();
    let hang = report
        .findings
        .iter()
        .find(|f| f.outcome.class() == Class::Hang)
        .unwrap_or_else(|| panic!("a client with no timeout hangs on a stall: {report}"));
    assert_eq!(
        hang.reproduced,
        Some(badgateway::Reproduced { times: 3, runs: 3 })
    );
    assert!(report
        .to_string()
        .contains("deterministic: reproduced in 3 of 3 runs"));
    // Shrunk to a stall (the provider stops: a stalled connection, or a body shorter
    // than its length), never to a slow but finite response.
    assert!(
        !matches!(
            hang.scenario.steps[0].transport,
            Transport::Latency { .. } | Transport::Slicer { .. }
        ),
        "{:?}",
        hang.scenario
    );
}

/// A report with what may differ between runs filtered: the wall time, and loopback
/// ports in error messages.
fn without_timings(report: &badgateway::Report) -> String {
    let text = report.to_string();
    let mut out = String::with_capacity(text.len());
    // What the report says of the machine's load is no verdict: it may come and go.
    for line in text
        .lines()
        .filter(|l| !l.starts_with("warning: the machine was busy"))
    {
        let line = match line.rfind(", ") {
            Some(at) if line.starts_with("badgateway: ") && line.ends_with(" s)") => {
                format!("{})", &line[..at])
            }
            _ => line.to_owned(),
        };
        let mut rest = line.as_str();
        while let Some(at) = rest.find("127.0.0.1:") {
            out.push_str(&rest[..at + "127.0.0.1:".len()]);
            rest = rest[at + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
            out.push_str("PORT");
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

#[test]
fn five_runs_of_a_campaign_give_the_same_report_once_timings_are_filtered() {
    // See: issue "verdicts a team can trust", item 7.
    let run = || {
        badgateway::Campaign::new("liveness.determinism", hello_baseline())
            .cases(48)
            .deadline(DEADLINE)
            .no_fixtures()
            .run(|url| async move {
                let body = client(url, None, 1).await?;
                assert!(!body.is_empty(), "an empty body");
                Ok::<_, String>(body)
            })
            .unwrap()
    };
    let first = without_timings(&run());
    assert!(first.contains("── finding"), "{first}");
    for _ in 0..4 {
        assert_eq!(without_timings(&run()), first);
    }
}
