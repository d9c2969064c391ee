//! The service manager's notification protocol (`sd_notify(3)`), without
//! libsystemd: telling systemd that the service is ready, reloading,
//! stopping, alive (the watchdog), or what it is doing (the status line).
//!
//! Each notification is one datagram of newline-separated `KEY=value`
//! lines, sent to the unix socket named by `$NOTIFY_SOCKET`, through a
//! socket connected to it as the supervisor starts: a chroot or a mount
//! namespace `supervisor_init` enters does not lose the manager.
//!
//! A send on the supervisor's runtime never waits: one the manager's
//! full queue turns away (PID 1 busy) waits its turn, in order, and a task
//! of that runtime sends it once there is room (see [`waiting`]), so that
//! neither the supervisor's loop stalls nor a state change is lost.
//! Before an exec or the exit, what still waits is sent within
//! [`SEND_TIMEOUT`] in all. Failing to send
//! never affects the service: an outage's first failure is logged (one a
//! minute at most), and every failure of a state change (READY,
//! RELOADING, STOPPING); a status line or watchdog ping lost again is not.

mod waiting;

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};

use crate::log::log;
use waiting::{Kind, Queued, Waiting};

const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
const WATCHDOG_PID: &str = "WATCHDOG_PID";

/// The service manager's variables for notification: the supervisor's
/// alone, never a child's.
pub(crate) const VARS: [&str; 3] = [NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID];

/// How long a send may wait when the manager's queue is full, where
/// nothing could send it later (no runtime; an exec next), so that a stuck
/// manager cannot stall the supervisor for longer. A notification that
/// waits its turn (see [`waiting`]) is said to wait after as long.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the task sending what waits pauses after a refusal at first,
/// and at most (doubling in between): the manager's queue has no
/// readiness to wait on when sent to by path.
const RETRY_FIRST: Duration = Duration::from_millis(10);
/// The longest pause of that task between two tries.
const RETRY_MAX: Duration = Duration::from_millis(250);

/// A connection to the service manager's notify socket (`$NOTIFY_SOCKET`).
#[derive(Debug)]
pub(crate) struct Notifier {
    /// Shared with the task that sends what waits.
    sender: Arc<Sender>,
    /// `$NOTIFY_SOCKET` as it was, to hand on across an in-place upgrade.
    socket_var: std::ffi::OsString,
    watchdog: Option<Duration>,
}

/// What sends, and what waits to be sent.
#[derive(Debug)]
struct Sender {
    addr: SocketAddr,
    /// A socket connected to `addr` as the supervisor started (close-on-
    /// exec; handed on across an in-place upgrade): what is sent goes to
    /// the socket that was there then, whatever the path names since.
    /// `None` when it could not be connected; each send then looks the
    /// path up.
    connected: Option<UnixDatagram>,
    /// The outages of sends, as said.
    outages: Mutex<Outages>,
    /// What the manager's full queue turned away, in order; held while a
    /// send is tried, so that none overtakes another.
    waiting: Mutex<Waiting>,
}

/// Whether a send may wait for room in the manager's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Not at all: the queue's refusal is `WouldBlock`.
    No,
    /// Up to this long (never zero).
    Bounded(Duration),
}

/// The notify socket's outages: each said once, with its end; but at
/// most one every [`OUTAGE_SAID_EVERY`], so that a socket that flaps (a
/// manager's queue full now and then) cannot fill the log. Those not
/// said are counted in the next that is.
#[derive(Debug, Default)]
struct Outages {
    /// A send failed, and none has gone through since.
    failing: bool,
    /// The outage under way was said, so its end is too.
    said: bool,
    /// When an outage was last said.
    last_said: Option<Instant>,
    /// Outages since then not said.
    unsaid: u64,
}

/// How often at most an outage of the notify socket is said.
const OUTAGE_SAID_EVERY: Duration = Duration::from_secs(60);

impl Outages {
    /// A send failed at `now` (`must_say`: a state change's, always
    /// said): `Some` with the count of outages not said since the last
    /// that was, if this failure is to be said.
    fn failed(&mut self, now: Instant, must_say: bool) -> Option<u64> {
        let begins = !std::mem::replace(&mut self.failing, true);
        if begins {
            let lately =
                (self.last_said).is_some_and(|at| now.duration_since(at) < OUTAGE_SAID_EVERY);
            self.said = false;
            if lately && !must_say {
                self.unsaid += 1;
                return None;
            }
        } else if !must_say {
            return None;
        } else if !self.said {
            // Counted as not said as it began: said now, its end too.
            self.unsaid = self.unsaid.saturating_sub(1);
        }
        self.said = true;
        self.last_said = Some(now);
        Some(std::mem::take(&mut self.unsaid))
    }

    /// A send went through: whether to say that it works again (the
    /// outage it ends was said).
    fn went_through(&mut self) -> bool {
        let said = self.failing && self.said;
        self.failing = false;
        said
    }
}

/// One notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message<'a> {
    Ready,
    /// `monotonic_usec`: when the reload started, on `CLOCK_MONOTONIC`;
    /// `None` for an unstamped one, no answer to systemd's reload signal
    /// (see [`Notifier::reloading`]).
    Reloading {
        monotonic_usec: Option<u64>,
    },
    /// `extend_usec`: how long the stop may take, from now.
    Stopping {
        extend_usec: Option<u64>,
    },
    Status(&'a str),
    Watchdog,
}

