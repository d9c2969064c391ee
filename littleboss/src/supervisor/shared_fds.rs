//! A forked child's copies of the supervisor's sockets and files, closed
//! before its exec rather than at it. Close-on-exec closes them only once
//! the exec has loaded the new binary: an exec that hangs (a binary on an
//! NFS server gone, a FUSE mount) would keep them open for as long as it
//! hangs, and with them the service lock (a `flock` lives as long as any
//! copy of its file), the control socket and the listeners. Were the
//! supervisor killed meanwhile, the next `start` would find the service
//! "already running", held by that process.

use nix::libc;
use std::os::fd::RawFd;

/// In the forked child: closes each descriptor above `first` that is a
/// socket (the control socket, listeners, children's channels), a file
/// opened to read or write (the service lock) or a folder (the control
/// folder's). Not a pipe (std's, which tells the parent whether the exec
/// failed), nor an `O_PATH` file (a held binary the exec may run through
/// `/proc/self/fd/N`, as [`super::reexec::open_binary`] opens it): those
/// close at the exec. Listed here, after the fork, not before it: one
/// another thread of the supervisor opened in between is closed too.
/// Without `/proc`, nothing is closed here (close-on-exec still closes
/// them at the exec).
///
/// Async-signal-safe: `open`, `getdents64`, `fstat`, `fcntl` and `close`
/// only, into a buffer on the stack.
pub(super) fn close_shared_above(first: RawFd) {
    // SAFETY: open with a constant, NUL-terminated path; the descriptor
    // is this function's, closed below.
    let dir = unsafe {
        libc::open(
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dir < 0 {
        return;
    }
    // Aligned for the kernel's records, whose fields are read as bytes.
    let mut buffer = [0u64; 512];
    loop {
        // SAFETY: getdents64 writes at most the buffer's length into
        // memory we own, and returns how much it wrote.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir,
                buffer.as_mut_ptr(),
                std::mem::size_of_val(&buffer),
            )
        };
        if read <= 0 {
            break;
        }
        // SAFETY: the buffer's bytes, as many as the kernel wrote.
        let bytes =
            unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), read as usize) };
        for fd in numbers(bytes) {
            // Closing one listed already does not move the listing on:
            // /proc lists a process's descriptors by number.
            if fd > first && fd != dir {
                close_if_shared(fd);
            }
        }
    }
    // SAFETY: the descriptor opened above.
    unsafe { libc::close(dir) };
}

/// The descriptor numbers among `getdents64` records (`linux_dirent64`:
/// inode and offset, 8 bytes each, then a 2-byte record length, a type
/// byte and the NUL-terminated name); `.` and `..` are no numbers.
fn numbers(mut records: &[u8]) -> impl Iterator<Item = RawFd> + '_ {
    std::iter::from_fn(move || {
        loop {
            let length = u16::from_ne_bytes([*records.get(16)?, *records.get(17)?]) as usize;
            let record = records.get(..length).filter(|_| length > 19)?;
            records = &records[length..];
            let name = &record[19..];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(fd) = decimal(name) {
                return Some(fd);
            }
        }
    })
}

/// `digits` as a descriptor number, if that is all they are.
fn decimal(digits: &[u8]) -> Option<RawFd> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0 as RawFd, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(RawFd::from(digit))
    })
}

/// Closes `fd` if it is a socket, a folder, or a file open to read or
/// write (not `O_PATH`).
fn close_if_shared(fd: RawFd) {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into memory we own, and fails
    // harmlessly on a number that is not open.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: fstat succeeded, so it wrote the whole struct.
    let kind = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    // SAFETY: F_GETFL reads the descriptor's flags and nothing else.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let file = kind == libc::S_IFREG && flags != -1 && flags & libc::O_PATH == 0;
    if kind == libc::S_IFSOCK || kind == libc::S_IFDIR || file {
        // SAFETY: this process's own copy, in a child about to exec that
        // uses no such descriptor; the parent's stays open.
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, OwnedFd};

    #[test]
    fn descriptor_numbers_are_read_from_the_records() {
        let record = |name: &[u8]| {
            // Padded to 8 bytes, as the kernel pads them.
            let length = (19 + name.len() + 1).next_multiple_of(8);
            let mut r = vec![0u8; length];
            r[16..18].copy_from_slice(&(length as u16).to_ne_bytes());
            r[19..19 + name.len()].copy_from_slice(name);
            r
        };
        let records: Vec<u8> = [&b"."[..], b"..", b"0", b"17", b"2147483647", b"2147483648"]
            .into_iter()
            .flat_map(record)
            .collect();
        assert_eq!(
            numbers(&records).collect::<Vec<_>>(),
            [0, 17, RawFd::MAX],
            "dots and a number too large are no descriptors"
        );
        // A record cut short (a length past the end, or too small to
        // hold a name) ends the reading.
        let two: Vec<u8> = [&b"3"[..], b"4"].into_iter().flat_map(record).collect();
        assert_eq!(numbers(&two).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(numbers(&two[..two.len() - 4]).collect::<Vec<_>>(), [3]);
        let mut bad = record(b"5");
        bad[16..18].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(numbers(&bad).count(), 0);
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal(b"1a"), None);
    }

    #[test]
    fn a_forked_child_closes_the_shared_kinds_opened_up_to_the_fork() {
        // Opened just before the fork, as another thread's would be after
        // a listing made earlier.
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let folder = std::fs::File::open("/proc").unwrap();
        let (pipe_read, pipe_write) = nix::unistd::pipe().unwrap();
        let path: OwnedFd = nix::fcntl::open(
            "/proc/self/exe",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        let closed = [socket.as_raw_fd(), file.as_raw_fd(), folder.as_raw_fd()];
        let kept = [
            pipe_read.as_raw_fd(),
            pipe_write.as_raw_fd(),
            path.as_raw_fd(),
        ];
        // SAFETY: the child calls only async-signal-safe functions (this
        // module's, fcntl and _exit) before it exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                close_shared_above(2);
                // SAFETY: F_GETFD only reads a descriptor's flags.
                let open = |fd: RawFd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
                let code = closed.iter().filter(|&&fd| open(fd)).count()
                    + 10 * kept.iter().filter(|&&fd| !open(fd)).count();
                // SAFETY: ends the forked child without running the
                // parent's exit handlers.
                unsafe { libc::_exit(code as i32) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(
                    status,
                    nix::sys::wait::WaitStatus::Exited(child, 0),
                    "ones: shared left open; tens: others closed"
                );
            }
        }
        drop((socket, file, folder, pipe_read, pipe_write, path));
    }
}
