//! Every finding blames its cause: purpose-written clients, each a correct one that a
//! default contract campaign must leave clean at ten seeds, beside a wrong one that
//! must still be found.
// See: issue "Every finding blames its cause".

use std::time::{Duration, Instant};

use badgateway::{
    faults, Baseline, Campaign, Case, Class, Contract, ErrorKind, Mutation, Outcome, Repeat,
    Report, Response, Scenario, Step,
};
use serde_json::{json, Value};

/// A provider with a token, balances, numbered pages and payments, below the base
/// path `/v2` that its `servers` URL names.
const LEDGER: &str = r##"
openapi: 3.0.3
info: {title: Ledger, version: "2"}
servers:
  - url: https://api.ledger.example/{version}
    variables: {version: {default: v2}}
paths:
  /oauth/token:
    post:
      responses:
        "200": {description: a token, content: {application/json: {schema: {$ref: "#/components/schemas/Token"}}}}
        "401": {description: bad credentials}
  /balances/{account}:
    get:
      parameters: [{name: account, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: a balance, content: {application/json: {schema: {$ref: "#/components/schemas/Balance"}}}}
        "401": {description: the token expired}
  /items:
    get:
      parameters: [{name: page, in: query, schema: {type: integer}}]
      responses:
        "200": {description: a page, content: {application/json: {schema: {$ref: "#/components/schemas/Page"}}}}
  /payments/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: a payment, content: {application/json: {schema: {$ref: "#/components/schemas/Payment"}}}}
components:
  schemas:
    Token:
      type: object
      required: [access_token, token_type]
      properties:
        access_token: {type: string, minLength: 8}
        token_type: {type: string, enum: [bearer]}
        scope: {type: string}
        expires_in: {type: integer, minimum: 1}
    Balance:
      type: object
      required: [available]
      properties:
        available:
          type: array
          items:
            type: object
            required: [currency, amount]
            properties:
              currency: {type: string, pattern: "^[A-Z]{3}$"}
              amount: {type: integer}
    Page:
      type: object
      required: [data, has_more]
      properties:
        data:
          type: array
          items:
            type: object
            required: [id]
            properties:
              id: {type: string}
              note: {type: string}
        has_more: {type: boolean}
    Payment:
      type: object
      required: [id, status, amount]
      properties:
        id: {type: string}
        status: {type: string, enum: [succeeded, processing, failed]}
        amount: {type: integer, minimum: 1}
"##;

pub(super) fn ledger() -> Contract {
    Contract::from_str(LEDGER, "ledger.yaml").expect("the ledger contract loads")
}

pub(super) fn baseline() -> Baseline {
    let token = json!({"access_token": "tok_abcdefgh", "token_type": "bearer", "scope": "read", "expires_in": 3600});
    Baseline::new()
        .endpoint("POST", "/v2/oauth/token", Response::json(200, &token))
        .endpoint(
            "GET",
            "/v2/balances/{account}",
            Response::json(
                200,
                &json!({"available": [{"currency": "EUR", "amount": 1250000}]}),
            ),
        )
        .endpoint(
            "GET",
            "/v2/items",
            Response::json(
                200,
                &json!({"data": [{"id": "it_1", "note": "a"}, {"id": "it_2"}], "has_more": true}),
            ),
        )
        .endpoint(
            "GET",
            "/v2/items?page=2",
            Response::json(200, &json!({"data": [{"id": "it_3"}], "has_more": false})),
        )
        .endpoint(
            "GET",
            "/v2/payments/{id}",
            Response::json(
                200,
                &json!({"id": "pay_1", "status": "succeeded", "amount": 2500}),
            ),
        )
}

/// A default contract campaign (not strict) of `cases` at `seed`.
fn campaign(suite: &str, seed: u64) -> Campaign {
    Campaign::new(suite, baseline())
        .contract(ledger())
        .no_fixtures()
        .seed(seed)
        .cases(48)
        .deadline(Duration::from_millis(400))
}

/// Every finding of a campaign at each of ten seeds.
fn over_ten_seeds<F, Fut, T>(suite: &str, code: F) -> Vec<Report>
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + 'static,
    T: std::fmt::Debug + 'static,
{
    ten_seeds_of(campaign, suite, code)
}

/// Every finding of the campaign `campaign` makes at each of ten seeds.
pub(super) fn ten_seeds_of<F, Fut, T>(
    campaign: fn(&str, u64) -> Campaign,
    suite: &str,
    code: F,
) -> Vec<Report>
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + 'static,
    T: std::fmt::Debug + 'static,
{
    (1..=10)
        .map(|seed| campaign(suite, seed).run(code.clone()).unwrap())
        .collect()
}

