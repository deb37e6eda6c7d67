//! The one place that runs user code: a thread and a runtime of its own per case, a
//! deadline watched from outside, and panics caught from every thread of the case.
//!
//! Implementation notes: a `tokio::time::timeout` around the user's future cannot see
//! code that blocks its thread and never yields, and a panic inside `tokio::spawn` is
//! swallowed by the runtime. So each case runs on its own OS thread with its own
//! current-thread runtime; the harness waits for it from its own runtime, so the
//! deadline holds whatever the case does. Spawned tasks run on the case's thread, and
//! the runtime's blocking pool threads are tagged at start, so a thread-local tells the
//! process-wide panic hook which case a panic belongs to; panics on threads that belong
//! to no case go to the hook that was installed before ours. A case that blocked its
//! thread forever leaks that thread in this process: isolation (the default) ends it
//! with its worker.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::provider::Liveness;
use crate::runner::outcome::Outcome;

/// How long a cancelled case may take to unwind before it counts as blocked.
const CANCEL_GRACE: Duration = Duration::from_millis(100);
/// Longest `Debug` form of an `Ok` value that an outcome keeps.
const MAX_VALUE_CHARS: usize = 500;
/// Longest error or panic message an outcome keeps: a 20 MB panic message once
/// became a 20 MB fixture, a 20 MB JUnit file and 21 MB of report.
const MAX_MESSAGE_CHARS: usize = 2000;

thread_local! {
    static CURRENT_CASE: RefCell<Option<Arc<PanicSlot>>> = const { RefCell::new(None) };
}

/// The first panic of a case.
#[derive(Debug, Default)]
struct PanicSlot {
    first: Mutex<Option<(String, Option<String>)>>,
}

impl PanicSlot {
    fn record(&self, info: &PanicHookInfo<'_>) {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        let location = info.location();
        let (message, location) = match location.filter(|l| in_std(l.file())) {
            Some(l) => {
                let inside = format!("{}:{}:{}", std_relative(l.file()), l.line(), l.column());
                let caller = first_caller_outside_std(
                    &std::backtrace::Backtrace::force_capture().to_string(),
                    l.file(),
                    l.line(),
                );
                match caller {
                    Some(caller) => (
                        format!("{message}\n(raised inside the standard library at {inside})"),
                        Some(caller),
                    ),
                    None => (message, Some(inside)),
                }
            }
            None => (
                message,
                location
                    .map(|l| format!("{}:{}:{}", source_relative(l.file()), l.line(), l.column())),
            ),
        };
        let message = cut(&message, MAX_MESSAGE_CHARS);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert((message, location));
    }

    fn take(&self) -> Option<Outcome> {
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
        first.map(|(message, location)| Outcome::Panic { message, location })
    }
}

/// Whether a source file is the standard library's (std, core, alloc), as rustc
/// names it in panic locations and backtraces.
fn in_std(file: &str) -> bool {
    ["library/std/", "library/core/", "library/alloc/"]
        .iter()
        .any(|lib| file.contains(lib))
        && (file.starts_with("/rustc/")
            || file.contains("/rustlib/")
            // A std built locally is named relative; a folder of the user's own of
            // that name is not std.
            || (file.starts_with("library/") && !std::path::Path::new(file).exists()))
}

/// A standard library path from `library/`, without the toolchain's hash or the
/// machine's sysroot.
fn std_relative(file: &str) -> &str {
    file.find("library/").map_or(file, |i| &file[i..])
}

