//! Parking: a clean worker outlives its entry, idle, and serves the test's next one.

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::link::{self, line, Sealed, ToParent, ToWorker};
use super::process::{others_in_group, Process};
use super::stderr::Stderr;
use super::{Handle, OutputDone, Workers, MOST_WORKERS};

/// A worker between two entries of its test, parked: it has returned the last one's
/// result and waits for the next entry to resume it. Dropping it ends it.
pub(super) struct Idle {
    pub(super) pid: u32,
    pub(super) link: Arc<std::os::unix::net::UnixStream>,
    pub(super) process: Arc<Process>,
    pub(super) stderr: Arc<Stderr>,
    pub(super) output_done: OutputDone,
    pub(super) memory_cap: u64,
}

/// The most workers parked between two entries.
const MOST_PARKED: usize = MOST_WORKERS + 1;
/// How long a worker may take to say it is parked.
const PARK_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// Workers this thread's last isolated entry parked, for its next to adopt; they
    /// end with the thread (or, on the main thread, with the process: a parked worker
    /// waits on its link, and its end ends the worker).
    pub(super) static PARKED: RefCell<Vec<Idle>> = const { RefCell::new(Vec::new()) };
}

impl Handle {
    /// Parks the worker, idle between two entries, with the entry's result, when it
    /// is clean: alive, no case in it, no dying message, nothing else in its process
    /// group (what the code under test started must end with the entry), its reader
    /// stopped. `None` when it is not: the caller ends it.
    fn park(&self, json: &str) -> Option<Idle> {
        let clean = |h: &Self| {
            !h.is_dead()
                && !h.retired.load(Ordering::SeqCst)
                && h.stderr.fatal().is_none()
                && h.in_flight.lock().map(|f| f.is_empty()).unwrap_or(false)
        };
        if !clean(self) {
            return None;
        }
        self.stop.send_replace(true);
        let reading = self
            .reading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        // Gone (the entry's runtime dropped it) or returned: either way it reads no more.
        if !matches!(
            reading.recv_timeout(PARK_TIMEOUT),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        ) {
            return None;
        }
        if !clean(self) || others_in_group(self.pid) {
            return None;
        }
        let mut link = self.link.as_ref();
        link.set_nonblocking(false).ok()?;
        link.set_write_timeout(Some(PARK_TIMEOUT)).ok()?;
        link.set_read_timeout(Some(PARK_TIMEOUT)).ok()?;
        use std::io::Write;
        link.write_all(
            line(&ToWorker::Park {
                json: json.to_owned(),
            })
            .as_bytes(),
        )
        .ok()?;
        let mut stream = self.link.try_clone().ok()?;
        let said = link::read_line(&mut stream).ok()??;
        let parked = matches!(
            serde_json::from_str::<Sealed<ToParent>>(&said),
            Ok(Sealed { token, message: ToParent::Parked }) if token == self.token
        );
        parked.then(|| Idle {
            pid: self.pid,
            link: self.link.clone(),
            process: self.process.clone(),
            stderr: self.stderr.clone(),
            output_done: self.output_done.clone(),
            memory_cap: self.memory_cap,
        })
    }
}

impl Workers {
    /// Every worker of this entry, taken out of it.
    pub(super) fn take_all(&self) -> Vec<Handle> {
        let solo = std::mem::take(&mut *self.solo.lock().unwrap_or_else(|e| e.into_inner()));
        let shared = self
            .shared
            .iter()
            .filter_map(|s| s.try_lock().ok().and_then(|mut h| h.take()));
        solo.into_iter().chain(shared).collect()
    }

    /// The entry is done: every worker ends, and what it started with it.
    pub(super) fn end_all(&self) {
        for handle in self.take_all() {
            handle.retire();
        }
    }

    /// The entry is done with this result: clean workers are parked for the thread's
    /// next entry (a worker costs a process start and the test's way up to the entry),
    /// the others end, and what they started with them.
    pub(super) fn park_all(&self, json: &str) {
        let mut parked = Vec::new();
        // Shared workers first: they are the ones the next entry needs.
        for handle in self.take_all().into_iter().rev() {
            let idle = (parked.len() < MOST_PARKED)
                .then(|| handle.park(json))
                .flatten();
            match idle {
                Some(idle) => parked.push(idle),
                None => handle.retire(),
            }
        }
        PARKED.with(|p| *p.borrow_mut() = parked);
    }
}
