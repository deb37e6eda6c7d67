//! Campaign throughput against a bare loopback round trip, measured in the same run.
//!
//! ```text
//! cargo bench --bench throughput
//! ```
//!
//! Machines here are shared and noisy, so every figure is reported next to a baseline
//! measured in the same process, as a ratio:
//!
//! 1. **bare**: a trivial reqwest client (a new client per call, `GET /hello`, read the
//!    body) against a plain responder that writes a fixed response, N calls at the
//!    campaign's concurrency;
//! 2. **harness**: the same client through `Campaign::run_scenarios` with N pass-through
//!    scenarios: a provider, a thread and a runtime per case, journal and classification;
//! 3. **campaign**: a whole generated campaign of N cases against the same client with a
//!    100 ms timeout (hostile waits are cut by that timeout, so this is the rate a
//!    robust client sees);
//! 4. **overlap**: 64 cases of which 16 stall forever, client without timeout, 1 s
//!    deadline: the sum of the deadlines would be 16 s;
//! 5. **behaviour**: the coverage phase's size and wall time on the bundled example, and
//!    a `Retry-After`-heavy campaign against its hardened client;
//! 6. **fuzzing**: one execution at a time, as libFuzzer runs them: the bare round trip
//!    one call at a time, against `badgateway::fuzz::run` on the empty input (the
//!    pass-through case) and on 1,000 fixed inputs decoded into faults;
//! 7. **cost** (`-- cost` alone): per-case cost side by side in one run, in process
//!    against the bare round trip and against wiremock (one `MockServer` per slot,
//!    reset and remounted per case), at concurrency 32 and one case at a time; and
//!    isolated (worker processes, the default) against in process, with the bundled
//!    example's wall time both ways. The isolated runs come first: a worker runs this
//!    program again up to the campaign it serves.
//! 8. **webhooks** (`-- webhooks` alone): 256 signed deliveries to the example's
//!    hardened handler, bare (reqwest posts to one handler) against
//!    `Campaign::run_handler_scenarios` (a handler started per case, the delivery
//!    journaled and settled), in process; and the example's whole webhook campaign
//!    (coverage phase and 256 generated cases) against both handlers, in process and
//!    isolated.

use std::time::{Duration, Instant};

use badgateway::{faults, Baseline, Campaign, Class, Response, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CASES: usize = 400;
const CONCURRENCY: usize = 32;

fn baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/hello",
        Response::new(200)
            .header("content-type", "text/plain")
            .body("hello"),
    )
}

async fn trivial_client(url: String, timeout: Option<Duration>) -> Result<String, reqwest::Error> {
    let mut builder = reqwest::Client::builder();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder
        .build()?
        .get(format!("{url}/hello"))
        .send()
        .await?
        .text()
        .await
}

/// A plain responder: reads a request head, writes a fixed response, closes.
async fn plain_responder() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
                    .await;
            });
        }
    });
    url
}

fn bare_rate() -> f64 {
    bare_rate_at(CONCURRENCY, CASES)
}

/// The bare round trip, `concurrency` calls at a time: calls/s.
fn bare_rate_at(concurrency: usize, cases: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = plain_responder().await;
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..cases {
            let (url, semaphore) = (url.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _slot = semaphore.acquire_owned().await.unwrap();
                trivial_client(url, None).await.unwrap()
            });
        }
        while let Some(done) = tasks.join_next().await {
            assert_eq!(done.unwrap(), "hello");
        }
        cases as f64 / started.elapsed().as_secs_f64()
    })
}

/// The bare round trip one call at a time, from a runtime of its own (as a case's
/// code runs): calls/s.
fn bare_sequential(calls: usize) -> f64 {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = server.block_on(plain_responder());
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..calls {
        assert_eq!(
            client.block_on(trivial_client(url.clone(), None)).unwrap(),
            "hello"
        );
    }
    calls as f64 / started.elapsed().as_secs_f64()
}

/// wiremock one case at a time: the server reset and the mock mounted again, then the
/// same client: calls/s.
fn wiremock_sequential(calls: usize) -> f64 {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client.block_on(async {
        let server = MockServer::start().await;
        let started = Instant::now();
        for _ in 0..calls {
            server.reset().await;
            Mock::given(method("GET"))
                .and(path("/hello"))
                .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
                .mount(&server)
                .await;
            assert_eq!(trivial_client(server.uri(), None).await.unwrap(), "hello");
        }
        calls as f64 / started.elapsed().as_secs_f64()
    })
}

/// wiremock as a harness: one `MockServer` per slot, reset and the mock mounted again
/// for every case, then the same client: calls/s.
fn wiremock_rate(concurrency: usize, cases: usize) -> f64 {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut servers = Vec::new();
        for _ in 0..concurrency {
            servers.push(MockServer::start().await);
        }
        let servers = std::sync::Arc::new(std::sync::Mutex::new(servers));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
        for _ in 0..cases {
            let (servers, semaphore) = (servers.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _slot = semaphore.acquire_owned().await.unwrap();
                let server = servers.lock().unwrap().pop().unwrap();
                server.reset().await;
                Mock::given(method("GET"))
                    .and(path("/hello"))
                    .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
                    .mount(&server)
                    .await;
                let body = trivial_client(server.uri(), None).await.unwrap();
                servers.lock().unwrap().push(server);
                body
            });
        }
        while let Some(done) = tasks.join_next().await {
            assert_eq!(done.unwrap(), "hello");
        }
        cases as f64 / started.elapsed().as_secs_f64()
    })
}

