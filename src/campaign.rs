//! A campaign: many generated scenarios against your code, findings shrunk and reported.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::baseline::Baseline;
use crate::case::{on_harness_runtime, Case, CaseResult, DEFAULT_DEADLINE};
use crate::contract::Contract;
use crate::error::{Error, ErrorKind};
use crate::fixture::Fixture;
use crate::judge::{JudgeFn, Judged};
use crate::outcome::Class;
use crate::outcome::Outcome;
use crate::replay::{ReplayReport, Verdict};
use crate::report::{Finding, Kept, Report, ShrinkFigures};
use crate::response::Response;
use crate::scenario::Scenario;
use crate::shrink;
use crate::store::{Saved, Store};
use crate::strategies::{scenarios, scenarios_under_contract, Catalog, Plan};

/// A shrink stops after this many rounds even if it could go on.
const MAX_SHRINK_ROUNDS: usize = 64;

/// Generated hostile provider behaviour against your code, in one call.
///
/// A campaign first runs your code once against the unmodified baseline (the probe:
/// it must return `Ok`, or every finding would be noise), learns what the responses
/// look like, then runs `cases` generated scenarios, `concurrency` at a time, each
/// under `deadline`. Every panic and hang is grouped by signature, and one case of each
/// group is shrunk to the smallest scenario that still shows it.
///
/// Settings, each overridable from the environment (the variable wins over the code,
/// so CI can turn a campaign up or down without a change):
///
/// | setting | variable | default |
/// |---|---|---|
/// | [`cases`](Self::cases) | `BADGATEWAY_CASES` | `PROPTEST_CASES`, else 256 |
/// | [`seed`](Self::seed) | `BADGATEWAY_SEED` (decimal or `0x` hex) | a hash of the suite name: runs are deterministic |
/// | [`deadline`](Self::deadline) | `BADGATEWAY_DEADLINE_MS` | 2 s |
/// | [`concurrency`](Self::concurrency) | `BADGATEWAY_CONCURRENCY` | 32 |
///
/// ```
/// use std::time::Duration;
/// use badgateway::{Baseline, Campaign, Response};
///
/// let baseline = Baseline::new().endpoint("GET", "/v1/balance", Response::json(200, &serde_json::json!({"available": 10})));
/// let report = Campaign::new("balance", baseline)
///     .cases(16)
///     .deadline(Duration::from_millis(500))
///     .run(|url| async move {
///         let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().map_err(|e| e.to_string())?;
///         let response = client.get(format!("{url}/v1/balance")).send().await.map_err(|e| e.to_string())?;
///         let body = response.bytes().await.map_err(|e| e.to_string())?;
///         serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| e.to_string())
///     })
///     .unwrap();
/// assert!(report.findings.is_empty(), "{report}");
/// assert_eq!(report.cases, 16);
/// ```
#[derive(Debug, Clone)]
pub struct Campaign {
    suite: String,
    baseline: Baseline,
    cases: Option<u32>,
    seed: Option<u64>,
    deadline: Duration,
    concurrency: usize,
    max_steps: usize,
    fixtures: Fixtures,
    junit_dir: Option<std::path::PathBuf>,
    contract: Option<Arc<Contract>>,
    judge: Option<JudgeFn>,
}

/// Where a campaign keeps its findings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fixtures {
    Default,
    In(std::path::PathBuf),
    Off,
}

/// Writes findings to the store as fixtures, and says so on stderr.
#[derive(Debug, Clone)]
struct Keeper {
    store: Option<Store>,
    suite: String,
    seed: u64,
    cases: u32,
}