#[track_caller]
pub(super) fn clean(reports: &[Report]) {
    for report in reports {
        assert!(report.findings.is_empty(), "{report}");
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .expect("a client")
}

/// A response's JSON body, or an error for a failed status or a body that is not JSON.
pub(super) async fn json_of(response: reqwest::Response) -> Result<(u16, Value), String> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        return Ok((status, Value::Null));
    }
    let body = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok((status, body))
}

pub(super) async fn token(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = http
        .post(format!("{url}/v2/oauth/token"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match json_of(response).await? {
        (200, body) => body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "no access token".to_owned()),
        (status, _) => Err(format!("token: status {status}")),
    }
}

/// Reads a token, then the balances with it; on a 401 it fetches a new token and
/// tries once more. `default_amount` is the planted defect: a missing amount read as 0.
async fn balances(url: String, default_amount: bool) -> Result<Vec<(String, i64)>, String> {
    let http = http();
    let mut bearer = token(&http, &url).await?;
    let mut refreshed = false;
    let body = loop {
        let response = http
            .get(format!("{url}/v2/balances/acct_1"))
            .bearer_auth(&bearer)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match json_of(response).await? {
            (200, body) => break body,
            (401, _) if !refreshed => {
                refreshed = true;
                bearer = token(&http, &url).await?;
            }
            (status, _) => return Err(format!("balances: status {status}")),
        }
    };
    let available = body["available"].as_array().ok_or("no available list")?;
    available
        .iter()
        .map(|a| {
            let currency = a["currency"].as_str().ok_or("no currency")?.to_owned();
            let amount = match a["amount"].as_i64() {
                Some(amount) => amount,
                None if default_amount => 0,
                None => return Err("no amount".to_owned()),
            };
            Ok((currency, amount))
        })
        .collect()
}

/// Counts the items of every numbered page, up to 20 pages. `lenient` is the planted
/// defect: a page without a `data` list counts as empty.
async fn count_items(url: String, lenient: bool) -> Result<usize, String> {
    let http = http();
    let mut count = 0;
    for page in 1..=20 {
        let response = http
            .get(format!("{url}/v2/items?page={page}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let (status, body) = json_of(response).await?;
        if status != 200 {
            return Err(format!("items: status {status}"));
        }
        let data = match body["data"].as_array() {
            Some(data) => data.clone(),
            None if lenient => Vec::new(),
            None => return Err("no data".into()),
        };
        for item in &data {
            item["id"].as_str().ok_or("an item without an id")?;
        }
        count += data.len();
        if !body["has_more"].as_bool().ok_or("no has_more")? {
            return Ok(count);
        }
    }
    Err("more than 20 pages".into())
}

#[derive(Debug, PartialEq)]
enum Payment {
    Paid(i64),
    Processing,
}

/// A payment's state; a documented failure is an error. `closed` is the planted
/// defect: a property it does not know is refused.
async fn payment(url: String, closed: bool) -> Result<Payment, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Exactly {
        id: String,
        status: String,
        amount: i64,
    }
    let response = http()
        .get(format!("{url}/v2/payments/pay_1"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let (status, body) = json_of(response).await?;
    if status != 200 {
        return Err(format!("payment: status {status}"));
    }
    if closed {
        serde_json::from_value::<Exactly>(body.clone()).map_err(|e| e.to_string())?;
    }
    body["id"].as_str().ok_or("no id")?;
    let amount = body["amount"]
        .as_i64()
        .filter(|a| *a >= 1)
        .ok_or("no valid amount")?;
    match body["status"].as_str() {
        Some("succeeded") => Ok(Payment::Paid(amount)),
        Some("processing") => Ok(Payment::Processing),
        Some("failed") => Err("the payment failed".into()),
        other => Err(format!("unknown status {other:?}")),
    }
}

#[test]
fn a_client_reading_two_endpoints_is_not_blamed_for_a_change_it_never_read() {
    // Conforming changes on one endpoint (an empty list, other amounts) beside broken,
    // unread fields on the other (a token's scope): none is laid at the other's door.
    // Its 401 handling (a new token, one retry) is no retried final error either.
    clean(&over_ten_seeds("causes.balances", |url| {
        balances(url, false)
    }));
}

#[test]
fn a_missing_amount_read_as_zero_is_still_a_silent_acceptance_blamed_on_the_amount() {
    let report = campaign("causes.balances.lenient", 1)
        .run(|url| balances(url, true))
        .unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.outcome.class() == Class::SilentAcceptance)
        .unwrap_or_else(|| panic!("{report}"));
    let Outcome::SilentAcceptance {
        clause,
        value,
        baseline,
    } = &finding.outcome
    else {
        unreachable!()
    };
    assert!(clause.contains("amount"), "{clause}");
    assert!(value.contains(", 0)"), "{value}");
    // The result without the change is shown beside it.
    assert!(
        baseline.as_deref().is_some_and(|b| b.contains("1250000")),
        "{baseline:?}"
    );
    // Shrinking keeps the cause and little else: the broken amount.
    assert!(finding.scenario.complexity() <= 2, "{}", report);
}

#[test]
fn a_client_that_pages_and_counts_items_is_not_blamed_for_a_valid_page() {
    clean(&over_ten_seeds("causes.pages", |url| {
        count_items(url, false)
    }));
}

#[test]
fn a_page_without_data_counted_as_empty_is_a_silent_acceptance() {
    let report = campaign("causes.pages.lenient", 1)
        .run(|url| count_items(url, true))
        .unwrap();
    assert!(
        report.findings.iter().any(|f| matches!(
            &f.outcome,
            Outcome::SilentAcceptance { clause, .. } if clause.starts_with("data")
        )),
        "{report}"
    );
}

#[test]
fn a_documented_failure_answered_with_err_is_no_false_rejection() {
    clean(&over_ten_seeds("causes.payment", |url| payment(url, false)));
}

#[test]
fn refusing_a_new_optional_property_is_a_false_rejection() {
    let report = campaign("causes.payment.closed", 1)
        .run(|url| payment(url, true))
        .unwrap();
    let rejection = report
        .findings
        .iter()
        .find(|f| f.outcome.class() == Class::FalseRejection)
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        rejection
            .outcome
            .to_string()
            .contains("unknown field `x_badgateway_added`"),
        "{}",
        rejection.outcome
    );
    // Nothing else: the documented failure it refuses is no finding.
    assert_eq!(report.findings.len(), 1, "{report}");
}

#[test]
fn a_token_refreshed_once_on_a_401_is_no_retried_final_error_but_refreshing_for_ever_is_a_storm() {
    let once = Scenario::new()
        .then(Step::baseline())
        .then(faults::status(401));
    let result = Case::new(baseline(), once)
        .run(|url| balances(url, false))
        .unwrap();
    assert_eq!(result.outcome.class(), Class::Ok, "{}", result.outcome);
    assert_eq!(result.journal.len(), 4, "{}", result.journal);

    // A client that refreshes and retries without end is bounded by max_attempts.
    let for_ever = |url: String| async move {
        let http = http();
        for _ in 0..40 {
            let bearer = token(&http, &url).await?;
            let response = http
                .get(format!("{url}/v2/balances/acct_1"))
                .bearer_auth(bearer)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() {
                return Ok(());
            }
        }
        Err("gave up".to_owned())
    };
    // The token endpoint answers, the balances keep answering 401.
    let expired = (0..40).fold(Scenario::new(), |s, _| {
        s.then(Step::baseline()).then(faults::status(401))
    });
    let result = Case::new(baseline(), expired).run(for_ever).unwrap();
    assert!(
        matches!(&result.outcome, Outcome::Misbehaviour { rule, .. } if rule.to_string() == "retry storm"),
        "{}",
        result.outcome
    );
}

#[test]
fn a_spec_with_a_base_path_in_its_servers_matches_requests_below_it() {
    // The clients above call /v2/...: not one undocumented operation in their
    // campaigns (they are clean). The contract names the operation below its base.
    let contract = ledger();
    let op = contract
        .operation("GET", "/v2/balances/acct_1?x=1")
        .unwrap();
    assert_eq!(op.path, "/balances/{account}");
    assert_eq!(
        contract.operation("GET", "/balances/acct_1").unwrap().path,
        "/balances/{account}"
    );
    assert!(contract.operation("GET", "/v2/balances/acct_1/x").is_none());
}

#[test]
fn a_baseline_path_with_a_typo_is_a_setup_error_naming_the_nearest_declared_path() {
    let typo = Baseline::new()
        .endpoint(
            "POST",
            "/v2/oauth/token",
            Response::json(
                200,
                &json!({"access_token": "tok_abcdefgh", "token_type": "bearer"}),
            ),
        )
        .endpoint(
            "GET",
            "/v2/balance/{account}",
            Response::json(200, &json!({"available": []})),
        );
    let lenient = |url: String| async move {
        let http = http();
        token(&http, &url).await?;
        http.get(format!("{url}/v2/balances/acct_1"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    };
    let error = Campaign::new("causes.typo", typo)
        .contract(ledger())
        .no_fixtures()
        .run(lenient)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Baseline);
    let message = error.to_string();
    assert!(
        message.contains("declares no response for request 2, GET /v2/balances/acct_1")
            && message.contains("the nearest declared endpoint is GET /v2/balance/{account}"),
        "{message}"
    );
}

#[test]
fn a_request_below_no_server_of_the_contract_is_a_setup_error_naming_the_servers() {
    // The baseline and the code agree on a path the contract does not document.
    let moved = Baseline::new().endpoint(
        "POST",
        "/v2/oauth/tokens",
        Response::json(
            200,
            &json!({"access_token": "tok_abcdefgh", "token_type": "bearer"}),
        ),
    );
    let error = Campaign::new("causes.servers", moved)
        .contract(ledger())
        .no_fixtures()
        .run(|url: String| async move {
            let response = http()
                .post(format!("{url}/v2/oauth/tokens"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            json_of(response).await
        })
        .map(|_| ())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Baseline);
    let message = error.to_string();
    assert!(
        message.contains(
            "is no documented operation: POST /v2/oauth/tokens matches no operation of ledger.yaml"
        ),
        "{message}"
    );
    assert!(message.contains("nearest: POST /oauth/token"), "{message}");
    assert!(
        message.contains("servers: https://api.ledger.example/{version}"),
        "{message}"
    );
}

#[test]
fn an_instant_overflow_inside_std_is_signed_at_the_clients_line() {
    let baseline = Baseline::new().endpoint(
        "GET",
        "/retry",
        Response::json(200, &json!({"retry_in": 5})),
    );
    let huge = Scenario::new().then(Step::baseline().with(Mutation::ReplaceBody {
        text: json!({"retry_in": u64::MAX}).to_string(),
    }));
    let result = Case::new(baseline, huge)
        .run(|url| async move {
            let body: Value = reqwest::get(format!("{url}/retry"))
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let seconds = body["retry_in"].as_u64().ok_or("no retry_in")?;
            let at = Instant::now() + Duration::from_secs(seconds); // the client's line
            Ok::<_, String>(at)
        })
        .unwrap();
    let Outcome::Panic { message, location } = &result.outcome else {
        panic!("{}", result.outcome)
    };
    let location = location.as_deref().unwrap_or_default();
    assert!(location.starts_with("tests/it/causes.rs:"), "{location}");
    assert!(
        message.contains("(raised inside the standard library at library/std/src/time.rs:"),
        "{message}"
    );
}

#[test]
fn bounded_retries_that_fill_the_case_limit_get_the_same_verdict_every_run() {
    // Ten attempts of 80 ms against a provider that stays stalled, 20 ms apart: about
    // the whole case limit (ten deadlines of 100 ms). A client still making requests
    // is never cut short by the limit, so it returns its error every time.
    let stalled = Scenario::new().then(faults::stall_after(0).repeat(Repeat::Always));
    let attempts = |url: String| async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(80))
            .build()
            .map_err(|e| e.to_string())?;
        for _ in 0..10 {
            if let Ok(response) = http.get(format!("{url}/retry")).send().await {
                return response.text().await.map_err(|e| e.to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("gave up after 10 attempts".to_owned())
    };
    let baseline = Baseline::new().endpoint("GET", "/retry", Response::new(200).body("ok"));
    for run in 0..5 {
        let result = Case::new(baseline.clone(), stalled.clone())
            .deadline(Duration::from_millis(100))
            .run(attempts)
            .unwrap();
        assert_eq!(
            result.outcome,
            Outcome::HandledError {
                message: "gave up after 10 attempts".into()
            },
            "run {run}: {}",
            result.journal
        );
    }
}

#[test]
fn a_finding_is_shown_through_a_whole_second_retry_after_rather_than_an_odd_form() {
    // Retries a 429 at once: every Retry-After form shows it; the plainest is shown.
    let baseline = Baseline::new().endpoint("GET", "/rates", Response::new(200).body("ok"));
    let report = Campaign::new("causes.face", baseline)
        .no_fixtures()
        .cases(32)
        .deadline(Duration::from_millis(400))
        .run(|url| async move {
            let http = http();
            for _ in 0..2 {
                let response = http
                    .get(format!("{url}/rates"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status() != 429 {
                    return response.text().await.map_err(|e| e.to_string());
                }
            }
            Err("still limited".to_owned())
        })
        .unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.signature == "ignored retry-after")
        .unwrap_or_else(|| panic!("{report}"));
    let retry_after: Vec<&str> = finding
        .scenario
        .steps
        .iter()
        .flat_map(|s| &s.mutations)
        .filter_map(|m| match m {
            Mutation::SetHeader { name, value } if name == "retry-after" => Some(value.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        !retry_after.is_empty()
            && retry_after
                .iter()
                .all(|v| v.bytes().all(|b| b.is_ascii_digit())),
        "{retry_after:?}\n{report}"
    );
}

/// Pages by number until `has_more` is false; `checks_status` is the difference
/// between a correct client and one that reads an error as a page.
async fn pages(url: String, checks_status: bool) -> Result<usize, String> {
    let http = http();
    let mut count = 0;
    for page in 1..=10 {
        let response = http
            .get(format!("{url}/v2/items?page={page}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if checks_status && !response.status().is_success() {
            return Err(format!("page {page}: status {}", response.status()));
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        count += body["data"].as_array().map_or(0, Vec::len);
        if body["has_more"] != true {
            return Ok(count);
        }
    }
    Err("too many pages".into())
}

#[test]
fn a_page_read_from_a_503_is_an_ignored_status_not_an_ignored_retry_after() {
    let unavailable = Scenario::new().then(faults::too_many_requests("1"));
    let result = Case::new(baseline(), unavailable.clone())
        .run(|url| pages(url, false))
        .unwrap();
    assert!(
        matches!(&result.outcome, Outcome::Misbehaviour { rule, .. } if rule.to_string() == "ignored status"),
        "{}",
        result.outcome
    );
    let result = Case::new(baseline(), unavailable)
        .run(|url| pages(url, true))
        .unwrap();
    assert_eq!(
        result.outcome.class(),
        Class::HandledError,
        "{}",
        result.outcome
    );
    // A retry that counts its attempts in the query asks for the same page again.
    let retried = Case::new(baseline(), Scenario::new().then(faults::status(503)))
        .run(|url| async move {
            let http = http();
            for attempt in 1..=2 {
                let response = http
                    .get(format!("{url}/v2/items?attempt={attempt}"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    return response.text().await.map_err(|e| e.to_string());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err("unavailable".to_owned())
        })
        .unwrap();
    assert_eq!(retried.outcome.class(), Class::Ok, "{}", retried.outcome);
}

#[test]
fn a_hang_after_every_answer_came_whole_is_not_merged_with_a_hang_on_a_stall() {
    let baseline = Baseline::new().endpoint("GET", "/hello", Response::new(200).body("hello"));
    // Waits on something of its own after a complete answer.
    let loops = Case::new(baseline.clone(), Scenario::new())
        .deadline(Duration::from_millis(200))
        .run(|url| async move {
            reqwest::get(format!("{url}/hello"))
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        })
        .unwrap();
    assert_eq!(
        loops.outcome.signature(),
        "hang, every response answered in full"
    );
    // Waits on a stall with no timeout.
    let stalled = Case::new(baseline, Scenario::new().then(faults::stall_after(0)))
        .deadline(Duration::from_millis(200))
        .run(|url| async move {
            reqwest::get(format!("{url}/hello"))
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())
        })
        .unwrap();
    assert_eq!(stalled.outcome.signature(), "hang");
}

/// Busy threads beside the test, ended when dropped: the load of other work.
struct Burners(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    Vec<std::thread::JoinHandle<()>>,
);

impl Burners {
    fn start(n: usize) -> Burners {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    }
                })
            })
            .collect();
        Burners(stop, threads)
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        for thread in self.1.drain(..) {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_campaign_beside_eight_burners_keeps_every_finding_it_keeps_on_an_idle_machine() {
    use payment_gateway::{naive, TEST_SECRET_KEY};
    // The naive listing client: a panic, a hang, a pagination cycle and more, at the
    // default concurrency.
    let run = || {
        Campaign::new("causes.load", crate::support::paygate_baseline())
            .no_fixtures()
            .cases(32)
            .deadline(Duration::from_millis(500))
            .run(|url| async move {
                naive::Client::new(&url, TEST_SECRET_KEY)
                    .all_charges()
                    .await
                    .map(|c| c.len())
            })
            .unwrap()
    };
    let signatures = |report: &Report| {
        let mut s: Vec<String> = report
            .findings
            .iter()
            .map(|f| f.signature.clone())
            .collect();
        s.sort();
        s
    };
    let idle = run();
    let idle_signatures = signatures(&idle);
    for wanted in ["hang", "pagination cycle"] {
        assert!(idle_signatures.iter().any(|s| s == wanted), "{idle}");
    }
    assert!(
        idle_signatures.iter().any(|s| s.starts_with("panic at")),
        "{idle}"
    );
    let busy = {
        let _burners = Burners::start(8);
        run()
    };
    assert_eq!(signatures(&busy), idle_signatures, "{busy}");
}
