//! The connections a listening socket had queued when it was shut for a
//! refusal (a stop, bypass mode's SIGTERM, the supervisor's death), or
//! that the supervisor took off it and handed over as it let go of it (a
//! reload moved the listener): the kernel resets a shut listener's queue,
//! though each of those clients has connected, and has often sent its
//! request. They are accepted first, and
//! the listeners `Context` handed out yield them while draining, as the
//! connections they would have taken had the shut come a moment later.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};

/// Connections taken off shut listeners, by the listening socket's inode
/// (every descriptor of one socket has the same).
#[derive(Debug, Default)]
pub(crate) struct Stash {
    /// Anything was ever stashed: until then an accept looks no further.
    any: AtomicBool,
    queued: Mutex<HashMap<u64, VecDeque<OwnedFd>>>,
    /// The accepts waiting while draining, woken when connections come.
    waiting: Mutex<Vec<Waker>>,
    /// A connection's stream could not be made, and that was said.
    said_unmade: AtomicBool,
    /// How many handles the program holds on each listening socket it
    /// took through `Context`, by inode: one whose every handle is gone
    /// yields to no one, so nothing is stashed for it (the grace would
    /// wait for connections nobody takes). A socket absent here was
    /// never handed out as a handle: counted as held.
    handles: Mutex<HashMap<u64, usize>>,
    /// Listening sockets the program accepts from past its handles (one
    /// was taken out with `into_inner`), by inode: nothing is stashed for
    /// them. A refusal leaves a TCP one's queue to the shut, which resets
    /// it; a unix one's to the program's own listener (or the exit).
    bypassed: Mutex<HashSet<u64>>,
}

/// What [`Stash::take_queue`] did with a listening socket's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Took this many connections, for its handles.
    Taken(usize),
    /// None: the program accepts from the socket itself, past its handles
    /// (one taken out with `into_inner`).
    Bypassed,
    /// None: no handle on the socket is left (or it cannot be told), so
    /// nothing would take them.
    Unheld,
}

impl Stash {
    /// Accepts the connections queued on `listening` (until none is left,
    /// or `most` are taken), hands each to `record` before any handle can
    /// take it (for the grace to wait for), keeps them for its handles,
    /// and wakes the accepts waiting. Says how many it took, or why none.
    pub fn take_queue(
        &self,
        listening: BorrowedFd<'_>,
        most: usize,
        record: impl Fn(RawFd),
    ) -> Queue {
        let Some(key) = inode(listening) else {
            return Queue::Unheld;
        };
        // Left to the shut, which resets it (TCP), or to the program's own
        // listener (unix, taken out), as no handle would take it. Both
        // looked at under the handles' lock, as `into_inner` changes them
        // (bypassed, then its handle let go): never read as let go of
        // and not yet bypassed.
        {
            let handles = lock(&self.handles);
            if lock(&self.bypassed).contains(&key) {
                return Queue::Bypassed;
            }
            if unheld(&handles, key) {
                return Queue::Unheld;
            }
        }
        Queue::Taken(self.put(key, accept_queued(listening, most), record))
    }

    /// Keeps `taken`, connections of the listening socket whose inode is
    /// `key` (accepted here, or by the supervisor and handed over), for
    /// its handles, each handed to `record` first; wakes the accepts
    /// waiting. Returns how many: none, the connections closed, when the
    /// program holds no handle on that socket any more.
    pub fn put(&self, key: u64, taken: Vec<OwnedFd>, record: impl Fn(RawFd)) -> usize {
        let count = taken.len();
        // Held through the insertion: a last handle let go meanwhile
        // would leave these stranded.
        let handles = lock(&self.handles);
        if count == 0 || self.yields_to_none(&handles, key) {
            return 0;
        }
        for fd in &taken {
            record(fd.as_raw_fd());
        }
        lock(&self.queued).entry(key).or_default().extend(taken);
        drop(handles);
        self.any.store(true, Ordering::SeqCst);
        self.wake();
        count
    }