impl Keeper {
    fn keep(
        &self,
        scenario: &Scenario,
        outcome: &Outcome,
        case: usize,
        shrink: Option<ShrinkFigures>,
    ) -> Kept {
        let Some(store) = &self.store else {
            return Kept::NotKept;
        };
        let fixture = Fixture::of_finding(
            &self.suite,
            scenario,
            outcome,
            self.seed,
            case,
            self.cases,
            shrink,
        );
        match store.save(&fixture) {
            Ok(saved) => {
                if !matches!(saved, Saved::Known(_)) {
                    eprintln!(
                        "badgateway: {} kept in {}",
                        fixture.signature,
                        saved.path().display()
                    );
                }
                Kept::In(saved)
            }
            Err(error) => {
                eprintln!("badgateway: {} NOT kept: {error}", fixture.signature);
                Kept::Failed(error.to_string())
            }
        }
    }
}

/// The settings a campaign runs with, after the environment had its say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    cases: u32,
    seed: u64,
    deadline: Duration,
    concurrency: usize,
}

impl Campaign {
    /// A campaign named `suite` (the name appears in reports and seeds the default
    /// seed) over this baseline.
    pub fn new(suite: &str, baseline: Baseline) -> Self {
        Self {
            suite: suite.to_owned(),
            baseline,
            cases: None,
            seed: None,
            deadline: DEFAULT_DEADLINE,
            concurrency: 32,
            max_steps: 3,
            fixtures: Fixtures::Default,
            junit_dir: None,
            contract: None,
            judge: None,
        }
    }

    /// Your word on each case: the closure sees the response a case is about and the
    /// outcome (with what the code returned), and can dismiss a silent acceptance or
    /// false rejection that is not a bug ([`Judged::Fine`]), or call a returned value
    /// wrong for its response ([`Judged::Wrong`], for instance "the returned charge's
    /// status must equal the response's").
    ///
    /// ```
    /// use badgateway::{Baseline, Campaign, Judged, Outcome};
    /// let campaign = Campaign::new("charges", Baseline::new()).judge(|response, outcome| match outcome {
    ///     Outcome::Ok { value } if !value.contains(response["status"].as_str().unwrap_or("?")) => {
    ///         Judged::Wrong("the returned status is not the response's".into())
    ///     }
    ///     _ => Judged::AsIs,
    /// });
    /// # let _ = campaign;
    /// ```
    pub fn judge(
        mut self,
        judge: impl Fn(&serde_json::Value, &Outcome) -> Judged + Send + Sync + 'static,
    ) -> Self {
        self.judge = Some(JudgeFn(Arc::new(judge)));
        self
    }

    /// Judges the code by a contract too: besides panics and hangs, returning `Ok` for
    /// a response that breaks a clause (silent acceptance), `Err` for one that conforms
    /// (false rejection), and requests that break the client's half (undocumented
    /// operations, missing required headers, bodies that break the request schema,
    /// retries under another idempotency key) are findings. Generated cases then mix
    /// hostile responses with conforming ones and ones broken at one clause each.
    pub fn contract(mut self, contract: Contract) -> Self {
        self.contract = Some(Arc::new(contract));
        self
    }

