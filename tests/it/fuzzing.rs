//! Fuzzing through `badgateway::fuzz::run`, the code path every fuzz target takes: the
//! checked-in seed corpus decoded and run against the example's clients, a finding
//! turned into a crash with its reproduce command, and promotion to a fixture.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use badgateway::{Scenario, Step};

// The fuzz targets' own setup, compiled here as it is there.
#[path = "../../fuzz/src/paygate.rs"]
mod paygate;

use paygate::{Client, Operation};

fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fuzz/seeds is checked in")
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

/// The message a `fuzz::run` that found something panicked with, if it did.
fn crash(
    data: &[u8],
    operation: Operation,
    client: Client,
    campaign: &badgateway::Campaign,
) -> Option<String> {
    panic_message(|| {
        badgateway::fuzz::run(data, campaign, move |url| {
            paygate::call(operation, client, url)
        });
    })
}

/// The message `run` panicked with, if it did.
fn panic_message(run: impl FnOnce()) -> Option<String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .err()
        .map(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic without a message".into())
        })
}

#[test]
fn the_seed_corpus_decodes_to_distinct_scenarios_through_the_targets_own_setup() {
    let seeds = seeds();
    assert!(seeds.len() >= 8, "a small seed corpus is checked in");
    for operation in Operation::ALL {
        let campaign = paygate::campaign(operation);
        let decode = |data: &[u8]| {
            badgateway::fuzz::decode(data, &campaign, move |url| {
                paygate::call(operation, Client::Hardened, url)
            })
            .unwrap()
        };
        // The empty input is the pass-through case.
        assert_eq!(decode(&[]), Scenario::new().then(Step::baseline()));
        let decoded: std::collections::HashSet<Scenario> =
            seeds.iter().map(|(_, bytes)| decode(bytes)).collect();
        assert!(
            decoded.len() * 2 >= seeds.len(),
            "{operation:?}: {} seeds decode to only {} distinct scenarios",
            seeds.len(),
            decoded.len()
        );
    }
}

#[test]
fn the_hardened_client_survives_every_seed_of_every_target() {
    for operation in Operation::ALL {
        let campaign = paygate::campaign(operation);
        for (path, bytes) in seeds() {
            if let Some(report) = crash(&bytes, operation, Client::Hardened, &campaign) {
                panic!("{operation:?} on seed {}:\n{report}", path.display());
            }
        }
    }
}

#[test]
fn a_finding_in_the_naive_client_is_a_crash_with_its_report_and_reproduce_command() {
    // `status: unknown_enum_value` under the contract: a new status the naive client
    // unwraps. Found by scanning inputs, as libFuzzer would.
    let operation = Operation::FetchCharge;
    let campaign = paygate::campaign(operation);
    let found = (0..=u16::MAX).map(|i| i.to_le_bytes()).find(|bytes| {
        let scenario = badgateway::fuzz::decode(bytes, &campaign, move |url| {
            paygate::call(operation, Client::Naive, url)
        })
        .unwrap();
        let panics_naive = scenario.steps.iter().any(|s| {
            s.mutations.iter().any(|m| matches!(m, badgateway::Mutation::Json { change: badgateway::JsonChange::Remove, path } if path == "id"))
        });
        panics_naive
    });
    let bytes = found.expect("some two bytes remove the charge's id");
    let report = crash(&bytes, operation, Client::Naive, &campaign)
        .expect("the naive client unwraps a charge without an id");
    assert!(
        report
            .starts_with("badgateway: fuzz finding in campaign `paygate.fetch_charge`: panic at "),
        "{report}"
    );
    assert!(report.contains("missing field `id`"), "{report}");
    assert!(
        !report.contains(payment_gateway::TEST_SECRET_KEY),
        "the key the client sends is scrubbed from the crash report: {report}"
    );
    assert!(
        report
            .contains("what the provider sent:\n  request 1: GET /v1/charges/ch_3PqR8sKs3cR3tV4l"),
        "{report}"
    );
    let digest = report
        .lines()
        .find_map(|l| l.strip_prefix("reproduce: cargo fuzz run --sanitizer none "))
        .expect("a reproduce line");
    assert!(digest.contains(" crash-"), "{digest}");
    assert!(
        report.contains("promote:   badgateway promote crash-"),
        "{report}"
    );
    // The hardened client treats the same bytes as an error, and is no finding.
    assert_eq!(crash(&bytes, operation, Client::Hardened, &campaign), None);
}

