//! Campaigns against the example integration: the naive client's bugs are found and
//! shrunk, the hardened client survives the same campaign.

use std::time::Duration;

use badgateway::{
    faults, Baseline, Campaign, Class, ErrorKind, Outcome, Report, Response, Rule, Scenario,
};
use payment_gateway::{hardened, naive, TEST_SECRET_KEY};

use crate::support::{hello_baseline, paygate_baseline};

fn naive_create_charge_report() -> Report {
    Campaign::new("it.naive.create_charge", paygate_baseline())
        .no_fixtures()
        .cases(120)
        .deadline(Duration::from_secs(1))
        .run(|url| async move {
            naive::Client::new(&url, TEST_SECRET_KEY)
                .create_charge(2500, "eur", "ord_1042")
                .await
        })
        .unwrap()
}

#[test]
fn the_naive_client_panics_on_a_malformed_body_and_hangs_on_a_stall() {
    let report = naive_create_charge_report();
    let classes: Vec<Class> = report.findings.iter().map(|f| f.outcome.class()).collect();
    assert!(classes.contains(&Class::Panic), "{report}");
    assert!(classes.contains(&Class::Hang), "{report}");
    let signatures: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.signature.as_str())
        .collect();
    for rule in ["retry storm", "duplicate effect", "ignored retry-after"] {
        assert!(signatures.contains(&rule), "{report}");
    }
    for finding in &report.findings {
        // One malformed response is enough for each of these bugs: one change, or a
        // status paired with its Retry-After (the coverage phase's paired fault).
        assert_eq!(finding.scenario.steps.len(), 1, "{report}");
        assert!(finding.scenario.complexity() <= 2, "{report}");
        assert!(finding.seen_in >= 1 && finding.seen_in <= report.total_cases());
        assert_eq!(finding.outcome.signature(), finding.signature);
    }
    let panic = report
        .findings
        .iter()
        .find(|f| f.outcome.class() == Class::Panic)
        .unwrap();
    let Outcome::Panic { location, .. } = &panic.outcome else {
        unreachable!()
    };
    assert!(
        location
            .as_deref()
            .unwrap()
            .starts_with("examples/payment-gateway/src/naive.rs:"),
        "{report}"
    );
    let text = report.to_string();
    assert!(
        // Five every time; a sixth (no backoff: two 503s retried at once) where the
        // random cases hold one and its retries come back to back when run alone.
        (5..=6).contains(&report.findings.len())
            && text.starts_with(&format!(
                "badgateway: {} findings in campaign `it.naive.create_charge` (",
                report.findings.len()
            ))
            && text.contains(" single faults + 120 generated cases, seed 0x"),
        "{text}"
    );
    assert!(text.contains("reproduce: BADGATEWAY_SEED=0x"), "{text}");
    // The one test, exactly, in its package and target: it runs as printed.
    assert!(text.contains("cargo test -p badgateway --test it -- --exact campaigns::the_naive_client_panics_on_a_malformed_body_and_hangs_on_a_stall\n"), "{text}");
}

#[test]
fn the_hardened_client_survives_the_same_campaigns() {
    // The naive test's suite name, so the same seed generates the same 120 cases.
    let create = Campaign::new("it.naive.create_charge", paygate_baseline())
        .no_fixtures()
        .cases(120)
        .deadline(Duration::from_secs(2))
        .run(|url| async move {
            hardened::Client::new(
                &url,
                TEST_SECRET_KEY,
                hardened::Config::quick(Duration::from_millis(150)),
            )
            .create_charge(2500, "eur", "ord_1042")
            .await
        })
        .unwrap();
    assert!(create.findings.is_empty(), "{create}");
    assert!(
        create.tally.get(&Class::HandledError).copied().unwrap_or(0) > 0,
        "the campaign did hit it: {create}"
    );
    let list = Campaign::new("it.hardened.all_charges", paygate_baseline())
        .no_fixtures()
        .cases(120)
        .deadline(Duration::from_secs(2))
        .run(|url| async move {
            hardened::Client::new(
                &url,
                TEST_SECRET_KEY,
                hardened::Config::quick(Duration::from_millis(150)),
            )
            .all_charges()
            .await
            .map(|c| c.len())
        })
        .unwrap();
    assert!(list.findings.is_empty(), "{list}");
}

