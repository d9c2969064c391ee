//! Taking variables meant for us out of the environment, soundly.

use std::ffi::OsStr;

/// Removes `vars` from the environment, so that the processes we start do
/// not take them as their own; only while this process has a single
/// thread, the condition for doing so soundly. With more threads they
/// stay (the supervisor keeps its own from its children regardless, see
/// `spawn`).
pub(crate) fn remove_env(vars: &[&str]) {
    if vars.iter().any(|v| std::env::var_os(v).is_some()) {
        change(&[], vars);
    }
}

/// Sets `var` in this process's environment, only while it has a single
/// thread; returns whether it did.
pub(crate) fn set_env(var: &str, value: &str) -> bool {
    change(&[(var, value.as_ref())], &[])
}

/// Sets `set` and removes `remove` in one go, only while this process has
/// a single thread; returns whether it did.
pub(crate) fn change(set: &[(&str, &OsStr)], remove: &[&str]) -> bool {
    if !single_threaded() {
        return false;
    }
    for (var, value) in set {
        // SAFETY: this process has one thread (just checked in /proc), so
        // nothing can read the environment while it changes.
        unsafe { std::env::set_var(var, value) };
    }
    for var in remove {
        // SAFETY: as above.
        unsafe { std::env::remove_var(var) };
    }
    true
}

/// Whether this process has a single thread.
pub(crate) fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.split_whitespace().eq(["Threads:", "1"]))
    })
}

/// A variable that should hold a process id holds something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadPid {
    /// The variable's name.
    pub name: &'static str,
    /// Its value, lossily decoded.
    pub value: String,
}

impl std::fmt::Display for BadPid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=`{}` is not a process id", self.name, self.value)
    }
}

impl std::error::Error for BadPid {}

/// The process id in variable `name`, whose value is `value`; the error
/// names the variable and the value.
pub(crate) fn parse_pid(name: &'static str, value: &OsStr) -> Result<i32, BadPid> {
    let value = value.to_string_lossy();
    value
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| BadPid {
            name,
            value: value.into_owned(),
        })
}
