//! A copy of the supervisor that `supervisor_init` forked and that came
//! back into littleboss: told from the supervisor, and ended.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use crate::log::log;

/// How long a copy waits for the supervisor to end, in milliseconds: a
/// daemon's detach exits at once (its atexit work takes up to a second),
/// while a helper's fork that fell through has a supervisor that goes on.
const ENDED_WITHIN_MS: u16 = 2000;

/// Whether `fd` is a pidfd of process `pid`, as `/proc` shows it (not
/// known without `/proc`: no): `Pid: PID`, or, with `ended_ok`, once that
/// process has ended and been reaped (Linux 5.10 on), `Pid: -1` while no
/// process `pid` is left (another ended one's pidfd shows -1 too).
pub(super) fn pidfd_of(fd: &OwnedFd, pid: u32, ended_ok: bool) -> bool {
    let info = crate::control::watch::fdinfo(fd.as_raw_fd());
    let gone = || {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        nix::sys::signal::kill(pid, None) == Err(nix::errno::Errno::ESRCH)
    };
    match info.as_deref().and_then(pid_shown) {
        Some(shown) if shown == pid.to_string() => true,
        Some(shown) => ended_ok && shown == "-1" && gone(),
        None => false,
    }
}

/// The `Pid:` a pidfd's `/proc/self/fdinfo` text shows (none for another
/// kind of file): its process's, or `-1` once it ended and was reaped.
fn pid_shown(fdinfo: &str) -> Option<&str> {
    (fdinfo.lines()).find_map(|line| line.strip_prefix("Pid:").map(str::trim))
}

/// Ends a copy of the supervisor that `supervisor_init` forked and went on
/// with (the copy returned to littleboss): it has none of the supervisor's
/// threads (its runtime's, its log's, its signals' reader), which a fork
/// does not copy, nor its subreaper setting. A daemon's detach (the
/// supervisor exits) leaves the control files to the copy, which removes
/// them; a fork the supervisor goes on from (a helper's that fell
/// through) leaves them to it, as does a supervisor whose end cannot be
/// seen (no pidfd, `supervisor`: the stale files are replaced by the
/// next start). Its lines go without the log's queue or any lock a thread
/// held at the fork, and it ends by `_exit`: the supervisor's atexit work
/// and buffered output are not the copy's.
pub(super) fn refuse(
    supervisor_pid: u32,
    supervisor: Option<OwnedFd>,
    clean_up: impl FnOnce(),
) -> ! {
    crate::log::here_only();
    let copy = std::process::id();
    // Readable once the supervisor has ended; only if still its pidfd (the
    // copy may have closed its descriptors, and opened others there).
    let supervisor = supervisor.and_then(|pidfd| match pidfd_of(&pidfd, supervisor_pid, true) {
        true => Some(pidfd),
        // Not closed: its number may be the copy's own file's now.
        false => {
            std::mem::forget(pidfd);
            None
        }
    });
    let ended = supervisor.as_ref().is_some_and(|pidfd| {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        let polled = poll(&mut fds, PollTimeout::from(ENDED_WITHIN_MS));
        let revents = fds[0].revents().unwrap_or(PollFlags::POLLNVAL);
        polled.is_ok_and(|ready| ready > 0)
            && revents.contains(PollFlags::POLLIN)
            && !revents.contains(PollFlags::POLLNVAL)
    });
    if ended {
        log!(
            "supervisor_init forked, and went on in the copy (pid {copy}; the supervisor was pid {supervisor_pid}, now gone), which has none of the supervisor's threads: not starting (to run in the background, leave it to a service manager, or start it with `setsid` and `&`)"
        );
        clean_up();
    } else {
        log!(
            "supervisor_init forked, and the copy (pid {copy}) returned to littleboss while the supervisor (pid {supervisor_pid}) goes on, or cannot be seen to end: the copy exits 1, its files left (a fork there must exec, or end with `_exit`)"
        );
    }
    // SAFETY: ends the process at once; nothing of Rust's is left to
    // run, and the copy has nothing of its own to flush.
    unsafe { nix::libc::_exit(1) }
}

#[cfg(test)]
mod tests {
    use super::pid_shown;

    #[test]
    fn a_pidfd_shows_its_process_or_minus_one_and_another_file_nothing() {
        let pidfd =
            "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\n";
        assert_eq!(pid_shown(pidfd), Some("4242"));
        let ended = "pos:\t0\nflags:\t02000002\nPid:\t-1\nNSpid:\t-1\n";
        assert_eq!(pid_shown(ended), Some("-1"));
        let pipe = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t77\n";
        assert_eq!(pid_shown(pipe), None);
    }
}
