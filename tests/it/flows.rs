//! Flows across operations: a token then the call, an operation polled until it is
//! done. Purpose-written clients, each wrong one found by a default contract campaign
//! at ten seeds, beside a correct one that must stay clean.
// See: issue "Flows: a provider that plays a whole integration".

use std::time::Duration;

use badgateway::{Campaign, Class, Outcome, Report, Rule, Rules};

use super::causes::{baseline, clean, json_of, ledger, ten_seeds_of, token};

/// A default contract campaign over the ledger at `seed`. A flow's verdict rests on
/// many requests in a row: the client's timeout (500 ms) leaves room for a busy
/// machine, and the deadline is past it, so a stall is the client's timeout and no
/// hang. The coverage phase finds every flow below; a few random cases ride along.
fn campaign(suite: &str, seed: u64) -> Campaign {
    over(baseline(), suite, seed)
}

/// [`campaign`]'s settings over another baseline of the ledger.
fn over(baseline: badgateway::Baseline, suite: &str, seed: u64) -> Campaign {
    Campaign::new(suite, baseline)
        .contract(ledger())
        .no_fixtures()
        .seed(seed)
        .cases(8)
        .deadline(Duration::from_secs(1))
}

fn over_ten_seeds<F, Fut, T>(suite: &str, code: F) -> Vec<Report>
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + 'static,
    T: std::fmt::Debug + 'static,
{
    ten_seeds_of(campaign, suite, code)
}

/// The status and JSON body a GET of `url` answers.
async fn get(http: &reqwest::Client, url: String) -> Result<(u16, serde_json::Value), String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    json_of(response).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("a client")
}

/// Reads the balances with a token; on every 401 it fetches a new token and tries
/// again, up to `refreshes` times (`None`: without end).
async fn balances_refreshing(url: String, refreshes: Option<usize>) -> Result<usize, String> {
    let http = http();
    let mut bearer = token(&http, &url).await?;
    let mut done = 0;
    loop {
        let response = http
            .get(format!("{url}/v2/balances/acct_1"))
            .bearer_auth(&bearer)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match json_of(response).await? {
            (200, body) => {
                let available = body["available"].as_array().ok_or("no available list")?;
                return Ok(available.len());
            }
            (401, _) if refreshes.is_none_or(|n| done < n) => {
                done += 1;
                bearer = token(&http, &url).await?;
            }
            (status, _) => return Err(format!("balances: status {status}")),
        }
    }
}

/// The misbehaviour each report found, with its rule.
fn rules_found(report: &Report) -> Vec<Rule> {
    report
        .findings
        .iter()
        .filter_map(|f| match f.outcome {
            Outcome::Misbehaviour { rule, .. } => Some(rule),
            _ => None,
        })
        .collect()
}

#[track_caller]
fn found_at_every_seed(reports: &[Report], rule: Rule, what: &str) {
    for report in reports {
        let finding = report
            .findings
            .iter()
            .find(|f| matches!(f.outcome, Outcome::Misbehaviour { rule: r, .. } if r == rule))
            .unwrap_or_else(|| panic!("no {rule} in {:?}: {report}", rules_found(report)));
        assert_eq!(finding.outcome.class(), Class::Misbehaviour);
        let text = format!(
            "{:?} {}",
            finding.outcome,
            serde_json::to_string(&finding.scenario).unwrap()
        );
        assert!(text.contains(what), "{text}");
    }
}

#[test]
fn a_client_refreshing_its_token_without_end_is_a_storm_while_the_token_endpoint_answers() {
    let reports = over_ten_seeds("flows.refresh.forever", |url| {
        balances_refreshing(url, None)
    });
    // The API held at 401 while the token endpoint keeps answering: found by the
    // coverage phase, so at every seed.
    found_at_every_seed(
        &reports,
        Rule::Storm,
        "\"at\":\"GET /v2/balances/{account}\"",
    );
}

#[test]
fn a_client_refreshing_its_token_once_is_clean_in_every_flow() {
    clean(&over_ten_seeds("flows.refresh.once", |url| {
        balances_refreshing(url, Some(1))
    }));
}

/// Polls a payment until it is no longer `processing`: at most `max_polls` times
/// (`None`: without end), `pause` apart. Still processing at the bound is an error.
async fn settled(url: String, max_polls: Option<usize>, pause: Duration) -> Result<String, String> {
    let http = http();
    let mut polls = 0;
    loop {
        let (status, body) = get(&http, format!("{url}/v2/payments/pay_1")).await?;
        if status != 200 {
            return Err(format!("payment: status {status}"));
        }
        match body["status"].as_str() {
            Some("processing") if max_polls.is_none_or(|n| polls < n) => {
                polls += 1;
                tokio::time::sleep(pause).await;
            }
            Some("processing") => return Err("still processing".into()),
            Some("succeeded") => return Ok("paid".into()),
            Some("failed") => return Err("the payment failed".into()),
            other => return Err(format!("unknown status {other:?}")),
        }
    }
}

