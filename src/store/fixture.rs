//! A finding kept as a regression case: one readable, versioned JSON file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::runner::outcome::Outcome;
use crate::scenario::Scenario;

/// How far a finding was shrunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShrinkFigures {
    /// Steps before shrinking.
    pub from_steps: usize,
    /// [`Scenario::complexity`] before shrinking.
    pub from_complexity: usize,
    /// Steps after.
    pub to_steps: usize,
    /// Complexity after.
    pub to_complexity: usize,
    /// Rounds that made it smaller.
    pub rounds: usize,
    /// Cases run while shrinking.
    pub runs: usize,
    /// Webhook deliveries before shrinking.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub from_deliveries: usize,
    /// Webhook deliveries after.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub to_deliveries: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ShrinkFigures {
    /// What the scenario held before shrinking: `2 steps`, or `3 deliveries and 1 step`.
    pub fn from_size(&self) -> String {
        size(self.from_deliveries, self.from_steps)
    }

    /// What the scenario holds after shrinking.
    pub fn to_size(&self) -> String {
        size(self.to_deliveries, self.to_steps)
    }
}

/// `2 steps`, or `3 deliveries and 1 step` when there are deliveries.
fn size(deliveries: usize, steps: usize) -> String {
    match deliveries {
        0 => counted(steps, "step"),
        1 => format!("1 delivery and {}", counted(steps, "step")),
        n => format!("{n} deliveries and {}", counted(steps, "step")),
    }
}

/// The fixture format this version of badgateway writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A regression case: the scenario that showed a bug, and how it was found.
///
/// Stored as `fixtures/regressions/<suite>/<id>.json`, pretty-printed, and meant to be
/// read, reviewed and committed like code. The `id` is a hash of the normalised
/// scenario, so the same scenario always has the same file name.
///
/// ```
/// use badgateway::{faults, Fixture, Scenario};
/// let scenario = Scenario::new().then(faults::truncate_body_at(0));
/// let fixture = Fixture::by_hand("charges.create", scenario.clone(), "panic at src/pay.rs:10:5");
/// assert_eq!(fixture.id, Fixture::id_of(&scenario));
/// assert_eq!(fixture.id.len(), 16);
/// let text = fixture.to_json();
/// assert_eq!(Fixture::from_json(&text, "x.json".as_ref()).unwrap(), fixture);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The format version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// A hash of the normalised scenario: 16 hex digits.
    pub id: String,
    /// The suite (campaign name) it belongs to.
    pub suite: String,
    /// What makes it one bug: see [`crate::Outcome::signature`].
    pub signature: String,
    /// The scenario to replay.
    pub scenario: Scenario,
    /// How, when and by what it was found.
    pub found: Found,
    /// For humans: why it matters, the ticket, the fix.
    #[serde(default)]
    pub note: String,
}

/// How a fixture was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Found {
    /// `campaign`, `fuzz` or `hand`.
    pub by: String,
    /// When, as RFC 3339 UTC.
    pub at: String,
    /// What the code did, as the report said it.
    pub outcome: String,
    /// The campaign's seed, as hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Which generated case (from 1) first showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<usize>,
    /// How many generated cases the campaign ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<u32>,
    /// How far it was shrunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink: Option<ShrinkFigures>,
    /// How it behaved when its scenario was run again, alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduced: Option<Reproduced>,
}

impl Found {
    /// How a campaign found it: the outcome as the report says it, the seed, which
    /// generated case (from 0), of how many; shrink figures and the reproduction label
    /// are added once known.
    pub(crate) fn by_campaign(outcome: &Outcome, seed: u64, case: usize, cases: u32) -> Found {
        Found {
            by: "campaign".into(),
            at: now_rfc3339(),
            outcome: outcome.to_string(),
            seed: Some(format!("{seed:#x}")),
            case: Some(case + 1),
            cases: Some(cases),
            shrink: None,
            reproduced: None,
        }
    }

    /// How a fuzzer found it (promoted from a libFuzzer artifact): the outcome as the
    /// report says it; shrink figures and the reproduction label are added once known.
    pub(crate) fn by_fuzzer(outcome: &Outcome) -> Found {
        Found {
            by: "fuzz".into(),
            at: now_rfc3339(),
            outcome: outcome.to_string(),
            seed: None,
            case: None,
            cases: None,
            shrink: None,
            reproduced: None,
        }
    }
}

/// How a finding behaved when its shrunk scenario was run again, alone: every time
/// (deterministic: a service that retries the request would crash-loop on it), or
/// only sometimes (flaky, with its rate).
///
/// ```
/// let every = badgateway::Reproduced { times: 3, runs: 3 };
/// assert!(every.is_deterministic());
/// assert_eq!(every.to_string(), "deterministic: reproduced in 3 of 3 runs; it would crash-loop a service that retries it");
/// assert_eq!(badgateway::Reproduced { times: 2, runs: 3 }.to_string(), "flaky: reproduced in 2 of 3 runs");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reproduced {
    /// How many runs showed the same signature.
    pub times: u32,
    /// How many runs there were.
    pub runs: u32,
}

