//! Runnable littleboss examples (in `src/bin/`) and the tools that measure
//! them: [`load`], the load generator of the reload benchmark
//! (`src/bin/bench.rs`); [`traffic`] and [`reloading`], the loads and the
//! harness of the drain benchmark (`src/bin/drain_bench.rs`); [`app`], the
//! axum application the `http`, `readme` and `axum_serve` examples
//! serve; [`upgrades`], the reload benchmark's in-place upgrade row;
//! [`spans`], which requests a reload touched, for both benchmarks.

pub mod app;
pub mod load;
pub mod reloading;
pub mod spans;
pub mod traffic;
pub mod upgrades;

/// Writes `line` and a newline to stderr in one `write`, so that lines of
/// the many processes sharing a supervisor's stderr do not interleave
/// (`eprintln!` writes a line in pieces).
///
/// ```
/// examples::log_line(format!("pid {} serving", std::process::id()));
/// ```
pub fn log_line(line: String) {
    use std::io::Write;
    let mut line = line;
    line.push('\n');
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Failed requests as a table shows them: `0`, or the total and each
/// class's count (`3 (reset 2, timeout 1)`).
///
/// ```
/// let mut failed = std::collections::BTreeMap::new();
/// assert_eq!(examples::failures(&failed), "0");
/// failed.insert("reset", 2);
/// failed.insert("timeout", 1);
/// assert_eq!(examples::failures(&failed), "3 (reset 2, timeout 1)");
/// ```
pub fn failures(by_class: &std::collections::BTreeMap<&'static str, usize>) -> String {
    if by_class.is_empty() {
        return "0".to_owned();
    }
    let total: usize = by_class.values().sum();
    format!("{total} ({})", failed_classes(by_class))
}

/// Each class of failed requests with its count, `reset 2, timeout 1`.
///
/// ```
/// let failed = std::collections::BTreeMap::from([("reset", 2), ("timeout", 1)]);
/// assert_eq!(examples::failed_classes(&failed), "reset 2, timeout 1");
/// ```
pub fn failed_classes(by_class: &std::collections::BTreeMap<&'static str, usize>) -> String {
    let classes: Vec<String> = (by_class.iter())
        .map(|(class, count)| format!("{class} {count}"))
        .collect();
    classes.join(", ")
}

/// The median of `values`: the mean of the two middle ones for an even
/// count, 0 for none. One definition for every table the benchmarks
/// print.
///
/// ```
/// assert_eq!(examples::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(examples::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// assert_eq!(examples::median(&[]), 0.0);
/// ```
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// The source the benchmarks ran from, as `git describe --always --dirty`
/// says at run time of the checkout they were built in (one with edits
/// not committed ends in `-dirty`), or a note that it is unknown.
///
/// ```
/// let revision = examples::source_revision();
/// assert!(!revision.is_empty());
/// ```
pub fn source_revision() -> String {
    let described = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .stderr(std::process::Stdio::null())
        .output();
    match described {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => "unknown (not run in a git checkout)".to_owned(),
    }
}