#[test]
fn shrinking_reduces_a_finding_to_the_single_step_that_suffices() {
    // A client that panics on any 503, whichever request meets it.
    let scenario = Scenario::new()
        .then(faults::drip(64, 1))
        .then(faults::too_many_requests("1"))
        .then(
            faults::status(503)
                .with(badgateway::Mutation::TruncateBody { at: 3 })
                .sent(badgateway::Transport::Latency { ms: 5 }),
        );
    let finding = Campaign::new("it.shrink", hello_baseline())
        .minimize(scenario.clone(), |url| async move {
            for _ in 0..3 {
                let status = reqwest::get(format!("{url}/hello"))
                    .await
                    .map_err(|e| e.to_string())?
                    .status();
                assert_ne!(status, 503, "503 is not handled");
            }
            Ok::<_, String>(())
        })
        .unwrap()
        .expect("the 503 on request 3 panics");
    assert_eq!(finding.scenario, Scenario::new().then(faults::status(503)));
    assert_eq!(finding.original, scenario);
    assert_eq!(
        (finding.shrink.from_steps, finding.shrink.from_complexity),
        (3, 6)
    );
    assert_eq!(
        (finding.shrink.to_steps, finding.shrink.to_complexity),
        (1, 1)
    );
    assert!(finding.shrink.runs >= finding.shrink.rounds);
}

#[test]
fn a_scenario_that_is_no_finding_does_not_minimize() {
    let found = Campaign::new("it.shrink.none", hello_baseline())
        .minimize(
            Scenario::new().then(faults::status(503)),
            |url| async move {
                reqwest::get(format!("{url}/hello"))
                    .await
                    .map(|r| r.status().as_u16())
            },
        )
        .unwrap();
    assert!(found.is_none());
}

#[test]
fn hangs_that_block_the_thread_are_found_and_shrunk_like_any_other() {
    let baseline = Baseline::new().endpoint(
        "GET",
        "/v1/balance",
        Response::json(200, &serde_json::json!({"available": 10})),
    );
    let report = Campaign::new("it.blocking", baseline)
        .no_fixtures()
        .cases(32)
        .deadline(Duration::from_millis(300))
        .run(|url| async move {
            let response = reqwest::get(format!("{url}/v1/balance"))
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_server_error() {
                // "Wait for the provider to recover", blocking the runtime's only thread.
                loop {
                    std::thread::park();
                }
            }
            Ok::<_, String>(response.status().as_u16())
        })
        .unwrap();
    let hang = report
        .findings
        .iter()
        .find(|f| f.signature == "hang, thread blocked")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        hang.outcome,
        Outcome::Hang {
            after: Duration::from_millis(300),
            blocked: true,
            live: false,
            answered: false,
        }
    );
    assert_eq!(hang.scenario.steps.len(), 1, "{report}");
    assert!(
        report.to_string().contains("blocked its thread"),
        "{report}"
    );
}

#[test]
fn a_client_that_fails_against_the_unmodified_baseline_is_a_setup_error_not_a_finding() {
    let error = Campaign::new("it.probe", paygate_baseline())
        .no_fixtures()
        .cases(8)
        .run(|url| async move {
            reqwest::get(format!("{url}/v2/typo"))
                .await?
                .error_for_status()
        })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Baseline);
    let text = error.to_string();
    assert!(
        text.contains("does not succeed against the unmodified baseline"),
        "{text}"
    );
    assert!(
        text.contains("request 1 (connection 1): GET /v2/typo"),
        "the journal shows what arrived: {text}"
    );
    assert!(
        text.contains("  answered:\n  │ HTTP/1.1 404"),
        "and what it was answered with: {text}"
    );
}

#[test]
fn check_fails_the_test_with_the_report() {
    let failed = std::panic::catch_unwind(|| {
        Campaign::new("it.check", hello_baseline())
            .no_fixtures()
            .cases(16)
            .deadline(Duration::from_millis(300))
            .check(|url| async move {
                let body = reqwest::get(format!("{url}/hello"))
                    .await
                    .map_err(|e| e.to_string())?
                    .text()
                    .await
                    .map_err(|e| e.to_string())?;
                assert!(body.starts_with('h'), "not hello");
                Ok::<_, String>(body)
            })
    })
    .expect_err("the campaign has findings");
    let report = failed
        .downcast_ref::<String>()
        .expect("the report is the panic message");
    // Coloured when this test's stdout is a terminal (or CLICOLOR_FORCE is set): the
    // words are the same either way.
    let report = &without_colour(report);
    assert!(
        report.starts_with("badgateway: 2 findings in campaign `it.check` (")
            && report.contains("+ 16 generated cases"),
        "{report}"
    );
    assert!(
        report.contains("panic at tests/it/campaigns.rs:"),
        "{report}"
    );
    assert!(report.contains("not hello"), "{report}");
    // A long report is read from its end too: the summary comes again, last.
    let last_finding = report.rfind("── finding").expect("findings in full");
    let again = report
        .find("summary again, most severe first:")
        .expect("the summary again");
    assert!(again > last_finding, "{report}");
}

/// Run by the test below in a child process: a campaign with findings, checked.
#[test]
fn child_process_of_the_caller_line_test() {
    if std::env::var_os("BADGATEWAY_IT_CALLER_CHILD").is_none() {
        return;
    }
    let campaign = Campaign::new("it.caller", hello_baseline())
        .no_fixtures()
        .in_process()
        .cases(4)
        .deadline(Duration::from_millis(300));
    let client = |url: String| async move {
        let response = reqwest::get(format!("{url}/hello"))
            .await
            .map_err(|e| e.to_string())?;
        assert!(response.status().is_success(), "not a success");
        Ok::<_, String>(())
    };
    eprintln!("check is called at line {}", line!() + 1);
    campaign.check(client);
}