/// Pass-through cases through `Campaign::run_scenarios`, `concurrency` at a time, in
/// worker processes or in this one: cases/s (a worker's start included).
fn pass_through_rate(concurrency: usize, cases: usize, isolated: bool) -> f64 {
    let campaign = Campaign::new("bench.harness", baseline()).concurrency(concurrency);
    let campaign = if isolated {
        campaign.isolated()
    } else {
        campaign.in_process()
    };
    let started = Instant::now();
    let results = campaign
        .run_scenarios(vec![Scenario::new(); cases], |url| {
            trivial_client(url, None)
        })
        .unwrap();
    let elapsed = started.elapsed();
    assert!(results.iter().all(|r| r.outcome.class() == Class::Ok));
    cases as f64 / elapsed.as_secs_f64()
}

fn harness_rate() -> f64 {
    pass_through_rate(CONCURRENCY, CASES, false)
}

/// Cases in one isolated campaign for the cost section.
const ISOLATED_CASES: usize = 2_000;

/// What isolation costs, measured first (a worker runs this program again up to the
/// campaign it serves, so nothing heavy may come before): pass-through cases/s at the
/// campaign's concurrency, best of 3, and the bundled example's wall time.
struct Isolated {
    rate: f64,
    example: Vec<(String, Duration)>,
}

fn isolated_first(example: bool) -> Isolated {
    let rate = (0..3)
        .map(|_| pass_through_rate(CONCURRENCY, ISOLATED_CASES, true))
        .fold(0.0, f64::max);
    let example = if example {
        example_campaigns(true)
    } else {
        Vec::new()
    };
    Isolated { rate, example }
}

/// Per-case cost side by side in one run: in process against a bare round trip and
/// against wiremock reset and remounted per case, at the campaign's concurrency and one
/// case at a time; isolated against in process. Alternating rounds, median ratio.
fn cost(isolated: &Isolated) {
    const ONE_AT_A_TIME: usize = 300;
    let _ = (
        bare_sequential(50),
        pass_through_rate(1, 50, false),
        wiremock_sequential(50),
    );
    let median = |mut ratios: Vec<f64>| {
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    let mut at_32 = (Vec::new(), Vec::new(), Vec::new());
    let mut at_1 = (Vec::new(), Vec::new(), Vec::new());
    let mut in_process = Vec::new();
    for _ in 0..5 {
        let bare = bare_rate_at(CONCURRENCY, CASES);
        let ours = pass_through_rate(CONCURRENCY, CASES, false);
        let wiremock = wiremock_rate(CONCURRENCY, CASES);
        at_32.0.push(bare / ours);
        at_32.1.push(bare / wiremock);
        at_32.2.push(ours);
        in_process.push(pass_through_rate(CONCURRENCY, ISOLATED_CASES, false));
        let bare = bare_sequential(ONE_AT_A_TIME);
        let ours = pass_through_rate(1, ONE_AT_A_TIME, false);
        let wiremock = wiremock_sequential(ONE_AT_A_TIME);
        at_1.0.push(bare / ours);
        at_1.1.push(bare / wiremock);
        at_1.2.push(1e6 / ours);
    }
    let in_process = in_process.into_iter().fold(0.0, f64::max);
    println!("  cost per case, side by side (median of 5 alternating rounds):");
    println!(
        "    concurrency {CONCURRENCY}: in process {:.2}x a bare round trip; wiremock reset and remounted per case {:.2}x",
        median(at_32.0),
        median(at_32.1)
    );
    println!(
        "    one at a time:  in process {:.2}x a bare round trip ({:.0} µs a case); wiremock {:.2}x",
        median(at_1.0),
        median(at_1.2),
        median(at_1.1)
    );
    println!(
        "    isolated: {:.0} cases/s against {in_process:.0} in process at concurrency {CONCURRENCY} ({ISOLATED_CASES} cases, best of 3 each, the workers' start included): {:.2}x the cost per case",
        isolated.rate,
        in_process / isolated.rate
    );
    if !isolated.example.is_empty() {
        let in_process = example_campaigns(false);
        for ((suite, isolated), (_, in_process)) in isolated.example.iter().zip(in_process) {
            println!(
                "    example `{suite}`: {:.1} s isolated, {:.1} s in process ({:.2}x)",
                isolated.as_secs_f64(),
                in_process.as_secs_f64(),
                isolated.as_secs_f64() / in_process.as_secs_f64()
            );
        }
    }
}

fn campaign_rate() -> (f64, String) {
    let report = Campaign::new("bench.campaign", baseline())
        .in_process()
        .no_fixtures()
        .cases(CASES as u32)
        .concurrency(CONCURRENCY)
        .deadline(Duration::from_secs(2))
        .run(|url| trivial_client(url, Some(Duration::from_millis(100))))
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
    let tally: Vec<String> = report
        .tally
        .iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    (
        CASES as f64 / report.elapsed.as_secs_f64(),
        tally.join(", "),
    )
}

fn overlap() -> (Duration, usize) {
    let scenarios: Vec<Scenario> = (0..64)
        .map(|i| {
            if i % 4 == 0 {
                Scenario::new().then(faults::stall_after(0))
            } else {
                Scenario::new()
            }
        })
        .collect();
    let started = Instant::now();
    let results = Campaign::new("bench.overlap", baseline())
        .in_process()
        .deadline(Duration::from_secs(1))
        .run_scenarios(scenarios, |url| trivial_client(url, None))
        .unwrap();
    let hangs = results
        .iter()
        .filter(|r| r.outcome.class() == Class::Hang)
        .count();
    (started.elapsed(), hangs)
}

/// A spec as large as real published ones: Paygate's components behind `n` paths of
/// four operations each.
fn large_spec(paths: usize) -> String {
    let paygate = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/contracts/paygate.yaml"
    ))
    .unwrap();
    let mut doc: serde_json::Value = serde_norway::from_str(&paygate).unwrap();
    let template = doc["paths"]["/v1/charges"].clone();
    let item = doc["paths"]["/v1/charges/{id}"].clone();
    let all = doc["paths"].as_object_mut().unwrap();
    for i in 0..paths {
        all.insert(format!("/v1/resource_{i}"), template.clone());
        all.insert(format!("/v1/resource_{i}/{{id}}"), item.clone());
    }
    serde_json::to_string(&doc).unwrap()
}

