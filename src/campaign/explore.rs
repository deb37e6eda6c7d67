//! The campaign loop: probe the baseline, generate cases from the seed, run and judge
//! them (keeping each new bug as soon as it is seen), group findings by signature,
//! shrink each group, and report.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Just, Strategy};
use tokio::task::JoinSet;

use crate::contract::edit_distance;
use crate::error::{Error, ErrorKind};
use crate::generate::coverage::single_faults;
use crate::generate::seeded::generated;
use crate::generate::strategies::{scenarios, scenarios_under_contract};
use crate::generate::{deliveries, plans, Catalog};
use crate::oracle::{judged_by_timing, JudgedPool, Timed, RECHECK_RUNS};
use crate::provider::{Baseline, Journal};
use crate::report::Progress;
use crate::report::{Finding, Kept, Report};
use crate::runner::{CaseResult, Class, Outcome, Rule};
use crate::scenario::Scenario;
use crate::store::{Reproduced, Saved};

use super::campaign::Campaign;
use super::keeper::Keeper;
use super::settings::Settings;
use super::shrinking::shrunk;

/// The most cases of each kind ([`Timed`]) a campaign judges again because their
/// verdict depends on time: the first ones, by case number, so the choice is the same
/// on every run.
const MAX_RECHECKS: usize = 4;

/// Harness starvation below this is not worth a line in the report.
const STARVATION_WORTH_SAYING: Duration = Duration::from_millis(500);

