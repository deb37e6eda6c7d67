//! Replaying kept findings: the example's fixtures against both clients, a fixed bug
//! flipping its snapshot, and a corrupted store.

use std::time::Duration;

use badgateway::ReplayStatus;
use badgateway::{faults, Baseline, Campaign, Fixture, Replay, Response, Scenario, Store};
use payment_gateway::{hardened, naive, TEST_SECRET_KEY};

use crate::support::{fresh_dir, paygate_baseline, paygate_contract};

/// The example's checked-in fixtures. The naive client's hangs cost the deadline;
/// the hardened client's worst case (3 attempts of 1 s) stays well inside it.
fn paygate(suite: &str, deadline_secs: u64) -> Campaign {
    Campaign::new(suite, paygate_baseline())
        .contract(paygate_contract())
        .strict()
        .deadline(Duration::from_secs(deadline_secs))
}

#[test]
fn the_naive_client_still_has_every_kept_bug() {
    paygate("paygate.create_charge", 1).replay("naive", |url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .create_charge(2500, "eur", "ord_1042")
            .await
    });
    paygate("paygate.all_charges", 1).replay("naive", |url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .all_charges()
            .await
            .map(|c| c.len())
    });
    paygate("paygate.refund_settled", 1).replay("naive", |url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .settled_refund(REFUND)
            .await
    });
}

/// The example's webhook campaign, as `examples/campaign.rs` runs it.
fn paygate_webhooks(deadline_secs: u64) -> Campaign {
    paygate("paygate.webhooks", deadline_secs).webhooks(crate::webhooks::paygate_webhooks())
}

/// A running example handler, as badgateway sees it.
fn handler(running: payment_gateway::webhooks::Running) -> badgateway::Handler {
    let count = running.clone();
    badgateway::Handler::at(running.url).counting(move || count.fulfilled())
}

#[test]
fn the_naive_webhook_handler_still_has_every_kept_bug() {
    paygate_webhooks(2).replay_handler("naive", |api| async move {
        handler(payment_gateway::webhooks::naive::start(api).await)
    });
}

#[test]
fn the_hardened_webhook_handler_handles_every_kept_bug() {
    let report = paygate_webhooks(6)
        .replay_handler_report("hardened", |api| async move {
            handler(payment_gateway::webhooks::hardened::start(api).await)
        })
        .unwrap();
    assert!(report.passed(), "{report}");
    assert!(
        report.verdicts.len() >= 5,
        "the example keeps a crash loop, a forged delivery and a duplicate at least: {report}"
    );
    assert_eq!(
        report.count(ReplayStatus::Fixed),
        report.verdicts.len(),
        "{report}"
    );
}

/// The refund the example waits to settle.
const REFUND: &str = "re_3PqR9aKs3cR3tV4l";

#[test]
fn a_replay_without_a_campaign_gives_the_same_verdicts_as_the_campaigns_replay() {
    // See: the layout issue — replay is its own type in the store, not a campaign's.
    let naive = |url: String| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .create_charge(2500, "eur", "ord_1042")
            .await
    };
    let alone = Replay::new("paygate.create_charge", paygate_baseline())
        .contract(paygate_contract())
        .strict()
        .deadline(Duration::from_secs(1))
        .run("naive", naive)
        .unwrap();
    let via_campaign = paygate("paygate.create_charge", 1)
        .replay_report("naive", naive)
        .unwrap();
    assert!(alone.passed(), "{alone}");
    assert!(!alone.verdicts.is_empty());
    let statuses = |r: &badgateway::ReplayReport| -> Vec<(String, ReplayStatus)> {
        r.verdicts
            .iter()
            .map(|v| (v.fixture.id.clone(), v.status))
            .collect()
    };
    assert_eq!(statuses(&alone), statuses(&via_campaign));
    assert!(alone
        .verdicts
        .iter()
        .all(|v| v.status == ReplayStatus::StillFailing));
}

#[test]
fn the_hardened_client_handles_every_kept_bug() {
    let create = paygate("paygate.create_charge", 6)
        .replay_report("hardened", |url| async move {
            hardened::Client::new(
                &url,
                TEST_SECRET_KEY,
                hardened::Config::quick(Duration::from_secs(1)),
            )
            .create_charge(2500, "eur", "ord_1042")
            .await
        })
        .unwrap();
    let list = paygate("paygate.all_charges", 6)
        .replay_report("hardened", |url| async move {
            hardened::Client::new(
                &url,
                TEST_SECRET_KEY,
                hardened::Config::quick(Duration::from_secs(1)),
            )
            .all_charges()
            .await
            .map(|c| c.len())
        })
        .unwrap();
    let settled = paygate("paygate.refund_settled", 6)
        .replay_report("hardened", |url| async move {
            hardened::Client::new(
                &url,
                TEST_SECRET_KEY,
                hardened::Config::quick(Duration::from_secs(1)),
            )
            .settled_refund(REFUND)
            .await
        })
        .unwrap();
    for report in [create, list, settled] {
        assert!(report.passed(), "{report}");
        assert!(
            report.verdicts.len() >= 2,
            "the example keeps at least a panic and a hang: {report}"
        );
        assert_eq!(
            report.count(ReplayStatus::Fixed),
            report.verdicts.len(),
            "{report}"
        );
    }
}

fn hello_baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/charge",
        Response::json(200, &serde_json::json!({"amount": 100})),
    )
}

