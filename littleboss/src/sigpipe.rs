//! SIGPIPE ignored in the processes littleboss runs on its own: the
//! supervisor and the control commands.

/// Ignores SIGPIPE, as Rust programs start, should the program's code
/// (`supervisor_init`, a builder program's before `run`) have restored its
/// default: a line written to a closed pipe (a supervisor's `| logger`,
/// restarted; a control command's `2>&1 | head -n1`) must fail quietly,
/// not kill the process and lose its exit code. Children get the default
/// back at their exec (std resets it).
pub(crate) fn ignore() {
    // SAFETY: sets a signal's disposition to SIG_IGN, no handler involved.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_IGN);
    }
}
