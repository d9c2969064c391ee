//! Unit tests that run in a process of their own (this test binary run
//! again, for that one test): for what is the whole process's, a limit
//! lowered or a peak of memory measured.

/// Whether this is the process of its own that the test `name` (its
/// full path, `module::tests::name`) runs in: if not, runs it there,
/// marked by the variable `marker`, and checks that it passed. The
/// test's body follows when this returns true.
///
/// ```ignore
/// if !crate::alone::in_a_process_of_its_own("fdpass::tests::cut", "LITTLEBOSS_TEST_CUT") {
///     return;
/// }
/// ```
pub(crate) fn in_a_process_of_its_own(name: &str, marker: &str) -> bool {
    if std::env::var_os(marker).is_some() {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(marker, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    false
}
