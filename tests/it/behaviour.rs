//! Behaviour across the requests of a case: each rule with a purpose-written client
//! that breaks it and one that obeys it, judged by `Case::run` (as campaigns and
//! replays judge), and the stateful provider the rules read (effects and idempotency
//! keys, pages by query, the provider's own base URL).
// See: issue "reach", items 2, 5 and 6: a client that retries forever, one that pages
// forever and one that retries a POST without a key were not found.

use std::time::Duration;

use badgateway::journal::Effect;
use badgateway::{
    faults, Baseline, Campaign, Case, CaseResult, Class, Outcome, Repeat, Response, Rule, Rules,
    Scenario, Step, Transport,
};
use serde_json::{json, Value};

const SEEDS: [u64; 10] = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];

/// A small payments API: a charge POST with an effect, a cursor-paged list (page 2
/// declared by its query), and a list paged by `next` links to the provider itself.
fn payments() -> Baseline {
    Baseline::new()
        .effect(
            "POST",
            "/v1/charges",
            Response::json(200, &json!({"id": "ch_1", "amount": 500})),
        )
        .endpoint(
            "GET",
            "/v1/charges",
            Response::json(
                200,
                &json!({"data": [{"id": "ch_1"}, {"id": "ch_2"}], "has_more": true}),
            ),
        )
        .endpoint(
            "GET",
            "/v1/charges?starting_after=ch_2",
            Response::json(200, &json!({"data": [{"id": "ch_3"}], "has_more": false})),
        )
        .endpoint(
            "GET",
            "/v1/events",
            Response::json(
                200,
                &json!({"data": [1, 2], "next": "{{base_url}}/v1/events?page=2"}),
            )
            .header("link", "<{{base_url}}/v1/events?page=2>; rel=\"next\""),
        )
        .endpoint(
            "GET",
            "/v1/events?page=2",
            Response::json(200, &json!({"data": [3], "next": null})),
        )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// One attempt at creating a charge: its status, or the transport error.
async fn post_charge(url: &str, key: Option<&str>) -> Result<u16, String> {
    let mut request = http()
        .post(format!("{url}/v1/charges"))
        .json(&json!({"amount": 500, "currency": "eur"}));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok(status)
}

/// How a charge client keys its retries.
#[derive(Clone, Copy)]
enum Keys {
    /// The same key on every attempt: what payment APIs ask for.
    Same,
    /// A new key per attempt.
    New,
    /// No key at all.
    None,
}

/// Creates a charge in at most 3 attempts, 20 ms apart, keyed as told.
async fn create_charge(url: String, keys: Keys) -> Result<u16, String> {
    let mut last = String::new();
    for attempt in 1..=3 {
        let key = match keys {
            Keys::Same => Some("order-7".to_owned()),
            Keys::New => Some(format!("order-7-{attempt}")),
            Keys::None => None,
        };
        match post_charge(&url, key.as_deref()).await {
            Ok(status) if status < 300 => return Ok(status),
            Ok(status) if status == 429 || status >= 500 => last = format!("status {status}"),
            Ok(status) => return Err(format!("declined: {status}")),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("gave up: {last}"))
}

/// `GET /hello`, retried on any failure: `attempts` in all (`None`: for ever), `pause`
/// apart; `Retry-After` honoured up to `honour` when given.
async fn get_retrying(
    url: String,
    attempts: Option<u32>,
    pause: Duration,
    honour: Option<Duration>,
) -> Result<u32, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = http().get(format!("{url}/hello")).send().await;
        let asked = match &response {
            Ok(r) if r.status().is_success() => return Ok(attempt),
            Ok(r) => r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after),
            Err(_) => None,
        };
        if attempts.is_some_and(|n| attempt >= n) {
            return Err(format!("gave up after {attempt} attempts"));
        }
        match (asked, honour) {
            (Some(asked), Some(cap)) if asked > cap => return Err("asked to wait too long".into()),
            (Some(asked), Some(_)) => tokio::time::sleep(asked).await,
            _ => tokio::time::sleep(pause).await,
        }
    }
}

