//! A worker's stderr, read with bounds: what killed it, whatever else it wrote.
//!
//! Implementation notes: stderr is read as bytes, a chunk at a time, never as lines
//! of unbounded length: a worker that wrote one 64 MiB line drove the test process to
//! 3.77 GB when lines were kept whole, and one byte of invalid UTF-8 ended the reading
//! (so a later stack overflow's message was never seen). Each line keeps its head, cut
//! with a note of how much was left out, and only the last lines are kept. The lines
//! that say a process is dying (a failed allocation, a stack overflow) are kept apart,
//! so no amount of other output pushes them out, and they are seen as soon as they are
//! written: the parent ends a dying worker at once instead of waiting while it
//! symbolises a backtrace.

use std::collections::VecDeque;
use std::io::Read;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};

use crate::runner::outcome::Outcome;

/// Bytes of one stderr line kept; the rest is counted and left out.
const LINE_BYTES: usize = 1024;
/// Lines of stderr kept (a backtrace can be long): at most about 200 KiB in all.
const TAIL_LINES: usize = 200;
/// Lines a crash shows, backtrace frames left out.
const SHOWN_LINES: usize = 12;
/// Bytes kept of a line's end besides its head, where a dying message may be.
const END_BYTES: usize = 160;

/// What a worker wrote to stderr, bounded, and whether it said it is dying.
#[derive(Debug, Default)]
pub(super) struct Stderr {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<String>,
    /// The line being read: its head, its last bytes and its length.
    head: Vec<u8>,
    end: VecDeque<u8>,
    length: usize,
    /// The first line that said the process is dying, and of what.
    fatal: Option<(&'static str, String)>,
}

impl State {
    fn push(&mut self, bytes: &[u8]) -> bool {
        let mut fatal = false;
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let (text, ends) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            let room = LINE_BYTES.saturating_sub(self.head.len());
            self.head.extend_from_slice(&text[..room.min(text.len())]);
            for &b in text.iter().rev().take(END_BYTES).rev() {
                if self.end.len() == END_BYTES {
                    self.end.pop_front();
                }
                self.end.push_back(b);
            }
            self.length += text.len();
            if ends {
                fatal |= self.end_line();
            }
        }
        fatal
    }

    /// Ends the line being read; says whether it is the first dying message.
    fn end_line(&mut self) -> bool {
        let head = std::mem::take(&mut self.head);
        let end: Vec<u8> = std::mem::take(&mut self.end).into();
        let length = std::mem::take(&mut self.length);
        let mut line = String::from_utf8_lossy(&head).into_owned();
        if length > head.len() {
            line.push_str(&format!(" … [{} more bytes cut]", length - head.len()));
        }
        let mut first_fatal = false;
        if self.fatal.is_none() {
            // The message may be at the line's start or at its end (after output
            // written without a newline).
            let kind = dying(&String::from_utf8_lossy(&head))
                .or_else(|| dying(&String::from_utf8_lossy(&end)));
            if let Some(kind) = kind {
                let said = if length > head.len() {
                    String::from_utf8_lossy(&end).into_owned()
                } else {
                    line.clone()
                };
                self.fatal = Some((kind, said));
                first_fatal = true;
            }
        }
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
        first_fatal
    }
}

/// What a line says the process is dying of, if it does.
fn dying(line: &str) -> Option<&'static str> {
    if line.contains("has overflowed its stack") {
        Some("stack overflow")
    } else if line.contains("memory allocation of") && line.contains("failed") {
        Some("out of memory")
    } else {
        None
    }
}

