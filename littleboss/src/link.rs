//! The child channel: the messages a supervisor and its child exchange over
//! their SEQPACKET socketpair, one JSON object per packet.
//!
//! Supervisor to child: `hello` (with the listener fds attached),
//! `lameduck`, `queued` (connections taken off the queue of a listener
//! the supervisor let go of, attached) and `alone` (the child it started
//! beside has ended). Child to supervisor: `hello` (who it is), `ready`, `error`
//! (why it cannot start) and `finished` (main returned, with its exit
//! code). End-of-file on either side means the other is gone (the child
//! watches the supervisor's pidfd too: see [`ChildEnd::recv_watching`]);
//! an empty packet, which neither sends, is a bad message, read past.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;

use crate::fdpass;
use crate::spec::Network;

/// The version of this protocol; both ends check it.
pub(crate) const VERSION: u32 = 1;
/// The version of the supervisor's state as an in-place upgrade hands it
/// over; a child's hello says whether its binary takes it over. A field
/// added to the state takes `#[serde(default)]`; a change an image of this
/// version could not read (a new enum variant, a required field) takes a
/// new version. `state_v1.json`, beside the machine, pins what version 1
/// writes.
pub(crate) const SUPERVISOR_STATE_VERSION: u32 = 1;
/// The child's end of the channel is always at this fd.
pub(crate) const CHILD_FD: RawFd = 3;
/// Set in the child's environment to `FD:SUPERVISOR_PID` ([`env_value`]).
pub(crate) const ENV_VAR: &str = "LITTLEBOSS_CHANNEL_FD";

/// The value of [`ENV_VAR`] for a child of this process.
pub(crate) fn env_value() -> String {
    format!("{CHILD_FD}:{}", std::process::id())
}

/// `FD:PID` back into numbers.
pub(crate) fn parse_env(value: &std::ffi::OsStr) -> Option<(RawFd, i32)> {
    let (fd, pid) = value.to_str()?.split_once(':')?;
    Some((fd.parse().ok()?, pid.parse().ok()?))
}

/// A listener as the supervisor holds it: off, or bound with its fd
/// attached to the `hello` message (in the order of the entries).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ListenerEntry {
    pub name: String,
    pub network: Network,
    pub bound: bool,
    /// A unix listener's socket file, when the supervisor bound it: the
    /// child removes it at a refusal (a stop, or the supervisor's death).
    /// Absent from an older supervisor; an older child ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<crate::own_file::OwnFile>,
    /// The service manager's socket (socket activation): never shut, for
    /// it queues connections for the next start. Absent (false) from an
    /// older supervisor, which marks none (see `refuse_own_when_orphaned`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managers: bool,
    /// The child serving as this one starts holds this very socket (the
    /// hello's `beside_serving` says some socket is): should the supervisor
    /// die before this one is ready, that one takes its queue. Absent
    /// (false) from an older supervisor, whose `beside_serving` covers
    /// every socket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub served_beside: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(crate) enum ToChild {
    Hello {
        name: String,
        listeners: Vec<ListenerEntry>,
        /// Should the supervisor die, shut the TCP listeners for good (and
        /// remove the unix listeners' files): no child takes a connection
        /// after that, and none of them is the service manager's. Absent
        /// (false) from an older supervisor.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refuse_when_orphaned: bool,
        /// Should the supervisor die, shut the listeners not marked
        /// `managers`, and remove the unix listeners' files: no child takes
        /// a connection after that. Sent by a supervisor that marks the
        /// service manager's listeners; from an older one, absent (false),
        /// and `refuse_when_orphaned` alone decides. An older child ignores
        /// it, and goes by `refuse_when_orphaned`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refuse_own_when_orphaned: bool,
        /// Another child serves as this one starts, holding some of its
        /// sockets too: should the supervisor die before this one is ready,
        /// this one takes none of their queues (those of the listeners
        /// marked `served_beside`; every one, where none is marked), which
        /// that one serves. Absent (false) from an older supervisor: it
        /// takes its share, as before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        beside_serving: bool,
    },
    /// Wind down; `refuse`: no child takes a connection after this one (a
    /// stop), so shut the TCP listeners for good (and remove the unix
    /// listeners' files). Absent (false) from an older supervisor; an
    /// older child ignores it.
    Lameduck {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refuse: bool,
    },
    /// The connections (the message's fds) the supervisor took off the
    /// queue of listener `listener`, the socket of inode `inode`, as it let
    /// go of it (a reload moved or dropped it): this child, told to drain,
    /// serves them as a refusal's stash. Sent only to a child whose hello
    /// says it reads it (`reads_queued`): an older one would read it as a
    /// bad message.
    Queued { listener: String, inode: u64 },
    /// The child serving when this one started (its hello's
    /// `beside_serving`) has ended, and none serves: should the supervisor
    /// die before this one is ready, it takes the queues of all its
    /// listeners (those marked `served_beside` too) after all, as one
    /// started alone does. Sent only to a child whose hello
    /// says it reads it (`reads_alone`).
    Alone,
}

