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
/// listeners), fds aside: a spawn refuses a larger hello, naming why.
pub(crate) const MAX_TO_CHILD: usize = 64 * 1024;
/// The largest message a child sends: a few hundred bytes at most. A small
/// buffer keeps the supervisor from carving 64 KiB out of its heap for
/// every message of every child.
pub(crate) const MAX_FROM_CHILD: usize = 4 * 1024;
/// The most fds one message carries (the kernel's own limit is 253).
pub(crate) const MAX_FDS: usize = 253;

// Every listener a program may declare goes to a child in one hello.
const _: () = assert!(crate::rules::MAX_LISTENERS <= MAX_FDS);

/// Why an inherited descriptor cannot be adopted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdoptError {
    /// Nothing is open at `fd`.
    NotOpen { fd: RawFd },
    /// It cannot be made close-on-exec (it is closed by then).
    Flags { fd: RawFd, error: nix::Error },
    /// Something else is open at `fd` than what was handed over: the
    /// program's code before `run` closed it, and opened a file there.
    Replaced { fd: RawFd },
    /// A handoff names `fd` a second time, once taken already: a second
    /// owner would close it under the first.
    NamedTwice { fd: RawFd },
    /// A handoff names `fd`, which cannot be one handed over: no
    /// descriptor number, or one the handoff itself comes in (the state,
    /// the previous binary).
    Reserved { fd: RawFd },
}

impl std::fmt::Display for AdoptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdoptError::NotOpen { fd } => write!(f, "fd {fd} is not open"),
            AdoptError::Flags { fd, error } => write!(f, "fd {fd}: {error}"),
            AdoptError::Replaced { fd } => write!(
                f,
                "fd {fd} is another file than the one handed over (closed and opened again by code before `run`?)"
            ),
            AdoptError::NamedTwice { fd } => write!(
                f,
                "fd {fd} is named twice in the handed-over state, and taken already as the other"
            ),
            AdoptError::Reserved { fd } => write!(
                f,
                "fd {fd} cannot be one handed over (it is no descriptor, or one the handed-over state itself came in)"
            ),
        }
    }
}

impl std::error::Error for AdoptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdoptError::NotOpen { .. }
            | AdoptError::Replaced { .. }
            | AdoptError::NamedTwice { .. }
            | AdoptError::Reserved { .. } => None,
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
/// Empty bytes and no fds means the peer closed its end, or sent an
/// empty packet (which `link::ended_or_empty` tells apart).
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
    let (len, mut fds, flags) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = socket::recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let mut fds = Vec::new();
        // nix refuses to parse cut control data (MSG_CTRUNC): see below.
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
        (msg.bytes, fds, msg.flags)
    };
    // The fds of a message cut short are taken all the same, to be closed
    // with it rather than leak.
    let fds_cut = flags.contains(MsgFlags::MSG_CTRUNC);
    if fds_cut {
        // The buffer holds the kernel's maximum of fds per message, so the
        // cut means the table hit RLIMIT_NOFILE or could not grow (out of
        // memory), or a security module refused one (the channel passes
        // no credentials, which would take room first): the kernel
        // installed those before, recorded their number, and dropped the
        // rest.
        for fd in installed_before_cut(&cmsg_space) {
            // SAFETY: as above.
            fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    let truncated = if flags.contains(MsgFlags::MSG_TRUNC) {
        Some(CUT_BYTES)
    } else {
        fds_cut.then_some(CUT_FDS)
    };
    if let Some(why) = truncated {
        return Err(io::Error::new(io::ErrorKind::InvalidData, why));
    }
    buf.truncate(len);
    Ok(Received { data: buf, fds })
}

/// Receives one message of at most `capacity` bytes on a socket whose
/// peer sends no fds (a child, to its supervisor): with no room for any,
/// the kernel installs none (it closes those that came, and says so), so
/// a child sending them cannot fill this process's table or have it run
/// their closes.
pub(crate) fn recv_without_fds(sock: BorrowedFd<'_>, capacity: usize) -> io::Result<Received> {
    let mut buf = vec![0u8; capacity];
    let (len, flags) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, None, MsgFlags::empty())?;
        (msg.bytes, msg.flags)
    };
    if flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, CUT_BYTES));
    }
    if flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, UNASKED_FDS));
    }
    buf.truncate(len);
    Ok(Received {
        data: buf,
        fds: Vec::new(),
    })
}

const UNASKED_FDS: &str = "a message on the child channel came with descriptors, which a child never sends (closed unread)";
const CUT_BYTES: &str = "a message on the child channel was too large and was truncated";
const CUT_FDS: &str = "the descriptors that came with a message on the child channel \
    could not all be received: this process is at its open-file limit (RLIMIT_NOFILE) \
    or out of memory, or a security policy (SELinux, AppArmor) refused one";

