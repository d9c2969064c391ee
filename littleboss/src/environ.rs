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
        // Escaped: a `\r` in it would move the terminal's cursor.
        write!(
            f,
            "{}=`{}` is not a process id (a service manager sets it to the process it starts; unset it if none did)",
            self.name,
            self.value.escape_debug()
        )
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_bad_pid_is_named_escaped_with_the_way_out() {
        let e = super::parse_pid("LISTEN_PID", std::ffi::OsStr::new("12\r")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "LISTEN_PID=`12\\r` is not a process id (a service manager sets it to the process it starts; unset it if none did)"
        );
        assert_eq!(super::parse_pid("LISTEN_PID", "12".as_ref()), Ok(12));
        assert!(super::parse_pid("LISTEN_PID", "0".as_ref()).is_err());
    }
}
