//! Crashes are findings by default: isolation is on unless a campaign opts out, so an
//! abort, a stack overflow, memory exhausted (at once or growing), `exit(..)`, a
//! spinning or blocked thread in the code under test kill or taint a worker process,
//! never the test; each is found, classified, shrunk and kept. Workers that flood
//! stderr, start processes of their own or are reached by a stranger change nothing.
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

/// This test run's folder: the same in a worker, whose parent is the test process.
fn fixtures() -> std::path::PathBuf {
    let run = match std::env::var_os("BADGATEWAY_WORKER") {
        Some(_) => std::os::unix::process::parent_id(),
        None => std::process::id(),
    };
    std::env::temp_dir().join(format!("badgateway-it-{run}-isolation"))
}

/// A campaign with no isolation setting: crashes must be findings by default.
fn campaign(suite: &str) -> Campaign {
    Campaign::new(suite, baseline())
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
    T: std::fmt::Debug + 'static,
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

/// An allocation that grows under the cap, a slice at a time, never yielding: the case
/// is seen blocked before the cap is reached, and must still be one finding, a crash
/// of kind `out of memory`, never a hang beside it.
#[test]
fn an_allocation_growing_under_a_1_gib_cap_is_one_crash_never_a_hang() {
    let report = campaign("isolation.growing")
        .memory_cap(1 << 30)
        .run(|url| async move {
            let (status, _) = get(&url).await?;
            if status == 503 {
                let mut held: Vec<Vec<u8>> = Vec::new();
                loop {
                    held.push(vec![1u8; 8 << 20]);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Ok::<_, String>(status)
        })
        .unwrap();
    let signatures: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.signature.as_str())
        .collect();
    assert_eq!(signatures, ["crash: out of memory"], "{report}");
}

/// The processes the code under test wrote to `dir`, one file each, named
/// `pid-starttime` (pids are reused on a busy machine; the start time tells).
fn pids_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A process's state letter and start time, from `/proc/<pid>/stat`.
fn state_and_start(pid: u32) -> Option<(char, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.first()?.chars().next()?, fields.get(19)?.to_string()))
}

/// Whether the process named `pid-starttime` is still running (a zombie, killed and
/// not yet reaped, is not).
fn running(process: &str) -> bool {
    let Some((pid, start)) = process.split_once('-') else {
        return false;
    };
    state_and_start(pid.parse().unwrap_or(0))
        .is_some_and(|(state, now)| now == start && state != 'Z')
}

#[test]
fn processes_the_code_under_test_starts_end_with_its_worker() {
    let dir = fixtures().join("grandchildren");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pids = dir.clone();
    let report = campaign("isolation.grandchildren")
        .no_fixtures()
        .run(move |url| {
            let pids = pids.clone();
            async move {
                let (status, _) = get(&url).await?;
                // A helper left running, as a client that shells out might.
                let child = std::process::Command::new("sleep")
                    .arg("300")
                    .spawn()
                    .map_err(|e| e.to_string())?;
                let (_, start) = state_and_start(child.id()).ok_or("no /proc entry")?;
                std::fs::write(pids.join(format!("{}-{start}", child.id())), "")
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(status)
            }
        })
        .unwrap();
    let started = pids_in(&dir);
    assert!(started.len() > 10, "{} helpers: {report}", started.len());
    // A killed process is gone a moment after its signal: waited for, never slept on
    // for a fixed time.
    let waited = std::time::Instant::now();
    let mut left: Vec<String> = started;
    while !left.is_empty() && waited.elapsed() < Duration::from_secs(10) {
        left.retain(|p| running(p));
        std::thread::yield_now();
    }
    assert!(left.is_empty(), "left running after the campaign: {left:?}");
}

