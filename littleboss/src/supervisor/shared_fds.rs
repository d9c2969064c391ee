//! A forked child's copies of the supervisor's sockets and files, closed
//! before its exec rather than at it. Close-on-exec closes them only once
//! the exec has loaded the new binary: an exec that hangs (a binary on an
//! NFS server gone, a FUSE mount) would keep them open for as long as it
//! hangs, and with them the service lock (a `flock` lives as long as any
//! copy of its file), the control socket and the listeners. Were the
//! supervisor killed meanwhile, the next `start` would find the service
//! "already running", held by that process.

use std::os::fd::RawFd;

/// The descriptors above `first` open now: read before the fork, which
/// allows no allocation after it, and before `Command::spawn` makes the
/// socket pair on which the forked child tells the parent whether its exec
/// failed (std's, a unix socket in current Rust: listed, it would be closed,
/// and a failed exec would abort the child rather than report). One opened
/// later by another thread is left to its close-on-exec; one closed and
/// its number taken again is judged afresh by [`close_shared`].
pub(super) fn open_above(first: RawFd) -> Vec<RawFd> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    (entries.flatten())
        .filter_map(|entry| entry.file_name().to_str()?.parse::<RawFd>().ok())
        .filter(|&fd| fd > first)
        .collect()
}

/// In the forked child: closes those of `fds` that are sockets (the
/// control socket, listeners, children's channels), files opened to read
/// or write (the service lock) or folders (the control folder's). Not a
/// pipe, nor an `O_PATH` file (a held binary the exec may run through
/// `/proc/self/fd/N`, as [`super::reexec::open_binary`] opens it): those
/// close at the exec.
/// Async-signal-safe: `fstat`, `fcntl` and `close` only.
pub(super) fn close_shared(fds: &[RawFd]) {
    use nix::libc;
    for &fd in fds {
        let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat writes a `stat` into memory we own, and fails
        // harmlessly on a number that is not open.
        if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
            continue;
        }
        // SAFETY: fstat succeeded, so it wrote the whole struct.
        let kind = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
        // SAFETY: F_GETFL reads the descriptor's flags and nothing else.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let file = kind == libc::S_IFREG && flags != -1 && flags & libc::O_PATH == 0;
        if kind == libc::S_IFSOCK || kind == libc::S_IFDIR || file {
            // SAFETY: this process's own copy, in a child about to exec
            // that uses no such descriptor; the parent's stays open.
            unsafe { libc::close(fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    #[test]
    fn what_is_open_above_a_number_is_listed() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let fd = file.as_raw_fd();
        assert!(super::open_above(2).contains(&fd));
        assert!(!super::open_above(fd).contains(&fd));
    }
}