    /// Writes a JUnit XML file of the results into this folder, named after the suite
    /// (`BADGATEWAY_JUNIT_DIR` sets the folder for every campaign and replay).
    pub fn junit_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.junit_dir = Some(dir.into());
        self
    }

    fn junit(&self) -> Option<std::path::PathBuf> {
        std::env::var_os("BADGATEWAY_JUNIT_DIR")
            .map(Into::into)
            .or_else(|| self.junit_dir.clone())
    }

    /// Replays every fixture of this campaign's suite against your code and asserts
    /// each verdict with an insta snapshot, one per fixture, kept beside the fixtures
    /// in `snapshots/` as `<label>__<id>.snap`. `label` names the code replayed, so
    /// two implementations can replay one suite.
    ///
    /// When a bug is fixed, its verdict changes from `still failing` to `fixed` and
    /// the snapshot no longer matches: review it with `cargo insta review`. With
    /// `CI=true` a changed or missing snapshot fails. A fixture that cannot be read
    /// fails the replay too, naming the file and the fix, after the others replayed.
    ///
    /// # Panics
    /// When a verdict differs from its snapshot, a fixture cannot be read, or the
    /// replay cannot run, with a summary.
    pub fn replay<F, Fut, T, E>(self, label: &str, code: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        match self.replay_report(label, code) {
            Ok(report) if report.passed() => {}
            Ok(report) => panic!("{report}"),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// As [`Campaign::replay`], returning the verdicts instead of panicking.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the campaign keeps no fixtures, and as
    /// [`Campaign::run`].
    pub fn replay_report<F, Fut, T, E>(self, label: &str, code: F) -> Result<ReplayReport, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let store = self.store().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("replay of suite `{}`: this campaign keeps no fixtures (no_fixtures or BADGATEWAY_FIXTURES=off), so there is nothing to replay", self.suite),
            )
        })?;
        let mut fixtures = Vec::new();
        let mut broken = Vec::new();
        for loaded in store.load(&self.suite) {
            match loaded {
                Ok(fixture) => fixtures.push(fixture),
                Err(error) => broken.push(error),
            }
        }
        let scenarios = fixtures.iter().map(|(_, f)| f.scenario.clone()).collect();
        let junit = self.junit();
        let suite = self.suite.clone();
        let results = self.run_scenarios(scenarios, code)?;
        let snapshots = store.suite_dir(&suite).join("snapshots");
        let label = crate::store::sanitized(label);
        let verdicts = fixtures
            .into_iter()
            .zip(results)
            .map(|((path, fixture), result)| {
                let mut verdict = Verdict::new(path, fixture, result.outcome);
                verdict.snapshot_mismatch = snapshot(&snapshots, &label, &verdict);
                verdict
            })
            .collect();
        let report = ReplayReport {
            suite,
            label,
            verdicts,
            broken,
        };
        if let Some(dir) = junit {
            crate::junit::write(
                &dir,
                &format!("{}.replay.{}", report.suite, report.label),
                &crate::junit::replay_xml(&report),
            )?;
        }
        Ok(report)
    }

    /// Keeps findings as fixtures under this folder instead of the default
    /// ([`Store::default_root`]: `fixtures/regressions` in your package).
    /// `BADGATEWAY_FIXTURES` overrides (a folder, or `off`).
    pub fn fixtures_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.fixtures = Fixtures::In(dir.into());
        self
    }

    /// Keeps no fixtures: for campaigns whose findings are the point of the test.
    /// `BADGATEWAY_FIXTURES` overrides.
    pub fn no_fixtures(mut self) -> Self {
        self.fixtures = Fixtures::Off;
        self
    }

    /// The store findings go to, if any.
    fn store(&self) -> Option<Store> {
        match std::env::var("BADGATEWAY_FIXTURES") {
            Ok(value) if value == "off" => None,
            Ok(value) => Some(Store::new(value)),
            Err(_) => match &self.fixtures {
                Fixtures::Default => Some(Store::new(Store::default_root())),
                Fixtures::In(dir) => Some(Store::new(dir)),
                Fixtures::Off => None,
            },
        }
    }

    /// How many generated cases to run (`BADGATEWAY_CASES` overrides).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// The seed that generates the cases (`BADGATEWAY_SEED` overrides).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How long one case may take before it is a hang (`BADGATEWAY_DEADLINE_MS`
    /// overrides). Give your code's own timeouts room below it.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How many cases run at once (`BADGATEWAY_CONCURRENCY` overrides). Hanging cases
    /// wait concurrently: a campaign costs about hangs / concurrency x deadline.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The most steps (requests with a planned answer) a generated scenario has.
    pub fn max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps.max(1);
        self
    }

    /// Runs the campaign and panics with the report if it has findings: the form to
    /// use in a `#[test]`.
    ///
    /// # Panics
    /// On findings, with the report; on a harness error, with the error.
    pub fn check<F, Fut, T, E>(self, code: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        match self.run(code) {
            Ok(report) if report.findings.is_empty() => {}
            Ok(report) => panic!("{report}"),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// Runs the campaign and returns its report.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an invalid environment override,
    /// [`ErrorKind::Baseline`] when your code fails against the unmodified baseline,
    /// [`ErrorKind::Io`] when a provider cannot bind.
    pub fn run<F, Fut, T, E>(self, code: F) -> Result<Report, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let settings = self.settings()?;
        let rerun = match std::thread::current().name() {
            Some(test) if test != "main" => format!("cargo test {test}"),
            _ => std::env::args().collect::<Vec<_>>().join(" "),
        };
        let code = Arc::new(code);
        let junit = self.junit();
        let report = on_harness_runtime(move || async move {
            let mut report = self.run_with(settings, code).await?;
            report.rerun = rerun;
            Ok::<_, Error>(report)
        })?;
        if let Some(dir) = junit {
            crate::junit::write(&dir, &report.suite, &crate::junit::campaign_xml(&report))?;
        }
        Ok(report)
    }

    /// Runs one scenario and, when your code panics or hangs on it, shrinks it to the
    /// smallest scenario that still does: for a scenario you found by hand, or from a
    /// bug report. `Ok(None)` when the scenario is no finding.
    ///
    /// ```
    /// use badgateway::{faults, Baseline, Campaign, Response, Scenario};
    /// let baseline = Baseline::new().endpoint("GET", "/", Response::new(200).body("ok"));
    /// let scenario = Scenario::new().then(faults::drip(1, 1)).then(faults::status(503));
    /// let finding = Campaign::new("doc", baseline)
    ///     .minimize(scenario, |url| async move {
    ///         for _ in 0..2 {
    ///             let status = reqwest::get(format!("{url}/")).await.map_err(|e| e.to_string())?.status();
    ///             assert_ne!(status, 503, "unexpected 503");
    ///         }
    ///         Ok::<_, String>(())
    ///     })
    ///     .unwrap()
    ///     .expect("a 503 on the second request panics");
    /// assert_eq!(finding.scenario, Scenario::new().then(faults::status(503)));
    /// ```
    ///
    /// # Errors
    /// As [`Campaign::run`], but the baseline is not probed.
    pub fn minimize<F, Fut, T, E>(
        self,
        scenario: Scenario,
        code: F,
    ) -> Result<Option<Finding>, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let settings = self.settings()?;
        let runs = self.runs(settings, Arc::new(code));
        on_harness_runtime(move || async move {
            let mut first = runs.all(vec![scenario]).await?;
            let first = first.pop().expect("one scenario, one result");
            if !first.outcome.is_finding() {
                return Ok(None);
            }
            runs.shrink(first.outcome.signature(), first, vec![0])
                .await
                .map(Some)
        })
    }

    /// Runs these scenarios against your code, `concurrency` at a time, without
    /// probing, generating, shrinking or keeping anything: for scenarios of your own,
    /// and for measuring the harness. Results come in the order of the scenarios.
    ///
    /// ```
    /// use badgateway::{faults, Baseline, Campaign, Class, Response, Scenario};
    /// let baseline = Baseline::new().endpoint("GET", "/", Response::new(200).body("ok"));
    /// let results = Campaign::new("doc", baseline)
    ///     .run_scenarios(vec![Scenario::new(), Scenario::new().then(faults::empty_response())], |url| async move {
    ///         reqwest::get(format!("{url}/")).await?.text().await
    ///     })
    ///     .unwrap();
    /// let classes: Vec<Class> = results.iter().map(|r| r.outcome.class()).collect();
    /// assert_eq!(classes, [Class::Ok, Class::HandledError]);
    /// ```
    ///
    /// # Errors
    /// As [`Campaign::run`], but the baseline is not probed.
    pub fn run_scenarios<F, Fut, T, E>(
        self,
        scenarios: Vec<Scenario>,
        code: F,
    ) -> Result<Vec<CaseResult>, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let settings = self.settings()?;
        let runs = self.runs(settings, Arc::new(code));
        on_harness_runtime(move || async move { runs.all(scenarios).await })
    }

    fn runs<F>(&self, settings: Settings, code: Arc<F>) -> Runs<F> {
        Runs {
            baseline: self.baseline.clone(),
            deadline: settings.deadline,
            code,
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            contract: self.contract.clone(),
            judge: self.judge.clone(),
        }
    }

    fn settings(&self) -> Result<Settings, Error> {
        let cases = match env_number("BADGATEWAY_CASES")? {
            Some(n) => {
                u32::try_from(n).map_err(|_| config_error("BADGATEWAY_CASES", &n.to_string()))?
            }
            None => self
                .cases
                .unwrap_or_else(|| proptest::test_runner::Config::default().cases),
        };
        let seed = env_number("BADGATEWAY_SEED")?
            .or(self.seed)
            .unwrap_or_else(|| fnv1a(self.suite.as_bytes()));
        let deadline = env_number("BADGATEWAY_DEADLINE_MS")?
            .map(Duration::from_millis)
            .unwrap_or(self.deadline);
        let concurrency = env_number("BADGATEWAY_CONCURRENCY")?
            .map(|n| n.max(1) as usize)
            .unwrap_or(self.concurrency);
        Ok(Settings {
            cases,
            seed,
            deadline,
            concurrency,
        })
    }

    async fn run_with<F, Fut, T, E>(
        &self,
        settings: Settings,
        code: Arc<F>,
    ) -> Result<Report, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let started = Instant::now();
        let runs = self.runs(settings, code);
        let probe = Case::new(self.baseline.clone(), Scenario::new())
            .deadline(settings.deadline)
            .run_shared(runs.code.clone())
            .await?;
        if probe.outcome.class() != Class::Ok {
            return Err(Error::new(
                ErrorKind::Baseline,
                format!(
                    "campaign `{}`: the code under test does not succeed against the unmodified baseline, so no finding could be told from a broken setup.\nit {}\nwhat the provider received:\n{}fix the baseline (endpoints, paths, mocks) or the code's URL handling first",
                    self.suite, probe.outcome, probe.journal
                ),
            ));
        }
        let catalog = Catalog::from_journal(&probe.journal);
        let generated = match &self.contract {
            Some(contract) => {
                let plans = plans(contract, &probe.journal)?;
                let strategy = scenarios_under_contract(&catalog, contract, &plans, self.max_steps);
                generate(strategy, settings.seed, settings.cases)
            }
            None => generate(
                scenarios(&catalog, self.max_steps),
                settings.seed,
                settings.cases,
            ),
        };
        let keeper = Keeper {
            store: self.store(),
            suite: self.suite.clone(),
            seed: settings.seed,
            cases: settings.cases,
        };
        let mut kept_signatures = std::collections::HashSet::new();
        let results = runs
            .all_observed(generated, |i, result| {
                // Nothing lost: the first case of each bug is on disk before shrinking.
                if result.outcome.is_finding() && kept_signatures.insert(result.outcome.signature())
                {
                    keeper.keep(&result.scenario, &result.outcome, i, None);
                }
            })
            .await?;

        let mut tally = BTreeMap::new();
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, result) in results.iter().enumerate() {
            *tally.entry(result.outcome.class()).or_insert(0) += 1;
            if result.outcome.is_finding() {
                let signature = result.outcome.signature();
                match groups.iter_mut().find(|(s, _)| *s == signature) {
                    Some((_, cases)) => cases.push(i),
                    None => groups.push((signature, vec![i])),
                }
            }
        }
        let mut shrinking = JoinSet::new();
        for (order, (signature, cases)) in groups.into_iter().enumerate() {
            let runs = runs.clone();
            let keeper = keeper.clone();
            let first = results[cases[0]].clone();
            shrinking.spawn(async move {
                let finding = runs
                    .shrink(signature, first, cases)
                    .await
                    .map(|mut finding| {
                        finding.fixture = keeper.keep(
                            &finding.scenario,
                            &finding.outcome,
                            finding.first_case,
                            Some(finding.shrink),
                        );
                        finding
                    });
                (order, finding)
            });
        }
        let mut findings: Vec<(usize, Finding)> = Vec::new();
        while let Some(done) = shrinking.join_next().await {
            let (order, finding) = done.expect("a shrink task does not panic");
            findings.push((order, finding?));
        }
        findings.sort_by_key(|(order, _)| *order);
        Ok(Report {
            suite: self.suite.clone(),
            seed: settings.seed,
            cases: settings.cases,
            deadline: settings.deadline,
            tally,
            findings: findings.into_iter().map(|(_, f)| f).collect(),
            elapsed: started.elapsed(),
            rerun: String::new(),
        })
    }
}

