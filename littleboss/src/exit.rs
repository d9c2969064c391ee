//! Leaving the process: messages for the user and exit codes.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use crate::log::log;

/// Exit code for a usage mistake (bad flag value, unknown mode), as Go's
/// flag package and clap use.
pub(crate) const USAGE: i32 = 2;

/// Prints `littleboss: {msg}` to stderr and exits with `code`.
pub(crate) fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    log!("{msg}");
    std::process::exit(code)
}

/// A child's exit status as an exit code: its own code, or 128 + the
/// signal that killed it, as shells report it.
pub(crate) fn code_of(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}

/// A child's exit status in words: "exit code 3", "killed by SIGKILL".
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(s) => format!("killed by {s}"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_words() {
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(code_of(exited), 3);
        assert_eq!(describe(exited), "exit code 3");
        let killed = ExitStatus::from_raw(9);
        assert_eq!(code_of(killed), 137);
        assert_eq!(describe(killed), "killed by SIGKILL");
    }
}
