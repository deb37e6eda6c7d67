//! The worker's side: where the test stands at each isolated entry (the parent, a
//! worker on its way, or the worker serving it), and serving the parent's cases.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::error::Error;
use crate::runner::case::CaseResult;
use crate::scenario::Scenario;

use super::link::{self, line, next_line, Sealed, ToParent, ToWorker, WORKER_VAR};

thread_local! {
    /// Isolated entries this thread has made (campaigns, replays), counted the same in
    /// the parent and in the worker, which runs the same test.
    pub(super) static ENTRIES: Cell<usize> = const { Cell::new(0) };
    /// The results of this thread's isolated entries so far, serialised, for workers
    /// that must replay them to reach a later one.
    pub(super) static RESULTS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// What an isolated entry (a campaign, a replay) is in this process.
pub(super) enum Entry {
    /// The parent: it runs the entry, with its cases in workers.
    Parent(usize, Arc<Vec<(String, String)>>),
    /// A worker on its way to the entry it serves: this one's result, from the parent.
    Replayed(String),
    /// The worker's own entry: serve its cases, sealed with this token.
    Serve(std::os::unix::net::UnixStream, String),
}

/// Where this process stands at an isolated entry: call once per entry, in order.
pub(super) fn enter(key: &str) -> Result<Entry, Error> {
    let number = ENTRIES.with(|n| {
        let number = n.get();
        n.set(number + 1);
        number
    });
    if std::env::var_os(WORKER_VAR).is_none() {
        let earlier = RESULTS.with(|r| r.borrow().clone());
        return Ok(Entry::Parent(number, Arc::new(earlier)));
    }
    cap_memory();
    let serves: usize = std::env::var(link::ENTRY_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let mut stream = link::worker_end()?;
    link::send_line(
        &mut stream,
        &ToParent::Hello {
            entry: number,
            key: key.to_owned(),
        },
    )?;
    let Some(line) = link::read_line(&mut stream)? else {
        // The parent is gone: nothing is left to do here.
        std::process::exit(0);
    };
    match serde_json::from_str::<ToWorker>(&line) {
        Ok(ToWorker::Result { json }) if number < serves => Ok(Entry::Replayed(json)),
        // A worker serves its first entry, and then, resumed, each later one.
        Ok(ToWorker::Serve { token }) if number >= serves => Ok(Entry::Serve(stream, token)),
        other => {
            // The parent says why on its side; this process has nothing to serve.
            eprintln!(
                "badgateway worker: entry {number} ({key}) answered with {:?}",
                other.map(|m| format!("{m:?}").chars().take(200).collect::<String>())
            );
            std::process::exit(0)
        }
    }
}

/// Caps this worker's memory as its parent asked, once.
pub(super) fn cap_memory() {
    static CAPPED: std::sync::Once = std::sync::Once::new();
    CAPPED.call_once(|| {
        let cap = std::env::var(link::MEMORY_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(cap) = cap {
            use rustix::process::{setrlimit, Resource, Rlimit};
            let limit = Rlimit {
                current: Some(cap),
                maximum: Some(cap),
            };
            // A cap that cannot be set leaves the worker uncapped; the parent reads
            // the worker's limits and says so in the report.
            let _ = setrlimit(Resource::Data, limit);
        }
    });
}

/// Serves the parent's scenarios with `run` until the parent parks this worker (then
/// the entry's result, once every reply is written) or closes the link (then it ends
/// the worker process). Runs on the harness runtime.
pub(super) async fn serve<R, Fut>(
    stream: std::os::unix::net::UnixStream,
    token: String,
    run: R,
) -> Option<String>
where
    R: Fn(Scenario) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CaseResult, Error>> + Send + 'static,
{
    let run = Arc::new(run);
    let served = async move {
        let (read, mut write) = link::halves(&stream).ok()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let writer = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let mut read = tokio::io::BufReader::new(read);
        while let Ok(Some(bytes)) = next_line(&mut read, usize::MAX).await {
            let (id, scenario) = match serde_json::from_slice(&bytes) {
                Ok(ToWorker::Run { id, scenario }) => (id, scenario),
                // The parent parks only a worker with no case in it: every reply is
                // queued already, and written before the worker says it is parked.
                Ok(ToWorker::Park { json }) => {
                    drop(tx);
                    let _ = writer.await;
                    return Some(Some(json));
                }
                _ => continue,
            };
            let (run, tx, token) = (run.clone(), tx.clone(), token.clone());
            tokio::spawn(async move {
                let message = match run(scenario).await {
                    Ok(result) => ToParent::Done {
                        id,
                        result: Box::new(result),
                    },
                    Err(error) => ToParent::Failed {
                        id,
                        error: error.to_string(),
                    },
                };
                let _ = tx.send(line(&Sealed { token, message }));
            });
        }
        Some(None)
    };
    match served.await {
        Some(Some(json)) => Some(json),
        // The parent is done with this worker (or gone): leaked threads die with it.
        _ => std::process::exit(0),
    }
}
