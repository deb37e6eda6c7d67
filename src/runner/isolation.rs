//! Isolation: cases run in a worker process, so an abort, a stack overflow, memory
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
//! The worker runs the test from its start, so it meets every isolated campaign
//! before the one it serves: the parent answers each of those with the result it
//! already has (serialised), and the worker's test goes on exactly as the parent's
//! did. At the campaign it serves, the worker runs the scenarios the parent sends and
//! sends each result back; everything else (generation, judging, shrinking, keeping,
//! the report) stays in the parent, which therefore always holds the cases in flight:
//! when the worker dies, they are on record. One case in flight is the crash; when
//! several were, each is run again alone to tell which. A worker whose case blocked
//! its thread is retired and killed, so leaked threads die with it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader as StdBufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, ErrorKind};
use crate::scenario::Scenario;

use super::case::CaseResult;
use super::harness::on_harness_runtime;
use super::outcome::Outcome;
use super::pool::Pool;

/// The worker's address, set in a worker's environment.
pub(crate) const WORKER_VAR: &str = "BADGATEWAY_WORKER";
/// Which isolated entry of its test the worker serves.
const ENTRY_VAR: &str = "BADGATEWAY_WORKER_ENTRY";
/// The memory a worker may use unless told otherwise: 4 GiB.
pub const DEFAULT_MEMORY_CAP: u64 = 4 << 30;
/// Lines of a worker's stderr kept to tell what killed it (a backtrace can be long).
const STDERR_LINES: usize = 400;
/// Lines of it a crash shows, backtrace frames left out.
const SHOWN_LINES: usize = 12;
/// How long a new worker may take to reach its campaign.
const START_TIMEOUT: Duration = Duration::from_secs(120);

thread_local! {
    /// Isolated entries this thread has made (campaigns, replays), counted the same in
    /// the parent and in the worker, which runs the same test.
    static ENTRIES: Cell<usize> = const { Cell::new(0) };
    /// The results of this thread's isolated entries so far, serialised, for workers
    /// that must replay them to reach a later one.
    static RESULTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A message from the worker.
#[derive(Debug, Serialize, Deserialize)]
enum ToParent {
    /// The worker's test reached this isolated entry.
    Hello { entry: usize },
    /// A case ran.
    Done { id: u64, result: Box<CaseResult> },
    /// A case could not run: the harness's own failure (a provider that cannot bind).
    Failed { id: u64, error: String },
}

/// A message to the worker.
#[derive(Debug, Serialize, Deserialize)]
enum ToWorker {
    /// The result of an entry the parent already ran: return it and go on.
    Result { json: String },
    /// This is the entry to serve: run the scenarios that follow.
    Serve,
    /// Run one scenario.
    Run { id: u64, scenario: Scenario },
}

/// What an isolated entry (a campaign, a replay) is in this process.
enum Entry {
    /// The parent: it runs the entry, with its cases in workers.
    Parent(Arc<Workers>),
    /// A worker on its way to the entry it serves: this one's result, from the parent.
    Replayed(String),
    /// The worker's own entry: serve its cases until the parent is done.
    Serve(std::net::TcpStream),
}

/// Where this process stands at an isolated entry: call once per entry, in order.
fn enter(memory_cap: u64) -> Result<Entry, Error> {
    let number = ENTRIES.with(|n| {
        let number = n.get();
        n.set(number + 1);
        number
    });
    let Ok(address) = std::env::var(WORKER_VAR) else {
        let earlier = RESULTS.with(|r| r.borrow().clone());
        return Ok(Entry::Parent(Arc::new(Workers::new(
            number,
            Arc::new(earlier),
            memory_cap,
        ))));
    };
    let serves: usize = std::env::var(ENTRY_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let mut stream = link(&address)?;
    send_line(&mut stream, &ToParent::Hello { entry: number })?;
    let Some(line) = read_line(&mut stream)? else {
        // The parent is gone: nothing is left to do here.
        std::process::exit(0);
    };
    match serde_json::from_str::<ToWorker>(&line) {
        Ok(ToWorker::Result { json }) if number < serves => Ok(Entry::Replayed(json)),
        Ok(ToWorker::Serve) if number == serves => Ok(Entry::Serve(stream)),
        other => Err(Error::new(
            ErrorKind::Config,
            format!("badgateway worker: the parent answered entry {number} with {other:?}: the test does not run the same way twice (isolated campaigns must be reached in the same order every run)"),
        )),
    }
}

/// Runs an isolated entry (a campaign, a replay): in the parent, `parent` runs it with
/// its cases in workers, and its result is kept for later workers; a worker on its way
/// gets the parent's result for it; the worker serving it runs the parent's cases with
/// `pool`, and ends when the parent is done.
pub(crate) fn isolated<R, F, Fut, T, E>(
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
    match enter(memory_cap)? {
        Entry::Replayed(json) => replayed(&json),
        Entry::Serve(stream) => {
            let pool = pool.clone();
            on_harness_runtime(move || async move {
                serve(stream, move |scenario| pool.run_here(scenario)).await;
            });
            std::process::exit(0)
        }
        Entry::Parent(workers) => {
            let result = parent(workers);
            record(&result);
            result
        }
    }
}

/// Records the result of an entry this thread ran as the parent, for later workers.
fn record<R: Serialize>(result: &R) {
    let json = serde_json::to_string(result).expect("results always serialise");
    RESULTS.with(|r| r.borrow_mut().push(json));
}

/// The result a worker was handed for an entry it passes on its way.
fn replayed<R: DeserializeOwned>(json: &str) -> R {
    serde_json::from_str(json).expect("the parent sends results it serialised itself")
}

/// The worker's one connection to its parent, opened at its first entry.
fn link(address: &str) -> Result<std::net::TcpStream, Error> {
    static LINK: Mutex<Option<std::net::TcpStream>> = Mutex::new(None);
    let mut link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    if link.is_none() {
        *link = Some(std::net::TcpStream::connect(address).map_err(io_error)?);
    }
    link.as_ref()
        .expect("connected above")
        .try_clone()
        .map_err(io_error)
}

/// One line from the parent, read a byte at a time: a buffered reader would swallow
/// the scenarios the parent sends right after it (a worker lost its first case so,
/// and parent and worker waited on each other for ever).
fn read_line(stream: &mut std::net::TcpStream) -> Result<Option<String>, Error> {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte).map_err(io_error)? {
            0 => return Ok(None),
            _ if byte[0] == b'\n' => return Ok(Some(String::from_utf8_lossy(&line).into_owned())),
            _ => line.push(byte[0]),
        }
    }
}