/// The child test above run in a process of its own, with `BADGATEWAY_REPORT` set to
/// `report` (`full` is the default): whether it failed, and everything it printed
/// (libtest captures a test's output and prints it with the failure).
fn caller_child(report: &str) -> (bool, String) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "campaigns::child_process_of_the_caller_line_test",
            "--exact",
            "--test-threads=1",
        ])
        .env("BADGATEWAY_IT_CALLER_CHILD", "1")
        .env("BADGATEWAY_REPORT", report)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (!output.status.success(), text)
}

#[test]
fn a_failing_check_names_the_callers_file_and_line() {
    let (failed, output_text) = caller_child("full");
    let line = output_text
        .lines()
        .find_map(|l| l.strip_prefix("check is called at line "))
        .unwrap_or_else(|| panic!("{output_text}"));
    let at = format!("panicked at tests/it/campaigns.rs:{line}:");
    assert!(output_text.contains(&at), "{at} in\n{output_text}");
    assert!(failed);
    assert!(output_text.contains("── finding 1 of"), "{output_text}");
    // BADGATEWAY_REPORT=summary: the summary lines with their fixtures, no finding
    // in full; a value it cannot take is an error that names the choices.
    let child = |report: &str| caller_child(report).1;
    let summary = child("summary");
    assert!(summary.contains("summary, most severe first:"), "{summary}");
    assert!(summary.contains(" · not kept"), "{summary}");
    assert!(!summary.contains("── finding"), "{summary}");
    let wrong = child("short");
    assert!(
        wrong.contains("invalid BADGATEWAY_REPORT=\"short\": expected `summary`"),
        "{wrong}"
    );
}

/// Retries until a success, waiting `wait` between attempts.
async fn retrying(url: String, wait: Duration) -> Result<u32, String> {
    let client = reqwest::Client::new();
    for attempt in 1..=100 {
        let status = client
            .get(format!("{url}/hello"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        if status.is_success() {
            return Ok(attempt);
        }
        tokio::time::sleep(wait).await;
    }
    Err("gave up".into())
}

#[test]
fn a_client_that_retries_without_end_is_a_retry_storm() {
    let storm = (0..40).fold(Scenario::new(), |s, _| s.then(faults::status(503)));
    let results = Campaign::new("it.storm", hello_baseline())
        .no_fixtures()
        .run_scenarios(
            vec![storm, Scenario::new().then(faults::status(503))],
            |url| retrying(url, Duration::ZERO),
        )
        .unwrap();
    let Outcome::Misbehaviour {
        rule,
        request,
        what,
    } = &results[0].outcome
    else {
        panic!("{:?}", results[0].outcome)
    };
    assert_eq!((*rule, *request), (Rule::Storm, 11));
    assert_eq!(
        what,
        "request 11 was attempt 11 at GET /hello: more than 10 attempts (Rules::max_attempts) at one call, the last failed with 503"
    );
    assert_eq!(
        results[1].outcome.class(),
        Class::Ok,
        "one retry is no storm"
    );
}

#[test]
fn retrying_sooner_than_retry_after_asks_is_a_violation_and_waiting_is_not() {
    let campaign = || Campaign::new("it.retry_after", hello_baseline()).no_fixtures();
    let asked = vec![Scenario::new().then(faults::too_many_requests("0.3"))];
    let eager = campaign()
        .run_scenarios(asked.clone(), |url| retrying(url, Duration::ZERO))
        .unwrap();
    let Outcome::Misbehaviour {
        rule,
        request,
        what,
    } = &eager[0].outcome
    else {
        panic!("{:?}", eager[0].outcome)
    };
    assert_eq!((*rule, *request), (Rule::IgnoredRetryAfter, 2));
    // Only what was served is in the message: no measured time, so it reads the same
    // on every run.
    assert_eq!(
        what,
        "request 1 was asked to wait (retry-after: 0.3) and request 2 came before that"
    );
    let patient = campaign()
        .run_scenarios(asked, |url| retrying(url, Duration::from_millis(300)))
        .unwrap();
    assert_eq!(patient[0].outcome.class(), Class::Ok);
    // A date in the past asks for no wait at all.
    let past =
        vec![Scenario::new().then(faults::too_many_requests("Wed, 21 Oct 2015 07:28:00 GMT"))];
    let immediate = campaign()
        .run_scenarios(past, |url| retrying(url, Duration::ZERO))
        .unwrap();
    assert_eq!(immediate[0].outcome.class(), Class::Ok);
}

/// Text with its ANSI colour escapes (`ESC [ ... m`) taken out.
fn without_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest.find('m') {
            Some(end) => rest = &rest[end + 1..],
            None => break,
        }
    }
    out.push_str(rest);
    out
}
