//! `TCP_DEFER_ACCEPT`: the kernel holds a new connection back from
//! `accept` until its first byte arrives (or a deferral ends), so that a
//! connection still silent when a child begins draining is not that
//! child's to lose: whichever child accepts when the client speaks serves
//! it. nginx's `listen ... deferred`, HAProxy's `defer-accept` and
//! systemd's `DeferAcceptSec=` set the same option. Only for protocols in
//! which the client speaks first (HTTP, TLS): a server that greets first
//! would wait for a byte that never comes until the deferral ends.
//!
//! What it costs: a deferred connection is a half-open one, counted
//! against the listen backlog (`listen`'s, capped by `somaxconn`) as the
//! accept queue is. When
//! they fill it the kernel answers with SYN cookies (`tcp_syncookies=1`,
//! Linux's default), and a connection made so is accepted at once, not
//! deferred; with cookies off, new connections wait. And a connection the
//! kernel still holds is in no accept queue: a shut of the listening socket (a
//! stop, bypass mode's SIGTERM, the supervisor's death, a reload that
//! moves the listener) takes nothing of it to stash or hand over, and it
//! is reset when it speaks.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::libc;

/// How long the kernel defers a silent connection, in whole seconds
/// (rounded up); zero when the option is off. Linux keeps it as a count of
/// SYN-ACK retransmissions, so a value set reads back rounded up to the
/// retransmission schedule (1, 3, 7, 15, 31 s...).
#[cfg(any(feature = "http", test))]
pub(crate) fn deferral(socket: BorrowedFd<'_>) -> io::Result<Duration> {
    let mut seconds: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `len` is a valid in/out pointer holding the size of
    // `seconds`, and getsockopt writes at most that many bytes into it;
    // `socket` is open for the borrow.
    let got = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw mut seconds).cast(),
            &mut len,
        )
    };
    if got != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Defers silent connections for `up_to` (whole seconds, rounded up; zero
/// turns the option off). The option is the socket's, shared with the
/// supervisor and every other child, and it outlives this process.
pub(crate) fn defer(socket: BorrowedFd<'_>, up_to: Duration) -> io::Result<()> {
    let seconds = up_to
        .as_secs()
        .saturating_add(u64::from(up_to.subsec_nanos() > 0));
    let seconds = libc::c_int::try_from(seconds).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `seconds`,
    // which lives through the call; `socket` is open for the borrow.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const seconds).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::time::Duration;

    use super::{defer, deferral};

    /// Off by default; set, it reads back rounded up to the kernel's
    /// retransmission schedule; zero turns it off again.
    #[test]
    fn a_deferral_set_reads_back_and_zero_turns_it_off() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::ZERO);
        defer(listener.as_fd(), Duration::from_secs(30)).unwrap();
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::from_secs(31));
        defer(listener.as_fd(), Duration::from_millis(1500)).unwrap();
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::from_secs(3));
        defer(listener.as_fd(), Duration::ZERO).unwrap();
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::ZERO);
    }

    /// A silent connection is not accepted; its first byte makes it so,
    /// with that byte readable.
    #[test]
    fn a_silent_connection_is_held_back_until_it_speaks() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        defer(listener.as_fd(), Duration::from_secs(30)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // The client's side is connected at once; the server's accept
        // sees nothing (a fixed wait: proving an absence needs one).
        std::thread::sleep(Duration::from_millis(200));
        let early = listener.accept();
        assert!(
            matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "accepted before the first byte: {early:?}"
        );
        client.write_all(b"x").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut server = loop {
            match listener.accept() {
                Ok((server, _)) => break server,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "never accepted");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        };
        server.set_nonblocking(false).unwrap();
        let mut byte = [0];
        server.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }
}