/// Loading and generation figures for contracts.
fn contracts() {
    use badgateway::{conformance, Contract};
    use proptest::strategy::{Strategy, ValueTree};
    let text = large_spec(150);
    let started = Instant::now();
    let contract = Contract::from_str(&text, "large.json").unwrap();
    let load = started.elapsed();
    let operations = contract.operations().len();
    let schema = "/components/schemas/ChargeList";
    let strategy = conformance::conforming(&contract, schema);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let started = Instant::now();
    let mut bytes = 0;
    let n = 2_000;
    for _ in 0..n {
        bytes += strategy
            .new_tree(&mut runner)
            .unwrap()
            .current()
            .to_string()
            .len();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let sample = strategy.new_tree(&mut runner).unwrap().current();
    let started = Instant::now();
    assert!(contract.validate(schema, &sample).is_ok());
    let first_validation = started.elapsed();
    let started = Instant::now();
    let breaking = conformance::breaking(&contract, schema, &sample);
    let breaking_time = started.elapsed();
    println!(
        "  contract: {operations} operations ({} KiB of JSON) loaded in {:.1} ms, first validation (compiles the schema) {:.1} ms;\n    {rate:.0} conforming ChargeList bodies/s (mean {} bytes); {} breaking changes of one body found in {:.1} ms",
        text.len() / 1024,
        load.as_secs_f64() * 1e3,
        first_validation.as_secs_f64() * 1e3,
        bytes / n,
        breaking.len(),
        breaking_time.as_secs_f64() * 1e3
    );
}

/// Where 1,000 generated cases under the Paygate contract break it.
fn distribution() {
    use badgateway::strategies::{scenarios_under_contract, Catalog, Plan};
    use badgateway::{Contract, Expectation};
    use proptest::strategy::{Strategy, ValueTree};
    let contract = payment_gateway::UNREAD_FIELDS.iter().fold(
        Contract::from_file(payment_gateway::CONTRACT_PATH).unwrap(),
        |c, f| c.ignoring(f),
    );
    let contract = std::sync::Arc::new(contract);
    let plan = Plan::new(&contract, "/components/schemas/ChargeList", paygate_list()).unwrap();
    let strategy = scenarios_under_contract(&Catalog::default(), &contract, &[Some(plan)], 3);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut paths, mut keywords) = (
        std::collections::BTreeMap::new(),
        std::collections::BTreeMap::new(),
    );
    let (mut steps, mut accept, mut hostile) = (0, 0, 0);
    for _ in 0..1000 {
        for step in strategy.new_tree(&mut runner).unwrap().current().steps {
            steps += 1;
            match step.expect {
                Some(Expectation::Reject { clause }) => {
                    let (path, keyword) = clause.split_once(": ").unwrap();
                    let mut general = String::new();
                    let mut in_index = false;
                    for c in path.chars() {
                        in_index = (in_index || c == '[') && c != ']';
                        if !(in_index && c.is_ascii_digit()) {
                            general.push(c);
                        }
                    }
                    *paths.entry(general).or_insert(0) += 1;
                    *keywords.entry(keyword.to_owned()).or_insert(0) += 1;
                }
                Some(Expectation::Accept | Expectation::Conform) => accept += 1,
                None => hostile += 1,
            }
        }
    }
    let breaking: usize = keywords.values().sum();
    println!("  1,000 cases under the Paygate contract: {steps} steps: {breaking} break a clause, {accept} conform, {hostile} hostile");
    println!("    paths: {paths:?}");
    println!("    clauses: {keywords:?}");
}

/// Resident memory of this process, from `/proc/self/status`, in MB (0 elsewhere).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The published specs in `../shared/specs/` (their fixture files left out), or `None`
/// (said) when there are none beside this checkout.
fn real_spec_paths() -> Option<Vec<std::path::PathBuf>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs");
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("  real specs: none found in {dir}");
        return None;
    };
    let mut specs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().contains("fixtures")
        })
        .collect();
    specs.sort();
    Some(specs)
}

/// Validators of real provider specs (`../shared/specs/`, where present): the cost
/// of compiling one response schema's validator, in time and resident memory.
fn real_spec_validators() {
    let Some(specs) = real_spec_paths() else {
        return;
    };
    for path in specs {
        let Ok(contract) = badgateway::Contract::from_file(&path) else {
            continue;
        };
        let pointers: std::collections::BTreeSet<String> = contract
            .operations()
            .iter()
            .filter_map(|o| o.success().and_then(|(_, r)| r.schema.clone()))
            .take(20)
            .collect();
        let before = rss_mb();
        let started = Instant::now();
        for pointer in &pointers {
            let _ = contract.validate(pointer, &serde_json::json!({}));
        }
        let n = pointers.len().max(1) as f64;
        println!(
            "  validators of {}: {:.1} ms and {:+.1} MB resident per response schema ({} schemas)",
            path.file_name().unwrap_or_default().to_string_lossy(),
            started.elapsed().as_secs_f64() * 1e3 / n,
            (rss_mb() - before) / n,
            pointers.len()
        );
    }
}

fn paygate_list() -> Response {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/paygate.json"
    );
    let baseline = Baseline::from_file(file).unwrap();
    baseline.declared("GET", "/v1/charges").unwrap().clone()
}

