//! Leaving the process: messages for the user and exit codes.

use crate::log::log;

/// Exit code for a usage mistake (bad flag value, unknown mode), as Go's
/// flag package and clap use.
pub(crate) const USAGE: i32 = 2;

/// Prints `littleboss: {msg}` to stderr and exits with `code`.
pub(crate) fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    log!("{msg}");
    std::process::exit(code)
}
