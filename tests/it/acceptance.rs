//! Silent acceptance judged by what the broken value did to the result: interpreting
//! garbage into something else is a finding; never reading a field, or passing a value
//! through verbatim, is not, unless the campaign is strict.
// See: issue "verdicts a team can trust", item 3.

use std::time::Duration;

use badgateway::{Baseline, Campaign, Contract, Outcome, Report, Response};
use serde_json::Value;

fn contract() -> Contract {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["id", "amount", "status"],
        "properties": {
            "id": {"type": "string", "pattern": "^ch_[a-zA-Z0-9]+$"},
            "amount": {"type": "integer", "minimum": 1},
            "status": {"enum": ["pending", "succeeded", "failed"]}
        }
    });
    Contract::from_json_schema(schema, vec![baseline_body()], "GET", "/charge").unwrap()
}

fn baseline_body() -> Value {
    serde_json::json!({"id": "ch_1", "amount": 2500, "status": "pending"})
}

fn campaign(suite: &str) -> Campaign {
    Campaign::new(
        suite,
        Baseline::new().endpoint("GET", "/charge", Response::json(200, &baseline_body())),
    )
    .contract(contract())
    .no_fixtures()
    .cases(200)
    .deadline(Duration::from_secs(1))
}

#[derive(Debug)]
#[allow(dead_code)] // Read through `Debug`, as the harness reads every result.
enum Status {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Debug)]
#[allow(dead_code)]
struct Charge {
    id: String,
    amount: i64,
    status: Status,
}

async fn body(url: &str) -> Result<Value, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .map_err(|e| e.to_string())?;
    let response = http
        .get(format!("{url}/charge"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    // Bytes, not `text()`: reqwest's `text()` replaces invalid UTF-8 with U+FFFD, so a
    // broken id would come through changed, which the oracle rightly reports.
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Maps any status it does not know to `Succeeded`: the garbage becomes a valid value.
async fn maps_unknown_statuses(url: String) -> Result<Charge, String> {
    let v = body(&url).await?;
    let status = match v["status"].as_str() {
        Some("pending") => Status::Pending,
        Some("failed") => Status::Failed,
        _ => Status::Succeeded,
    };
    let amount = v["amount"].as_i64().ok_or("no amount")?;
    let id = v["id"].as_str().ok_or("no id")?.to_owned();
    Ok(Charge { id, amount, status })
}

/// Defaults a missing amount to 0.
async fn defaults_missing_amounts(url: String) -> Result<(String, i64), String> {
    let v = body(&url).await?;
    let id = v["id"].as_str().ok_or("no id")?.to_owned();
    Ok((id, v["amount"].as_i64().unwrap_or(0)))
}

/// Passes the id and status through to its caller unvalidated, verbatim.
async fn passes_strings_through(url: String) -> Result<(String, String, i64), String> {
    let v = body(&url).await?;
    let id = v["id"].as_str().ok_or("no id")?.to_owned();
    let status = v["status"].as_str().ok_or("no status")?.to_owned();
    let amount = v["amount"].as_i64().ok_or("no amount")?;
    Ok((id, status, amount))
}

/// Reads the amount and nothing else.
async fn reads_only_the_amount(url: String) -> Result<i64, String> {
    let v = body(&url).await?;
    v["amount"].as_i64().ok_or_else(|| "no amount".to_owned())
}

fn silent(report: &Report) -> Vec<(&str, &str, Option<&str>)> {
    report
        .findings
        .iter()
        .filter_map(|f| match &f.outcome {
            Outcome::SilentAcceptance {
                clause,
                value,
                baseline,
            } => Some((clause.as_str(), value.as_str(), baseline.as_deref())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unknown_status_mapped_to_a_valid_one_is_a_silent_acceptance_showing_both_results() {
    let report = campaign("acceptance.enum")
        .run(maps_unknown_statuses)
        .unwrap();
    let found = silent(&report);
    let (clause, value, baseline) = found
        .iter()
        .find(|(clause, _, _)| clause.starts_with("status"))
        .unwrap_or_else(|| panic!("not found: {report}"));
    assert!(value.contains("Succeeded"), "{value}");
    assert!(
        baseline.is_some_and(|b| b.contains("Pending")),
        "{clause}: {baseline:?}"
    );
    assert!(report
        .to_string()
        .contains("with only that change undone (every other response as served) it returned:"));
}

#[test]
fn a_missing_amount_defaulted_to_zero_is_a_silent_acceptance_showing_both_results() {
    let report = campaign("acceptance.amount")
        .run(defaults_missing_amounts)
        .unwrap();
    let found = silent(&report);
    let (_, value, baseline) = found
        .iter()
        .find(|(clause, _, _)| *clause == "amount: required")
        .unwrap_or_else(|| panic!("not found: {report}"));
    assert!(value.contains(", 0)"), "{value}");
    assert!(baseline.is_some_and(|b| b.contains("2500")), "{baseline:?}");
}

#[test]
fn passing_values_through_or_never_reading_them_is_no_finding_unless_strict() {
    let through = campaign("acceptance.through")
        .run(passes_strings_through)
        .unwrap();
    assert!(silent(&through).is_empty(), "{through}");
    let only = campaign("acceptance.only")
        .run(reads_only_the_amount)
        .unwrap();
    assert!(
        silent(&only)
            .iter()
            .all(|(clause, _, _)| clause.starts_with("amount")),
        "{only}"
    );
    // Strict mode reports every clause the code accepted without checking: the id it
    // passed through, and every field the amount-only client never read.
    let strict = campaign("acceptance.through")
        .strict()
        .run(passes_strings_through)
        .unwrap();
    let clauses: Vec<&str> = silent(&strict).iter().map(|(c, _, _)| *c).collect();
    assert!(clauses.iter().any(|c| c.starts_with("id")), "{strict}");
    let strict_only = campaign("acceptance.only")
        .strict()
        .run(reads_only_the_amount)
        .unwrap();
    let clauses: Vec<&str> = silent(&strict_only).iter().map(|(c, _, _)| *c).collect();
    assert!(clauses.iter().any(|c| c.starts_with("id")), "{strict_only}");
    assert!(
        clauses.iter().any(|c| c.starts_with("status")),
        "{strict_only}"
    );
}

#[test]
fn a_baseline_result_that_varies_between_runs_is_said_in_the_report() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let report = campaign("acceptance.unstable")
        .cases(16)
        .run(|url| async move {
            let amount = reads_only_the_amount(url).await?;
            // A request counter in the result: like a timestamp, it differs every run.
            Ok::<_, String>((amount, CALLS.fetch_add(1, Ordering::SeqCst)))
        })
        .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("different values for the same unmodified baseline")),
        "{report}"
    );
}