/// The bundled example's campaigns, coverage phase only: its size and wall time, per
/// client; and a campaign of nothing but 429s and 503s with every `Retry-After` form,
/// once, three times and for good, against the hardened client.
fn behaviour() {
    use payment_gateway::{hardened, naive, TEST_SECRET_KEY};
    let example = || {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/baselines/paygate.json"
        );
        let contract = payment_gateway::UNREAD_FIELDS.iter().fold(
            badgateway::Contract::from_file(payment_gateway::CONTRACT_PATH).unwrap(),
            |c, field| c.ignoring(field),
        );
        Campaign::new("bench.coverage", Baseline::from_file(file).unwrap())
            .in_process()
            .contract(contract)
            .no_fixtures()
            .cases(0)
            .strict()
    };
    let quick = || hardened::Config::quick(Duration::from_millis(250));
    let naive = example()
        .run(|url| async move {
            naive::Client::new(&url, TEST_SECRET_KEY)
                .create_charge(2500, "eur", "o")
                .await
        })
        .unwrap();
    let sturdy = example()
        .run(move |url| async move {
            hardened::Client::new(&url, TEST_SECRET_KEY, quick())
                .create_charge(2500, "eur", "o")
                .await
        })
        .unwrap();
    println!(
        "  coverage phase, create_charge: {} single faults; naive {:.2} s with {} findings (shrinking and confirming included), hardened {:.2} s",
        naive.coverage,
        naive.elapsed.as_secs_f64(),
        naive.findings.len(),
        sturdy.elapsed.as_secs_f64()
    );
    let forms = [
        "1",
        "0.5",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "-1",
        "86400",
        "soon",
        "",
    ];
    let mut scenarios = Vec::new();
    for status in [429, 503] {
        for form in forms {
            for repeat in [
                badgateway::Repeat::Once,
                badgateway::Repeat::Times(3),
                badgateway::Repeat::Always,
            ] {
                let mut step = faults::status(status).repeat(repeat);
                if !form.is_empty() {
                    step = step.with(badgateway::Mutation::SetHeader {
                        name: "retry-after".into(),
                        value: form.into(),
                    });
                }
                scenarios.push(Scenario::new().then(step));
            }
        }
    }
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/paygate.json"
    );
    let started = Instant::now();
    let results = Campaign::new("bench.retry_after", Baseline::from_file(file).unwrap())
        .in_process()
        .no_fixtures()
        .run_scenarios(scenarios.clone(), move |url| async move {
            hardened::Client::new(&url, TEST_SECRET_KEY, quick())
                .create_charge(2500, "eur", "o")
                .await
        })
        .unwrap();
    let findings = results.iter().filter(|r| r.outcome.is_finding()).count();
    println!(
        "  Retry-After-heavy campaign, hardened client: {} cases in {:.2} s, {findings} findings",
        scenarios.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Sequential rates, as libFuzzer runs: bare calls, `fuzz::run` on the empty input,
/// and `fuzz::run` on fixed decoded inputs (against the same client with a 50 ms
/// timeout, so a stalled input costs its timeout and no more).
fn fuzz_rates() {
    const RUNS: usize = 2_000;
    let bare = bare_sequential;
    let campaign = Campaign::new("bench.fuzz", baseline())
        .deadline(Duration::from_millis(100))
        .no_fixtures();
    let code = |url| trivial_client(url, Some(Duration::from_millis(50)));
    let passing = |runs: usize| {
        let started = Instant::now();
        for _ in 0..runs {
            badgateway::fuzz::run(&[], &campaign, code);
        }
        runs as f64 / started.elapsed().as_secs_f64()
    };
    let _ = (bare(200), passing(200));
    let mut rounds: Vec<(f64, f64)> = (0..3).map(|_| (bare(RUNS), passing(RUNS))).collect();
    rounds.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let (bare_rate, pass_rate) = rounds[1];
    // Fixed pseudo-random inputs of 8 bytes: every kind of step, decoded as libFuzzer's
    // would be.
    let inputs: Vec<Vec<u8>> = (0..1_000_u64)
        .map(|i| {
            (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995)
                .to_le_bytes()
                .to_vec()
        })
        .collect();
    let started = Instant::now();
    for input in &inputs {
        badgateway::fuzz::run(input, &campaign, code);
    }
    let mixed = inputs.len() as f64 / started.elapsed().as_secs_f64();
    println!("  fuzzing, one execution at a time (as libFuzzer runs):");
    println!("    bare round trip        {bare_rate:7.0} calls/s");
    println!(
        "    fuzz::run, empty input {pass_rate:7.0} exec/s   ratio {:.2}x the bare round trip's time",
        bare_rate / pass_rate
    );
    println!("    fuzz::run, 1,000 decoded inputs {mixed:5.0} exec/s   (faults, stalls cut by the client's 50 ms timeout)");
}

/// A 64-case campaign judged by Stripe's published spec, on `GET /v1/payment_intents/{id}`
/// and `GET /v1/charges/{id}`, with Stripe's own fixture objects as baselines: time to
/// the first case (contract loaded, probe and generation included) and to the end.
fn stripe_campaign() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs");
    let (Ok(spec), Ok(fixtures)) = (
        std::fs::read_to_string(format!("{dir}/stripe-spec3.json")),
        std::fs::read_to_string(format!("{dir}/stripe-fixtures3.json")),
    ) else {
        println!("  stripe campaign: the spec is not in {dir}");
        return;
    };
    let fixtures: serde_json::Value = serde_json::from_str(&fixtures).unwrap();
    let object = |name: &str| fixtures["resources"][name].clone();
    let baseline = Baseline::new()
        .endpoint(
            "GET",
            "/v1/payment_intents/{id}",
            Response::json(200, &object("payment_intent")),
        )
        .endpoint(
            "GET",
            "/v1/charges/{id}",
            Response::json(200, &object("charge")),
        );
    let started = Instant::now();
    let contract = badgateway::Contract::from_str(&spec, "stripe-spec3.json").unwrap();
    let loaded = started.elapsed();
    for name in ["payment_intent", "charge"] {
        use proptest::strategy::{Strategy, ValueTree};
        let built = Instant::now();
        let strategy =
            badgateway::conformance::conforming(&contract, &format!("/components/schemas/{name}"));
        let build = built.elapsed();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let drawn = Instant::now();
        for _ in 0..10 {
            let _ = strategy.new_tree(&mut runner).unwrap().current();
        }
        println!(
            "  stripe {name}: conforming generator built in {:.0} ms, 10 values in {:.0} ms",
            build.as_secs_f64() * 1e3,
            drawn.elapsed().as_secs_f64() * 1e3
        );
    }
    let targets = vec![
        "/v1/payment_intents/pi_1".to_owned(),
        "/v1/charges/ch_1".to_owned(),
    ];
    let (first, report) = timed_campaign(baseline, contract, targets);
    println!(
        "  stripe campaign (spec loaded in {:.2} s): first generated case {:.2} s after the campaign began, {} cases in {:.2} s in all, {} findings",
        loaded.as_secs_f64(),
        first.as_secs_f64(),
        report.total_cases(),
        started.elapsed().as_secs_f64(),
        report.findings.len()
    );
}