/// Asserts a verdict against its insta snapshot; insta's complaint when it differs.
fn snapshot(dir: &std::path::Path, label: &str, verdict: &Verdict) -> Option<String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&verdict.path);
    settings.set_description(format!(
        "badgateway replay `{label}` of fixture {}",
        verdict.fixture.id
    ));
    let name = format!("{label}__{}", verdict.fixture.id);
    let text = verdict.snapshot_text();
    let asserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, text));
    }));
    asserted.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the snapshot differs".into())
    })
}

/// What the contract says about each request of the probe. The baseline must
/// conform: a breaking change is only a breaking change of a conforming response.
fn plans(contract: &Contract, probe: &crate::journal::Journal) -> Result<Vec<Option<Plan>>, Error> {
    probe
        .requests
        .iter()
        .map(|r| {
            let Some(op) = contract.operation(&r.method, &r.target) else {
                return Ok(None);
            };
            let status = std::str::from_utf8(r.served.get(9..12).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(0);
            let Some(pointer) = op.response_schema(status) else {
                return Ok(None);
            };
            let baseline = Response::from_served(&r.served, r.served_head_len);
            let plan = Plan::new(contract, pointer, baseline).map_err(|why| {
                Error::new(
                    ErrorKind::Baseline,
                    format!(
                        "the baseline response to {} {} does not conform to the contract ({}): {why}; fix the baseline or the contract",
                        r.method,
                        r.target,
                        contract.source()
                    ),
                )
            })?;
            Ok(Some(plan))
        })
        .collect()
}

/// Generates `cases` scenarios from `seed`, deterministically.
fn generate(strategy: impl Strategy<Value = Scenario>, seed: u64, cases: u32) -> Vec<Scenario> {
    let mut seed_bytes = [0u8; 32];
    let mut state = seed;
    for chunk in seed_bytes.chunks_mut(8) {
        state = splitmix64(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng);
    (0..cases)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("scenario strategies never reject")
                .current()
        })
        .collect()
}

