//! The parent's reader of a worker's replies.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::link::{self, next_line, Sealed, ToParent};
use super::process::reaped;
use super::{Death, Handle, Reply};

/// Reads a worker's replies until its link closes, hands each to its case, and then
/// tells every case still in it how the worker ended. A line that is not a sealed
/// reply to a case in flight is the protocol broken: the worker is ended and its cases
/// fail, naming the cause, so nothing forged becomes a verdict.
pub(super) async fn read_replies(
    handle: Handle,
    mut read: tokio::io::BufReader<tokio::net::UnixStream>,
    token: String,
    mut reader: Reader,
    death_tx: watch::Sender<Option<Death>>,
) {
    let mut broken = None;
    let sealed_prefix = format!(
        "{{\"token\":{}",
        serde_json::to_string(&token).expect("a string serialises")
    );
    loop {
        let next = tokio::select! {
            biased;
            // Parked: the link is the next entry's to read.
            _ = reader.stopped.wait_for(|stop| *stop) => return,
            next = next_line(&mut read, link::LINE_CAP) => next,
        };
        let bytes = match next {
            Ok(Some(bytes)) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                broken = Some(format!("the worker broke the link: {error}"));
                break;
            }
            // The end of the link, or a reset by a worker dying with replies unread.
            Ok(None) | Err(_) => break,
        };
        // A sealed line starts with its token (serde writes fields in order): a line
        // that does not is refused before it is parsed.
        if !bytes.starts_with(sealed_prefix.as_bytes()) {
            broken = Some("the worker sent a result without its token (the code under test wrote to the link, its standard input?)".to_owned());
            break;
        }
        let (id, reply) = match serde_json::from_slice::<Sealed<ToParent>>(&bytes) {
            Ok(Sealed {
                message: ToParent::Done { id, result },
                ..
            }) => (id, Reply::Ran(result)),
            Ok(Sealed {
                message: ToParent::Failed { id, error },
                ..
            }) => (id, Reply::Failed(error)),
            other => {
                let why = match other {
                    Err(error) => format!(" ({error})"),
                    Ok(_) => String::new(),
                };
                broken = Some(format!(
                    "the worker sent a line that is no result{why}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ));
                break;
            }
        };
        let waiting = handle.in_flight.lock().expect("in-flight lock").remove(&id);
        match waiting {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None if handle.retired.load(Ordering::SeqCst) => {}
            None => {
                broken = Some(format!(
                    "the worker answered case {id}, which was not in it"
                ));
                break;
            }
        }
    }
    if broken.is_some() {
        handle.process.end();
    }
    // The worker is gone: every case still in it gets an answer.
    let waiting: Vec<_> = {
        let mut in_flight = handle.in_flight.lock().expect("in-flight lock");
        handle.dead.store(true, Ordering::SeqCst);
        in_flight.drain().map(|(_, tx)| tx).collect()
    };
    let status = reaped(&handle.process).await;
    // Whatever it started ends with it (and lets go of its stderr).
    let _ =
        rustix::process::kill_process_group(handle.process.group, rustix::process::Signal::KILL);
    drop(reader);
    let output_done = handle
        .output_done
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(done) = output_done {
        let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
    }
    let retired = handle.retired.load(Ordering::SeqCst);
    let crash = (!retired && broken.is_none()).then(|| handle.stderr.crash(status));
    let alone = waiting.len() == 1;
    let _ = death_tx.send(Some(Death {
        crash: crash.clone(),
        in_flight: waiting.len(),
    }));
    for tx in waiting {
        let reply = match (&broken, &crash) {
            (Some(broken), _) => Reply::Failed(broken.clone()),
            (None, Some(crash)) => Reply::Died {
                crash: crash.clone(),
                alone,
            },
            (None, None) => Reply::Retired,
        };
        let _ = tx.send(reply);
    }
}

/// What a reply reader is told and tells: to stop, and (by ending) that it has.
pub(super) struct Reader {
    pub(super) stopped: watch::Receiver<bool>,
    #[allow(dead_code)] // Its end is the message.
    pub(super) alive: std::sync::mpsc::Sender<()>,
}