impl Campaign {
    /// Runs the whole campaign on the harness runtime.
    pub(super) async fn explore<F, Fut, T, E>(
        &self,
        settings: Settings,
        mut runs: JudgedPool<F>,
    ) -> Result<Report, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let started = Instant::now();
        let (probe, unstable) = self.probe(&mut runs).await?;
        let (generated, coverage) = self.generated(settings, &probe)?;
        drop(probe);
        let keeper = Keeper {
            store: self.keeping.store(),
            suite: self.suite.clone(),
            seed: settings.seed,
            // Cases are numbered across the coverage phase and the random one.
            cases: settings.cases + u32::try_from(coverage).unwrap_or(u32::MAX),
        };
        // Results are folded as they come in: a tally, one first case per finding's
        // signature, and the few figures the report needs. Nothing else per case is
        // kept, so memory is flat in the number of cases.
        let mut folded = Folded::default();
        let runs = &runs;
        // Fixtures new at first sight, by signature: one whose finding is not
        // confirmed is taken back, so load never leaves a fixture behind.
        let mut first_sight: Vec<(String, std::path::PathBuf)> = Vec::new();
        let mut rechecks: BTreeMap<Timed, BTreeMap<usize, (Class, Scenario)>> = BTreeMap::new();
        let progress = Progress::start(&self.suite, coverage + settings.cases as usize);
        runs.each_judged(generated, |i, result| {
            progress
                .case_done(result.outcome.is_finding() && !folded.has(&result.outcome.signature()));
            // Nothing lost: the first case of each bug is on disk before shrinking.
            // A hang waits for its confirmation: a starved machine must never leave a
            // fixture behind.
            // A case whose watch was starved for a sizeable part of its deadline
            // says the machine is busier than the cases at once allow for.
            if result.starved > settings.deadline / 4 && runs.pool.narrow() {
                folded.narrowed = runs.pool.width();
            }
            let hang = result.outcome.class() == Class::Hang;
            let signature = result.outcome.signature();
            if result.outcome.is_finding() && !hang && !folded.has(&signature) {
                let kept = keeper.keep(&result.scenario, &result.outcome, i, None, None);
                if let Kept::In(Saved::New(path)) = kept {
                    first_sight.push((signature, path));
                }
            }
            let timed = judged_by_timing(&result.journal).filter(|_| !result.outcome.is_finding());
            if let Some(timed) = timed {
                // Each kind has its own share: retries come first in the coverage
                // phase, and must not crowd out the polls of the held states.
                let share = rechecks.entry(timed).or_default();
                share.insert(i, (result.outcome.class(), result.scenario.clone()));
                if share.len() > MAX_RECHECKS {
                    share.pop_last();
                }
            }
            folded.add(i, result);
        })
        .await?;
        drop(progress);
        // Verdicts that depend on time (retries or polls back to back) are judged
        // again, one case at a time in the campaign's own workers, where no case
        // beside it can space its requests out. A machine busy of itself still can:
        // where this campaign saw it busy, a case that shows nothing is run again, up
        // to RECHECK_RUNS times (load can only hide such a finding, never make one).
        let busy = folded.narrowed > 0 || folded.starved > STARVATION_WORTH_SAYING;
        let mut found = Vec::new();
        for (i, (was, scenario)) in rechecks.into_values().flatten() {
            for _ in 0..if busy { RECHECK_RUNS } else { 1 } {
                let Some(result) = runs.all(vec![scenario.clone()]).await?.pop() else {
                    break;
                };
                // Only what time decides is taken from a case run again: any other
                // verdict that differs from the case's first run is load or chance,
                // and the first run's stands.
                let timed = matches!(
                    result.outcome,
                    Outcome::Misbehaviour {
                        rule: Rule::Backoff | Rule::HastyPolling,
                        ..
                    }
                );
                if timed {
                    found.push((i, was, result));
                    break;
                }
            }
        }
        for (i, was, result) in found {
            let signature = result.outcome.signature();
            if !folded.has(&signature) {
                let kept = keeper.keep(&result.scenario, &result.outcome, i, None, None);
                if let Kept::In(Saved::New(path)) = kept {
                    first_sight.push((signature, path));
                }
            }
            folded.moved(i, was, result);
        }
        let Folded {
            tally,
            mut groups,
            starved,
            blocked,
            narrowed,
            undeclared,
        } = folded;
        // Cases finish in any order: the report's order is that of their first cases.
        groups.sort_by_key(|g| g.earliest);
        let shrinking = Instant::now();
        let shrunk = shrunk_all(runs, groups).await?;
        let shrinking = shrinking.elapsed();
        let (mut findings, mut warnings) = confirmed(runs, shrunk).await?;
        for (signature, path) in first_sight {
            if !findings.iter().any(|f| f.signature == signature) {
                let _ = std::fs::remove_file(path);
            }
        }
        warnings.extend(unstable);
        if let (n, Some((_, first))) = undeclared {
            warnings.push(format!(
                "{n} case(s) sent a request no declared response matches (the first: {first}), answered with the provider's own 404: what the code did with it judges nothing. Declare it in the baseline (Baseline::numbered_pages for pages past the last, `{{{{path.NAME}}}}` and `{{{{query.NAME}}}}` for responses that depend on the request)"
            ));
        }
        // This campaign's own cases only: campaigns running beside it are not blamed.
        // Cases run at once share a busy spell, so the worst case is the measure.
        if starved > STARVATION_WORTH_SAYING {
            warnings.push(format!(
                "the machine was busy: the harness's watch over a case was starved of CPU for up to {:.1} s; that time was not counted against your code, and no finding came of it",
                starved.as_secs_f64()
            ));
        }
        if narrowed > 0 {
            warnings.push(format!(
                "the machine was busy: the campaign ran fewer cases at once as it went (down to {narrowed} of {}) so that load could not change a verdict",
                settings.concurrency
            ));
        }
        warnings.extend(leaked(runs, blocked));
        warnings.extend(runs.pool.workers().and_then(|w| w.uncapped()));
        // Most severe first (crash, panic, hang, ... request violation); the order
        // first seen within a class.
        findings.sort_by_key(|f| f.outcome.class());
        let findings = findings
            .into_iter()
            .map(|mut finding| {
                finding.fixture = keeper.keep(
                    &finding.scenario,
                    &finding.outcome,
                    finding.first_case,
                    Some(finding.shrink),
                    finding.reproduced,
                );
                finding
            })
            .collect();
        Ok(Report {
            suite: self.suite.clone(),
            seed: settings.seed,
            cases: settings.cases,
            coverage,
            deadline: settings.deadline,
            tally,
            findings,
            elapsed: started.elapsed(),
            shrinking,
            rerun: String::new(),
            warnings,
        })
    }

    /// One unmodified run, which must succeed: otherwise every finding would be noise.
    /// Its journal as received (secrets and all) shapes generation, and is never
    /// written or printed.
    pub(crate) async fn probe<F, Fut, T, E>(
        &self,
        runs: &mut JudgedPool<F>,
    ) -> Result<(Journal, Option<String>), Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let probing = self.probe_scenario();
        let (probe, unscrubbed) = runs
            .pool
            .case(probing.clone())
            .run_keeping_secrets(runs.pool.code().clone())
            .await?;
        if probe.outcome.class() != Class::Ok {
            return Err(Error::new(
                ErrorKind::Baseline,
                format!(
                    "campaign `{}`: the code under test does not succeed against the unmodified baseline, so no finding could be told from a broken setup.\nit {}\nwhat the provider received and answered:\n{}fix the baseline (endpoints, paths, mocks) or the code's URL handling first",
                    self.suite, probe.outcome, received_and_answered(&probe.journal)
                ),
            ));
        }
        if let Some(why) = self.delivery_error(&probing, &probe.journal) {
            return Err(Error::new(
                ErrorKind::Baseline,
                format!("campaign `{}`: {why}", self.suite),
            ));
        }
        if let Some(why) = self.setup_error(&unscrubbed) {
            return Err(Error::new(
                ErrorKind::Baseline,
                format!("campaign `{}`: {why}", self.suite),
            ));
        }
        // Twice, to learn whether the baseline's output is stable enough to compare
        // what broken responses do to it.
        let again = runs
            .pool
            .case(probing)
            .run_unjudged(runs.pool.code().clone())
            .await?;
        let unstable = runs
            .oracle
            .set_baseline_output(&probe.outcome, &again.outcome);
        Ok((unscrubbed, unstable))
    }

    /// The probe's scenario: nothing changed, and for a webhook campaign each
    /// declared event delivered once, signed validly.
    fn probe_scenario(&self) -> Scenario {
        match &self.webhooks {
            Some(webhooks) => deliveries::probe(webhooks),
            None => Scenario::new(),
        }
    }

    /// Why the probe's deliveries show a broken setup, if they do: the handler did
    /// not accept every declared event, signed validly and unchanged, with a 2xx.
    fn delivery_error(&self, probing: &Scenario, journal: &Journal) -> Option<String> {
        self.webhooks.as_ref()?;
        if journal.deliveries.len() < probing.deliveries.len() {
            return Some("the code under test delivered no webhook: run a webhook campaign with Campaign::check_handler (or run_handler), which delivers the events to the handler your closure starts".to_owned());
        }
        let refused = journal
            .deliveries
            .iter()
            .find(|d| !d.redelivery && !d.answer.is_accepted())?;
        Some(format!(
            "the handler does not accept the unmodified event `{}`, signed validly: it answered {}, so no finding could be told from a broken setup. Check the signing secret the handler verifies with, the handler's URL and path, and the event's example body",
            refused.event, refused.answer
        ))
    }

    /// Why the probe's requests show a broken setup, if they do: a request no
    /// declared endpoint answers (the provider's own 404, which a lenient client
    /// passes, so that nothing would be tested), a request no operation of the
    /// contract documents, or a baseline status the operation does not document.
    /// wiremock fails loudly on an unmatched request for the same reason.
    fn setup_error(&self, probe: &Journal) -> Option<String> {
        probe.requests.iter().find_map(|r| {
            let n = r.index + 1;
            if let Baseline::Endpoints(endpoints) = &self.baseline {
                if self.baseline.endpoint_for(&r.method, &r.target).is_none() {
                    let nearest = endpoints
                        .iter()
                        .min_by_key(|e| {
                            let path = e.path.split('?').next().unwrap_or(&e.path);
                            let method = usize::from(!e.method.eq_ignore_ascii_case(&r.method));
                            edit_distance(path, r.target.split('?').next().unwrap_or(&r.target)) + 3 * method
                        })
                        .map_or_else(
                            || "the baseline declares no endpoint".to_owned(),
                            |e| format!("the nearest declared endpoint is {} {}", e.method, e.path),
                        );
                    return Some(format!(
                        "the unmodified baseline declares no response for request {n}, {} {}, so the provider answered its own 404 and the code still succeeded: nothing it does with that response would be tested ({nearest}). Fix the path in the baseline or in the code, or declare that endpoint (a 404 too, if the provider really answers one)",
                        r.method, r.target
                    ));
                }
            }
            let contract = self.contract.as_ref()?;
            if contract.is_outside(&r.method, &r.target) {
                return None;
            }
            let Some(op) = contract.operation(&r.method, &r.target) else {
                let why = contract.unmatched(&r.method, &r.target).unwrap_or_default();
                return Some(format!(
                    "request {n} of the unmodified baseline is no documented operation: {why}. Fix the path in the baseline or the code, or the contract's servers (a base path such as /v1 belongs in a server URL); for a call this contract does not cover (a token endpoint documented elsewhere), declare it: Contract::outside(\"{}\", \"{}\")",
                    r.method,
                    r.target.split('?').next().unwrap_or(&r.target)
                ));
            };
            let status = r.status();
            (!op.documents(status)).then(|| {
                format!(
                    "the unmodified baseline answers request {n}, {} {}, with {status}, which {} {} does not document in {}: fix the baseline's status or the contract",
                    r.method,
                    r.target,
                    op.method,
                    op.path,
                    contract.source()
                )
            })
        })
    }

    /// The cases to run: the coverage phase (independent of the seed), then the
    /// random ones from the seed, both shaped by what the probe saw; and how many the
    /// coverage phase holds.
    fn generated(
        &self,
        settings: Settings,
        probe: &Journal,
    ) -> Result<(Box<dyn Iterator<Item = Scenario>>, usize), Error> {
        let mut catalog = Catalog::from_journal(probe);
        if let Some(contract) = &self.contract {
            catalog = catalog.with_templates(contract);
        }
        let plans = match &self.contract {
            Some(contract) => plans(contract, probe)?,
            None => Vec::new(),
        };
        let mut single = if self.coverage {
            single_faults(&catalog, self.contract.as_ref(), &plans)
        } else {
            Vec::new()
        };
        let steps: BoxedStrategy<Scenario> = match &self.contract {
            Some(contract) => {
                scenarios_under_contract(&catalog, contract, &plans, self.max_steps).boxed()
            }
            None => scenarios(&catalog, self.max_steps).boxed(),
        };
        let random: Box<dyn Iterator<Item = Scenario>> = match &self.webhooks {
            // A webhook case holds deliveries, and steps for the handler's own calls
            // when the probe saw it make any: one case shrinks across both.
            Some(webhooks) => {
                let probing = deliveries::probe(webhooks).deliveries;
                let calls = !probe.requests.is_empty();
                single = match calls {
                    true => single
                        .into_iter()
                        .map(|s| Scenario {
                            deliveries: probing.clone(),
                            ..s
                        })
                        .collect(),
                    false => Vec::new(),
                };
                if self.coverage {
                    single.splice(0..0, deliveries::coverage(webhooks));
                }
                let steps = match calls {
                    true => steps,
                    false => Just(Scenario::new()).boxed(),
                };
                let strategy = (steps, deliveries::random(webhooks))
                    .prop_map(|(s, deliveries)| Scenario { deliveries, ..s });
                Box::new(generated(strategy, settings.seed, settings.cases))
            }
            None => Box::new(generated(steps, settings.seed, settings.cases)),
        };
        let coverage = single.len();
        Ok((Box::new(single.into_iter().chain(random)), coverage))
    }
}