/// Parses the amount, the way a buggy client does until it is fixed.
async fn amount(url: String, fixed: bool) -> Result<i64, String> {
    let body = reqwest::get(format!("{url}/charge"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let parsed = serde_json::from_str::<serde_json::Value>(&body);
    let value = if fixed {
        parsed.map_err(|e| e.to_string())?
    } else {
        parsed.unwrap()
    };
    value["amount"]
        .as_i64()
        .ok_or_else(|| "no amount".to_owned())
}

#[test]
fn a_fixed_bug_flips_its_snapshot_and_fails_the_replay_rather_than_passing_silently() {
    let root = fresh_dir("flip");
    let store = Store::new(&root);
    let fixture = Fixture::by_hand(
        "flip",
        Scenario::new().then(faults::truncate_body_at(5)),
        "",
    );
    // The signature the bug really has: take it from a replay of the buggy code.
    let first = Campaign::new("flip", hello_baseline())
        .fixtures_dir(&root)
        .run_scenarios(vec![fixture.scenario.clone()], |url| amount(url, false))
        .unwrap();
    let fixture = Fixture {
        signature: first[0].outcome.signature(),
        ..fixture
    };
    store.save(&fixture).unwrap();
    // Accept the buggy code's verdict as the snapshot, as `cargo insta review` would.
    let buggy = Campaign::new("flip", hello_baseline())
        .fixtures_dir(&root)
        .replay_report("client", |url| amount(url, false))
        .unwrap();
    let snapshots = root.join("flip/snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    let snap = snapshots.join(format!("client__{}.snap", fixture.id));
    std::fs::write(
        &snap,
        format!(
            "---\nsource: {}\n---\n{}",
            fixture.id,
            buggy.verdicts[0].snapshot_text()
        ),
    )
    .unwrap();
    let again = Campaign::new("flip", hello_baseline())
        .fixtures_dir(&root)
        .replay_report("client", |url| amount(url, false))
        .unwrap();
    assert!(
        again.passed(),
        "the accepted snapshot matches while the bug is there: {again}"
    );
    assert_eq!(again.verdicts[0].status, ReplayStatus::StillFailing);

    // The bug is fixed: the verdict changes, and the replay fails until it is reviewed.
    let fixed = Campaign::new("flip", hello_baseline())
        .fixtures_dir(&root)
        .replay_report("client", |url| amount(url, true))
        .unwrap();
    assert_eq!(fixed.verdicts[0].status, ReplayStatus::Fixed);
    assert!(!fixed.passed(), "{fixed}");
    assert!(fixed.verdicts[0].snapshot_mismatch.is_some());
    let text = fixed.to_string();
    assert!(
        text.contains(
            "1 verdicts differ from their snapshots (review them with `cargo insta review`)"
        ),
        "{text}"
    );
    assert!(fixed.verdicts[0]
        .snapshot_text()
        .contains("verdict: fixed (handled error)"));
    // Never silently deleted: the fixture is still there.
    assert_eq!(store.load("flip").len(), 1);
    let panicked = std::panic::catch_unwind(|| {
        Campaign::new("flip", hello_baseline())
            .fixtures_dir(&root)
            .replay("client", |url| amount(url, true))
    });
    assert!(
        panicked.is_err(),
        "Campaign::replay fails the test on a changed verdict"
    );
}

#[test]
fn a_corrupted_store_names_each_broken_file_and_still_replays_the_others() {
    let root = fresh_dir("corrupt");
    let store = Store::new(&root);
    for status in [500, 502] {
        store
            .save(&Fixture::by_hand(
                "corrupt",
                Scenario::new().then(faults::status(status)),
                &format!("s{status}"),
            ))
            .unwrap();
    }
    let dir = root.join("corrupt");
    std::fs::write(
        dir.join("a-bad-json.json"),
        "{\n  \"format\": 1,\n  \"id\": \n}\n",
    )
    .unwrap();
    let good = store.load("corrupt")[0].as_ref().unwrap().1.to_json();
    std::fs::write(
        dir.join("b-unknown-fault.json"),
        good.replacen("\"status\":", "\"statuss\":", 1),
    )
    .unwrap();
    std::fs::write(
        dir.join("c-newer.json"),
        good.replace("\"format\": 1", "\"format\": 9"),
    )
    .unwrap();
    std::fs::write(dir.join(".half-written.json.123.0.tmp"), "{\"form").unwrap();

    let report = Campaign::new("corrupt", hello_baseline())
        .fixtures_dir(&root)
        .replay_report("client", |url| async move {
            reqwest::get(format!("{url}/charge"))
                .await
                .map(|r| r.status().as_u16())
        })
        .unwrap();
    assert_eq!(
        report.verdicts.len(),
        2,
        "the good fixtures replay: {report}"
    );
    let errors: Vec<String> = report.broken.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let bad_json = dir.join("a-bad-json.json");
    assert!(
        errors[0].starts_with(&format!(
            "invalid fixture {} at line 4 column 1: expected value",
            bad_json.display()
        )),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].ends_with("fix it by hand, or delete it and let the campaign find the bug again"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("unknown variant `statuss`"),
        "{}",
        errors[1]
    );
    assert!(
        errors[1].contains("(did you mean `status`?)"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2]
            .contains("has format 9, newer than this badgateway reads (1): upgrade badgateway"),
        "{}",
        errors[2]
    );
    assert!(!report.passed());
    assert!(
        report
            .to_string()
            .contains("3 fixtures could not be read (the others were replayed)"),
        "{report}"
    );
}