impl Message<'_> {
    /// What it says, as far as waiting goes.
    fn kind(self) -> Kind {
        match self {
            Message::Ready | Message::Reloading { .. } | Message::Stopping { .. } => {
                Kind::StateChange
            }
            Message::Status(_) => Kind::Status,
            Message::Watchdog => Kind::Watchdog,
        }
    }

    /// The datagram's text.
    fn encode(self) -> String {
        match self {
            Message::Ready => "READY=1".to_owned(),
            Message::Reloading {
                monotonic_usec: Some(usec),
            } => format!("RELOADING=1\nMONOTONIC_USEC={usec}"),
            Message::Reloading {
                monotonic_usec: None,
            } => "RELOADING=1".to_owned(),
            Message::Stopping { extend_usec: None } => "STOPPING=1".to_owned(),
            // One datagram: systemd takes the extension as it enters the
            // stop, whose timer it lengthens (never shortens).
            Message::Stopping {
                extend_usec: Some(usec),
            } => format!("STOPPING=1\nEXTEND_TIMEOUT_USEC={usec}"),
            // A newline would end the status and start another assignment;
            // systemd drops a whole datagram holding a NUL (a child's
            // message quoted in a status may hold one), or of more than
            // 4096 bytes (its buffer): cut to fit well within.
            Message::Status(line) => {
                // Cut first: each character replaced is one byte, as its
                // space is.
                let line = crate::log::cut_at_char(line, MOST_STATUS);
                format!("STATUS={}", line.replace(['\n', '\r', '\0'], " "))
            }
            Message::Watchdog => "WATCHDOG=1".to_owned(),
        }
    }
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`: an absolute path, or an abstract socket
    /// written with a leading `@`. `None` when it is unset or empty, or
    /// (logged) anything else.
    ///
    /// Also reads the watchdog's `$WATCHDOG_USEC` and `$WATCHDOG_PID`.
    /// Removes all three from the environment (while this process has a
    /// single thread) so that children do not talk to the manager
    /// themselves.
    pub(crate) fn from_env() -> Option<Notifier> {
        let [socket, usec, pid] = VARS.map(std::env::var_os);
        // Before any line: in the supervisor, the first line queued starts
        // the log's writer thread.
        crate::environ::remove_env(&VARS);
        let our_pid = std::process::id() as i32;
        Notifier::from_values(socket.as_deref(), usec.as_deref(), pid.as_deref(), our_pid)
    }

    /// [`Notifier::from_env`] for the values of its variables, logging
    /// what it cannot use.
    fn from_values(
        socket: Option<&OsStr>,
        usec: Option<&OsStr>,
        pid: Option<&OsStr>,
        our_pid: i32,
    ) -> Option<Notifier> {
        let addr = match parse_socket(socket?) {
            Ok(addr) => addr?,
            Err(e) => {
                log!("{e}; not notifying the service manager");
                return None;
            }
        };
        let watchdog = parse_watchdog(usec, pid, our_pid).unwrap_or_else(|e| {
            log!("{e}; not sending watchdog pings");
            None
        });
        let connected = connect(&addr);
        Some(Notifier {
            watchdog,
            socket_var: socket?.to_owned(),
            ..Notifier::sending_to(addr, connected)
        })
    }

    /// What a supervisor that re-executes itself hands on: `$NOTIFY_SOCKET`
    /// and the ping interval (the variables are gone from its environment),
    /// and the connected socket by [`connected_fd`](Notifier::connected_fd).
    ///
    /// ```ignore
    /// let (socket, ping_usec) = notifier.handoff();
    /// let again = Notifier::resume(&socket, ping_usec, None);
    /// ```
    pub(crate) fn handoff(&self) -> (std::ffi::OsString, Option<u64>) {
        let usec = self.watchdog.map(|w| w.as_micros() as u64);
        (self.socket_var.clone(), usec)
    }

    /// The notifier [`Notifier::handoff`] described, sending through
    /// `connected` (the one handed over) if there is one.
    pub(crate) fn resume(
        socket: &OsStr,
        ping_usec: Option<u64>,
        connected: Option<OwnedFd>,
    ) -> Option<Notifier> {
        let addr = parse_socket(socket).ok()??;
        Some(Notifier {
            watchdog: ping_usec.map(Duration::from_micros),
            socket_var: socket.to_owned(),
            ..Notifier::sending_to(addr, connected.map(UnixDatagram::from))
        })
    }

    /// The connected socket's descriptor, to hand over across an
    /// in-place upgrade.
    pub(crate) fn connected_fd(&self) -> Option<RawFd> {
        self.sender.connected.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// A notifier for the socket at `addr`, without a watchdog.
    #[cfg(test)]
    pub(crate) fn to_socket_addr(addr: SocketAddr) -> Notifier {
        Notifier::sending_to(addr, None)
    }

    /// A notifier for the socket at `addr`, through `connected` if there
    /// is one, without a watchdog.
    fn sending_to(addr: SocketAddr, connected: Option<UnixDatagram>) -> Notifier {
        Notifier {
            sender: Arc::new(Sender {
                addr,
                connected,
                outages: Mutex::default(),
                waiting: Mutex::default(),
            }),
            socket_var: Default::default(),
            watchdog: None,
        }
    }

    /// `READY=1`: started, or done reloading.
    pub(crate) fn ready(&self) {
        self.send(Message::Ready);
    }

    /// `RELOADING=1`, with `MONOTONIC_USEC`, the time now, if it
    /// `answers_signal`: `Type=notify-reload` takes a stamp after its
    /// reload signal as that signal's answer, and ignores a RELOADING=1
    /// without one while it waits for that answer.
    pub(crate) fn reloading(&self, answers_signal: bool) {
        self.send(Message::Reloading {
            monotonic_usec: answers_signal.then(monotonic_usec).flatten(),
        });
    }

    /// `STOPPING=1`: winding down, for as long as `within` at most, told
    /// as `EXTEND_TIMEOUT_USEC` (a `TimeoutStopSec=` shorter than that
    /// would kill a drain).
    pub(crate) fn stopping(&self, within: Option<Duration>) {
        let extend_usec = within.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        self.send(Message::Stopping { extend_usec });
    }

    /// `STATUS=line`, its newlines, carriage returns and NULs turned into
    /// spaces, cut to [`MOST_STATUS`] bytes.
    pub(crate) fn status(&self, line: &str) {
        self.send(Message::Status(line));
    }

    /// `WATCHDOG=1`: still alive.
    pub(crate) fn watchdog(&self) {
        self.send(Message::Watchdog);
    }

    /// How often to call [`Notifier::watchdog`]: half of `$WATCHDOG_USEC`,
    /// when it was set for this process; `None` otherwise.
    pub(crate) fn watchdog_interval(&self) -> Option<Duration> {
        // Never zero (a tick of zero panics): a `WATCHDOG_USEC` of 1 halves
        // to 500 ns, handed on across an upgrade in whole microseconds.
        self.watchdog.map(|half| half.max(Duration::from_millis(1)))
    }

    /// Sends `message` at once, or, when the manager's queue is full,
    /// behind those waiting (see [`waiting`]): a task of the runtime this
    /// is called on sends them in order once there is room. Called on no
    /// runtime, what waits is sent as [`send_waiting_now`] says instead.
    ///
    /// [`send_waiting_now`]: Notifier::send_waiting_now
    ///
    /// Logs the first failure of an outage (see [`Outages`]), and every
    /// failure of a state change (READY, RELOADING, STOPPING): the service
    /// manager waits on those, so a lost one must be in the log. A status
    /// line or a watchdog ping lost again is not repeated; the first send
    /// that goes through after an outage said says so.
    fn send(&self, message: Message<'_>) {
        let queued = Queued {
            text: message.encode(),
            kind: message.kind(),
        };
        let sender = &self.sender;
        let mut waiting = sender.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.is_empty() {
            match sender.try_send(&queued.text, Wait::No) {
                Ok(()) => return sender.went_through(),
                Err(e) if full(&e) => {}
                Err(e) => return sender.failed(&queued, &e),
            }
        }
        if let Some(dropped) = waiting.push(queued) {
            let e = io::Error::other("too many notifications wait for room");
            sender.failed(&dropped, &e);
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !waiting.draining => {
                waiting.draining = true;
                // Not holding the lock: a runtime shutting down drops the
                // task at once, whose mark then takes the lock.
                drop(waiting);
                runtime.spawn(Sender::send_waiting(Draining::new(sender.clone())));
            }
            Ok(_) => {}
            // Nothing would send it later.
            Err(_) => {
                drop(waiting);
                self.send_waiting_now();
            }
        }
    }

    /// Sends what waits, in order, before an exec or the exit, which
    /// would lose it: waiting for room up to [`SEND_TIMEOUT`] in all, and
    /// once that is up, each one still turned away is logged as lost.
    pub(crate) fn send_waiting_now(&self) {
        let sender = &self.sender;
        let mut waiting = sender.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + SEND_TIMEOUT;
        while let Some(queued) = waiting.pop_front() {
            // The time left, shared by all; once it is out, each goes
            // only if there is room.
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = match left.is_zero() {
                true => Wait::No,
                false => Wait::Bounded(left),
            };
            match sender.try_send(&queued.text, wait) {
                Ok(()) => sender.went_through(),
                Err(e) => sender.failed(&queued, &e),
            }
        }
    }
}