fn send_line<T: Serialize>(stream: &mut std::net::TcpStream, message: &T) -> Result<(), Error> {
    let mut line = serde_json::to_string(message).expect("messages always serialise");
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io_error)
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("badgateway isolation: {e}"))
}

/// How long a worker holds a "thread blocked" verdict back, in case its process is
/// dying of the case (see `serve`).
const DYING_GRACE: Duration = Duration::from_secs(3);

/// Serves the parent's scenarios with `run` until the parent closes the connection,
/// then ends the worker process. Runs on the harness runtime.
async fn serve<R, Fut>(stream: std::net::TcpStream, run: R)
where
    R: Fn(Scenario) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CaseResult, Error>> + Send + 'static,
{
    let run = Arc::new(run);
    let served = async move {
        stream.set_nonblocking(true).ok()?;
        let stream = tokio::net::TcpStream::from_std(stream).ok()?;
        let (read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let mut lines = tokio::io::BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(ToWorker::Run { id, scenario }) = serde_json::from_str(&line) else {
                continue;
            };
            let (run, tx) = (run.clone(), tx.clone());
            tokio::spawn(async move {
                let result = run(scenario).await;
                // Implementation notes: a thread that never yielded may be a process
                // on its way down (an allocation that failed prints its message, and
                // with RUST_BACKTRACE set symbolises a backtrace, before it aborts):
                // on a busy machine that took past the deadline, and a crash was
                // reported as "hang, thread blocked". So a blocked verdict waits here a
                // while first: a worker that dies meanwhile is the crash it was.
                if let Ok(CaseResult {
                    outcome: Outcome::Hang { blocked: true, .. },
                    ..
                }) = &result
                {
                    tokio::time::sleep(DYING_GRACE).await;
                }
                let done = match result {
                    Ok(result) => ToParent::Done {
                        id,
                        result: Box::new(result),
                    },
                    Err(error) => ToParent::Failed {
                        id,
                        error: error.to_string(),
                    },
                };
                let mut line = serde_json::to_string(&done).expect("results serialise");
                line.push('\n');
                let _ = tx.send(line);
            });
        }
        Some(())
    };
    let _ = served.await;
    // The parent is done with this worker (or gone): leaked threads die with it.
    std::process::exit(0)
}

