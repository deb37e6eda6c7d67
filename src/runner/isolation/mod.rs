//! Isolation: cases run in worker processes, so an abort, a stack overflow, memory
//! exhausted, `exit(..)` or a thread that never stops dies with the worker and not
//! with the harness, and becomes a [`Crash`](Outcome::Crash) finding.
//!
//! Implementation notes: the worker is this very program run again, filtered to the
//! current test (libtest names the test's thread after it; outside a test, the same
//! command line), as rusty-fork and proptest's fork mode do. A fork server was the
//! other way: `fork` in a process that already runs tokio runtimes copies only the
//! calling thread, and locks other threads held stay locked in the child, so every
//! case would risk a deadlock that no test can rule out. Running the program again
//! gives the worker the user's own closure, the only way to get code into another
//! process without asking the user to register it.
//!
//! The worker runs the test from its start, so it meets every isolated entry before
//! the one it serves: the parent answers each of those with the result it already has
//! (serialised), and the worker's test goes on exactly as the parent's did. Each
//! entry says its kind and name, and one the parent did not run there is an error
//! naming the rule, never a verdict from the wrong campaign. At the entry it serves,
//! the worker runs the scenarios the parent sends and sends each result back;
//! everything else (generation, judging, shrinking, keeping, the report) stays in the
//! parent, which therefore always holds the cases in flight: when a worker dies, they
//! are on record. One case in flight is the crash; when several were, each runs again
//! alone to tell which.
//!
//! Workers are long-lived: a few per entry serve every case, and one is replaced only
//! when it dies or is ended. When the entry is done, a clean worker (no case in it, no
//! dying message, no process of its own left running) is not ended but parked with
//! the entry's result: its test goes on to the next isolated entry only once the
//! parent's has reached it too, and the parent resumes it there, so a test of many
//! campaigns starts its workers once, not once per campaign. A worker runs in a process group of its own, ended whole,
//! so what the code under test started ends with it. A case that blocked its thread
//! ends its worker at once (after a look at whether the worker is dying, or growing
//! towards its memory cap, which is a crash: see `settle`), so a blocked or spinning
//! client costs a deadline, and leaks nothing.

mod link;
mod park;
mod process;
mod replies;
mod start;
mod stderr;
mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{Error, ErrorKind};
use crate::scenario::Scenario;

use super::case::CaseResult;
use super::harness::on_harness_runtime;
use super::outcome::Outcome;
use super::pool::Pool;
pub(crate) use link::WORKER_VAR;
use link::{line, ToWorker};
use park::{Idle, PARKED};
use process::{memory, Process};
use stderr::Stderr;
use worker::{enter, serve, Entry, RESULTS};

/// The memory a worker may use unless told otherwise: 4 GiB.
pub const DEFAULT_MEMORY_CAP: u64 = 4 << 30;
/// How long a new worker may take to reach its campaign.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a blocked case's worker is looked at while its memory grows.
const GROWTH_TICK: Duration = Duration::from_millis(100);
/// Growth per look that counts as growing towards the cap.
const GROWTH_STEP: u64 = 256 << 10;
/// How long a worker growing without end is given to reach its cap.
const GROWTH_WAIT: Duration = Duration::from_secs(60);
/// What the rule is called in errors, and where the README explains it.
const RULE: &str = "an isolated campaign must be reached the same way every time its test runs (README, \"Crashes: isolation\"): the worker runs the test again from its start up to the campaign, on the test's own thread, so the campaigns before it, their names and their order must not change from one run to the next; or opt out with `.in_process()`";

/// Runs an isolated entry (a campaign, a replay), named `key` (its kind and name): in
/// the parent, `parent` runs it with its cases in workers, and its result is kept for
/// later workers; a worker on its way gets the parent's result for it; the worker
/// serving it runs the parent's cases with `pool`, and ends when the parent is done.
pub(crate) fn isolated<R, F, Fut, T, E>(
    key: &str,
    memory_cap: u64,
    pool: &Pool<F>,
    parent: impl FnOnce(Arc<Workers>) -> Result<R, Error>,
) -> Result<R, Error>
where
    R: Serialize + DeserializeOwned,
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, E>> + 'static,
    T: std::fmt::Debug,
    E: std::fmt::Display,
{
    match enter(key)? {
        // The entry's result as the parent had it, error or not.
        Entry::Replayed(json) => serde_json::from_str::<Result<R, Error>>(&json)
            .expect("the parent sends results it serialised itself"),
        Entry::Serve(stream, token) => {
            let pool = pool.clone();
            let sealing = token.clone();
            let parked = on_harness_runtime(move || async move {
                serve(stream, token, move |scenario| pool.run_here(scenario)).await
            });
            // The parent handed this worker on to the test's next entry: wait there,
            // idle, until it gets there too (or ends, and this worker with it).
            let Some(json) = parked else {
                std::process::exit(0)
            };
            if link::park(&sealing).is_err() {
                std::process::exit(0)
            }
            serde_json::from_str::<Result<R, Error>>(&json)
                .expect("the parent sends results it serialised itself")
        }
        Entry::Parent(entry, earlier) => {
            let workers = Arc::new(Workers::new(entry, key, earlier, memory_cap, pool));
            let result = parent(workers.clone());
            let json = serde_json::to_string(&result).expect("results always serialise");
            // Parked or ended now, not whenever the last task holding them lets go:
            // what the code under test started is gone when the campaign returns.
            workers.park_all(&json);
            RESULTS.with(|r| r.borrow_mut().push((key.to_owned(), json)));
            result
        }
    }
}