/// The mark that a task sends what waits ([`Waiting::draining`]),
/// cleared when the task ends, or is dropped without having run (its
/// runtime shut down, or never driven on the way to an exec), so that the
/// next notification turned away starts another.
struct Draining {
    sender: Arc<Sender>,
    /// The task cleared the mark itself, with nothing waiting.
    cleared: bool,
}

impl Draining {
    fn new(sender: Arc<Sender>) -> Draining {
        Draining {
            sender,
            cleared: false,
        }
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if !self.cleared {
            let waiting = &self.sender.waiting;
            waiting.lock().unwrap_or_else(|e| e.into_inner()).draining = false;
        }
    }
}

impl Sender {
    /// Sends what waits, in order, pausing while the manager's queue is
    /// full; ends once nothing waits. A notification waiting
    /// [`SEND_TIMEOUT`] is logged as for a failure (and its send then as
    /// the outage's end); one failing otherwise is given up on.
    async fn send_waiting(mut draining: Draining) {
        let this = draining.sender.clone();
        let mut pause = RETRY_FIRST;
        // Since when the front (as `Waiting::fronts` counts them) waits.
        let mut front = (u64::MAX, tokio::time::Instant::now());
        loop {
            {
                let mut waiting = this.waiting.lock().unwrap_or_else(|e| e.into_inner());
                if waiting.fronts() != front.0 {
                    front = (waiting.fronts(), tokio::time::Instant::now());
                }
                let Some(first) = waiting.front() else {
                    waiting.draining = false;
                    draining.cleared = true;
                    return;
                };
                match this.try_send(&first.text, Wait::No) {
                    Ok(()) => {
                        waiting.pop_front();
                        this.went_through();
                        pause = RETRY_FIRST;
                        continue;
                    }
                    Err(e) if full(&e) => {
                        if !waiting.front_said && front.1.elapsed() >= SEND_TIMEOUT {
                            let e = io::Error::other(format!(
                                "its queue is full; waiting to send it ({e})"
                            ));
                            this.failed(first, &e);
                            waiting.front_said = true;
                        }
                    }
                    Err(e) => {
                        let first = waiting.pop_front().expect("just seen");
                        this.failed(&first, &e);
                        pause = RETRY_FIRST;
                        continue;
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
        }
    }

    /// A send went through: says so if it ends an outage said.
    fn went_through(&self) {
        let mut outages = self.outages.lock().unwrap_or_else(|e| e.into_inner());
        if outages.went_through() {
            log!(
                "notifying the service manager at {} works again",
                show(&self.addr)
            );
        }
    }

    /// Sending `queued` failed with `e`: logged, if [`Outages`] says so.
    fn failed(&self, queued: &Queued, e: &io::Error) {
        let mut outages = self.outages.lock().unwrap_or_else(|e| e.into_inner());
        let changes_state = queued.kind == Kind::StateChange;
        if let Some(unsaid) = outages.failed(Instant::now(), changes_state) {
            let unsaid = match unsaid {
                0 => String::new(),
                1 => " (1 earlier outage not logged)".to_owned(),
                n => format!(" ({n} earlier outages not logged)"),
            };
            log!(
                "cannot notify the service manager at {} ({}): {e}{unsaid}",
                show(&self.addr),
                queued.text.lines().next().unwrap_or_default()
            );
        }
    }

    fn try_send(&self, text: &str, wait: Wait) -> io::Result<()> {
        let flags = match wait {
            Wait::No => nix::sys::socket::MsgFlags::MSG_DONTWAIT,
            Wait::Bounded(_) => nix::sys::socket::MsgFlags::empty(),
        };
        if let Some(socket) = &self.connected {
            let sent = match wait {
                Wait::No => nix::sys::socket::send(socket.as_raw_fd(), text.as_bytes(), flags),
                Wait::Bounded(left) => {
                    socket.set_write_timeout(Some(left))?;
                    let sent = nix::sys::socket::send(socket.as_raw_fd(), text.as_bytes(), flags);
                    // As it was made, for the image an exec hands it to.
                    socket.set_write_timeout(Some(SEND_TIMEOUT))?;
                    sent
                }
            };
            match sent {
                Ok(_) => return Ok(()),
                // That socket is closed (the kernel says so once, then
                // that ours is connected to nothing): sent to whatever the
                // path names.
                Err(nix::errno::Errno::ECONNREFUSED | nix::errno::Errno::ENOTCONN) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let socket = UnixDatagram::unbound()?;
        match wait {
            Wait::No => socket.set_nonblocking(true)?,
            Wait::Bounded(left) => socket.set_write_timeout(Some(left))?,
        }
        socket.send_to_addr(text.as_bytes(), &self.addr)?;
        Ok(())
    }
}

/// Whether `e` is the manager's queue turning a send away for want of
/// room: `EAGAIN`, which a bounded wait's end says too.
fn full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Sends a watchdog ping through `fd`, a descriptor an image handed over
/// as its socket connected to the manager at `$NOTIFY_SOCKET` (`socket`),
/// without taking it: for an image going back to the previous one, whose
/// path a chroot may hide. Only if `fd` is a socket connected to that
/// address (a file the program's code before `run` opened at its number
/// hears nothing): `None` otherwise, else how the send went (waiting for
/// room as long as its send timeout, which went across the exec with it).
///
/// ```ignore
/// if notify::ping_through_handed(fd, &socket).is_none() { /* ping by the path */ }
/// ```
pub(crate) fn ping_through_handed(fd: RawFd, socket: &OsStr) -> Option<io::Result<()>> {
    let addr = parse_socket(socket).ok()??;
    let peer = nix::sys::socket::getpeername::<nix::sys::socket::UnixAddr>(fd).ok()?;
    let same = match (addr.as_pathname(), addr.as_abstract_name()) {
        (Some(path), _) => peer.path() == Some(path),
        (None, Some(name)) => peer.as_abstract() == Some(name),
        (None, None) => false,
    };
    if !same {
        return None;
    }
    let text = Message::Watchdog.encode();
    let sent = nix::sys::socket::send(fd, text.as_bytes(), nix::sys::socket::MsgFlags::empty());
    Some(sent.map(drop).map_err(io::Error::from))
}

/// A socket connected to `addr`, bounded as every send is; `None` if it
/// cannot be had (nothing listens there yet, say).
fn connect(addr: &SocketAddr) -> Option<UnixDatagram> {
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect_addr(addr).ok()?;
    socket.set_write_timeout(Some(SEND_TIMEOUT)).ok()?;
    Some(socket)
}

/// Why a notification variable cannot be used: `$NOTIFY_SOCKET` (no
/// notifications then) or `$WATCHDOG_USEC` / `$WATCHDOG_PID` (no watchdog
/// pings then).
#[derive(Debug)]
pub(crate) enum NotifyEnvError {
    /// `$NOTIFY_SOCKET` is neither an absolute path nor `@name`.
    SocketKind { value: String },
    /// `$NOTIFY_SOCKET` is no unix socket address (too long, a NUL).
    SocketAddress { value: String, error: io::Error },
    /// `$WATCHDOG_USEC` is not a positive number.
    WatchdogUsec { value: String },
    /// `$WATCHDOG_PID` is not a process id.
    WatchdogPid(crate::environ::BadPid),
    /// `$WATCHDOG_PID` names another process: the pings are that one's to
    /// send (a wrapper that started this one rather than exec it).
    WatchdogOtherPid { pid: i32, ours: i32 },
}

impl std::fmt::Display for NotifyEnvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifyEnvError::SocketKind { value } => {
                write!(
                    f,
                    "{NOTIFY_SOCKET}=`{value}` is neither an absolute path nor an @abstract socket name"
                )?;
                // A VM's manager (systemd 254 on): what its unit then does.
                if value.starts_with("vsock") {
                    write!(
                        f,
                        " (a vsock address, which littleboss does not speak: a Type=notify unit waits for READY=1 until its start times out)"
                    )?;
                }
                Ok(())
            }
            NotifyEnvError::SocketAddress { value, error } => {
                write!(f, "{NOTIFY_SOCKET}=`{value}`: {error}")
            }
            NotifyEnvError::WatchdogUsec { value } => write!(
                f,
                "{WATCHDOG_USEC}=`{value}` is not a positive number of microseconds"
            ),
            NotifyEnvError::WatchdogPid(e) => e.fmt(f),
            NotifyEnvError::WatchdogOtherPid { pid, ours } => write!(
                f,
                "{WATCHDOG_PID}={pid} names another process than this one (pid {ours}): does `ExecStart=` start it through a command that does not exec it? (Then, under `NotifyAccess=main`, the default, systemd takes no message from this process, `READY=1` included, and a `Type=notify` start times out; nor does systemd's reload signal reach it, nor, under `KillMode=mixed`, its SIGTERM: `exec` the binary)"
            ),
        }
    }
}

impl std::error::Error for NotifyEnvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotifyEnvError::SocketAddress { error, .. } => Some(error),
            NotifyEnvError::WatchdogPid(e) => Some(e),
            NotifyEnvError::SocketKind { .. }
            | NotifyEnvError::WatchdogUsec { .. }
            | NotifyEnvError::WatchdogOtherPid { .. } => None,
        }
    }
}

