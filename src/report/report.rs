//! What a campaign found, in a form a developer can fix the bug from.

use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::time::Duration;

use crate::provider::journal::{Journal, RecordedRequest};
use crate::runner::outcome::Class;
use crate::runner::rules::Rule;
use crate::scenario::render;
use crate::scenario::render::escape_bytes;
use crate::scenario::{Framing, Mutation};
use crate::store::Saved;

use super::finding::{Finding, Kept};

/// The result of a campaign: every finding, shrunk, and a tally of outcomes.
///
/// Its `Display` form is the report a failing campaign prints.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The campaign's suite name.
    pub suite: String,
    /// The seed the cases were generated from.
    pub seed: u64,
    /// How many generated cases ran (after the coverage phase).
    pub cases: u32,
    /// How many single-fault cases the coverage phase ran first.
    pub coverage: usize,
    /// The deadline each case had.
    pub deadline: Duration,
    /// How many cases ended in each class.
    pub tally: BTreeMap<Class, usize>,
    /// One finding per signature, in the order first seen.
    pub findings: Vec<Finding>,
    /// Wall time of the whole campaign, shrinking included.
    pub elapsed: Duration,
    /// Of which shrinking the findings (running them again alone to confirm them is
    /// not counted).
    #[serde(default)]
    pub shrinking: Duration,
    /// The command that runs the campaign again, without the seed: `cargo test NAME`
    /// inside a test (libtest names the thread after the test), else the program's
    /// own command line.
    pub rerun: String,
    /// What went wrong around the campaign without touching its findings (a JUnit
    /// file that could not be written): printed at the end of the report.
    pub warnings: Vec<String>,
}

impl Report {
    /// How many cases ran in all: the coverage phase's and the generated ones.
    ///
    /// ```
    /// # use badgateway::Report;
    /// # let report = Report { suite: "s".into(), seed: 0x2a, cases: 10, deadline: Default::default(),
    /// #   tally: Default::default(), findings: vec![], elapsed: Default::default(), shrinking: Default::default(), rerun: String::new(), warnings: vec![], coverage: 5 };
    /// assert_eq!(report.total_cases(), 15);
    /// ```
    pub fn total_cases(&self) -> usize {
        self.coverage + self.cases as usize
    }

    /// The command that runs this campaign again with the same cases.
    ///
    /// ```
    /// # use badgateway::Report;
    /// # let report = Report { suite: "s".into(), seed: 0x2a, cases: 1, deadline: Default::default(),
    /// #   tally: Default::default(), findings: vec![], elapsed: Default::default(), shrinking: Default::default(), rerun: "cargo test campaigns::naive".into(), warnings: vec![], coverage: 0 };
    /// assert_eq!(report.reproduce_command(), "BADGATEWAY_SEED=0x2a cargo test campaigns::naive");
    /// ```
    pub fn reproduce_command(&self) -> String {
        format!("BADGATEWAY_SEED={:#x} {}", self.seed, self.rerun)
    }