/// How a case sent to a worker came back.
enum Reply {
    Ran(Box<CaseResult>),
    /// The harness failed to run it in the worker, or the worker broke the protocol.
    Failed(String),
    /// The worker died; `alone` when this case was the only one in flight.
    Died {
        crash: Outcome,
        alone: bool,
    },
    /// The worker did not answer in time; `alone` as for a death.
    Silent {
        alone: bool,
    },
    /// The worker was ended by the parent (another case blocked it): run again.
    Retired,
}

type InFlight = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// How a worker ended: its crash when it died by itself, with how many cases were
/// still in it. `crash` is `None` when the parent ended it.
#[derive(Debug, Clone)]
struct Death {
    crash: Option<Outcome>,
    in_flight: usize,
}

/// A live worker process, shared by the cases sent to it.
#[derive(Clone)]
struct Handle {
    pid: u32,
    writer: mpsc::UnboundedSender<String>,
    in_flight: InFlight,
    /// Set once the link closed: no case may be sent to it.
    dead: Arc<AtomicBool>,
    /// Set once the parent decided to end it: its cases run again elsewhere.
    retired: Arc<AtomicBool>,
    death: watch::Receiver<Option<Death>>,
    stderr: Arc<Stderr>,
    process: Arc<Process>,
    /// The parent's end of the link, kept apart from the runtime's copy so that the
    /// worker can be parked once the entry's runtime is gone.
    link: Arc<std::os::unix::net::UnixStream>,
    token: String,
    /// Tells the reader to stop (the worker is being parked); it lets go of `reading`
    /// as it ends.
    stop: Arc<watch::Sender<bool>>,
    reading: Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
    /// Told when the worker's output ended, once it has died.
    output_done: OutputDone,
    memory_cap: u64,
}

type OutputDone = Arc<Mutex<Option<oneshot::Receiver<()>>>>;

impl Handle {
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Ends the worker: the cases still in it run again in another.
    fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.process.end();
    }

    /// How the worker ended, once it has.
    async fn ended(&self) -> Death {
        let mut death = self.death.clone();
        let ended = death.wait_for(Option::is_some).await;
        ended.ok().and_then(|d| d.clone()).unwrap_or(Death {
            crash: None,
            in_flight: 0,
        })
    }
}

fn failed(error: &str) -> Error {
    Error::new(ErrorKind::Io, format!("in an isolated worker: {error}"))
}

/// The worker processes of one isolated entry, seen from the parent.
pub(crate) struct Workers {
    entry: usize,
    key: String,
    /// The worker's command line: this test alone, or the same program.
    args: Vec<String>,
    earlier: Arc<Vec<(String, String)>>,
    memory_cap: u64,
    /// How long a case may go unanswered before its worker counts as silent.
    reply_timeout: Duration,
    /// The long-lived workers cases are spread over.
    shared: Vec<tokio::sync::Mutex<Option<Handle>>>,
    /// Idle workers for running a case alone.
    solo: Mutex<Vec<Handle>>,
    /// Workers the entry before this one parked, resumed before any is started.
    adoptable: Mutex<Vec<Idle>>,
    next_slot: AtomicUsize,
    next_id: AtomicU64,
    /// Workers ended because a case blocked a thread in them (threads that would
    /// otherwise have leaked).
    retired: AtomicUsize,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("entry", &self.entry)
            .field("key", &self.key)
            .finish()
    }
}

/// Cases in flight per long-lived worker, about: a death costs the others theirs.
const CASES_PER_WORKER: usize = 32;
/// The most long-lived workers of one entry.
const MOST_WORKERS: usize = 4;