/// What a child's hello tells it to do should its supervisor die: the
/// supervisor's side decides it, the child's carries it out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Orphaned {
    /// Shut the TCP listeners, remove the unix listeners' files (the
    /// hello's `refuse_when_orphaned`).
    pub refuse: bool,
    /// Not ready yet, leave the queues of the sockets the child serving as
    /// it started holds too to that one (the hello's `beside_serving` and
    /// listeners marked `served_beside`), unless told since that it is
    /// alone ([`ToChild::Alone`]).
    pub beside_serving: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(crate) enum FromChild {
    /// Who the child is, and its own timeouts: a new binary's settings
    /// govern its own start and wind-down.
    Hello {
        name: String,
        lameduck_ms: u64,
        ready_timeout_ms: u64,
        /// The supervisor state version this binary can take over when
        /// its supervisor re-executes itself from it; absent: none (an
        /// older littleboss, or `self_upgrade = false`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        takes_over: Option<u32>,
        /// It reads [`ToChild::Queued`]; absent (false) from an older
        /// littleboss, which would read it as a bad message.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reads_queued: bool,
        /// It reads [`ToChild::Alone`]; absent (false) from an older
        /// littleboss, which would read it as a bad message.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reads_alone: bool,
    },
    Ready,
    Error {
        error: String,
    },
    Finished {
        code: i32,
    },
}

impl FromChild {
    /// Why the child cannot serve, cut to fit one message: a longer one
    /// would reach the supervisor as a bad message, its reason lost.
    pub fn error(text: &str) -> FromChild {
        let mut keep = text.len();
        loop {
            let kept = crate::log::cut_at_char(text, keep);
            let error = if kept.len() < text.len() {
                format!("{kept}… (cut)")
            } else {
                text.to_owned()
            };
            let message = FromChild::Error { error };
            if keep == 0 || encode(&message).len() <= fdpass::MAX_FROM_CHILD {
                return message;
            }
            keep /= 2;
        }
    }

    /// [`error`](FromChild::error) for a start that failed before the
    /// child was ready, and why: as the reload's failure says it.
    pub fn failed_start(why: impl std::fmt::Display) -> FromChild {
        FromChild::error(&format!("failed before it was ready: {why}"))
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    #[serde(flatten)]
    body: T,
}

/// One message as the channel carries it: `body` in an envelope with the
/// protocol's version.
pub(crate) fn encode<T: Serialize>(body: T) -> Vec<u8> {
    serde_json::to_vec(&Envelope { v: VERSION, body }).expect("channel messages serialize")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> io::Result<T> {
    /// The envelope's version alone (the body's fields are skipped).
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    // Logged by the supervisor: serde's message may quote what the peer
    // sent (an unknown variant's name), control characters, newlines and
    // megabytes included.
    let bad = |e: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            crate::control::protocol::short_printable(&e),
        )
    };
    let Version { v } =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("bad channel message: {e}")))?;
    if v != VERSION {
        return Err(bad(format!(
            "channel protocol version {v} is not ours ({VERSION}); are the two binaries from the same littleboss?"
        )));
    }
    // Read straight from the bytes (the body ignores `v`): going through a
    // `serde_json::Value` costs a score of allocations per message.
    serde_json::from_slice(bytes).map_err(|e| bad(format!("bad channel message: {e}")))
}

/// The child's end: blocking, shared between the lifecycle thread (which
/// reads) and `Context` (which writes `ready`).
#[derive(Debug)]
pub(crate) struct ChildEnd {
    fd: OwnedFd,
    /// Whether ready has been said (it is said once), or may be no more
    /// (`main` has returned). Held across the send: a ready in flight as
    /// `main` returns is waited for, and its outcome known.
    ready: std::sync::Mutex<Readiness>,
}

/// Where [`ChildEnd::send_ready`] stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    #[default]
    NotSaid,
    Said,
    /// `main` has returned, or draining began before it was said: not to
    /// be said from here on.
    Closed,
}

/// Whether send error `e` says the channel's other end is closed (the
/// supervisor gone, to a child; to the supervisor, a child gone or its
/// channel closed).
pub(crate) fn other_end_closed(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EPIPE | nix::libc::ECONNRESET)
    )
}

/// What to warn of when a child's ready could not be sent (`e`): `None`
/// for a supervisor gone, which has its own lines. `by_program`: said by
/// `ctx.ready()`, which the program may call again; the automatic ready is
/// said once, so its start will fail at its ready timeout.
pub(crate) fn ready_unsent(e: &io::Error, by_program: bool) -> Option<String> {
    if other_end_closed(e) {
        return None;
    }
    let then = if by_program {
        "`ctx.ready()` again tries once more; otherwise its start fails at its ready timeout"
    } else {
        "its start will fail at its ready timeout"
    };
    Some(format!(
        "cannot tell the supervisor this child is ready: {e}; {then}"
    ))
}

impl ChildEnd {
    pub fn new(fd: OwnedFd) -> Self {
        ChildEnd {
            fd,
            ready: Default::default(),
        }
    }

    /// Sends `msg`; a send cut short by a signal (nothing sent) is tried
    /// again.
    pub fn send(&self, msg: FromChild) -> io::Result<()> {
        let encoded = encode(msg);
        loop {
            match fdpass::send(self.fd.as_fd(), &encoded, &[]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                sent => return sent,
            }
        }
    }