#[test]
fn a_stall_is_a_hang_crash_for_a_client_without_timeout_and_none_for_one_with() {
    // A stall the naive client (no timeout) waits on for ever: with waits as long and
    // as common as in campaigns, and a kept hang crashed on like a new one.
    let operation = Operation::FetchCharge;
    let campaign = paygate::campaign(operation)
        .fuzz_full_waits()
        .fuzz_crash_on_known();
    // Small values in each of five bytes: every choice decoding reads is a byte.
    let inputs = (0..8_u32.pow(5)).map(|i| [0, 1, 2, 3, 4].map(|d| ((i >> (3 * d)) & 7) as u8));
    let stall = inputs.into_iter().find(|bytes| {
        let scenario = badgateway::fuzz::decode(bytes, &campaign, move |url| {
            paygate::call(operation, Client::Naive, url)
        })
        .unwrap();
        scenario.steps.len() == 1
            && matches!(
                scenario.steps[0].transport,
                badgateway::Transport::Timeout { .. }
            )
            && scenario.steps[0].repeat == badgateway::Repeat::Once
    });
    let bytes = stall.expect("some five small bytes stall the first response");
    let report =
        crash(&bytes, operation, Client::Naive, &campaign).expect("the naive client hangs");
    assert!(report.contains(": hang"), "{report}");
    assert_eq!(
        crash(&bytes, operation, Client::Hardened, &campaign),
        None,
        "the hardened client's 40 ms timeout handles the stall"
    );
    // By default the same bytes stall nothing: the response is cut where the stall
    // began and the connection closed, so the execution costs no timeout.
    let short = paygate::campaign(operation).fuzz_crash_on_known();
    let scenario = badgateway::fuzz::decode(&bytes, &short, move |url| {
        paygate::call(operation, Client::Naive, url)
    })
    .unwrap();
    let badgateway::Transport::Timeout { after_bytes } =
        campaign_step_transport(&bytes, &campaign, operation)
    else {
        unreachable!("decoded as a stall above")
    };
    assert_eq!(
        scenario.steps[0].transport,
        badgateway::Transport::LimitData { bytes: after_bytes }
    );
    assert_eq!(crash(&bytes, operation, Client::Naive, &short), None);
}

/// The first step's transport `bytes` decode to under `campaign`.
fn campaign_step_transport(
    bytes: &[u8],
    campaign: &badgateway::Campaign,
    operation: Operation,
) -> badgateway::Transport {
    badgateway::fuzz::decode(bytes, campaign, move |url| {
        paygate::call(operation, Client::Naive, url)
    })
    .unwrap()
    .steps[0]
        .transport
        .clone()
}