/// A 64-case campaign judged by `contract` against a client that GETs every target
/// and reads its JSON: the time from the call to its first generated case (the probe
/// runs the code twice; the third call is the first generated case), and the report.
fn timed_campaign(
    baseline: Baseline,
    contract: badgateway::Contract,
    targets: Vec<String>,
) -> (Duration, badgateway::Report) {
    let started = Instant::now();
    let first = std::sync::Arc::new(std::sync::OnceLock::<Duration>::new());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = first.clone();
    let report = Campaign::new("bench.real", baseline)
        .in_process()
        .contract(contract)
        .cases(64)
        .deadline(Duration::from_millis(500))
        .no_fixtures()
        .run(move |url| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                let _ = seen.set(started.elapsed());
            }
            let targets = targets.clone();
            async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_millis(200))
                    .build()?;
                let mut ids = Vec::new();
                for target in targets {
                    let v = client
                        .get(format!("{url}{target}"))
                        .send()
                        .await?
                        .json::<serde_json::Value>()
                        .await?;
                    ids.push(v.get("id").cloned());
                }
                Ok::<_, reqwest::Error>(ids)
            }
        })
        .unwrap();
    (first.get().copied().unwrap_or_default(), report)
}

/// Cases finished in each second of a scale run.
static PER_SECOND: [std::sync::atomic::AtomicU32; 1024] =
    [const { std::sync::atomic::AtomicU32::new(0) }; 1024];

/// In a child process (`scale-child N`): a generated hostile campaign of N cases against the
/// trivial client with a 100 ms timeout; prints one line of figures for the parent.
fn scale_child(cases: u32) {
    let started = Instant::now();
    let report = Campaign::new("bench.scale", baseline())
        .in_process()
        .no_fixtures()
        .coverage(false)
        .cases(cases)
        .concurrency(CONCURRENCY)
        .deadline(Duration::from_millis(500))
        .run(move |url| async move {
            let done = trivial_client(url, Some(Duration::from_millis(100))).await;
            let second = (started.elapsed().as_secs() as usize).min(PER_SECOND.len() - 1);
            PER_SECOND[second].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            done
        })
        .unwrap();
    let elapsed = report.elapsed.as_secs_f64();
    let seconds = (elapsed as usize).min(PER_SECOND.len());
    let count = |range: std::ops::Range<usize>| -> f64 {
        range
            .map(|s| f64::from(PER_SECOND[s].load(std::sync::atomic::Ordering::Relaxed)))
            .sum()
    };
    // The first and last whole windows of up to 10 s (or a third of the run).
    let window = (seconds / 3).clamp(1, 10);
    let (first, last) = if seconds >= 2 * window {
        (
            count(0..window) / window as f64,
            count(seconds - window..seconds) / window as f64,
        )
    } else {
        (0.0, 0.0)
    };
    let slowest = (0..seconds.saturating_sub(window).max(1))
        .map(|s| count(s..(s + window).min(seconds)) / window as f64)
        .fold(f64::INFINITY, f64::min);
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0);
    println!(
        "{} {elapsed:.2} {first:.0} {last:.0} {slowest:.0} {peak:.1} {}",
        report.total_cases(),
        report.findings.len()
    );
}