    /// Has the task of `cx` woken when connections are stashed, or when
    /// draining begins ([`wake`](Stash::wake)): an accept that met its
    /// socket shut while serving (the supervisor let go of it, having
    /// handed its queue over) has nothing else to wake it.
    pub fn wait(&self, cx: &std::task::Context<'_>) {
        let mut waiting = lock(&self.waiting);
        // Registered while serving, by every task that ever polled an
        // accept by hand (`poll_accept`; ended ones too, until draining):
        // the stalest go. (An `accept` future waits for draining on the
        // phase, which has no bound.) A task waiting again moves to the
        // back, so that one accepting for the server's whole life is not
        // taken for stale.
        match waiting.iter().position(|w| w.will_wake(cx.waker())) {
            Some(at) => {
                let again = waiting.remove(at);
                waiting.push(again);
            }
            None => {
                if waiting.len() >= MOST_WAITING {
                    waiting.remove(0);
                }
                waiting.push(cx.waker().clone());
            }
        }
    }

    /// Wakes the accepts waiting: draining has begun, and they look here.
    pub fn wake(&self) {
        // Taken out first: a `for` over the guard's temporary would wake
        // each with the lock held (an executor that polls inline on wake
        // would lock it again).
        let waiting = std::mem::take(&mut *lock(&self.waiting));
        for waker in waiting {
            waker.wake();
        }
    }

    /// A handle on the listening socket whose inode is `key` is made.
    pub fn hold(&self, key: u64) {
        *lock(&self.handles).entry(key).or_default() += 1;
    }

    /// The program accepts from the listening socket of inode `key` past
    /// its handles (one was taken out with `into_inner`): nothing is
    /// stashed for it from now on, and what was is closed.
    pub fn bypass(&self, key: u64) {
        // Held as `put` holds it, from its look here to its insertion:
        // none of its connections lands after this removal.
        let _handles = lock(&self.handles);
        lock(&self.bypassed).insert(key);
        lock(&self.queued).remove(&key);
    }

    /// Whether what the socket of inode `key` queues would reach no one
    /// through the stash: no handle on it is left (`handles`, locked by
    /// the caller), or the program takes its queue itself.
    fn yields_to_none(&self, handles: &HashMap<u64, usize>, key: u64) -> bool {
        unheld(handles, key) || lock(&self.bypassed).contains(&key)
    }

    /// A handle made by [`hold`](Stash::hold) is gone: once the last is,
    /// what was stashed for its socket is closed (its clients see the
    /// close at once, and the grace does not wait for them).
    pub fn let_go(&self, key: u64) {
        let mut handles = lock(&self.handles);
        let left = handles.entry(key).or_default();
        *left = left.saturating_sub(1);
        if *left == 0 {
            lock(&self.queued).remove(&key);
        }
    }

    /// Closes what no handle has taken (their clients see the close at
    /// once, not at the exit).
    pub fn clear(&self) {
        if self.any.load(Ordering::SeqCst) {
            lock(&self.queued).clear();
        }
    }

    /// The next connection stashed for `listening`, made a stream by
    /// `make` (one it cannot make is passed over: its peer gone, or, said
    /// once, the process short of what a stream takes); else `Pending`,
    /// woken when one comes. Asked only while draining: before, the
    /// listener's own accept wakes the task.
    pub fn poll_next<S>(
        &self,
        listening: BorrowedFd<'_>,
        cx: &mut std::task::Context<'_>,
        make: impl Fn(OwnedFd) -> io::Result<S>,
    ) -> Poll<S> {
        let mut registered = false;
        loop {
            match self.pop(listening) {
                Some(fd) => match make(fd) {
                    Ok(stream) => return Poll::Ready(stream),
                    Err(e) => {
                        self.say_unmade(&e);
                        continue;
                    }
                },
                None if registered => return Poll::Pending,
                None => {
                    let mut waiting = lock(&self.waiting);
                    if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                        waiting.push(cx.waker().clone());
                    }
                    // Then one more look: one may have come in between.
                    registered = true;
                }
            }
        }
    }

    /// Says, the first time only, that a stashed connection whose peer is
    /// still there was closed: its stream could not be made (out of
    /// memory, or of the epoll watches tokio registers it with), which
    /// would otherwise close every connection left unsaid.
    fn say_unmade(&self, e: &io::Error) {
        let peer_gone = e.raw_os_error() == Some(nix::libc::ENOTCONN);
        if !peer_gone && !self.said_unmade.swap(true, Ordering::SeqCst) {
            crate::report::say_detached(
                log::Level::Warn,
                format!("a connection taken off a shut listener was closed unserved: {e}"),
            );
        }
    }

    fn pop(&self, listening: BorrowedFd<'_>) -> Option<OwnedFd> {
        if !self.any.load(Ordering::SeqCst) {
            return None;
        }
        let key = inode(listening)?;
        lock(&self.queued).get_mut(&key)?.pop_front()
    }
}