#[test]
fn a_finding_already_kept_is_counted_not_crashed_on_unless_asked() {
    // The naive client panics on a charge without an id. A store that keeps nothing
    // yet: the fuzz run crashes on it, with its signature.
    let operation = Operation::FetchCharge;
    let store = crate::support::fresh_dir("fuzz-known");
    let campaign = || paygate::campaign(operation).fixtures_dir(&store);
    let missing_id = (0..=u16::MAX)
        .map(|i| i.to_le_bytes())
        .find(|bytes| {
            let report = crash(bytes, operation, Client::Naive, &campaign());
            report.is_some_and(|r| r.contains("missing field `id`"))
        })
        .expect("some two bytes remove the charge's id");
    let report = crash(&missing_id, operation, Client::Naive, &campaign()).unwrap();
    let signature = report
        .lines()
        .next()
        .and_then(|l| {
            l.strip_prefix("badgateway: fuzz finding in campaign `paygate.fetch_charge`: ")
        })
        .and_then(|l| l.strip_suffix(" (shown on two runs of the same input)"))
        .unwrap()
        .to_owned();
    assert!(
        signature.starts_with("panic at examples/payment-gateway/src/naive.rs:"),
        "relative to the workspace, as a campaign names it: {signature}"
    );
    // Kept (as `badgateway promote` or a campaign would): the same bytes are now a
    // known finding, counted, and fuzzing goes on.
    badgateway::Store::new(&store)
        .save(&badgateway::Fixture::by_hand(
            operation.suite(),
            Scenario::new(),
            &signature,
        ))
        .unwrap();
    assert_eq!(
        crash(&missing_id, operation, Client::Naive, &campaign()),
        None
    );
    assert_eq!(
        crash(&missing_id, operation, Client::Naive, &campaign()),
        None
    );
    let counted = badgateway::fuzz::known_findings()
        .into_iter()
        .find(|(suite, s, _)| suite == operation.suite() && *s == signature)
        .map(|(_, _, n)| n);
    assert!(counted.is_some_and(|n| n >= 2), "{counted:?}");
    // Asked to, it crashes on it as on a new one.
    let report = crash(
        &missing_id,
        operation,
        Client::Naive,
        &campaign().fuzz_crash_on_known(),
    );
    assert!(report.is_some_and(|r| r.contains("missing field `id`")));
}

#[test]
fn short_waits_keep_a_stall_one_time_in_256_and_slow_responses_within_2_ms() {
    let operation = Operation::FetchCharge;
    let campaign = paygate::campaign(operation);
    let inputs = pseudo_random_inputs(3000, 24);
    let (mut stalls, mut cut, mut slow) = (0, 0, 0);
    for bytes in &inputs {
        let scenario = badgateway::fuzz::decode(bytes, &campaign, move |url| {
            paygate::call(operation, Client::Hardened, url)
        })
        .unwrap();
        for step in &scenario.steps {
            match step.transport {
                badgateway::Transport::Timeout { .. } => stalls += 1,
                badgateway::Transport::LimitData { .. } => cut += 1,
                badgateway::Transport::Latency { ms } => {
                    assert!(ms <= 2, "{step:?}");
                    slow += 1;
                }
                badgateway::Transport::Slicer { delay_ms, .. } => {
                    assert_eq!(delay_ms, 0, "{step:?}");
                    slow += 1;
                }
                _ => {}
            }
        }
    }
    assert!(slow > 0 && cut > 0, "slow {slow}, cut {cut}");
    assert!(stalls * 64 < cut, "stalls {stalls}, cut {cut}");
}

