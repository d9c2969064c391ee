//! The exec of an in-place upgrade and of its rollback: which descriptors
//! survive it, and the call itself. (The signals the supervisor handles
//! are blocked all along: they wait through it, see [`super::signals`].)

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
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
/// will do.
pub(crate) fn open_binary(pid: &str, inherited: bool) -> io::Result<OwnedFd> {
    let mut flags = OFlag::O_PATH;
    if !inherited {
        flags |= OFlag::O_CLOEXEC;
    }
    let path = format!("/proc/{pid}/exe");
    Ok(nix::fcntl::open(path.as_str(), flags, Mode::empty())?)
}

/// Makes `fds` survive an exec (or, `false`, not).
pub(crate) fn inherit(fds: &[RawFd], on: bool) -> io::Result<()> {
    let flags = if on {
        FdFlag::empty()
    } else {
        FdFlag::FD_CLOEXEC
    };
    for &fd in fds {
        // SAFETY: the fd is open for the whole call: it is one this
        // process holds and hands on (the caller's list).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        fcntl(fd, FcntlArg::F_SETFD(flags))?;
    }
    Ok(())
}

/// Replaces this process's image with `binary`, with this process's argv
/// and environment, the upgrade variables replaced by `upgrade`. Returns
/// only if the exec failed.
pub(crate) fn exec(binary: &OwnedFd, upgrade: &[(&str, &str)]) -> io::Error {
    let args: Vec<CString> = std::env::args_os().filter_map(c_string).collect();
    let ours = [handoff::ENV_VAR, handoff::FAILED_VAR];
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| !ours.iter().any(|o| k == o))
        .filter_map(|(k, v)| {
            let mut entry = k;
            entry.push("=");
            entry.push(v);
            c_string(entry)
        })
        .collect();
    for (key, value) in upgrade {
        env.extend(c_string(format!("{key}={value}").into()));
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
