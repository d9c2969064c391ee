//! Taking variables meant for us out of the environment, soundly.

/// Removes `vars` from the environment, so that the processes we start do
/// not take them as their own; only while this process has a single
/// thread, the condition for doing so soundly. With more
/// threads they stay, which is harmless where they name our pid.
pub(crate) fn remove_env(vars: &[&str]) {
    if vars.iter().all(|v| std::env::var_os(v).is_none()) || !single_threaded() {
        return;
    }
    for var in vars {
        // SAFETY: this process has one thread (just checked in /proc), so
        // nothing can read the environment while it changes.
        unsafe { std::env::remove_var(var) };
    }
}

/// Sets `var` in this process's environment, only while it has a single
/// thread; returns whether it did.
pub(crate) fn set_env(var: &str, value: &str) -> bool {
    if !single_threaded() {
        return false;
    }
    // SAFETY: this process has one thread (just checked in /proc), so
    // nothing can read the environment while it changes.
    unsafe { std::env::set_var(var, value) };
    true
}

/// Whether this process has a single thread.
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.split_whitespace().eq(["Threads:", "1"]))
    })
}
