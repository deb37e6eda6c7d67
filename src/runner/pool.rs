//! Many cases at once: a bounded number run concurrently, so that waiting (stalls,
//! deadlines) overlaps instead of adding up.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::provider::{Baseline, Secrets};
use crate::scenario::Scenario;

use super::case::{Case, CaseResult};
use super::isolation::Workers;
use super::rules::Rules;

/// The fewest cases a starved pool narrows to.
const NARROWEST: usize = 2;

/// The code under test, the baseline it runs against, the deadline of each case, and
/// the slots that bound how many cases run at once. Cloning shares the slots.
pub(crate) struct Pool<F> {
    baseline: Baseline,
    deadline: Duration,
    code: Arc<F>,
    slots: Arc<Semaphore>,
    /// How many slots there are now: the pool narrows when the machine starves it.
    width: Arc<std::sync::atomic::AtomicUsize>,
    secrets: Secrets,
    limit: Option<Duration>,
    rules: Rules,
    workers: Option<Arc<Workers>>,
    /// Whether each case runs alone in its worker (confirmations: a case that blocks
    /// its thread ends only its own worker, and no other case runs again for it).
    alone: bool,
    /// Providers between cases, kept for the next: at most one per slot is ever
    /// running, so a campaign binds about `concurrency` ports in all.
    providers: Arc<std::sync::Mutex<Vec<crate::provider::Provider>>>,
}

impl<F> Clone for Pool<F> {
    fn clone(&self) -> Self {
        Self {
            baseline: self.baseline.clone(),
            deadline: self.deadline,
            code: self.code.clone(),
            slots: self.slots.clone(),
            width: self.width.clone(),
            secrets: self.secrets.clone(),
            limit: self.limit,
            rules: self.rules.clone(),
            workers: self.workers.clone(),
            alone: self.alone,
            providers: self.providers.clone(),
        }
    }
}

impl<F> Pool<F> {
    /// A pool running `code` over `baseline`, `concurrency` cases at a time.
    pub(crate) fn new(
        baseline: Baseline,
        deadline: Duration,
        concurrency: usize,
        code: Arc<F>,
    ) -> Self {
        Self {
            baseline,
            deadline,
            code,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            width: Arc::new(concurrency.max(1).into()),
            secrets: Secrets::new(),
            limit: None,
            rules: Rules::default(),
            workers: None,
            alone: false,
            providers: Arc::default(),
        }
    }

    /// One slot fewer, down to [`NARROWEST`]: the machine starved the harness, and
    /// fewer cases at once leave it the CPU to watch them, rather than a verdict that
    /// changes with load. Says whether it narrowed.
    pub(crate) fn narrow(&self) -> bool {
        use std::sync::atomic::Ordering;
        let narrowed = self
            .width
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (w > NARROWEST).then(|| w - 1)
            })
            .is_ok();
        if narrowed {
            // A permit held by a running case is forgotten once it is free again.
            let slots = self.slots.clone();
            tokio::spawn(async move {
                if let Ok(permit) = slots.acquire_owned().await {
                    permit.forget();
                }
            });
        }
        narrowed
    }

    /// How long a case may wait on a stalled provider.
    pub(crate) fn deadline(&self) -> Duration {
        self.deadline
    }

    /// How long a case may run in all, however live.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
            .unwrap_or(self.deadline * super::call::DEFAULT_LIMIT_DEADLINES)
    }

    /// How many cases run at once now.
    pub(crate) fn width(&self) -> usize {
        self.width.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs every case in these worker processes instead of in this one.
    pub(crate) fn in_workers(mut self, workers: Arc<Workers>) -> Self {
        self.workers = Some(workers);
        self
    }

    /// This pool, each of its cases alone in a worker when isolated.
    pub(crate) fn alone(&self) -> Self {
        Self {
            alone: true,
            ..self.clone()
        }
    }

    /// The worker processes the cases run in, if isolated.
    pub(crate) fn workers(&self) -> Option<&Arc<Workers>> {
        self.workers.as_ref()
    }

    /// Serves every case within these rules' limits (the oracle judges by them).
    pub(crate) fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Stops every case still live at this limit (default: ten deadlines).
    pub(crate) fn with_limit(mut self, limit: Option<Duration>) -> Self {
        self.limit = limit;
        self
    }

    /// Scrubs these secret values from every case too.
    pub(crate) fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// One case over the pool's baseline with its deadline.
    pub(crate) fn case(&self, scenario: Scenario) -> Case {
        let case = Case::new(self.baseline.clone(), scenario)
            .deadline(self.deadline)
            .secrets(self.secrets.clone())
            .rules(self.rules.clone());
        match self.limit {
            Some(limit) => case.limit(limit),
            None => case,
        }
    }

    /// The code under test.
    pub(crate) fn code(&self) -> &Arc<F> {
        &self.code
    }
}

