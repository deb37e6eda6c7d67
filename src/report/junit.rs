//! A campaign's JUnit XML: a passing test case per harmless outcome class, a failing
//! one per finding.

use crate::runner::outcome::Class;
use std::fmt::Write;

use crate::store::junit::{document, TestCase};

use super::report::Report;

/// A campaign's results: a passing test case per harmless outcome class, a failing
/// one per finding, with the finding's report as the failure's text.
pub(crate) fn campaign_xml(report: &Report) -> String {
    let mut cases: Vec<TestCase> = report
        .tally
        .iter()
        .filter(|(class, _)| matches!(class, Class::Ok | Class::HandledError))
        .map(|(class, n)| TestCase {
            name: class.to_string(),
            failure: None,
            output: format!("{n} of {} cases", report.total_cases()),
        })
        .collect();
    for (i, finding) in report.findings.iter().enumerate() {
        let mut text = String::new();
        let single = Report {
            findings: vec![finding.clone()],
            ..report.clone()
        };
        let _ = write!(text, "{single}");
        cases.push(TestCase {
            name: finding.signature.clone(),
            failure: Some((
                format!(
                    "finding {} of {}: {}",
                    i + 1,
                    report.findings.len(),
                    finding.signature
                ),
                text,
            )),
            output: format!(
                "seen in {} of {} cases",
                finding.seen_in,
                report.total_cases()
            ),
        });
    }
    document(&report.suite, report.elapsed.as_secs_f64(), &cases)
}