/// The address in `$NOTIFY_SOCKET` (`None` when empty), or why it cannot
/// be used.
fn parse_socket(value: &OsStr) -> Result<Option<SocketAddr>, NotifyEnvError> {
    let bytes = value.as_bytes();
    let shown = value.to_string_lossy();
    let addr = match bytes.first() {
        None => return Ok(None),
        Some(b'/') => SocketAddr::from_pathname(Path::new(value)),
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..]),
        Some(_) => {
            return Err(NotifyEnvError::SocketKind {
                value: shown.into_owned(),
            });
        }
    };
    addr.map(Some)
        .map_err(|error| NotifyEnvError::SocketAddress {
            value: shown.into_owned(),
            error,
        })
}

/// Half of `$WATCHDOG_USEC` (`usec`), so that a ping is never late, when it
/// is set and `$WATCHDOG_PID` (`pid`) is unset or `our_pid` (another is an
/// error: without a word, the service manager would kill the service
/// every interval for want of pings).
fn parse_watchdog(
    usec: Option<&OsStr>,
    pid: Option<&OsStr>,
    our_pid: i32,
) -> Result<Option<Duration>, NotifyEnvError> {
    let Some(usec) = usec else {
        return Ok(None);
    };
    let usec = usec
        .to_str()
        .and_then(|u| u.parse::<u64>().ok())
        .filter(|u| *u > 0)
        .ok_or_else(|| NotifyEnvError::WatchdogUsec {
            value: usec.to_string_lossy().into_owned(),
        })?;
    if let Some(pid) = pid {
        let pid =
            crate::environ::parse_pid(WATCHDOG_PID, pid).map_err(NotifyEnvError::WatchdogPid)?;
        if pid != our_pid {
            return Err(NotifyEnvError::WatchdogOtherPid { pid, ours: our_pid });
        }
    }
    Ok(Some(Duration::from_micros(usec) / 2))
}