/// What every run of a campaign shares: the baseline, the deadline, the code, and the
/// slots that bound how many cases run at once.
struct Runs<F> {
    baseline: Baseline,
    deadline: Duration,
    code: Arc<F>,
    slots: Arc<Semaphore>,
    contract: Option<Arc<Contract>>,
    judge: Option<JudgeFn>,
}

impl<F> Clone for Runs<F> {
    fn clone(&self) -> Self {
        Self {
            baseline: self.baseline.clone(),
            deadline: self.deadline,
            code: self.code.clone(),
            slots: self.slots.clone(),
            contract: self.contract.clone(),
            judge: self.judge.clone(),
        }
    }
}

impl<F, Fut, T, E> Runs<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    /// Runs every scenario, as many at once as there are free slots; results in order.
    async fn all(&self, scenarios: Vec<Scenario>) -> Result<Vec<CaseResult>, Error> {
        self.all_observed(scenarios, |_, _| {}).await
    }

    /// As [`Runs::all`], showing each result to `observe` as soon as it is known.
    async fn all_observed(
        &self,
        scenarios: Vec<Scenario>,
        mut observe: impl FnMut(usize, &CaseResult),
    ) -> Result<Vec<CaseResult>, Error> {
        let mut running = JoinSet::new();
        for (i, scenario) in scenarios.into_iter().enumerate() {
            let case = Case::new(self.baseline.clone(), scenario).deadline(self.deadline);
            let code = self.code.clone();
            let slots = self.slots.clone();
            running.spawn(async move {
                let _slot = slots
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                (i, case.run_shared(code).await)
            });
        }
        let mut results: Vec<Option<CaseResult>> = Vec::new();
        while let Some(done) = running.join_next().await {
            let (i, result) = done.expect("a case task does not panic");
            let mut result = result?;
            result.outcome = crate::client_contract::behaved(result.outcome, &result.journal);
            if let Some(contract) = &self.contract {
                result.outcome =
                    crate::client_contract::checked(contract, result.outcome, &result.journal);
            }
            if let Some(judge) = &self.judge {
                result.outcome = crate::judge::apply(judge, result.outcome, &result.journal);
            }
            observe(i, &result);
            if results.len() <= i {
                results.resize(i + 1, None);
            }
            results[i] = Some(result);
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Shrinks a finding: each round runs every simplification at once and keeps the
    /// first that still shows the same signature.
    async fn shrink(
        &self,
        signature: String,
        first: CaseResult,
        cases: Vec<usize>,
    ) -> Result<Finding, Error> {
        let original = first.scenario.clone();
        let mut current = first;
        let (mut rounds, mut runs) = (0, 0);
        while rounds < MAX_SHRINK_ROUNDS {
            let candidates = shrink::candidates(&current.scenario);
            if candidates.is_empty() {
                break;
            }
            runs += candidates.len();
            let results = self.all(candidates).await?;
            match results
                .into_iter()
                .find(|r| r.outcome.signature() == signature)
            {
                Some(smaller) => {
                    current = smaller;
                    rounds += 1;
                }
                None => break,
            }
        }
        Ok(Finding {
            signature,
            shrink: ShrinkFigures {
                from_steps: original.steps.len(),
                from_complexity: original.complexity(),
                to_steps: current.scenario.steps.len(),
                to_complexity: current.scenario.complexity(),
                rounds,
                runs,
            },
            original,
            first_case: cases[0],
            seen_in: cases.len(),
            fixture: Kept::NotKept,
            outcome: current.outcome,
            scenario: current.scenario,
            journal: current.journal,
        })
    }
}

fn env_number(name: &str) -> Result<Option<u64>, Error> {
    let Ok(text) = std::env::var(name) else {
        return Ok(None);
    };
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => trimmed.parse(),
    };
    parsed.map(Some).map_err(|_| config_error(name, &text))
}

