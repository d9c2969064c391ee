//! A forked child's copies of the supervisor's sockets and files, closed
//! before its exec rather than at it. Close-on-exec closes them only once
//! the exec has loaded the new binary: an exec that hangs (a binary on an
//! NFS server gone, a FUSE mount) would keep them open for as long as it
//! hangs, and with them the service lock (a `flock` lives as long as any
//! copy of its file), the control socket and the listeners. Were the
//! supervisor killed meanwhile, the next `start` would find the service
//! "already running", held by that process.

use std::os::fd::RawFd;

/// A descriptor as listed: its number, and the file it named then (device
/// and inode), for the forked child to tell it from another that took the
/// number since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Listed {
    fd: RawFd,
    dev: u64,
    ino: u64,
}

/// The descriptors above `first` open now: read before the fork, which
/// allows no allocation after it, and before `Command::spawn` makes the
/// socket pair on which the forked child tells the parent whether its exec
/// failed (std's, a unix socket in current Rust: listed, it would be
/// closed, and a failed exec would abort the child rather than report).
/// One opened later by another thread is left to its close-on-exec; one
/// closed since, its number taken by another (std's socket among them),
/// is told apart by its identity and left alone.
pub(super) fn open_above(first: RawFd) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    (entries.flatten())
        .filter_map(|entry| entry.file_name().to_str()?.parse::<RawFd>().ok())
        .filter(|&fd| fd > first)
        .filter_map(|fd| {
            let (dev, ino) = identity(fd)?;
            Some(Listed { fd, dev, ino })
        })
        .collect()
}

/// The device and inode of what `fd` names, and its kind (`S_IFMT`), if
/// it is open. Async-signal-safe: `fstat` only.
fn stat(fd: RawFd) -> Option<(u64, u64, nix::libc::mode_t)> {
    let mut stat = std::mem::MaybeUninit::<nix::libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into memory we own, and fails
    // harmlessly on a number that is not open.
    if unsafe { nix::libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it wrote the whole struct.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_dev, stat.st_ino, stat.st_mode & nix::libc::S_IFMT))
}

/// The device and inode of what `fd` names, if it is open.
fn identity(fd: RawFd) -> Option<(u64, u64)> {
    stat(fd).map(|(dev, ino, _)| (dev, ino))
}

/// In the forked child: closes those of `listed` that still name what they
/// did when listed and are sockets (the control socket, listeners,
/// children's channels), files opened to read or write (the service lock)
/// or folders (the control folder's). Not a pipe, nor an `O_PATH` file (a
/// held binary the exec may run through `/proc/self/fd/N`, as
/// [`super::reexec::open_binary`] opens it): those close at the exec.
/// Async-signal-safe: `fstat`, `fcntl` and `close` only.
///
/// # Safety
///
/// Only in a child forked to exec, which uses none of these descriptors:
/// elsewhere it would close what `OwnedFd`s of this process still own.
pub(super) unsafe fn close_shared(listed: &[Listed]) {
    use nix::libc;
    for &Listed { fd, dev, ino } in listed {
        let Some((now_dev, now_ino, kind)) = stat(fd) else {
            continue;
        };
        if (now_dev, now_ino) != (dev, ino) {
            continue;
        }
        // SAFETY: F_GETFL reads the descriptor's flags and nothing else.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let file = kind == libc::S_IFREG && flags != -1 && flags & libc::O_PATH == 0;
        if kind == libc::S_IFSOCK || kind == libc::S_IFDIR || file {
            // SAFETY: this process's own copy, in a child about to exec
            // that uses no such descriptor (the caller's promise); the
            // parent's stays open.
            unsafe { libc::close(fd) };
        }
    }
}

/// How far above the highest descriptor listed a forked child marks what
/// is open close-on-exec where `close_range` is refused: a descriptor
/// another thread opens meanwhile takes the lowest free number, so within
/// this of the listing's.
const MARK_HEADROOM: RawFd = 1024;

/// The descriptor numbers a forked child marks close-on-exec, from
/// `first` up to [`MARK_HEADROOM`] past the highest of `listed`: read
/// before the fork.
pub(super) fn to_mark(first: RawFd, listed: &[Listed]) -> std::ops::Range<RawFd> {
    let highest = listed.iter().map(|l| l.fd).max().unwrap_or(first);
    first..highest.max(first).saturating_add(MARK_HEADROOM)
}

/// In the forked child, where `close_range` is refused: marks every
/// descriptor open in `numbers` close-on-exec, as `close_range` would have
/// (a number not open fails harmlessly). Async-signal-safe: `fcntl` only.
pub(super) fn mark_close_on_exec(numbers: std::ops::Range<RawFd>) {
    use nix::libc;
    for fd in numbers {
        // SAFETY: F_GETFD and F_SETFD read and set the descriptor's own
        // flags, in a child about to exec; the parent's are its own.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags != -1 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    #[test]
    fn the_numbers_to_mark_reach_past_the_highest_listed() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let listed = super::open_above(2);
        let numbers = super::to_mark(3, &listed);
        assert_eq!(numbers.start, 3);
        assert!(numbers.contains(&file.as_raw_fd()));
        let highest = listed.iter().map(|l| l.fd).max().unwrap();
        assert_eq!(numbers.end, highest + super::MARK_HEADROOM);
        // Nothing listed (no `/proc`): still the headroom.
        assert_eq!(super::to_mark(4, &[]), 4..4 + super::MARK_HEADROOM);
    }

    #[test]
    fn what_is_open_above_a_number_is_listed() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let fd = file.as_raw_fd();
        let listed = |first| {
            super::open_above(first)
                .into_iter()
                .map(|l| l.fd)
                .collect::<Vec<_>>()
        };
        assert!(listed(2).contains(&fd));
        assert!(!listed(fd).contains(&fd));
    }

    #[test]
    fn a_number_taken_by_another_file_since_the_listing_is_left_open() {
        // Listed, then closed, and its number taken by a socket (as std's
        // exec-error socket may take it): the child must not close that.
        let path = std::env::temp_dir().join(format!("lb-shared-fds-{}", std::process::id()));
        let open_file = || std::fs::File::create(&path).unwrap();
        let listed_as = |fd| -> Vec<_> {
            super::open_above(2)
                .into_iter()
                .filter(|l| l.fd == fd)
                .collect()
        };
        // SAFETY: F_GETFD only reads a descriptor's flags.
        let is_open = |fd| unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) } != -1;
        let file = open_file();
        let fd = file.as_raw_fd();
        let listed = listed_as(fd);
        assert_eq!(listed.len(), 1);
        drop(file);
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        if socket.as_raw_fd() == fd {
            // SAFETY: the listed number names another file now (the
            // socket: another device and inode), which `close_shared`
            // leaves open, as asserted: nothing is closed here.
            unsafe { super::close_shared(&listed) };
            assert!(is_open(fd), "closed a socket that took a listed number");
        } else {
            eprintln!("not checked: another thread took the number");
        }
        // What was listed, still open, is closed.
        let file = open_file();
        let fd = file.as_raw_fd();
        // SAFETY: `file` owns what is closed, and is forgotten below
        // rather than closed again.
        unsafe { super::close_shared(&listed_as(fd)) };
        assert!(!is_open(fd), "left open what it listed");
        // Closed already: not closed again.
        std::mem::forget(file);
        let _ = std::fs::remove_file(&path);
    }
}
