//! Signals a process was started with ignored (`nohup`, a non-interactive
//! shell's background job, `trap '' QUIT`): read, to keep or to undo.

use nix::libc::c_int;

/// Whether signal `number` is ignored (`SIG_IGN`) in this process now.
///
/// ```ignore
/// if !crate::ignored::is_ignored(nix::libc::SIGHUP) { /* handle it */ }
/// ```
pub(crate) fn is_ignored(number: c_int) -> bool {
    let mut current = std::mem::MaybeUninit::<nix::libc::sigaction>::zeroed();
    // SAFETY: with a null new action, sigaction only writes the current
    // one into `current`, which is large enough for it.
    let read = unsafe { nix::libc::sigaction(number, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zeroed, then written by the call if it succeeded.
    read == 0 && unsafe { current.assume_init() }.sa_sigaction == nix::libc::SIG_IGN
}

/// Every signal ignored in this process now, but `keep`, which the
/// caller deals with itself: for a child to have them back at their
/// default before its exec (an exec keeps a signal ignored).
///
/// ```ignore
/// let undo = crate::ignored::all_but(&[nix::libc::SIGHUP]);
/// ```
pub(crate) fn all_but(keep: &[c_int]) -> Vec<c_int> {
    (1..=nix::libc::SIGRTMAX())
        .filter(|number| !keep.contains(number))
        .filter(|&number| is_ignored(number))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ignored_signal_is_seen_and_listed() {
        use nix::sys::signal::{SigHandler, Signal, signal};
        // SIGURG: one no other test touches, its default harmless.
        let urg = nix::libc::SIGURG;
        // SAFETY: SIG_IGN, then the default back: no handler involved.
        unsafe { signal(Signal::SIGURG, SigHandler::SigIgn) }.unwrap();
        assert!(super::is_ignored(urg));
        assert!(super::all_but(&[]).contains(&urg));
        assert!(!super::all_but(&[urg]).contains(&urg));
        // SAFETY: as above.
        unsafe { signal(Signal::SIGURG, SigHandler::SigDfl) }.unwrap();
        assert!(!super::is_ignored(urg));
        assert!(!super::all_but(&[]).contains(&urg));
    }
}