/// Run by the test below in a child process of its own, so its memory is its own: a
/// worker that writes invalid UTF-8 and a 64 MiB line to stderr on a 503, and
/// overflows its stack on deep nesting.
#[test]
fn child_process_of_the_stderr_flood_test() {
    if std::env::var_os("BADGATEWAY_IT_FLOOD_CHILD").is_none() {
        return;
    }
    let high_water = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .unwrap()
            .to_owned();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            << 10
    };
    let before = high_water();
    let report = campaign("isolation.flood")
        .no_fixtures()
        .run(|url| async move {
            use std::io::Write;
            let (status, body) = get(&url).await?;
            if status == 503 {
                let mut stderr = std::io::stderr().lock();
                stderr
                    .write_all(b"\xff\xfe not UTF-8\n")
                    .map_err(|e| e.to_string())?;
                stderr
                    .write_all(&vec![b'x'; 64 << 20])
                    .map_err(|e| e.to_string())?;
                stderr.write_all(b"\n").map_err(|e| e.to_string())?;
            }
            let at = body.iter().position(|b| *b == b'[').unwrap_or(0);
            Ok::<_, String>(nesting(&body, at))
        })
        .unwrap();
    let grown = high_water().saturating_sub(before);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.signature == "crash: stack overflow"),
        "{report}"
    );
    let text = report.to_string();
    assert!(text.len() < 200_000, "a report of {} bytes", text.len());
    assert!(
        grown < 200 << 20,
        "the test process grew by {} MiB",
        grown >> 20
    );
    println!("BADGATEWAY_IT_FLOOD_OK grown {} MiB", grown >> 20);
}

#[test]
fn a_worker_flooding_stderr_costs_bounded_memory_and_its_stack_overflow_is_still_diagnosed() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "isolation::child_process_of_the_stderr_flood_test",
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("BADGATEWAY_IT_FLOOD_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        &stderr[..stderr.len().min(4000)]
    );
    assert!(stdout.contains("BADGATEWAY_IT_FLOOD_OK"), "{stdout}");
}

/// A stranger on the machine goes for the link: the old link's address was in the
/// worker's environment; now there is none, and its standard input (the link) cannot
/// be opened from outside. The verdicts are those of a run no one touched.
#[test]
fn a_stranger_cannot_reach_the_link_and_verdicts_are_unchanged() {
    let code = |url: String| async move {
        let (status, _) = get(&url).await?;
        if status == 500 {
            std::process::abort();
        }
        Ok::<_, String>(status)
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stranger = {
        let done = done.clone();
        std::thread::spawn(move || {
            let me = std::process::id();
            let (mut workers_seen, mut ways_in) = (0, Vec::new());
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                    let Some(pid) = entry
                        .file_name()
                        .to_str()
                        .and_then(|p| p.parse::<u32>().ok())
                    else {
                        continue;
                    };
                    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                        continue;
                    };
                    let environ = String::from_utf8_lossy(&environ).into_owned();
                    if pid == me || !environ.contains("BADGATEWAY_WORKER=") {
                        continue;
                    }
                    workers_seen += 1;
                    for var in environ.split('\0').filter(|v| v.starts_with("BADGATEWAY_")) {
                        let value = var.split_once('=').map_or("", |(_, v)| v);
                        if let Ok(address) = value.parse::<std::net::SocketAddr>() {
                            if let Ok(mut stream) = std::net::TcpStream::connect(address) {
                                use std::io::Write;
                                let _ =
                                    stream.write_all(b"{\"Hello\":{\"entry\":0,\"key\":\"x\"}}\n");
                                ways_in.push(var.to_owned());
                            }
                        }
                    }
                    if std::fs::OpenOptions::new()
                        .write(true)
                        .open(format!("/proc/{pid}/fd/0"))
                        .is_ok()
                    {
                        ways_in.push(format!("/proc/{pid}/fd/0"));
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (workers_seen, ways_in)
        })
    };
    let report = campaign("isolation.stranger")
        .no_fixtures()
        .run(code)
        .unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (workers_seen, ways_in) = stranger.join().unwrap();
    assert!(workers_seen > 0, "the stranger never saw a worker");
    assert!(ways_in.is_empty(), "the stranger got in: {ways_in:?}");
    let signatures: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.signature.as_str())
        .collect();
    assert_eq!(signatures, ["crash: signal 6 (SIGABRT)"], "{report}");
}

