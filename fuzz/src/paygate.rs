//! The example integration's fuzz targets, one per operation and client: their
//! campaigns and the code each runs. Each target in `fuzz_targets/` is one line over
//! this; `tests/it/fuzzing.rs` compiles this same file to run the checked-in seed
//! corpus through the same code path.

use std::time::Duration;

use badgateway::{Baseline, Campaign};
use payment_gateway::{hardened, naive, TEST_SECRET_KEY};

/// An operation of the example integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /v1/charges`, with an idempotency key.
    CreateCharge,
    /// `GET /v1/charges/{id}`.
    FetchCharge,
    /// `GET /v1/charges/{id}`, then `POST /v1/refunds` for it.
    Refund,
    /// `GET /v1/charges`, page after page.
    AllCharges,
}

/// Which client runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// The one from the postmortem: no timeout, unwraps, retries forever.
    Naive,
    /// The one that handles everything.
    Hardened,
}

impl Operation {
    /// Every operation, in the order the README lists them.
    pub const ALL: [Operation; 4] = [
        Operation::CreateCharge,
        Operation::FetchCharge,
        Operation::Refund,
        Operation::AllCharges,
    ];

    /// The fixture suite its findings are kept and replayed under.
    pub fn suite(self) -> &'static str {
        match self {
            Operation::CreateCharge => "paygate.create_charge",
            Operation::FetchCharge => "paygate.fetch_charge",
            Operation::Refund => "paygate.refund",
            Operation::AllCharges => "paygate.all_charges",
        }
    }
}

/// How long the code may wait on a stalled provider before it is a hang. Short, so a
/// stall costs an execution 150 ms at most, never a real client timeout; the hardened
/// client's attempts ([`hardened_config`]) fit well inside it.
pub const DEADLINE: Duration = Duration::from_millis(100);

/// The hardened client as fuzzing runs it: 40 ms attempts, 2 retries, 1 ms between
/// them and before a poll, so a retried or polled call costs a few milliseconds, not
/// the tens a production backoff would (and a stall, rare under libFuzzer, 130 ms at
/// the very worst). The campaign's rules ([`campaign`]) ask for a backoff and a poll
/// interval of 1 ms to match.
pub fn hardened_config() -> hardened::Config {
    hardened::Config {
        timeout: Duration::from_millis(40),
        max_retries: 2,
        max_backoff: Duration::from_millis(1),
        poll_pause: Duration::from_millis(1),
        ..hardened::Config::default()
    }
}

/// The behaviour rules of the fuzzing campaigns: the defaults, but a backoff and a
/// poll interval of 1 ms are enough (the fuzzing clients wait as much, [`hardened_config`]):
/// a client that retries or polls back to back is still caught.
pub fn rules() -> badgateway::Rules {
    badgateway::Rules::default()
        .min_backoff(Duration::from_millis(1))
        .min_poll_interval(Duration::from_millis(1))
}

/// The campaign an operation is fuzzed as: Paygate's baseline and contract (less the
/// fields the integration never reads), strict as the example's campaigns are, its
/// findings kept in the repository's fixture store (where `badgateway promote` puts
/// them). The baseline and contract are compiled in, so a target runs where its
/// sources are not (ClusterFuzzLite's runner).
pub fn campaign(operation: Operation) -> Campaign {
    let contract = badgateway::Contract::from_str(
        include_str!("../../fixtures/contracts/paygate.yaml"),
        "fixtures/contracts/paygate.yaml",
    )
    .expect("the bundled contract loads");
    let contract = payment_gateway::UNREAD_FIELDS
        .iter()
        .fold(contract, |c, field| c.ignoring(field));
    let baseline = Baseline::from_json(
        include_str!("../../fixtures/baselines/paygate.json"),
        "fixtures/baselines/paygate.json",
    )
    .expect("the bundled baseline loads");
    let campaign = Campaign::new(operation.suite(), baseline)
        .contract(contract)
        .strict()
        .rules(rules())
        .deadline(DEADLINE)
        .fixtures_dir(payment_gateway::REGRESSIONS_DIR);
    match operation {
        Operation::Refund => campaign.judge(refused_another_refund),
        _ => campaign,
    }
}

