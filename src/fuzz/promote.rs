//! Promotion: a fuzzer's artifact, run again in its own fuzz target, confirmed,
//! shrunk, and kept as an ordinary regression fixture.
//!
//! `badgateway promote <artifact> --suite <name>` runs the fuzz target on the artifact
//! (`cargo fuzz run`) with [`PROMOTE_SUITE_VAR`] and [`PROMOTE_OUT_VAR`] set; the
//! target's [`run`](super::run) sees them and does this instead of panicking: only the
//! target knows the campaign (baseline, contract, rules) and the code the bytes mean
//! something to.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::campaign::shrinking::shrunk;
use crate::campaign::Campaign;
use crate::error::Error;
use crate::oracle::judged_pool::JudgedPool;
use crate::runner::harness::on_harness_runtime;
use crate::runner::isolation;
use crate::runner::CaseResult;
use crate::scenario::Scenario;
use crate::store::{Fixture, Found, Reproduced, Saved, Store};

use super::fuzzer::{finding_text, Prepared};

/// Set to the suite a promoted finding is kept under (empty: the campaign's own).
pub const PROMOTE_SUITE_VAR: &str = "BADGATEWAY_PROMOTE_SUITE";
/// Set to the file the promotion's outcome is written to, as JSON ([`Promoted`]).
pub const PROMOTE_OUT_VAR: &str = "BADGATEWAY_PROMOTE_OUT";

/// How many times the shrunk scenario is run again to say how reliably it fails.
const REPRODUCTION_RUNS: u32 = 3;

/// What promoting an artifact did, as the fuzz target writes it for the command-line
/// tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "promoted")]
pub enum Promoted {
    /// The artifact's finding was confirmed, shrunk and kept.
    Kept {
        /// The suite it is kept under.
        suite: String,
        /// Its signature.
        signature: String,
        /// The fixture that holds it now.
        fixture: String,
        /// `new`, `replaced` (a smaller scenario replaced a larger one), or `known`
        /// (the bug already had a fixture at least as small: nothing duplicated).
        saved: String,
        /// The finding, as a report shows it.
        report: String,
    },
    /// The artifact runs clean now (fixed, or it was flaky): nothing kept.
    Clean {
        /// What the code did with it.
        outcome: String,
    },
    /// It could not be kept.
    Failed {
        /// Why.
        error: String,
    },
}

/// Whether this run is a promotion.
pub(super) fn requested() -> bool {
    std::env::var_os(PROMOTE_SUITE_VAR).is_some()
}

/// Confirms, shrinks and keeps the finding `scenario` shows, and writes what was done
/// to [`PROMOTE_OUT_VAR`] (or stdout).
pub(super) fn promote<F, Fut, T, E>(
    prepared: &Prepared,
    campaign: &Campaign,
    scenario: Scenario,
    code: Arc<F>,
) where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let promoted = promoted(prepared, campaign, scenario, code);
    let json = serde_json::to_string_pretty(&promoted).expect("a promotion serialises");
    match std::env::var_os(PROMOTE_OUT_VAR) {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!(
                    "badgateway: cannot write the promotion to {}: {e}",
                    std::path::Path::new(&path).display()
                );
            }
        }
        None => println!("{json}"),
    }
}

