//! The fixture store under SIGKILL, and JUnit reports.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use badgateway::{Baseline, Campaign, Fixture, Response};

use crate::support::fresh_dir;

/// Set in the child process of the SIGKILL test: the store it writes to.
const CHILD_STORE: &str = "BADGATEWAY_IT_KILL_STORE";
/// Set for the kill rounds whose campaign runs its cases in worker processes.
const CHILD_ISOLATED: &str = "BADGATEWAY_IT_KILL_ISOLATED";

fn status_baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/charge",
        Response::json(200, &serde_json::json!({"amount": 100, "currency": "eur"})),
    )
}

/// A client with a different bug for every status code, so a campaign finds many.
async fn many_bugs(url: String) -> Result<String, String> {
    let response = reqwest::get(format!("{url}/charge"))
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        500 => panic!("500"),
        502 => panic!("502"),
        503 => panic!("503"),
        504 => panic!("504"),
        429 => panic!("429"),
        404 => panic!("404"),
        400 => panic!("400"),
        _ => {}
    }
    let body = response.text().await.map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    Ok(value["currency"].as_str().unwrap().to_owned())
}

/// The campaign the killed child runs; a no-op unless the parent test started it.
#[test]
fn child_process_of_the_sigkill_test() {
    let Some(store) = std::env::var_os(CHILD_STORE) else {
        return;
    };
    let campaign = Campaign::new("kill", status_baseline())
        .fixtures_dir(store)
        .cases(300)
        .deadline(Duration::from_millis(300));
    let campaign = if std::env::var_os(CHILD_ISOLATED).is_some() {
        campaign.isolated()
    } else {
        campaign
    };
    let _ = campaign.run(many_bugs);
}

