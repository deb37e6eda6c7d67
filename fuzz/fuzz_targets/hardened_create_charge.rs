//! The hardened Paygate client's `create_charge` under libFuzzer, through badgateway's provider,
//! runner and oracle (see `src/paygate.rs`).
//!
//! ```text
//! mkdir -p fuzz/corpus/hardened_create_charge       # the corpus it grows; fuzz/seeds is read, never written
//! cargo fuzz run --sanitizer none hardened_create_charge fuzz/corpus/hardened_create_charge fuzz/seeds   # stable
//! cargo +nightly fuzz run hardened_create_charge fuzz/corpus/hardened_create_charge fuzz/seeds           # with AddressSanitizer
//! ```

#![no_main]

use std::sync::LazyLock;

use badgateway::Campaign;
use badgateway_fuzz::paygate::{self, Client, Operation};

static CAMPAIGN: LazyLock<Campaign> = LazyLock::new(|| paygate::campaign(Operation::CreateCharge));

libfuzzer_sys::fuzz_target!(
    // `cargo fuzz fmt` shows an input as the scenario it decodes to.
    init: badgateway::fuzz::describe_with(&CAMPAIGN, |url| paygate::call(Operation::CreateCharge, Client::Hardened, url)),
    |input: badgateway::fuzz::Input| {
        badgateway::fuzz::run(&input, &CAMPAIGN, |url| {
            paygate::call(Operation::CreateCharge, Client::Hardened, url)
        });
    }
);