fn promoted<F, Fut, T, E>(
    prepared: &Prepared,
    campaign: &Campaign,
    scenario: Scenario,
    code: Arc<F>,
) -> Promoted
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let suite = match std::env::var(PROMOTE_SUITE_VAR) {
        Ok(suite) if !suite.trim().is_empty() => suite.trim().to_owned(),
        _ => campaign.suite.clone(),
    };
    let Some(store) = campaign.keeping.store() else {
        return Promoted::Failed {
            error: format!("campaign `{}` keeps no fixtures (`no_fixtures()`, or BADGATEWAY_FIXTURES=off): give it a fixtures folder", campaign.suite),
        };
    };
    let settings = match campaign.settings() {
        Ok(settings) => settings,
        Err(error) => {
            return Promoted::Failed {
                error: error.to_string(),
            }
        }
    };
    let mut runs = campaign.judged_pool(settings, code);
    runs.oracle = prepared.oracle.clone();
    let key = format!("promotion of `{}` to `{suite}`", campaign.suite);
    let keep = move |runs: JudgedPool<F>| {
        on_harness_runtime(move || async move {
            Ok(kept(&runs, scenario, suite, store)
                .await
                .unwrap_or_else(|error| Promoted::Failed {
                    error: error.to_string(),
                }))
        })
    };
    let promoted = if settings.isolated {
        // The worker is the fuzz target run again on the same input: libFuzzer must
        // leave its deaths to the harness (a crash is a finding with its own name, not
        // libFuzzer's report), and not cap its memory below the worker's own cap.
        isolation::worker_flags(LIBFUZZER_WORKER_FLAGS);
        let pool = runs.pool.clone();
        isolation::isolated(&key, settings.memory_cap, &pool, move |workers| {
            let mut runs = runs;
            runs.pool = runs.pool.in_workers(workers);
            keep(runs)
        })
    } else {
        keep(runs)
    };
    promoted.unwrap_or_else(|error| Promoted::Failed {
        error: error.to_string(),
    })
}

/// libFuzzer's flags for a worker: no signal handlers of its own (a death is the
/// harness's to see), and no memory or time limits of its own.
const LIBFUZZER_WORKER_FLAGS: &[&str] = &[
    "-handle_segv=0",
    "-handle_bus=0",
    "-handle_abrt=0",
    "-handle_ill=0",
    "-handle_fpe=0",
    "-rss_limit_mb=0",
    "-malloc_limit_mb=0",
    "-timeout=0",
];

/// Confirms the finding `scenario` shows (two runs), shrinks it, runs the shrunk one
/// again to say how reliably it fails, and keeps it.
async fn kept<F, Fut, T, E>(
    runs: &JudgedPool<F>,
    scenario: Scenario,
    suite: String,
    store: Store,
) -> Result<Promoted, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let first = one(runs, scenario.clone()).await?;
    if !first.outcome.is_finding() {
        return Ok(Promoted::Clean {
            outcome: format!("it {}", first.outcome),
        });
    }
    let again = one(runs, scenario).await?;
    let signature = first.outcome.signature();
    if again.outcome.signature() != signature {
        return Ok(Promoted::Clean {
            outcome: format!("it {}; run again, it {}", first.outcome, again.outcome),
        });
    }
    let finding = shrunk(runs, signature.clone(), first, 0, 1).await?;
    let reruns = vec![finding.scenario.clone(); REPRODUCTION_RUNS as usize];
    let times = runs
        .all(reruns)
        .await?
        .iter()
        .filter(|r| r.outcome.signature() == signature)
        .count();
    let times = u32::try_from(times).unwrap_or(u32::MAX);
    let found = Found {
        shrink: Some(finding.shrink),
        reproduced: Some(Reproduced {
            times,
            runs: REPRODUCTION_RUNS,
        }),
        ..Found::by_fuzzer(&finding.outcome)
    };
    let fixture = Fixture::of_finding(&suite, &finding.scenario, &finding.outcome, found);
    let saved = store.save(&fixture)?;
    let sent = format!(
        "what the provider sent (shrunk from {} to {} changes)",
        finding.shrink.from_complexity, finding.shrink.to_complexity
    );
    let report = format!(
        "badgateway: promoted `{signature}` to suite `{suite}`\n{}",
        finding_text(&finding.outcome, &finding.journal, &finding.scenario, &sent)
    );
    Ok(Promoted::Kept {
        suite,
        signature,
        fixture: saved
            .path()
            .canonicalize()
            .unwrap_or_else(|_| saved.path().to_path_buf())
            .display()
            .to_string(),
        saved: match saved {
            Saved::New(_) => "new",
            Saved::Replaced { .. } => "replaced",
            Saved::Known(_) => "known",
        }
        .to_owned(),
        report,
    })
}

/// One scenario, run and judged.
async fn one<F, Fut, T, E>(runs: &JudgedPool<F>, scenario: Scenario) -> Result<CaseResult, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let mut results = runs.all(vec![scenario]).await?;
    Ok(results.pop().expect("one scenario, one result"))
}
