//! Inputs that once took the harness down (out of memory, out of stack) are bounded
//! or refused with an error naming them.
// See: issue "nothing secret is written, and no input breaks the harness", item 3.

use std::sync::Arc;

use badgateway::strategies::{scenarios_under_contract, Catalog, Plan};
use badgateway::{
    conformance, Campaign, Contract, Expectation, Fixture, Mutation, Response, Scenario, Step,
    Store,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::support::{fresh_dir, hello_baseline};

fn forty_duplications() -> Scenario {
    let dup = Mutation::DuplicateHeader {
        name: "content-type".into(),
    };
    Scenario::new().then(Step {
        mutations: vec![dup; 40],
        ..Step::default()
    })
}

#[test]
fn a_fixture_with_forty_header_duplications_is_refused_by_name_and_the_others_replay() {
    let root = fresh_dir("bounded-fixture");
    let store = Store::new(&root);
    let good = Fixture::by_hand(
        "bounded",
        Scenario::new().then(badgateway::faults::status(503)),
        "x",
    );
    store.save(&good).unwrap();
    let bomb = Fixture::by_hand("bounded", forty_duplications(), "y");
    let bomb_path = store.suite_dir("bounded").join(format!("{}.json", bomb.id));
    std::fs::write(&bomb_path, bomb.to_json()).unwrap();

    let loaded = store.load("bounded");
    assert_eq!(loaded.len(), 2);
    let error = loaded
        .iter()
        .find_map(|l| l.as_ref().err())
        .expect("the bomb is refused");
    let text = error.to_string();
    assert!(text.contains(&bomb_path.display().to_string()), "{text}");
    assert!(text.contains("40 duplicate_header mutations"), "{text}");
    assert!(loaded.iter().any(Result::is_ok));
}

#[test]
fn forty_header_duplications_served_directly_stay_within_the_header_limit() {
    let results = Campaign::new("bounded", hello_baseline())
        .no_fixtures()
        .run_scenarios(vec![forty_duplications()], |url| async move {
            reqwest::get(format!("{url}/hello"))
                .await
                .map(|r| r.headers().len())
        })
        .unwrap();
    let served = &results[0].journal.requests[0];
    let head = String::from_utf8_lossy(&served.served[..served.served_head_len]);
    let lines = head.lines().count();
    assert!(lines <= 1100, "{lines} header lines served");
    assert!(
        lines > 1000,
        "the duplications were served up to the limit: {lines}"
    );
}

fn first_values(contract: &Contract, pointer: &str, n: usize) -> Vec<serde_json::Value> {
    let strategy = conformance::conforming(contract, pointer);
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[test]
fn schemas_that_cycle_through_combinators_generate_at_a_bounded_depth() {
    let contract = Contract::from_json_schema(
        serde_json::json!({
            "$defs": {
                "A": {"allOf": [{"$ref": "#/$defs/B"}]},
                "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/C"}]},
                "C": {"oneOf": [{"$ref": "#/$defs/A"}, {"type": "string"}]},
                "D": {"allOf": [{"$ref": "#/$defs/E"}]},
                "E": {"allOf": [{"$ref": "#/$defs/D"}]}
            },
            "$ref": "#/$defs/A"
        }),
        vec![],
        "GET",
        "/cycle",
    )
    .unwrap();
    // Each would overflow the stack if combinators did not count as depth.
    assert_eq!(first_values(&contract, "/schema/$defs/A", 20).len(), 20);
    assert_eq!(first_values(&contract, "/schema/$defs/D", 5).len(), 5);
    assert_eq!(first_values(&contract, "/schema", 5).len(), 5);
}

#[test]
fn a_pattern_of_nested_repetitions_generates_in_bounded_memory_and_serves_nothing_invalid() {
    let contract = Contract::from_json_schema(
        serde_json::json!({
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "pattern": "^((a{1000}){1000}){1000}$"}}
        }),
        vec![],
        "GET",
        "/pattern",
    )
    .unwrap();
    for value in first_values(&contract, "/schema", 20) {
        assert!(value.to_string().len() < 10_000, "{value}");
    }
}

