//! Replaying kept fixtures against the current code: every verdict an insta snapshot.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::contract::Contract;
use crate::error::{Error, ErrorKind};
use crate::oracle::{
    judged_by_timing, judging, JudgeFn, Judged, JudgedCode, JudgedPool, Oracle, RECHECK_RUNS,
};
use crate::provider::{Baseline, Secrets};
use crate::runner::harness::on_harness_runtime;
use crate::runner::isolation::{self, DEFAULT_MEMORY_CAP};
use crate::runner::pool::Pool;
use crate::runner::rules::Rules;
use crate::runner::settings::{
    case_limit, deadline_and_concurrency, isolation as isolation_settings,
};
use crate::runner::DEFAULT_DEADLINE;
use crate::scenario::Scenario;

use super::files::safe_name;
use super::junit;
use super::snapshot::snapshot;
use super::store::Keeping;
use super::verdict::{ReplayReport, Verdict};

/// Replays every kept fixture of a suite against your code, and asserts each verdict
/// with an insta snapshot, one per fixture, kept beside the fixtures in `snapshots/`
/// as `<label>__<id>.snap`. `label` names the code replayed, so two implementations
/// can replay one suite.
///
/// When a bug is fixed, its verdict changes from `still failing` to `fixed` and the
/// snapshot no longer matches: review it with `cargo insta review`. With `CI=true` a
/// changed or missing snapshot fails. A fixture that cannot be read fails the replay
/// too, naming the file and the fix, after the others replayed.
///
/// [`Campaign::replay`](crate::Campaign::replay) is the same replay with the
/// campaign's settings; use `Replay` where there is no campaign to hand.
///
/// ```no_run
/// use badgateway::{Baseline, Replay};
/// Replay::new("paygate.create_charge", Baseline::from_file("fixtures/baselines/paygate.json").unwrap())
///     .check("naive", |url| async move {
///         reqwest::get(format!("{url}/v1/charges")).await?.text().await
///     });
/// ```
///
/// Settings the environment overrides: `BADGATEWAY_DEADLINE_MS`,
/// `BADGATEWAY_CONCURRENCY`, `BADGATEWAY_FIXTURES` and `BADGATEWAY_JUNIT_DIR`, as for a
/// campaign.
#[derive(Debug, Clone)]
pub struct Replay {
    suite: String,
    baseline: Baseline,
    deadline: Duration,
    concurrency: usize,
    contract: Option<Arc<Contract>>,
    judge: Option<JudgeFn>,
    keeping: Keeping,
    junit_dir: Option<PathBuf>,
    secrets: Secrets,
    strict: bool,
    case_limit: Option<Duration>,
    rules: Rules,
    isolated: bool,
    memory_cap: u64,
}

impl Replay {
    /// A replay of the fixtures of `suite`, over this baseline.
    pub fn new(suite: &str, baseline: Baseline) -> Self {
        Self {
            suite: suite.to_owned(),
            baseline,
            deadline: DEFAULT_DEADLINE,
            concurrency: 32,
            contract: None,
            judge: None,
            keeping: Keeping::Default,
            junit_dir: None,
            secrets: Secrets::new(),
            strict: false,
            case_limit: None,
            rules: Rules::default(),
            isolated: true,
            memory_cap: DEFAULT_MEMORY_CAP,
        }
    }

    /// Replays every fixture in worker processes, as
    /// [`Campaign::isolated`](crate::Campaign::isolated) (the default): a fixture
    /// that crashed the code replays as a crash, and flips its snapshot once fixed.
    pub fn isolated(mut self) -> Self {
        self.isolated = true;
        self
    }

    /// Replays in this process, as
    /// [`Campaign::in_process`](crate::Campaign::in_process).
    pub fn in_process(mut self) -> Self {
        self.isolated = false;
        self
    }

    /// The most memory a worker process may use, as
    /// [`Campaign::memory_cap`](crate::Campaign::memory_cap).
    pub fn memory_cap(mut self, bytes: u64) -> Self {
        self.memory_cap = bytes;
        self
    }

