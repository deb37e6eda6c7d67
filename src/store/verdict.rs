//! Replaying stored fixtures against the current code, each verdict an insta snapshot.

use std::fmt;
use std::path::PathBuf;

use crate::error::Error;
use crate::runner::outcome::{Class, Outcome};
use crate::store::fixture::Fixture;

/// What became of one fixture's bug in the current code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReplayStatus {
    /// The same bug, same signature.
    StillFailing,
    /// Another bug: a panic elsewhere, or a hang where it panicked.
    FailsDifferently,
    /// The code now returns `Ok` or `Err`: the bug is fixed.
    Fixed,
}

/// One fixture replayed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The fixture file.
    pub path: PathBuf,
    /// The fixture.
    pub fixture: Fixture,
    /// What the current code did.
    pub outcome: Outcome,
    /// What that means for the bug.
    pub status: ReplayStatus,
    /// `None` when the verdict matched its snapshot; else insta's complaint.
    pub snapshot_mismatch: Option<String>,
}

/// The result of replaying a suite's fixtures.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReplayReport {
    /// The suite replayed.
    pub suite: String,
    /// The replay's label (which code was replayed: `naive`, `hardened`...).
    pub label: String,
    /// One verdict per readable fixture, in file-name order.
    pub verdicts: Vec<Verdict>,
    /// Fixtures that could not be read, each error naming the file and the fix.
    pub broken: Vec<Error>,
    /// What went wrong around the replay without touching its verdicts (a JUnit file
    /// that could not be written).
    pub warnings: Vec<String>,
}

impl Verdict {
    /// The verdict on a fixture, given what the code did with its scenario now.
    pub fn new(path: PathBuf, fixture: Fixture, outcome: Outcome) -> Verdict {
        let status = if !outcome.is_finding() {
            ReplayStatus::Fixed
        } else if outcome.signature() == fixture.signature {
            ReplayStatus::StillFailing
        } else {
            ReplayStatus::FailsDifferently
        };
        Verdict {
            path,
            fixture,
            outcome,
            status,
            snapshot_mismatch: None,
        }
    }

    /// The text of the verdict's snapshot: what was found, what happens now, with
    /// run-dependent values (loopback ports) redacted.
    ///
    /// ```
    /// use badgateway::{faults, Fixture, Outcome, Scenario, Verdict};
    /// let fixture = Fixture::by_hand("s", Scenario::new().then(faults::status(503)), "panic at src/a.rs:1:2");
    /// let now = Outcome::HandledError { message: "error sending request for url (http://127.0.0.1:40123/x)".into() };
    /// let text = Verdict::new("f.json".into(), fixture, now).snapshot_text();
    /// assert!(text.contains("verdict: fixed (handled error)\n"), "{text}");
    /// assert!(text.contains("http://127.0.0.1:[port]/x"), "{text}");
    /// ```
    pub fn snapshot_text(&self) -> String {
        let status = match (self.status, self.outcome.class()) {
            (ReplayStatus::StillFailing, _) => "still failing".to_owned(),
            (ReplayStatus::FailsDifferently, _) => {
                format!("fails differently: {}", self.outcome.signature())
            }
            (ReplayStatus::Fixed, class) => format!("fixed ({class})"),
        };
        let now = self.outcome.to_string().replace('\n', "\n  ");
        let text = format!(
            "suite: {}\nfixture: {}\nfound: {}\nscenario: {}\nverdict: {status}\nnow: {now}\n",
            self.fixture.suite,
            self.fixture.id,
            self.fixture.signature,
            serde_json::to_string(&self.fixture.scenario).expect("a scenario always serialises"),
        );
        redact_ports(&text)
    }
}

impl ReplayReport {
    /// Whether every verdict matched its snapshot and every fixture could be read.
    pub fn passed(&self) -> bool {
        self.broken.is_empty() && self.verdicts.iter().all(|v| v.snapshot_mismatch.is_none())
    }

    /// How many verdicts have each status.
    pub fn count(&self, status: ReplayStatus) -> usize {
        self.verdicts.iter().filter(|v| v.status == status).count()
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changed: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|v| v.snapshot_mismatch.is_some())
            .collect();
        writeln!(
            f,
            "badgateway replay `{}` of suite `{}`: {} fixtures, {} still failing, {} failing differently, {} fixed",
            self.label,
            self.suite,
            self.verdicts.len() + self.broken.len(),
            self.count(ReplayStatus::StillFailing),
            self.count(ReplayStatus::FailsDifferently),
            self.count(ReplayStatus::Fixed),
        )?;
        if !changed.is_empty() {
            writeln!(f, "\n{} verdicts differ from their snapshots (review them with `cargo insta review`):", changed.len())?;
            for verdict in changed {
                let class = if verdict.outcome.class() == Class::Ok
                    || verdict.status == ReplayStatus::Fixed
                {
                    "now fixed"
                } else {
                    "changed"
                };
                writeln!(
                    f,
                    "  {} ({class}): {}",
                    verdict.path.display(),
                    verdict.outcome.signature()
                )?;
            }
        }
        if !self.broken.is_empty() {
            writeln!(
                f,
                "\n{} fixtures could not be read (the others were replayed):",
                self.broken.len()
            )?;
            for error in &self.broken {
                writeln!(f, "  {error}")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// Replaces the port of every `127.0.0.1:PORT` with `[port]`.
pub(crate) fn redact_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        let after = &rest[at + HOST.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..at + HOST.len()]);
        out.push_str(if digits > 0 { "[port]" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_redacted_and_nothing_else_is() {
        assert_eq!(
            super::redact_ports("a http://127.0.0.1:8080/x and 127.0.0.1:1 but not 127.0.0.1:x"),
            "a http://127.0.0.1:[port]/x and 127.0.0.1:[port] but not 127.0.0.1:x"
        );
    }
}
