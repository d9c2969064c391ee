//! The exec of an in-place upgrade and of its rollback: which descriptors
//! survive it, and the call itself. (The signals the supervisor handles
//! are blocked all along: they wait through it, see [`super::signals`].)

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, fstat};

use super::handoff;
use super::machine::FileId;

/// A file's identity.
pub(crate) fn identity(fd: impl AsFd) -> io::Result<FileId> {
    let stat = fstat(fd)?;
    Ok(FileId {
        dev: stat.st_dev,
        ino: stat.st_ino,
    })
}

/// Opens the binary that process `pid` runs (`self` for this one), for
/// an exec: what the process runs, even if its path was replaced since.
/// `O_PATH`, so that a binary one may execute but not read (mode 0111)
/// will do (and so that a forked child keeps it open until its exec runs
/// it: see `shared_fds::close_shared`). Close-on-exec: an exec that hands
/// it on makes it inheritable at the last moment ([`inherit`]).
pub(crate) fn open_binary(pid: &str) -> io::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    // This process's own, by `self`, whatever numbers `/proc` uses.
    let path = match pid {
        "self" => "/proc/self/exe".to_owned(),
        pid => crate::proc_pid::path(pid, "exe").ok_or_else(|| {
            let why = crate::proc_pid::numbers_ours_now().err();
            io::Error::other(format!(
                "cannot read /proc: {}",
                why.unwrap_or("unreadable")
            ))
        })?,
    };
    Ok(nix::fcntl::open(path.as_str(), flags, Mode::empty())?)
}

/// Makes `fds` survive an exec (or, `false`, not). Every one is seen to,
/// even after a failure (one closed meanwhile): a rollback must not lose
/// the rest. Returns the first error.
pub(crate) fn inherit(fds: &[RawFd], on: bool) -> io::Result<()> {
    let flags = if on { 0 } else { nix::libc::FD_CLOEXEC };
    let mut first = None;
    for &fd in fds {
        // SAFETY: fcntl(F_SETFD) on a descriptor number touches no memory;
        // one that is not open fails with EBADF.
        if unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, flags) } == -1 {
            first.get_or_insert_with(io::Error::last_os_error);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Replaces this process's image with `binary`, with this process's argv,
/// the environment `vars`, the upgrade variables replaced by `upgrade`,
/// and systemd's left out (the handoff carries what they said; they stay
/// in the environment where threads started before `run` kept the
/// supervisor from removing them). Returns only if the exec failed.
pub(crate) fn exec(
    binary: &OwnedFd,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    upgrade: &[(&str, &str)],
) -> io::Error {
    let args: Vec<CString> = std::env::args_os().filter_map(c_string).collect();
    let mut env: Vec<CString> = (vars.into_iter())
        .filter(|(k, _)| !handoff::VARS.iter().any(|o| k == o))
        .filter(|(k, _)| !crate::notify::VARS.iter().any(|o| k == o))
        .filter(|(k, _)| !crate::activation::ALL_VARS.iter().any(|o| k == o))
        .filter_map(|(k, v)| {
            let mut entry = k;
            entry.push("=");
            entry.push(v);
            c_string(entry)
        })
        .collect();
    for (key, value) in upgrade {
        // Left out, it would leave the image it runs mistaken (one going
        // back, with no reason, takes itself for the new one).
        let Some(var) = c_string(format!("{key}={value}").into()) else {
            return io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{key} holds a NUL, which no environment variable can"),
            );
        };
        env.push(var);
    }
    match nix::unistd::fexecve(binary, &args, &env) {
        Ok(never) => match never {},
        Err(e) => e.into(),
    }
}

/// An argument or variable as exec takes it (none has a NUL inside).
fn c_string(s: OsString) -> Option<CString> {
    CString::new(s.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsRawFd, OwnedFd};

    use crate::inherited::tests::open_across_exec as survives_exec;

    #[test]
    fn a_closed_descriptor_in_the_list_does_not_cost_the_others() {
        let first = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let last = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        // A number no process here can have open (above RLIMIT_NOFILE).
        let closed = i32::MAX - 1;
        let list = [first.as_raw_fd(), closed, last.as_raw_fd()];
        let error = super::inherit(&list, true).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(nix::libc::EBADF));
        assert!(survives_exec(&first) && survives_exec(&last));
        assert!(super::inherit(&list, false).is_err());
        assert!(!survives_exec(&first) && !survives_exec(&last));
    }
}