impl Workers {
    fn new<F>(
        entry: usize,
        key: &str,
        earlier: Arc<Vec<(String, String)>>,
        memory_cap: u64,
        pool: &Pool<F>,
    ) -> Self {
        let count = pool
            .width()
            .div_ceil(CASES_PER_WORKER)
            .clamp(1, MOST_WORKERS);
        let limit = pool.limit();
        // A parked worker has the cap of the entry it served.
        let adoptable = PARKED.with(|p| std::mem::take(&mut *p.borrow_mut()));
        let adoptable = adoptable
            .into_iter()
            .filter(|idle| idle.memory_cap == memory_cap)
            .collect();
        Self {
            entry,
            key: key.to_owned(),
            args: worker_args(),
            earlier,
            memory_cap,
            reply_timeout: limit * super::call::RUNAWAY_LIMITS
                + pool.deadline() * 2
                + Duration::from_secs(30),
            shared: (0..count).map(|_| tokio::sync::Mutex::new(None)).collect(),
            solo: Mutex::new(Vec::new()),
            adoptable: Mutex::new(adoptable),
            next_slot: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            retired: AtomicUsize::new(0),
        }
    }

    /// How many workers were ended because a case blocked a thread in them.
    pub(crate) fn retired(&self) -> usize {
        self.retired.load(Ordering::Relaxed)
    }

    /// Why the workers run with no memory cap, when they do.
    pub(crate) fn uncapped(&self) -> Option<String> {
        use rustix::process::{getrlimit, Resource};
        // A worker sets its cap as this process could: if this one cannot lower its
        // own hard limit to the cap, neither can they.
        let hard = getrlimit(Resource::Data).maximum;
        hard.is_some_and(|hard| hard < self.memory_cap).then(|| {
            format!(
                "isolated workers ran with this process's data limit ({} MiB), below the memory cap asked for ({} MiB)",
                hard.unwrap_or(0) >> 20,
                self.memory_cap >> 20
            )
        })
    }

    /// Runs one scenario in a worker: its result, or a crash when the worker died of
    /// it. When several cases were in flight as it died, each runs again alone, in a
    /// worker of its own, to tell which crashed.
    pub(crate) async fn run(&self, scenario: Scenario) -> Result<CaseResult, Error> {
        loop {
            let slot = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.shared.len();
            let handle = self.worker(slot).await?;
            let reply = self.send(&handle, &scenario).await;
            match self.settled(&handle, reply).await {
                Settled::Result(result) => return Ok(*result),
                Settled::Crash(crash) => return Ok(self.crashed(scenario, crash)),
                Settled::Suspect => return self.run_alone(scenario).await,
                Settled::Failed(error) => return Err(failed(&error)),
                Settled::Again => {}
            }
        }
    }

    /// Runs one scenario with no other case in its worker, so a crash is surely its
    /// own. Idle solo workers are reused: one that survived its case is as good as new.
    pub(crate) async fn run_alone(&self, scenario: Scenario) -> Result<CaseResult, Error> {
        loop {
            let idle = self.solo.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let handle = match idle.filter(|h| !h.is_dead()) {
                Some(handle) => handle,
                None => self.start().await?,
            };
            let reply = self.send(&handle, &scenario).await;
            let settled = self.settled(&handle, reply).await;
            if !handle.is_dead() && !handle.retired.load(Ordering::SeqCst) {
                self.solo
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(handle.clone());
            }
            match settled {
                Settled::Result(result) => return Ok(*result),
                Settled::Crash(crash) => return Ok(self.crashed(scenario, crash)),
                Settled::Failed(error) => return Err(failed(&error)),
                // Alone, what killed the worker was this case.
                Settled::Suspect => {
                    let death = handle.ended().await;
                    if let Some(crash) = death.crash {
                        return Ok(self.crashed(scenario, crash));
                    }
                }
                Settled::Again => {}
            }
        }
    }

    /// What a reply means for the case, once any doubt is settled: a case that
    /// blocked its thread is a hang, unless its worker is dying or growing towards
    /// its memory cap (then what it dies of), and its worker is ended at once.
    async fn settled(&self, handle: &Handle, reply: Reply) -> Settled {
        match reply {
            Reply::Ran(result) => {
                if !matches!(result.outcome, Outcome::Hang { blocked: true, .. }) {
                    return Settled::Result(result);
                }
                self.settle_blocked(handle, result).await
            }
            Reply::Died { crash, alone: true } => Settled::Crash(crash),
            Reply::Died { alone: false, .. } => Settled::Suspect,
            Reply::Silent { alone: true } => Settled::Crash(Outcome::Hang {
                after: self.reply_timeout,
                blocked: true,
                live: false,
                answered: false,
            }),
            Reply::Silent { alone: false } => Settled::Suspect,
            Reply::Failed(error) => Settled::Failed(error),
            Reply::Retired => Settled::Again,
        }
    }