/// What became of the threads cases blocked (spinning, or waiting without yielding):
/// ended with their worker in isolation, else left running in this process.
fn leaked<F>(runs: &JudgedPool<F>, blocked: usize) -> Option<String> {
    if blocked == 0 {
        return None;
    }
    Some(match runs.pool.workers() {
        Some(workers) => format!(
            "{blocked} case(s) blocked their thread; {} worker process(es) holding such threads were ended, so none is left running",
            workers.retired()
        ),
        None => format!(
            "{blocked} case thread(s) were left blocked or spinning in this process, where nothing can stop them: isolated (the default, without in_process()) they end with a worker process"
        ),
    })
}

/// What a campaign keeps of its cases as they come in.
#[derive(Default)]
struct Folded {
    /// How many cases ended in each class.
    tally: BTreeMap<Class, usize>,
    /// The findings by signature, in the order their results came in.
    groups: Groups,
    /// The longest the harness was starved of CPU in any case.
    starved: Duration,
    /// Cases that blocked their thread.
    blocked: usize,
    /// How many cases at once the pool narrowed to (0: it never did).
    narrowed: usize,
    /// Cases that sent a request no declared response matched, and such a request
    /// (method and target) of the earliest of them, by case number.
    undeclared: (usize, Option<(usize, String)>),
}