/// `Retry-After` as seconds (decimals too) or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// A GET's JSON body.
async fn get_json(url: impl reqwest::IntoUrl) -> Result<Value, String> {
    http()
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

fn hello() -> Baseline {
    crate::support::hello_baseline()
}

fn run<F, Fut, T>(baseline: Baseline, scenario: Scenario, rules: Rules, code: F) -> CaseResult
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + 'static,
    T: std::fmt::Debug + 'static,
{
    Case::new(baseline, scenario)
        .deadline(Duration::from_millis(500))
        .rules(rules)
        .run(code)
        .unwrap()
}

/// The rule a result broke, with its message; `None` when it broke none.
fn broken(result: &CaseResult) -> Option<(Rule, String)> {
    match &result.outcome {
        Outcome::Misbehaviour { rule, what, .. } => Some((*rule, what.clone())),
        _ => None,
    }
}

fn effects(result: &CaseResult) -> Vec<Option<Effect>> {
    effects_of(&result.journal)
}

fn effects_of(journal: &badgateway::Journal) -> Vec<Option<Effect>> {
    journal.requests.iter().map(|r| r.effect).collect()
}

#[test]
fn a_retry_under_a_new_key_or_no_key_after_the_effect_is_a_double_charge_and_the_same_key_is_replayed(
) {
    let lost = || Scenario::new().then(faults::reset_peer_after(0).after_effect());
    let same = run(payments(), lost(), Rules::default(), |url| {
        create_charge(url, Keys::Same)
    });
    assert_eq!(same.outcome.class(), Class::Ok, "{:?}", same.outcome);
    assert_eq!(
        effects(&same),
        [Some(Effect::Performed), Some(Effect::Replayed)]
    );
    for keys in [Keys::New, Keys::None] {
        let twice = run(payments(), lost(), Rules::default(), move |url| {
            create_charge(url, keys)
        });
        assert_eq!(
            effects(&twice),
            [Some(Effect::Performed), Some(Effect::Performed)]
        );
        let (rule, what) = broken(&twice).expect("a double charge");
        assert_eq!(rule, Rule::DuplicateEffect);
        assert!(what.starts_with("requests 1 and 2 each performed the effect of POST /v1/charges with the same body: request 1 was answered with a reset after 0 bytes after the effect"), "{what}");
    }
    // A fault before the effect performs nothing: retrying it under a new key charges
    // once.
    let before = run(
        payments(),
        Scenario::new().then(faults::status(503)),
        Rules::default(),
        |url| create_charge(url, Keys::New),
    );
    assert_eq!(before.outcome.class(), Class::Ok, "{:?}", before.outcome);
    assert_eq!(
        effects(&before),
        [Some(Effect::NotPerformed), Some(Effect::Performed)]
    );
}

#[test]
fn retrying_for_ever_is_a_storm_stopped_early_and_a_bounded_retry_is_not() {
    let down = || Scenario::new().then(faults::status(503).repeat(Repeat::Always));
    let started = std::time::Instant::now();
    let storm = run(hello(), down(), Rules::default(), |url| {
        get_retrying(url, None, Duration::ZERO, None)
    });
    let (rule, what) = broken(&storm).expect("a storm");
    assert_eq!(rule, Rule::Storm);
    assert!(
        what.starts_with("request 11 was attempt 11 at GET /hello: more than 10 attempts"),
        "{what}"
    );
    // The provider stopped the case once the storm was plain, long before its limit
    // of ten deadlines (5 s): it does not wait for the end of requests without end.
    assert!(storm.journal.len() > 100, "{}", storm.journal.len());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let bounded = run(hello(), down(), Rules::default(), |url| {
        get_retrying(url, Some(3), Duration::from_millis(20), None)
    });
    assert_eq!(
        bounded.outcome.class(),
        Class::HandledError,
        "{:?}",
        bounded.outcome
    );
    // The bound is the user's to set.
    let strict = run(hello(), down(), Rules::default().max_attempts(2), |url| {
        get_retrying(url, Some(3), Duration::from_millis(20), None)
    });
    assert_eq!(broken(&strict).map(|b| b.0), Some(Rule::Storm));
}

#[test]
fn retries_back_to_back_break_the_backoff_rule_and_spaced_ones_do_not() {
    let three = || Scenario::new().then(faults::status(503).repeat(Repeat::Times(3)));
    // A shortest backoff far above what a busy machine adds to a round trip: a
    // verdict that must not change with load is tested where load cannot reach it.
    let rules = || Rules::default().min_backoff(Duration::from_millis(250));
    let hasty = run(hello(), three(), rules(), |url| {
        get_retrying(url, Some(4), Duration::ZERO, None)
    });
    let (rule, what) = broken(&hasty).expect("no backoff");
    assert_eq!(rule, Rule::Backoff);
    assert_eq!(
        what,
        "requests 2, 3 retried GET /hello each less than 250ms (Rules::min_backoff) after the attempt before: retries back to back"
    );
    let spaced = run(hello(), three(), rules(), |url| {
        get_retrying(url, Some(4), Duration::from_millis(300), None)
    });
    assert_eq!(spaced.outcome.class(), Class::Ok, "{:?}", spaced.outcome);
    // Coming back at once when `Retry-After` says so (a date in the past) is obeying.
    let told = Scenario::new()
        .then(faults::too_many_requests("Wed, 21 Oct 2015 07:28:00 GMT").repeat(Repeat::Times(3)));
    let obedient = run(hello(), told, Rules::default(), |url| {
        get_retrying(url, Some(4), Duration::ZERO, Some(Duration::from_secs(1)))
    });
    assert_eq!(
        obedient.outcome.class(),
        Class::Ok,
        "{:?}",
        obedient.outcome
    );
    let lax = run(
        hello(),
        three(),
        Rules::default().without(Rule::Backoff),
        |url| get_retrying(url, Some(4), Duration::ZERO, None),
    );
    assert_eq!(lax.outcome.class(), Class::Ok);
}

#[test]
fn retry_after_is_honoured_in_every_valid_form_and_ignoring_it_is_a_finding() {
    // A date two seconds from when it is served, made afresh for each case.
    let value = |form: &str| match form {
        "date" => httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2)),
        seconds => seconds.to_owned(),
    };
    for form in ["1", "0.3", "date"] {
        let honoured = run(
            hello(),
            Scenario::new().then(faults::too_many_requests(&value(form))),
            Rules::default(),
            |url| get_retrying(url, Some(3), Duration::ZERO, Some(Duration::from_secs(3))),
        );
        assert_eq!(
            honoured.outcome.class(),
            Class::Ok,
            "{form}: {:?}",
            honoured.outcome
        );
        let asked = value(form);
        let ignored = run(
            hello(),
            Scenario::new().then(faults::too_many_requests(&asked)),
            Rules::default(),
            |url| get_retrying(url, Some(3), Duration::from_millis(20), None),
        );
        let (rule, what) =
            broken(&ignored).unwrap_or_else(|| panic!("{form}: {:?}", ignored.outcome));
        assert_eq!(rule, Rule::IgnoredRetryAfter, "{form}");
        assert_eq!(
            what,
            format!(
                "request 1 was asked to wait (retry-after: {asked}) and request 2 came before that"
            )
        );
    }
}