impl Reproduced {
    /// Whether every run showed it.
    pub fn is_deterministic(&self) -> bool {
        self.times == self.runs
    }
}

impl std::fmt::Display for Reproduced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_deterministic() {
            write!(
                f,
                "deterministic: reproduced in {} of {} runs; it would crash-loop a service that retries it",
                self.times, self.runs
            )
        } else {
            write!(
                f,
                "flaky: reproduced in {} of {} runs",
                self.times, self.runs
            )
        }
    }
}

/// `1 step`, `2 steps`.
fn counted(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[derive(Deserialize)]
struct VersionOnly {
    format: Option<u32>,
}

impl Fixture {
    /// The id of a scenario: FNV-1a of its normalised JSON form, as 16 hex digits.
    ///
    /// ```
    /// use badgateway::{faults, Fixture, Scenario, Step};
    /// let a = Scenario::new().then(faults::status(500));
    /// let b = a.clone().then(Step::baseline()); // a trailing baseline step changes nothing
    /// assert_eq!(Fixture::id_of(&a), Fixture::id_of(&b));
    /// assert_ne!(Fixture::id_of(&a), Fixture::id_of(&Scenario::new().then(faults::status(502))));
    /// ```
    pub fn id_of(scenario: &Scenario) -> String {
        let normal = crate::scenario::shrink::normalized(scenario);
        let json = serde_json::to_string(&normal).expect("a scenario always serialises");
        format!("{:016x}", crate::scenario::hash::fnv1a(json.as_bytes()))
    }

    /// A fixture written by hand, for a scenario you know shows a bug.
    pub fn by_hand(suite: &str, scenario: Scenario, signature: &str) -> Fixture {
        Fixture {
            format: FORMAT_VERSION,
            id: Fixture::id_of(&scenario),
            suite: suite.to_owned(),
            signature: signature.to_owned(),
            scenario,
            found: Found {
                by: "hand".into(),
                at: now_rfc3339(),
                outcome: signature.to_owned(),
                seed: None,
                case: None,
                cases: None,
                shrink: None,
                reproduced: None,
            },
            note: String::new(),
        }
    }

    /// The fixture of a finding a campaign made: `found` says how (see
    /// [`Found::by_campaign`]).
    pub(crate) fn of_finding(
        suite: &str,
        scenario: &Scenario,
        outcome: &Outcome,
        found: Found,
    ) -> Fixture {
        Fixture {
            format: FORMAT_VERSION,
            id: Fixture::id_of(scenario),
            suite: suite.to_owned(),
            signature: outcome.signature(),
            scenario: crate::scenario::shrink::normalized(scenario),
            found,
            note: String::new(),
        }
    }

    /// What a person reads about this fixture (`badgateway show`): the bug, how it was
    /// found and shrunk, what the provider sends request by request, and how it is
    /// replayed.
    ///
    /// ```
    /// use badgateway::{faults, Fixture, Scenario};
    /// let fixture = Fixture::by_hand("charges", Scenario::new().then(faults::status(503)), "hang");
    /// let report = fixture.report();
    /// assert!(report.starts_with("badgateway: fixture "), "{report}");
    /// assert!(report.contains("suite `charges`: hang"), "{report}");
    /// assert!(report.contains(r#"request 1: {"mutations":[{"status":503}]}"#), "{report}");
    /// ```
    pub fn report(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let found = &self.found;
        let _ = writeln!(
            out,
            "badgateway: fixture {} in suite `{}`: {}",
            self.id, self.suite, self.signature
        );
        let mut how = format!("found by {} at {}", found.by, found.at);
        if let (Some(seed), Some(case), Some(cases)) = (&found.seed, found.case, found.cases) {
            let _ = write!(how, " (seed {seed}, case {case} of {cases})");
        }
        let _ = writeln!(out, "{how}");
        if let Some(reproduced) = found.reproduced {
            let _ = writeln!(out, "{reproduced}");
        }
        let _ = writeln!(out, "\nwhat the code did:");
        for line in found.outcome.lines() {
            let _ = writeln!(out, "  {line}");
        }
        match found.shrink {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "\nwhat the provider sends (shrunk from {} / {} to {} / {} in {}, {}):",
                    s.from_size(),
                    counted(s.from_complexity, "change"),
                    s.to_size(),
                    counted(s.to_complexity, "change"),
                    counted(s.rounds, "round"),
                    counted(s.runs, "run"),
                );
            }
            None => {
                let _ = writeln!(out, "\nwhat the provider sends:");
            }
        }
        for (i, delivery) in self.scenario.deliveries.iter().enumerate() {
            // Signed anew (or forged) as it is sent: no signature is kept.
            let delivery = serde_json::to_string(delivery).expect("a delivery always serialises");
            let _ = writeln!(out, "  delivery {}: {delivery}", i + 1);
        }
        for (i, step) in self.scenario.steps.iter().enumerate() {
            let step = serde_json::to_string(step).expect("a step always serialises");
            let _ = writeln!(out, "  request {}: {step}", i + 1);
        }
        let _ = writeln!(out, "  later requests: the baseline, unchanged");
        if !self.note.is_empty() {
            let _ = writeln!(out, "\nnote: {}", self.note);
        }
        let _ = writeln!(
            out,
            "\nreplayed by: the replay of suite `{}` in cargo test (Replay::new(\"{}\", ..) or Campaign::replay), one insta snapshot per client",
            self.suite, self.suite
        );
        out
    }

    /// The fixture as pretty-printed JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a fixture always serialises");
        text.push('\n');
        text
    }

    /// Reads a fixture; `path` is only used in the error, which names the file, the
    /// line and column, what is wrong and what to do.
    ///
    /// ```
    /// use badgateway::Fixture;
    /// let err = Fixture::from_json(r#"{"format": 1, "id": "x", "suite": "s", "signature": "hang",
    ///   "scenario": {"steps": [{"transport": "resett"}]}, "found": {"by": "hand", "at": "", "outcome": ""}}"#,
    ///   "fixtures/regressions/s/x.json".as_ref()).unwrap_err();
    /// let text = err.to_string();
    /// assert!(text.starts_with("invalid fixture fixtures/regressions/s/x.json at line 2 column"), "{text}");
    /// assert!(text.contains("unknown variant `resett`"), "{text}");
    /// assert!(text.contains("(did you mean `reset_peer`?)"), "{text}");
    /// ```
    pub fn from_json(text: &str, path: &Path) -> Result<Fixture, Error> {
        let invalid = |e: serde_json::Error| {
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let hint = did_you_mean(&message)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Error::new(
                ErrorKind::InvalidFile,
                format!(
                    "invalid fixture {} at line {} column {}: {message}{hint}; fix it by hand, or delete it and let the campaign find the bug again",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
            .with_path(path)
        };
        let version: VersionOnly = serde_json::from_str(text).map_err(invalid)?;
        match version.format {
            Some(v) if v > FORMAT_VERSION => {
                return Err(Error::new(
                    ErrorKind::InvalidFile,
                    format!(
                        "fixture {} has format {v}, newer than this badgateway reads ({FORMAT_VERSION}): upgrade badgateway, or replay it with the version that wrote it",
                        path.display()
                    ),
                )
                .with_path(path))
            }
            _ => {}
        }
        let fixture: Fixture = serde_json::from_str(text).map_err(invalid)?;
        if let Some(why) = fixture.scenario.expansion_error() {
            return Err(Error::new(
                ErrorKind::InvalidFile,
                format!("invalid fixture {}: {why}", path.display()),
            )
            .with_path(path));
        }
        Ok(fixture)
    }
}

/// For serde's "unknown variant `x`, expected one of `a`, `b`", the closest expected
/// name, when one is close enough to be a typo.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown variant `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    let (wrong, expected) = rest.split_once('`')?;
    // A typo of the name, or of its first words (`resett` for `reset_peer`).
    let distance = |candidate: &str| {
        let prefixes = candidate.match_indices('_').map(|(i, _)| &candidate[..i]);
        prefixes
            .chain([candidate])
            .map(|p| edit_distance(wrong, p))
            .min()
            .unwrap_or(usize::MAX)
    };
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| (distance(candidate), candidate))
        .filter(|(d, _)| *d <= 1.max(wrong.chars().count() / 3))
        .min()
        .map(|(_, c)| c.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The current time as RFC 3339 UTC, to the second.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion_and_nonsense_does_not() {
        let m = "unknown variant `resett`, expected one of `normal`, `empty_response`, `reset_peer`, `limit_data`";
        assert_eq!(did_you_mean(m).as_deref(), Some("reset_peer"));
        let m = "unknown variant `zzzzzzzz`, expected one of `normal`, `reset_peer`";
        assert_eq!(did_you_mean(m), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_clock_is_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }

    #[test]
    fn a_newer_format_says_to_upgrade() {
        let err = Fixture::from_json(r#"{"format": 2, "anything": true}"#, "a.json".as_ref())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "fixture a.json has format 2, newer than this badgateway reads (1): upgrade badgateway, or replay it with the version that wrote it"
        );
    }
}
