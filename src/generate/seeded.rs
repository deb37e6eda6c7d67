//! Generating a campaign's cases from its seed: the same seed, the same cases, on any
//! machine.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

use crate::scenario::Scenario;

/// Generates `cases` scenarios from `seed`, deterministically.
#[cfg(test)]
pub(crate) fn generate(
    strategy: impl Strategy<Value = Scenario>,
    seed: u64,
    cases: u32,
) -> Vec<Scenario> {
    generated(strategy, seed, cases).collect()
}

/// The `cases` scenarios of `seed`, one at a time as they are asked for: a campaign
/// of a hundred thousand cases never holds more than the ones running.
pub(crate) fn generated(
    strategy: impl Strategy<Value = Scenario>,
    seed: u64,
    cases: u32,
) -> impl Iterator<Item = Scenario> {
    let mut seed_bytes = [0u8; 32];
    let mut state = seed;
    for chunk in seed_bytes.chunks_mut(8) {
        state = splitmix64(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng);
    (0..cases).map(move |_| {
        strategy
            .new_tree(&mut runner)
            .expect("scenario strategies never reject")
            .current()
    })
}

fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::strategies::{scenarios, Catalog};

    #[test]
    fn generated_lazily_is_generated_alike() {
        let catalog = Catalog::default();
        let lazily: Vec<Scenario> = generated(scenarios(&catalog, 3), 7, 50).collect();
        assert_eq!(lazily, generate(scenarios(&catalog, 3), 7, 50));
        assert_eq!(generated(scenarios(&catalog, 3), 7, 50).take(3).count(), 3);
    }

    #[test]
    fn the_same_seed_generates_the_same_cases_and_another_seed_others() {
        let catalog = Catalog::default();
        let cases = |seed| generate(scenarios(&catalog, 3), seed, 50);
        assert_eq!(cases(7), cases(7));
        assert_ne!(cases(7), cases(8));
    }
}