/// The refund campaign's judge: a conforming refund of another charge or amount than
/// the one asked for is rightly refused (strict mode would call it a false
/// rejection). The client's word is checked against the response, not trusted.
fn refused_another_refund(
    response: &serde_json::Value,
    returned: Result<&String, &String>,
) -> badgateway::Judged {
    let Err(error) = returned else {
        return badgateway::Judged::AsIs;
    };
    let Some((_, asked)) = error.split_once(", asked for ") else {
        return badgateway::Judged::AsIs;
    };
    let answered = format!(
        "{} of {}",
        response["amount"],
        response["charge"].as_str().unwrap_or_default()
    );
    match response["object"] == "refund" && answered != asked {
        true => badgateway::Judged::Fine,
        false => badgateway::Judged::AsIs,
    }
}

/// The charge the example fetches and refunds.
const CHARGE: &str = "ch_3PqR8sKs3cR3tV4l";

/// Runs `operation` with `client` against the provider at `url`: what the value or
/// the error was, as text.
pub async fn call(operation: Operation, client: Client, url: String) -> Result<String, String> {
    match client {
        Client::Naive => naive_call(operation, &url).await,
        Client::Hardened => hardened_call(operation, &url).await,
    }
}

/// The operation with either client: the same calls, typed differently.
macro_rules! operate {
    ($client:expr, $operation:expr) => {{
        let client = $client;
        let done = match $operation {
            Operation::CreateCharge => client
                .create_charge(2500, "eur", "ord_1042")
                .await
                .map(|c| format!("{c:?}")),
            Operation::FetchCharge => client.charge(CHARGE).await.map(|c| format!("{c:?}")),
            Operation::Refund => match client.charge(CHARGE).await {
                Ok(charge) => client.refund(&charge).await.map(|r| format!("{r:?}")),
                Err(e) => Err(e),
            },
            Operation::AllCharges => client.all_charges().await.map(|c| format!("{c:?}")),
        };
        done.map_err(|e| e.to_string())
    }};
}

async fn naive_call(operation: Operation, url: &str) -> Result<String, String> {
    operate!(naive::Client::new(url, TEST_SECRET_KEY), operation)
}

async fn hardened_call(operation: Operation, url: &str) -> Result<String, String> {
    operate!(
        hardened::Client::new(url, TEST_SECRET_KEY, hardened_config()),
        operation
    )
}

/// The fuzz deadline of the webhook targets: a delivery waits up to
/// [`WEBHOOK_TIMEOUT`], and the hardened handler's call to Paygate fits inside it.
pub const WEBHOOK_DEADLINE: Duration = Duration::from_millis(500);

/// How long a fuzzed delivery waits for the handler's answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_millis(400);

/// The webhook campaign the handlers are fuzzed as: Paygate's events (compiled in),
/// signed as Stripe signs them, the handler's calls served from Paygate's baseline.
pub fn webhook_campaign() -> Campaign {
    let webhooks = badgateway::Webhooks::from_json(
        include_str!("../../fixtures/webhooks/paygate.json"),
        "fixtures/webhooks/paygate.json",
        badgateway::Signing::stripe(payment_gateway::webhooks::TEST_WEBHOOK_SECRET),
    )
    .expect("the bundled webhooks load")
    .timeout(WEBHOOK_TIMEOUT);
    let baseline = Baseline::from_json(
        include_str!("../../fixtures/baselines/paygate.json"),
        "fixtures/baselines/paygate.json",
    )
    .expect("the bundled baseline loads");
    Campaign::new("paygate.webhooks", baseline)
        .webhooks(webhooks)
        .deadline(WEBHOOK_DEADLINE)
        .fixtures_dir(payment_gateway::REGRESSIONS_DIR)
}

/// Starts the example's webhook handler written by `client`'s author.
pub async fn handler(client: Client, api: String) -> badgateway::Handler {
    let running = match client {
        Client::Naive => payment_gateway::webhooks::naive::start(api).await,
        Client::Hardened => payment_gateway::webhooks::hardened::start(api).await,
    };
    let count = running.clone();
    badgateway::Handler::at(running.url).counting(move || count.fulfilled())
}