#[test]
fn polling_without_a_cap_is_unbounded_polling() {
    let reports = over_ten_seeds("flows.poll.forever", |url| {
        settled(url, None, Duration::from_millis(2))
    });
    found_at_every_seed(&reports, Rule::UnboundedPolling, "processing");
}

#[test]
fn polling_back_to_back_is_found_even_with_a_cap() {
    // A shortest pause far above what a busy machine adds to a round trip (as
    // `behaviour::retries_back_to_back_...` does): a verdict that must not change with
    // load is tested where load cannot reach it. At the default 10 ms, eight CPU
    // burners beside the suite can space the polls out, which hides the finding.
    let hasty = |suite: &str, seed: u64| {
        campaign(suite, seed).rules(Rules::default().min_poll_interval(Duration::from_millis(250)))
    };
    let reports = ten_seeds_of(hasty, "flows.poll.hasty", |url| {
        settled(url, Some(8), Duration::ZERO)
    });
    found_at_every_seed(&reports, Rule::HastyPolling, "polling back to back");
}

#[test]
fn polling_with_a_pause_and_a_bound_is_clean() {
    clean(&over_ten_seeds("flows.poll.bounded", |url| {
        settled(url, Some(8), Duration::from_millis(15))
    }));
}

#[test]
fn a_held_step_answers_only_its_operation_and_the_journal_says_which() {
    use badgateway::{faults, Case, Repeat, Route, Scenario};
    let api = Route::new("GET", "/v2/balances/{account}");
    let scenario = Scenario::new().then(faults::status(401).at(api).repeat(Repeat::Times(2)));
    let result = Case::new(baseline(), scenario)
        .run(|url| balances_refreshing(url, Some(5)))
        .unwrap();
    let answered: Vec<(String, u16, Option<usize>)> = result
        .journal
        .requests
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.target),
                r.status(),
                r.answered_by,
            )
        })
        .collect();
    let token = "POST /v2/oauth/token".to_owned();
    let balances = "GET /v2/balances/acct_1".to_owned();
    assert_eq!(
        answered,
        [
            (token.clone(), 200, None),
            (balances.clone(), 401, Some(0)),
            (token.clone(), 200, None),
            (balances.clone(), 401, Some(0)),
            (token, 200, None),
            (balances, 200, None),
        ]
    );
    assert_eq!(result.outcome, Outcome::Ok { value: "1".into() });
}

/// A campaign whose waits are cut short: a client still waiting 300 ms after a
/// response asked it to wait longer is an unbounded wait, found in well under a
/// second (the default cap, 5 s, only makes the same finding slower).
fn rate_limited(suite: &str, seed: u64) -> Campaign {
    campaign(suite, seed)
        .deadline(Duration::from_millis(600))
        .rules(Rules::default().retry_after_cap(Duration::from_millis(300)))
}