#[test]
fn a_campaign_killed_at_random_points_leaves_only_whole_fixtures_and_keeps_every_reported_finding()
{
    let parent = fresh_dir("kill");
    let mut all_reported = 0;
    // Kill points drawn from a seeded generator: from before the first finding to the
    // middle of shrinking (a whole run takes about a second).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..12 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let kill_after_ms = 5 + state % 700;
        let root = parent.join(round.to_string());
        let mut reported = BTreeSet::new();
        // Every other round is isolated: the process killed is then the parent of the
        // workers, and they must end with it.
        let isolated = round % 2 == 1;
        let mut command = Command::new(std::env::current_exe().unwrap());
        if isolated {
            command.env(CHILD_ISOLATED, "1");
        }
        let mut child = command
            .args([
                "--exact",
                "store::child_process_of_the_sigkill_test",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_STORE, &root)
            .env_remove("BADGATEWAY_FIXTURES")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let (stderr, lines) = (child.stderr.take().unwrap(), lines.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        for line in lines.lock().unwrap().iter() {
            if let Some((signature, _)) = line
                .strip_prefix("badgateway: ")
                .and_then(|l| l.split_once(" kept in "))
            {
                reported.insert(signature.to_owned());
            }
        }
        // After every kill: every fixture file is whole, and every reported finding is kept.
        let kept = all_signatures(&root.join("kill"), round);
        for signature in &reported {
            assert!(
                kept.contains(signature),
                "round {round}, killed after {kill_after_ms} ms: reported {signature} is not in the store: {kept:?}"
            );
        }
        all_reported += reported.len();
        if isolated {
            // Its workers see their parent's connection close and end: none is left.
            let gone = (0..500).any(|_| {
                let left = workers_of(&root);
                left.is_empty() || {
                    std::thread::sleep(Duration::from_millis(10));
                    false
                }
            });
            assert!(
                gone,
                "round {round}: workers outlived their killed parent: {:?}",
                workers_of(&root)
            );
        }
    }
    assert!(
        all_reported >= 12,
        "the kills must come while findings are being written: {all_reported}"
    );
}

/// The processes still running a worker of the kill test's campaign in this store.
fn workers_of(root: &std::path::Path) -> Vec<String> {
    let want = format!("{CHILD_STORE}={}", root.display());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let environ = String::from_utf8_lossy(&environ);
            let ours = environ.split('\0').any(|v| v == want)
                && environ
                    .split('\0')
                    .any(|v| v.starts_with("BADGATEWAY_WORKER="));
            ours.then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

/// Parses every fixture in the folder, failing on any that is partial or unparsable.
fn all_signatures(dir: &std::path::Path, round: usize) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    let mut signatures = BTreeSet::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with('.') {
            continue; // temporary files of a killed write are never fixtures
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture =
            Fixture::from_json(&text, &path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        signatures.insert(fixture.signature);
    }
    signatures
}

#[test]
fn a_failing_campaign_writes_valid_junit_xml() {
    let root = fresh_dir("junit");
    let report = Campaign::new("junit <&> \"suite\"", status_baseline())
        .no_fixtures()
        .junit_dir(root.join("reports"))
        .cases(64)
        .deadline(Duration::from_millis(300))
        .run(many_bugs)
        .unwrap();
    assert!(report.findings.len() >= 2, "{report}");
    let files: Vec<_> = std::fs::read_dir(root.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let xml = std::fs::read_to_string(&files[0]).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = suites
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some("junit <&> \"suite\""));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    let failures: Vec<_> = cases
        .iter()
        .filter_map(|c| c.children().find(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failures.len(), report.findings.len());
    assert_eq!(
        suite.attribute("failures"),
        Some(report.findings.len().to_string().as_str())
    );
    for (failure, finding) in failures.iter().zip(&report.findings) {
        assert!(failure
            .attribute("message")
            .unwrap()
            .ends_with(&finding.signature));
        assert!(
            failure.text().unwrap().contains("what the provider sent"),
            "the report is the failure's text"
        );
    }
}

// See: issue "nothing secret is written, and no input breaks the harness", item 4.

/// Set in the child processes of the concurrent-writers test: the store they share.
const CHILD_SHARED_STORE: &str = "BADGATEWAY_IT_SHARED_STORE";

/// One fixture of the bug `one bug`: the same signature, a scenario of its own.
fn same_bug(variant: u16) -> Fixture {
    let scenario = badgateway::Scenario::new().then(badgateway::faults::status(500 + variant));
    Fixture::by_hand("shared", scenario, "panic at src/pay.rs:1:1")
}

#[test]
fn child_process_of_the_concurrent_writers_test() {
    let Some(root) = std::env::var_os(CHILD_SHARED_STORE) else {
        return;
    };
    let variant: u16 = std::env::var("BADGATEWAY_IT_VARIANT")
        .unwrap()
        .parse()
        .unwrap();
    badgateway::Store::new(root)
        .save(&same_bug(variant))
        .unwrap();
}

#[test]
fn processes_writing_one_suite_at_once_keep_one_fixture_per_signature() {
    for round in 0..3 {
        let root = fresh_dir(&format!("shared-{round}"));
        let children: Vec<_> = (0..8)
            .map(|variant| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "store::child_process_of_the_concurrent_writers_test",
                        "--exact",
                    ])
                    .env(CHILD_SHARED_STORE, &root)
                    .env("BADGATEWAY_IT_VARIANT", variant.to_string())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let kept = badgateway::Store::new(&root).load("shared");
        assert_eq!(kept.len(), 1, "round {round}: {kept:#?}");
    }
}

#[test]
fn a_killed_writers_temporary_files_are_removed_by_the_next_write() {
    let root = fresh_dir("stale-tmp");
    let store = badgateway::Store::new(&root);
    let dir = store.suite_dir("shared");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(".0123456789abcdef.json.4242.0.tmp");
    std::fs::write(&stale, "{\"half\": ").unwrap();
    store.save(&same_bug(0)).unwrap();
    assert!(
        !stale.exists(),
        "a stale temporary file survived the next write"
    );
    assert_eq!(store.load("shared").len(), 1);
}

#[test]
fn a_relative_fixture_folder_is_relative_to_the_crate_under_test() {
    let relative = format!("target/badgateway-it-relative-{}", std::process::id());
    let store = badgateway::Store::new(&relative);
    let crate_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(store.root(), crate_root.join(&relative));
    // A kept fixture with its accepted snapshot replays clean: the snapshot is looked
    // for beside the fixture, not in badgateway's own source folder.
    store.save(&same_bug(0)).unwrap();
    let replay = || {
        badgateway::Replay::new("shared", status_baseline())
            .fixtures_dir(&relative)
            .run("client", |url| async move {
                reqwest::get(format!("{url}/charge")).await?.text().await
            })
            .unwrap()
    };
    let first = replay();
    let dir = store.suite_dir("shared").join("snapshots");
    std::fs::create_dir_all(&dir).unwrap();
    for verdict in &first.verdicts {
        let snap = dir.join(format!("client__{}.snap", verdict.fixture.id));
        std::fs::write(
            snap,
            format!("---\nsource: x\n---\n{}", verdict.snapshot_text()),
        )
        .unwrap();
    }
    let again = replay();
    let _ = std::fs::remove_dir_all(crate_root.join(&relative));
    assert!(again.passed(), "{again}");
    let stray = std::fs::read_dir(crate_root.join("src/store"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".snap") || name.ends_with(".snap.new") || e.path().is_dir()
        });
    assert!(
        !stray,
        "snapshots were written into badgateway's own source"
    );
}

#[test]
fn a_long_suite_name_gets_a_bounded_junit_file_and_a_failed_write_keeps_the_report() {
    let dir = fresh_dir("junit-long");
    let long = "paygate.".repeat(40);
    let report = Campaign::new(&long, status_baseline())
        .cases(24)
        .no_fixtures()
        .junit_dir(&dir)
        .run(many_bugs)
        .unwrap();
    // What the report says of the machine's load is no failure to write.
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.starts_with("the machine was busy")),
        "{report}"
    );
    let written: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(written.len(), 1);
    assert!(written[0].file_name().len() < 120);

    // A JUnit folder that cannot exist (below a regular file): the report survives.
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let report = Campaign::new("blocked", status_baseline())
        .cases(24)
        .no_fixtures()
        .junit_dir(blocker.join("junit"))
        .run(many_bugs)
        .unwrap();
    assert!(!report.findings.is_empty(), "{report}");
    assert_eq!(
        report
            .warnings
            .iter()
            .filter(|w| w.contains("JUnit"))
            .count(),
        1,
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("warning: cannot write JUnit report"),
        "{report}"
    );
}

