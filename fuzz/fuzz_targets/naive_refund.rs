//! The naive Paygate client's `refund` under libFuzzer, through badgateway's provider,
//! runner and oracle (see `src/paygate.rs`).
//!
//! ```text
//! mkdir -p fuzz/corpus/naive_refund       # the corpus it grows; fuzz/seeds is read, never written
//! cargo fuzz run --sanitizer none naive_refund fuzz/corpus/naive_refund fuzz/seeds   # stable
//! cargo +nightly fuzz run naive_refund fuzz/corpus/naive_refund fuzz/seeds           # with AddressSanitizer
//! ```

#![no_main]

use std::sync::LazyLock;

use badgateway::Campaign;
use badgateway_fuzz::paygate::{self, Client, Operation};

static CAMPAIGN: LazyLock<Campaign> = LazyLock::new(|| paygate::campaign(Operation::Refund));

libfuzzer_sys::fuzz_target!(
    // `cargo fuzz fmt` shows an input as the scenario it decodes to.
    init: badgateway::fuzz::describe_with(&CAMPAIGN, |url| paygate::call(Operation::Refund, Client::Naive, url)),
    |input: badgateway::fuzz::Input| {
        badgateway::fuzz::run(&input, &CAMPAIGN, |url| {
            paygate::call(Operation::Refund, Client::Naive, url)
        });
    }
);
