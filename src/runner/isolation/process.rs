//! The worker's process, seen from outside: its group, ended whole; what else runs in
//! it; its memory; its exit status.

use std::process::{Child, ExitStatus};
use std::sync::Mutex;
use std::time::Duration;

/// The worker's process (its group), ended when the last handle on it goes.
pub(super) struct Process {
    pub(super) child: Mutex<Child>,
    pub(super) group: rustix::process::Pid,
}

impl Process {
    /// Ends the worker and everything in its process group, and reaps it.
    pub(super) fn end(&self) {
        let _ = rustix::process::kill_process_group(self.group, rustix::process::Signal::KILL);
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    pub(super) fn try_wait(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child.try_wait().ok().flatten()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.end();
    }
}

/// Whether a process other than `pid` is in `pid`'s process group.
pub(super) fn others_in_group(pid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(other) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        other != pid && group_of(other) == Some(pid)
    })
}

/// A process's process group, from `/proc/<pid>/stat` (the field after its state).
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: read after the last.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The dead worker's exit status, once it is reaped.
pub(super) async fn reaped(process: &Process) -> Option<ExitStatus> {
    for _ in 0..500 {
        if let Some(status) = process.try_wait() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// A process's data size in bytes (what its memory cap limits), if it is alive.
pub(super) fn memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmData:"))?;
    let kb: u64 = line
        .trim_start_matches("VmData:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb << 10)
}
