//! The connections the program accepted through the listeners `Context`
//! handed out, so that draining's grace ends as soon as they have all
//! closed: the grace is for connections that have not spoken yet, and a
//! program with none open has nothing to wait for.
//!
//! A connection is known by its descriptor and its socket cookie (unique
//! for the boot), never by a handle of our own: a copy of the descriptor
//! would keep the connection open after the program closed it. A
//! descriptor whose cookie is no longer the one recorded was closed (and
//! perhaps reused).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One accepted connection, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Connection {
    fd: RawFd,
    cookie: u64,
}

/// The connections accepted and not yet seen closed.
#[derive(Debug, Default)]
pub(crate) struct Accepted {
    open: Mutex<Open>,
    /// Accepts under way: one may have taken a connection from the kernel
    /// and not recorded it yet.
    accepting: AtomicUsize,
    /// Draining has begun: no accept takes a connection from here on. Its
    /// own flag, not only the phase's channel, so that the order of
    /// "accept under way" and "draining" rests on these atomics alone.
    draining: AtomicBool,
    /// Connections may have been accepted where they cannot be recorded
    /// (a listener's tokio socket taken out with `into_inner`, or a socket
    /// without a cookie): "all closed" can never be known.
    lost_track: AtomicBool,
    /// What shut listeners had queued, for their handles to yield.
    pub stash: crate::stash::Stash,
    /// A close told by code that knows of it (see [`closed`]), and the
    /// grace's wait for one.
    ///
    /// [`closed`]: Accepted::closed
    close_told: Mutex<bool>,
    close: Condvar,
}

#[derive(Debug, Default)]
struct Open {
    connections: Vec<Connection>,
    /// Where the next look for closed connections starts.
    cursor: usize,
}

/// A listener handle's hold on its socket's stash: what a refusal takes
/// off the socket's queue is kept for the program only while it holds a
/// handle that could accept it.
#[derive(Debug)]
pub(crate) struct Hold {
    accepted: Arc<Accepted>,
    inode: u64,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.accepted.stash.let_go(self.inode);
    }
}

/// How many recorded connections each accept looks at, forgetting the
/// closed ones: more than one, so the list stays within about twice the
/// most connections open at once, at a bounded cost per accept.
const LOOKS_PER_ACCEPT: usize = 2;

