//! One fuzz execution: decode, run through the campaign's provider, runner and
//! oracle, and turn a confirmed finding into a libFuzzer crash.
//!
//! Implementation notes: libFuzzer calls the target on one thread, tens of thousands
//! of times. Everything that can be made once is made once per thread and campaign:
//! the harness runtime (current-thread: the provider and the watch run only while an
//! execution is waited for), the probe of the baseline, the catalog, the contract's
//! plans with their conforming generators, and the oracle with the baseline's output.
//! The code runs on the runner's reused case threads, as a campaign's does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{Debug, Display, Write};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use arbitrary::Unstructured;

use crate::campaign::Campaign;
use crate::error::Error;
use crate::generate::fuzzed::Vocabulary;
use crate::generate::strategies::SLOW_BUDGET_MS;
use crate::generate::{plans, Catalog};
use crate::oracle::{Counterfactual, Oracle};
use crate::provider::Journal;
use crate::report::served_requests;
use crate::runner::settings::env_choice;
use crate::runner::{Case, CaseResult, Outcome};
use crate::scenario::Scenario;

use super::promote;

/// What one campaign's fuzzing keeps between executions on this thread.
pub(super) struct Prepared {
    pub(super) runtime: tokio::runtime::Runtime,
    /// The campaign's settings, serving the empty scenario.
    pub(super) case: Case,
    pub(super) oracle: Oracle,
    vocabulary: Vocabulary,
    /// The provider, kept from one execution to the next (reset for each).
    provider: RefCell<Option<crate::provider::Provider>>,
    /// Findings that did not show again on a second run: said once each.
    unconfirmed: std::collections::HashSet<String>,
    /// The signatures kept in the campaign's fixture store, with their fixture: known
    /// findings, counted rather than crashed on unless `crash_on_known`.
    known: HashMap<String, String>,
    crash_on_known: bool,
    /// The fixture store the known signatures are read from, if the campaign keeps any.
    store: Option<crate::store::Store>,
}

/// The prepared fuzzing of each campaign suite, closure type and fuzzing settings
/// (full waits, crash on known) on this thread.
type PerCampaign = HashMap<(String, std::any::TypeId, bool, bool), Rc<RefCell<Prepared>>>;

thread_local! {
    static PREPARED: RefCell<PerCampaign> = RefCell::new(HashMap::new());
}

/// Runs libFuzzer's `data` as one case of `campaign` against `code`, and panics
/// (which libFuzzer reports as a crash, keeping the input as an artifact) when the
/// case is a finding that shows again when run a second time. The panic message is
/// the finding as a campaign report shows it, with the command that reproduces it
/// and the one that promotes it to a regression fixture.
///
/// The first call on a thread probes the baseline (as a campaign does) and prepares
/// the decoding; later calls reuse it. Under `badgateway promote`
/// ([`PROMOTE_SUITE_VAR`](super::PROMOTE_SUITE_VAR) set), the finding is shrunk and
/// kept in the campaign's fixture store instead of panicking.
///
/// ```
/// use std::time::Duration;
/// use badgateway::{Baseline, Campaign, Response};
/// let baseline = Baseline::new().endpoint("GET", "/v1/balance", Response::json(200, &serde_json::json!({"available": 10})));
/// let campaign = Campaign::new("fuzz-doc", baseline).deadline(Duration::from_millis(200)).no_fixtures();
/// let careful = |url: String| async move {
///     let client = reqwest::Client::builder().timeout(Duration::from_millis(100)).build()?;
///     client.get(format!("{url}/v1/balance")).send().await?.json::<serde_json::Value>().await
/// };
/// // The empty input is the unmodified baseline; these bytes are a few faults.
/// badgateway::fuzz::run(&[], &campaign, careful);
/// badgateway::fuzz::run(&[4, 0, 2, 1, 9], &campaign, careful);
/// ```
///
/// # Panics
/// On a confirmed finding, with its report; on a harness error (the code does not
/// succeed against the unmodified baseline, a provider cannot bind), with the error.
pub fn run<F, Fut, T, E>(data: &[u8], campaign: &Campaign, code: F)
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug + 'static,
    E: Display + 'static,
{
    let code = match crate::oracle::judging(campaign.judge.clone(), code) {
        Ok(code) => Arc::new(code),
        Err(error) => panic!(
            "badgateway: cannot fuzz campaign `{}`: {error}",
            campaign.suite
        ),
    };
    let prepared = match prepared(campaign, &code) {
        Ok(prepared) => prepared,
        Err(error) => panic!(
            "badgateway: cannot fuzz campaign `{}`: {error}",
            campaign.suite
        ),
    };
    let mut prepared = prepared.borrow_mut();
    let scenario = prepared.decode(data);
    if promote::requested() {
        promote::promote(&prepared, campaign, scenario, code);
        return;
    }
    match prepared.confirmed(scenario, code) {
        Confirmed::Clean => {}
        Confirmed::Known { signature } => {
            let fixture = prepared.known.get(&signature).cloned().unwrap_or_default();
            known::seen(&campaign.suite, &signature, &fixture);
        }
        Confirmed::Unconfirmed { first, again } => {
            let signature = first.outcome.signature();
            if prepared.unconfirmed.insert(signature.clone()) {
                eprintln!(
                    "badgateway: `{signature}` did not show again when its input ran a second time (it {} then): flaky, or the machine was busy; not reported",
                    again.outcome
                );
            }
        }
        Confirmed::Finding(first) => {
            // Kept since this thread read the store (promoted meanwhile, or by a
            // campaign run beside it)?
            let signature = first.outcome.signature();
            if !prepared.crash_on_known {
                prepared.known = kept_signatures(prepared.store.as_ref(), &campaign.suite);
                if let Some(fixture) = prepared.known.get(&signature) {
                    known::seen(&campaign.suite, &signature, fixture);
                    return;
                }
            }
            panic!("{}", crash_report(&campaign.suite, &first, data))
        }
    }
}

