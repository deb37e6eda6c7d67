//! Fuzzes badgateway's own pure layer: any scenario, read from JSON, applied to a
//! realistic baseline response and framed, must never panic, and the bytes it frames
//! must always start with a status line.
//!
//! ```text
//! cargo fuzz run scenario_wire --sanitizer none     # stable
//! cargo +nightly fuzz run scenario_wire             # with AddressSanitizer
//! ```
//!
//! Fuzz targets that drive *your* integration code through the provider come with the
//! fuzzing issue; this one keeps the scenario model honest meanwhile.

#![no_main]

use badgateway::{wire, Response, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(scenario) = serde_json::from_slice::<Scenario>(data) else {
        return;
    };
    let baseline = Response::json(
        200,
        &serde_json::json!({"id": "ch_1", "amount": 2500, "data": [{"card": {"last4": "4242"}}], "has_more": false}),
    )
    .header("request-id", "req_1");
    for step in &scenario.steps {
        let mut response = baseline.clone();
        for mutation in &step.mutations {
            mutation.apply(&mut response);
        }
        let framed = wire::render(&response, &step.framing);
        assert!(framed.bytes.starts_with(b"HTTP/1.1 "));
        assert!(framed.head_len <= framed.bytes.len());
    }
});