fn config_error(name: &str, value: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("invalid {name}={value:?}: expected a whole number (decimal, or hex with 0x), for example {name}=64"),
    )
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_generates_the_same_cases_and_another_seed_others() {
        let catalog = Catalog::default();
        let cases = |seed| generate(scenarios(&catalog, 3), seed, 50);
        assert_eq!(cases(7), cases(7));
        assert_ne!(cases(7), cases(8));
    }

    #[test]
    fn environment_numbers_are_decimal_or_hex_and_a_bad_one_says_how_to_fix_it() {
        // Names used by this test alone, so no other test reads them meanwhile.
        std::env::set_var("BADGATEWAY_TEST_ONLY_DEC", "64");
        std::env::set_var("BADGATEWAY_TEST_ONLY_HEX", "0x2a");
        std::env::set_var("BADGATEWAY_TEST_ONLY_BAD", "many");
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_DEC").unwrap(), Some(64));
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_HEX").unwrap(), Some(42));
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_UNSET").unwrap(), None);
        let error = env_number("BADGATEWAY_TEST_ONLY_BAD").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(
            error.to_string(),
            "invalid BADGATEWAY_TEST_ONLY_BAD=\"many\": expected a whole number (decimal, or hex with 0x), for example BADGATEWAY_TEST_ONLY_BAD=64"
        );
    }
}