/// As [`run`], for a webhook campaign ([`Campaign::webhooks`]): libFuzzer's `data`
/// decodes to the case's deliveries too, and `start` starts the handler for each
/// execution as [`Campaign::check_handler`]'s does.
///
/// # Panics
/// As [`run`], and when the campaign has no webhooks.
pub fn run_handler<S, Fut, H>(data: &[u8], campaign: &Campaign, start: S)
where
    S: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = H> + 'static,
    H: Into<crate::webhook::Handler>,
{
    match campaign.handler_code(start) {
        Ok(code) => run(data, campaign, code),
        Err(error) => panic!(
            "badgateway: cannot fuzz campaign `{}`: {error}",
            campaign.suite
        ),
    }
}

/// As [`decode`], for a webhook campaign's target ([`run_handler`]).
///
/// # Errors
/// As [`Campaign::run_handler`] for the probe.
pub fn decode_handler<S, Fut, H>(
    data: &[u8],
    campaign: &Campaign,
    start: S,
) -> Result<Scenario, Error>
where
    S: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = H> + 'static,
    H: Into<crate::webhook::Handler>,
{
    decode(data, campaign, campaign.handler_code(start)?)
}

/// What a scenario did, run once and, when that was a finding, once more.
enum Confirmed {
    /// No finding.
    Clean,
    /// A finding the second run did not show: flaky, or the machine was busy.
    Unconfirmed {
        /// The run that showed it.
        first: Box<CaseResult>,
        /// The run that did not.
        again: Box<CaseResult>,
    },
    /// A finding both runs showed (the first run's result).
    Finding(Box<CaseResult>),
    /// A finding whose signature is kept already: not run again.
    Known {
        /// Its signature.
        signature: String,
    },
}

/// The scenario libFuzzer's `data` decodes to under `campaign` (probing its baseline
/// with `code` on the first call on a thread, as [`run`] does): what a fuzz target
/// runs, for tests of a seed corpus and for reading an artifact.
///
/// # Errors
/// As [`Campaign::run`] for the probe.
pub fn decode<F, Fut, T, E>(data: &[u8], campaign: &Campaign, code: F) -> Result<Scenario, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug + 'static,
    E: Display + 'static,
{
    let prepared = prepared(campaign, &Arc::new(code))?;
    let decoded = prepared.borrow().decode(data);
    Ok(decoded)
}

/// The prepared fuzzing of this campaign with this code on this thread: made on the
/// first call.
fn prepared<F, Fut, T, E>(
    campaign: &Campaign,
    code: &Arc<F>,
) -> Result<Rc<RefCell<Prepared>>, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug + 'static,
    E: Display + 'static,
{
    let key = (
        campaign.suite.clone(),
        std::any::TypeId::of::<F>(),
        campaign.fuzz_full_waits,
        campaign.fuzz_crash_on_known,
    );
    if let Some(prepared) = PREPARED.with(|p| p.borrow().get(&key).cloned()) {
        return Ok(prepared);
    }
    let prepared = Rc::new(RefCell::new(Prepared::new(campaign, code.clone())?));
    PREPARED.with(|p| p.borrow_mut().insert(key, prepared.clone()));
    Ok(prepared)
}

