//! Crashes are findings: with isolation, an abort, a stack overflow, memory exhausted,
//! `exit(..)`, a spinning or blocked thread in the code under test kill or taint a
//! worker process, never the test; each is found, classified, shrunk and kept.
// See: issue "crashes are findings": a stack overflow on a deeply nested body killed the
// whole test process in 0.3 s, with no report and nothing kept.

use std::time::Duration;

use badgateway::{Campaign, Class, Replay, ReplayStatus, Report, Response};

fn baseline() -> badgateway::Baseline {
    badgateway::Baseline::new().endpoint(
        "GET",
        "/v1/balance",
        Response::json(200, &serde_json::json!({"available": [1, 2], "pending": 0})),
    )
}

/// `GET /v1/balance`, with a 300 ms timeout.
async fn send(url: &str) -> Result<reqwest::Response, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .map_err(|e| e.to_string())?
        .get(format!("{url}/v1/balance"))
        .send()
        .await
        .map_err(|e| e.to_string())
}

/// The status and the body.
async fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let response = send(url).await?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, body.to_vec()))
}

/// A recursive-descent reader with a large frame per level, as hand-written parsers
/// have: a deeply nested body overflows its stack.
fn nesting(body: &[u8], at: usize) -> usize {
    let frame = std::hint::black_box([0u8; 16 * 1024]);
    match body.get(at) {
        Some(b'[') => 1 + nesting(body, at + 1) + usize::from(frame[at % 1024]),
        _ => 0,
    }
}

fn fixtures() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("badgateway-it-{}-isolation", std::process::id()))
}

fn campaign(suite: &str) -> Campaign {
    Campaign::new(suite, baseline())
        .isolated()
        .cases(16)
        .deadline(Duration::from_millis(500))
        .fixtures_dir(fixtures())
}

/// Runs an isolated campaign, checks it found these signatures (each kept as a
/// fixture), and replays its fixtures isolated: every one still fails the same way.
fn found_and_replayed<F, Fut, T>(suite: &str, signatures: &[&str], code: F) -> Report
where
    F: Fn(String) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + 'static,
    T: std::fmt::Debug,
{
    let report = campaign(suite).run(code.clone()).unwrap();
    for signature in signatures {
        let finding = report
            .findings
            .iter()
            .find(|f| f.signature == *signature)
            .unwrap_or_else(|| panic!("{signature} not found: {report}"));
        assert!(
            matches!(finding.fixture, badgateway::Kept::In(_)),
            "{signature} not kept: {report}"
        );
    }
    let replay = Replay::new(suite, baseline())
        .isolated()
        .deadline(Duration::from_millis(500))
        .fixtures_dir(fixtures())
        .run("isolated", code)
        .unwrap();
    assert!(replay.verdicts.len() >= signatures.len(), "{replay:?}");
    for verdict in &replay.verdicts {
        assert_eq!(
            verdict.status,
            ReplayStatus::StillFailing,
            "{}: {}",
            verdict.fixture.signature,
            verdict.outcome
        );
    }
    report
}

#[test]
fn a_stack_overflow_on_deep_nesting_is_a_crash_kept_and_replayed() {
    let report = found_and_replayed(
        "isolation.overflow",
        &["crash: stack overflow"],
        |url| async move {
            let (_, body) = get(&url).await?;
            let at = body.iter().position(|b| *b == b'[').unwrap_or(0);
            Ok::<_, String>(nesting(&body, at))
        },
    );
    let text = report.to_string();
    assert!(text.contains("has overflowed its stack"), "{text}");
    // Thread ids differ every run; the crash's text, snapshotted on replay, must not.
    assert!(!text.contains("' ("), "{text}");
}

#[test]
fn an_abort_is_a_crash_and_the_campaign_completes() {
    found_and_replayed(
        "isolation.abort",
        &["crash: signal 6 (SIGABRT)"],
        |url| async move {
            let (status, _) = get(&url).await?;
            if status == 503 {
                std::process::abort();
            }
            Ok::<_, String>(status)
        },
    );
}