#[test]
fn a_generated_value_the_validator_rejects_is_never_served_as_must_accept() {
    // multipleOf and uniqueItems are validated but not generated for: most generated
    // values break them, and must not judge a correct client's rejection.
    let contract = Arc::new(
        Contract::from_json_schema(
            serde_json::json!({
                "type": "object",
                "required": ["amount", "tags"],
                "properties": {
                    "amount": {"type": "integer", "multipleOf": 7},
                    "tags": {"type": "array", "uniqueItems": true, "minItems": 2, "items": {"enum": ["a", "b"]}}
                }
            }),
            vec![],
            "GET",
            "/amounts",
        )
        .unwrap(),
    );
    let baseline = Response::json(200, &serde_json::json!({"amount": 14, "tags": ["a", "b"]}));
    let plan = Plan::new(&contract, "/schema", baseline).unwrap();
    let strategy = scenarios_under_contract(&Catalog::default(), &contract, &[Some(plan)], 3);
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..500 {
        for step in strategy.new_tree(&mut runner).unwrap().current().steps {
            if step.expect != Some(Expectation::Accept) {
                continue;
            }
            if let Some(Mutation::ReplaceBody { text }) = step.mutations.first() {
                let value: serde_json::Value = serde_json::from_str(text).unwrap();
                assert!(
                    contract.validate("", &value).is_ok(),
                    "served as conforming: {value}"
                );
                accepted += 1;
            }
        }
    }
    assert!(
        accepted > 0,
        "some generated values do conform and are served"
    );
}

/// A published provider spec from `../shared/specs/` (beside the checkout, as CI has
/// it), if present.
fn real_spec(file: &str) -> Option<Contract> {
    let path = format!("{}/../shared/specs/{file}", env!("CARGO_MANIFEST_DIR"));
    if !std::path::Path::new(&path).exists() {
        eprintln!("skipped: {path} is not beside this checkout");
        return None;
    }
    Some(Contract::from_file(&path).expect("a published spec loads"))
}

#[test]
fn stripes_expandable_resources_generate_at_a_bounded_depth_and_validate() {
    // Stripe's `anyOf: [string, object]` expandable fields made building the generator
    // for `payment_intent` exponential: it had not finished after 300 s.
    let Some(stripe) = real_spec("stripe-spec3.json") else {
        return;
    };
    for name in ["payment_intent", "charge"] {
        let pointer = format!("/components/schemas/{name}");
        let values = first_values(&stripe, &pointer, 30);
        let valid = values
            .iter()
            .filter(|v| stripe.validate(&pointer, v).is_ok())
            .count();
        assert_eq!(
            valid,
            values.len(),
            "{name}: {valid} of {} valid",
            values.len()
        );
    }
}

#[test]
fn conforming_values_of_real_provider_schemas_validate_at_least_99_in_100() {
    // See: issue "real provider contracts at real scale", item 2: 87 % of the values
    // generated for PayPal's order broke it (an e-mail pattern past its maxLength, `.`
    // matching `\r` where JSON Schema's does not).
    for (file, name) in [
        ("stripe-payment-intent-and-charge.json", "payment_intent"),
        ("stripe-payment-intent-and-charge.json", "charge"),
        ("paypal-order.json", "order"),
        ("adyen-payment-response.json", "PaymentResponse"),
    ] {
        let path = format!(
            "{}/fixtures/contracts/real/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let contract = Contract::from_file(&path).expect("a trimmed real schema loads");
        let pointer = format!("/components/schemas/{name}");
        let values = first_values(&contract, &pointer, 200);
        let valid = values
            .iter()
            .filter(|v| contract.validate(&pointer, v).is_ok())
            .count();
        assert!(
            valid * 100 >= values.len() * 99,
            "{name}: {valid} of {} valid",
            values.len()
        );
    }
}
