//! A correct client gets zero findings from a contract campaign with default settings,
//! also while other work keeps both cores busy.
// See: issue "verdicts a team can trust": its control client got 8 findings, none a
// defect (a hang for a timeout equal to the deadline, six clauses it never read).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use badgateway::{Campaign, DEFAULT_DEADLINE};

use crate::support::{paygate_baseline, paygate_contract};

/// What the client reads of a charge; every other field is ignored.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // Read through `Debug`, as the harness reads every result.
struct Charge {
    id: String,
    amount: i64,
    currency: String,
    status: String,
}

#[derive(Debug, serde::Deserialize)]
struct Page {
    data: Vec<Charge>,
}

/// The longest `Retry-After` the client honours; a longer one, it gives up on.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(5);

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?.trim();
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds.min(1e6)))
        }
        Ok(_) => None,
        Err(_) => httpdate::parse_http_date(value).ok().map(|at| {
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
        }),
    }
}

/// Written with ordinary care: a timeout equal to the default deadline, three attempts
/// with backoff, `Retry-After` honoured up to a cap, the status checked, a typed parse
/// of the fields it uses.
async fn careful(url: String) -> Result<Vec<Charge>, String> {
    let http = reqwest::Client::builder()
        .timeout(DEFAULT_DEADLINE)
        .build()
        .map_err(|e| e.to_string())?;
    let mut last = String::from("no attempt");
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        let response = match http
            .get(format!("{url}/v1/charges?limit=100"))
            .bearer_auth("sk_test_control")
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            if let Some(wait) = retry_after(&response) {
                if wait > RETRY_AFTER_CAP {
                    return Err(format!("{status}, asked to wait {wait:?}: giving up"));
                }
                tokio::time::sleep(wait).await;
            }
            last = status.to_string();
            continue;
        }
        if !status.is_success() {
            return Err(format!("unexpected status {status}"));
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        return serde_json::from_slice::<Page>(&body)
            .map(|page| page.data)
            .map_err(|e| format!("unreadable page: {e}"));
    }
    Err(last)
}

/// Spinning threads that keep every core busy until dropped (or two minutes pass).
struct Burners {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Burners {
    fn start(n: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let until = Instant::now() + Duration::from_secs(120);
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn default_contract_campaign(suite: &str) -> Campaign {
    Campaign::new(suite, paygate_baseline())
        .contract(badgateway::Contract::from_file(payment_gateway::CONTRACT_PATH).unwrap())
        .no_fixtures()
}

#[test]
fn a_correct_client_gets_no_finding_from_a_default_contract_campaign() {
    let _ = paygate_contract; // The control reads the contract as published, nothing ignored.
    let report = default_contract_campaign("trust.control")
        .run(careful)
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
    assert_eq!(report.cases, 256);
}

#[test]
fn a_correct_client_gets_no_finding_with_eight_cpu_burning_threads_beside_it() {
    let _burners = Burners::start(8);
    let report = default_contract_campaign("trust.control.loaded")
        .run(careful)
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
}