#[test]
fn waiting_a_day_because_a_header_said_so_is_an_unbounded_wait_and_giving_up_is_not() {
    let a_day = || {
        Scenario::new().then(faults::status(503).with(badgateway::Mutation::SetHeader {
            name: "retry-after".into(),
            value: "86400".into(),
        }))
    };
    let rules = || Rules::default().retry_after_cap(Duration::from_millis(300));
    let patient = run(hello(), a_day(), rules(), |url| {
        get_retrying(
            url,
            Some(3),
            Duration::ZERO,
            Some(Duration::from_secs(100_000)),
        )
    });
    let (rule, what) = broken(&patient).expect("an unbounded wait");
    assert_eq!(rule, Rule::UnboundedWait);
    assert_eq!(
        what,
        "request 1 was answered 503 with retry-after: 86400, and the code sent nothing more and did not return for longer than 300ms (Rules::retry_after_cap): it waits as long as the provider says"
    );
    let capped = run(hello(), a_day(), rules(), |url| {
        get_retrying(
            url,
            Some(3),
            Duration::ZERO,
            Some(Duration::from_millis(200)),
        )
    });
    assert_eq!(
        capped.outcome.class(),
        Class::HandledError,
        "{:?}",
        capped.outcome
    );
}

#[test]
fn retrying_a_final_error_is_a_finding_and_retrying_a_5xx_is_not() {
    let declined = || Scenario::new().then(faults::status(402));
    let stubborn = run(hello(), declined(), Rules::default(), |url| {
        get_retrying(url, Some(3), Duration::from_millis(20), None)
    });
    let (rule, what) = broken(&stubborn).expect("a retried final error");
    assert_eq!(rule, Rule::RetriedFinalError);
    assert_eq!(
        what,
        "request 2 retried GET /hello after request 1 was answered 402, which is final (Rules::final_statuses): the same request fails the same way"
    );
    let unavailable = run(
        hello(),
        Scenario::new().then(faults::status(503)),
        Rules::default(),
        |url| get_retrying(url, Some(3), Duration::from_millis(20), None),
    );
    assert_eq!(unavailable.outcome.class(), Class::Ok);
    let own_list = run(
        hello(),
        declined(),
        Rules::default().final_statuses(&[400]),
        |url| get_retrying(url, Some(3), Duration::from_millis(20), None),
    );
    assert_eq!(own_list.outcome.class(), Class::Ok);
}

