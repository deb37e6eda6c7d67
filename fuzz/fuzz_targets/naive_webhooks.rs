//! The example's naive webhook handler under libFuzzer: the bytes decode to the
//! deliveries Paygate makes (signed or forged, changed, repeated) and to what Paygate's
//! API answers the handler's own calls (see `src/paygate.rs`).
//!
//! ```text
//! mkdir -p fuzz/corpus/naive_webhooks
//! cargo fuzz run --sanitizer none naive_webhooks fuzz/corpus/naive_webhooks   # stable
//! ```

#![no_main]

use std::sync::LazyLock;

use badgateway::Campaign;
use badgateway_fuzz::paygate::{self, Client};

static CAMPAIGN: LazyLock<Campaign> = LazyLock::new(paygate::webhook_campaign);

libfuzzer_sys::fuzz_target!(
    // `cargo fuzz fmt` shows an input as the scenario it decodes to.
    init: badgateway::fuzz::describe_handler_with(&CAMPAIGN, |api| paygate::handler(Client::Naive, api)),
    |input: badgateway::fuzz::Input| {
        badgateway::fuzz::run_handler(&input, &CAMPAIGN, |api| paygate::handler(Client::Naive, api));
    }
);
