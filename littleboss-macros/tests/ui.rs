//! Compile tests of `#[littleboss::main]`: programs that must build (and,
//! run with no arguments, return at once), and mistakes that must fail with
//! the error pinned in the `.stderr` beside them.
//!
//! `TRYBUILD=overwrite cargo test -p littleboss-macros --test ui` rewrites
//! the `.stderr` files; read every one before checking it in.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