impl<F, Fut, T, E> Pool<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    /// Runs one scenario in this process (an isolated worker serves its parent so).
    pub(crate) fn run_here(
        &self,
        scenario: Scenario,
    ) -> impl Future<Output = Result<CaseResult, Error>> + Send + 'static {
        let case = self.case(scenario);
        let code = self.code.clone();
        let providers = self.providers.clone();
        async move {
            let idle = providers.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let (result, provider) = case.run_reusing(code, idle).await?;
            if let Some(provider) = provider {
                providers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(provider);
            }
            Ok(result)
        }
    }

    /// Runs one scenario where this pool runs its cases: in a worker process when
    /// isolated, else in this one.
    pub(crate) fn run_one(
        &self,
        scenario: Scenario,
    ) -> impl Future<Output = Result<CaseResult, Error>> + Send + 'static {
        let pool = self.clone();
        async move {
            match &pool.workers {
                Some(workers) if pool.alone => workers.run_alone(scenario).await,
                Some(workers) => workers.run(scenario).await,
                None => pool.run_here(scenario).await,
            }
        }
    }

    /// Runs every scenario with `run` (what one slot does with one scenario: a
    /// judged pool runs a case and, in the same slot, the runs its verdict depends on),
    /// as many at once as there are free slots, and hands each
    /// result to `each` with the scenario's index as soon as it is known (in the order
    /// cases finish, not the order of `scenarios`). Results are not judged here. When
    /// `each` says `Break`, the cases still running are cancelled (their providers
    /// dropped, their code told to stop) and no more start.
    ///
    /// Implementation notes: a scenario is taken from `scenarios` only once a slot is
    /// free for it, and a result is handed on as soon as it is in, so a campaign of
    /// any size holds no more than its running cases (scenarios made lazily, results
    /// folded by the caller).
    pub(crate) async fn each<R, RFut>(
        &self,
        scenarios: impl IntoIterator<Item = Scenario>,
        run: R,
        mut each: impl FnMut(usize, CaseResult) -> ControlFlow<()>,
    ) -> Result<(), Error>
    where
        R: Fn(Scenario) -> RFut + Clone + Send + 'static,
        RFut: Future<Output = Result<CaseResult, Error>> + Send + 'static,
    {
        let mut scenarios = scenarios.into_iter().enumerate().peekable();
        let mut running = JoinSet::new();
        loop {
            let more = scenarios.peek().is_some();
            if !more && running.is_empty() {
                break;
            }
            tokio::select! {
                slot = self.slots.clone().acquire_owned(), if more => {
                    let slot = slot.expect("the semaphore is never closed");
                    let (i, scenario) = scenarios.next().expect("peeked");
                    let run = run.clone();
                    running.spawn(async move {
                        let _slot = slot;
                        (i, run(scenario).await)
                    });
                }
                Some(done) = running.join_next(), if !running.is_empty() => {
                    let (i, result) = done.expect("a case task does not panic");
                    if each(i, result?).is_break() {
                        running.abort_all();
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}
