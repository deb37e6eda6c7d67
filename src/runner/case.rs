//! One scenario against the code under test: a provider, a run, an outcome.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call;
use super::outcome::Outcome;
use crate::error::Error;
use crate::provider::baseline::Baseline;
use crate::provider::journal::Journal;
use crate::provider::{Provider, Secrets};
use crate::scenario::Scenario;

use super::rules::Rules;

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
    limit: Option<Duration>,
    secrets: Secrets,
    rules: Rules,
}

/// What one case did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CaseResult {
    /// The scenario the provider served.
    pub scenario: Scenario,
    /// What the code did.
    pub outcome: Outcome,
    /// What the provider received and answered, secrets redacted.
    pub journal: Journal,
    /// Wall time of the case.
    pub elapsed: Duration,
    /// How long the harness itself was starved of CPU during the case: not counted
    /// against the code's progress.
    pub starved: Duration,
}

impl Case {
    /// A case serving `scenario` over `baseline`, with the [`DEFAULT_DEADLINE`].
    pub fn new(baseline: Baseline, scenario: Scenario) -> Self {
        Self {
            baseline,
            scenario,
            deadline: DEFAULT_DEADLINE,
            limit: None,
            secrets: Secrets::new(),
            rules: Rules::default(),
        }
    }

    /// This case's settings, serving another scenario.
    pub(crate) fn serving(&self, scenario: Scenario) -> Case {
        Case {
            scenario,
            ..self.clone()
        }
    }

    /// Judges the case by these behaviour rules ([`Case::run`] judges every rule,
    /// with its default bounds, unless told otherwise).
    ///
    /// ```
    /// use badgateway::{Case, Rule, Rules};
    /// let case = Case::new(Default::default(), Default::default()).rules(Rules::default().without(Rule::Backoff));
    /// assert!(!case.rules_judged().judges(Rule::Backoff));
    /// ```
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// The behaviour rules this case is judged by.
    pub fn rules_judged(&self) -> &Rules {
        &self.rules
    }

    /// How long the case may run in all, however live, before it is stopped as a live
    /// hang (an endless drip, an unbounded wait, requests without end); ten deadlines
    /// unless set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let case = badgateway::Case::new(Default::default(), Default::default()).limit(Duration::from_secs(60));
    /// # let _ = case;
    /// ```
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Scrubs these secret values too (an API key the code holds, say) from the
    /// journal and the outcome, besides those the provider collects by itself.
    ///
    /// ```
    /// let mut secrets = badgateway::Secrets::new();
    /// secrets.add_value("sk_test_4eC39HqLyjWDarjtT1zdp7dc");
    /// let case = badgateway::Case::new(Default::default(), Default::default()).secrets(secrets);
    /// # let _ = case;
    /// ```
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Sets how long the code may wait on a stalled provider, with nothing moving on
    /// its connections, before the case is an [`Outcome::Hang`] (see
    /// [`Campaign::deadline`](crate::Campaign::deadline)).
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

    /// Runs the case on the current runtime and tells what the code did, before any
    /// judging: [`Case::run`] (in the oracle's room) judges it too. The journal and
    /// the outcome are scrubbed of every secret the provider saw.
    pub(crate) async fn run_unjudged<F, Fut, T, E>(&self, code: Arc<F>) -> Result<CaseResult, Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        self.run_keeping_secrets(code)
            .await
            .map(|(result, _)| result)
    }

    /// As [`Case::run_unjudged`], with the journal as received too, secrets and all,
    /// for the harness's own planning (the probe). Never write or print it.
    pub(crate) async fn run_keeping_secrets<F, Fut, T, E>(
        &self,
        code: Arc<F>,
    ) -> Result<(CaseResult, Journal), Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        self.run_on(code, None)
            .await
            .map(|(result, unscrubbed, _)| (result, unscrubbed))
    }

    /// As [`Case::run_unjudged`], on `provider` (reset for this case) when one is
    /// given, else on a new one; the provider is handed back, its connections closed,
    /// for the next case. A case that hung keeps no provider: code still running
    /// could reach the next case's.
    pub(crate) async fn run_reusing<F, Fut, T, E>(
        &self,
        code: Arc<F>,
        provider: Option<Provider>,
    ) -> Result<(CaseResult, Option<Provider>), Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let (result, _, provider) = self.run_on(code, provider).await?;
        let hung = matches!(result.outcome, Outcome::Hang { .. });
        Ok((result, provider.filter(|_| !hung)))
    }

    async fn run_on<F, Fut, T, E>(
        &self,
        code: Arc<F>,
        provider: Option<Provider>,
    ) -> Result<(CaseResult, Journal, Option<Provider>), Error>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Debug,
        E: Display,
    {
        let started = Instant::now();
        let provider = match provider.filter(Provider::is_serving) {
            Some(provider) => {
                provider.reset(
                    self.baseline.clone(),
                    self.scenario.clone(),
                    self.secrets.clone(),
                    self.rules.limits(),
                );
                provider
            }
            None => {
                Provider::start_with(
                    self.baseline.clone(),
                    self.scenario.clone(),
                    self.secrets.clone(),
                    self.rules.limits(),
                )
                .await?
            }
        };
        let limit = self
            .limit
            .unwrap_or(self.deadline * call::DEFAULT_LIMIT_DEADLINES);
        let outcome = call::run(
            code,
            provider.url(),
            self.deadline,
            limit,
            provider.liveness(),
            &self.scenario,
        )
        .await;
        let outcome = outcome.scrubbed(&provider.secrets());
        let starved = provider.liveness().excused();
        let journal = provider.journal();
        let unscrubbed = provider.unscrubbed_journal();
        provider.close_connections();
        let result = CaseResult {
            scenario: self.scenario.clone(),
            outcome,
            journal,
            elapsed: started.elapsed(),
            starved,
        };
        Ok((result, unscrubbed, Some(provider)))
    }
}
