//! The environment variables with which littleboss's own integration
//! tests widen timing windows (`LITTLEBOSS_TEST_*`), honoured only with the
//! `test-hooks` feature: a program's supervisor ignores them.

/// The value of test hook `var`, parsed; `None` when unset, unparsable or
/// built without the `test-hooks` feature.
pub(crate) fn test_hook<T: std::str::FromStr>(var: &str) -> Option<T> {
    if !cfg!(feature = "test-hooks") {
        return None;
    }
    std::env::var(var).ok()?.parse().ok()
}

/// Test hook `var` as how many tries in a row fail, counted down in this
/// process's environment (which an image it executes inherits): whether
/// this one fails.
pub(crate) fn counted_down(var: &str) -> bool {
    match test_hook::<u32>(var) {
        Some(fails @ 1..) => {
            crate::environ::set_env(var, &(fails - 1).to_string());
            true
        }
        _ => false,
    }
}

/// Sleeps `ms` milliseconds, or less once the file test hook `gate_var`
/// names, if it names one, is gone: a window a test holds open for as
/// long as it needs, and then closes.
pub(crate) fn pause(ms: u64, gate_var: &str) {
    use std::time::{Duration, Instant};
    let gate = test_hook::<std::path::PathBuf>(gate_var);
    let until = Instant::now() + Duration::from_millis(ms);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if gate.as_ref().is_some_and(|gate| !gate.exists()) || left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    }
}

/// Whether `name` is a test hook's variable.
fn is_hook(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b"LITTLEBOSS_TEST_")
}

/// `vars` with the test hooks' variables as this process has them now
/// ([`counted_down`] may have changed them since), for an image it
/// executes.
pub(crate) fn with_hooks_now(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)> {
    (vars.into_iter())
        .filter(|(name, _)| !is_hook(name))
        .chain(std::env::vars_os().filter(|(name, _)| is_hook(name)))
}

#[cfg(test)]
mod tests {
    use super::test_hook;

    #[test]
    fn unset_or_unparsable_is_none() {
        assert_eq!(test_hook::<u64>("LITTLEBOSS_TEST_NEVER_SET_ANYWHERE"), None);
        // Set, and not a number.
        assert_eq!(test_hook::<u64>("PATH"), None);
    }
}