impl Accepted {
    /// Holds an accept open until the guard drops: call before checking
    /// whether draining has begun, drop after [`record`](Accepted::record).
    pub fn accepting(&self) -> AcceptingGuard<'_> {
        self.accepting.fetch_add(1, Ordering::SeqCst);
        AcceptingGuard(self)
    }

    /// Draining begins: accepts under way finish, no new one starts.
    pub fn stop_accepting(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether an accept may take a connection (checked after
    /// [`accepting`](Accepted::accepting)).
    pub fn may_accept(&self) -> bool {
        !self.draining.load(Ordering::SeqCst)
    }

    /// Records a connection just accepted.
    pub fn record(&self, fd: RawFd) {
        if self.lost_track.load(Ordering::SeqCst) {
            return;
        }
        let Some(cookie) = cookie(fd) else {
            // Said once (a kernel before 4.12, or a sandbox, has no
            // `SO_COOKIE`): else a drain waiting out its whole grace for
            // no reason the program's owner could find. Detached: a
            // refusal records what it took off the queue holding the
            // drain's locks, which a logger that blocks must not hold.
            if !self.lost_track.swap(true, Ordering::SeqCst) {
                crate::report::say_detached(
                    log::Level::Warn,
                    format!(
                        "cannot tell accepted connections apart (getsockopt SO_COOKIE: {}): each drain waits out its whole first-byte grace, not only until every connection has closed",
                        std::io::Error::last_os_error()
                    ),
                );
            }
            return;
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let open = &mut *open;
        for _ in 0..LOOKS_PER_ACCEPT {
            if open.connections.is_empty() {
                break;
            }
            open.cursor %= open.connections.len();
            if is_open(open.connections[open.cursor]) {
                open.cursor += 1;
            } else {
                open.connections.swap_remove(open.cursor);
            }
        }
        open.connections.push(Connection { fd, cookie });
    }

    /// Takes what the listening socket `listening` has queued into the
    /// stash (at most `most`), before it is shut, and records it: the
    /// grace waits for those connections too. Says how many it took, or
    /// why none ([`Queue`](crate::stash::Queue)).
    pub fn stash_queue(
        &self,
        listening: std::os::fd::BorrowedFd<'_>,
        most: usize,
    ) -> crate::stash::Queue {
        self.stash.take_queue(listening, most, |fd| self.record(fd))
    }

    /// Stashes `taken`, connections the supervisor took off the queue of
    /// the listening socket of inode `inode`, recorded as [`stash_queue`]'s
    /// are.
    ///
    /// [`stash_queue`]: Accepted::stash_queue
    pub fn stash_handed(&self, inode: u64, taken: Vec<std::os::fd::OwnedFd>) -> usize {
        self.stash.put(inode, taken, |fd| self.record(fd))
    }

    /// A hold on the stash of `listening` for a handle made on it, let go
    /// as the handle drops (see [`Stash::hold`](crate::stash::Stash::hold)).
    pub fn hold(self: &Arc<Self>, listening: std::os::fd::BorrowedFd<'_>) -> Option<Hold> {
        let inode = crate::stash::inode(listening)?;
        self.stash.hold(inode);
        Some(Hold {
            accepted: self.clone(),
            inode,
        })
    }

    /// The program accepts from `listening` past its handles (one taken
    /// out with `into_inner`): its connections go unrecorded, and its
    /// queue is not stashed (see [`Stash::bypass`](crate::stash::Stash::bypass)).
    pub fn bypass(&self, listening: std::os::fd::BorrowedFd<'_>) {
        self.lose_track();
        if let Some(inode) = crate::stash::inode(listening) {
            self.stash.bypass(inode);
        }
    }

    /// Connections are accepted where they cannot be recorded.
    pub fn lose_track(&self) {
        self.lost_track.store(true, Ordering::SeqCst);
    }

    /// Tells the grace's wait that connections have just closed (the http
    /// helpers know when their last one has), so that it looks at once
    /// rather than at its next poll: no event tells of a close otherwise.
    #[cfg(feature = "http")]
    pub fn closed(&self) {
        *self.close_told.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.close.notify_all();
    }

    /// Waits up to `most` for [`closed`](Accepted::closed) (at once if it
    /// came since the last wait).
    pub fn wait_for_a_close(&self, most: Duration) {
        let mut told = self.close_told.lock().unwrap_or_else(|e| e.into_inner());
        if !*told {
            told = match self.close.wait_timeout(told, most) {
                Ok((told, _)) => told,
                Err(e) => e.into_inner().0,
            };
        }
        *told = false;
    }

    /// Whether every connection accepted has closed (and none is being
    /// accepted). Forgets the closed ones it meets, and stops at the first
    /// still open: asked again and again while draining, each call costs
    /// a system call or two, not one per connection.
    pub fn all_closed(&self) -> bool {
        if self.accepting.load(Ordering::SeqCst) > 0 || self.lost_track.load(Ordering::SeqCst) {
            return false;
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&last) = open.connections.last() {
            if is_open(last) {
                return false;
            }
            open.connections.pop();
        }
        true
    }
}

/// An accept under way (see [`Accepted::accepting`]).
pub(crate) struct AcceptingGuard<'a>(&'a Accepted);

impl Drop for AcceptingGuard<'_> {
    fn drop(&mut self) {
        self.0.accepting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether `connection`'s descriptor still names the socket recorded.
fn is_open(connection: Connection) -> bool {
    cookie(connection.fd) == Some(connection.cookie)
}

/// `SO_COOKIE` (Linux 4.12): 57 on every architecture but SPARC's.
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_COOKIE: nix::libc::c_int = 57;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_COOKIE: nix::libc::c_int = 0x3b;

/// The socket cookie of descriptor `fd`; `None` when `fd` is not open, is
/// not a socket, or the kernel has no cookies.
fn cookie(fd: RawFd) -> Option<u64> {
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as nix::libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cookie`, which
    // is that large. `fd` may have been closed, or reused, by the program
    // meanwhile: reading an option of whatever it names is harmless (an
    // error, or a cookie that does not match).
    let got = unsafe {
        nix::libc::getsockopt(
            fd,
            nix::libc::SOL_SOCKET,
            SO_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        )
    };
    (got == 0 && len as usize == std::mem::size_of::<u64>()).then_some(cookie)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::{Accepted, cookie};

    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn all_closed_once_every_recorded_connection_is() {
        let accepted = Accepted::default();
        assert!(accepted.all_closed(), "none accepted");
        let (_c1, s1) = pair();
        let (_c2, s2) = pair();
        accepted.record(s1.as_raw_fd());
        accepted.record(s2.as_raw_fd());
        assert!(!accepted.all_closed());
        drop(s2);
        assert!(!accepted.all_closed(), "s1 is still open");
        drop(s1);
        assert!(accepted.all_closed());
    }

    #[test]
    fn a_descriptor_reused_by_another_socket_reads_as_closed() {
        let accepted = Accepted::default();
        let (_c1, s1) = pair();
        let mut s1 = std::os::fd::OwnedFd::from(s1);
        accepted.record(s1.as_raw_fd());
        // The number now names another socket (the first one closed).
        let (_c2, s2) = pair();
        nix::unistd::dup2(&s2, &mut s1).unwrap();
        assert_eq!(cookie(s1.as_raw_fd()), cookie(s2.as_raw_fd()));
        assert!(accepted.all_closed());
    }

    #[test]
    fn an_accept_under_way_or_a_lost_track_is_never_all_closed() {
        let accepted = Accepted::default();
        let guard = accepted.accepting();
        assert!(!accepted.all_closed());
        drop(guard);
        assert!(accepted.all_closed());
        accepted.lose_track();
        assert!(!accepted.all_closed());
        // Not a socket: no cookie, so no way to tell when it closes.
        let accepted = Accepted::default();
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(cookie(file.as_raw_fd()), None);
        accepted.record(file.as_raw_fd());
        assert!(!accepted.all_closed());
    }

    #[test]
    fn recording_sweeps_the_closed_so_the_list_stays_small() {
        let accepted = Accepted::default();
        let (_keep_client, kept) = pair();
        accepted.record(kept.as_raw_fd());
        for _ in 0..1000 {
            let (_client, server) = pair();
            accepted.record(server.as_raw_fd());
        }
        let left = accepted.open.lock().unwrap().connections.len();
        assert!(left <= 3, "{left} recorded");
        assert!(!accepted.all_closed(), "the kept one is open");
    }
}