#[cfg(unix)]
#[test]
fn a_junit_file_is_never_written_through_a_planted_link() {
    let dir = fresh_dir("junit-link");
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let junit = dir.join("junit");
    std::fs::create_dir_all(&junit).unwrap();
    std::os::unix::fs::symlink(&victim, junit.join("linked.xml")).unwrap();
    Campaign::new("linked", status_baseline())
        .cases(8)
        .no_fixtures()
        .junit_dir(&junit)
        .run(many_bugs)
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let written = junit.join("linked.xml");
    assert!(!written.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(written)
        .unwrap()
        .starts_with("<?xml"));
}

/// The store checks what it reads: a fixture that is a link (it could make a replay
/// read, and a save overwrite, a file anywhere), one whose file is named after
/// another id (two fixtures with one id share one snapshot and overwrite each other's
/// verdict) and one of another suite are each refused, naming the file and the fix;
/// the other fixtures still load.
#[test]
fn a_linked_or_misplaced_fixture_is_refused_naming_the_file_and_the_fix() {
    use badgateway::{faults, Scenario, Store};
    let root = fresh_dir("trust-read");
    let store = Store::new(&root);
    let bug = |suite: &str, status: u16| {
        Fixture::by_hand(
            suite,
            Scenario::new().then(faults::status(status)),
            &format!("panic at src/pay.rs:{status}:1"),
        )
    };
    let good = bug("paygate", 500);
    store.save(&good).unwrap();
    let dir = store.suite_dir("paygate");
    let outside = bug("paygate", 502);
    let target = root.join(format!("{}.json", outside.id));
    std::fs::write(&target, outside.to_json()).unwrap();
    std::os::unix::fs::symlink(&target, dir.join(format!("{}.json", outside.id))).unwrap();
    std::fs::write(dir.join("copy.json"), good.to_json()).unwrap();
    let stranger = bug("elsewhere", 503);
    std::fs::write(
        dir.join(format!("{}.json", stranger.id)),
        stranger.to_json(),
    )
    .unwrap();

    let loaded = store.load("paygate");
    assert_eq!(loaded.len(), 4, "{loaded:#?}");
    let kept: Vec<&str> = loaded
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .map(|(_, f)| f.id.as_str())
        .collect();
    assert_eq!(kept, [good.id.as_str()]);
    let errors: Vec<String> = loaded
        .iter()
        .filter_map(|l| l.as_ref().err())
        .map(ToString::to_string)
        .collect();
    let said = |parts: &[&str]| {
        assert!(
            errors.iter().any(|e| parts.iter().all(|p| e.contains(p))),
            "no error says {parts:?}: {errors:#?}"
        );
    };
    said(&[
        &format!("{}.json", outside.id),
        "is a symbolic link",
        "replace the link with a copy",
    ]);
    said(&[
        "copy.json",
        &format!("its `id` is {:?}", good.id),
        &format!("rename the file to {:?}.json", good.id),
    ]);
    said(&[
        &format!("{}.json", stranger.id),
        "its `suite` is \"elsewhere\"",
        "in the folder of suite \"paygate\"",
    ]);
}