/// How a case sent to a worker came back.
enum Reply {
    Ran(Box<CaseResult>),
    /// The harness failed to run it in the worker.
    Failed(String),
    /// The worker died; `alone` when this case was the only one in flight.
    Died {
        crash: Outcome,
        alone: bool,
    },
    /// The worker was retired (a blocked thread): run the case again elsewhere.
    Retired,
}

type InFlight = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// The live worker process of an entry.
struct Live {
    generation: u64,
    writer: mpsc::UnboundedSender<String>,
    in_flight: InFlight,
    child: Arc<Mutex<Child>>,
    retired: Arc<AtomicBool>,
    /// Set once the worker's connection closed: no case may be sent to it.
    dead: Arc<AtomicBool>,
}

/// What a case needs of the live worker: its generation, where to send, where to wait,
/// and whether it is dead.
#[derive(Clone)]
struct Handle {
    generation: u64,
    writer: mpsc::UnboundedSender<String>,
    in_flight: InFlight,
    dead: Arc<AtomicBool>,
}

impl Live {
    fn handle(&self) -> Handle {
        Handle {
            generation: self.generation,
            writer: self.writer.clone(),
            in_flight: self.in_flight.clone(),
            dead: self.dead.clone(),
        }
    }
}

impl Drop for Live {
    /// A worker no one will send to is ended (a retired one, a case's own, the last).
    fn drop(&mut self) {
        self.retired.store(true, Ordering::SeqCst);
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn failed(error: &str) -> Error {
    Error::new(ErrorKind::Io, format!("in an isolated worker: {error}"))
}

/// The worker processes of one isolated entry (one at a time), seen from the parent.
pub(crate) struct Workers {
    entry: usize,
    /// The worker's command line: this test alone, or the same program.
    args: Vec<String>,
    earlier: Arc<Vec<String>>,
    memory_cap: u64,
    live: tokio::sync::Mutex<Option<Live>>,
    next_id: AtomicU64,
    generations: AtomicU64,
    /// Workers ended because a case blocked a thread in them (threads that would
    /// otherwise have leaked).
    retired: AtomicUsize,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("entry", &self.entry)
            .finish()
    }
}

impl Workers {
    fn new(entry: usize, earlier: Arc<Vec<String>>, memory_cap: u64) -> Self {
        Self {
            entry,
            args: worker_args(),
            earlier,
            memory_cap,
            live: tokio::sync::Mutex::new(None),
            next_id: AtomicU64::new(0),
            generations: AtomicU64::new(0),
            retired: AtomicUsize::new(0),
        }
    }

    /// How many workers were ended because a case blocked a thread in them.
    pub(crate) fn retired(&self) -> usize {
        self.retired.load(Ordering::Relaxed)
    }

    /// Why the workers run with no memory cap, when they do.
    pub(crate) fn uncapped(&self) -> Option<String> {
        prlimit().is_none().then(|| {
            "isolated workers ran with no memory cap: this machine has no prlimit (util-linux), so an allocation your code sizes from a response may swap instead of failing".to_owned()
        })
    }

    /// Runs one scenario in a worker: its result, or a crash when the worker died of
    /// it. When several cases were in flight as it died, each runs again alone, in a
    /// worker of its own, to tell which crashed.
    pub(crate) async fn run(&self, scenario: Scenario) -> Result<CaseResult, Error> {
        loop {
            let live = self.worker().await?;
            match self.send(&live, &scenario).await {
                Reply::Ran(result) => {
                    if matches!(result.outcome, Outcome::Hang { blocked: true, .. }) {
                        self.retire(live.generation).await;
                    }
                    return Ok(*result);
                }
                Reply::Died { crash, alone: true } => return Ok(Self::crashed(scenario, crash)),
                Reply::Died { alone: false, .. } => return self.run_alone(scenario).await,
                Reply::Failed(error) => return Err(failed(&error)),
                Reply::Retired => {}
            }
        }
    }

    /// Runs one scenario in a worker of its own, so a crash is surely its own.
    async fn run_alone(&self, scenario: Scenario) -> Result<CaseResult, Error> {
        loop {
            let live = self.start().await?;
            match self.send(&live.handle(), &scenario).await {
                Reply::Ran(result) => return Ok(*result),
                Reply::Died { crash, .. } => return Ok(Self::crashed(scenario, crash)),
                Reply::Failed(error) => return Err(failed(&error)),
                Reply::Retired => {}
            }
        }
    }

