//! Each outcome class, produced by a small purpose-written client; user code never
//! crashes or stalls the harness.

use std::time::{Duration, Instant};

use badgateway::{faults, Case, Class, Outcome, Scenario};

use crate::support::hello_baseline;

const DEADLINE: Duration = Duration::from_millis(500);

fn case() -> Case {
    Case::new(hello_baseline(), Scenario::new()).deadline(DEADLINE)
}

async fn get_hello(url: &str) -> Result<String, String> {
    let response = reqwest::get(format!("{url}/hello"))
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    response.text().await.map_err(|e| e.to_string())
}

#[test]
fn returning_ok_is_ok_with_the_value() {
    let result = case()
        .run(|url| async move { get_hello(&url).await })
        .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Ok {
            value: "\"hello\"".into()
        }
    );
    assert_eq!(result.journal.len(), 1);
}

#[test]
fn returning_err_is_a_handled_error_with_its_message() {
    let result = Case::new(hello_baseline(), Scenario::new().then(faults::status(503)))
        .run(|url| async move { get_hello(&url).await })
        .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::HandledError {
            message: "status 503 Service Unavailable".into()
        }
    );
}

#[test]
fn a_panic_in_the_code_is_a_panic_with_message_and_location() {
    let result = case()
        .run(|_url| async move {
            if true {
                panic!("boom on line {}", line!())
            }
            Ok::<(), String>(())
        })
        .unwrap();
    let Outcome::Panic { message, location } = result.outcome else {
        panic!("{:?}", result.outcome)
    };
    let line = message
        .strip_prefix("boom on line ")
        .expect("the message is kept whole");
    assert_eq!(location.unwrap(), format!("tests/it/outcomes.rs:{line}:17"));
}

#[test]
fn a_panic_inside_tokio_spawn_is_caught_even_when_the_task_is_not_awaited() {
    let result = case()
        .run(|_url| async move {
            let _detached = tokio::spawn(async { panic!("in a spawned task") });
            // The code goes on and returns Ok; the panic is still its bug.
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            Ok::<_, String>("fine")
        })
        .unwrap();
    assert!(
        matches!(&result.outcome, Outcome::Panic { message, .. } if message == "in a spawned task"),
        "{:?}",
        result.outcome
    );
}

#[test]
fn a_panic_on_the_blocking_pool_is_caught() {
    let result = case()
        .run(|_url| async move {
            let joined =
                tokio::task::spawn_blocking(|| -> u32 { panic!("on the blocking pool") }).await;
            joined.map_err(|e| e.to_string())
        })
        .unwrap();
    assert!(
        matches!(&result.outcome, Outcome::Panic { message, .. } if message == "on the blocking pool"),
        "{:?}",
        result.outcome
    );
}

#[test]
fn awaiting_forever_is_a_hang_that_could_be_cancelled() {
    let result = case()
        .run(|_url| async move { std::future::pending::<Result<(), String>>().await })
        .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Hang {
            after: DEADLINE,
            blocked: false,
            live: false,
            // It made no request: it was waiting on nothing of the provider's.
            answered: true,
        }
    );
}

#[test]
fn blocking_the_thread_forever_is_a_hang_and_the_harness_goes_on() {
    let started = Instant::now();
    let result = case()
        .run(|_url| async move {
            loop {
                std::thread::park();
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
        .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Hang {
            after: DEADLINE,
            blocked: true,
            live: false,
            answered: false,
        }
    );
    // The harness returned although the case's thread never will: the next case runs.
    assert!(started.elapsed() < Duration::from_secs(60));
    let next = case()
        .run(|url| async move { get_hello(&url).await })
        .unwrap();
    assert_eq!(next.outcome.class(), Class::Ok);
}

#[test]
fn a_client_without_timeout_hangs_on_a_stall_and_the_case_still_ends() {
    let result = Case::new(
        hello_baseline(),
        Scenario::new().then(faults::stall_after(10)),
    )
    .deadline(DEADLINE)
    .run(|url| async move { get_hello(&url).await })
    .unwrap();
    assert_eq!(result.outcome.class(), Class::Hang);
    assert_eq!(
        result.journal.len(),
        1,
        "the request was journaled before the stall"
    );
}

#[test]
fn a_case_works_from_inside_an_async_test_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcome = runtime.block_on(async {
        case()
            .run(|url| async move { get_hello(&url).await })
            .unwrap()
            .outcome
    });
    assert_eq!(outcome.class(), Class::Ok);
}

/// Set in the child process of the panic-hook test.
const HOOK_CHILD: &str = "BADGATEWAY_IT_HOOK_CHILD";

/// A client whose only panic is in a task it never awaits: only a panic hook sees it.
async fn panics_in_a_detached_task(url: String) -> Result<(), String> {
    reqwest::get(format!("{url}/hello"))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async { panic!("in a detached task") });
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

#[test]
fn child_process_of_the_panic_hook_test() {
    if std::env::var_os(HOOK_CHILD).is_none() {
        return;
    }
    let case = || {
        Case::new(hello_baseline(), Scenario::new())
            .deadline(DEADLINE)
            .run(panics_in_a_detached_task)
            .unwrap()
            .outcome
            .class()
    };
    let first = case();
    // A silent hook, as a test harness or a crash reporter might install.
    std::panic::set_hook(Box::new(|_| {}));
    let after_silent = case();
    // A wrapping hook, as logging crates install: it counts, then calls the one before.
    static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let before = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        SEEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        before(info);
    }));
    let after_wrapping = case();
    // A panic outside any case reaches the user's hook once: a chain, not a loop.
    let _ = std::thread::spawn(|| panic!("outside any case")).join();
    println!(
        "classes={first:?},{after_silent:?},{after_wrapping:?} seen={}",
        SEEN.load(std::sync::atomic::Ordering::SeqCst)
    );
}

#[test]
fn a_panic_hook_installed_after_a_campaign_does_not_switch_off_panic_capture() {
    // See: issue "crashes are findings", item 4.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "outcomes::child_process_of_the_panic_hook_test",
            "--exact",
            "--nocapture",
        ])
        .env(HOOK_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("classes=Panic,Panic,Panic seen=1"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