    /// A case came back blocked: its thread never yielded. Its worker may be dying of
    /// it (a failed allocation prints its message, and may symbolise a backtrace,
    /// before it aborts) or growing towards its cap: one bug is one finding, so the
    /// worker is watched while its memory grows, and what it dies of is the verdict.
    /// Otherwise it is a hang, and the worker is ended at once, its threads with it.
    async fn settle_blocked(&self, handle: &Handle, result: Box<CaseResult>) -> Settled {
        let started = Instant::now();
        let mut last = memory(handle.pid);
        while !handle.is_dead() && handle.stderr.fatal().is_none() {
            tokio::time::sleep(GROWTH_TICK).await;
            let now = memory(handle.pid);
            let growing = matches!((last, now), (Some(a), Some(b)) if b >= a + GROWTH_STEP);
            if !growing || started.elapsed() > GROWTH_WAIT {
                break;
            }
            last = now;
        }
        if handle.is_dead() || handle.stderr.fatal().is_some() {
            let death = handle.ended().await;
            return match death.crash {
                Some(crash) if death.in_flight == 0 => Settled::Crash(crash),
                Some(_) => Settled::Suspect,
                None => Settled::Result(result),
            };
        }
        self.retire(handle);
        Settled::Result(result)
    }

    /// Sends a scenario to a worker and waits for its answer, at most the reply
    /// timeout: a worker that stops answering is ended, never waited on for ever.
    async fn send(&self, handle: &Handle, scenario: &Scenario) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut in_flight = handle.in_flight.lock().expect("in-flight lock");
            // Checked under the lock the reader drains under: a case is either
            // answered by the worker or told it died, never left waiting.
            if handle.is_dead() {
                return Reply::Retired;
            }
            in_flight.insert(id, tx);
        }
        let _ = handle.writer.send(line(&ToWorker::Run {
            id,
            scenario: scenario.clone(),
        }));
        match tokio::time::timeout(self.reply_timeout, rx).await {
            Ok(reply) => reply.unwrap_or(Reply::Retired),
            Err(_) => {
                let others = {
                    let mut in_flight = handle.in_flight.lock().expect("in-flight lock");
                    in_flight.remove(&id);
                    in_flight.len()
                };
                self.retire(handle);
                Reply::Silent { alone: others == 0 }
            }
        }
    }

    fn crashed(&self, scenario: Scenario, crash: Outcome) -> CaseResult {
        CaseResult {
            scenario,
            outcome: crash,
            journal: Default::default(),
            elapsed: Duration::ZERO,
            starved: Duration::ZERO,
        }
    }

    /// Ends this worker (a case blocked a thread in it): the cases still in it run
    /// again in the next one.
    fn retire(&self, handle: &Handle) {
        if !handle.retired.swap(true, Ordering::SeqCst) {
            self.retired.fetch_add(1, Ordering::Relaxed);
        }
        handle.retire();
    }

    /// The live worker of this slot, started when there is none (or it ended).
    async fn worker(&self, slot: usize) -> Result<Handle, Error> {
        let mut live = self.shared[slot].lock().await;
        let usable = live
            .as_ref()
            .filter(|h| !h.is_dead() && !h.retired.load(Ordering::SeqCst));
        if let Some(handle) = usable {
            return Ok(handle.clone());
        }
        let started = self.start().await?;
        *live = Some(started.clone());
        Ok(started)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.end_all();
    }
}

/// What a reply settles to for the case.
enum Settled {
    Result(Box<CaseResult>),
    Crash(Outcome),
    /// The worker died (or went silent) with other cases in it: run it alone.
    Suspect,
    Failed(String),
    /// The worker was ended for another case: run it again.
    Again,
}

/// The worker's arguments, read on the thread that entered: the current test alone
/// when it runs in one (libtest names a test's thread after it), else the program's
/// own.
fn worker_args() -> Vec<String> {
    match std::thread::current().name() {
        Some(test) if test != "main" => {
            vec![test.to_owned(), "--exact".into(), "--test-threads=1".into()]
        }
        _ => {
            let flags = WORKER_FLAGS.lock().unwrap_or_else(|e| e.into_inner());
            std::env::args()
                .skip(1)
                .chain(flags.iter().cloned())
                .collect()
        }
    }
}

/// Flags added to a worker's command line when it is the program run again (not a
/// test): those a fuzz target's libFuzzer needs to leave a worker's deaths to us.
static WORKER_FLAGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Adds these flags to the command line of workers that run this program again.
pub(crate) fn worker_flags(flags: &[&str]) {
    let mut all = WORKER_FLAGS.lock().unwrap_or_else(|e| e.into_inner());
    for flag in flags {
        if !all.iter().any(|f| f == flag) {
            all.push((*flag).to_owned());
        }
    }
}
