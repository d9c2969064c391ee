//! Says a test passed without checking anything here (shared by path
//! with the `tests` crate and the macros' UI test, which cannot depend on
//! one another's test code).

/// Says that the running test checks nothing on this machine, and why
/// (`why`: what it lacks), on stderr and, when `LITTLEBOSS_TESTS_SKIPPED`
/// names a file, as a line appended there: a skipped test passes, so CI
/// (`.ci/run`) lists them after the run rather than let them pass unseen.
///
/// ```no_run
/// if !nix::unistd::geteuid().is_root() {
///     return tests::skipped("needs root");
/// }
/// ```
pub fn skipped(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("skipped: {why}");
    if let Some(path) = std::env::var_os("LITTLEBOSS_TESTS_SKIPPED") {
        use std::io::Write;
        // One write, so that lines of tests skipping at once do not mix.
        let line = format!("{test}: {why}\n");
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot record the skip in LITTLEBOSS_TESTS_SKIPPED: {e}");
        }
    }
}