impl Prepared {
    fn new<F, Fut, T, E>(campaign: &Campaign, code: Arc<F>) -> Result<Prepared, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        crate::runner::harness::check_panic_hook();
        let settings = campaign.settings()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    crate::error::ErrorKind::Io,
                    format!("cannot build the fuzzing runtime: {e}"),
                )
            })?;
        let mut runs = campaign.judged_pool(settings, code);
        let (probe, _) = runtime.block_on(campaign.probe(&mut runs))?;
        let mut catalog = Catalog::from_journal(&probe);
        if let Some(contract) = &campaign.contract {
            catalog = catalog.with_templates(contract);
        }
        // Slow responses stay well inside the deadline, as in campaigns: slowness
        // alone is never a finding, and an execution never costs more than it must.
        let slow_budget_ms = u64::try_from(settings.deadline.as_millis() / 2)
            .unwrap_or(SLOW_BUDGET_MS)
            .min(SLOW_BUDGET_MS);
        let mut vocabulary = Vocabulary::new(catalog, campaign.max_steps, slow_budget_ms);
        if let Some(contract) = &campaign.contract {
            vocabulary = vocabulary.under_contract(contract.clone(), plans(contract, &probe)?);
        }
        if let Some(webhooks) = &campaign.webhooks {
            vocabulary = vocabulary.delivering(webhooks);
        }
        let full_waits = env_choice("BADGATEWAY_FUZZ_WAITS", &[("full", true), ("short", false)])?
            .unwrap_or(campaign.fuzz_full_waits);
        if !full_waits {
            vocabulary = vocabulary.short_waits();
        }
        let crash_on_known = env_choice(
            "BADGATEWAY_FUZZ_KNOWN",
            &[("crash", true), ("count", false)],
        )?
        .unwrap_or(campaign.fuzz_crash_on_known);
        let store = campaign.keeping.store();
        let known = kept_signatures(store.as_ref(), &campaign.suite);
        Ok(Prepared {
            runtime,
            case: runs.pool.case(Scenario::new()),
            oracle: runs.oracle,
            vocabulary,
            provider: RefCell::new(None),
            unconfirmed: Default::default(),
            known,
            crash_on_known,
            store,
        })
    }

    fn decode(&self, data: &[u8]) -> Scenario {
        // Bytes run out as zeros, so decoding never fails: a short input is a small
        // scenario.
        self.vocabulary
            .scenario(&mut Unstructured::new(data))
            .unwrap_or_default()
    }

    /// Runs `scenario`, and again when it is a finding: a verdict must not change with
    /// load, so a finding counts only when the same scenario shows it twice.
    fn confirmed<F, Fut, T, E>(&self, scenario: Scenario, code: Arc<F>) -> Confirmed
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        let first = self.judged(scenario.clone(), code.clone());
        if !first.outcome.is_finding() {
            return Confirmed::Clean;
        }
        let signature = first.outcome.signature();
        if !self.crash_on_known && self.known.contains_key(&signature) {
            return Confirmed::Known { signature };
        }
        let again = self.judged(scenario, code);
        if again.outcome.signature() == first.outcome.signature() {
            Confirmed::Finding(Box::new(first))
        } else {
            Confirmed::Unconfirmed {
                first: Box::new(first),
                again: Box::new(again),
            }
        }
    }

    /// Runs `scenario` and judges it as a campaign does.
    pub(super) fn judged<F, Fut, T, E>(&self, scenario: Scenario, code: Arc<F>) -> CaseResult
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug + 'static,
        E: Display + 'static,
    {
        let run = |scenario| {
            let case = self.case.serving(scenario);
            let idle = self.provider.borrow_mut().take();
            let (result, provider) = self
                .runtime
                .block_on(case.run_reusing(code.clone(), idle))
                .unwrap_or_else(|error| panic!("badgateway: {error}"));
            *self.provider.borrow_mut() = provider;
            result
        };
        let result = run(scenario);
        let counterfactual = self
            .oracle
            .counterfactual(&result)
            .map(|undone| Counterfactual {
                without: run(undone).outcome,
                again: self
                    .oracle
                    .needs_again()
                    .then(|| run(result.scenario.clone()).outcome),
            });
        self.oracle.judge(result, counterfactual.as_ref())
    }
}