/// Every charge, following `starting_after` while `has_more`; when `careful`, a
/// cursor seen before, or none, is refused.
async fn list_charges(url: String, careful: bool) -> Result<usize, String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1_000 {
        let mut target = format!("{url}/v1/charges?limit=2");
        if let Some(after) = &cursor {
            target.push_str(&format!("&starting_after={after}"));
        }
        let page: Value = get_json(target).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        let next = data
            .last()
            .and_then(|c| c["id"].as_str())
            .map(str::to_owned);
        all.extend(data);
        if page["has_more"] != json!(true) {
            return Ok(all.len());
        }
        if careful && !next.as_ref().is_some_and(|n| seen.insert(n.clone())) {
            return Err("the listing does not end: its cursor repeats".into());
        }
        cursor = next;
    }
    Err("more than 1,000 pages".into())
}

/// Every event, by page number (`?page=N`) while the page holds a `next`, at most
/// `max_pages` pages.
async fn list_events(url: String, max_pages: usize) -> Result<usize, String> {
    let mut target = format!("{url}/v1/events");
    let mut seen = 0;
    for page_number in 2.. {
        let page: Value = get_json(&target).await?;
        seen += page["data"].as_array().map_or(0, Vec::len);
        if page["next"].is_null() {
            return Ok(seen);
        }
        if page_number > max_pages {
            return Err("too many pages".into());
        }
        target = format!("{url}/v1/events?page={page_number}");
    }
    unreachable!()
}

#[test]
fn pages_declared_by_query_and_next_links_to_the_provider_itself_are_served() {
    let charges = run(payments(), Scenario::new(), Rules::default(), |url| {
        list_charges(url, true)
    });
    assert_eq!(charges.outcome, Outcome::Ok { value: "3".into() });
    let events = run(
        payments(),
        Scenario::new(),
        Rules::default(),
        |url| async move {
            let first: Value = get_json(format!("{url}/v1/events")).await?;
            let next = first["next"].as_str().unwrap_or_default().to_owned();
            let second: Value = get_json(&next).await?;
            Ok((next.starts_with(&url), second["data"].clone()))
        },
    );
    assert_eq!(
        events.outcome,
        Outcome::Ok {
            value: "(true, Array [Number(3)])".into()
        }
    );
    let served = String::from_utf8_lossy(&events.journal.requests[0].served).into_owned();
    assert!(served.contains("link: <http://127.0.0.1:"), "{served}");
    assert!(!served.contains("{{base_url}}"), "{served}");
}

/// A scenario whose every response from the first on holds this JSON at `path`.
fn for_good(path: &str, json: &str) -> Scenario {
    Scenario::new().then(
        Step::baseline()
            .with(badgateway::Mutation::Json {
                path: path.into(),
                change: badgateway::JsonChange::ReplaceWith { json: json.into() },
            })
            .repeat(Repeat::Always),
    )
}

#[test]
fn a_repeating_cursor_is_a_pagination_cycle_and_a_client_that_refuses_it_is_fine() {
    let more = || for_good("has_more", "true");
    let follower = run(payments(), more(), Rules::default(), |url| {
        list_charges(url, false)
    });
    let (rule, what) = broken(&follower).expect("a cycle");
    assert_eq!(rule, Rule::PaginationCycle);
    assert_eq!(
        what,
        "request 4 asked for the page request 2 had already been served (GET /v1/charges?limit=2&starting_after=ch_2): the cursor repeats, so the listing never ends"
    );
    let careful = run(payments(), more(), Rules::default(), |url| {
        list_charges(url, true)
    });
    assert_eq!(
        careful.outcome.class(),
        Class::HandledError,
        "{:?}",
        careful.outcome
    );
}

#[test]
fn pages_without_end_are_unbounded_pagination_and_a_bounded_listing_is_not() {
    let endless = || for_good("next", "\"more\"");
    let follower = run(payments(), endless(), Rules::default(), |url| {
        list_events(url, usize::MAX)
    });
    let (rule, what) = broken(&follower).expect("unbounded");
    assert_eq!(rule, Rule::UnboundedPagination);
    assert!(
        what.contains("more than 100 pages (Rules::max_pages) of one listing"),
        "{what}"
    );
    let bounded = run(payments(), endless(), Rules::default(), |url| {
        list_events(url, 20)
    });
    assert_eq!(
        bounded.outcome.class(),
        Class::HandledError,
        "{:?}",
        bounded.outcome
    );
}

/// A campaign with default settings but few random cases: what it finds, the coverage
/// phase found, so it is found with every seed.
fn default_campaign(suite: &str, seed: u64) -> Campaign {
    Campaign::new(suite, payments())
        .seed(seed)
        .cases(8)
        .deadline(Duration::from_millis(500))
        .no_fixtures()
}

