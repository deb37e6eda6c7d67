//! The report for a person at a terminal: colour where it helps, and a progress line
//! on long runs. Neither ever reaches a file, a snapshot or CI.
//!
//! Implementation notes: the report's `Display` form is the one text (files, JUnit,
//! snapshots, panics); colour is laid over its lines after, by their shape, so the
//! two can never say different things. Colour follows the conventions of
//! <https://no-color.org> and `CLICOLOR_FORCE`: `NO_COLOR` (any value) turns it
//! off, `CLICOLOR_FORCE` (not `0`) on, `TERM=dumb` off, and otherwise it is on when
//! the stream is a terminal.

use std::io::IsTerminal;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";

/// Whether text for a stream that `is_terminal` is coloured, given the environment.
pub(crate) fn colour_wanted(is_terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
    if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    if var("TERM").as_deref() == Some("dumb") {
        return false;
    }
    is_terminal
}

/// Whether a report printed to stdout (as libtest shows a failing test's panic) is
/// coloured here and now.
pub(crate) fn colour_on_stdout() -> bool {
    colour_wanted(std::io::stdout().is_terminal(), |name| {
        std::env::var(name).ok()
    })
}

/// The report's text with colour laid over it: the headline red when there are
/// findings and green when none, each summary line's kind red for a panic, crash or
/// hang and yellow otherwise, fixture paths dim, finding headers and the
/// reproduce line bold.
pub(crate) fn coloured(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        out.push_str(&coloured_line(body));
        out.push_str(end);
    }
    out
}

fn coloured_line(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("badgateway: ") {
        let colour = match rest.starts_with("no findings") {
            true => GREEN,
            false => RED,
        };
        return format!("{BOLD}{colour}badgateway:{RESET}{BOLD} {rest}{RESET}");
    }
    if line.starts_with("── ") {
        return format!("{BOLD}{line}{RESET}");
    }
    if let Some(rest) = line.strip_prefix("reproduce: ") {
        return format!("{BOLD}reproduce:{RESET} {rest}");
    }
    // A summary line: `  3. hang · 11 of 365 cases · deterministic · fixtures/...`.
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let Some((number, rest)) = trimmed.split_once(". ") else {
        return line.to_owned();
    };
    if indent.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) || !rest.contains(" · ") {
        return line.to_owned();
    }
    let (kind, tail) = rest.split_once(" · ").expect("checked above");
    let severe = ["panic", "crash", "hang"]
        .iter()
        .any(|k| kind.starts_with(k));
    let colour = if severe { RED } else { YELLOW };
    let tail = match tail.rsplit_once(" · ") {
        Some((middle, last)) if last.contains('/') => {
            format!("{middle} · {DIM}{last}{RESET}")
        }
        _ => tail.to_owned(),
    };
    format!("{indent}{number}. {colour}{kind}{RESET} · {tail}")
}

/// How long a run goes before its progress line appears.
const PROGRESS_AFTER: Duration = Duration::from_secs(3);
/// How often the progress line is written again.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A progress line on stderr while a campaign runs: `badgateway: campaign
/// `charges`: 120 of 365 cases, 3 findings, 4.1 s`, written over itself, only when
/// stderr is a terminal and not in CI (`CI` set), from a few seconds in, and cleared
/// when the run ends. It is dropped to stop.
pub(crate) struct Progress {
    state: Option<Arc<State>>,
}

struct State {
    done: AtomicUsize,
    findings: AtomicUsize,
    stop: AtomicBool,
}

impl Progress {
    /// Progress of `total` cases of campaign `suite`, shown where it may be.
    pub(crate) fn start(suite: &str, total: usize) -> Progress {
        let wanted = std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            && std::env::var_os(crate::runner::isolation::WORKER_VAR).is_none();
        if !wanted {
            return Progress { state: None };
        }
        let state = Arc::new(State {
            done: AtomicUsize::new(0),
            findings: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        let suite = suite.to_owned();
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .name("badgateway-progress".into())
            .spawn(move || {
                let mut shown = false;
                while !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(PROGRESS_EVERY);
                    if started.elapsed() < PROGRESS_AFTER || shared.stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    let line = progress_line(
                        &suite,
                        shared.done.load(Ordering::Relaxed),
                        total,
                        shared.findings.load(Ordering::Relaxed),
                        started.elapsed(),
                    );
                    let _ = write!(std::io::stderr(), "\r\x1b[K{line}");
                    shown = true;
                }
                if shown {
                    let _ = write!(std::io::stderr(), "\r\x1b[K");
                }
            });
        Progress {
            state: spawned.ok().map(|_| state),
        }
    }

    /// One more case judged, and whether it was a new finding.
    pub(crate) fn case_done(&self, new_finding: bool) {
        if let Some(state) = &self.state {
            state.done.fetch_add(1, Ordering::Relaxed);
            if new_finding {
                state.findings.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(state) = &self.state {
            state.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The progress line's text.
pub(crate) fn progress_line(
    suite: &str,
    done: usize,
    total: usize,
    findings: usize,
    elapsed: Duration,
) -> String {
    let plural = if findings == 1 { "" } else { "s" };
    format!(
        "badgateway: campaign `{suite}`: {done} of {total} cases, {findings} finding{plural}, {:.1} s",
        elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_no_color_clicolor_force_and_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(colour_wanted(true, env(&[])));
        assert!(!colour_wanted(false, env(&[])));
        assert!(!colour_wanted(true, env(&[("NO_COLOR", "1")])));
        assert!(colour_wanted(true, env(&[("NO_COLOR", "")])));
        assert!(colour_wanted(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!colour_wanted(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!colour_wanted(
            true,
            env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
        assert!(!colour_wanted(true, env(&[("TERM", "dumb")])));
    }

    #[test]
    fn colour_marks_the_headline_kinds_paths_and_reproduce_and_changes_no_word() {
        let text = "badgateway: 2 findings in campaign `c` (1 cases)\n\nsummary, most severe first:\n  1. panic at src/a.rs:1:2 · 1 of 1 cases · deterministic · fixtures/regressions/c/1.json\n  2. silent acceptance of id: pattern · 1 of 1 cases · not kept\n\n── finding 1 of 2: panic ──\nreproduce: BADGATEWAY_SEED=0x2a cargo test x\n";
        let coloured = coloured(text);
        assert!(
            coloured.starts_with("\x1b[1m\x1b[31mbadgateway:\x1b[0m"),
            "{coloured:?}"
        );
        assert!(coloured.contains("1. \x1b[31mpanic at src/a.rs:1:2\x1b[0m · "));
        assert!(coloured.contains("2. \x1b[33msilent acceptance of id: pattern\x1b[0m · "));
        assert!(coloured.contains("\x1b[2mfixtures/regressions/c/1.json\x1b[0m"));
        assert!(coloured.contains("\x1b[1mreproduce:\x1b[0m BADGATEWAY_SEED"));
        // Without the escapes, it is the same text, word for word.
        let plain = coloured
            .replace(RESET, "")
            .replace(BOLD, "")
            .replace(DIM, "")
            .replace(RED, "")
            .replace(GREEN, "")
            .replace(YELLOW, "");
        assert_eq!(plain, text);
        assert!(super::coloured("badgateway: no findings in campaign `c`\n").contains(GREEN));
    }

    #[test]
    fn the_progress_line_counts_cases_and_findings() {
        assert_eq!(
            progress_line("charges", 120, 365, 1, Duration::from_millis(4100)),
            "badgateway: campaign `charges`: 120 of 365 cases, 1 finding, 4.1 s"
        );
    }
}