/// One finding's signature, its first case and result, and how many cases showed it.
struct Group {
    signature: String,
    /// The face of the finding: its plainest case (see [`plainness`]).
    first: CaseResult,
    /// The face's case.
    first_case: usize,
    /// The earliest case that showed it: the report's order.
    earliest: usize,
    seen_in: usize,
}

/// How plain a scenario is, plainest first: fewer changes, then fewer odd forms (a
/// `Retry-After` that is not whole seconds: a date, a decimal, a negative or garbage
/// value; a control byte in a header). Among the cases of one finding, the plainest is
/// its face, shrunk, reported and kept, so a finding that a whole-second `Retry-After`
/// shows is never shown through `Retry-After: 0.5`; the case number breaks ties, so
/// the face is the same whatever order the cases finish in.
fn plainness(scenario: &Scenario) -> (usize, usize) {
    let odd = |m: &crate::scenario::Mutation| match m {
        crate::scenario::Mutation::SetHeader { name, value }
            if name.eq_ignore_ascii_case("retry-after") =>
        {
            if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
                0
            } else if httpdate::parse_http_date(value).is_ok() {
                1
            } else {
                2
            }
        }
        crate::scenario::Mutation::InvalidHeaderBytes { .. } => 1,
        _ => 0,
    };
    let oddness = scenario
        .steps
        .iter()
        .flat_map(|s| &s.mutations)
        .map(odd)
        .sum();
    (scenario.complexity(), oddness)
}