    /// The report as its `Display` form writes it, coloured when stdout is a terminal
    /// (`NO_COLOR` turns colour off, `CLICOLOR_FORCE=1` on): for printing it to a
    /// person. Files, JUnit and snapshots always get the plain text.
    pub fn for_terminal(&self) -> String {
        let text = self.to_string();
        match super::colour_on_stdout() {
            true => super::coloured(&text),
            false => text,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = match self.findings.len() {
            0 => "no findings".to_owned(),
            1 => "1 finding".to_owned(),
            n => format!("{n} findings"),
        };
        let cases = if self.coverage > 0 {
            format!(
                "{} single faults + {} generated cases",
                self.coverage, self.cases
            )
        } else {
            format!("{} cases", self.cases)
        };
        writeln!(
            f,
            "badgateway: {found} in campaign `{}` ({cases}, seed {:#x}, deadline {:?}, {:.1} s)",
            self.suite,
            self.seed,
            self.deadline,
            self.elapsed.as_secs_f64()
        )?;
        let tally: Vec<String> = self
            .tally
            .iter()
            .map(|(class, n)| format!("{n} {class}"))
            .collect();
        writeln!(f, "outcomes: {}", tally.join(", "))?;
        write_summary(f, self, "summary, most severe first:")?;
        if !summary_only() {
            for (i, finding) in self.findings.iter().enumerate() {
                writeln!(f)?;
                write_finding(f, self, i, finding)?;
            }
            // A long report is read from its end too: what it found, once more.
            if self.findings.len() > 1 {
                write_summary(f, self, "summary again, most severe first:")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// The variable that chooses how much of a report is printed.
pub(crate) const REPORT_VAR: &str = "BADGATEWAY_REPORT";

/// Whether `BADGATEWAY_REPORT=summary` asks for the summary lines alone (with each
/// finding's fixture), rather than every finding in full.
fn summary_only() -> bool {
    std::env::var(REPORT_VAR).is_ok_and(|v| v == "summary")
}

/// Why `BADGATEWAY_REPORT` is not a value it can take, if it is set to one.
pub(crate) fn report_setting_error() -> Option<String> {
    let value = std::env::var(REPORT_VAR).ok()?;
    (!matches!(value.as_str(), "summary" | "full" | "")).then(|| {
        format!("invalid {REPORT_VAR}={value:?}: expected `summary` (the summary lines and their fixtures) or `full` (every finding, the default)")
    })
}

/// One line per finding, most severe first: what, how often, how reliably, where kept.
fn write_summary(f: &mut fmt::Formatter<'_>, report: &Report, title: &str) -> fmt::Result {
    if report.findings.is_empty() {
        return Ok(());
    }
    writeln!(f, "\n{title}")?;
    for (i, finding) in report.findings.iter().enumerate() {
        let label = match finding.reproduced {
            Some(r) if r.is_deterministic() => " · deterministic".to_owned(),
            Some(r) => format!(" · flaky ({} of {} runs)", r.times, r.runs),
            None => String::new(),
        };
        let kept = match &finding.fixture {
            Kept::In(saved) => shown_path(saved.path()),
            Kept::NotKept => "not kept".to_owned(),
            Kept::Failed(_) => "NOT kept (see below)".to_owned(),
        };
        writeln!(
            f,
            "  {}. {} · {} of {} cases{label} · {kept}",
            i + 1,
            finding.signature,
            finding.seen_in,
            report.total_cases()
        )?;
    }
    Ok(())
}

fn write_finding(
    f: &mut fmt::Formatter<'_>,
    report: &Report,
    i: usize,
    finding: &Finding,
) -> fmt::Result {
    let title = format!(
        "── finding {} of {}: {} ",
        i + 1,
        report.findings.len(),
        finding.signature
    );
    let pad = 78usize.saturating_sub(title.chars().count());
    writeln!(f, "{title}{}", "─".repeat(pad))?;
    writeln!(
        f,
        "seen in {} of {} cases (first: case {})",
        finding.seen_in,
        report.total_cases(),
        finding.first_case + 1
    )?;
    if let Some(reproduced) = finding.reproduced {
        writeln!(f, "{reproduced}")?;
    }
    writeln!(f, "\nwhat the code did:")?;
    for line in finding.outcome.to_string().lines() {
        writeln!(f, "  {line}")?;
    }
    if let Some(failed) = crash_looped(finding) {
        writeln!(
            f,
            "  {}, at {failed}: the handler died on it, so the provider will redeliver it for days, and it dies each time",
            Rule::CrashLoop
        )?;
    }
    let s = finding.shrink;
    writeln!(
        f,
        "\nwhat the provider sent (shrunk from {} / {} to {} / {} in {}, {}):",
        s.from_size(),
        plural(s.from_complexity, "change"),
        s.to_size(),
        plural(s.to_complexity, "change"),
        plural(s.rounds, "round"),
        plural(s.runs, "run"),
    )?;
    if finding.journal.is_empty() && finding.outcome.class() == Class::Crash {
        writeln!(
            f,
            "  (the provider's journal died with the worker process; the scenario below is what it served)"
        )?;
    } else {
        f.write_str(&served_requests(&finding.journal))?;
    }
    writeln!(
        f,
        "\nscenario: {}",
        serde_json::to_string(&finding.scenario).expect("a scenario always serialises")
    )?;
    match &finding.fixture {
        Kept::NotKept => {}
        Kept::In(saved) => {
            let how = match saved {
                Saved::New(_) => "new",
                Saved::Replaced { .. } => "replaces a larger scenario",
                Saved::Known(_) => "already kept",
            };
            writeln!(f, "fixture: {} ({how})", shown_path(saved.path()))?;
        }
        Kept::Failed(error) => writeln!(f, "fixture: NOT kept: {error}")?,
    }
    writeln!(f, "reproduce: {}", report.reproduce_command())
}

/// The delivery a handler died on (`delivery 2`), when a webhook case panicked,
/// crashed or hung under one: a crash loop, whatever else the finding says.
fn crash_looped(finding: &Finding) -> Option<String> {
    if finding.scenario.deliveries.is_empty()
        || !matches!(
            finding.outcome.class(),
            Class::Panic | Class::Crash | Class::Hang
        )
    {
        return None;
    }
    // The delivery whose connection died with the handler (a panicking task drops
    // it); a process that crashed took the journal with it.
    let failed = finding
        .journal
        .deliveries
        .iter()
        .find(|d| !d.redelivery && d.answer.is_failure());
    Some(failed.map_or_else(
        || "one of its deliveries".to_owned(),
        |d| format!("delivery {} ({} {})", d.index + 1, d.event, d.id),
    ))
}

/// A path relative to the current folder when it is inside it.
fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Each request of a case and the bytes it was answered with.
pub(crate) fn served_requests(journal: &Journal) -> String {
    let mut out = String::new();
    for d in &journal.deliveries {
        let again = if d.redelivery { ", redelivered" } else { "" };
        let forged = d
            .forged
            .map_or_else(String::new, |f| format!(", forged: {f}"));
        let _ = writeln!(
            out,
            "  delivery {}{again}: {} {}{forged}; answer: {}",
            d.index + 1,
            d.event,
            d.id,
            d.answer
        );
        let shown: String = d.body.chars().take(400).collect();
        let more = if shown.len() < d.body.len() {
            format!(" ... ({} bytes in all)", d.body.len())
        } else {
            String::new()
        };
        let _ = writeln!(out, "    │ {}{more}", escape_bytes(shown.as_bytes()));
    }
    if journal.is_empty() && journal.deliveries.is_empty() {
        out.push_str("  no request reached the provider\n");
    }
    let requests = &journal.requests;
    let mut i = 0;
    while i < requests.len() {
        let request = &requests[i];
        i += 1;
        // A storm or a provider that stays down repeats one exchange many times: it is
        // shown once, with the count of the repeats.
        let repeats = requests[i..]
            .iter()
            .take_while(|r| same_exchange(r, request))
            .count();
        if repeats > 1 {
            let _ = writeln!(
                out,
                "  requests {} to {}: {} {}, each as request {} below ({} in all)",
                request.index + 1,
                requests[i + repeats - 1].index + 1,
                request.method,
                request.target,
                request.index + 1,
                repeats + 1
            );
        }
        let _ = writeln!(
            out,
            "  request {}: {} {}",
            request.index + 1,
            request.method,
            request.target
        );
        if repeats > 1 {
            i += repeats;
        }
        if request.step.is_baseline() {
            out.push_str("    (baseline, unchanged)\n");
            continue;
        }
        let _ = writeln!(
            out,
            "    step: {}",
            serde_json::to_string(&request.step).expect("a step always serialises")
        );
        let served = render::served(
            &request.served,
            request.served_head_len,
            &request.step.transport,
            "    │ ",
        );
        out.push_str(&elided_around_changes(&served, request));
        let body_len = request.served.len().saturating_sub(request.served_head_len);
        let notes = request.step.mutations.iter().filter_map(mutation_note);
        for note in notes.chain(framing_note(&request.step.framing, body_len)) {
            let _ = writeln!(out, "    ‼ {note}");
        }
    }
    out
}

/// Whether two requests were the same exchange: the same request, answered the same.
fn same_exchange(a: &RecordedRequest, b: &RecordedRequest) -> bool {
    a.method == b.method
        && a.target == b.target
        && a.body == b.body
        && a.step == b.step
        && a.served == b.served
}

/// Bodies longer than this many lines show only the lines around what changed.
const LONG_BODY_LINES: usize = 40;
/// Lines kept on each side of a changed line.
const CONTEXT_LINES: usize = 3;

/// The rendered response with the unchanged parts of a long body elided around the
/// changed values (found by their served text, or by their key when removed); as it
/// is when the body is short or nothing changed can be found in it.
fn elided_around_changes(rendered: &str, request: &RecordedRequest) -> String {
    let lines: Vec<&str> = rendered.lines().collect();
    let Some(body_start) = lines.iter().position(|l| l.trim() == "│") else {
        return rendered.to_owned();
    };
    if lines.len() - body_start <= LONG_BODY_LINES {
        return rendered.to_owned();
    }
    let served: Option<serde_json::Value> = request
        .served
        .get(request.served_head_len..)
        .and_then(|body| serde_json::from_slice(body).ok());
    let mut needles: Vec<String> = Vec::new();
    for mutation in &request.step.mutations {
        let Mutation::Json { path, .. } = mutation else {
            continue;
        };
        let value_at = |path: &str| {
            let segments = crate::scenario::json_path::parse(path)?;
            crate::scenario::json_path::get(served.as_ref()?, &segments).cloned()
        };
        let key_of = |path: &str| {
            let key = path.rsplit(['.', '[']).next().unwrap_or(path);
            format!("\"{}\"", key.trim_end_matches(']'))
        };
        match value_at(path) {
            Some(v) if !v.is_object() && !v.is_array() => needles.push(v.to_string()),
            Some(_) => needles.push(key_of(path)),
            // Removed: its parent still stands where it was.
            None => {
                let parent = &path[..path.rfind(['.', '[']).unwrap_or(0)];
                if !parent.is_empty() {
                    needles.push(key_of(parent));
                }
            }
        }
    }
    let changed: Vec<usize> = (body_start..lines.len())
        .filter(|&i| needles.iter().any(|n| lines[i].contains(n.as_str())))
        .collect();
    if changed.is_empty() {
        return rendered.to_owned();
    }
    let last = lines.len() - 1;
    let keep = |i: usize| {
        i <= body_start
            || i == last
            || changed
                .iter()
                .any(|&c| i + CONTEXT_LINES >= c && i <= c + CONTEXT_LINES)
    };
    let mut out = String::new();
    let mut skipped = 0;
    for (i, line) in lines.iter().enumerate() {
        if keep(i) {
            if skipped > 0 {
                let _ = writeln!(out, "    │ … {skipped} unchanged lines");
                skipped = 0;
            }
            let _ = writeln!(out, "{line}");
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        let _ = writeln!(out, "    │ … {skipped} unchanged lines");
    }
    out
}

/// What the framing does to the body shown above it, where that is easy to miss.
fn framing_note(framing: &Framing, body_len: usize) -> Option<String> {
    Some(match framing {
        Framing::ContentLengthTooShort { by } => {
            let by = (*by).min(body_len);
            format!(
                "content-length announces {} bytes, the body has {body_len}: the last {by} are left on the connection for the next response",
                body_len - by
            )
        }
        Framing::ContentLengthTooLong { by } => format!(
            "content-length announces {} bytes, only {body_len} are sent: the client waits for {by} more",
            body_len + by
        ),
        Framing::BothLengths => "both content-length and transfer-encoding: chunked".to_owned(),
        Framing::ContentLengthValue { value } => format!(
            "content-length announces {value:?}; the body has {body_len} bytes, then the connection closes"
        ),
        Framing::ContentLengthTwice { by } => format!(
            "two content-length headers: {body_len} and {}",
            body_len.saturating_add(*by)
        ),
        _ => return None,
    })
}

/// What to look for in the body, for mutations whose effect is easy to miss.
fn mutation_note(mutation: &Mutation) -> Option<String> {
    Some(match mutation {
        Mutation::TruncateBody { at } => format!("body cut after {at} bytes"),
        Mutation::InvalidUtf8 { at } => {
            format!("invalid UTF-8 (\\xFF\\xFE) at byte {at} of the body")
        }
        Mutation::PrependBom => {
            "a UTF-8 byte order mark (\\xEF\\xBB\\xBF) before the body".to_owned()
        }
        Mutation::InvalidHeaderBytes { name } => {
            format!("a control byte (\\x01) in the {name} header")
        }
        Mutation::Json { path, change } => format!(
            "JSON at `{}`: {}",
            if path.is_empty() { "(root)" } else { path },
            serde_json::to_string(change)
                .expect("a change always serialises")
                .trim_matches('"')
        ),
        _ => return None,
    })
}
