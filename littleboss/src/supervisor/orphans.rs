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
use nix::unistd::Pid;

use super::machine::ChildExit;
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
    use nix::libc;
    let peek = super::pidfd::REAP | libc::WNOWAIT;
    // None left, or no child at all (ECHILD).
    while let Ok(Some((pid, _))) = super::pidfd::ended(libc::P_ALL, 0, peek) {
        if owned(pid.as_raw() as u32) {
            return Scan::Again;
        }
        // Reaped by someone else meanwhile, or not: look again.
        reap_one(pid);
    }
    Scan::Done
}

/// Reaps `pid` if it is a zombie child of ours, saying how it ended.
fn reap_one(pid: Pid) {
    let reaped = super::pidfd::reap(nix::libc::P_PID, pid.as_raw() as nix::libc::id_t);
    // Running, not our child, or reaped by someone else: nothing to say.
    let Ok(Some(exit)) = reaped else {
        return;
    };
    match exit {
        ChildExit::Code(code) => log!("reaped orphaned process pid {pid} (exit code {code})"),
        ChildExit::Signal(signal) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(signal) => log!("reaped orphaned process pid {pid} (killed by {signal})"),
            Err(_) => log!("reaped orphaned process pid {pid} (killed by a real-time signal)"),
        },
    }
}