    /// For a test hook: sends bad messages on the channel from four
    /// threads for as long as the process lives, as a child gone wrong
    /// might. Each send blocks while the channel is full, in line with the
    /// child's own; the first error other than a signal's ends the thread.
    pub fn flood(self: std::sync::Arc<Self>) {
        for _ in 0..4 {
            let this = self.clone();
            std::thread::spawn(move || {
                let flags = nix::sys::socket::MsgFlags::MSG_NOSIGNAL;
                loop {
                    match nix::sys::socket::send(this.fd.as_raw_fd(), b"flood", flags) {
                        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    }

    /// Says the child is ready, the first time only: a program calling
    /// `ctx.ready()` per request must not fill the channel (a blocking
    /// send) while the supervisor is not reading it. Once `main` has
    /// returned ([`no_more_ready`](ChildEnd::no_more_ready)), says nothing.
    /// A send that fails for want of buffers is tried by the next call.
    pub fn send_ready(&self) -> io::Result<()> {
        // Being said by another call (which may block, the channel full):
        // that one is enough, and this task must not block on it.
        let mut ready = match self.ready.try_lock() {
            Ok(ready) => ready,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
        };
        if *ready != Readiness::NotSaid {
            return Ok(());
        }
        let sent = self.send(FromChild::Ready);
        // A supervisor gone is not worth trying again.
        if sent.is_ok() || sent.as_ref().is_err_and(other_end_closed) {
            *ready = Readiness::Said;
        }
        sent
    }

    /// Whether ready has been said (or asked for as the supervisor went
    /// away: the program counted itself ready, and is accepting).
    pub fn has_said_ready(&self) -> bool {
        *self.ready.lock().unwrap_or_else(|e| e.into_inner()) == Readiness::Said
    }

    /// Says no ready from here on, unless said already (draining began).
    /// One being sent is waited for.
    pub fn close_ready(&self) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if *ready == Readiness::NotSaid {
            *ready = Readiness::Closed;
        }
    }

    /// Says no ready from here on (`main` has returned); whether it was
    /// said before. One being sent is waited for.
    pub fn no_more_ready(&self) -> bool {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *ready, Readiness::Closed) == Readiness::Said
    }

    /// [`recv`](ChildEnd::recv), also ending as at end-of-file once
    /// `exited` (the supervisor's pidfd, see [`exit_watch`]) says the
    /// supervisor has exited and nothing is left to read: another process
    /// holding a copy of its end (one the program's code forked in the
    /// supervisor; one forked for a child, in the instant before it closes
    /// its copies) would keep the end-of-file from coming, and this child
    /// serving with no supervisor. Without a
    /// pidfd (a kernel before 5.3, a sandbox that refuses it), this
    /// process's parent is looked at every [`PARENT_LOOK`] instead: no
    /// longer `supervisor`, it has exited.
    pub fn recv_watching(
        &self,
        exited: Option<std::os::fd::BorrowedFd<'_>>,
        supervisor: nix::unistd::Pid,
    ) -> io::Result<Option<(ToChild, Vec<OwnedFd>)>> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let readable = |timeout: PollTimeout| {
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, timeout).map(|ready| ready > 0)
        };
        let Some(exited) = exited else {
            let look = PollTimeout::from(PARENT_LOOK.as_millis() as u16);
            loop {
                // Looked at first (it may be gone already), and after
                // every wait, a signal's too: a signal caught more than
                // once a second must not keep it from being seen.
                if nix::unistd::getppid() != supervisor {
                    // What it sent before it exited is read first.
                    return match readable(PollTimeout::ZERO)? {
                        true => self.recv(),
                        false => Ok(None),
                    };
                }
                match readable(look) {
                    Ok(true) => return self.recv(),
                    Ok(false) => {}
                    // A signal's `EINTR` goes to the caller, as below,
                    // once the parent is looked at.
                    Err(e) if nix::unistd::getppid() == supervisor => return Err(e.into()),
                    Err(_) => {}
                }
            }
        };
        let mut fds = [
            PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(exited, PollFlags::POLLIN),
        ];
        // A signal's `EINTR` (a poll is never restarted) goes to the
        // caller, which waits again.
        poll(&mut fds, PollTimeout::NONE).map_err(io::Error::from)?;
        // What the supervisor sent before it exited is read first.
        if fds[0].revents().is_some_and(|events| !events.is_empty()) {
            return self.recv();
        }
        Ok(None)
    }

    /// Makes [`recv`](ChildEnd::recv) give up after `timeout` (an error
    /// of kind `WouldBlock`), at least a microsecond: a zero timeval is
    /// no timeout at all.
    pub fn set_recv_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout};
        let timeout = timeout.max(std::time::Duration::from_micros(1));
        let timeout = nix::sys::time::TimeVal::new(
            timeout.as_secs() as nix::libc::time_t,
            timeout.subsec_micros() as nix::libc::suseconds_t,
        );
        setsockopt(&self.fd, ReceiveTimeout, &timeout).map_err(io::Error::from)
    }

    /// The next message, or `None` at end-of-file (the supervisor is gone);
    /// an error of kind `InvalidData` for one that cannot be read (an
    /// empty packet included).
    pub fn recv(&self) -> io::Result<Option<(ToChild, Vec<OwnedFd>)>> {
        let got = past_reset(|| fdpass::recv(self.fd.as_fd(), fdpass::MAX_TO_CHILD))?;
        if got.data.is_empty() && got.fds.is_empty() {
            return ended_or_empty(self.fd.as_fd());
        }
        Ok(Some((decode(&got.data)?, got.fds)))
    }
}