/// Findings by signature.
type Groups = Vec<Group>;

impl Folded {
    fn has(&self, signature: &str) -> bool {
        self.groups.iter().any(|g| g.signature == signature)
    }

    /// A case judged again on its own, and found: its class moves in the tally (the
    /// case was counted, and its undeclared requests, when it first came in).
    fn moved(&mut self, case: usize, was: Class, result: CaseResult) {
        if let Some(n) = self.tally.get_mut(&was) {
            *n = n.saturating_sub(1);
        }
        let undeclared = result.journal.requests.iter().any(|r| r.undeclared);
        self.add(case, result);
        if undeclared {
            self.undeclared.0 = self.undeclared.0.saturating_sub(1);
        }
    }

    fn add(&mut self, case: usize, result: CaseResult) {
        *self.tally.entry(result.outcome.class()).or_insert(0) += 1;
        if let Some(r) = result.journal.requests.iter().find(|r| r.undeclared) {
            self.undeclared.0 += 1;
            if self.undeclared.1.as_ref().is_none_or(|(c, _)| case < *c) {
                self.undeclared.1 = Some((case, format!("{} {}", r.method, r.target)));
            }
        }
        self.starved = self.starved.max(result.starved);
        if matches!(
            result.outcome,
            crate::runner::Outcome::Hang { blocked: true, .. }
        ) {
            self.blocked += 1;
        }
        if !result.outcome.is_finding() {
            return;
        }
        let signature = result.outcome.signature();
        match self.groups.iter_mut().find(|g| g.signature == signature) {
            Some(group) => {
                group.seen_in += 1;
                group.earliest = group.earliest.min(case);
                // Cases finish out of order: the face is the plainest case, the
                // earliest of those, whatever order they came in.
                let key = |r: &CaseResult, case| (plainness(&r.scenario), case);
                if key(&result, case) < key(&group.first, group.first_case) {
                    group.first_case = case;
                    group.first = result;
                }
            }
            None => self.groups.push(Group {
                signature,
                first: result,
                first_case: case,
                earliest: case,
                seen_in: 1,
            }),
        }
    }
}