/// The code under test runs in the worker and can write to the link itself: what it
/// forges is refused, and the campaign fails naming the cause, never with its verdict.
#[test]
fn a_result_forged_on_the_link_is_an_error_naming_the_cause() {
    let error = campaign("isolation.forged")
        .no_fixtures()
        .run(|url| async move {
            use std::io::Write;
            use std::os::fd::AsFd;
            let (status, _) = get(&url).await?;
            if status == 500 {
                let link = std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| e.to_string())?;
                let mut link = std::fs::File::from(link);
                let forged = r#"{"token":"guess","message":{"Done":{"id":0,"result":{}}}}"#;
                link.write_all(format!("{forged}\n").as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(status)
        })
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("without its token"), "{message}");
}

/// The worker process (pid and start time) each of four pass-through cases ran in.
fn worker_pids(suite: &str, spawn_helper: bool) -> Vec<String> {
    let scenarios = vec![badgateway::Scenario::new(); 4];
    let results = campaign(suite)
        .concurrency(2)
        .run_scenarios(scenarios, move |url| async move {
            get(&url).await?;
            if spawn_helper {
                // Started and left running past the case, as a client that shells out.
                std::process::Command::new("sleep")
                    .arg("300")
                    .spawn()
                    .map_err(|e| e.to_string())?;
            }
            let me = std::process::id();
            let (_, start) = state_and_start(me).ok_or("no /proc entry")?;
            Ok::<_, String>(format!("{me}-{start}"))
        })
        .unwrap();
    results
        .iter()
        .map(|r| match &r.outcome {
            badgateway::Outcome::Ok { value } => value.trim_matches('"').to_owned(),
            other => panic!("{other}"),
        })
        .collect()
}

/// A worker costs a process start and the test's way up to its campaign: a clean one
/// goes on to the test's next campaign instead of ending, and serves it. One that left
/// a process of its own running ends with its campaign (nothing it started outlives
/// it), and the next campaign gets a new worker.
#[test]
fn a_clean_worker_serves_the_next_campaign_and_a_tainted_one_ends() {
    let first = worker_pids("isolation.handed-on.1", false);
    let second = worker_pids("isolation.handed-on.2", false);
    // The test's own process, in a worker too (which runs this test up to its campaign).
    let test = match std::env::var_os("BADGATEWAY_WORKER") {
        Some(_) => std::os::unix::process::parent_id(),
        None => std::process::id(),
    };
    let test = format!("{test}-");
    assert!(
        !first[0].starts_with(&test),
        "{first:?} ran in the test process"
    );
    assert_eq!(first[0], second[0], "{first:?} then {second:?}");
    let tainted = worker_pids("isolation.handed-on.3", true);
    assert_eq!(tainted[0], second[0], "{second:?} then {tainted:?}");
    let after = worker_pids("isolation.handed-on.4", false);
    assert_ne!(after[0], tainted[0], "{tainted:?} then {after:?}");
    assert!(
        !running(&tainted[0]),
        "the worker that started a helper outlived its campaign"
    );
}

/// The worker runs the test again up to its campaign: a test that reaches its
/// campaign another way there (here, a name that depends on the process) breaks the
/// rule, and fails with an error naming it, never with a verdict from the wrong
/// campaign. Its first campaign is reached the same way, so the worker that served it
/// is the one handed on to the second, which is where they part.
#[test]
fn a_campaign_the_worker_reaches_another_way_fails_naming_the_rule() {
    let client = |url: String| async move {
        let (status, _) = get(&url).await?;
        Ok::<_, String>(status)
    };
    campaign("isolation.rule.same")
        .no_fixtures()
        .run(client)
        .unwrap();
    let suite = match std::env::var_os("BADGATEWAY_WORKER") {
        Some(_) => "isolation.rule.in-the-worker",
        None => "isolation.rule.in-the-test",
    };
    let error = campaign(suite).no_fixtures().run(client).unwrap_err();
    assert_eq!(error.kind(), badgateway::ErrorKind::Config, "{error}");
    let message = error.to_string();
    for said in [
        "must be reached the same way every time its test runs",
        "`isolation.rule.in-the-worker`",
        "`isolation.rule.in-the-test`",
        ".in_process()",
    ] {
        assert!(message.contains(said), "{said:?} not in: {message}");
    }
}