/// How often a child without a pidfd of its supervisor looks whether it
/// is still its parent (see [`ChildEnd::recv_watching`]).
const PARENT_LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// A test hook: `1` makes [`exit_watch`] find no pidfd, as on a kernel
/// before 5.3.
const TEST_NO_PIDFD_VAR: &str = "LITTLEBOSS_TEST_NO_PIDFD";

/// A descriptor that becomes readable once process `pid` exits (a pidfd,
/// close-on-exec), where the kernel has them (Linux 5.3). Opened while
/// `pid` is our parent (check after), it names that process and no other
/// that may take its pid later.
pub(crate) fn exit_watch(pid: nix::unistd::Pid) -> Option<OwnedFd> {
    if crate::test_hook::test_hook::<u8>(TEST_NO_PIDFD_VAR) == Some(1) {
        return None;
    }
    open_pidfd(pid.as_raw()).ok()
}

/// A pidfd of process `pid` (the kernel makes it close-on-exec), for the
/// child's [`exit_watch`] and the supervisor's watch of its children.
pub(crate) fn open_pidfd(pid: RawFd) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags, and returns a new
    // descriptor or -1; it touches no memory of ours.
    let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just made for us, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as RawFd) })
}

/// The supervisor's end, driven by its tokio runtime.
#[derive(Debug)]
pub(crate) struct SupervisorEnd {
    fd: AsyncFd<OwnedFd>,
}

impl SupervisorEnd {
    /// Wraps a socket; it is made non-blocking.
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        nix::fcntl::fcntl(
            &fd,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        // SAFETY: the AsyncFd owns `fd` outright, so it stays open and the
        // same socket for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(fd)? };
        Ok(SupervisorEnd { fd })
    }

    /// The socket's fd, for handing on across an in-place upgrade.
    pub fn as_raw_fd(&self) -> RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self.fd.get_ref())
    }

    /// Sends a message [`encode`]d already (a hello is encoded off the
    /// loop, as its size is checked), with `fds`.
    pub async fn send(&self, data: &[u8], fds: &[std::os::fd::BorrowedFd<'_>]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| fdpass::send(fd.get_ref().as_fd(), data, fds)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// A message already queued, without waiting: `Ok(None)` when there
    /// is none now, or the child's end is closed.
    pub fn recv_queued(&self) -> io::Result<Option<FromChild>> {
        let fd = self.fd.get_ref().as_fd();
        match past_reset(|| fdpass::recv_without_fds(fd, fdpass::MAX_FROM_CHILD)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            received => from_child(received, fd),
        }
    }

    /// The next message, or `None` at end-of-file (the child is gone); an
    /// error of kind `InvalidData` for one that cannot be read (an empty
    /// packet included).
    ///
    /// Each receive counts against the task's share of the runtime (tokio's
    /// budget): a child that sends without end cannot keep the one thread
    /// the supervisor's loop runs on, as a wait that never has to wait
    /// would.
    pub async fn recv(&self) -> io::Result<Option<FromChild>> {
        let recv = |fd: &OwnedFd| {
            past_reset(|| fdpass::recv_without_fds(fd.as_fd(), fdpass::MAX_FROM_CHILD))
        };
        let received = self.fd.async_io(tokio::io::Interest::READABLE, recv).await;
        from_child(received, self.fd.get_ref().as_fd())
    }
}

/// Receives, reading past a reset: the peer closed its end with a message
/// of ours unread (a child that failed before reading its hello, a
/// supervisor that died before reading a child's). Linux reports that
/// once, before the messages the peer sent, which are still queued; the
/// next receive gets them, then end-of-file.
fn past_reset<T>(mut recv: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    match recv() {
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => recv(),
        received => received,
    }
}

/// A message from a child as received on `fd`: `None` at end-of-file. A
/// child never sends fds: any that came were closed by the kernel, never
/// installed here (see [`fdpass::recv_without_fds`]).
fn from_child(
    received: io::Result<fdpass::Received>,
    fd: BorrowedFd<'_>,
) -> io::Result<Option<FromChild>> {
    let got = received?;
    if got.data.is_empty() {
        return ended_or_empty(fd);
    }
    decode(&got.data).map(Some)
}

/// Whether an error on the channel is the kernel short of memory for the
/// moment (`ENOMEM`, `ENOBUFS`): the channel is still there, and the
/// receive is to be tried again rather than taken as the channel lost.
pub(crate) fn short_of_memory(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(nix::libc::ENOMEM | nix::libc::ENOBUFS)
    )
}