/// The first frame of a backtrace (as `Backtrace` prints it) past the frame at
/// `file:line` that is outside the standard library: the user's line that called into
/// std where std panicked (`Instant::now() + Duration::MAX`). Relative to the current
/// directory when it lies below it, as rustc names the user's own files.
///
/// Implementation notes: a panic inside std is located by rustc at std's line
/// (`library/std/src/time.rs:429:33`), so every such bug in every integration shared
/// one signature and one fixture name, and the user was not shown their line. The
/// frames before std's are the hook's own (ours among them), so the search starts at
/// the frame std panicked in, not at the top.
fn first_caller_outside_std(backtrace: &str, file: &str, line: u32) -> Option<String> {
    let locations: Vec<&str> = backtrace
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("at "))
        .collect();
    let here = format!("{file}:{line}:");
    let start = locations.iter().position(|l| l.starts_with(&here))?;
    let caller = locations[start..].iter().find(|l| !in_std(l))?;
    Some(source_relative(caller.strip_prefix("./").unwrap_or(caller)))
}

/// A source path as rustc names a workspace's own files: relative to the workspace
/// root (`examples/payment-gateway/src/naive.rs`), or to the registry for a
/// dependency (`serde_json-1.0.140/src/de.rs`), never the machine's absolute path.
///
/// Implementation notes: rustc names a file by the path cargo gave it, and cargo gives
/// a path dependency outside the workspace (what `fuzz/` builds: its own workspace)
/// and every registry crate by its absolute path. A panic's signature holds its
/// location, so the same bug found by a campaign and by a fuzz target had two
/// signatures, one with this machine's path in it: two fixtures, and a replay that
/// "fails differently". The workspace root is the topmost folder above the file
/// that has a `Cargo.toml`.
pub(crate) fn source_relative(file: &str) -> String {
    let path = std::path::Path::new(file);
    if !path.is_absolute() {
        return file.to_owned();
    }
    for (marker, skip) in [("/registry/src/", 1), ("/git/checkouts/", 2)] {
        if let Some(at) = file.find(marker) {
            let rest = &file[at + marker.len()..];
            // The index's (or the repository's and revision's) folders, then the crate.
            if let Some(inside) = rest.splitn(skip + 1, '/').nth(skip) {
                return inside.to_owned();
            }
        }
    }
    let root = path
        .ancestors()
        .skip(1)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .last();
    match root.and_then(|root| path.strip_prefix(root).ok()) {
        Some(relative) => relative.display().to_string(),
        None => file.to_owned(),
    }
}

/// The hook type `std::panic::set_hook` takes.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The address of our installed hook, to tell whether it is still the one installed.
static OURS: AtomicUsize = AtomicUsize::new(0);

fn hook_address(hook: &Hook) -> usize {
    std::ptr::from_ref(&**hook).cast::<()>() as usize
}

/// Makes sure our panic hook is the installed one, called as every campaign, replay or
/// case starts (the harness runtime's entry), never while cases run.
///
/// Implementation notes: a user's code, or a logging crate it initialises, may
/// replace the panic hook after a first campaign; panics in spawned tasks would then
/// no longer reach any case, and a client that panics in `tokio::spawn` would get 0
/// findings in silence. So every campaign checks that the installed hook is still ours
/// (by the address of its box: ours captures a value, so its box is a unique
/// allocation), and if it is not, puts ours back with the newcomer chained behind it:
/// panics outside a case still reach the user's hook. Each of our hooks owns the hook
/// it found, so a user's hook that wraps an earlier one of ours (as logging crates
/// do) makes a chain, never a loop. The check takes the hook and sets it back, and a
/// panic in between would reach no hook: so it runs once per entry, not per case (it
/// ran per case at first, and a panic that fell in that window lost its message).
pub(crate) fn ensure_panic_hook() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let current = panic::take_hook();
    if hook_address(&current) == OURS.load(Ordering::SeqCst) {
        panic::set_hook(current);
        return;
    }
    let previous = current;
    let ours: Hook = Box::new(move |info| {
        let slot = CURRENT_CASE.try_with(|c| c.borrow().clone()).ok().flatten();
        match slot {
            Some(slot) => slot.record(info),
            None => previous(info),
        }
    });
    OURS.store(hook_address(&ours), Ordering::SeqCst);
    panic::set_hook(ours);
}

fn enter_case(slot: &Arc<PanicSlot>) {
    CURRENT_CASE.with(|c| *c.borrow_mut() = Some(slot.clone()));
}

