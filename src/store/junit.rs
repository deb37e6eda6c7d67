//! JUnit XML for CI systems: one file per campaign or replay, written atomically.
//! The document and the writer are here; a campaign's test cases come from its
//! report (the report room), a replay's from its verdicts (below).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::verdict::{ReplayReport, ReplayStatus};
use crate::error::Error;

use super::files::{anchored, safe_name, write_atomically};

/// One `<testcase>`.
pub(crate) struct TestCase {
    /// Its name.
    pub(crate) name: String,
    /// A failure's message and text, if it failed.
    pub(crate) failure: Option<(String, String)>,
    /// What goes in `<system-out>`.
    pub(crate) output: String,
}

/// A replay's results: one test case per fixture, failing when its verdict no longer
/// matches its snapshot or it cannot be read.
pub(crate) fn replay_xml(report: &ReplayReport) -> String {
    let mut cases: Vec<TestCase> = report
        .verdicts
        .iter()
        .map(|v| {
            let status = match v.status {
                ReplayStatus::StillFailing => "still failing",
                ReplayStatus::FailsDifferently => "fails differently",
                ReplayStatus::Fixed => "fixed",
            };
            TestCase {
                name: v.fixture.id.clone(),
                failure: v
                    .snapshot_mismatch
                    .as_ref()
                    .map(|m| (format!("verdict changed: {status}"), m.clone())),
                output: v.snapshot_text(),
            }
        })
        .collect();
    cases.extend(report.broken.iter().map(|e| {
        TestCase {
            name: e
                .path()
                .map_or_else(|| "unreadable fixture".into(), |p| p.display().to_string()),
            failure: Some(("fixture cannot be read".into(), e.to_string())),
            output: String::new(),
        }
    }));
    document(
        &format!("{}.replay.{}", report.suite, report.label),
        0.0,
        &cases,
    )
}

pub(crate) fn document(suite: &str, seconds: f64, cases: &[TestCase]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"badgateway\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        cases.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\">",
        escape(suite),
        cases.len()
    );
    for case in cases {
        let _ = write!(
            xml,
            "    <testcase classname=\"badgateway.{}\" name=\"{}\" time=\"0\">",
            escape(suite),
            escape(&case.name)
        );
        if let Some((message, text)) = &case.failure {
            let _ = write!(
                xml,
                "<failure message=\"{}\" type=\"finding\">{}</failure>",
                escape(message),
                escape(text)
            );
        }
        if !case.output.is_empty() {
            let _ = write!(xml, "<system-out>{}</system-out>", escape(&case.output));
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Escapes text for XML 1.0: markup characters as entities, characters XML cannot
/// hold at all (most control characters) as visible `\xNN`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The folder JUnit files go to: `BADGATEWAY_JUNIT_DIR` if set, else the one the code
/// configured, if any.
pub(crate) fn junit_dir(configured: Option<&Path>) -> Option<PathBuf> {
    std::env::var_os("BADGATEWAY_JUNIT_DIR")
        .map(Into::into)
        .or_else(|| configured.map(Path::to_path_buf))
}

/// Writes a JUnit file named after `name` in `dir`, atomically and never through a
/// link; returns its path.
pub(crate) fn write(dir: &Path, name: &str, xml: &str) -> Result<PathBuf, Error> {
    let path = anchored(dir.to_path_buf()).join(format!("{}.xml", safe_name(name)));
    write_atomically("JUnit report", &path, xml.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            super::escape("a<b>&\"c'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\\x01\n"
        );
    }
}
