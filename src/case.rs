//! One scenario against the code under test: a provider, a run, an outcome.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::baseline::Baseline;
use crate::error::Error;
use crate::journal::Journal;
use crate::outcome::Outcome;
use crate::provider::Provider;
use crate::runner;
use crate::scenario::{Expectation, Scenario};

/// The deadline a case gets unless told otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// One scenario, run once against your code: the way to pin a finding in a plain test.
///
/// `run` starts a provider serving the scenario, calls your code with its base URL on a
/// thread of its own, and tells what happened. It works from a plain `#[test]` and
/// from inside an async test alike.
///
/// ```
/// use badgateway::{faults, Baseline, Case, Class, Response, Scenario};
///
/// let baseline = Baseline::new().endpoint("GET", "/v1/balance", Response::json(200, &serde_json::json!({"available": 10})));
/// let result = Case::new(baseline, Scenario::new().then(faults::html_error_page(502)))
///     .run(|url| async move {
///         let body = reqwest::get(format!("{url}/v1/balance")).await.map_err(|e| e.to_string())?.text().await.map_err(|e| e.to_string())?;
///         serde_json::from_str::<serde_json::Value>(&body).map_err(|e| e.to_string())
///     })
///     .unwrap();
/// assert_eq!(result.outcome.class(), Class::HandledError);
/// assert_eq!(result.journal.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Case {
    baseline: Baseline,
    scenario: Scenario,
    deadline: Duration,
}

/// What one case did.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The scenario the provider served.
    pub scenario: Scenario,
    /// What the code did.
    pub outcome: Outcome,
    /// What the provider received and answered, secrets redacted.
    pub journal: Journal,
    /// Wall time of the case.
    pub elapsed: Duration,
}

impl Case {
    /// A case serving `scenario` over `baseline`, with the [`DEFAULT_DEADLINE`].
    pub fn new(baseline: Baseline, scenario: Scenario) -> Self {
        Self {
            baseline,
            scenario,
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Sets how long the code may take before the case is a [`Outcome::Hang`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let case = badgateway::Case::new(Default::default(), Default::default()).deadline(Duration::from_millis(300));
    /// # let _ = case;
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Runs the case on a runtime of its own.
    ///
    /// # Errors
    /// Only the harness's own failures (the provider could not bind); everything your
    /// code does is in [`CaseResult::outcome`].
    pub fn run<F, Fut, T, E>(self, code: F) -> Result<CaseResult, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let code = Arc::new(code);
        on_harness_runtime(move || async move { self.run_shared(code).await })
    }

    pub(crate) async fn run_shared<F, Fut, T, E>(&self, code: Arc<F>) -> Result<CaseResult, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let started = Instant::now();
        let provider = Provider::start(self.baseline.clone(), self.scenario.clone()).await?;
        let outcome = runner::run(code, provider.url(), self.deadline).await;
        let journal = provider.journal();
        let outcome = judged(outcome, &journal);
        drop(provider);
        Ok(CaseResult {
            scenario: self.scenario.clone(),
            outcome,
            journal,
            elapsed: started.elapsed(),
        })
    }
}

/// Judges an outcome by the expectations the served steps carried: `Ok` after a
/// response that breaks a clause (and was not fetched again) is a silent acceptance;
/// `Err` when every response conformed, one of them by the contract's word, is a
/// false rejection.
fn judged(outcome: Outcome, journal: &Journal) -> Outcome {
    let path = |target: &str| target.split('?').next().unwrap_or(target).to_owned();
    match outcome {
        Outcome::Ok { value } => {
            let accepted = journal.requests.iter().find_map(|r| match &r.step.expect {
                Some(Expectation::Reject { clause }) => {
                    let fetched_again = journal.requests.iter().any(|later| {
                        later.index > r.index
                            && later.method == r.method
                            && path(&later.target) == path(&r.target)
                    });
                    (!fetched_again).then(|| clause.clone())
                }
                _ => None,
            });
            match accepted {
                Some(clause) => Outcome::SilentAcceptance { clause, value },
                None => Outcome::Ok { value },
            }
        }
        Outcome::HandledError { message } => {
            let conforming =
                |r: &crate::journal::RecordedRequest| r.step.expect == Some(Expectation::Accept);
            let all_conform = journal
                .requests
                .iter()
                .all(|r| r.step.is_baseline() || conforming(r));
            if all_conform && journal.requests.iter().any(conforming) {
                Outcome::FalseRejection { message }
            } else {
                Outcome::HandledError { message }
            }
        }
        other => other,
    }
}

/// Runs `work` on a fresh multi-threaded runtime on a thread of its own, so that it
/// works whether or not the caller is already inside a runtime.
pub(crate) fn on_harness_runtime<W, Fut, R>(work: W) -> R
where
    W: FnOnce() -> Fut + Send,
    Fut: Future<Output = R>,
    R: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("badgateway-harness")
                    .enable_all()
                    .build()
                    .expect("the harness runtime builds");
                let result = runtime.block_on(work());
                // Stalled connections of providers still being dropped must not keep
                // this thread waiting.
                runtime.shutdown_background();
                result
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