/// What an empty receive on the channel `fd` was: the end of the file
/// (`None`), once the other end is closed and nothing more is queued;
/// else an empty message, which neither side sends (a process holding a
/// copy of an end may), and which is no reason to stop reading. A
/// seqpacket socket gives 0 bytes for both.
fn ended_or_empty<T>(fd: BorrowedFd<'_>) -> io::Result<Option<T>> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    // POLLHUP once the other end is closed; POLLRDHUP once it is shut for
    // writing only, after which every receive gives 0 bytes too, for
    // ever. nix 0.31 has no name for POLLRDHUP: asked for by its bits; its
    // `revents` is `None` for a bit it cannot name, POLLRDHUP the only
    // one asked (a later nix that names it gives the bits).
    let hangup = nix::libc::POLLHUP | nix::libc::POLLRDHUP;
    let asked = PollFlags::from_bits_retain(nix::libc::POLLRDHUP);
    let mut fds = [PollFd::new(fd, asked)];
    let polled = loop {
        match poll(&mut fds, PollTimeout::ZERO) {
            Err(nix::errno::Errno::EINTR) => continue,
            polled => break polled,
        }
    };
    let closed = match polled {
        Ok(_) => fds[0]
            .revents()
            .is_none_or(|events| events.bits() & hangup != 0),
        // Not to be told: as before, the end.
        Err(_) => true,
    };
    // Closed, but messages sent before the close may still be queued
    // behind the empty one: those are read on.
    let queued = closed && bytes_queued(fd) > 0;
    match closed && !queued {
        true => Ok(None),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an empty message",
        )),
    }
}