/// Cases/s and peak memory of hostile campaigns of 1k, 10k and 100k cases, each in a
/// process of its own (`BADGATEWAY_SCALE_MAX` caps the series), with the throughput of
/// the first and last seconds of the run.
fn scale() {
    let max: u32 = std::env::var("BADGATEWAY_SCALE_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("  scale: hostile generated campaigns, concurrency {CONCURRENCY}, each in a process of its own");
    let mut peaks = Vec::new();
    for cases in [1_000_u32, 10_000, 100_000]
        .into_iter()
        .filter(|&n| n <= max)
    {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["scale-child", &cases.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [total, elapsed, first, last, slowest, peak, findings] = fields[..] else {
            println!("    {cases} cases: the child printed {text:?}");
            continue;
        };
        let held = if first > 0.0 {
            format!(
                ", first window {first:.0}/s, last {last:.0}/s ({:.0} %), slowest {slowest:.0}/s ({:.0} %)",
                100.0 * last / first,
                100.0 * slowest / first
            )
        } else {
            String::new()
        };
        println!(
            "    {total:>7.0} cases: {:6.0} cases/s{held}, peak memory {peak:.0} MB, {findings:.0} findings",
            total / elapsed
        );
        peaks.push((total, peak));
    }
    if let [.., (n1, m1), (n2, m2)] = peaks[..] {
        println!(
            "    memory slope: {:.2} KB per case ({:.2}x from {n1:.0} to {n2:.0} cases)",
            (m2 - m1) * 1024.0 / (n2 - n1),
            m2 / m1
        );
    }
}

/// The bundled example's naive campaigns, as `cargo run --example campaign` runs them
/// (strict, 200 cases, 2 s deadline), without keeping fixtures, in worker processes or
/// in this one: each one's report.
fn example_reports(isolated: bool) -> Vec<badgateway::Report> {
    use payment_gateway::{naive, TEST_SECRET_KEY};
    let contract = || {
        payment_gateway::UNREAD_FIELDS.iter().fold(
            badgateway::Contract::from_file(payment_gateway::CONTRACT_PATH).unwrap(),
            |c, field| c.ignoring(field),
        )
    };
    let campaign = |suite: &str| {
        let campaign = Campaign::new(
            suite,
            Baseline::from_file(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/baselines/paygate.json"
            ))
            .unwrap(),
        )
        .contract(contract())
        .strict()
        .cases(200)
        .deadline(Duration::from_secs(2))
        .no_fixtures();
        if isolated {
            campaign.isolated()
        } else {
            campaign.in_process()
        }
    };
    let create = campaign("paygate.create_charge")
        .run(|url| async move {
            naive::Client::new(&url, TEST_SECRET_KEY)
                .create_charge(2500, "eur", "ord_1042")
                .await
        })
        .unwrap();
    let list = campaign("paygate.all_charges")
        .run(|url| async move {
            naive::Client::new(&url, TEST_SECRET_KEY)
                .all_charges()
                .await
                .map(|c| c.len())
        })
        .unwrap();
    vec![create, list]
}

/// The example's campaigns' wall times.
fn example_campaigns(isolated: bool) -> Vec<(String, Duration)> {
    example_reports(isolated)
        .into_iter()
        .map(|r| (r.suite, r.elapsed))
        .collect()
}

/// The example's campaigns in process: wall time and the part spent shrinking.
fn example_shrinking() {
    for report in example_reports(false) {
        println!(
            "  example `{}`: {} findings in {:.1} s, of which shrinking {:.1} s",
            report.suite,
            report.findings.len(),
            report.elapsed.as_secs_f64(),
            report.shrinking.as_secs_f64()
        );
    }
}

/// Every real spec in `../shared/specs/`: for up to 3 of its `GET` operations with a
/// JSON success schema, the share of conforming values the validator accepts (200
/// each), and a 64-case campaign judged by the spec whose baseline is one generated
/// body: time to its first generated case and cases/s.
/// This process's peak resident memory, in MiB.
fn high_water_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib >> 10
}

/// In a process of its own: loads a spec, then validates a value against every
/// response schema of every operation, and prints the peak memory after each.
fn validators_child(path: &str) {
    let Ok(contract) = badgateway::Contract::from_file(path) else {
        return; // not an OpenAPI document (Stripe's fixtures file): nothing to say
    };
    let loaded = high_water_mib();
    let mut schemas = 0;
    for operation in contract.operations() {
        for response in &operation.responses {
            if let Some(schema) = &response.schema {
                let _ = contract.validate(schema, &serde_json::json!({}));
                schemas += 1;
            }
        }
    }
    println!("{schemas} {loaded} {}", high_water_mib());
}