/// The fds in the SCM_RIGHTS messages of `control`, a buffer the kernel
/// filled and cut (MSG_CTRUNC): on a cut it still writes each message's
/// header, its length counting the fds it installed. The buffer starts
/// zeroed, so where nothing was written a header of length zero ends it.
fn installed_before_cut(control: &[u8]) -> Vec<RawFd> {
    use nix::libc::{SCM_RIGHTS, SOL_SOCKET, cmsghdr};
    let header = std::mem::size_of::<cmsghdr>();
    // Each message starts aligned as the kernel aligns it (CMSG_ALIGN).
    let align = |n: usize| n.next_multiple_of(std::mem::size_of::<usize>());
    let mut fds = Vec::new();
    let mut at = 0;
    while let Some(bytes) = control.get(at..at + header) {
        // SAFETY: `bytes` holds one header's bytes; read_unaligned asks
        // nothing of their alignment.
        let message = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<cmsghdr>()) };
        let len = message.cmsg_len as usize;
        if len < header {
            break;
        }
        if message.cmsg_level == SOL_SOCKET && message.cmsg_type == SCM_RIGHTS {
            // The fds start right after the header, which is already
            // aligned for them on Linux (CMSG_LEN(0) is its size).
            let end = (at + len).min(control.len());
            let data = control.get(at + header..end).unwrap_or_default();
            let fd = |bytes: &[u8]| RawFd::from_ne_bytes(bytes.try_into().expect("an fd's size"));
            fds.extend(data.chunks_exact(std::mem::size_of::<RawFd>()).map(fd));
        }
        at += align(len);
    }
    fds
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
    fn fds_sent_where_none_are_read_are_refused_and_closed() {
        use nix::fcntl::OFlag;
        let (ours, theirs) = socketpair().unwrap();
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_NONBLOCK).unwrap();
        send(ours.as_fd(), b"{}", &[write_end.as_fd()]).unwrap();
        drop(write_end);
        let error = recv_without_fds(theirs.as_fd(), 64).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert_eq!(error.to_string(), UNASKED_FDS);
        // No copy of the write end is left: a read ends at once.
        let mut read_end = std::fs::File::from(read_end);
        let mut rest = Vec::new();
        assert_eq!(read_end.read_to_end(&mut rest).unwrap(), 0);
        // A message without fds is read as ever.
        send(ours.as_fd(), b"{}", &[]).unwrap();
        assert_eq!(recv_without_fds(theirs.as_fd(), 64).unwrap().data, b"{}");
    }

    /// Runs in a process of its own (this test binary run again), since
    /// it lowers the process's fd limit.
    #[test]
    fn fds_cut_at_the_open_file_limit_are_closed_not_leaked() {
        let name = "fdpass::tests::fds_cut_at_the_open_file_limit_are_closed_not_leaked";
        if !crate::alone::in_a_process_of_its_own(name, "LITTLEBOSS_TEST_FDPASS_CUT") {
            return;
        }
        let open_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let (ours, theirs) = socketpair().unwrap();
        let (_r, w) = std::os::unix::net::UnixStream::pair().unwrap();
        send(ours.as_fd(), b"five", &[w.as_fd(); 5]).unwrap();
        // A limit leaving exactly two free numbers: two of the five fit.
        use nix::sys::resource::{Resource::RLIMIT_NOFILE, getrlimit, setrlimit};
        let (mut free, mut limit) = (0, 0);
        while free < 2 {
            free += u32::from(!is_open(limit));
            limit += 1;
        }
        let (soft, hard) = getrlimit(RLIMIT_NOFILE).unwrap();
        // read_dir's own fd needs a free number too: count before lowering.
        let before = open_fds();
        setrlimit(RLIMIT_NOFILE, limit as u64, hard).unwrap();
        let error = recv(theirs.as_fd(), 64).unwrap_err();
        setrlimit(RLIMIT_NOFILE, soft, hard).unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(error.to_string().contains("open-file limit"), "{error}");
        assert_eq!(open_fds(), before, "the two fds that fitted were left open");
    }

    #[test]
    fn the_fds_of_a_cut_buffer_are_found_past_other_messages() {
        use nix::libc::{SCM_CREDENTIALS, SCM_RIGHTS, SOL_SOCKET, cmsghdr, ucred};
        let header = std::mem::size_of::<cmsghdr>();
        let mut buffer = Vec::new();
        let mut message = |kind, data: &[u8]| {
            let mut head = vec![0u8; header];
            // SAFETY: a cmsghdr is integers (and padding), valid all
            // zero; `head` holds a header's bytes, and write_unaligned
            // asks nothing of their alignment.
            unsafe {
                let mut h: cmsghdr = std::mem::zeroed();
                h.cmsg_len = (header + data.len()) as _;
                h.cmsg_level = SOL_SOCKET;
                h.cmsg_type = kind;
                std::ptr::write_unaligned(head.as_mut_ptr().cast::<cmsghdr>(), h);
            }
            buffer.extend(head);
            buffer.extend(data);
            buffer.resize(buffer.len().next_multiple_of(8), 0);
        };
        // Credentials first, as with SO_PASSCRED, then two fds.
        message(SCM_CREDENTIALS, &[0u8; std::mem::size_of::<ucred>()]);
        let fds: Vec<u8> = [7i32, 9].iter().flat_map(|fd| fd.to_ne_bytes()).collect();
        message(SCM_RIGHTS, &fds);
        buffer.resize(buffer.len() + 64, 0);
        assert_eq!(installed_before_cut(&buffer), [7, 9]);
        assert!(installed_before_cut(&[0u8; 64]).is_empty());
        assert!(installed_before_cut(&[]).is_empty());
    }

    #[test]
    fn the_fds_of_a_control_message_start_right_after_its_header() {
        // SAFETY: CMSG_LEN is arithmetic on its argument.
        let len = unsafe { nix::libc::CMSG_LEN(0) } as usize;
        assert_eq!(len, std::mem::size_of::<nix::libc::cmsghdr>());
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