/// The bytes of every message queued on the seqpacket socket `fd` (the
/// kernel's `FIONREAD`, `SIOCINQ` for a socket, adds them up for this
/// type, empty ones counting 0);
/// 0 if it cannot tell. Unlike a receive, it reports no pending error.
fn bytes_queued(fd: BorrowedFd<'_>) -> nix::libc::c_int {
    let mut queued: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points
    // to `queued`, alive for the call; `fd` is an open socket.
    let asked = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::FIONREAD, &mut queued) };
    if asked < 0 { 0 } else { queued }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_unsent_is_warned_of_unless_the_supervisor_is_gone() {
        let gone = io::Error::from_raw_os_error(nix::libc::EPIPE);
        assert_eq!(ready_unsent(&gone, true), None);
        assert_eq!(ready_unsent(&gone, false), None);
        let short = io::Error::from_raw_os_error(nix::libc::ENOBUFS);
        let by_program = ready_unsent(&short, true).unwrap();
        assert!(
            by_program.starts_with(
                "cannot tell the supervisor this child is ready: No buffer space available"
            ) && by_program.contains("`ctx.ready()` again tries once more"),
            "{by_program}"
        );
        let automatic = ready_unsent(&short, false).unwrap();
        assert!(
            automatic.ends_with("; its start will fail at its ready timeout"),
            "{automatic}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_child_that_sends_without_end_lets_the_loop_run() {
        use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let (ours, theirs) = nix::sys::socket::socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        // The child's end filled until full.
        let message = encode(FromChild::Ready);
        let mut queued = 0;
        while nix::sys::socket::send(theirs.as_raw_fd(), &message, MsgFlags::MSG_DONTWAIT).is_ok() {
            queued += 1;
        }
        // More than tokio's budget of operations for one turn (128).
        assert!(queued > 128, "the channel took {queued} messages only");
        let supervisor = SupervisorEnd::new(ours).unwrap();
        // The first read learns that the socket is readable (which the
        // runtime's poll tells), and stays so while messages are queued.
        assert!(matches!(
            supervisor.recv().await,
            Ok(Some(FromChild::Ready))
        ));
        let mut read = 1;
        let other_ran = Arc::new(AtomicBool::new(false));
        tokio::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.store(true, Ordering::Relaxed) }
        });
        // Another task on the thread runs before all of them are read:
        // a child sending as fast as they are read would never let it.
        while !other_ran.load(Ordering::Relaxed) {
            assert!(
                read < queued,
                "all {queued} messages were read before any other task ran"
            );
            assert!(matches!(
                supervisor.recv().await,
                Ok(Some(FromChild::Ready))
            ));
            read += 1;
        }
    }

    #[test]
    fn only_a_kernel_short_of_memory_is_tried_again() {
        let os = io::Error::from_raw_os_error;
        assert!(short_of_memory(&os(nix::libc::ENOMEM)));
        assert!(short_of_memory(&os(nix::libc::ENOBUFS)));
        // A channel really gone, or a message unreadable, is not.
        assert!(!short_of_memory(&os(nix::libc::EBADF)));
        assert!(!short_of_memory(&os(nix::libc::ENOTSOCK)));
        assert!(!short_of_memory(&io::Error::new(
            io::ErrorKind::InvalidData,
            "an empty message"
        )));
    }

    mod props {
        use proptest::prelude::*;

        use super::super::{FromChild, ToChild, decode, encode};

        fn from_child() -> impl Strategy<Value = FromChild> {
            let hello = (
                ".{0,40}",
                any::<u64>(),
                any::<u64>(),
                any::<Option<u32>>(),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(name, lameduck_ms, ready_timeout_ms, takes_over, q, a)| {
                    FromChild::Hello {
                        name,
                        lameduck_ms,
                        ready_timeout_ms,
                        takes_over,
                        reads_queued: q,
                        reads_alone: a,
                    }
                });
            prop_oneof![
                hello,
                Just(FromChild::Ready),
                ".{0,80}".prop_map(|error| FromChild::Error { error }),
                any::<i32>().prop_map(|code| FromChild::Finished { code }),
            ]
        }

        fn to_child() -> impl Strategy<Value = ToChild> {
            use crate::spec::Network;
            let network = prop::sample::select(vec![
                Network::Tcp,
                Network::Tcp4,
                Network::Tcp6,
                Network::Udp,
                Network::Udp4,
                Network::Udp6,
                Network::Unix,
            ]);
            let file = ("/[a-z/._ -]{0,30}", any::<[u64; 2]>()).prop_map(|(path, id)| {
                crate::own_file::OwnFile {
                    path: path.into(),
                    id,
                }
            });
            let entry = (
                "[a-zA-Z0-9_-]{1,12}",
                network,
                any::<bool>(),
                prop::option::of(file),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(name, network, bound, file, managers, served_beside)| {
                    super::super::ListenerEntry {
                        name,
                        network,
                        bound,
                        file,
                        managers,
                        served_beside,
                    }
                });
            let hello = (
                ".{0,20}",
                prop::collection::vec(entry, 0..5),
                any::<[bool; 3]>(),
            )
                .prop_map(|(name, listeners, [refuse, own, beside])| ToChild::Hello {
                    name,
                    listeners,
                    refuse_when_orphaned: refuse,
                    refuse_own_when_orphaned: own,
                    beside_serving: beside,
                });
            prop_oneof![
                hello,
                any::<bool>().prop_map(|refuse| ToChild::Lameduck { refuse }),
                (".{0,20}", any::<u64>())
                    .prop_map(|(listener, inode)| ToChild::Queued { listener, inode }),
                Just(ToChild::Alone),
            ]
        }

        /// What the supervisor logs of a message it cannot read: one
        /// short line, whatever the peer sent.
        fn said_safely(e: std::io::Error) -> Result<(), TestCaseError> {
            prop_assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            let said = e.to_string();
            prop_assert!(!said.chars().any(char::is_control), "{said:?}");
            prop_assert!(said.chars().count() < 300, "{said}");
            Ok(())
        }

        proptest! {
            #![proptest_config(crate::repeatable::config(2_000, 0x000c_4a77))]

            #[test]
            fn every_message_a_child_sends_is_read_as_sent(message in from_child()) {
                let read = decode::<FromChild>(&encode(message.clone())).map_err(|e| e.to_string());
                prop_assert_eq!(read, Ok(message));
            }

            #[test]
            fn every_message_the_supervisor_sends_is_read_as_sent(message in to_child()) {
                let bytes = encode(&message);
                let read = decode::<ToChild>(&bytes).map_err(|e| e.to_string());
                prop_assert_eq!(read, Ok(message));
            }

            #[test]
            fn a_message_of_any_name_is_refused_in_one_short_line(name in ".{0,120}") {
                let packet = serde_json::json!({ "v": 1, "msg": name }).to_string();
                if let Err(e) = decode::<FromChild>(packet.as_bytes()) {
                    said_safely(e)?;
                }
            }

            #[test]
            fn any_packet_is_read_or_refused_in_one_short_line(
                packet in prop::collection::vec(any::<u8>(), 0..512),
            ) {
                if let Err(e) = decode::<FromChild>(&packet) {
                    said_safely(e)?;
                }
                if let Err(e) = decode::<ToChild>(&packet) {
                    said_safely(e)?;
                }
            }

            #[test]
            fn a_message_changed_in_one_byte_is_read_or_refused_so(
                message in from_child(),
                at in any::<prop::sample::Index>(),
                byte in any::<u8>(),
            ) {
                let mut packet = encode(message);
                let i = at.index(packet.len());
                packet[i] = byte;
                if let Err(e) = decode::<FromChild>(&packet) {
                    said_safely(e)?;
                }
            }
        }
    }

    #[test]
    fn a_bad_message_is_said_escaped_and_short() {
        let forged = "x\nlittleboss: reloaded app\u{1b}]0;t\u{7}";
        let message = format!(
            r#"{{"v":1,"msg":{}}}"#,
            serde_json::to_string(forged).unwrap()
        );
        let said = decode::<FromChild>(message.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!said.contains('\n') && !said.contains('\u{1b}'), "{said}");
        assert!(said.contains("littleboss: reloaded app"), "{said}");
        let long = format!(r#"{{"v":1,"msg":"{}"}}"#, "y".repeat(100_000));
        let said = decode::<FromChild>(long.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(said.chars().count() < 300, "{} chars", said.chars().count());
    }

    #[test]
    fn ready_is_said_once_and_never_once_closed() {
        use std::os::fd::AsFd;
        // What the supervisor's end holds, read without waiting.
        let read_all = |supervisor: &OwnedFd| {
            use nix::fcntl::{FcntlArg, OFlag, fcntl};
            fcntl(supervisor, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
            let mut said = Vec::new();
            while let Ok(received) = fdpass::recv(supervisor.as_fd(), 4096) {
                said.push(String::from_utf8_lossy(&received.data).into_owned());
            }
            said
        };
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        child.send_ready().unwrap();
        child.send_ready().unwrap();
        assert!(child.no_more_ready(), "said before main returned");
        assert_eq!(read_all(&supervisor).len(), 1);
        // Closed before any was said: none is, whoever asks.
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        assert!(!child.no_more_ready());
        child.send_ready().unwrap();
        assert!(read_all(&supervisor).is_empty());
        // Closed as draining began: none is said, and `main`'s return
        // finds none was.
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        child.close_ready();
        child.send_ready().unwrap();
        assert!(read_all(&supervisor).is_empty());
        assert!(!child.has_said_ready());
        assert!(!child.no_more_ready());
        // Said before: it stands.
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        assert!(!child.has_said_ready());
        child.send_ready().unwrap();
        assert!(child.has_said_ready());
        child.close_ready();
        assert!(child.no_more_ready());
        assert_eq!(read_all(&supervisor).len(), 1);
    }

    /// A supervisor that sent an order and died with the child's message
    /// unread: the child reads the order (not the reset), then the end.
    #[test]
    fn a_child_reads_past_a_reset_to_what_the_supervisor_sent() {
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        child.send(FromChild::Ready).unwrap();
        let order = encode(ToChild::Lameduck { refuse: true });
        fdpass::send(supervisor.as_fd(), &order, &[]).unwrap();
        drop(supervisor);
        let (message, _) = child.recv().unwrap().expect("the order");
        assert_eq!(message, ToChild::Lameduck { refuse: true });
        assert!(child.recv().unwrap().is_none(), "then end-of-file");
    }

    /// `end` as the supervisor reads it, with the runtime to read it on.
    fn supervisor_side(end: OwnedFd) -> (tokio::runtime::Runtime, SupervisorEnd) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let ours = runtime.block_on(async { SupervisorEnd::new(end) }).unwrap();
        (runtime, ours)
    }

    /// An empty packet (which neither side sends: a process holding a
    /// copy of an end may) is a bad message, read past; not the end of
    /// the file, which only the other end's close is.
    #[test]
    fn an_empty_message_is_no_end_of_file_on_either_side() {
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        fdpass::send(supervisor.as_fd(), &[], &[]).unwrap();
        let order = encode(ToChild::Lameduck { refuse: true });
        fdpass::send(supervisor.as_fd(), &order, &[]).unwrap();
        let empty = child.recv().unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::InvalidData, "{empty}");
        let (message, _) = child.recv().unwrap().expect("the order after it");
        assert_eq!(message, ToChild::Lameduck { refuse: true });
        // The supervisor's side, as a child's end sends one.
        let (runtime, ours) = supervisor_side(supervisor);
        fdpass::send(child.fd.as_fd(), &[], &[]).unwrap();
        child.send(FromChild::Ready).unwrap();
        let empty = runtime.block_on(ours.recv()).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::InvalidData, "{empty}");
        let ready = runtime.block_on(ours.recv()).unwrap();
        assert_eq!(ready, Some(FromChild::Ready));
        drop(child);
        assert_eq!(
            runtime.block_on(ours.recv()).unwrap(),
            None,
            "then end-of-file"
        );
        assert_eq!(ours.recv_queued().unwrap(), None);
    }

    /// Two empty packets, then a message, then the close: the message is
    /// read, then the end of the file (the close is seen at the empty
    /// packet already).
    #[test]
    fn a_message_after_an_empty_one_is_read_though_its_sender_closed() {
        // The child's side.
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        fdpass::send(supervisor.as_fd(), &[], &[]).unwrap();
        fdpass::send(supervisor.as_fd(), &[], &[]).unwrap();
        let order = encode(ToChild::Lameduck { refuse: true });
        fdpass::send(supervisor.as_fd(), &order, &[]).unwrap();
        drop(supervisor);
        for _ in 0..2 {
            let empty = child.recv().unwrap_err();
            assert_eq!(empty.kind(), io::ErrorKind::InvalidData, "{empty}");
        }
        let (message, _) = child.recv().unwrap().expect("the order after it");
        assert_eq!(message, ToChild::Lameduck { refuse: true });
        assert!(child.recv().unwrap().is_none(), "then end-of-file");
        // The supervisor's side.
        let (supervisor, child) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(child);
        let (runtime, ours) = supervisor_side(supervisor);
        fdpass::send(child.fd.as_fd(), &[], &[]).unwrap();
        child.send(FromChild::Ready).unwrap();
        drop(child);
        let empty = runtime.block_on(ours.recv()).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::InvalidData, "{empty}");
        let ready = runtime.block_on(ours.recv()).unwrap();
        assert_eq!(ready, Some(FromChild::Ready));
        assert_eq!(runtime.block_on(ours.recv()).unwrap(), None);
    }

    /// An end shut for writing only (by a process holding a copy of it)
    /// gives 0 bytes at every receive: the end of the file, not empty
    /// messages read past for ever.
    #[test]
    fn an_end_shut_for_writing_is_the_end_of_the_file() {
        use nix::sys::socket::{Shutdown, shutdown};
        use std::os::fd::AsRawFd;
        let (supervisor, child) = fdpass::socketpair().unwrap();
        shutdown(supervisor.as_raw_fd(), Shutdown::Write).unwrap();
        let child = ChildEnd::new(child);
        assert!(child.recv().unwrap().is_none());
        shutdown(child.fd.as_raw_fd(), Shutdown::Write).unwrap();
        let (runtime, ours) = supervisor_side(supervisor);
        assert_eq!(runtime.block_on(ours.recv()).unwrap(), None);
    }

    #[test]
    fn an_error_is_cut_to_fit_one_message() {
        let short = FromChild::error("no listener");
        assert_eq!(
            short,
            FromChild::Error {
                error: "no listener".into()
            }
        );
        // Quotes escape to two bytes each, `é` is two bytes to cut between.
        let long = "é\"".repeat(5000);
        let FromChild::Error { error } = FromChild::error(&long) else {
            unreachable!()
        };
        assert!(error.ends_with("… (cut)"), "{error}");
        assert!(long.starts_with(error.trim_end_matches("… (cut)")));
        let bytes = encode(FromChild::Error { error });
        assert!(bytes.len() <= fdpass::MAX_FROM_CHILD, "{}", bytes.len());
    }

    #[test]
    fn messages_round_trip_with_version() {
        let bytes = encode(FromChild::Finished { code: 3 });
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"{"v":1,"msg":"finished","code":3}"#
        );
        assert_eq!(
            decode::<FromChild>(&bytes).unwrap(),
            FromChild::Finished { code: 3 }
        );
    }

    #[test]
    fn every_kind_of_message_round_trips() {
        for msg in [
            FromChild::Hello {
                name: "svc".into(),
                lameduck_ms: 5,
                ready_timeout_ms: 6,
                takes_over: Some(1),
                reads_queued: true,
                reads_alone: true,
            },
            FromChild::Ready,
            FromChild::Error { error: "no".into() },
            FromChild::Finished { code: -1 },
        ] {
            let bytes = encode(&msg);
            assert_eq!(decode::<FromChild>(&bytes).unwrap(), msg);
        }
        for msg in [
            ToChild::Hello {
                name: "svc".into(),
                listeners: vec![
                    ListenerEntry {
                        name: "http".into(),
                        network: Network::Tcp,
                        bound: true,
                        file: None,
                        managers: true,
                        served_beside: true,
                    },
                    ListenerEntry {
                        name: "api".into(),
                        network: Network::Unix,
                        bound: true,
                        file: Some(crate::own_file::OwnFile {
                            path: "/run/svc/api.sock".into(),
                            id: [2049, 77],
                        }),
                        managers: false,
                        served_beside: false,
                    },
                ],
                refuse_when_orphaned: false,
                refuse_own_when_orphaned: true,
                beside_serving: true,
            },
            ToChild::Hello {
                name: "svc".into(),
                listeners: vec![],
                refuse_when_orphaned: true,
                refuse_own_when_orphaned: false,
                beside_serving: false,
            },
            ToChild::Lameduck { refuse: false },
            ToChild::Lameduck { refuse: true },
            ToChild::Alone,
        ] {
            let bytes = encode(&msg);
            assert_eq!(decode::<ToChild>(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn ready_is_said_once() {
        let (ours, theirs) = fdpass::socketpair().unwrap();
        let child = ChildEnd::new(ours);
        for _ in 0..3 {
            child.send_ready().unwrap();
        }
        child.send(FromChild::Finished { code: 0 }).unwrap();
        let next = || decode::<FromChild>(&fdpass::recv(theirs.as_fd(), 256).unwrap().data);
        assert_eq!(next().unwrap(), FromChild::Ready);
        assert_eq!(next().unwrap(), FromChild::Finished { code: 0 });
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        let e = decode::<FromChild>(br#"{"v":2,"msg":"ready"}"#).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        assert!(decode::<FromChild>(b"not json").is_err());
        assert!(decode::<FromChild>(br#"{"v":1,"msg":"launch"}"#).is_err());
        assert!(decode::<FromChild>(br#"{"msg":"ready"}"#).is_err());
    }

    #[test]
    fn an_older_supervisors_hello_never_lets_an_orphan_refuse() {
        // It may hold the service manager's sockets, which must outlive it.
        let hello = br#"{"v":1,"msg":"hello","name":"svc","listeners":[{"name":"http","network":"tcp","bound":true}]}"#;
        let ToChild::Hello {
            refuse_when_orphaned,
            refuse_own_when_orphaned,
            beside_serving,
            listeners,
            ..
        } = decode::<ToChild>(hello).unwrap()
        else {
            panic!("not a hello");
        };
        assert!(!refuse_when_orphaned && !refuse_own_when_orphaned);
        // Nor tells it a serving child takes the queue: it takes its share.
        assert!(!beside_serving);
        assert!(!listeners[0].managers, "unmarked");
        assert!(!listeners[0].served_beside, "unmarked");
    }
}