fn real_specs() {
    use proptest::strategy::{Strategy, ValueTree};
    let Some(specs) = real_spec_paths() else {
        return;
    };
    for path in specs {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("validators-child")
            .arg(&path)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if let [schemas, loaded, peak] = child.split_whitespace().collect::<Vec<_>>()[..] {
            println!(
                "  {}: every response schema validated ({schemas}): peak {peak} MiB, {loaded} MiB once loaded (at most 48 validators are kept)",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
        }
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let started = Instant::now();
        let Ok(contract) = badgateway::Contract::from_file(&path) else {
            continue;
        };
        let loaded = started.elapsed();
        let operations: Vec<(String, String)> = contract
            .operations()
            .iter()
            .filter(|o| o.method.eq_ignore_ascii_case("GET"))
            .filter_map(|o| {
                o.success()
                    .and_then(|(_, r)| r.schema.clone())
                    .map(|s| (o.path.clone(), s))
            })
            .take(3)
            .collect();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut valid, mut drawn) = (0, 0);
        let mut baseline = Baseline::new();
        let mut targets = Vec::new();
        for (path, pointer) in &operations {
            let strategy = badgateway::conformance::conforming(&contract, pointer);
            let mut body = None;
            for _ in 0..200 {
                let value = strategy.new_tree(&mut runner).unwrap().current();
                drawn += 1;
                if contract.validate(pointer, &value).is_ok() {
                    valid += 1;
                    body.get_or_insert(value);
                }
            }
            if let Some(body) = body {
                baseline = baseline.endpoint("GET", path, Response::json(200, &body));
                let target: String = path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                targets.push(target);
            }
        }
        if targets.is_empty() {
            println!(
                "  {name}: no GET operation with a JSON success schema generated a valid body"
            );
            continue;
        }
        let (first, report) = timed_campaign(baseline, contract, targets);
        println!(
            "  {name}: loaded in {:.2} s; conforming values valid {valid}/{drawn} ({:.1} %); 64-case campaign on {} GET operation(s): first generated case at {:.2} s, {:.0} cases/s",
            loaded.as_secs_f64(),
            100.0 * f64::from(valid) / f64::from(drawn.max(1)),
            operations.len(),
            first.as_secs_f64(),
            report.total_cases() as f64 / report.elapsed.as_secs_f64()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, command, argument] = &args[..] {
        if command == "scale-child" {
            return scale_child(argument.parse().expect("scale takes a number of cases"));
        }
        if command == "validators-child" {
            return validators_child(argument);
        }
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there are no libtest benches here.
    }
    if std::env::args().skip(1).any(|a| a == "fuzz") {
        return fuzz_rates(); // `cargo bench --bench throughput -- fuzz`: this section alone.
    }
    if std::env::args().skip(1).any(|a| a == "stripe") {
        return stripe_campaign(); // `cargo bench --bench throughput -- stripe`
    }
    if std::env::args().skip(1).any(|a| a == "specs") {
        return real_specs(); // `cargo bench --bench throughput -- specs`
    }
    if std::env::args().skip(1).any(|a| a == "example") {
        return example_shrinking(); // `cargo bench --bench throughput -- example`
    }
    if let [_, section, concurrency, how @ ..] = &args[..] {
        if section == "pass-through" {
            // `-- pass-through N [isolated]`: pass-through cases alone, N at a time, in
            // process or isolated, for a profiler.
            let concurrency = concurrency.parse().expect("a concurrency");
            let isolated = how.iter().any(|h| h == "isolated");
            let rate = pass_through_rate(concurrency, 3_000, isolated);
            return println!("  pass-through, {concurrency} at a time: {rate:.0} cases/s");
        }
    }
    if std::env::args().skip(1).any(|a| a == "cost") {
        // `cargo bench --bench throughput -- cost`: per-case cost, and the example's
        // wall time isolated and in process.
        let isolated = isolated_first(true);
        return cost(&isolated);
    }
    if std::env::args().skip(1).any(|a| a == "webhooks") {
        return webhook_rates(); // `cargo bench --bench throughput -- webhooks`
    }
    if std::env::args().skip(1).any(|a| a == "bodies") {
        return bodies(); // `cargo bench --bench throughput -- bodies`
    }
    if std::env::args().skip(1).any(|a| a == "scale") {
        return scale(); // `cargo bench --bench throughput -- scale`
    }
    // First, so that a worker, which runs this program again, reaches it at once.
    let isolated = isolated_first(false);
    println!("badgateway throughput: {CASES} cases, concurrency {CONCURRENCY}");
    // Warm up the allocator, the thread pools and the loopback path once, then take
    // the median of alternating rounds so a noisy neighbour hits both sides alike.
    let _ = (bare_rate(), harness_rate());
    let mut rounds: Vec<(f64, f64)> = (0..5).map(|_| (bare_rate(), harness_rate())).collect();
    rounds.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let (bare, harness) = rounds[rounds.len() / 2];
    let (campaign, tally) = campaign_rate();
    println!("  bare round trip     {bare:8.0} calls/s   (plain responder, the same client)");
    println!(
        "  harness, pass-through {harness:6.0} cases/s   ratio {:.2}x the bare round trip's time (median of 5 rounds)",
        bare / harness
    );
    println!(
        "  generated campaign  {campaign:8.0} cases/s   ratio {:.2}x   ({tally})",
        bare / campaign
    );
    cost(&isolated);
    fuzz_rates();
    scale();
    stripe_campaign();
    real_specs();
    example_shrinking();
    contracts();
    real_spec_validators();
    distribution();
    behaviour();
    let (elapsed, hangs) = overlap();
    println!(
        "  overlap: 64 cases, {hangs} hang under a 1 s deadline: {:.2} s (sum of deadlines {hangs} s)",
        elapsed.as_secs_f64()
    );
}

/// A JSON body of about `mib` MiB, of small objects whose keys name no secret.
fn big_json(mib: usize) -> Vec<u8> {
    let item =
        r#"{"name":"widget","hint":"abc","amount":1234,"note":"lorem ipsum dolor sit amet"},"#;
    let mut body = String::from("{\"items\":[");
    while body.len() < mib << 20 {
        body.push_str(item);
    }
    body.pop();
    body.push_str("]}");
    body.into_bytes()
}

/// A loopback server that reads a request's whole body (by its `Content-Length`) and
/// answers with `answer`: the same work as the provider's, minus the provider.
async fn body_server(answer: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 64 * 1024];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut read = buf.len() - head_end;
                while read < length {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&answer).await;
            });
        }
    });
    url
}

/// Big request and upstream bodies through the provider, against the same bodies
/// sent to a plain server in the same process: the cost per MiB, and how long a
/// small request waits when it arrives while a big one is being read.
fn bodies() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let small_body = br#"{"ok":true}"#.to_vec();
        let plain = body_server(small_body.clone()).await;
        let baseline = Baseline::new()
            .endpoint(
                "POST",
                "/v1/files",
                Response::json(200, &serde_json::json!({"ok": true})),
            )
            .endpoint(
                "GET",
                "/v1/balance",
                Response::json(200, &serde_json::json!({"available": 1})),
            );
        let provider = badgateway::Provider::start(baseline, Scenario::new())
            .await
            .unwrap();
        let ours = provider.url();
        let post = |base: String, body: Vec<u8>| {
            let http = http.clone();
            async move {
                let started = Instant::now();
                let status = http
                    .post(format!("{base}/v1/files"))
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                (started.elapsed(), status)
            }
        };
        let small = |base: String| {
            let http = http.clone();
            async move {
                let started = Instant::now();
                let _ = http.get(format!("{base}/v1/balance")).send().await;
                started.elapsed()
            }
        };
        println!("  request bodies (provider against a plain server reading the same body):");
        for mib in [1usize, 8, 64] {
            let body = big_json(mib);
            let (bare, _) = post(plain.clone(), body.clone()).await;
            let (took, status) = post(ours.clone(), body.clone()).await;
            let alone = small(ours.clone()).await;
            let big = tokio::spawn(post(ours.clone(), body));
            // The small request arrives while the big one is being read and collected.
            tokio::time::sleep(bare / 2).await;
            let beside = small(ours.clone()).await;
            let _ = big.await;
            let per_mib = took.as_secs_f64() * 1e3 / mib as f64;
            let what = if status == 200 {
                format!(
                    "{per_mib:.1} ms/MiB ({:.2}x the plain server)",
                    took.as_secs_f64() / bare.as_secs_f64()
                )
            } else {
                "refused at once, past the provider's 16 MiB request cap".to_owned()
            };
            println!(
                "    {mib:>2} MiB: {what}; a small request beside it {:.2} ms (alone {:.2} ms)",
                beside.as_secs_f64() * 1e3,
                alone.as_secs_f64() * 1e3
            );
        }
        println!("  upstream bodies (forwarded by the provider against fetched directly):");
        for mib in [1usize, 8, 64] {
            let upstream = body_server(big_json(mib)).await;
            let forwarding =
                badgateway::Provider::start(Baseline::forward_to(&upstream), Scenario::new())
                    .await
                    .unwrap();
            let (direct, _) = post(upstream.clone(), small_body.clone()).await;
            let (took, status) = post(forwarding.url(), small_body.clone()).await;
            let per_mib = took.as_secs_f64() * 1e3 / mib as f64;
            if status == 502 {
                println!("    {mib:>2} MiB: a 502 that says so, past the forwarder's 16 MiB cap");
            } else {
                println!(
                    "    {mib:>2} MiB: {per_mib:.1} ms/MiB ({:.2}x fetched directly)",
                    took.as_secs_f64() / direct.as_secs_f64()
                );
            }
        }
    });
}