    /// Isolation as the campaign handing over its settings had it.
    pub(crate) fn isolated_if(mut self, isolated: bool, memory_cap: u64) -> Self {
        self.isolated = isolated;
        self.memory_cap = memory_cap;
        self
    }

    /// The behaviour rules replayed cases are judged by, as
    /// [`Campaign::rules`](crate::Campaign::rules).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// How long one case may run in all, as
    /// [`Campaign::case_limit`](crate::Campaign::case_limit).
    pub fn case_limit(mut self, limit: Duration) -> Self {
        self.case_limit = Some(limit);
        self
    }

    /// The limit a campaign handed over, if it set one.
    pub(crate) fn limit_if(mut self, limit: Option<Duration>) -> Self {
        self.case_limit = limit.or(self.case_limit);
        self
    }

    /// Judges silent acceptance clause by clause, as
    /// [`Campaign::strict`](crate::Campaign::strict).
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// Strict when the campaign handing over its settings was.
    pub(crate) fn strict_if(mut self, strict: bool) -> Self {
        self.strict |= strict;
        self
    }

    /// A secret value to keep out of verdicts, snapshots and JUnit files, as
    /// [`Campaign::secret`](crate::Campaign::secret).
    pub fn secret(mut self, value: &str) -> Self {
        self.secrets.add_value(value);
        self
    }