/// Whether the program took handles on the socket whose inode is `key`
/// and holds none now.
fn unheld(handles: &HashMap<u64, usize>, key: u64) -> bool {
    handles.get(&key) == Some(&0)
}

/// The most tasks [`Stash::wait`] keeps to wake.
const MOST_WAITING: usize = 256;

/// Accepts the connections queued on `listening`, until none is left or
/// `most` are taken; none from a blocking socket (a program turned the
/// flag off), whose accept would block once the queue is empty. The flag
/// is the open file's, which another process may turn off meanwhile:
/// looked at before each accept, with the queue seen not empty.
pub(crate) fn accept_queued(listening: BorrowedFd<'_>, most: usize) -> Vec<OwnedFd> {
    let mut taken = Vec::new();
    let flags =
        nix::sys::socket::SockFlag::SOCK_NONBLOCK | nix::sys::socket::SockFlag::SOCK_CLOEXEC;
    let mut passed_over = 0;
    while taken.len() + passed_over < most {
        if !non_blocking(listening) || !queued(listening) {
            break;
        }
        // `EAGAIN` once the queue is empty. One connection's own error
        // (gone before it was taken, a pending network error) is passed
        // over, as accept(2) says, for the rest of the queue: a shut
        // follows, which resets what is left.
        let fd = match nix::sys::socket::accept4(listening.as_raw_fd(), flags) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) if crate::tcp::is_connection_error(&e.into()) => {
                passed_over += 1;
                continue;
            }
            Err(_) => break,
        };
        // SAFETY: accept4 just returned this descriptor, owned by no one.
        taken.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    taken
}

/// Whether the listening socket `fd` has a connection queued (to accept
/// without waiting, unless another process takes it first).
fn queued(fd: BorrowedFd<'_>) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::ZERO) {
            Err(nix::errno::Errno::EINTR) => {}
            polled => {
                let ready = polled.unwrap_or(0) > 0;
                return ready
                    && fds[0]
                        .revents()
                        .is_some_and(|r| r.contains(PollFlags::POLLIN));
            }
        }
    }
}

/// Whether the socket `fd` is non-blocking (the flag is the open file's,
/// shared by every descriptor of it).
fn non_blocking(fd: BorrowedFd<'_>) -> bool {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(fd, FcntlArg::F_GETFL)
        .is_ok_and(|flags| OFlag::from_bits_truncate(flags).contains(OFlag::O_NONBLOCK))
}

/// The most connections taken off the queues at one refusal: each holds
/// a descriptor, which the program's own work while it drains needs too
/// (a quarter of its limit, at most 4096; a queue may hold thousands).
/// The rest are reset as before.
pub(crate) fn most_stashed() -> usize {
    use nix::sys::resource::{Resource, getrlimit};
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(soft / 4).unwrap_or(usize::MAX).min(4096)
}

/// The inode of the socket `fd` (every descriptor of one socket has the
/// same): what the stash keys its connections by.
pub(crate) fn inode(fd: BorrowedFd<'_>) -> Option<u64> {
    nix::sys::stat::fstat(fd).ok().map(|stat| stat.st_ino)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_task_that_waits_again_is_never_dropped_for_stale() {
        let stash = super::Stash::default();
        let long_lived = Arc::new(Counted(AtomicUsize::new(0)));
        let waker = Waker::from(long_lived.clone());
        stash.wait(&Context::from_waker(&waker));
        // Short-lived accepts come and go, more in all than are kept; the
        // long-lived one waits again between them.
        let passing = || {
            for _ in 0..super::MOST_WAITING * 3 / 4 {
                let passing = Waker::from(Arc::new(Counted(AtomicUsize::new(0))));
                stash.wait(&Context::from_waker(&passing));
            }
        };
        passing();
        stash.wait(&Context::from_waker(&waker));
        passing();
        stash.wake();
        assert_eq!(long_lived.0.load(Ordering::SeqCst), 1);
    }
}