/// Paygate's webhooks, as the example declares them.
fn paygate_webhooks() -> badgateway::Webhooks {
    badgateway::Webhooks::from_file(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/webhooks/paygate.json"
        ),
        badgateway::Signing::stripe(payment_gateway::webhooks::TEST_WEBHOOK_SECRET),
    )
    .unwrap()
}

fn paygate_baseline() -> Baseline {
    Baseline::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/paygate.json"
    ))
    .unwrap()
}

/// The example's handler, as a webhook campaign sees it.
fn example_handler(running: payment_gateway::webhooks::Running) -> badgateway::Handler {
    let count = running.clone();
    badgateway::Handler::at(running.url).counting(move || count.fulfilled())
}

/// Webhook deliveries: bare posts against the harness, and the example's campaign.
fn webhook_rates() {
    const DELIVERIES: usize = 256;
    // The isolated campaigns first: a worker runs this program again up to the
    // campaign it serves.
    let mut campaigns = Vec::new();
    for (who, isolated) in [
        ("naive", true),
        ("hardened", true),
        ("naive", false),
        ("hardened", false),
    ] {
        let campaign = Campaign::new("bench.webhooks.campaign", paygate_baseline())
            .webhooks(paygate_webhooks())
            .cases(256)
            .no_fixtures();
        let campaign = if isolated {
            campaign.isolated()
        } else {
            campaign.in_process()
        };
        let started = Instant::now();
        let report = campaign
            .run_handler(move |api| async move {
                let running = match who {
                    "naive" => payment_gateway::webhooks::naive::start(api).await,
                    _ => payment_gateway::webhooks::hardened::start(api).await,
                };
                example_handler(running)
            })
            .unwrap();
        campaigns.push(format!(
            "    the example's webhook campaign, {who:8} {}: {} coverage + 256 generated cases, {} findings, {:.1} s",
            if isolated { "isolated  " } else { "in process" },
            report.coverage,
            report.findings.len(),
            started.elapsed().as_secs_f64()
        ));
    }

    let webhooks = paygate_webhooks();
    let event = webhooks.events()[0].body.to_string();
    let signing = webhooks.signing().clone();
    // Bare: one handler, 256 signed posts, 32 at a time.
    let bare = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let provider = badgateway::Provider::start(paygate_baseline(), Scenario::new())
                .await
                .unwrap();
            let running = payment_gateway::webhooks::hardened::start(provider.url()).await;
            let client = reqwest::Client::new();
            let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..DELIVERIES {
                let (client, url, semaphore) =
                    (client.clone(), running.url.clone(), semaphore.clone());
                let body = event.replace("evt_1PqR8sKs3cR3tV4l", &format!("evt_{i}"));
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                let headers = signing.headers(&format!("evt_{i}"), now, body.as_bytes());
                tasks.spawn(async move {
                    let _slot = semaphore.acquire_owned().await.unwrap();
                    let mut request = client.post(url).body(body);
                    for (name, value) in headers {
                        request = request.header(name, value);
                    }
                    request.send().await.unwrap().status().as_u16()
                });
            }
            while let Some(status) = tasks.join_next().await {
                assert_eq!(status.unwrap(), 200);
            }
            DELIVERIES as f64 / started.elapsed().as_secs_f64()
        })
    };
    let harness = || {
        let scenarios =
            vec![Scenario::new().deliver(badgateway::Delivery::of("charge.succeeded")); DELIVERIES];
        let started = Instant::now();
        let results = Campaign::new("bench.webhooks", paygate_baseline())
            .webhooks(paygate_webhooks())
            .in_process()
            .concurrency(CONCURRENCY)
            .run_handler_scenarios(scenarios, |api| async move {
                example_handler(payment_gateway::webhooks::hardened::start(api).await)
            })
            .unwrap();
        assert!(results.iter().all(|r| r.journal.deliveries.len() == 1));
        DELIVERIES as f64 / started.elapsed().as_secs_f64()
    };
    let _ = (bare(), harness());
    let mut rounds: Vec<(f64, f64)> = (0..5).map(|_| (bare(), harness())).collect();
    rounds.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let (bare, harness) = rounds[rounds.len() / 2];
    println!("  webhooks, {DELIVERIES} deliveries of charge.succeeded to the hardened handler, {CONCURRENCY} at a time:");
    println!("    bare signed posts to one handler  {bare:7.0} deliveries/s");
    println!(
        "    run_handler_scenarios, in process {harness:7.0} deliveries/s   ratio {:.1}x the bare post's time (median of 5 rounds)",
        bare / harness
    );
    for line in campaigns {
        println!("{line}");
    }
}
