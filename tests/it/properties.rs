//! Properties of the generated scenarios, checked with proptest itself.
//!
//! proptest's failure files go to `fixtures/proptest-regressions/`, not a stray
//! top-level folder.

use badgateway::strategies::{scenarios, Catalog, Shape};
use badgateway::{shrink, wire, Response, Scenario};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/proptest-regressions/properties.txt"
        )))),
        ..ProptestConfig::default()
    }
}

fn charge() -> serde_json::Value {
    serde_json::json!({"id": "ch_1", "amount": 2500, "status": "succeeded",
        "payment_method": {"card": {"brand": "visa", "last4": "4242"}}, "metadata": {"order_id": "o_1"}})
}

fn catalog() -> Catalog {
    Catalog {
        requests: vec![Shape::of_json(&charge())],
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_scenarios_round_trip_through_json(scenario in scenarios(&catalog(), 3)) {
        let json = serde_json::to_string(&scenario).unwrap();
        let back: Scenario = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, scenario);
    }

    #[test]
    fn every_generated_step_renders_a_response_that_starts_with_a_status_line(scenario in scenarios(&catalog(), 3)) {
        for step in &scenario.steps {
            let mut response = Response::json(200, &charge());
            for mutation in &step.mutations {
                mutation.apply(&mut response);
            }
            let framed = wire::render(&response, &step.framing);
            prop_assert!(framed.bytes.starts_with(b"HTTP/1.1 "));
            prop_assert!(framed.head_len <= framed.bytes.len());
        }
    }

    #[test]
    fn shrink_candidates_never_grow_and_never_repeat_the_scenario(scenario in scenarios(&catalog(), 3)) {
        let scenario = shrink::normalized(&scenario);
        for candidate in shrink::candidates(&scenario) {
            prop_assert!(candidate.complexity() <= scenario.complexity());
            prop_assert!(candidate.steps.len() <= scenario.steps.len());
            prop_assert_ne!(&candidate, &scenario);
        }
    }
}
