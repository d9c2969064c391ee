//! Compile tests of `#[littleboss::main]`: programs that must build (and,
//! run with no arguments, return at once), and mistakes that must fail with
//! the error pinned in the `.stderr` beside them.
//!
//! `TRYBUILD=overwrite cargo test -p littleboss-macros --test ui` rewrites
//! the `.stderr` files; read every one before checking it in.

/// The rustc that wrote the `.stderr` files. An older one (down to the
/// workspace's `rust-version`) words some errors differently, so the
/// mistakes are checked only from this one on. Those rustc itself reports
/// (`fail_rustc/`: a wrong type where the attribute needs another, a
/// `crate = …` path that does not resolve) are
/// worded anew by almost every release, so they are checked by this one
/// alone: the README's test command must pass on a newer toolchain too.
/// The attribute's own errors (`fail/`) are littleboss's words.
const SNAPSHOTS_WRITTEN_BY: (u32, u32) = (1, 95);

#[path = "../../littleboss/src/skipped.rs"]
mod skipped;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    let (major, minor) = SNAPSHOTS_WRITTEN_BY;
    match rustc_version() {
        Some(version) if version < SNAPSHOTS_WRITTEN_BY => skipped::skipped(&format!(
            "the compile-fail cases: rustc {}.{} is older than the {major}.{minor} that wrote \
             tests/ui/fail*/*.stderr (their errors are worded differently)",
            version.0, version.1
        )),
        Some(version) if version == SNAPSHOTS_WRITTEN_BY => {
            t.compile_fail("tests/ui/fail/*.rs");
            t.compile_fail("tests/ui/fail_rustc/*.rs");
        }
        _ => {
            skipped::skipped(&format!(
                "tests/ui/fail_rustc (rustc's own words): rustc is not the {major}.{minor} \
                 that wrote their .stderr; `rustup run {major}.{minor} cargo test -p \
                 littleboss-macros --test ui` checks them"
            ));
            t.compile_fail("tests/ui/fail/*.rs");
        }
    }
}

/// `rustc --version`'s major and minor (`rustc 1.95.0 (…)`), of the rustc
/// cargo runs (`$RUSTC`, else the one on the path).
fn rustc_version() -> Option<(u32, u32)> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

fn parse_version(said: &str) -> Option<(u32, u32)> {
    let number = said.split_whitespace().nth(1)?;
    let mut parts = number.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[test]
fn rustc_versions_are_read() {
    assert_eq!(
        parse_version("rustc 1.95.0 (59807616e 2026-04-14)"),
        Some((1, 95))
    );
    assert_eq!(parse_version("rustc 1.88.0"), Some((1, 88)));
    assert_eq!(
        parse_version("rustc 1.97.0-nightly (abc 2026-11-01)"),
        Some((1, 97))
    );
    assert_eq!(parse_version("garbage"), None);
    assert!((1, 88) < SNAPSHOTS_WRITTEN_BY && (1, 95) >= SNAPSHOTS_WRITTEN_BY);
}