/// How long a response's `X-RateLimit-Reset` (epoch seconds) is from now, when its
/// `X-RateLimit-Remaining` says nothing remains.
fn reset_in(response: &reqwest::Response) -> Option<Duration> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)?
            .to_str()
            .ok()?
            .parse::<u64>()
            .ok()
    };
    if header("x-ratelimit-remaining")? != 0 {
        return None;
    }
    let reset = std::time::UNIX_EPOCH + Duration::from_secs(header("x-ratelimit-reset")?);
    Some(
        reset
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Reads a payment twice, minding the rate limit: when nothing remains it sleeps
/// until the reset, for as long as that is (`cap`: `None`), or gives up past `cap`.
async fn payments_minding_limits(url: String, cap: Option<Duration>) -> Result<usize, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("a client");
    let mut read = 0;
    for _ in 0..2 {
        let response = http
            .get(format!("{url}/v2/payments/pay_1"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let wait = reset_in(&response);
        let (status, body) = json_of(response).await?;
        if let Some(wait) = wait {
            if cap.is_some_and(|cap| wait > cap) {
                return Err(format!("rate limited for {wait:?}"));
            }
            tokio::time::sleep(wait).await;
        }
        if status != 200 {
            return Err(format!("payment: status {status}"));
        }
        body["id"].as_str().ok_or("no id")?;
        read += 1;
    }
    Ok(read)
}

#[test]
fn sleeping_until_an_uncapped_rate_limit_reset_is_an_unbounded_wait_naming_the_header() {
    for seed in 1..=10 {
        let report = rate_limited("flows.ratelimit.uncapped", seed)
            .run(|url| payments_minding_limits(url, None))
            .unwrap();
        found_at_every_seed(
            &[report],
            Rule::UnboundedWait,
            "x-ratelimit-remaining: 0, x-ratelimit-reset: ",
        );
    }
}

#[test]
fn a_capped_wait_for_a_rate_limit_reset_is_clean() {
    for seed in 1..=10 {
        let report = rate_limited("flows.ratelimit.capped", seed)
            .run(|url| payments_minding_limits(url, Some(Duration::from_millis(250))))
            .unwrap();
        clean(&[report]);
    }
}

/// How deep a JSON text nests, read by recursive descent: one call per level, with
/// no limit (`None`) or up to `limit` levels.
fn depth(
    bytes: &[u8],
    at: &mut usize,
    limit: Option<usize>,
    level: usize,
) -> Result<usize, String> {
    if limit.is_some_and(|limit| level > limit) {
        return Err(format!("nested deeper than {level}"));
    }
    let mut deepest = level;
    while *at < bytes.len() {
        let b = bytes[*at];
        *at += 1;
        match b {
            b'[' | b'{' => deepest = deepest.max(depth(bytes, at, limit, level + 1)?),
            b']' | b'}' => return Ok(deepest),
            b'"' => {
                while *at < bytes.len() && bytes[*at] != b'"' {
                    *at += if bytes[*at] == b'\\' { 2 } else { 1 };
                }
                *at += 1;
            }
            _ => {}
        }
    }
    Ok(deepest)
}

/// Reads a payment and walks its body by recursive descent before trusting it.
async fn payment_walked(url: String, limit: Option<usize>) -> Result<usize, String> {
    let response = http()
        .get(format!("{url}/v2/payments/pay_1"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("payment: status {status}"));
    }
    let deepest = depth(&bytes, &mut 0, limit, 0)?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    body["id"].as_str().ok_or("no id")?;
    Ok(deepest)
}

#[test]
fn recursion_over_deep_json_is_a_crash_in_a_default_campaign() {
    let reports = over_ten_seeds("flows.deep.unbounded", |url| payment_walked(url, None));
    for report in &reports {
        let crash = report
            .findings
            .iter()
            .find(|f| f.outcome.class() == Class::Crash)
            .unwrap_or_else(|| panic!("no crash: {report}"));
        let served = serde_json::to_string(&crash.scenario).unwrap();
        assert!(served.contains("deep_nesting"), "{served}");
    }
}

#[test]
fn recursion_with_a_depth_limit_is_clean() {
    clean(&over_ten_seeds("flows.deep.limited", |url| {
        payment_walked(url, Some(64))
    }));
}

/// The ledger with its items paged by number: pages 1 to 3 hold items, every page
/// past the last is empty, whatever its number (one line, not a page each).
fn paged_baseline() -> badgateway::Baseline {
    use badgateway::{Baseline, Response};
    use serde_json::json;
    Baseline::new().numbered_pages(
        "GET",
        "/v2/items",
        "page",
        3,
        Response::json(
            200,
            &json!({"data": [{"id": "it_{{query.page}}a"}, {"id": "it_{{query.page}}b"}], "has_more": true, "total_pages": 3}),
        ),
        Response::json(200, &json!({"data": [], "has_more": false, "total_pages": 3})),
    )
}

/// Counts the items of every numbered page: until an empty page (`reads_total`:
/// false), or up to the total the first page gives, never past 50.
async fn count_pages(url: String, reads_total: bool) -> Result<usize, String> {
    let http = http();
    let mut count = 0;
    let mut last = u64::MAX;
    let mut page = 1;
    while page <= last {
        let (status, body) = get(&http, format!("{url}/v2/items?page={page}")).await?;
        if status != 200 {
            return Err(format!("items: status {status}"));
        }
        let data = body["data"].as_array().ok_or("no data")?;
        if data.is_empty() && !reads_total {
            return Ok(count);
        }
        count += data.len();
        if reads_total && page == 1 {
            let total = body["total_pages"].as_u64().ok_or("no total")?;
            if total > 50 {
                return Err(format!("{total} pages: more than this client reads"));
            }
            last = total;
        }
        page += 1;
    }
    Ok(count)
}

fn paged(suite: &str, seed: u64) -> Campaign {
    over(paged_baseline(), suite, seed)
}

#[test]
fn paging_until_an_empty_page_is_unbounded_when_every_page_has_items() {
    for seed in 1..=10 {
        let report = paged("flows.pages.until_empty", seed)
            .run(|url| count_pages(url, false))
            .unwrap();
        found_at_every_seed(&[report], Rule::UnboundedPagination, "GET /v2/items");
    }
}

#[test]
fn paging_up_to_the_total_is_clean() {
    for seed in 1..=10 {
        let report = paged("flows.pages.total", seed)
            .run(|url| count_pages(url, true))
            .unwrap();
        clean(&[report]);
    }
}

#[test]
fn a_request_no_declared_response_matches_judges_nothing_and_is_named_in_a_warning() {
    // The baseline declares pages 1 and 2 only: `has_more` held `true` sends the
    // client to page 3, which the provider answers with its own 404. The client's error
    // there is no false rejection, and the report says which request it was.
    use badgateway::{Baseline, Response};
    use serde_json::json;
    let page = |n: u32, more: bool| {
        Response::json(
            200,
            &json!({"data": [{"id": format!("it_{n}")}], "has_more": more}),
        )
    };
    let two_pages = Baseline::new()
        .endpoint("GET", "/v2/items?page=1", page(1, true))
        .endpoint("GET", "/v2/items?page=2", page(2, false));
    let report = Campaign::new("flows.pages.undeclared", two_pages)
        .contract(ledger())
        .no_fixtures()
        .cases(8)
        .deadline(Duration::from_secs(1))
        .run(count_pages_by_flag)
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("no declared response matches"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(warning.contains("GET /v2/items?page=3"), "{warning}");
    assert!(warning.contains("Baseline::numbered_pages"), "{warning}");
}

/// Pages on while `has_more` says so; a 404 is an error.
async fn count_pages_by_flag(url: String) -> Result<usize, String> {
    let http = http();
    let mut count = 0;
    for page in 1..=10 {
        let (status, body) = get(&http, format!("{url}/v2/items?page={page}")).await?;
        if status != 200 {
            return Err(format!("items: status {status}"));
        }
        count += body["data"].as_array().ok_or("no data")?.len();
        if !body["has_more"].as_bool().ok_or("no has_more")? {
            return Ok(count);
        }
    }
    Err("more than 10 pages".into())
}

#[test]
fn an_error_after_the_providers_own_404_is_no_false_rejection() {
    use badgateway::{Baseline, Case, Expectation, Mutation, Response, Scenario, Step};
    use serde_json::json;
    // Page 1 is served written another way (it means the same: a client must accept
    // it) and says there is more; page 2 is declared nowhere, so the client's error
    // comes of the provider's own 404, not of the page it was owed to accept.
    let baseline = Baseline::new().endpoint(
        "GET",
        "/v2/items?page=1",
        Response::json(200, &json!({"data": [{"id": "it_1"}], "has_more": true})),
    );
    let respaced = Step {
        mutations: vec![Mutation::ReplaceBody {
            text: r#"{ "data": [ {"id": "it_1"} ], "has_more": true }"#.into(),
        }],
        expect: Some(Expectation::Accept),
        ..Step::default()
    };
    let result = Case::new(baseline, Scenario::new().then(respaced))
        .run(count_pages_by_flag)
        .unwrap();
    assert!(result.journal.requests[1].undeclared);
    assert_eq!(
        result.outcome,
        Outcome::HandledError {
            message: "items: status 404".into()
        }
    );
}

/// Two pages linked by `next` (a link to the provider itself), the last one's `null`.
fn linked_pages() -> badgateway::Baseline {
    use badgateway::{Baseline, Response};
    use serde_json::json;
    Baseline::new()
        .endpoint(
            "GET",
            "/v2/items",
            Response::json(200, &json!({"data": [{"id": "it_1"}], "has_more": true, "next": "{{base_url}}/v2/items?after=it_1"})),
        )
        .endpoint(
            "GET",
            "/v2/items?after=it_1",
            Response::json(200, &json!({"data": [{"id": "it_2"}], "has_more": false, "next": null})),
        )
}

/// Follows `next` until it is `null`; `wary` stops with an error on a link it has
/// already followed.
async fn follow_next(url: String, wary: bool) -> Result<usize, String> {
    let http = http();
    let mut count = 0;
    let mut seen = std::collections::HashSet::new();
    let mut link = format!("{url}/v2/items");
    loop {
        if wary && !seen.insert(link.clone()) {
            return Err(format!("the provider linked back to {link}"));
        }
        let (status, body) = get(&http, link).await?;
        if status != 200 {
            return Err(format!("items: status {status}"));
        }
        count += body["data"].as_array().ok_or("no data")?.len();
        match body["next"].as_str() {
            Some(next) => link = next.to_owned(),
            None => return Ok(count),
        }
    }
}

fn linked(suite: &str, seed: u64) -> Campaign {
    over(linked_pages(), suite, seed)
}

#[test]
fn following_a_next_link_that_points_back_is_a_pagination_cycle() {
    let reports = ten_seeds_of(linked, "flows.next.blind", |url| follow_next(url, false));
    found_at_every_seed(&reports, Rule::PaginationCycle, "GET /v2/items?after=it_1");
}

#[test]
fn a_client_that_refuses_a_link_it_followed_is_clean() {
    clean(&ten_seeds_of(linked, "flows.next.wary", |url| {
        follow_next(url, true)
    }));
}