impl Stderr {
    /// Reads `stderr` on a thread of its own until it ends; `on_fatal` runs once, as
    /// soon as a dying message is read. The returned receiver is told when it ended.
    pub(super) fn read(
        stderr: std::io::PipeReader,
        on_fatal: impl FnOnce() + Send + 'static,
    ) -> (Arc<Self>, tokio::sync::oneshot::Receiver<()>) {
        let this = Arc::new(Self::default());
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let reading = this.clone();
        std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut on_fatal = Some(on_fatal);
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                let n = match stderr.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if reading.lock().push(&chunk[..n]) {
                    if let Some(on_fatal) = on_fatal.take() {
                        on_fatal();
                    }
                }
            }
            let mut state = reading.lock();
            if !state.head.is_empty() || state.length > 0 {
                state.end_line();
            }
            drop(state);
            let _ = done_tx.send(());
        });
        (this, done)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the worker said it is dying of, if it did.
    pub(super) fn fatal(&self) -> Option<&'static str> {
        self.lock().fatal.as_ref().map(|(kind, _)| *kind)
    }

    /// Every line kept, for an error message.
    pub(super) fn text(&self) -> String {
        let state = self.lock();
        state.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// The worker's death as a finding: what killed it, read from its stderr and its
    /// status. A dying message decides the kind, and the status is then said the same
    /// way whether the process ended itself or was ended as it was dying, so the
    /// finding does not depend on how long it took to die.
    pub(super) fn crash(&self, status: Option<ExitStatus>) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        let state = self.lock();
        let mut shown = shown(state.lines.iter().map(String::as_str));
        let (kind, status) = match &state.fatal {
            Some((kind, line)) => {
                if !shown.iter().any(|l| l.contains(line.trim())) {
                    shown.push(line.clone());
                }
                ((*kind).to_owned(), "aborted".to_owned())
            }
            None => {
                let text = status.map_or_else(|| "not reaped".to_owned(), |s| s.to_string());
                let kind = if let Some(code) = status.and_then(|s| s.code()) {
                    format!("exit code {code}")
                } else if let Some(signal) = status.and_then(|s| s.signal()) {
                    format!("signal {signal}{}", signal_name(signal))
                } else {
                    "the worker died".to_owned()
                };
                (kind, text)
            }
        };
        Outcome::Crash {
            kind,
            status,
            stderr: without_thread_ids(&shown.join("\n")),
        }
    }
}

/// The last lines of a stderr worth showing: backtrace frames and notes left out.
fn shown<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let lines: Vec<&str> = lines
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
    lines[lines.len().saturating_sub(SHOWN_LINES)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_line_keeps_its_head_and_a_note_and_a_dying_message_after_it_is_seen() {
        let mut state = State::default();
        let huge = vec![b'x'; 8 << 20];
        assert!(!state.push(&huge));
        assert!(!state.push(b"\xff\xfe not utf-8\n"));
        assert!(state.push(b"thread 'badgateway-case' (77) has overflowed its stack\n"));
        assert!(
            !state.push(b"memory allocation of 5 bytes failed\n"),
            "only the first dying message counts"
        );
        let cut = huge.len() + b"\xff\xfe not utf-8".len() - LINE_BYTES;
        assert_eq!(
            state.lines[0],
            format!("{} … [{cut} more bytes cut]", "x".repeat(LINE_BYTES))
        );
        assert_eq!(state.fatal.as_ref().map(|f| f.0), Some("stack overflow"));
        let kept: usize = state.lines.iter().map(String::len).sum();
        assert!(kept < 4096, "{kept} bytes kept");
    }

    #[test]
    fn a_dying_message_at_the_end_of_a_long_line_is_seen_and_survives_any_later_output() {
        let mut state = State::default();
        let mut line = vec![b'y'; 100_000];
        line.extend_from_slice(b"memory allocation of 1000000000000 bytes failed\n");
        assert!(state.push(&line));
        for _ in 0..10_000 {
            state.push(b"noise\n");
        }
        assert_eq!(state.lines.len(), TAIL_LINES);
        let stderr = Stderr {
            state: Mutex::new(state),
        };
        let Outcome::Crash {
            kind,
            status,
            stderr,
        } = stderr.crash(None)
        else {
            unreachable!()
        };
        assert_eq!(
            (kind.as_str(), status.as_str()),
            ("out of memory", "aborted")
        );
        assert!(
            stderr.contains("memory allocation of 1000000000000 bytes failed"),
            "{stderr}"
        );
    }
}