/// The signatures `store` keeps for `suite`, with their fixture's path.
fn kept_signatures(store: Option<&crate::store::Store>, suite: &str) -> HashMap<String, String> {
    let Some(store) = store else {
        return HashMap::new();
    };
    store
        .load(suite)
        .into_iter()
        .filter_map(Result::ok)
        .map(|(path, fixture)| {
            // Named as a person finds it: from the workspace's root, folders resolved.
            let shown = std::fs::canonicalize(&path).unwrap_or(path);
            let shown = crate::runner::source_relative(&shown.display().to_string());
            (fixture.signature, shown)
        })
        .collect()
}

/// Known findings met while fuzzing: each said once as it is first met, and all of
/// them counted at exit.
mod known {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, Once};

    /// (suite, signature) to (fixture, times met).
    static SEEN: Mutex<BTreeMap<(String, String), (String, u64)>> = Mutex::new(BTreeMap::new());
    static AT_EXIT: Once = Once::new();

    /// Counts one meeting of a known finding.
    pub(super) fn seen(suite: &str, signature: &str, fixture: &str) {
        AT_EXIT.call_once(|| {
            shutdown_hooks::add_shutdown_hook(at_exit);
        });
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen
            .entry((suite.to_owned(), signature.to_owned()))
            .or_insert_with(|| (fixture.to_owned(), 0));
        entry.1 += 1;
        if entry.1 == 1 {
            eprintln!("badgateway: known finding in campaign `{suite}`: {signature}, kept as {fixture}: counted, not a crash (BADGATEWAY_FUZZ_KNOWN=crash stops on it); fuzzing goes on");
        }
    }

    /// What the run met that was known already, as it exits.
    extern "C" fn at_exit() {
        let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.is_empty() {
            return;
        }
        let total: u64 = seen.values().map(|(_, n)| n).sum();
        eprintln!(
            "badgateway: {total} execution(s) met {} known finding(s), counted, not crashed on:",
            seen.len()
        );
        for ((suite, signature), (fixture, n)) in seen.iter() {
            eprintln!("  {n} × `{suite}`: {signature} ({fixture})");
        }
    }

    /// The known findings met so far in this process, for tests.
    pub(crate) fn counts() -> Vec<(String, String, u64)> {
        let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter()
            .map(|((suite, signature), (_, n))| (suite.clone(), signature.clone(), *n))
            .collect()
    }
}

/// The known findings this process met while fuzzing, as (suite, signature, times),
/// counted rather than crashed on (see [`Campaign::fuzz_crash_on_known`]).
pub fn known_findings() -> Vec<(String, String, u64)> {
    known::counts()
}

/// The finding as a campaign report shows it, with the commands that reproduce and
/// promote it.
fn crash_report(suite: &str, result: &CaseResult, data: &[u8]) -> String {
    let (target, artifact) = artifact_of(data);
    let mut out = String::new();
    let signature = result.outcome.signature();
    let _ = writeln!(out, "badgateway: fuzz finding in campaign `{suite}`: {signature} (shown on two runs of the same input)");
    out.push_str(&finding_text(
        &result.outcome,
        &result.journal,
        &result.scenario,
        "what the provider sent",
    ));
    let _ = writeln!(
        out,
        "reproduce: cargo fuzz run --sanitizer none {target} {artifact}"
    );
    let _ = writeln!(
        out,
        "promote:   badgateway promote {artifact} --suite {suite}"
    );
    out
}

/// What the code did, what the provider sent (under `sent`, the heading), and the
/// scenario, as a campaign report shows a finding.
pub(super) fn finding_text(
    outcome: &Outcome,
    journal: &Journal,
    scenario: &Scenario,
    sent: &str,
) -> String {
    let mut out = String::from("\nwhat the code did:\n");
    for line in outcome.to_string().lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "\n{sent}:");
    out.push_str(&served_requests(journal));
    let _ = writeln!(
        out,
        "\nscenario: {}",
        serde_json::to_string(scenario).expect("a scenario always serialises")
    );
    out
}

/// The fuzz target's name and the path libFuzzer writes this input to when it
/// crashes: `<-artifact_prefix>crash-<sha1 of the input>`, or the input file itself
/// when libFuzzer was given one to run.
fn artifact_of(data: &[u8]) -> (String, String) {
    let args: Vec<String> = std::env::args().collect();
    let target = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map_or_else(
            || "<target>".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
    let given = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find(|a| std::fs::read(a).is_ok_and(|bytes| bytes == data));
    if let Some(file) = given {
        return (target, file.clone());
    }
    let prefix = args
        .iter()
        .find_map(|a| a.strip_prefix("-artifact_prefix="))
        .unwrap_or("");
    let digest = sha1_smol::Sha1::from(data).digest().to_string();
    (target, format!("{prefix}crash-{digest}"))
}