/// `CLOCK_MONOTONIC` now, in microseconds.
fn monotonic_usec() -> Option<u64> {
    let now = Duration::from(clock_gettime(ClockId::CLOCK_MONOTONIC).ok()?);
    u64::try_from(now.as_micros()).ok()
}

/// An address as `$NOTIFY_SOCKET` would write it.
fn show(addr: &SocketAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        return path.display().to_string();
    }
    match addr.as_abstract_name() {
        Some(name) => format!("@{}", String::from_utf8_lossy(name)),
        None => "(unnamed)".to_owned(),
    }
}

/// The most bytes of a status line sent: systemd drops a datagram of
/// more than 4096 bytes, whatever else it holds.
const MOST_STATUS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn messages() {
        assert_eq!(Message::Ready.encode(), "READY=1");
        assert_eq!(
            Message::Stopping { extend_usec: None }.encode(),
            "STOPPING=1"
        );
        assert_eq!(
            Message::Stopping {
                extend_usec: Some(17_000_000)
            }
            .encode(),
            "STOPPING=1\nEXTEND_TIMEOUT_USEC=17000000"
        );
        assert_eq!(Message::Watchdog.encode(), "WATCHDOG=1");
        assert_eq!(
            Message::Reloading {
                monotonic_usec: Some(123456789)
            }
            .encode(),
            "RELOADING=1\nMONOTONIC_USEC=123456789"
        );
        assert_eq!(
            Message::Reloading {
                monotonic_usec: None
            }
            .encode(),
            "RELOADING=1"
        );
        assert_eq!(
            Message::Status("serving 3 listeners").encode(),
            "STATUS=serving 3 listeners"
        );
        // A newline cannot smuggle in another assignment.
        assert_eq!(
            Message::Status("a\nREADY=1\r\nb").encode(),
            "STATUS=a READY=1  b"
        );
        assert_eq!(Message::Status("a\0b").encode(), "STATUS=a b");
        // Cut well within the datagram systemd takes, between characters.
        let long = format!("a{}", "é".repeat(3000));
        let sent = Message::Status(&long).encode();
        let status = sent.strip_prefix("STATUS=").unwrap();
        assert_eq!(status.len(), MOST_STATUS - 1);
        assert!(long.starts_with(status));
        assert_eq!(crate::log::cut_at_char("aé", 2), "a");
    }

    #[test]
    fn socket_values() {
        let path = parse_socket(os("/run/systemd/notify")).unwrap().unwrap();
        assert_eq!(path.as_pathname(), Some(Path::new("/run/systemd/notify")));
        let abs = parse_socket(os("@/org/freedesktop/systemd1/notify/123"))
            .unwrap()
            .unwrap();
        assert_eq!(
            abs.as_abstract_name(),
            Some(&b"/org/freedesktop/systemd1/notify/123"[..])
        );
        assert!(parse_socket(os("")).unwrap().is_none());
        let e = parse_socket(os("run/notify")).unwrap_err();
        assert!(matches!(e, NotifyEnvError::SocketKind { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "NOTIFY_SOCKET=`run/notify` is neither an absolute path nor an @abstract socket name"
        );
        let e = parse_socket(os("vsock:2:1234")).unwrap_err().to_string();
        assert!(e.contains("neither an absolute path"), "{e}");
        assert!(e.ends_with("until its start times out)"), "{e}");
        // Longer than sun_path.
        let long = format!("/{}", "x".repeat(200));
        let e = parse_socket(os(&long)).unwrap_err();
        assert!(matches!(e, NotifyEnvError::SocketAddress { .. }), "{e}");
        let e = e.to_string();
        assert!(e.starts_with("NOTIFY_SOCKET=`/xxx"), "{e}");
    }

    #[test]
    fn watchdog_values() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(parse_watchdog(None, None, 7).unwrap(), None);
        assert_eq!(parse_watchdog(None, Some(os("7")), 7).unwrap(), None);
        assert_eq!(parse_watchdog(Some(os("30000000")), None, 7).unwrap(), half);
        assert_eq!(
            parse_watchdog(Some(os("30000000")), Some(os("7")), 7).unwrap(),
            half
        );
        let e = parse_watchdog(Some(os("30000000")), Some(os("8")), 7).unwrap_err();
        assert_eq!(
            e.to_string(),
            "WATCHDOG_PID=8 names another process than this one (pid 7): does `ExecStart=` start it through a command that does not exec it? (Then, under `NotifyAccess=main`, the default, systemd takes no message from this process, `READY=1` included, and a `Type=notify` start times out; nor does systemd's reload signal reach it, nor, under `KillMode=mixed`, its SIGTERM: `exec` the binary)"
        );
        assert_eq!(
            parse_watchdog(Some(os("1")), None, 7).unwrap(),
            Some(Duration::from_nanos(500))
        );
        for bad in ["", "0", "-1", "30s", "1e6"] {
            let e = parse_watchdog(Some(os(bad)), None, 7).unwrap_err();
            assert!(matches!(e, NotifyEnvError::WatchdogUsec { .. }), "{e}");
            assert_eq!(
                e.to_string(),
                format!("WATCHDOG_USEC=`{bad}` is not a positive number of microseconds")
            );
        }
        let e = parse_watchdog(Some(os("30000000")), Some(os("me")), 7).unwrap_err();
        assert!(matches!(e, NotifyEnvError::WatchdogPid(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "WATCHDOG_PID=`me` is not a process id (a service manager sets it to the process it starts; unset it if none did)"
        );
    }

    #[test]
    fn from_values() {
        let watchdog = |n: Option<Notifier>| n.expect("a notifier").watchdog_interval();
        let n = Notifier::from_values(Some(os("/run/notify")), Some(os("30000000")), None, 7);
        assert_eq!(watchdog(n), Some(Duration::from_secs(15)));
        let n = Notifier::from_values(Some(os("@notify")), Some(os("30000000")), Some(os("8")), 7);
        assert_eq!(watchdog(n), None);
        // The tiniest interval, handed on in whole microseconds, is no zero.
        let n = Notifier::from_values(Some(os("@notify")), Some(os("1")), None, 7);
        let (socket, usec) = n.expect("a notifier").handoff();
        assert_eq!(usec, Some(0));
        let again = Notifier::resume(&socket, usec, None);
        assert_eq!(watchdog(again), Some(Duration::from_millis(1)));
        // A bad watchdog value costs the watchdog, not the notifier.
        let n = Notifier::from_values(Some(os("@notify")), Some(os("soon")), None, 7);
        assert_eq!(watchdog(n), None);
        // Unusable or missing sockets (the first logs why).
        assert!(Notifier::from_values(Some(os("notify")), None, None, 7).is_none());
        assert!(Notifier::from_values(Some(os("")), None, None, 7).is_none());
        assert!(Notifier::from_values(None, Some(os("30000000")), None, 7).is_none());
    }

    #[test]
    fn from_env_follows_the_environment() {
        // Normally unset in tests; whatever it is, from_env agrees with it.
        let value = std::env::var_os(NOTIFY_SOCKET);
        let usable = value
            .as_deref()
            .is_some_and(|v| parse_socket(v).is_ok_and(|a| a.is_some()));
        assert_eq!(Notifier::from_env().is_some(), usable);
    }

    /// A stand-in for the manager's socket, and a notifier pointed at it.
    fn manager(addr: &SocketAddr) -> (UnixDatagram, Notifier) {
        let socket = read_within_5s(UnixDatagram::bind_addr(addr).unwrap());
        let notifier =
            Notifier::to_socket_addr(parse_socket(OsStr::new(&show(addr))).unwrap().unwrap());
        (socket, notifier)
    }

    /// A stand-in for the manager's socket bound at `path`.
    fn manager_at(path: &std::path::Path) -> UnixDatagram {
        read_within_5s(UnixDatagram::bind(path).unwrap())
    }

    /// `socket`, its reads bounded: a test waits on them.
    fn read_within_5s(socket: UnixDatagram) -> UnixDatagram {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
    }

    fn recv(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Sends every message through `notifier` and checks what arrives.
    fn sends_every_message(socket: &UnixDatagram, notifier: &Notifier) {
        notifier.ready();
        assert_eq!(recv(socket), "READY=1");
        let before = monotonic_usec().unwrap();
        notifier.reloading(true);
        let got = recv(socket);
        let after = monotonic_usec().unwrap();
        let usec: u64 = got
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .unwrap_or_else(|| panic!("{got:?}"))
            .parse()
            .unwrap();
        assert!(before <= usec && usec <= after, "{before} {usec} {after}");
        notifier.stopping(None);
        assert_eq!(recv(socket), "STOPPING=1");
        notifier.status("reloading\nfrom /srv/app");
        assert_eq!(recv(socket), "STATUS=reloading from /srv/app");
        notifier.watchdog();
        assert_eq!(recv(socket), "WATCHDOG=1");
        assert!(!failing(notifier));
    }

    #[test]
    fn sends_to_a_path() {
        let dir = std::env::temp_dir().join(format!("lb-notify-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let addr = SocketAddr::from_pathname(dir.join("notify")).unwrap();
        let (socket, notifier) = manager(&addr);
        sends_every_message(&socket, &notifier);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("littleboss-notify-test-{}-{nanos}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let (socket, notifier) = manager(&addr);
        sends_every_message(&socket, &notifier);
    }

    #[test]
    fn sends_to_the_socket_it_connected_to_whatever_its_path_names_since() {
        let dir = std::env::temp_dir().join(format!("lb-notify-moved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let manager = manager_at(&path);
        let notifier = Notifier::from_values(Some(path.as_os_str()), None, None, 7).unwrap();
        // Out of sight (a chroot, a mount namespace): heard all the same.
        std::fs::rename(&path, dir.join("moved")).unwrap();
        notifier.ready();
        assert_eq!(recv(&manager), "READY=1");
        // So is the notifier its socket is handed to (an upgrade's).
        let (socket, _) = notifier.handoff();
        let handed = notifier
            .sender
            .connected
            .as_ref()
            .unwrap()
            .try_clone()
            .unwrap();
        let upgraded = Notifier::resume(&socket, None, Some(OwnedFd::from(handed))).unwrap();
        upgraded.reloading(true);
        assert!(recv(&manager).starts_with("RELOADING=1"));
        // That socket closed, and another made at the path: sent there.
        drop(manager);
        let again = manager_at(&path);
        upgraded.stopping(None);
        assert_eq!(recv(&again), "STOPPING=1");
        // Every time, not once.
        upgraded.watchdog();
        assert_eq!(recv(&again), "WATCHDOG=1");
        assert!(!failing(&upgraded));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_recovery_ends_the_outage_and_a_later_failure_begins_another() {
        let dir = std::env::temp_dir().join(format!("lb-notify-outage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let addr = SocketAddr::from_pathname(&path).unwrap();
        // Not connected at its start: nothing listened there yet.
        let notifier = Notifier::to_socket_addr(addr);
        notifier.watchdog();
        assert!(failing(&notifier));
        let manager = manager_at(&path);
        notifier.watchdog();
        assert_eq!(recv(&manager), "WATCHDOG=1");
        // Heard again: the next outage is a new one, to be logged.
        assert!(!failing(&notifier));
        drop(manager);
        std::fs::remove_file(&path).unwrap();
        notifier.watchdog();
        assert!(failing(&notifier));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Whether `notifier`'s last send failed.
    fn failing(notifier: &Notifier) -> bool {
        notifier.sender.outages.lock().unwrap().failing
    }

    #[test]
    fn a_socket_that_flaps_has_one_outage_said_a_minute_counting_the_rest() {
        let start = Instant::now();
        let mut outages = super::Outages::default();
        assert_eq!(outages.failed(start, false), Some(0));
        assert_eq!(outages.failed(start, false), None, "the same outage");
        assert!(outages.went_through());
        // Nine more within the minute: none said, nor their ends.
        for n in 1..10 {
            let at = start + Duration::from_secs(n);
            assert_eq!(outages.failed(at, false), None);
            assert!(!outages.went_through());
        }
        // A minute on: said, with the count of those that were not.
        assert_eq!(
            outages.failed(start + super::OUTAGE_SAID_EVERY, false),
            Some(9)
        );
        assert!(outages.went_through());
        let later = start + 3 * super::OUTAGE_SAID_EVERY;
        assert_eq!(outages.failed(later, false), Some(0));
        assert!(outages.went_through());
    }

    #[test]
    fn a_state_changes_failure_is_said_within_the_minute_and_so_is_its_end() {
        let start = Instant::now();
        let mut outages = super::Outages::default();
        assert_eq!(outages.failed(start, false), Some(0));
        assert!(outages.went_through());
        // Within the minute: a READY's failure is said all the same.
        assert_eq!(outages.failed(start, true), Some(0));
        assert!(outages.went_through());
        // One not said, then a state change failing in the same outage:
        // said, and no longer counted among those not said.
        assert_eq!(outages.failed(start, false), None);
        assert_eq!(outages.failed(start, true), Some(0));
        assert!(outages.went_through());
        assert_eq!(
            outages.failed(start + super::OUTAGE_SAID_EVERY, false),
            Some(0)
        );
    }

    /// A manager at a path in a folder of the test's own, whose queue is
    /// full; the count of datagrams that filled it; a notifier connected
    /// to it; and a runtime to send on.
    fn full_manager(
        name: &str,
    ) -> (
        std::path::PathBuf,
        UnixDatagram,
        usize,
        Notifier,
        tokio::runtime::Runtime,
    ) {
        let dir = std::env::temp_dir().join(format!("lb-notify-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let manager = manager_at(&path);
        let notifier = Notifier::from_values(Some(path.as_os_str()), None, None, 7).unwrap();
        // From as many sockets as it takes: each datagram waiting counts
        // against its sender's send buffer too, which may run out first
        // (where systemd sets `net.unix.max_dgram_qlen` to 512). Closed,
        // what they sent still waits: a datagram holds its sender.
        let mut filled = 0;
        loop {
            let filler = UnixDatagram::unbound().unwrap();
            filler.set_nonblocking(true).unwrap();
            let mut sent = 0;
            while filler.send_to(b"FILLER=1", &path).is_ok() {
                sent += 1;
            }
            if sent == 0 {
                break;
            }
            filled += sent;
            assert!(filled < 100_000, "the queue never fills");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (dir, manager, filled, notifier, runtime)
    }

    /// Reads `filled` fillers and then `count` more on a thread.
    fn read_later(
        manager: UnixDatagram,
        filled: usize,
        count: usize,
    ) -> std::thread::JoinHandle<Vec<String>> {
        std::thread::spawn(move || {
            let all: Vec<String> = (0..filled + count).map(|_| recv(&manager)).collect();
            assert!(all[..filled].iter().all(|f| f == "FILLER=1"), "{all:?}");
            all[filled..].to_vec()
        })
    }

    #[test]
    fn what_a_full_queue_turns_away_waits_without_stalling_and_goes_in_order() {
        let (dir, manager, filled, notifier, runtime) = full_manager("full");
        let got = runtime.block_on(async {
            // Each queued, none lost (each was sent with a wait of up to
            // a second, on the caller's loop, and lost when it ran out).
            notifier.status("a");
            notifier.ready();
            notifier.status("b");
            notifier.status("c");
            notifier.watchdog();
            notifier.reloading(true);
            notifier.watchdog();
            assert!(!waiting(&notifier).is_empty(), "sent into a full queue");
            let reader = read_later(manager, filled, 5);
            while !reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            reader.join().unwrap()
        });
        assert_eq!(got[..4], ["STATUS=a", "READY=1", "STATUS=c", "WATCHDOG=1"]);
        assert!(got[4].starts_with("RELOADING=1\n"), "{got:?}");
        assert!(waiting(&notifier).is_empty());
        assert!(!waiting(&notifier).draining, "the task ended");
        assert!(!failing(&notifier));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_waits_is_sent_before_an_exec_or_given_up_on_in_the_bound() {
        let (dir, manager, filled, notifier, runtime) = full_manager("flush");
        // Queued on the runtime; sent off it, with the runtime's task not
        // polled (as on the upgrade's way to its exec).
        runtime.block_on(async { notifier.ready() });
        assert_eq!(waiting(&notifier).front().unwrap().text, "READY=1");
        assert!(waiting(&notifier).draining);
        // The runtime gone, its task never run: the mark with it, so that
        // a later notification turned away starts another.
        drop(runtime);
        assert!(!waiting(&notifier).draining);
        // Nobody reads: given up on after the bound, and said.
        notifier.send_waiting_now();
        assert!(waiting(&notifier).is_empty());
        assert!(failing(&notifier));
        // Off any runtime, once there is room: sent at once.
        let (room_tx, room_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let fillers: Vec<String> = (0..filled).map(|_| recv(&manager)).collect();
            room_tx.send(()).unwrap();
            (fillers, recv(&manager))
        });
        room_rx.recv().unwrap();
        notifier.stopping(None);
        let (fillers, stopping) = reader.join().unwrap();
        assert!(fillers.iter().all(|f| f == "FILLER=1"), "{fillers:?}");
        assert_eq!(stopping, "STOPPING=1");
        assert!(!failing(&notifier));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What waits to be sent through `notifier`.
    fn waiting(notifier: &Notifier) -> std::sync::MutexGuard<'_, Waiting> {
        notifier.sender.waiting.lock().unwrap()
    }

    #[test]
    fn a_ping_goes_through_a_handed_socket_only_if_it_is_connected_to_the_manager() {
        let dir = std::env::temp_dir().join(format!("lb-notify-handed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let manager = manager_at(&path);
        let notifier = Notifier::from_values(Some(path.as_os_str()), None, None, 7).unwrap();
        let fd = notifier.connected_fd().unwrap();
        // Out of sight (a chroot): heard through the socket all the same.
        std::fs::rename(&path, dir.join("moved")).unwrap();
        assert!(matches!(
            super::ping_through_handed(fd, path.as_os_str()),
            Some(Ok(()))
        ));
        assert_eq!(recv(&manager), "WATCHDOG=1");
        // Connected elsewhere, or no such socket: nothing sent.
        let other = manager_at(&dir.join("other"));
        let elsewhere = UnixDatagram::unbound().unwrap();
        elsewhere.connect(dir.join("other")).unwrap();
        assert!(super::ping_through_handed(elsewhere.as_raw_fd(), path.as_os_str()).is_none());
        let (stream, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(super::ping_through_handed(stream.as_raw_fd(), path.as_os_str()).is_none());
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(super::ping_through_handed(file.as_raw_fd(), path.as_os_str()).is_none());
        other.set_nonblocking(true).unwrap();
        assert!(
            other.recv(&mut [0u8; 16]).is_err(),
            "nothing reached another"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_send_is_harmless() {
        let addr = SocketAddr::from_pathname("/nonexistent/littleboss/notify").unwrap();
        let notifier = Notifier::to_socket_addr(addr);
        notifier.ready();
        assert!(failing(&notifier));
        notifier.watchdog();
        assert!(notifier.watchdog_interval().is_none());
    }
}