#[test]
fn scenarios_decode_from_any_bytes_without_a_baseline_in_view() {
    for seed in 0..200_u64 {
        let bytes: Vec<u8> = (0..64)
            .map(|i| (seed.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8)
            .collect();
        let scenario = Scenario::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
        assert!((1..=3).contains(&scenario.steps.len()));
        assert_eq!(scenario.expansion_error(), None);
    }
}

#[test]
fn promoted_fixtures_replay_with_the_class_the_fuzzer_crashed_with() {
    // `badgateway promote` kept these from `cargo fuzz run` artifacts of the naive
    // targets; the replay is the fuzz targets' own campaign.
    for operation in [Operation::FetchCharge, Operation::Refund] {
        let suite_dir = Path::new(payment_gateway::REGRESSIONS_DIR).join(operation.suite());
        let kept = badgateway::Store::new(payment_gateway::REGRESSIONS_DIR).load(operation.suite());
        assert!(
            !kept.is_empty(),
            "{} holds promoted fixtures",
            suite_dir.display()
        );
        let naive = paygate::campaign(operation)
            .replay_report("naive", move |url| {
                paygate::call(operation, Client::Naive, url)
            })
            .unwrap();
        assert!(naive.passed(), "{naive}");
        for (verdict, fixture) in naive.verdicts.iter().zip(&kept) {
            let (_, fixture) = fixture.as_ref().unwrap();
            assert_eq!(fixture.found.by, "fuzz");
            assert_eq!(
                verdict.status,
                badgateway::ReplayStatus::StillFailing,
                "{naive}"
            );
        }
        let hardened = paygate::campaign(operation)
            .replay_report("hardened", move |url| {
                paygate::call(operation, Client::Hardened, url)
            })
            .unwrap();
        assert!(hardened.passed(), "{hardened}");
        assert_eq!(
            hardened.count(badgateway::ReplayStatus::Fixed),
            hardened.verdicts.len(),
            "{hardened}"
        );
    }
}

/// Set in the child process of the isolated promotion test: the input to promote.
const PROMOTE_CHILD: &str = "BADGATEWAY_IT_PROMOTE_INPUT";
const BALANCE: &str = r#"{"available":10}"#;

fn aborting_campaign(store: &Path) -> badgateway::Campaign {
    let baseline = badgateway::Baseline::new().endpoint(
        "GET",
        "/v1/balance",
        badgateway::Response::new(200)
            .header("content-type", "application/json")
            .body(BALANCE),
    );
    badgateway::Campaign::new("fuzzing.abort", baseline)
        .deadline(std::time::Duration::from_millis(300))
        .fixtures_dir(store)
}

/// Whether the client below aborts on what it was served: anything but the baseline.
async fn would_abort(url: String) -> Result<bool, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(format!("{url}/v1/balance"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok(status != 200 || body != BALANCE)
}

/// A client that aborts its process on any response but the baseline's.
async fn aborting(url: String) -> Result<(), String> {
    if would_abort(url).await? {
        std::process::abort();
    }
    Ok(())
}

/// The fuzz target of the test below, under `badgateway promote`'s variables.
#[test]
fn child_process_of_the_isolated_promotion_test() {
    let Some(input) = std::env::var_os(PROMOTE_CHILD) else {
        return;
    };
    let input = PathBuf::from(input);
    let campaign = aborting_campaign(input.parent().unwrap());
    badgateway::fuzz::run(&std::fs::read(&input).unwrap(), &campaign, aborting);
}

/// Promotion is isolated as campaigns are: an artifact the code under test aborts on
/// is kept as a crash fixture, and the fuzz target's process lives to say so (in
/// process, the abort ended the promotion with nothing kept).
#[test]
fn an_artifact_that_aborts_the_process_is_promoted_to_a_crash_fixture() {
    let root = crate::support::fresh_dir("promote-abort");
    let campaign = aborting_campaign(&root);
    // An input the client aborts on, told in process first without aborting.
    let candidates = seeds()
        .into_iter()
        .map(|(_, bytes)| bytes)
        .chain((1..=255u8).map(|b| vec![b; 16]));
    let mut input = None;
    for bytes in candidates {
        let scenario = badgateway::fuzz::decode(&bytes, &campaign, aborting).unwrap();
        if scenario.steps.is_empty() {
            continue;
        }
        let results = aborting_campaign(&root)
            .in_process()
            .no_fixtures()
            .run_scenarios(vec![scenario], would_abort)
            .unwrap();
        if matches!(&results[0].outcome, badgateway::Outcome::Ok { value } if value == "true") {
            input = Some(bytes);
            break;
        }
    }
    let input = input.expect("an input the client aborts on");
    let artifact = root.join("crash-artifact");
    std::fs::write(&artifact, &input).unwrap();
    let out = root.join("promoted.json");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "fuzzing::child_process_of_the_isolated_promotion_test",
            "--exact",
        ])
        .env(PROMOTE_CHILD, &artifact)
        .env(badgateway::fuzz::PROMOTE_SUITE_VAR, "fuzzing.abort")
        .env(badgateway::fuzz::PROMOTE_OUT_VAR, &out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the promotion died with its case: {status}"
    );
    let promoted: badgateway::fuzz::Promoted =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let badgateway::fuzz::Promoted::Kept { signature, .. } = &promoted else {
        panic!("{promoted:?}");
    };
    assert_eq!(signature, "crash: signal 6 (SIGABRT)");
    let kept = badgateway::Store::new(&root).load("fuzzing.abort");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let (_, fixture) = kept[0].as_ref().unwrap();
    assert_eq!(fixture.signature, "crash: signal 6 (SIGABRT)");
}