#[test]
fn a_client_that_retries_for_ever_is_a_storm_with_every_seed() {
    for seed in SEEDS {
        let report = default_campaign("behaviour.storm", seed)
            .run(|url| async move {
                let mut attempts = 0u32;
                loop {
                    attempts += 1;
                    if let Ok(r) = http().get(format!("{url}/v1/charges")).send().await {
                        if r.status().is_success() {
                            return Ok::<_, String>(attempts);
                        }
                    }
                }
            })
            .unwrap();
        assert!(
            report.findings.iter().any(|f| f.signature == "retry storm"),
            "seed {seed}: {report}"
        );
    }
}

#[test]
fn a_client_that_pages_for_ever_is_found_with_every_seed() {
    for seed in SEEDS {
        let report = default_campaign("behaviour.pages", seed)
            .run(|url| list_charges(url, false))
            .unwrap();
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.signature == "pagination cycle"),
            "seed {seed}: {report}"
        );
    }
}

#[test]
fn a_client_that_retries_a_post_without_a_key_double_charges_with_every_seed() {
    for seed in SEEDS {
        let report = default_campaign("behaviour.double", seed)
            .run(|url| create_charge(url, Keys::None))
            .unwrap();
        let double = report
            .findings
            .iter()
            .find(|f| f.signature == "duplicate effect")
            .unwrap_or_else(|| panic!("seed {seed}: {report}"));
        // Shrunk to a fault after the effect (a 5xx, a reset or a stall after it, or a
        // 200 dripped past the client's timeout), then a retry.
        assert_eq!(double.scenario.steps.len(), 1, "{report}");
        assert!(!double.scenario.steps[0].is_baseline(), "{report}");
        assert_eq!(double.journal.len(), 2, "{report}");
        assert_eq!(effects_of(&double.journal), [Some(Effect::Performed); 2]);
    }
    // The same client keyed right charges once, whatever the campaign sends (it
    // still ignores Retry-After, another finding).
    let report = default_campaign("behaviour.double", 1)
        .run(|url| create_charge(url, Keys::Same))
        .unwrap();
    let signatures: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.signature.as_str())
        .collect();
    assert_eq!(signatures, ["ignored retry-after"], "{report}");
}

#[test]
fn a_stall_after_the_effect_is_kept_apart_from_a_stall_before_it() {
    let stalled = Scenario::new().then(
        Step::baseline()
            .sent(Transport::Timeout { after_bytes: 0 })
            .after_effect(),
    );
    let result = run(payments(), stalled, Rules::default(), |url| {
        create_charge(url, Keys::Same)
    });
    assert_eq!(result.outcome.class(), Class::Ok, "{:?}", result.outcome);
    assert_eq!(effects(&result)[0], Some(Effect::Performed));
    assert_eq!(effects(&result)[1], Some(Effect::Replayed));
}

#[test]
fn the_contract_marks_which_errors_are_final() {
    let contract = badgateway::Contract::from_str(
        r#"
openapi: 3.0.3
info: {title: hello, version: "1"}
paths:
  /hello:
    get:
      responses:
        "200": {description: ok}
        "409": {description: a conflict that will not resolve itself, x-badgateway-final: true}
        "402": {description: declined for now, x-badgateway-final: false}
"#,
        "final.yaml",
    )
    .unwrap();
    let results = Campaign::new("behaviour.final", hello())
        .contract(contract)
        .no_fixtures()
        .run_scenarios(
            vec![
                Scenario::new().then(faults::status(409)),
                Scenario::new().then(faults::status(402)),
            ],
            |url| get_retrying(url, Some(3), Duration::from_millis(20), None),
        )
        .unwrap();
    let (rule, what) = broken(&results[0]).expect("409 is final by the contract");
    assert_eq!(rule, Rule::RetriedFinalError);
    assert!(what.ends_with("which is final (the contract marks it x-badgateway-final): the same request fails the same way"), "{what}");
    assert_eq!(
        results[1].outcome.class(),
        Class::Ok,
        "{:?}",
        results[1].outcome
    );
}

#[test]
fn two_charges_after_a_clean_success_are_two_calls_not_a_double_charge() {
    let result = run(
        payments(),
        Scenario::new(),
        Rules::default(),
        |url| async move {
            let first = post_charge(&url, None).await?;
            let second = post_charge(&url, None).await?;
            Ok::<_, String>((first, second))
        },
    );
    assert_eq!(
        effects(&result),
        [Some(Effect::Performed), Some(Effect::Performed)]
    );
    assert_eq!(result.outcome.class(), Class::Ok, "{:?}", result.outcome);
}
