//! A unix SOCK_SEQPACKET socketpair and file descriptors passed over it
//! with SCM_RIGHTS.
//!
//! SEQPACKET keeps message boundaries (so an fd arrives with exactly the
//! message that names it) and, unlike SOCK_DGRAM, reports end-of-file when
//! the peer is gone: that is how a child learns its supervisor died.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

/// The largest message the supervisor sends (its hello, which lists the
/// listeners), fds aside.
pub(crate) const MAX_TO_CHILD: usize = 64 * 1024;
/// The largest message a child sends: a few hundred bytes at most. A small
/// buffer keeps the supervisor from carving 64 KiB out of its heap for
/// every message of every child.
pub(crate) const MAX_FROM_CHILD: usize = 4 * 1024;
/// The most fds one message carries (the kernel's own limit is 253).
pub(crate) const MAX_FDS: usize = 253;

/// Why an inherited descriptor cannot be adopted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdoptError {
    /// Nothing is open at `fd`.
    NotOpen { fd: RawFd },
    /// It cannot be made close-on-exec (it is closed by then).
    Flags { fd: RawFd, error: nix::Error },
}

impl std::fmt::Display for AdoptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdoptError::NotOpen { fd } => write!(f, "fd {fd} is not open"),
            AdoptError::Flags { fd, error } => write!(f, "fd {fd}: {error}"),
        }
    }
}

impl std::error::Error for AdoptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdoptError::NotOpen { .. } => None,
            AdoptError::Flags { error, .. } => Some(error),
        }
    }
}

/// Whether descriptor `fd` is open in this process.
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: fcntl(F_GETFD) only asks whether the descriptor is open.
    unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) != -1 }
}

/// Takes ownership of the inherited, open descriptor `fd` and makes it
/// close-on-exec, so that it reaches no program this one starts. The error
/// names the fd.
///
/// # Safety
///
/// Nothing else in this process may own `fd`, now or later.
pub(crate) unsafe fn adopt(fd: RawFd) -> Result<OwnedFd, AdoptError> {
    if !is_open(fd) {
        return Err(AdoptError::NotOpen { fd });
    }
    // SAFETY: `fd` is open (just checked) and the caller guarantees that
    // nothing else owns it, so this OwnedFd is its only owner.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
    if let Err(error) = nix::fcntl::fcntl(&fd, cloexec) {
        // Left open, unowned: whoever takes over after this failure (a
        // rollback's exec) still finds it.
        let fd = fd.into_raw_fd();
        return Err(AdoptError::Flags { fd, error });
    }
    Ok(fd)
}

/// A connected pair, both ends close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Sends one message with `fds` attached. Errors with `WouldBlock` on a
/// non-blocking socket whose buffer is full.
pub(crate) fn send(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::other(format!(
            "cannot pass {} fds in one message",
            fds.len()
        )));
    }
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &rights };
    let iov = [IoSlice::new(data)];
    // MSG_NOSIGNAL: a dead peer is an EPIPE error here, not a SIGPIPE.
    let sent = socket::sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)?;
    if sent != data.len() {
        return Err(io::Error::other("short write on a SEQPACKET socket"));
    }
    Ok(())
}

/// One received message: its bytes and the fds that came with it.
/// Empty bytes and no fds means the peer closed its end.
#[derive(Debug)]
pub(crate) struct Received {
    pub data: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// Receives one message of at most `capacity` bytes. The fds arrive
/// close-on-exec.
pub(crate) fn recv(sock: BorrowedFd<'_>, capacity: usize) -> io::Result<Received> {
    let mut buf = vec![0u8; capacity];
    let mut cmsg_space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (len, fds, truncated) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = socket::recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let truncated = msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
        // The fds of a message whose bytes were cut (MSG_TRUNC) are taken
        // all the same, to be closed with it rather than leak. Its control
        // data cut (MSG_CTRUNC) cannot be parsed (nix refuses): the buffer
        // holds the kernel's maximum of fds per message, so only a table
        // near its RLIMIT_NOFILE gets there, and the fds the kernel did
        // install then stay open.
        let mut fds = Vec::new();
        if !msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            for cmsg in msg.cmsgs()? {
                if let ControlMessageOwned::ScmRights(raw) = cmsg {
                    for fd in raw {
                        // SAFETY: the kernel has just installed `fd` in our
                        // table for this message; nothing else refers to it.
                        fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                    }
                }
            }
        }
        (msg.bytes, fds, truncated)
    };
    if truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a message on the child channel was too large and was truncated",
        ));
    }
    buf.truncate(len);
    Ok(Received { data: buf, fds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_message_too_large_is_refused_and_its_fds_closed() {
        use nix::fcntl::OFlag;
        let (ours, theirs) = socketpair().unwrap();
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_NONBLOCK).unwrap();
        send(ours.as_fd(), &[b'x'; 100], &[write_end.as_fd()]).unwrap();
        drop(write_end);
        let error = recv(theirs.as_fd(), 10).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        // The write end the message carried is closed with it: the pipe
        // has no writer left, so a read ends at once (with one left, it
        // would fail with EAGAIN).
        let mut read_end = std::fs::File::from(read_end);
        let mut rest = Vec::new();
        assert_eq!(read_end.read_to_end(&mut rest).unwrap(), 0);
    }

    #[test]
    fn adopt_refuses_a_closed_fd_and_marks_an_open_one_close_on_exec() {
        // Far above any fd this process opens, so never open.
        let closed = RawFd::MAX - 1;
        // SAFETY: that fd is not open, so adopt returns before owning it.
        let e = unsafe { adopt(closed) }.unwrap_err();
        assert_eq!(e, AdoptError::NotOpen { fd: closed });
        assert_eq!(e.to_string(), format!("fd {closed} is not open"));
        let raw = std::os::fd::IntoRawFd::into_raw_fd(
            socket::socket(
                AddressFamily::Inet,
                SockType::Stream,
                SockFlag::empty(),
                None,
            )
            .unwrap(),
        );
        // SAFETY: `raw` came from into_raw_fd just above; nothing else owns it.
        let fd = unsafe { adopt(raw) }.unwrap();
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(flags & nix::libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn passes_a_working_fd_with_its_message() {
        let (a, b) = socketpair().unwrap();
        let (mut r, mut w) = std::os::unix::net::UnixStream::pair().unwrap();
        send(a.as_fd(), b"hello", &[w.as_fd()]).unwrap();
        let got = recv(b.as_fd(), 64).unwrap();
        assert_eq!(got.data, b"hello");
        assert_eq!(got.fds.len(), 1);
        let mut passed = std::os::unix::net::UnixStream::from(got.fds.into_iter().next().unwrap());
        passed.write_all(b"x").unwrap();
        let mut byte = [0u8];
        r.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
        w.write_all(b"y").unwrap();
    }

    #[test]
    fn closed_peer_reads_as_empty() {
        let (a, b) = socketpair().unwrap();
        drop(a);
        let got = recv(b.as_fd(), 64).unwrap();
        assert!(got.data.is_empty() && got.fds.is_empty());
    }
}