/// Every group shrunk at once; in the order first seen.
async fn shrunk_all<F, Fut, T, E>(
    runs: &JudgedPool<F>,
    groups: Groups,
) -> Result<Vec<Finding>, Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let mut shrinking = JoinSet::new();
    for (order, group) in groups.into_iter().enumerate() {
        let runs = runs.clone();
        shrinking.spawn(async move {
            // The face is shrunk; the report and fixture name the earliest case.
            let Group {
                signature,
                first,
                earliest: first_case,
                seen_in,
                ..
            } = group;
            (
                order,
                shrunk(&runs, signature, first, first_case, seen_in).await,
            )
        });
    }
    let mut findings: Vec<(usize, Finding)> = Vec::new();
    while let Some(done) = shrinking.join_next().await {
        let (order, finding) = done.expect("a shrink task does not panic");
        findings.push((order, finding?));
    }
    findings.sort_by_key(|(order, _)| *order);
    Ok(findings.into_iter().map(|(_, f)| f).collect())
}

/// How many times each shrunk finding is run again, alone, before it is reported.
const CONFIRMATIONS: u32 = 2;

/// The findings run again, each alone (its runs side by side, no other case beside
/// them, so a confirmation costs one case's time, never several full limits),
/// [`CONFIRMATIONS`] times each, and labelled deterministic or flaky. The same bug
/// seen through another end counts ([`same_finding`]). Where every run alone shows
/// one other finding instead, that one is reported. A finding other than a panic or
/// a crash that does not come back at all is reported as unconfirmed among the
/// warnings, with its scenario, and never kept: the machine may have been starved
/// when it was seen.
async fn confirmed<F, Fut, T, E>(
    runs: &JudgedPool<F>,
    findings: Vec<Finding>,
) -> Result<(Vec<Finding>, Vec<String>), Error>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let mut kept = Vec::new();
    let mut warnings = Vec::new();
    for finding in findings {
        let again = vec![finding.scenario.clone(); CONFIRMATIONS as usize];
        // Each run alone in its worker: a hang that blocks its thread ends only its
        // own, and the other run is not started again for it.
        let alone = JudgedPool {
            pool: runs.pool.alone(),
            oracle: runs.oracle.clone(),
        };
        let reruns = alone.all(again).await?;
        let came_back = reruns
            .iter()
            .filter(|r| same_finding(&r.outcome, &finding.outcome))
            .count() as u32;
        // Alone, every run showed another finding, the same each time: that is what
        // the case does (a crash whose dying worker was slow, first seen as a
        // hang). It is reported, not lost.
        let other = reruns.first().map(|r| &r.outcome).filter(|o| {
            came_back == 0
                && o.is_finding()
                && reruns
                    .iter()
                    .all(|r| r.outcome.signature() == o.signature())
        });
        if let Some(other) = other {
            // One bug, one finding: cases first seen another way (a crash first seen
            // as a hang) join the finding already kept for it.
            if let Some(known) = kept
                .iter_mut()
                .find(|f: &&mut Finding| f.signature == other.signature())
            {
                known.seen_in += finding.seen_in;
                continue;
            }
            let rerun = &reruns[0];
            kept.push(Finding {
                signature: other.signature(),
                outcome: other.clone(),
                journal: rerun.journal.clone(),
                reproduced: Some(Reproduced {
                    times: CONFIRMATIONS,
                    runs: CONFIRMATIONS,
                }),
                ..finding
            });
            continue;
        }
        // A panic or a crash is a bug however rarely it shows. Anything else the
        // machine's load can make (a hang, a client's own timeout read as a rejection,
        // a retry that came late): seen once and never again alone, it is said, not
        // reported.
        let load_made = !matches!(finding.outcome.class(), Class::Panic | Class::Crash);
        if came_back == 0 && load_made {
            warnings.push(format!(
                "unconfirmed: {} (first seen in case {}) did not come back in {CONFIRMATIONS} runs alone, so it is not reported as a finding nor kept (the machine may have been too busy when it was seen); its scenario: {}",
                finding.signature,
                finding.first_case + 1,
                serde_json::to_string(&finding.scenario).unwrap_or_default()
            ));
            continue;
        }
        if let Some(known) = kept.iter_mut().find(|f| f.signature == finding.signature) {
            known.seen_in += finding.seen_in;
            continue;
        }
        kept.push(Finding {
            reproduced: Some(Reproduced {
                times: came_back + 1,
                runs: CONFIRMATIONS + 1,
            }),
            ..finding
        });
    }
    Ok((kept, warnings))
}