    /// The secrets a campaign handed over.
    pub(crate) fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets.extend(&secrets);
        self
    }

    /// How long a case may wait on a stalled provider before it is a hang, as
    /// [`Campaign::deadline`](crate::Campaign::deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How many fixtures replay at once.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Judges the replayed cases by this contract, as the campaign that found them did.
    pub fn contract(mut self, contract: Contract) -> Self {
        self.contract = Some(Arc::new(contract));
        self
    }

    /// Your word on what the code returned, as [`Campaign::judge`](crate::Campaign::judge).
    pub fn judge<T: 'static, E: 'static>(
        mut self,
        judge: impl Fn(&serde_json::Value, Result<&T, &E>) -> Judged + Send + Sync + 'static,
    ) -> Self {
        self.judge = Some(JudgeFn::new(judge));
        self
    }

    /// Reads fixtures from this folder instead of [`Store::default_root`](crate::Store::default_root).
    pub fn fixtures_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keeping = Keeping::In(dir.into());
        self
    }

    /// Writes a JUnit XML file of the verdicts into this folder.
    pub fn junit_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.junit_dir = Some(dir.into());
        self
    }

    /// The campaign's settings, handed over whole (the campaign room's
    /// `Campaign::replay`).
    pub(crate) fn with_parts(
        mut self,
        contract: Option<Arc<Contract>>,
        judge: Option<JudgeFn>,
        keeping: Keeping,
        junit_dir: Option<PathBuf>,
    ) -> Self {
        self.contract = contract;
        self.judge = judge;
        self.keeping = keeping;
        self.junit_dir = junit_dir;
        self
    }

    /// Replays and panics with a summary when a verdict differs from its snapshot, a
    /// fixture cannot be read, or the replay cannot run: the form for a `#[test]`.
    ///
    /// # Panics
    /// As said.
    #[track_caller]
    pub fn check<F, Fut, T, E>(self, label: &str, code: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        match self.run(label, code) {
            Ok(report) if report.passed() => {}
            Ok(report) => panic!("{report}"),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// Replays and returns the verdicts instead of panicking.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when fixtures are switched off or an override is invalid;
    /// [`ErrorKind::Io`] when a provider cannot bind or the JUnit file cannot be written.
    pub fn run<F, Fut, T, E>(self, label: &str, code: F) -> Result<ReplayReport, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        let store = self.keeping.store().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("replay of suite `{}`: this campaign keeps no fixtures (no_fixtures or BADGATEWAY_FIXTURES=off), so there is nothing to replay", self.suite),
            )
        })?;
        let (deadline, concurrency) = deadline_and_concurrency(self.deadline, self.concurrency)?;
        let mut fixtures = Vec::new();
        let mut broken = Vec::new();
        for loaded in store.load(&self.suite) {
            match loaded {
                Ok(fixture) => fixtures.push(fixture),
                Err(error) => broken.push(error),
            }
        }
        let scenarios: Vec<Scenario> = fixtures.iter().map(|(_, f)| f.scenario.clone()).collect();
        let (isolated, memory_cap) = isolation_settings(self.isolated, self.memory_cap)?;
        let code = judging(self.judge, code)?;
        let runs = JudgedPool {
            pool: Pool::new(self.baseline, deadline, concurrency, Arc::new(code))
                .with_secrets(self.secrets)
                .with_limit(case_limit(self.case_limit)?)
                .with_rules(self.rules.clone()),
            oracle: Oracle::new(self.contract)
                .strict(self.strict)
                .rules(self.rules),
        };
        let suite = self.suite;
        let key = format!("replay of `{suite}` as `{label}`");
        let junit_dir = self.junit_dir;
        let kept: Vec<String> = fixtures.iter().map(|(_, f)| f.signature.clone()).collect();
        let replay = move |mut runs: JudgedPool<JudgedCode<T, E>>| {
            let results = on_harness_runtime(move || async move {
                // The baseline's output, twice, as the campaign that found them judged by.
                let probe = runs.pool.case(Scenario::new());
                let code = runs.pool.code().clone();
                let first = probe.run_unjudged(code.clone()).await?;
                let second = probe.run_unjudged(code).await?;
                runs.oracle
                    .set_baseline_output(&first.outcome, &second.outcome);
                let mut results = runs.all(scenarios).await?;
                // A verdict that rests on time (retries or polls back to back) is
                // judged again on its own where it did not show: a busy machine can
                // space requests out and hide such a finding, never make one.
                for (result, kept) in results.iter_mut().zip(&kept) {
                    if result.outcome.signature() == *kept
                        || judged_by_timing(&result.journal).is_none()
                    {
                        continue;
                    }
                    for _ in 0..RECHECK_RUNS {
                        let again = runs.all(vec![result.scenario.clone()]).await?.pop();
                        if let Some(again) = again.filter(|a| a.outcome.signature() == *kept) {
                            *result = again;
                            break;
                        }
                    }
                }
                Ok::<_, Error>(results)
            })?;
            verdicts(store, suite, label, junit_dir, fixtures, broken, results)
        };
        if !isolated {
            return replay(runs);
        }
        let pool = runs.pool.clone();
        isolation::isolated(&key, memory_cap, &pool, move |workers| {
            let mut runs = runs;
            runs.pool = runs.pool.in_workers(workers);
            replay(runs)
        })
    }
}

/// The verdicts on the fixtures, given what the code did with each, snapshotted, and
/// written as JUnit where asked.
fn verdicts(
    store: crate::store::Store,
    suite: String,
    label: &str,
    junit_dir: Option<PathBuf>,
    fixtures: Vec<(PathBuf, crate::store::Fixture)>,
    broken: Vec<Error>,
    results: Vec<crate::runner::CaseResult>,
) -> Result<ReplayReport, Error> {
    let snapshots = store.suite_dir(&suite).join("snapshots");
    let label = safe_name(label);
    let verdicts = fixtures
        .into_iter()
        .zip(results)
        .map(|((path, fixture), result)| {
            let mut verdict = Verdict::new(path, fixture, result.outcome);
            verdict.snapshot_mismatch = snapshot(&snapshots, &label, &verdict);
            verdict
        })
        .collect();
    let mut report = ReplayReport {
        suite,
        label,
        verdicts,
        broken,
        warnings: Vec::new(),
    };
    if let Some(dir) = junit::junit_dir(junit_dir.as_deref()) {
        let name = format!("{}.replay.{}", report.suite, report.label);
        if let Err(error) = junit::write(&dir, &name, &junit::replay_xml(&report)) {
            eprintln!("badgateway: {error}");
            report.warnings.push(error.to_string());
        }
    }
    Ok(report)
}
