//! Orphaned descendants: the supervisor adopts and reaps them.
//!
//! A child's own children are reparented when it dies. Under a container
//! runtime the supervisor is often PID 1 and they come to it anyway; as a
//! child subreaper it adopts them everywhere, so none is left as a zombie
//! and nothing escapes the service. Its own children are reaped by their
//! watchers (through pidfds, or by pid); this reaps only the others, picked out of
//! `/proc` by pid (or, without it, one zombie at a time as `waitid` shows
//! them), so it never takes a child's exit status from its watcher.

use nix::dir::Dir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use crate::log::log;

/// Makes this process the reaper of its orphaned descendants.
pub(crate) fn adopt_orphans() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        log!("cannot become a child subreaper ({e}); orphans go to init");
    }
}

/// What a scan for orphans left undone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every zombie not `owned` was reaped.
    Done,
    /// Without `/proc`, a zombie `owned` hid any others behind it: scan
    /// again once its watcher has reaped it.
    Again,
}

/// Reaps every zombie child of ours that `owned` does not claim. One
/// `waitpid(WNOHANG)` per process answers it all: a process that is not
/// our child fails at once (ECHILD), a live one is left running.
pub(crate) fn reap(owned: impl Fn(u32) -> bool) -> Scan {
    // nix's Dir hands out each entry's name in place, where std's read_dir
    // allocates twice for every process on the machine.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let opened = match crate::test_hook::test_hook::<u8>("LITTLEBOSS_TEST_NO_PROC") {
        Some(_) => Err(nix::errno::Errno::ENOENT),
        None => Dir::open("/proc", flags, Mode::empty()),
    };
    let mut dir = match opened {
        Ok(dir) => dir,
        Err(e) => {
            // Said once: a chroot or a container without /proc.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                log!("cannot read /proc ({e}): orphans are reaped by waitid, one zombie at a time")
            });
            return reap_one_by_one(owned);
        }
    };
    for entry in dir.iter().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if owned(pid) {
            continue;
        }
        reap_one(Pid::from_raw(pid as i32));
    }
    Scan::Done
}

/// Without `/proc` to list processes: `waitid(WNOWAIT)` shows a zombie
/// child without reaping it, which is reaped only if not `owned` (its
/// watcher takes an owned one's status). The kernel shows the same first
/// zombie until it is reaped, so an owned one ends the scan.
fn reap_one_by_one(owned: impl Fn(u32) -> bool) -> Scan {
    let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        let pid = match waitid(Id::All, peek) {
            // None left (StillAlive has no pid).
            Ok(status) => status.pid(),
            // No child at all.
            Err(nix::errno::Errno::ECHILD) => None,
            // A status nix cannot express (a death by a real-time
            // signal): the pid as the kernel gave it, or the same zombie
            // would stop every scan from here on.
            Err(_) => peek_zombie(),
        };
        let Some(pid) = pid else {
            return Scan::Done;
        };
        if owned(pid.as_raw() as u32) {
            return Scan::Again;
        }
        // Reaped by someone else meanwhile, or not: look again.
        reap_one(pid);
    }
}

/// Reaps `pid` if it is a zombie child of ours, saying how it ended.
fn reap_one(pid: Pid) {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => {
            log!("reaped orphaned process pid {pid} (exit code {code})");
        }
        Ok(WaitStatus::Signaled(_, signal, _)) => {
            log!("reaped orphaned process pid {pid} (killed by {signal})");
        }
        // Reaped, its status one nix cannot express.
        Err(nix::errno::Errno::EINVAL) => {
            log!("reaped orphaned process pid {pid} (killed by a real-time signal)");
        }
        // Running, not our child, or reaped by someone else.
        _ => {}
    }
}

/// The pid of a zombie child, left a zombie (`waitid` with `WNOWAIT`),
/// read straight off the kernel's answer.
fn peek_zombie() -> Option<Pid> {
    use nix::libc;
    // SAFETY: siginfo_t is plain data, for which all zeros is a valid
    // value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: waitid writes only into `info`, which lives through the
    // call; with WNOWAIT it reaps nothing.
    if unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) } != 0 {
        return None;
    }
    // SAFETY: a waitid answer fills si_pid (0 when nothing is waitable).
    let pid = unsafe { info.si_pid() };
    (pid > 0).then(|| Pid::from_raw(pid))
}