#[test]
fn a_terabyte_allocation_sized_by_a_header_is_a_crash_under_the_memory_cap() {
    found_and_replayed(
        "isolation.alloc",
        &["crash: out of memory"],
        |url| async move {
            let response = send(&url).await?;
            // Trusts the announced length: `Content-Length: 1000000000000` reserves ~1 TiB.
            let mut body =
                Vec::<u8>::with_capacity(response.content_length().unwrap_or(0) as usize);
            body.extend_from_slice(&response.bytes().await.map_err(|e| e.to_string())?);
            Ok::<_, String>(body.len())
        },
    );
}

#[test]
fn exit_0_and_exit_3_in_a_case_are_crashes_never_a_false_pass() {
    found_and_replayed(
        "isolation.exit",
        &["crash: exit code 0", "crash: exit code 3"],
        |url| async move {
            let (status, _) = get(&url).await?;
            match status {
                500 => std::process::exit(0),
                502 => std::process::exit(3),
                _ => Ok::<_, String>(status),
            }
        },
    );
}

#[test]
fn a_spinning_or_blocked_thread_is_a_hang_that_ends_with_its_worker() {
    let report = found_and_replayed(
        "isolation.blocked",
        &["hang, thread blocked"],
        |url| async move {
            let (status, _) = get(&url).await?;
            match status {
                504 => loop {
                    std::hint::spin_loop();
                },
                503 => std::thread::sleep(Duration::from_secs(3600)),
                _ => {}
            }
            Ok::<_, String>(status)
        },
    );
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("blocked their thread"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(warning.contains("so none is left running"), "{warning}");
}

#[test]
fn a_panic_after_a_silent_panic_hook_is_still_found_in_a_worker() {
    // A logging crate's silent hook, installed before the campaign, in the worker that
    // runs this test from its start, where the cases run. Not in the shared test
    // process: there it would silence the panics of the tests beside this one.
    if std::env::var_os("BADGATEWAY_WORKER").is_some() {
        let silent: Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send> = Box::new(|_| {});
        std::panic::set_hook(silent);
    }
    let report = found_and_replayed("isolation.hook", &[], |url| async move {
        let (status, _) = get(&url).await?;
        if status == 500 {
            // Never awaited: only the panic hook can see it.
            drop(tokio::spawn(async { panic!("a 500 in the background") }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok::<_, String>(status)
    });
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.outcome.class() == Class::Panic),
        "{report}"
    );
}

/// Run by the test below in a child process: an in-process campaign whose client
/// calls `exit(0)` on a 500.
#[test]
fn child_process_of_the_exit_guard_test() {
    if std::env::var_os("BADGATEWAY_IT_EXIT_CHILD").is_none() {
        return;
    }
    let _ = Campaign::new("isolation.exit_in_process", baseline())
        .in_process()
        .cases(4)
        .no_fixtures()
        .deadline(Duration::from_millis(500))
        .run(|url| async move {
            let (status, _) = get(&url).await?;
            if status == 500 {
                std::process::exit(0);
            }
            Ok::<_, String>(status)
        });
}

#[test]
fn exit_0_in_process_fails_the_run_naming_the_case_instead_of_passing() {
    use std::os::unix::process::ExitStatusExt;
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "isolation::child_process_of_the_exit_guard_test",
            "--exact",
            "--test-threads=1",
        ])
        .env("BADGATEWAY_IT_EXIT_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without the guard, the child exits 0 and its test run "passes" in silence.
    assert_eq!(
        output.status.signal(),
        Some(6),
        "{:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains("the code under test called exit(..)"),
        "{stderr}"
    );
    assert!(stderr.contains("{\"steps\":["), "{stderr}");
    assert!(stderr.contains("without .in_process()"), "{stderr}");
}
