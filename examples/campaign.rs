//! The bundled example: campaigns against both Paygate clients of the example
//! integration (`examples/payment-gateway`), judged by Paygate's contract
//! (`fixtures/contracts/paygate.yaml`), and against both of its webhook handlers
//! (Paygate's events from `fixtures/webhooks/paygate.json`), with their findings
//! printed.
//!
//! ```text
//! cargo run --example campaign              # both clients
//! cargo run --example campaign -- naive     # one of them
//! ```
//!
//! Findings are kept as regression fixtures in `fixtures/regressions/<suite>/`, where
//! `tests/it/replay.rs` replays them against both clients with insta snapshots.
//!
//! Exit code: 0 when the results are as expected (the naive client has findings, the
//! hardened one none), 1 otherwise, 2 on a harness error.

use std::process::ExitCode;
use std::time::Duration;

use badgateway::{Baseline, Campaign, Contract, Handler, Report, Signing, Webhooks};
use payment_gateway::webhooks::{self, TEST_WEBHOOK_SECRET};
use payment_gateway::{hardened, naive, TEST_SECRET_KEY};

/// Leaves the hardened client's worst case (`Config::quick` with 250 ms attempts:
/// 850 ms) well inside the deadline.
const DEADLINE: Duration = Duration::from_secs(2);

/// The refund whose settling the third campaign waits for.
const REFUND: &str = "re_3PqR9aKs3cR3tV4l";

/// Paygate's contract, less the fields the integration never reads.
fn contract() -> Result<Contract, badgateway::Error> {
    let contract = Contract::from_file(payment_gateway::CONTRACT_PATH)?;
    Ok(payment_gateway::UNREAD_FIELDS
        .iter()
        .fold(contract, |c, field| c.ignoring(field)))
}

fn campaign(suite: &str) -> Result<Campaign, badgateway::Error> {
    let baseline = Baseline::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/paygate.json"
    ))?;
    // Strict: every clause the client does not check is shown, which is the point of
    // this example; by default only broken values that change the result are.
    Ok(Campaign::new(suite, baseline)
        .contract(contract()?)
        .strict()
        .cases(200)
        .deadline(DEADLINE))
}

/// The fourth campaign: Paygate delivers its events (signed as Stripe signs them, or
/// forged) to the webhook handler, which fetches the charge each names from the same
/// hostile provider.
fn webhook_campaign() -> Result<Campaign, badgateway::Error> {
    let webhooks = Webhooks::from_file(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/webhooks/paygate.json"
        ),
        Signing::stripe(TEST_WEBHOOK_SECRET),
    )?;
    Ok(campaign("paygate.webhooks")?.webhooks(webhooks))
}

/// The handler as badgateway sees it: its URL and the orders it fulfilled.
fn handler(running: webhooks::Running) -> Handler {
    let count = running.clone();
    Handler::at(running.url).counting(move || count.fulfilled())
}

fn naive_reports() -> Result<Vec<Report>, badgateway::Error> {
    let create = campaign("paygate.create_charge")?.run(|url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .create_charge(2500, "eur", "ord_1042")
            .await
    })?;
    let list = campaign("paygate.all_charges")?.run(|url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .all_charges()
            .await
            .map(|c| c.len())
    })?;
    let settled = campaign("paygate.refund_settled")?.run(|url| async move {
        naive::Client::new(&url, TEST_SECRET_KEY)
            .settled_refund(REFUND)
            .await
    })?;
    let hooks = webhook_campaign()?
        .run_handler(|api| async move { handler(webhooks::naive::start(api).await) })?;
    Ok(vec![create, list, settled, hooks])
}

fn hardened_reports() -> Result<Vec<Report>, badgateway::Error> {
    let create = campaign("paygate.create_charge")?.run(|url| async move {
        hardened::Client::new(
            &url,
            TEST_SECRET_KEY,
            hardened::Config::quick(Duration::from_millis(250)),
        )
        .create_charge(2500, "eur", "ord_1042")
        .await
    })?;
    let list = campaign("paygate.all_charges")?.run(|url| async move {
        hardened::Client::new(
            &url,
            TEST_SECRET_KEY,
            hardened::Config::quick(Duration::from_millis(250)),
        )
        .all_charges()
        .await
        .map(|c| c.len())
    })?;
    let settled = campaign("paygate.refund_settled")?.run(|url| async move {
        hardened::Client::new(
            &url,
            TEST_SECRET_KEY,
            hardened::Config::quick(Duration::from_millis(250)),
        )
        .settled_refund(REFUND)
        .await
    })?;
    let hooks = webhook_campaign()?
        .run_handler(|api| async move { handler(webhooks::hardened::start(api).await) })?;
    Ok(vec![create, list, settled, hooks])
}

fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_else(|| "both".into());
    let (run_naive, run_hardened) = match which.as_str() {
        "naive" => (true, false),
        "hardened" => (false, true),
        "both" => (true, true),
        other => {
            eprintln!("error: unknown client {other:?}: expected naive, hardened or both");
            return ExitCode::from(2);
        }
    };
    let mut as_expected = true;
    for (run, client, expect_findings, reports) in [
        (run_naive, "naive", true, naive_reports as fn() -> _),
        (run_hardened, "hardened", false, hardened_reports),
    ] {
        if !run {
            continue;
        }
        let reports = match reports() {
            Ok(reports) => reports,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for report in reports {
            println!("━━ the {client} client ━━");
            println!("{}", report.for_terminal());
            as_expected &= report.findings.is_empty() != expect_findings;
        }
    }
    if as_expected {
        ExitCode::SUCCESS
    } else {
        eprintln!("unexpected: the naive client should have findings and the hardened one none");
        ExitCode::from(1)
    }
}