/// The message a `fuzz::run_handler` that found something panicked with, if it did.
fn webhook_crash(data: &[u8], client: Client, campaign: &badgateway::Campaign) -> Option<String> {
    panic_message(|| {
        badgateway::fuzz::run_handler(data, campaign, move |api| paygate::handler(client, api));
    })
}

#[test]
fn the_webhook_targets_decode_deliveries_and_find_the_naive_handlers_bugs() {
    // Crashing on kept findings too: the naive handler's are all kept.
    let campaign = paygate::webhook_campaign()
        .in_process()
        .fuzz_crash_on_known();
    let decode = |data: &[u8]| {
        badgateway::fuzz::decode_handler(data, &campaign, |api| {
            paygate::handler(Client::Hardened, api)
        })
        .unwrap()
    };
    // The empty input delivers every event, plain, and makes no change to the calls.
    let plain = decode(&[]);
    let events: Vec<&str> = plain.deliveries.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(events, ["charge.succeeded", "charge.refunded"]);
    assert!(plain
        .deliveries
        .iter()
        .all(|d| d.forged.is_none() && d.mutations.is_empty()));
    // Inputs reach forgeries, changed bodies and repeats, as libFuzzer would.
    let inputs = pseudo_random_inputs(400, 32);
    let decoded: Vec<badgateway::Scenario> = inputs.iter().map(|bytes| decode(bytes)).collect();
    assert!(decoded
        .iter()
        .any(|s| s.deliveries.iter().any(|d| d.forged.is_some())));
    assert!(decoded
        .iter()
        .any(|s| s.deliveries.iter().any(|d| !d.mutations.is_empty())));
    // The plain events are no finding for either handler; a forged delivery the naive
    // handler accepts is a crash with its report, and the hardened one refuses it.
    assert_eq!(webhook_crash(&[], Client::Naive, &campaign), None);
    assert_eq!(webhook_crash(&[], Client::Hardened, &campaign), None);
    // Zeros leave the calls alone; the bytes after them pick the deliveries.
    let forged = (0..8)
        .flat_map(|zeros| {
            (0..=255u8).flat_map(move |pick| {
                [1u8, 0xff].into_iter().map(move |pool| {
                    let mut bytes = vec![0u8; zeros];
                    bytes.extend_from_slice(&[1, 0, pool, pick, 0, 0, 0]);
                    bytes
                })
            })
        })
        .find(|bytes| {
            let s = decode(bytes);
            s.deliveries.len() == 1
                && s.deliveries[0].forged == Some(badgateway::Forgery::Unsigned)
                && s.steps.iter().all(badgateway::Step::is_baseline)
        })
        .expect("some bytes decode to an unsigned delivery and nothing else hostile");
    let report = webhook_crash(&forged, Client::Naive, &campaign)
        .expect("the naive handler takes an unsigned delivery");
    assert!(
        report.starts_with("badgateway: fuzz finding in campaign `paygate.webhooks`: accepted a forged delivery: no signature"),
        "{report}"
    );
    assert!(
        !report.contains(payment_gateway::webhooks::TEST_WEBHOOK_SECRET),
        "{report}"
    );
    assert_eq!(webhook_crash(&forged, Client::Hardened, &campaign), None);
}

/// `count` inputs of `len` bytes each, the same on every run: what libFuzzer's
/// mutations reach, without libFuzzer.
fn pseudo_random_inputs(count: u64, len: usize) -> Vec<Vec<u8>> {
    (1..count)
        .map(|i| {
            let mut state = i;
            (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 56) as u8
                })
                .collect()
        })
        .collect()
}
