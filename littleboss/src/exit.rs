//! Leaving the process: messages for the user and exit codes.

use crate::log::log;

/// Exit code for a usage mistake (bad flag value, unknown mode), as Go's
/// flag package and clap use.
pub(crate) const USAGE: i32 = 2;

/// Prints `littleboss: {msg}` to stderr and exits with `code`.
pub(crate) fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    log!("{msg}");
    crate::log::flush_for_exit();
    std::process::exit(code)
}

/// Exit code of a control command (`status`, `reload`, `stop`) that found
/// no supervisor running: `3`, as an init script's `status` says "not
/// running" (the LSB convention, also `systemctl status`'s).
pub(crate) const NOT_RUNNING: i32 = 3;

/// Exit code of a control command that cannot tell what the supervisor
/// does: unreachable, not to be trusted, or no answer in time. `4`, LSB's
/// "status unknown"; a `reload` or `stop` so ended may go on regardless.
pub(crate) const UNKNOWN: i32 = 4;