/// Whether a confirmation run shows the same bug as the finding, perhaps through
/// another end: the same signature; a hang of any kind for a hang (a stall waited on,
/// or a live case stopped at its limit); or, for pages, a cycle or pages without end
/// (a cycle cut short is pages without end seen early).
pub(crate) fn same_finding(again: &Outcome, finding: &Outcome) -> bool {
    use crate::runner::Rule::{PaginationCycle, UnboundedPagination};
    let pages = |o: &Outcome| {
        matches!(
            o,
            Outcome::Misbehaviour {
                rule: PaginationCycle | UnboundedPagination,
                ..
            }
        )
    };
    again.signature() == finding.signature()
        || (again.class() == Class::Hang && finding.class() == Class::Hang)
        || (pages(again) && pages(finding))
}

/// Each request as received (secrets redacted) with the response it was answered
/// with: what a setup error shows, so a baseline that answers the wrong thing (a
/// spec's example that is not what the code reads) is seen at once.
fn received_and_answered(journal: &Journal) -> String {
    if journal.requests.is_empty() {
        return journal.to_string();
    }
    let mut out: String = journal.deliveries.iter().map(ToString::to_string).collect();
    for request in &journal.requests {
        out.push_str(&request.to_string());
        out.push_str("  answered:\n");
        out.push_str(&crate::scenario::render::served(
            &request.served,
            request.served_head_len,
            &request.step.transport,
            "  │ ",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Rule;
    use crate::scenario::faults;

    fn ignored(scenario: Scenario) -> CaseResult {
        CaseResult {
            scenario,
            outcome: Outcome::Misbehaviour {
                rule: Rule::IgnoredRetryAfter,
                request: 2,
                what: String::new(),
            },
            journal: Journal::default(),
            elapsed: Duration::ZERO,
            starved: Duration::ZERO,
        }
    }

    #[test]
    fn the_face_of_a_finding_is_its_plainest_case_whatever_order_cases_finish_in() {
        let decimal = Scenario::new().then(faults::too_many_requests("0.5"));
        let date = Scenario::new().then(faults::too_many_requests("Wed, 21 Oct 2026 07:28:00 GMT"));
        let whole = Scenario::new().then(faults::too_many_requests("1"));
        let busier = Scenario::new()
            .then(faults::too_many_requests("1"))
            .then(faults::status(500));
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
            let cases = [(4, &decimal), (9, &date), (30, &whole), (2, &busier)];
            let mut folded = Folded::default();
            for i in order {
                let (case, scenario) = cases[i];
                folded.add(case, ignored(scenario.clone()));
            }
            let group = &folded.groups[0];
            assert_eq!(group.first.scenario, whole, "order {order:?}");
            assert_eq!(
                (group.first_case, group.earliest, group.seen_in),
                (30, 2, 4)
            );
        }
    }
}
