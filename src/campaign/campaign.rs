//! The campaign: its settings, and the calls that run it.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::contract::Contract;
use crate::error::Error;
use crate::oracle::{judging, JudgeFn, Judged, JudgedCode, JudgedPool, Oracle};
use crate::provider::{Baseline, Secrets};
use crate::report::junit::campaign_xml;
use crate::report::{Finding, Report};
use crate::runner::harness::on_harness_runtime;
use crate::runner::isolation::{self, DEFAULT_MEMORY_CAP};
use crate::runner::pool::Pool;
use crate::runner::rules::Rules;
use crate::runner::{CaseResult, DEFAULT_DEADLINE};
use crate::scenario::Scenario;
use crate::store::junit::{self, junit_dir};
use crate::store::{Keeping, Replay, ReplayReport};
use crate::webhook::Webhooks;

use super::settings::Settings;
use super::shrinking::shrunk;

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
/// | the report printed | `BADGATEWAY_REPORT` (`summary` or `full`) | `full`: the summary, every finding, the summary again |
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
    pub(crate) suite: String,
    pub(super) baseline: Baseline,
    pub(super) cases: Option<u32>,
    pub(super) seed: Option<u64>,
    pub(super) deadline: Duration,
    pub(super) concurrency: usize,
    pub(crate) max_steps: usize,
    pub(crate) keeping: Keeping,
    pub(super) junit_dir: Option<PathBuf>,
    pub(crate) contract: Option<Arc<Contract>>,
    pub(crate) judge: Option<JudgeFn>,
    pub(super) secrets: Secrets,
    pub(super) strict: bool,
    pub(super) case_limit: Option<Duration>,
    pub(super) coverage: bool,
    pub(super) rules: Rules,
    pub(super) isolated: bool,
    pub(super) memory_cap: u64,
    /// The webhooks a webhook campaign delivers.
    pub(crate) webhooks: Option<Arc<Webhooks>>,
    /// Under libFuzzer: whether a finding already kept is a crash like a new one.
    pub(crate) fuzz_crash_on_known: bool,
    /// Under libFuzzer: whether stalls and slow faults are as common and as long as
    /// in campaigns.
    pub(crate) fuzz_full_waits: bool,
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
            keeping: Keeping::Default,
            junit_dir: None,
            contract: None,
            judge: None,
            secrets: Secrets::new(),
            strict: false,
            case_limit: None,
            coverage: true,
            rules: Rules::default(),
            isolated: true,
            memory_cap: DEFAULT_MEMORY_CAP,
            webhooks: None,
            fuzz_crash_on_known: false,
            fuzz_full_waits: false,
        }
    }

    /// Under libFuzzer ([`fuzz::run`](crate::fuzz::run)), a finding whose signature is
    /// already kept in the campaign's fixture store is a crash like a new one. By
    /// default it is counted and reported at exit instead, so that a night of fuzzing
    /// goes on looking for bugs nobody has kept yet. `BADGATEWAY_FUZZ_KNOWN=crash`
    /// (or `count`) overrides.
    pub fn fuzz_crash_on_known(mut self) -> Self {
        self.fuzz_crash_on_known = true;
        self
    }

    /// Under libFuzzer ([`fuzz::run`](crate::fuzz::run)), stalls and slow responses as
    /// common and as long as in campaigns. By default they are short there: a slow
    /// response takes 2 ms at most, and a stall (or a body shorter than its length
    /// says) is served and then closed, kept as a stall one time in 256. Hangs are the
    /// campaign's to find; under libFuzzer, time spent waiting on the client's own
    /// timeouts is time not spent on inputs. `BADGATEWAY_FUZZ_WAITS=full` (or
    /// `short`) overrides.
    pub fn fuzz_full_waits(mut self) -> Self {
        self.fuzz_full_waits = true;
        self
    }

    /// Runs every case in this process instead of in worker processes (the default
    /// since isolation costs about as much): for a test that cannot be run again up to
    /// its campaign (see [`Campaign::isolated`]), or code that must share this
    /// process's state. An abort, a stack overflow, memory exhausted or `exit(..)` in
    /// your code then ends the test process, and the case in flight is named as it
    /// goes where it can be. `BADGATEWAY_ISOLATION=off` does the same from outside.
    ///
    /// ```
    /// let campaign = badgateway::Campaign::new("charges", Default::default()).in_process();
    /// # let _ = campaign;
    /// ```
    pub fn in_process(mut self) -> Self {
        self.isolated = false;
        self
    }

    /// Runs every case in worker processes: the default. A worker is this program
    /// again, filtered to the current test, so that an abort, a stack overflow,
    /// memory exhausted or `exit(..)` in your code kills the worker and not the test:
    /// the campaign classifies each as an [`Outcome::Crash`](crate::Outcome::Crash), shrinks it and keeps it
    /// like any other finding, and a thread your code blocks dies with its worker
    /// instead of leaking. `BADGATEWAY_ISOLATION` (`process` or `off`) overrides.
    ///
    /// **What a test must do to be isolatable:** the worker runs the test again from
    /// its start, on the test's own thread, and is handed the results of the
    /// isolated campaigns and replays before this one; so the test must reach its
    /// campaigns the same way every run (the same campaigns, names and order, on the
    /// test's thread, not one it spawned). A test that does not fails with an error
    /// naming this rule, never with another campaign's verdicts. Anything the test
    /// does before the campaign happens again in the worker; state your code keeps
    /// (a counter in a static, say) is the worker's, not the test's: use
    /// [`Campaign::in_process`] where the test must see it.
    ///
    /// ```
    /// let campaign = badgateway::Campaign::new("charges", Default::default()).isolated();
    /// # let _ = campaign;
    /// ```
    pub fn isolated(mut self) -> Self {
        self.isolated = true;
        self
    }

    /// The most memory a worker process may use, in bytes (4 GiB unless set;
    /// `BADGATEWAY_MEMORY_CAP_MB` overrides): past it, allocations fail and the case
    /// is a crash of kind `out of memory`, whether the allocation is sudden or grows
    /// towards the cap. Applies to isolated campaigns (the default).
    ///
    /// ```
    /// let campaign = badgateway::Campaign::new("charges", Default::default()).isolated().memory_cap(1 << 30);
    /// # let _ = campaign;
    /// ```
    pub fn memory_cap(mut self, bytes: u64) -> Self {
        self.memory_cap = bytes;
        self
    }

    /// The behaviour rules cases are judged by across their requests (double
    /// charges, storms, backoff, `Retry-After`, final errors, pagination), with their
    /// bounds; every rule, with its default bounds, unless set.
    ///
    /// ```
    /// use badgateway::{Baseline, Campaign, Rule, Rules};
    /// let campaign = Campaign::new("charges", Baseline::new())
    ///     .rules(Rules::default().max_attempts(4).without(Rule::Backoff));
    /// # let _ = campaign;
    /// ```
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Whether the campaign first tries every single fault on purpose (the coverage
    /// phase: every transport, framing, status, body and header fault, each
    /// `Retry-After` form with its status, every JSON change or contract clause, for
    /// each request the probe saw), so that a bug one fault triggers is found whatever
    /// the seed. On by default; `cases` counts the random cases that follow. The
    /// phase holds at most 2,000 scenarios, sampled evenly past that.
    ///
    /// ```
    /// let campaign = badgateway::Campaign::new("charges", Default::default()).coverage(false);
    /// # let _ = campaign;
    /// ```
    pub fn coverage(mut self, on: bool) -> Self {
        self.coverage = on;
        self
    }

    /// How long one case may run, live but sending no request, before it is stopped
    /// as a live hang: an endless drip read without an overall timeout, an unbounded
    /// wait (`BADGATEWAY_CASE_LIMIT_MS` overrides; default: ten deadlines). Time the
    /// harness was starved of CPU does not count, and a client still sending requests
    /// is not cut short (its attempts are judged by the behaviour rules, and the
    /// request cap stops requests without end) until three limits have passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let campaign = badgateway::Campaign::new("charges", Default::default()).case_limit(Duration::from_secs(30));
    /// # let _ = campaign;
    /// ```
    pub fn case_limit(mut self, limit: Duration) -> Self {
        self.case_limit = Some(limit);
        self
    }

    /// Judges silent acceptance clause by clause: returning `Ok` after any response
    /// that breaks a clause is a finding, even when the code never read that field or
    /// passed the value through unchanged.
    ///
    /// By default (not strict), `Ok` after a clause-breaking response is a finding only
    /// when the broken value caused the result: the same case with only that change
    /// undone returns something else, and the result does not carry the broken value
    /// verbatim (an unknown status mapped to a valid one, a missing amount defaulted
    /// to 0). `Ok` for an error status is a finding either way. Strict also calls
    /// `Err` for any conforming response a false rejection, where by default only
    /// responses that mean the same as the baseline (a property added, keys
    /// reordered, whitespace, escapes) are owed acceptance.
    ///
    /// ```
    /// use badgateway::{Baseline, Campaign};
    /// let campaign = Campaign::new("charges", Baseline::new()).strict();
    /// # let _ = campaign;
    /// ```
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// A secret value to keep out of every fixture, report, JUnit file and snapshot,
    /// besides those the provider collects by itself (values of `Authorization`,
    /// API-key and token headers, secret query parameters and body fields, tokens in
    /// baseline responses). Name the keys your code holds that it might print.
    ///
    /// ```
    /// use badgateway::{Baseline, Campaign};
    /// let campaign = Campaign::new("charges", Baseline::new()).secret("sk_test_4eC39HqLyjWDarjtT1zdp7dc");
    /// # let _ = campaign;
    /// ```
    pub fn secret(mut self, value: &str) -> Self {
        self.secrets.add_value(value);
        self
    }

    /// A header, query parameter or body field name whose values are secret, besides
    /// those badgateway knows ([`journal::is_secret`](crate::journal::is_secret)).
    pub fn secret_name(mut self, name: &str) -> Self {
        self.secrets.add_name(name);
        self
    }

    /// Your word on what the code returned: the closure sees the response a case is
    /// about (the broken one for a silent acceptance, the last conforming one for a
    /// false rejection, the last JSON response otherwise) and the value your code
    /// returned, typed, and can dismiss a silent acceptance or false rejection that is
    /// not a bug ([`Judged::Fine`]), or call a returned value wrong for its response
    /// ([`Judged::Wrong`]: "the returned charge's status must equal the response's").
    ///
    /// It is asked where the code returns (in the worker process, isolated), so the
    /// value needs neither `Send` nor `Serialize`. Its types must be the code's own
    /// (`Result<&T, &E>` for code returning `Result<T, E>`): a judge of other types
    /// would never run, so the campaign refuses it (a
    /// [`Config`](crate::ErrorKind::Config) error) rather than check nothing.
    ///
    /// Here the client clamps an amount over the contract's maximum to what was asked
    /// for: the contract says the response is broken, the client returns `Ok`, and
    /// without the judge that is a silent acceptance. The judge looks at the value
    /// returned and dismisses it, and calls a charge whose status is not the response's
    /// wrong:
    ///
    /// ```
    /// use badgateway::{faults, Baseline, Campaign, Class, Expectation, JsonChange, Judged, Response, Scenario};
    ///
    /// #[derive(Debug)]
    /// struct Charge { amount: u64, status: String }
    ///
    /// async fn charge(url: String) -> Result<Charge, String> {
    ///     let body: serde_json::Value = reqwest::get(format!("{url}/v1/charges/ch_1"))
    ///         .await.map_err(|e| e.to_string())?
    ///         .json().await.map_err(|e| e.to_string())?;
    ///     let amount = body["amount"].as_u64().ok_or("no amount")?;
    ///     let status = body["status"].as_str().ok_or("no status")?.to_owned();
    ///     // Never more than was asked for, whatever the provider says.
    ///     Ok(Charge { amount: amount.min(500), status })
    /// }
    ///
    /// let baseline = Baseline::new().endpoint(
    ///     "GET", "/v1/charges/ch_1",
    ///     Response::json(200, &serde_json::json!({"amount": 500, "status": "succeeded"})),
    /// );
    /// // The response a contract with `amount: {maximum: 500}` calls broken (a campaign
    /// // with `.contract(..)` generates such steps by itself).
    /// let mut over = faults::json("amount", JsonChange::ReplaceWith { json: "501".into() });
    /// over.expect = Some(Expectation::Reject { clause: "amount: maximum".into() });
    /// let over_the_maximum = Scenario::new().then(over);
    /// let campaign = || Campaign::new("doc.judge", baseline.clone()).strict().no_fixtures().in_process();
    ///
    /// // Without a judge: a silent acceptance.
    /// let results = campaign().run_scenarios(vec![over_the_maximum.clone()], charge).unwrap();
    /// assert_eq!(results[0].outcome.class(), Class::SilentAcceptance);
    ///
    /// // With one: the returned amount is within the contract, so it is fine.
    /// let judged = campaign().judge(|response: &serde_json::Value, returned: Result<&Charge, &String>| match returned {
    ///     Ok(charge) if charge.status != response["status"] => Judged::Wrong("the status is not the response's".into()),
    ///     Ok(charge) if charge.amount <= 500 => Judged::Fine,
    ///     _ => Judged::AsIs,
    /// });
    /// let results = judged.run_scenarios(vec![over_the_maximum], charge).unwrap();
    /// assert_eq!(results[0].outcome.class(), Class::Ok);
    /// ```
    pub fn judge<T: 'static, E: 'static>(
        mut self,
        judge: impl Fn(&serde_json::Value, Result<&T, &E>) -> Judged + Send + Sync + 'static,
    ) -> Self {
        self.judge = Some(JudgeFn::new(judge));
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
    pub fn junit_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.junit_dir = Some(dir.into());
        self
    }

    /// Replays every fixture of this campaign's suite against your code, with this
    /// campaign's baseline, deadline, contract, judge and folders: see [`Replay`],
    /// which does it without a campaign.
    ///
    /// ```no_run
    /// # use badgateway::{Baseline, Campaign};
    /// Campaign::new("paygate.create_charge", Baseline::new()).replay("naive", |url| async move {
    ///     reqwest::get(format!("{url}/v1/charges")).await?.text().await
    /// });
    /// ```
    ///
    /// # Panics
    /// When a verdict differs from its snapshot, a fixture cannot be read, or the
    /// replay cannot run, with a summary.
    #[track_caller]
    pub fn replay<F, Fut, T, E>(self, label: &str, code: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        self.replayer().check(label, code);
    }

    /// As [`Campaign::replay`], returning the verdicts instead of panicking.
    ///
    /// # Errors
    /// As [`Replay::run`].
    pub fn replay_report<F, Fut, T, E>(self, label: &str, code: F) -> Result<ReplayReport, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        self.replayer().run(label, code)
    }

    /// The replay of this campaign's fixtures, with its settings.
    fn replayer(self) -> Replay {
        Replay::new(&self.suite, self.baseline)
            .deadline(self.deadline)
            .concurrency(self.concurrency)
            .with_parts(self.contract, self.judge, self.keeping, self.junit_dir)
            .with_secrets(self.secrets)
            .strict_if(self.strict)
            .limit_if(self.case_limit)
            .isolated_if(self.isolated, self.memory_cap)
            .rules(self.rules)
    }

    /// The pool this campaign's cases run in, judged by its oracle.
    pub(crate) fn judged_pool<F>(&self, settings: Settings, code: Arc<F>) -> JudgedPool<F> {
        JudgedPool {
            pool: Pool::new(
                self.baseline.clone(),
                settings.deadline,
                settings.concurrency,
                code,
            )
            .with_secrets(self.secrets.clone())
            .with_limit(settings.case_limit)
            .with_rules(self.rules.clone()),
            oracle: Oracle::new(self.contract.clone())
                .strict(self.strict)
                .rules(self.rules.clone()),
        }
    }

    /// Keeps findings as fixtures under this folder instead of the default
    /// ([`Store::default_root`](crate::Store::default_root): `fixtures/regressions` in your package).
    /// `BADGATEWAY_FIXTURES` overrides (a folder, or `off`).
    pub fn fixtures_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keeping = Keeping::In(dir.into());
        self
    }

    /// Keeps no fixtures: for campaigns whose findings are the point of the test.
    /// `BADGATEWAY_FIXTURES` overrides.
    pub fn no_fixtures(mut self) -> Self {
        self.keeping = Keeping::Off;
        self
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

    /// How long your code may wait on a stalled provider, with no request, no close
    /// and no return, before the case is a hang (`BADGATEWAY_DEADLINE_MS` overrides).
    /// A client whose own timeout is at most this is making progress, whatever its
    /// retries add up to; slow but finite responses and `Retry-After` waits do not
    /// count; a live case is stopped at ten deadlines in all.
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
    #[track_caller]
    pub fn check<F, Fut, T, E>(self, code: F)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        match self.run(code) {
            Ok(report) if report.findings.is_empty() => {}
            Ok(report) => panic!("{}", report.for_terminal()),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// Runs the campaign and returns its report.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an invalid environment override,
    /// [`ErrorKind::Baseline`](crate::ErrorKind::Baseline) when your code fails against the unmodified baseline,
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when a provider cannot bind.
    pub fn run<F, Fut, T, E>(self, code: F) -> Result<Report, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        let settings = self.settings()?;
        let rerun = rerun_command(
            std::thread::current().name(),
            &std::env::args().collect::<Vec<_>>(),
            std::env::current_exe().ok().as_deref(),
            std::env::var("CARGO_PKG_NAME").ok().as_deref(),
            &std::env::vars().collect::<Vec<_>>(),
        );
        let code = judging(self.judge.clone(), code)?;
        let runs = self.judged_pool(settings, Arc::new(code));
        let junit = junit_dir(self.junit_dir.as_deref());
        let key = format!("campaign `{}`", self.suite);
        let explore = move |runs| {
            on_harness_runtime(move || async move {
                let mut report = self.explore(settings, runs).await?;
                report.rerun = rerun;
                Ok::<_, Error>(report)
            })
        };
        let mut report = if settings.isolated {
            let pool = runs.pool.clone();
            isolation::isolated(&key, settings.memory_cap, &pool, move |workers| {
                let mut runs = runs;
                runs.pool = runs.pool.in_workers(workers);
                explore(runs)
            })?
        } else {
            explore(runs)?
        };
        if let Some(dir) = junit {
            // The findings are on disk already; a JUnit file that cannot be written is
            // said, never a reason to drop the report.
            if let Err(error) = junit::write(&dir, &report.suite, &campaign_xml(&report)) {
                eprintln!("badgateway: {error}");
                report.warnings.push(error.to_string());
            }
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
        T: Debug + 'static,
        E: Display + 'static,
    {
        let settings = self.settings()?;
        let code = judging(self.judge.clone(), code)?;
        let runs = self.judged_pool(settings, Arc::new(code));
        on_harness_runtime(move || async move {
            let mut first = runs.all(vec![scenario]).await?;
            let first = first.pop().expect("one scenario, one result");
            if !first.outcome.is_finding() {
                return Ok(None);
            }
            shrunk(&runs, first.outcome.signature(), first, 0, 1)
                .await
                .map(Some)
        })
    }

    /// Runs these scenarios against your code, `concurrency` at a time, without
    /// probing, generating, shrinking or keeping anything: for scenarios of your own,
    /// and for measuring the harness. Results come in the order of the scenarios.
    /// Isolated unless the campaign runs [`Campaign::in_process`].
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
        T: Debug + 'static,
        E: Display + 'static,
    {
        let settings = self.settings()?;
        let code = judging(self.judge.clone(), code)?;
        let runs = self.judged_pool(settings, Arc::new(code));
        let scenarios_len = scenarios.len();
        let all = move |runs: JudgedPool<JudgedCode<T, E>>| {
            on_harness_runtime(move || async move { runs.all(scenarios).await })
        };
        if !settings.isolated {
            return all(runs);
        }
        let pool = runs.pool.clone();
        let key = format!("scenarios of `{}` ({} of them)", self.suite, scenarios_len);
        isolation::isolated(&key, settings.memory_cap, &pool, move |workers| {
            let mut runs = runs;
            runs.pool = runs.pool.in_workers(workers);
            all(runs)
        })
    }
}

/// The command that runs this campaign again, as printed after `reproduce:` (the
/// seed goes before it): for a test, `cargo test` of that one test, exactly, in its
/// package and test target; for an example or a binary, `cargo run` of it with the
/// same arguments; otherwise the command line as it was. The `BADGATEWAY_*` settings
/// the run had go first, so the cases are the same.
///
/// Implementation notes: `cargo test campaigns::naive` alone builds and runs every
/// test target and doctest, and also runs `campaigns::naive_twice`; a path under
/// `target/` fails on a clean checkout. cargo sets `CARGO_PKG_NAME` in what it runs,
/// and a test binary is named `<target>-<hash>` in `deps/`.
pub(crate) fn rerun_command(
    thread: Option<&str>,
    args: &[String],
    exe: Option<&std::path::Path>,
    package: Option<&str>,
    vars: &[(String, String)],
) -> String {
    let mut words: Vec<String> = vars
        .iter()
        .filter(|(name, _)| {
            name.starts_with("BADGATEWAY_")
                && !matches!(
                    name.as_str(),
                    "BADGATEWAY_SEED"
                        | "BADGATEWAY_REPORT"
                        | "BADGATEWAY_WORKER"
                        | "BADGATEWAY_WORKER_ENTRY"
                        | "BADGATEWAY_WORKER_MEMORY"
                )
        })
        .map(|(name, value)| format!("{name}={}", shell_word(value)))
        .collect();
    words.sort();
    let stem = exe
        .and_then(|e| e.file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let folder = exe
        .and_then(|e| e.parent())
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    let release = exe.is_some_and(|e| e.components().any(|c| c.as_os_str() == "release"));
    let mut cargo = |verb: &str, target: Vec<String>| {
        words.push(format!("cargo {verb}"));
        if release {
            words.push("--release".into());
        }
        if let Some(package) = package {
            words.push(format!("-p {package}"));
        }
        words.extend(target);
    };
    match (thread, package, stem, folder.as_deref()) {
        (Some(test), Some(package), Some(stem), Some("deps")) if test != "main" => {
            let target = stem
                .rsplit_once('-')
                .map_or(stem.as_str(), |(name, _)| name);
            let kind = match target == package.replace('-', "_") {
                true => "--lib".to_owned(),
                false => format!("--test {target}"),
            };
            cargo(
                "test",
                vec![kind, "--".into(), "--exact".into(), shell_word(test)],
            );
        }
        (_, Some(_), Some(stem), Some("examples")) => {
            let mut target = vec![format!("--example {stem}")];
            if args.len() > 1 {
                target.push("--".into());
                target.extend(args[1..].iter().map(|a| shell_word(a)));
            }
            cargo("run", target);
        }
        (Some(test), _, _, _) if test != "main" => {
            words.push(format!("cargo test {}", shell_word(test)))
        }
        _ => words.extend(args.iter().map(|a| shell_word(a))),
    }
    words.join(" ")
}

/// A word as a POSIX shell reads it back: as it is when it is plain, else quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    match plain {
        true => word.to_owned(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::rerun_command;

    fn args(all: &[&str]) -> Vec<String> {
        all.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn a_reproduce_line_runs_the_same_test_or_example_as_printed() {
        let vars = vec![
            ("BADGATEWAY_CASES".to_owned(), "500".to_owned()),
            ("BADGATEWAY_SEED".to_owned(), "7".to_owned()),
            ("BADGATEWAY_WORKER".to_owned(), "1".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ];
        let test = rerun_command(
            Some("campaigns::naive"),
            &args(&["/w/target/debug/deps/it-0123abcd", "naive"]),
            Some(Path::new("/w/target/debug/deps/it-0123abcd")),
            Some("badgateway"),
            &vars,
        );
        assert_eq!(
            test,
            "BADGATEWAY_CASES=500 cargo test -p badgateway --test it -- --exact campaigns::naive"
        );
        let unit = rerun_command(
            Some("campaign::tests::x"),
            &[],
            Some(Path::new("/w/target/release/deps/pay_gate-99")),
            Some("pay-gate"),
            &[],
        );
        assert_eq!(
            unit,
            "cargo test --release -p pay-gate --lib -- --exact campaign::tests::x"
        );
        let example = rerun_command(
            Some("main"),
            &args(&["target/debug/examples/campaign", "naive", "two words"]),
            Some(Path::new("/w/target/debug/examples/campaign")),
            Some("badgateway"),
            &[],
        );
        assert_eq!(
            example,
            "cargo run -p badgateway --example campaign -- naive 'two words'"
        );
        // Not run by cargo: the command line as it was.
        let binary = rerun_command(
            Some("main"),
            &args(&["/opt/shop/check", "--all"]),
            Some(Path::new("/opt/shop/check")),
            None,
            &[],
        );
        assert_eq!(binary, "/opt/shop/check --all");
    }
}
