//! Orphaned descendants: the supervisor adopts and reaps them.
//!
//! A child's own children are reparented when it dies. Under a container
//! runtime the supervisor is often PID 1 and they come to it anyway; as a
//! child subreaper it adopts them everywhere, so none is left as a zombie
//! and nothing escapes the service. Its own children are reaped by their
//! watchers (through pidfds, or by pid); this reaps only the others, picked out of
//! `/proc` by pid, so it never takes a child's exit status from its
//! watcher.

use nix::dir::Dir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::log::log;

/// Makes this process the reaper of its orphaned descendants.
pub(crate) fn adopt_orphans() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        log!("cannot become a child subreaper ({e}); orphans go to init");
    }
}

/// Reaps every zombie child of ours that `owned` does not claim. One
/// `waitpid(WNOHANG)` per process answers it all: a process that is not
/// our child fails at once (ECHILD), a live one is left running.
pub(crate) fn reap(owned: impl Fn(u32) -> bool) {
    // nix's Dir hands out each entry's name in place, where std's read_dir
    // allocates twice for every process on the machine.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut dir = match Dir::open("/proc", flags, Mode::empty()) {
        Ok(dir) => dir,
        Err(e) => {
            // Said once: a chroot or a container without /proc leaves the
            // orphans the subreaper adopts as zombies.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                crate::log::log!(
                    "cannot read /proc ({e}): orphaned descendants the supervisor adopts are not reaped (mount /proc where it runs)"
                )
            });
            return;
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
        match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => {
                log!("reaped orphaned process pid {pid} (exit code {code})");
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                log!("reaped orphaned process pid {pid} (killed by {signal})");
            }
            _ => {}
        }
    }
}
