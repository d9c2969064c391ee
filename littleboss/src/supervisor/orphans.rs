//! Orphaned descendants: the supervisor adopts and reaps them.
//!
//! A child's own children are reparented when it dies. Under a container
//! runtime the supervisor is often PID 1 and they come to it anyway; as a
//! child subreaper it adopts them everywhere, so none is left as a zombie
//! and nothing escapes the service. Its own children are reaped by their
//! watchers (through tokio); this reaps only the others, picked out of
//! `/proc` by pid, so it never takes a child's exit status from tokio.

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::log::log;

/// Makes this process the reaper of its orphaned descendants.
pub(crate) fn adopt_orphans() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        log!("cannot become a child subreaper ({e}); orphans go to init");
    }
}

/// Reaps every zombie child of ours that `owned` does not claim; returns
/// how many.
pub(crate) fn reap(owned: impl Fn(u32) -> bool) -> usize {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut reaped = 0;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if owned(pid) || !is_zombie_child_of(pid, me) {
            continue;
        }
        match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => {
                log!("reaped orphaned process pid {pid} (exit code {code})");
                reaped += 1;
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                log!("reaped orphaned process pid {pid} (killed by {signal})");
                reaped += 1;
            }
            _ => {}
        }
    }
    reaped
}

/// Whether `/proc/PID/stat` says: state Z, parent `parent`.
fn is_zombie_child_of(pid: u32, parent: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    fields.next() == Some("Z") && fields.next().and_then(|p| p.parse().ok()) == Some(parent)
}