    /// Sends a scenario to a worker and waits for its answer.
    async fn send(&self, live: &Handle, scenario: &Scenario) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut in_flight = live.in_flight.lock().expect("in-flight lock");
            // Checked under the lock the reader drains under: a case is either
            // answered by the worker or told it died, never left waiting.
            if live.dead.load(Ordering::SeqCst) {
                return Reply::Retired;
            }
            in_flight.insert(id, tx);
        }
        let mut line = serde_json::to_string(&ToWorker::Run {
            id,
            scenario: scenario.clone(),
        })
        .expect("scenarios serialise");
        line.push('\n');
        let _ = live.writer.send(line);
        rx.await.unwrap_or(Reply::Retired)
    }

    fn crashed(scenario: Scenario, crash: Outcome) -> CaseResult {
        CaseResult {
            scenario,
            outcome: crash,
            journal: Default::default(),
            elapsed: Duration::ZERO,
            starved: Duration::ZERO,
        }
    }

    /// Ends the worker of this generation (a case blocked a thread in it): the cases
    /// still in it run again in the next one.
    async fn retire(&self, generation: u64) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.generation == generation) {
            // Dropping it kills it: the cases still in it run again in the next one.
            drop(live.take());
            self.retired.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The live worker, started when there is none (or the last one died).
    async fn worker(&self) -> Result<Handle, Error> {
        let mut live = self.live.lock().await;
        let usable = live.as_ref().filter(|l| !l.dead.load(Ordering::SeqCst));
        if let Some(l) = usable {
            return Ok(l.handle());
        }
        let started = self.start().await?;
        let handle = started.handle();
        *live = Some(started);
        Ok(handle)
    }

    /// Starts a worker: this program again, filtered to the current test, with the
    /// memory cap; answers its way to this entry and hands it the cases.
    async fn start(&self) -> Result<Live, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(io_error)?;
        let address = listener.local_addr().map_err(io_error)?;
        let mut command = worker_command(self.memory_cap, &self.args)?;
        command
            .env(WORKER_VAR, address.to_string())
            .env(ENTRY_VAR, self.entry.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot start an isolated worker ({command:?}): {e}"),
            )
        })?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (stderr_done_tx, stderr_done) = oneshot::channel::<()>();
        if let Some(stderr) = child.stderr.take() {
            let tail = tail.clone();
            std::thread::spawn(move || {
                for line in StdBufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut tail = tail.lock().expect("tail lock");
                    if tail.len() == STDERR_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                let _ = stderr_done_tx.send(());
            });
        }
        let child = Arc::new(Mutex::new(child));
        let accepted = tokio::time::timeout(START_TIMEOUT, listener.accept()).await;
        let Ok(Ok((stream, _))) = accepted else {
            let _ = child.lock().expect("child lock").kill();
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "an isolated worker did not reach its campaign within {START_TIMEOUT:?}: {}",
                    lines(&tail)
                ),
            ));
        };
        let (read, mut write) = stream.into_split();
        let mut lines_in = tokio::io::BufReader::new(read).lines();
        // Answer the entries before this one, then hand over this one.
        loop {
            let line = lines_in.next_line().await.ok().flatten().ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "an isolated worker ended before it reached its campaign (isolated campaigns must be reached in the same order every run): {}",
                        lines(&tail)
                    ),
                )
            })?;
            let Ok(ToParent::Hello { entry }) = serde_json::from_str::<ToParent>(&line) else {
                continue;
            };
            let answer = if entry == self.entry {
                ToWorker::Serve
            } else if let Some(json) = self.earlier.get(entry) {
                ToWorker::Result { json: json.clone() }
            } else {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("an isolated worker reached entry {entry} before entry {} it was started for: the test does not run the same way twice", self.entry),
                ));
            };
            let mut out = serde_json::to_string(&answer).expect("messages serialise");
            out.push('\n');
            write.write_all(out.as_bytes()).await.map_err(io_error)?;
            if entry == self.entry {
                break;
            }
        }
        let (writer, mut outgoing) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = outgoing.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let in_flight: InFlight = Arc::new(Mutex::new(HashMap::new()));
        let retired = Arc::new(AtomicBool::new(false));
        let dead = Arc::new(AtomicBool::new(false));
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        {
            let in_flight = in_flight.clone();
            let retired = retired.clone();
            let dead = dead.clone();
            let child = child.clone();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines_in.next_line().await {
                    let (id, reply) = match serde_json::from_str(&line) {
                        Ok(ToParent::Done { id, result }) => (id, Reply::Ran(result)),
                        Ok(ToParent::Failed { id, error }) => (id, Reply::Failed(error)),
                        _ => continue,
                    };
                    let waiting = in_flight.lock().expect("in-flight lock").remove(&id);
                    if let Some(tx) = waiting {
                        let _ = tx.send(reply);
                    }
                }
                // The worker is gone: every case still in it gets an answer.
                let waiting: Vec<_> = {
                    let mut in_flight = in_flight.lock().expect("in-flight lock");
                    dead.store(true, Ordering::SeqCst);
                    in_flight.drain().map(|(_, tx)| tx).collect()
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), stderr_done).await;
                let status = wait(&child).await;
                let alone = waiting.len() == 1;
                for tx in waiting {
                    let reply = if retired.load(Ordering::SeqCst) {
                        Reply::Retired
                    } else {
                        Reply::Died {
                            crash: crash(status, &lines(&tail)),
                            alone,
                        }
                    };
                    let _ = tx.send(reply);
                }
            });
        }
        Ok(Live {
            generation,
            writer,
            in_flight,
            child,
            retired,
            dead,
        })
    }
}

