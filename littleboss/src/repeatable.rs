//! The property tests' configuration: the same inputs in every run (a
//! fixed seed), so that CI repeats, and no regression files written.

/// `cases` inputs drawn from `seed`.
pub(crate) fn config(cases: u32, seed: u64) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..proptest::test_runner::Config::default()
    }
}
