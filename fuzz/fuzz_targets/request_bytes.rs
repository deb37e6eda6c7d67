//! Fuzzes the provider's request parsing: any bytes, read in any slicing, must never
//! panic it, and every request it yields must be within its limits.
//!
//! ```text
//! cargo fuzz run request_bytes --sanitizer none -- -runs=100000     # stable, as CI runs it
//! cargo +nightly fuzz run request_bytes                             # with AddressSanitizer
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how the bytes arrive: in reads of 1 to 256 bytes.
    let Some((&slice, rest)) = data.split_first() else {
        return;
    };
    badgateway::fuzzing::read_stream(rest, usize::from(slice) + 1);
});