/// The dead worker's exit status, once it is reaped.
async fn wait(child: &Arc<Mutex<Child>>) -> Option<ExitStatus> {
    for _ in 0..500 {
        if let Ok(Some(status)) = child.lock().expect("child lock").try_wait() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn lines(tail: &Arc<Mutex<VecDeque<String>>>) -> String {
    let tail = tail.lock().expect("tail lock");
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// A worker's death as a finding: what killed it, read from its stderr and status.
fn crash(status: Option<ExitStatus>, stderr: &str) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let status_text = status.map_or_else(|| "not reaped".to_owned(), |s| s.to_string());
    let kind = if stderr.contains("has overflowed its stack") {
        "stack overflow".to_owned()
    } else if stderr.contains("memory allocation of") && stderr.contains("failed") {
        "out of memory".to_owned()
    } else if let Some(code) = status.and_then(|s| s.code()) {
        format!("exit code {code}")
    } else if let Some(signal) = status.and_then(|s| s.signal()) {
        format!("signal {signal}{}", signal_name(signal))
    } else {
        "the worker died".to_owned()
    };
    Outcome::Crash {
        kind,
        status: status_text,
        stderr: without_thread_ids(&shown(stderr)),
    }
}

/// The last lines of a stderr worth showing: backtrace frames and notes left out.
fn shown(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            let t = line.trim_start();
            let frame = t
                .split_once(':')
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            !(frame
                || t.starts_with("at ")
                || t == "stack backtrace:"
                || t.starts_with("note: Some details are omitted")
                || t.starts_with("note: run with `RUST_BACKTRACE=1`")
                || t.is_empty())
        })
        .collect();
    lines[lines.len().saturating_sub(SHOWN_LINES)..].join("\n")
}

/// Rust names a thread with its id (`thread 'main' (4242) has overflowed its stack`):
/// ids differ every run, and a crash's text is snapshotted, so they are left out.
fn without_thread_ids(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| {
            let Some(start) = line.find("' (") else {
                return line.to_owned();
            };
            let rest = &line[start + 3..];
            match rest.find(')') {
                Some(end) if end > 0 && rest[..end].bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{}'{}", &line[..start], &rest[end + 1..])
                }
                _ => line.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// Where `prlimit` is, if the machine has it (util-linux): without it, workers run
/// with no memory cap, which [`Workers::uncapped`] tells the report.
fn prlimit() -> Option<&'static str> {
    ["/usr/bin/prlimit", "/bin/prlimit"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// The worker's arguments, read on the thread that entered: the current test alone
/// when it runs in one (libtest names a test's thread after it), else the program's
/// own.
fn worker_args() -> Vec<String> {
    match std::thread::current().name() {
        Some(test) if test != "main" => {
            vec![test.to_owned(), "--exact".into(), "--test-threads=1".into()]
        }
        _ => std::env::args().skip(1).collect(),
    }
}

/// This program again with these arguments, under a memory cap (`prlimit`, where the
/// machine has it).
fn worker_command(memory_cap: u64, args: &[String]) -> Result<Command, Error> {
    let exe: PathBuf = std::env::current_exe().map_err(io_error)?;
    Ok(match prlimit() {
        Some(prlimit) => {
            let mut command = Command::new(prlimit);
            command
                .arg(format!("--data={memory_cap}"))
                .arg("--")
                .arg(exe)
                .args(args);
            command
        }
        None => {
            let mut command = Command::new(exe);
            command.args(args);
            command
        }
    })
}
