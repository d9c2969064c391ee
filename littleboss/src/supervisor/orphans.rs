//! Orphaned descendants: the supervisor adopts and reaps them.
//!
//! A child's own children are reparented when it dies. Under a container
//! runtime the supervisor is often PID 1 and they come to it anyway; as a
//! child subreaper it adopts them everywhere, so none is left as a zombie
//! and nothing escapes the service. Its own children are reaped by their
//! watchers (through tokio); this reaps only the others, picked out of
//! `/proc` by pid, so it never takes a child's exit status from tokio.

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

/// Reaps every zombie child of ours that `owned` does not claim; returns
/// how many.
pub(crate) fn reap(owned: impl Fn(u32) -> bool) -> usize {
    let me = std::process::id();
    // nix's Dir hands out each entry's name in place, where std's read_dir
    // allocates twice for every process on the machine.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(mut dir) = Dir::open("/proc", flags, Mode::empty()) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in dir.iter().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .ok()
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

/// Whether `/proc/PID/stat` says: state Z, parent `parent`. The scan reads
/// every process on the machine after each child's exit, so this uses
/// stack buffers rather than allocating for each one.
fn is_zombie_child_of(pid: u32, parent: u32) -> bool {
    use std::io::{Read, Write};
    use std::os::unix::ffi::OsStrExt;

    let mut path = [0u8; 32];
    let mut cursor = std::io::Cursor::new(&mut path[..]);
    if write!(cursor, "/proc/{pid}/stat").is_err() {
        return false;
    }
    let len = cursor.position() as usize;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&path[..len]));
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    // The fields we need come before the 200th byte after the name, which
    // is at most 64 bytes (16 on Linux today): 512 bytes hold them.
    let mut stat = [0u8; 512];
    let Ok(read) = file.read(&mut stat) else {
        return false;
    };
    is_zombie_of(&stat[..read], parent)
}

/// Reads state and parent from the text of a `/proc/PID/stat`.
fn is_zombie_of(stat: &[u8], parent: u32) -> bool {
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let Some(close) = stat.iter().rposition(|&b| b == b')') else {
        return false;
    };
    let Ok(rest) = std::str::from_utf8(&stat[close + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    fields.next() == Some("Z") && fields.next().and_then(|p| p.parse().ok()) == Some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_state_and_parent_after_the_last_parenthesis() {
        assert!(is_zombie_of(b"123 (a) b) c) Z 77 123 123 0", 77));
        assert!(!is_zombie_of(b"123 (a) b) c) Z 78 123 123 0", 77));
        assert!(!is_zombie_of(b"123 (sleep) S 77 123 123 0", 77));
        assert!(!is_zombie_of(b"garbage", 77));
    }

    #[test]
    fn this_process_is_not_a_zombie() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        assert!(!is_zombie_child_of(me, parent));
    }
}