fn leave_case() {
    CURRENT_CASE.with(|c| *c.borrow_mut() = None);
}

/// Threads that run cases, kept for reuse: starting a thread costs more than a
/// loopback round trip. A thread whose case blocked it forever never comes back; an
/// idle thread ends after a few seconds.
mod workers {
    use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
    use std::sync::Mutex;
    use std::time::Duration;

    pub(super) type Job = Box<dyn FnOnce() + Send>;

    const IDLE: Duration = Duration::from_secs(5);

    static IDLE_WORKERS: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

    /// Runs the job on an idle worker, or on a new one.
    pub(super) fn run(mut job: Job) -> std::io::Result<()> {
        loop {
            let idle = IDLE_WORKERS.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(worker) = idle else { break };
            match worker.send(job) {
                Ok(()) => return Ok(()),
                // That worker timed out meanwhile: take the job back, try another.
                Err(returned) => job = returned.0,
            }
        }
        std::thread::Builder::new()
            .name("badgateway-case".into())
            .spawn(move || {
                job();
                let (tx, rx) = channel::<Job>();
                loop {
                    IDLE_WORKERS
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(tx.clone());
                    match rx.recv_timeout(IDLE) {
                        Ok(next) => next(),
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map(drop)
    }
}

/// The cases running in this process right now, by id: what the exit guard names when
/// the process ends under one.
mod in_flight {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Mutex, Once};

    static CASES: Mutex<Option<HashMap<u64, crate::scenario::Scenario>>> = Mutex::new(None);
    /// How many cases are on record: read without the lock as the process exits.
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static GUARD: Once = Once::new();

    /// A case on record while it runs.
    pub(super) struct OnRecord(u64);

    impl Drop for OnRecord {
        fn drop(&mut self) {
            let mut cases = CASES.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cases) = cases.as_mut() {
                cases.remove(&self.0);
            }
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Puts a case on record until the guard drops, and arms the exit guard.
    pub(super) fn record(what: crate::scenario::Scenario) -> OnRecord {
        GUARD.call_once(|| {
            shutdown_hooks::add_shutdown_hook(on_exit);
        });
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let mut cases = CASES.lock().unwrap_or_else(|e| e.into_inner());
        cases.get_or_insert_with(HashMap::new).insert(id, what);
        OnRecord(id)
    }

    /// Runs as the process exits: when it exits under a running case (the code under
    /// test called `exit(..)`), the exit is not allowed to pass for success. It says
    /// which case and aborts, so the test run fails instead of ending green and silent.
    /// In a worker process, the parent watches the cases and this does nothing.
    extern "C" fn on_exit() {
        if std::env::var_os(super::super::isolation::WORKER_VAR).is_some() {
            return;
        }
        // Implementation notes: the count decides, not the map: the map's lock may be
        // held at this moment by a case being put on record or taken off it (1 run in
        // 49 exited green when a failed `try_lock` returned early). The lock is only
        // tried, a bounded number of times, to name the cases: the exiting thread may
        // be the one holding it, so waiting could hang the exit.
        let running = IN_FLIGHT.load(Ordering::SeqCst);
        if running == 0 {
            return;
        }
        eprintln!(
            "badgateway: the process is exiting while {running} case(s) run: the code under test called exit(..) (or something did), which would end this test run as a silent pass. The case(s) in flight:"
        );
        let cases = (0..10_000).find_map(|_| match CASES.try_lock() {
            Ok(cases) => Some(cases),
            Err(_) => {
                std::thread::yield_now();
                None
            }
        });
        match cases.as_ref().and_then(|c| c.as_ref()) {
            Some(cases) => {
                for scenario in cases.values() {
                    // Written only now: serialising every case as it starts cost more
                    // than a loopback round trip's share.
                    let scenario = serde_json::to_string(scenario).unwrap_or_default();
                    eprintln!("  {scenario}");
                }
            }
            None => eprintln!("  (their scenarios could not be read as the process exited)"),
        }
        eprintln!("badgateway: to keep this as a crash finding, shrunk and kept as a fixture, run the campaign isolated, as it is by default: without .in_process() (and without BADGATEWAY_ISOLATION=off); aborting so the run fails.");
        std::process::abort();
    }
}

/// How the case's thread finished, when it did.
enum Finished {
    Returned(Outcome),
    Panicked,
    Cancelled,
}

/// A wake-up of the watch later than this is the harness starved of CPU: excused
/// from the case's idleness and limit.
const STARVED_AFTER: Duration = Duration::from_millis(3);

/// How many limits a case still sending requests may run before it is stopped anyway.
pub(crate) const RUNAWAY_LIMITS: u32 = 3;

/// How many deadlines a case may run in all, however live, unless told otherwise.
pub(crate) const DEFAULT_LIMIT_DEADLINES: u32 = 10;

/// Runs `code(url)` once and classifies what it did. It is a hang when nothing moves
/// on its connections for the deadline and half as much again (so a client whose own
/// timeout equals the deadline never races it), and a live hang when it is still
/// running at `limit` (its own time, starvation excused) without having sent a request
/// for that idle limit, or at three limits: a bounded client whose attempts fill the
/// limit is never cut short by it.
///
/// Must be called from within a tokio runtime (the harness's, not the case's).
pub(crate) async fn run<F, Fut, T, E>(
    code: Arc<F>,
    url: String,
    deadline: Duration,
    limit: Duration,
    liveness: Arc<Liveness>,
    scenario: &crate::scenario::Scenario,
) -> Outcome
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug,
    E: Display,
{
    let _on_record = in_flight::record(scenario.clone());
    let slot = Arc::new(PanicSlot::default());
    let (done_tx, mut done_rx) = oneshot::channel();
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    let case_slot = slot.clone();
    let spawned = workers::run(Box::new(move || {
        let finished = run_on_this_thread(&case_slot, code, url, cancel_rx);
        leave_case();
        let _ = done_tx.send(finished);
    }));
    if let Err(e) = spawned {
        return Outcome::HandledError {
            message: format!("badgateway could not start a thread for the case: {e}"),
        };
    }
    let finished = match watch(&mut done_rx, deadline, limit, &liveness).await {
        Watched::Finished(Ok(finished)) => finished,
        Watched::Finished(Err(_)) => Finished::Panicked,
        stopped @ (Watched::Stalled | Watched::Runaway) => {
            let _ = cancel_tx.send(());
            let unwound = tokio::time::timeout(CANCEL_GRACE, &mut done_rx)
                .await
                .is_ok();
            let live = matches!(stopped, Watched::Runaway);
            return Outcome::Hang {
                after: if live { limit } else { deadline },
                blocked: !unwound,
                live,
                answered: false,
            };
        }
    };
    // A panic anywhere in the case outranks what the main future returned.
    match (slot.take(), finished) {
        (Some(panic), _) => panic,
        (None, Finished::Returned(outcome)) => outcome,
        (None, Finished::Panicked) => Outcome::Panic {
            message: "the case's thread died without a panic message".into(),
            location: None,
        },
        (None, Finished::Cancelled) => Outcome::Hang {
            after: deadline,
            blocked: false,
            live: false,
            answered: false,
        },
    }
}

/// How the watch over a case ended.
enum Watched {
    /// The case finished (or its thread died).
    Finished(Result<Finished, oneshot::error::RecvError>),
    /// Nothing moved for the deadline and a half.
    Stalled,
    /// Still live at the limit.
    Runaway,
}

/// Waits for the case to finish while it makes progress.
///
/// Implementation notes: the watch wakes every few milliseconds. When a wake-up comes
/// late, the harness itself was starved of CPU (other builds on the machine); that
/// time is excused from the client's idleness, so load never turns into a finding.
async fn watch(
    done: &mut oneshot::Receiver<Finished>,
    deadline: Duration,
    limit: Duration,
    liveness: &Liveness,
) -> Watched {
    let idle_limit = deadline + deadline / 2;
    let tick = (deadline / 20).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    loop {
        let woke = tokio::time::Instant::now();
        match tokio::time::timeout(tick, &mut *done).await {
            Ok(finished) => return Watched::Finished(finished),
            Err(_) => {
                let late = woke.elapsed().saturating_sub(tick);
                if late > STARVED_AFTER {
                    liveness.excuse(late);
                }
                if liveness.idle() >= idle_limit {
                    return Watched::Stalled;
                }
                // Requests without end past the storm rule's cap: the verdict is in,
                // and waiting for the limit would only cost time.
                if liveness.is_enough() {
                    return Watched::Runaway;
                }
                // The limit counts the harness's own time, not time it was starved,
                // and stops what is live without making requests (an endless drip
                // read, an unbounded wait). A client still sending requests is making
                // progress, and the journal judges it (storm, pages without end; the
                // request cap stops it early): the limit never races its last
                // attempt. Three limits stop any case.
                let ran = started.elapsed().saturating_sub(liveness.excused());
                let requesting = liveness.since_request() < idle_limit;
                if ran >= limit && (!requesting || ran >= limit * RUNAWAY_LIMITS) {
                    return Watched::Runaway;
                }
            }
        }
    }
}

/// A case thread's runtime, kept for its next case: building one (an epoll, an
/// eventfd, a timer wheel) cost more than a loopback round trip.
///
/// Implementation notes: a runtime is kept only when the case left nothing in it: no
/// task still alive once it has had a few turns to finish (a client's connection task
/// ends once its client is dropped), and no blocking thread ever started (those are
/// tagged with the case they started in, so a later case could be blamed for their
/// panic). A case that panicked, was cancelled or left anything behind gets its
/// runtime shut down, as every case once did.
struct CaseRuntime {
    runtime: tokio::runtime::Runtime,
    /// Blocking threads the runtime started.
    blocking: Arc<AtomicUsize>,
    /// The case its blocking threads belong to.
    case: Arc<Mutex<Option<Arc<PanicSlot>>>>,
}

thread_local! {
    static KEPT_RUNTIME: RefCell<Option<CaseRuntime>> = const { RefCell::new(None) };
}

/// Turns a kept runtime gets for the tasks of its last case to finish.
const SETTLING_TURNS: usize = 16;

impl CaseRuntime {
    /// This thread's kept runtime, or a new one, for the case of `slot`.
    fn take(slot: &Arc<PanicSlot>) -> Option<Self> {
        let kept = KEPT_RUNTIME.with(|k| k.borrow_mut().take());
        let kept = match kept {
            Some(kept) => kept,
            None => {
                let blocking = Arc::new(AtomicUsize::new(0));
                let case: Arc<Mutex<Option<Arc<PanicSlot>>>> = Arc::default();
                let (started, owner) = (blocking.clone(), case.clone());
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .on_thread_start(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        let owner = owner.lock().unwrap_or_else(|e| e.into_inner()).clone();
                        if let Some(slot) = owner {
                            enter_case(&slot);
                        }
                    })
                    .build()
                    .ok()?;
                Self {
                    runtime,
                    blocking,
                    case,
                }
            }
        };
        *kept.case.lock().unwrap_or_else(|e| e.into_inner()) = Some(slot.clone());
        Some(kept)
    }

    /// Keeps the runtime for this thread's next case if the case left nothing in it;
    /// shuts it down otherwise.
    fn put_back(self) {
        let metrics = self.runtime.metrics();
        self.runtime.block_on(async {
            for _ in 0..SETTLING_TURNS {
                if metrics.num_alive_tasks() == 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        let clean = metrics.num_alive_tasks() == 0 && self.blocking.load(Ordering::SeqCst) == 0;
        if clean {
            *self.case.lock().unwrap_or_else(|e| e.into_inner()) = None;
            KEPT_RUNTIME.with(|k| *k.borrow_mut() = Some(self));
        } else {
            self.runtime.shutdown_background();
        }
    }
}

fn run_on_this_thread<F, Fut, T, E>(
    slot: &Arc<PanicSlot>,
    code: Arc<F>,
    url: String,
    cancel: oneshot::Receiver<()>,
) -> Finished
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    T: Debug,
    E: Display,
{
    enter_case(slot);
    let Some(kept) = CaseRuntime::take(slot) else {
        return Finished::Returned(Outcome::HandledError {
            message: "badgateway could not build a runtime for the case".into(),
        });
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        kept.runtime.block_on(async {
            tokio::select! {
                result = code(url) => Some(result),
                _ = cancel => None,
            }
        })
    }));
    let finished = match result {
        Ok(Some(Ok(value))) => Finished::Returned(Outcome::Ok {
            value: Bounded::format(MAX_VALUE_CHARS, |w| write!(w, "{value:?}")),
        }),
        Ok(Some(Err(error))) => Finished::Returned(Outcome::HandledError {
            message: Bounded::format(MAX_MESSAGE_CHARS, |w| write!(w, "{error}")),
        }),
        Ok(None) => Finished::Cancelled,
        Err(_) => Finished::Panicked,
    };
    if matches!(finished, Finished::Returned(_)) {
        kept.put_back();
    } else {
        // Tasks the code spawned and left running must not keep the thread alive.
        kept.runtime.shutdown_background();
    }
    finished
}

/// Text kept to its first `max` characters, with a note of how many more were cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!(
            "{}… [{} more characters cut]",
            &text[..at],
            text[at..].chars().count()
        ),
        None => text.to_owned(),
    }
}

/// A writer that keeps the first characters of what is formatted into it and counts
/// the rest, so a value of any size is formatted in bounded memory.
struct Bounded {
    kept: String,
    max: usize,
    chars: usize,
}

impl Bounded {
    fn format(max: usize, write: impl FnOnce(&mut Self) -> std::fmt::Result) -> String {
        let mut bounded = Self {
            kept: String::new(),
            max,
            chars: 0,
        };
        // A `Debug` or `Display` that fails leaves what it wrote.
        let _ = write(&mut bounded);
        if bounded.chars > max {
            bounded
                .kept
                .push_str(&format!("… [{} more characters cut]", bounded.chars - max));
        }
        bounded.kept
    }
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        for c in text.chars() {
            if self.chars < self.max {
                self.kept.push(c);
            }
            self.chars += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_are_relative_to_the_workspace_or_the_registry() {
        let root = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            source_relative(&format!("{root}/examples/payment-gateway/src/naive.rs")),
            "examples/payment-gateway/src/naive.rs"
        );
        assert_eq!(
            source_relative(&format!("{root}/fuzz/src/paygate.rs")),
            "fuzz/src/paygate.rs"
        );
        assert_eq!(
            source_relative("/home/ci/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.140/src/de.rs"),
            "serde_json-1.0.140/src/de.rs"
        );
        assert_eq!(
            source_relative("/home/ci/.cargo/git/checkouts/hyper-5a1b/0f3c9e1/src/proto/h1/io.rs"),
            "src/proto/h1/io.rs"
        );
        assert_eq!(source_relative("src/runner/call.rs"), "src/runner/call.rs");
        // Outside any package: nothing to be relative to.
        assert_eq!(source_relative("/nowhere/at/all.rs"), "/nowhere/at/all.rs");
    }

    #[test]
    fn big_outputs_are_cut_with_a_note_of_how_much() {
        use std::fmt::Write as _;
        let huge = "é".repeat(20_000_000);
        let kept = Bounded::format(MAX_MESSAGE_CHARS, |w| write!(w, "{huge}"));
        assert_eq!(
            kept,
            format!("{}… [19998000 more characters cut]", "é".repeat(2000))
        );
        assert_eq!(cut(&huge, 3), "ééé… [19999997 more characters cut]");
        assert_eq!(cut("short", 5), "short");
        assert_eq!(Bounded::format(5, |w| write!(w, "short")), "short");
    }
}
