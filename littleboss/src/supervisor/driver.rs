//! Carries out what the machine decides: spawns and signals children,
//! answers control clients, tells systemd, logs, and feeds back what
//! happened, with the time. It decides nothing itself.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::machine::{
    BindOrder, ChildId, ClientId, Effect, Event, FileId, Launch, ListenerKey, Machine, Notice,
};
use super::spawn::{ChildHandle, Spawn};
use super::spawn_off::{SpawnDone, spawn_off_loop};
use crate::control::connection::{Begun, Conn, Connections, ControlMessage, ControlRequest};
use crate::control::dir::FolderLock;
use crate::control::server::{self, ServiceLock};
use crate::control::watch::FolderWatch;
use crate::link::{FromChild, ListenerEntry};
use crate::listener::Bound;
use crate::log::log;
use crate::notify::Notifier;
use crate::own_file::OwnFile;
use crate::spec::ListenerSpec;
use crate::test_hook::test_hook;

/// How long the last replies may take to reach their clients at exit.
const LAST_WORDS: Duration = Duration::from_secs(1);

/// How long an in-place upgrade waits for the children's watchers to
/// carry out their orders (a lameduck order waits for room on a channel
/// the child may not read).
const SETTLE_ORDERS: Duration = Duration::from_millis(500);

/// A spawn under way, off the loop.
#[derive(Debug, Clone)]
struct InFlight {
    /// When it forked, in clock ticks since boot; 0 until it has.
    forked: Arc<std::sync::atomic::AtomicU64>,
    /// Where its forked process says its pid (see `spawn::pid_pipe`).
    pid_from: Option<Arc<OwnedFd>>,
    /// That pid, once read (0 until then).
    pid: Arc<std::sync::atomic::AtomicI32>,
}

impl InFlight {
    /// The pid of the process it forked: read before, or read now if that
    /// has said it (kept then).
    fn read_pid(&self) -> super::spawn::Forked {
        use std::sync::atomic::Ordering::SeqCst;
        let known = self.pid.load(SeqCst);
        if known != 0 {
            return super::spawn::Forked::Pid(known);
        }
        let Some(from) = self.pid_from.as_deref() else {
            return super::spawn::Forked::Over;
        };
        let read = super::spawn::forked_pid(from);
        if let super::spawn::Forked::Pid(pid) = read {
            self.pid.store(pid, SeqCst);
        }
        read
    }

    /// Kills the process it forked, if it has said its pid, and is still
    /// ours: its pid then.
    fn kill(&self) -> Option<i32> {
        let super::spawn::Forked::Pid(pid) = self.read_pid() else {
            return None;
        };
        let forked = self.forked.load(std::sync::atomic::Ordering::SeqCst);
        (forked != 0 && super::spawn::kill_forked(pid, forked)).then_some(pid)
    }

    /// Kills the process it forks once it has said its pid (asked before
    /// that: the spawn had not forked, or its process had not written
    /// yet); ends when it is killed, or the spawn is over (the pipe's
    /// write ends all closed).
    async fn kill_once_forked(self) {
        let Some(from) = (self.pid_from.as_deref()).and_then(|from| from.try_clone().ok()) else {
            return;
        };
        // SAFETY: the AsyncFd owns `from`, a copy of the read end made for
        // it alone, so it stays open and the same pipe for its whole life.
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(from, tokio::io::Interest::READABLE)
        };
        let Ok(from) = registered else {
            return;
        };
        loop {
            let Ok(mut ready) = from.readable().await else {
                return;
            };
            // Its copy is only waited on: the pipe is one, read through
            // the shared end.
            match self.read_pid() {
                super::spawn::Forked::Pid(_) => {
                    if let Some(pid) = self.kill() {
                        say_killed(pid);
                    }
                    return;
                }
                super::spawn::Forked::NotYet => ready.clear_ready(),
                super::spawn::Forked::Over => return,
            }
        }
    }
}

/// Says that the process a spawn forked, `pid`, was killed, its exec not
/// returned.
fn say_killed(pid: i32) {
    log!("killed pid {pid}, forked for a child whose exec had not returned");
}

/// A listening socket the supervisor holds.
#[derive(Debug)]
pub(crate) struct Socket {
    /// Shared with the watchers of children being started, until each has
    /// passed it on.
    pub(super) fd: Arc<OwnedFd>,
    /// A unix socket's file, when it was bound here: ours to remove, as
    /// long as its path names it.
    pub(super) unix_file: Option<OwnFile>,
    /// The folder that file was seen in, in place (see
    /// [`OwnFile::removed_from`]).
    pub(super) unix_folder: Option<[u64; 2]>,
}

impl Socket {
    pub fn new(fd: OwnedFd, unix_file: Option<OwnFile>) -> Socket {
        Socket::handed(fd, unix_file, None)
    }

    /// [`new`](Self::new), with the folder a previous image saw its file
    /// in (`folder`, if it said): a file removed before an upgrade's exec
    /// is let go of all the same. Without it, the folder it is in now,
    /// if it is in place.
    pub fn handed(fd: OwnedFd, unix_file: Option<OwnFile>, folder: Option<[u64; 2]>) -> Socket {
        let unix_folder = folder.or_else(|| unix_file.as_ref()?.folder_if_in_place());
        Socket {
            fd: Arc::new(super::spawn::off_the_channel_fd(fd)),
            unix_file,
            unix_folder,
        }
    }

    /// Whether its unix socket's file is seen removed from the folder it
    /// was made in (see [`OwnFile::removed_from`]).
    fn file_gone_from_its_folder(&self) -> bool {
        match (&self.unix_file, self.unix_folder) {
            (Some(file), Some(folder)) => file.removed_from(folder),
            _ => false,
        }
    }

    /// Closes this copy. One a spawn under way or a hello not sent yet
    /// still holds (a start given up on, an exit meanwhile) is shut as
    /// well: it would go on listening, with nobody to accept, for as long
    /// as that copy lives.
    /// (Never a UDP socket's: shut for reading, its reader would spin.)
    fn close(self, network: crate::spec::Network) {
        let tcp = network.kind() == crate::spec::Kind::Tcp;
        if Arc::strong_count(&self.fd) > 1 && tcp {
            self.stop_listening();
        }
        if let Some(file) = self.unix_file {
            file.remove_or_say();
        }
    }

    /// Stops it listening for good, though old children may still hold
    /// it, and closes this copy: a TCP socket shut down for reading leaves
    /// the LISTEN state (connects are refused, its queue reset, and a bind
    /// with `SO_REUSEADDR`, as ours are, may take its port again); a unix
    /// socket cannot be shut so (it would stay readable), and its file goes
    /// instead (connects fail at once).
    fn shut(self, network: crate::spec::Network) {
        if network == crate::spec::Network::Unix {
            return self.close(network);
        }
        self.stop_listening();
    }

    /// Shuts the socket down for reading, for every copy of it.
    fn stop_listening(&self) {
        let _ = nix::sys::socket::shutdown(
            std::os::fd::AsRawFd::as_raw_fd(&*self.fd),
            nix::sys::socket::Shutdown::Read,
        );
    }
}

/// A control client waiting for its final answer: its connection.
#[derive(Debug)]
pub(super) struct Client(pub Arc<Conn>);

/// A control connection kept across an in-place upgrade, with what it had
/// sent that was read already and what it was owed and not yet sent.
#[derive(Debug)]
pub(crate) struct KeptConnection {
    pub conn: OwnedFd,
    pub unread: Vec<u8>,
    pub unsent: Vec<u8>,
}

/// A child the previous image handed over, registered with the new
/// image's runtime.
#[derive(Debug)]
pub(crate) struct Rewatched {
    /// The child's id in the machine's state.
    pub id: ChildId,
    /// Its process and channel, registered.
    pub child: super::spawn::Rewatchable,
}

/// A control connection the previous image handed over, registered with
/// the new image's runtime.
#[derive(Debug)]
pub(crate) struct Reconnected {
    /// The client whose request awaits its answer (`None`: none held).
    pub id: Option<ClientId>,
    /// The connection, registered.
    pub stream: tokio::net::UnixStream,
    /// What it had sent that the previous image read already.
    pub unread: Vec<u8>,
    /// What it was owed and not yet sent.
    pub unsent: Vec<u8>,
}

/// What the driver is given to run with, besides the machine.
#[derive(Debug)]
pub(crate) struct Parts {
    pub sockets: HashMap<ListenerKey, Socket>,
    pub notifier: Option<Arc<Notifier>>,
    pub events_tx: mpsc::UnboundedSender<Event>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub control_tx: mpsc::UnboundedSender<ControlMessage>,
    pub control: mpsc::UnboundedReceiver<ControlMessage>,
    /// A descriptor of the control socket (the server task has its own).
    pub control_fd: OwnedFd,
    /// Every open control connection.
    pub connections: Connections,
    pub control_path: PathBuf,
    /// The control socket's file as this supervisor made it (`None` if it
    /// was gone already): removed at the exit only while still ours.
    pub control_file: Option<OwnFile>,
    /// The service lock, held until the driver returns (its file is
    /// removed before, at the exit).
    pub lock: ServiceLock,
    /// The task accepting control connections.
    pub accepting: JoinHandle<()>,
    /// The control folder's watch a previous image handed over.
    pub watch: Option<FolderWatch>,
    /// The shared lock on the control folder, taken (or tried, and said)
    /// before the loop by a first image ([`Begin::Start`]).
    pub folder_lock: Option<FolderLock>,
    /// When the machine's clock started, on `CLOCK_MONOTONIC`.
    pub origin_ns: u64,
    /// The folders the first image's start made on the way to its control
    /// folder: a cleaner's removal of one is undone as the control
    /// folder's is, where a folder another made (a deploy's `/srv/app`) is
    /// waited for. (Not those a remake made: one made there once would be
    /// taken for the start's ever after.) Handed over in an upgrade.
    pub made_at_start: Vec<PathBuf>,
    /// The control folder is out of this supervisor's sight: a chroot or
    /// mount namespace its `supervisor_init` entered. Its path names
    /// another folder, or none, though the files are where they were:
    /// nothing there is looked at, watched or made, nor locked by a later
    /// image. Handed over in an upgrade.
    pub control_out_of_sight: bool,
}

/// How the driver begins.
#[derive(Debug)]
pub(crate) enum Begin {
    /// A new supervisor: the machine starts the first child.
    Start,
    /// A supervisor that re-executed itself: the first events, and the
    /// children and control connections it kept.
    Resume {
        events: Vec<Event>,
        children: Vec<Rewatched>,
        clients: Vec<Reconnected>,
        /// Requests handed over that this binary's rules refuse: each
        /// client, and why.
        refused: Vec<(ClientId, String)>,
        next_client: ClientId,
        /// The children's binaries, held open.
        binaries: Vec<(ChildId, OwnedFd)>,
    },
}

/// What the driver holds for the machine: the real things its ids name.
#[derive(Debug)]
pub(super) struct Io {
    pub sockets: HashMap<ListenerKey, Socket>,
    name: String,
    pub notifier: Option<Arc<Notifier>>,
    pub events_tx: mpsc::UnboundedSender<Event>,
    pub control_tx: mpsc::UnboundedSender<ControlMessage>,
    pub children: HashMap<ChildId, ChildHandle>,
    /// The binary each child runs, held open (`O_PATH`) from its spawn for
    /// as long as the machine may run it again ([`Machine::binaries_kept`]):
    /// a rollback then runs that very file, even once a deploy replaced or
    /// deleted it.
    pub binaries: HashMap<ChildId, OwnedFd>,
    pub clients: HashMap<ClientId, Client>,
    /// Where the binds done off the loop report.
    binds: mpsc::UnboundedSender<BindDone>,
    /// Where the spawns done off the loop report.
    spawns: mpsc::UnboundedSender<SpawnDone>,
    /// Spawns under way: their children, not known by pid yet, must not be
    /// taken for orphans and reaped.
    spawns_in_flight: HashMap<ChildId, InFlight>,
    /// An orphan scan left a zombie that may be a spawn's child: scan
    /// again once a spawn reports.
    scan_after_spawns: bool,
    pub next_client: ClientId,
    /// Clients given their final answer in this round, or before and not
    /// yet all written: at exit, their connections get a moment to write
    /// it.
    answered: Vec<Arc<Conn>>,
    pub control_fd: OwnedFd,
    pub connections: Connections,
    pub control_path: PathBuf,
    pub control_file: Option<OwnFile>,
    pub lock: ServiceLock,
    /// A shared lock on the control folder, against cleaners.
    folder_lock: Option<FolderLock>,
    accepting: JoinHandle<()>,
    /// Tells when the control socket's files were removed (`None` if
    /// inotify could not be had).
    pub watch: Option<FolderWatch>,
    /// When the control socket's files could not be made again, or their
    /// new socket not served: when to try again, watched or not (the one
    /// that took the path may die without freeing it, which no event
    /// tells).
    remake_retry: Option<Retry>,
    /// Why the control socket's files could not be made again, as last
    /// said, and whether its socket was in place then (only the lock file
    /// gone): a retry failing for another reason says the new one; one
    /// whose socket went since says it all again.
    remake_failure_said: Option<(bool, String)>,
    /// When the control socket's path is next looked at though nothing
    /// woke ([`PATH_LOOK`]).
    path_look_at: Instant,
    /// Whether a folder above the control folder, gone, was said to be
    /// waited for (the control folder is then neither locked nor watched
    /// at the loop's start: the remake once it is back does both).
    waiting_for_above: bool,
    /// The unix sockets whose removed (or out of sight) files were said.
    files_removed_said: std::collections::BTreeSet<ListenerKey>,
    /// The unix sockets whose files were told to the machine as gone
    /// from their folders ([`Event::UnixFileRemoved`]).
    files_removed_told: std::collections::BTreeSet<ListenerKey>,
    pub origin_ns: u64,
    /// See [`Parts::made_at_start`].
    pub made_at_start: Vec<PathBuf>,
    /// See [`Parts::control_out_of_sight`].
    pub control_out_of_sight: bool,
    /// An upgrade the machine asked for, done once the other effects are.
    upgrade: Option<(ChildId, u32, FileId)>,
    /// Whether the supervisor may upgrade itself in place (a setting fixed
    /// for this image), for the words when a child's binary cannot be
    /// told.
    self_upgrade: bool,
    /// How many more queued connections this batch of effects may take
    /// to hand over ([`crate::stash::most_stashed`] a batch): `None` until
    /// its first hand-over asks (the limit is read then, not at every
    /// batch of the loop).
    queued_budget: Option<usize>,
}

/// Drives the machine until it exits; returns the exit code.
pub(crate) async fn run(mut machine: Machine, parts: Parts, begin: Begin) -> i32 {
    let elapsed = Duration::from_nanos(monotonic_ns().saturating_sub(parts.origin_ns));
    let origin = Instant::now()
        .checked_sub(elapsed)
        .unwrap_or_else(Instant::now);
    let now = || origin.elapsed();
    let (binds_tx, mut binds) = mpsc::unbounded_channel();
    let (spawns_tx, mut spawns) = mpsc::unbounded_channel();
    let Parts {
        mut events,
        mut control,
        ..
    } = parts;
    let mut io = Io {
        sockets: parts.sockets,
        name: machine.state().settings.name.clone(),
        notifier: parts.notifier,
        events_tx: parts.events_tx,
        control_tx: parts.control_tx,
        children: HashMap::new(),
        binaries: HashMap::new(),
        clients: HashMap::new(),
        binds: binds_tx,
        spawns: spawns_tx,
        spawns_in_flight: HashMap::new(),
        scan_after_spawns: false,
        next_client: 0,
        answered: Vec::new(),
        control_fd: parts.control_fd,
        connections: parts.connections,
        control_path: parts.control_path,
        control_file: parts.control_file,
        lock: parts.lock,
        folder_lock: parts.folder_lock,
        accepting: parts.accepting,
        watch: parts.watch,
        remake_retry: None,
        remake_failure_said: None,
        path_look_at: Instant::now() + path_look(),
        waiting_for_above: false,
        files_removed_said: std::collections::BTreeSet::new(),
        files_removed_told: std::collections::BTreeSet::new(),
        queued_budget: None,
        origin_ns: parts.origin_ns,
        made_at_start: parts.made_at_start,
        control_out_of_sight: parts.control_out_of_sight,
        upgrade: None,
        self_upgrade: machine.state().settings.self_upgrade,
    };
    // Removed before the loop began (during `supervisor_init`, or around
    // an in-place upgrade's exec): made again now, unless a folder above
    // that another made is gone (then the remake, once it is back, locks
    // and watches the folder). Then the folder is locked against cleaners
    // (each image anew, unless a first image tried before
    // `supervisor_init`; remade, it was locked anew, replacing what was
    // taken before, or keeping it where the new folder cannot be) and
    // watched (unless the previous image handed its watch over). None of
    // this where the folder is out of sight (`control_out_of_sight`).
    let tried = matches!(begin, Begin::Start);
    let in_sight = !io.control_out_of_sight;
    if !io.look_at_control() && !tried && !io.waiting_for_above && in_sight {
        io.folder_lock = hold_folder(&io.control_path);
    }
    if !tried && !in_sight {
        log!(
            "the control folder {} is out of this supervisor's sight (a chroot or mount namespace): this image does not lock it against cleaners of old files",
            crate::control::dir::shown(
                io.control_path
                    .parent()
                    .unwrap_or(std::path::Path::new("/"))
            )
        );
    }
    if io.watch.is_none() && !io.waiting_for_above && in_sight {
        io.watch = watch_folder(&io.control_path, false);
        // A removal between the look above and the watch made no event:
        // looked at once more, watched.
        if io.watch.is_some() {
            io.look_at_control();
        }
    }
    // Events to handle before waiting for new ones.
    let mut backlog: VecDeque<Pending> = VecDeque::new();
    let mut effects = match begin {
        Begin::Start => machine.start(now()),
        Begin::Resume {
            events,
            children,
            clients,
            refused,
            next_client,
            binaries,
        } => {
            io.next_client = next_client;
            io.binaries.extend(binaries);
            io.rewatch(&mut machine, children);
            io.reconnect(clients);
            // Answered here, as the control server answers a bad request:
            // the machine never took them.
            for (client, error) in refused {
                let response = crate::control::protocol::Response::error(error);
                io.perform(Effect::Reply { client, response });
            }
            // The upgrade's outcome first, as the previous image saw it.
            backlog.extend(events.into_iter().map(Pending::Event));
            Vec::new()
        }
    };
    loop {
        // Kept while their answers are still being written (a refusal
        // at resume, a reply to a slow reader): an exit waits for them.
        io.answered.retain(|conn| conn.writing());
        // One budget of descriptors for the queues a batch hands over (a
        // stop's, a reload's that let go of several sockets), as a child
        // has for its own at a refusal: the supervisor holds them until
        // they are sent, and the child takes them all.
        io.queued_budget = None;
        for effect in effects {
            if let Effect::Exit { code } = effect {
                // A late bind still waiting: its sockets registered, to
                // be let go of (unix files removed) with the rest. A
                // request still waiting (handed back by a failed exec):
                // answered, by the exited machine, as `last_words` does.
                let mut asked = Vec::new();
                take_bound(&mut binds, &mut backlog);
                take_spawned(&mut spawns, &mut backlog);
                for pending in backlog.drain(..) {
                    match pending {
                        Pending::Bound(done) => _ = io.bound(done),
                        Pending::Event(Event::Control { client, request }) => {
                            asked.push((client, request));
                        }
                        // A start given up on whose exec returned since:
                        // its child, and any it started, go with us (its
                        // channel's close alone would leave it to notice).
                        // In flight no more: not killed again, below, as
                        // one whose exec had not returned.
                        Pending::Spawned(done) => io.spawn_ended_at_exit(done),
                        Pending::Event(_) => {}
                    }
                }
                // Everything a successor needs is let go of before the last
                // answers go out: `stop && start` finds it all free.
                let held = &machine.state().held;
                io.leave(|key| held.get(key).is_some_and(|h| h.activated));
                for (client, request) in asked {
                    io.answer_after_exit(&mut machine, client, request, now());
                }
                io.last_words(&mut machine, &mut control, now).await;
                // Binds and spawns that ended while the last answers went
                // out: let go of as those before were (a unix socket's
                // file removed, a child killed with any it started).
                take_bound(&mut binds, &mut backlog);
                take_spawned(&mut spawns, &mut backlog);
                for pending in backlog.drain(..) {
                    match pending {
                        Pending::Bound(BindDone {
                            result: Ok(sockets),
                            ..
                        }) => crate::listener::unbind(sockets.into_iter().map(|(_, s)| s)),
                        Pending::Spawned(done) => io.spawn_ended_at_exit(done),
                        Pending::Event(_) | Pending::Bound(_) => {}
                    }
                }
                // Spawns still under way, their execs hung (or just
                // forked): their processes go with us too.
                for flight in io.spawns_in_flight.values() {
                    if let Some(pid) = flight.kill() {
                        say_killed(pid);
                    }
                }
                return code;
            }
            io.perform(effect);
        }
        machine.performed(now());
        let kept = machine.binaries_kept();
        io.binaries.retain(|id, _| kept.contains(id));
        if let Some((child, pid, binary)) = io.upgrade.take() {
            // A signal passed on is not in the state the new image takes
            // over (lameduck and kill orders are), nor are connections
            // handed to a draining child: carried out first, or the
            // upgrade waits for a later reload.
            if let Some(stalled) = io.settle_orders().await {
                let error = format!(
                    "child pid {stalled} has not taken what the supervisor sent it within {} ms (it does not read its channel), and an exec now would lose it (connections queued for it, signals passed on)",
                    SETTLE_ORDERS.as_millis()
                );
                let failed = Event::UpgradeFailed {
                    error,
                    refuse: false,
                };
                backlog.push_front(Pending::Event(failed));
                effects = Vec::new();
                continue;
            }
            // Returns only if the exec failed, with what to handle then.
            let state = machine.state().clone();
            let target = super::upgrade::Target { child, pid, binary };
            // Events from an earlier failed upgrade not handled yet go
            // across first.
            // At rest (no start under way, no child without a pid), only
            // a late bind of a start given up on may wait, here or in its
            // channel: made an event now, its socket goes across and the
            // new image's machine closes it. (One whose thread still runs,
            // its lookup hung, is lost with the exec: its sockets close;
            // lookups come first, so it has made no unix socket's file.)
            take_bound(&mut binds, &mut backlog);
            let earlier: Vec<Event> = (backlog.drain(..))
                .map(|pending| pending.into_event(&mut io, &machine))
                .collect();
            let events =
                super::upgrade::exec(&mut io, state, target, earlier, &mut events, &mut control);
            backlog.extend(events.into_iter().map(Pending::Event));
        }
        let event = match backlog.pop_front() {
            Some(pending) => pending.into_event(&mut io, &machine),
            None => tokio::select! {
                Some(event) = events.recv() => event,
                Some(message) = control.recv() => match io.control_event(message) {
                    Some(event) => event,
                    None => {
                        effects = Vec::new();
                        continue;
                    }
                },
                Some(done) = binds.recv() => io.bound(done),
                Some(done) = spawns.recv() => io.spawned(done, &machine),
                () = sleep_until(machine.next_deadline().map(|d| origin + d)) => {
                    // What came before the deadline is handled before it:
                    // a child's `Ready` read late (the loop busy past the
                    // deadline) must not lose to the timer, which `select!`
                    // picks at random among the ready branches. One yield
                    // lets the tasks that read the children's channels run
                    // (it returns after the runtime polled for I/O), then
                    // the children's events and the binds' and spawns'
                    // outcomes that wait go first. (Not control requests: no deadline
                    // judges them, and one left in the channel is still
                    // answered should the supervisor exit at these.)
                    tokio::task::yield_now().await;
                    // Outcomes are made events (their sockets and children
                    // registered) as each comes to be handled, after those
                    // before it: two binds of one key must not meet here.
                    while let Ok(event) = events.try_recv() {
                        backlog.push_back(Pending::Event(event));
                    }
                    take_bound(&mut binds, &mut backlog);
                    take_spawned(&mut spawns, &mut backlog);
                    backlog.push_back(Pending::Event(Event::Tick));
                    let first = backlog.pop_front().expect("the tick was just queued");
                    first.into_event(&mut io, &machine)
                }
                () = removed(&mut io.watch, io.remake_retry, io.path_look_at) => {
                    io.path_look_at = Instant::now() + path_look();
                    io.look_at_control();
                    backlog.extend(io.unix_files_gone(&machine).into_iter().map(Pending::Event));
                    effects = Vec::new();
                    continue;
                }
            },
        };
        // Whatever comes may start a child (a reload, SIGHUP's, a
        // restart come due, a rollback or a queued reload at a child's
        // exit or readiness, a deadline): the unix sockets' files are
        // looked at first, a few `stat`s, and one removed since the last
        // look is let go of before it, for that start to bind it again
        // (each told once: the event comes back here finding none new).
        // `status` then tells it as it is. (Not while an upgrade's outcome
        // is still to be handled: a new image's first events come first.)
        let looks =
            !matches!(&event, Event::UnixFileRemoved { .. }) && machine.state().upgrade.is_none();
        if looks {
            let gone = io.unix_files_gone(&machine);
            if !gone.is_empty() {
                backlog.push_front(Pending::Event(event));
                for removed in gone.into_iter().rev() {
                    backlog.push_front(Pending::Event(removed));
                }
                effects = Vec::new();
                continue;
            }
        }
        if let Event::Exited { id, .. } = &event {
            io.children.remove(id);
            super::heap::give_back_freed();
        }
        let hello = matches!(
            &event,
            Event::Message {
                message: FromChild::Hello { .. },
                ..
            }
        );
        effects = machine.handle(event, now());
        if hello && let Some(ms) = test_hook::<u64>(TEST_PAUSE_AFTER_HELLO_VAR) {
            // The loop busy past the child's ready deadline, its `Ready`
            // sent meanwhile.
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
}

/// The first wait before the control socket's files are tried again once
/// they could not be made or served (out of descriptors, say), and the
/// longest (each doubles it).
const REMAKE_RETRY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// When the control socket's files are tried again, having failed.
#[derive(Debug, Clone, Copy)]
struct Retry {
    /// The wait before this try (each doubles it).
    wait: Duration,
    at: Instant,
    /// Only the timer brings it, not the watch: the supervisor removed
    /// the socket it could not serve, and the watch would wake at that.
    timer_only: bool,
}

impl Retry {
    /// The next try after one that waited `failing` (none: the first
    /// failure), the wait doubled within [`REMAKE_RETRY`].
    fn next(failing: Option<Duration>, timer_only: bool) -> Retry {
        let wait = failing.map_or(REMAKE_RETRY.0, |w| (w * 2).min(REMAKE_RETRY.1));
        Retry {
            wait,
            at: Instant::now() + wait,
            timer_only,
        }
    }
}

/// How often the control socket's path is looked at though no watch
/// woke: a folder above it renamed (`mv /srv/app /srv/app.old`), or a
/// link on the way pointed elsewhere (a deploy's `ln -sfn`), is no event
/// on the folder watched, and the path would name no supervisor (a
/// `start` there would run a second one). A look finds the files in
/// place with a few `stat`s; otherwise they are made again there. It also
/// looks at the held unix sockets' files ([`Io::unix_files_gone`]).
const PATH_LOOK: Duration = Duration::from_secs(30);

/// [`PATH_LOOK`], or a test's shorter one.
fn path_look() -> Duration {
    test_hook::<u64>(TEST_PATH_LOOK_VAR).map_or(PATH_LOOK, Duration::from_millis)
}

/// Test hook: milliseconds between looks at the control socket's path.
const TEST_PATH_LOOK_VAR: &str = "LITTLEBOSS_TEST_PATH_LOOK_MS";

/// Waits until `watch` (if any) tells that the control socket's files
/// were removed, or until the retry is due (if any: it stands in for the
/// look, keeping its own backoff) or else the next look at the path
/// (`look_at`). A `timer_only` retry does not heed the watch.
async fn removed(watch: &mut Option<FolderWatch>, retry: Option<Retry>, look_at: Instant) {
    // A retry due looks anyway, and keeps its own backoff.
    let at = retry.map_or(look_at, |retry| retry.at);
    match watch {
        Some(watch) if !retry.is_some_and(|r| r.timer_only) => tokio::select! {
            () = watch.removed() => {}
            () = sleep_until(Some(at)) => {}
        },
        _ => sleep_until(Some(at)).await,
    }
}

/// The folder above the control folder at `socket` to wait for before
/// making the control folder again, if any: the nearest missing one
/// (`exists`: one that cannot be searched is not missing) that the first
/// image's start did not make (`made_at_start`).
fn folder_to_wait_for(
    socket: &std::path::Path,
    exists: impl Fn(&std::path::Path) -> bool,
    made_at_start: impl Fn(&std::path::Path) -> bool,
) -> Option<PathBuf> {
    let above = socket.parent()?.parent()?;
    let mut gone = above.ancestors().take_while(|a| !exists(a));
    gone.find(|a| !made_at_start(a))
        .map(std::path::Path::to_path_buf)
}

/// Whether `path` names something, or may (a folder on the way that
/// cannot be searched, as after a `supervisor_init` that dropped root):
/// only one seen missing is gone. A link whose target is missing is.
fn seen_or_hidden(path: &std::path::Path) -> bool {
    path.try_exists().unwrap_or(true)
}

/// Watches for a removal of the control socket at `socket` or its lock
/// file (said if it cannot).
fn watch_folder(socket: &std::path::Path, held: bool) -> Option<FolderWatch> {
    let folder = socket.parent().unwrap_or(std::path::Path::new("/"));
    FolderWatch::start(socket)
        .inspect_err(|e| {
            let then = match held {
                true => "the watch it had goes on",
                false => "a removed control socket is made again only at the look at its path every 30 s",
            };
            // Its limits are worth naming, not where the folder is out
            // of reach (a `supervisor_init` that changed the user).
            let limits = match e.kind() {
                std::io::ErrorKind::PermissionDenied => "",
                _ => "; its limits are fs.inotify.max_user_instances and max_user_watches",
            };
            log!(
                "cannot watch the control folder {} for a removal of the control socket (inotify: {e}{limits}): {then}",
                folder.display()
            )
        })
        .ok()
}

/// Takes a shared lock on the folder of the control socket at `socket`,
/// against cleaners of old files, or has it taken once a cleaner lets go
/// (said if it cannot be had).
pub(super) fn hold_folder(socket: &std::path::Path) -> Option<FolderLock> {
    let folder = socket.parent().unwrap_or(std::path::Path::new("/"));
    crate::control::dir::hold(folder)
        .inspect_err(|e| {
            log!(
                "cannot lock the control folder {} against cleaners of old files: {e}",
                folder.display()
            )
        })
        .ok()
}

/// Now on `CLOCK_MONOTONIC`, which a re-executed image shares.
pub(super) fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Test hook: after a child's hello is handled, the loop blocks this many
/// milliseconds (the child says ready meanwhile).
const TEST_PAUSE_AFTER_HELLO_VAR: &str = "LITTLEBOSS_TEST_PAUSE_AFTER_HELLO_MS";

impl Io {
    /// A spawn that ended as the supervisor exits: in flight no more, and
    /// its child, if it started one, killed with any it started.
    fn spawn_ended_at_exit(&mut self, done: SpawnDone) {
        self.spawns_in_flight.remove(&done.id);
        if let Ok(identified) = done.result {
            super::spawn::kill_with_group(identified.started.pid);
        }
    }

    /// The event a control message makes: `None` for a hang-up of a client
    /// answered already.
    fn control_event(&mut self, message: ControlMessage) -> Option<Event> {
        match message {
            ControlMessage::Request(ControlRequest { request, conn }) => Some(Event::Control {
                client: self.client(conn),
                request,
            }),
            ControlMessage::HungUp(conn) => {
                (self.client_of(&conn)).map(|client| Event::ClientGone { client })
            }
        }
    }

    /// The client waiting on `conn` for a final answer, if one is.
    pub(super) fn client_of(&self, conn: &Arc<Conn>) -> Option<ClientId> {
        (self.clients.iter())
            .find(|(_, Client(c))| Arc::ptr_eq(c, conn))
            .map(|(id, _)| *id)
    }

    pub(super) fn client(&mut self, conn: Arc<Conn>) -> ClientId {
        self.next_client += 1;
        self.clients.insert(self.next_client, Client(conn));
        self.next_client
    }

    /// Watches again the children kept across an exec, and gives them
    /// again the orders they may not have received before it.
    fn rewatch(&mut self, machine: &mut Machine, children: Vec<Rewatched>) {
        for Rewatched { id, child } in children {
            // (The handoff's children were registered: none is unknown.)
            let Some(known) = machine.state().children.get(&id) else {
                continue;
            };
            let (killed, lameducked, refusing) = (known.killed, known.lameducked, known.refusing);
            let handle = super::spawn::rewatch(id, child, self.events_tx.clone());
            // Watched by pid now (out of descriptors, say): the machine
            // upgrades in place no more while it runs.
            if !handle.by_pidfd {
                machine.watched_by_pid(id);
            }
            if killed {
                handle.kill();
            } else if lameducked {
                // The order it was given, not what a lameduck would be
                // now: at a stop, an old child draining beside a serving
                // one must not shut the sockets they share.
                handle.lameduck(refusing);
            }
            self.children.insert(id, handle);
        }
    }

    /// Takes back the control connections kept across an exec, each with
    /// what it had read and what it owed: those with a request held wait
    /// for its answer, as before the exec.
    fn reconnect(&mut self, clients: Vec<Reconnected>) {
        for Reconnected {
            id,
            stream,
            unread,
            unsent,
        } in clients
        {
            let begun = Begun {
                unread,
                unsent,
                awaiting: id.is_some(),
            };
            let (conn, task) = self
                .connections
                .take(stream, self.control_tx.clone(), begun);
            // Answers owed from before the exec: an exit soon after it
            // gives them their moment too.
            if conn.writing() {
                self.answered.push(conn.clone());
            }
            if let Some(id) = id {
                self.clients.insert(id, Client(conn));
            }
            tokio::spawn(task);
        }
    }

    /// Does one effect. What a bind or a spawn, done off the loop, comes
    /// to is fed back later, as an event.
    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Bind { id, orders, by } => {
                // Off the loop: a host name in an address means a DNS
                // lookup, which must not stall control requests, deadlines
                // and the watchdog. A thread of its own, whose failure to
                // start (a cgroup's `pids.max`, `RLIMIT_NPROC`) fails the
                // bind: tokio's blocking pool panics then, which took the
                // supervisor down.
                let binds = self.binds.clone();
                // On the clock the machine's counts from.
                let by_ns = self.origin_ns.saturating_add(by.as_nanos() as u64);
                let held = HeldFiles(
                    (self.sockets.iter())
                        .filter(|(key, _)| key.network == crate::spec::Network::Unix)
                        .map(|(key, s)| HeldFile {
                            path: key.bind_address().to_owned(),
                            id: s.unix_file.as_ref().map(|file| file.id),
                        })
                        .collect(),
                );
                let bind = move || {
                    if let Some(ms) = test_hook::<u64>("LITTLEBOSS_TEST_BIND_PAUSE_MS") {
                        crate::test_hook::pause(ms, "LITTLEBOSS_TEST_BIND_PAUSE_GATE");
                    }
                    // Told whatever happens, a panic too: the machine
                    // would otherwise wait out the bind's deadline, and
                    // say only that.
                    let result =
                        std::panic::catch_unwind(|| bind_all_or_none(orders, by_ns, &held))
                            .unwrap_or_else(|_| Err("binding the listeners panicked".to_owned()));
                    // The loop gone meanwhile (the supervisor exits): what
                    // was bound goes with it, a unix socket's file too.
                    if let Err(unsent) = binds.send(BindDone { id, result })
                        && let Ok(sockets) = unsent.0.result
                    {
                        crate::listener::unbind(sockets.into_iter().map(|(_, s)| s));
                    }
                };
                let started = match test_hook::<u8>("LITTLEBOSS_TEST_BIND_THREAD_FAILS") {
                    Some(_) => Err(std::io::Error::from(nix::errno::Errno::EAGAIN)),
                    None => std::thread::Builder::new()
                        .name("littleboss-bind".to_owned())
                        .spawn(bind)
                        .map(drop),
                };
                if let Err(e) = started {
                    let _ = self.binds.send(BindDone {
                        id,
                        result: Err(format!("cannot start a thread to bind the listeners: {e}")),
                    });
                }
            }
            Effect::Close { key } => {
                if let Some(socket) = self.sockets.remove(&key) {
                    socket.close(key.network);
                }
            }
            Effect::HandQueued { key, to, listener } => {
                // Not for a child that has ended meanwhile (its exit not
                // yet handled): the shut that follows resets the queue.
                let child = self.children.get(&to).filter(|c| !c.ended());
                if let (Some(socket), Some(child)) = (self.sockets.get_mut(&key), child) {
                    use std::os::fd::AsFd;
                    // A unix socket's file first (its shut, next, removes
                    // it): no client joins the queue once it is taken.
                    if let Some(file) = socket.unix_file.take() {
                        file.remove_or_say();
                    }
                    let listening = socket.fd.as_fd();
                    let inode = crate::stash::inode(listening);
                    let budget =
                        (self.queued_budget).get_or_insert_with(crate::stash::most_stashed);
                    let taken = crate::stash::accept_queued(listening, *budget);
                    *budget = budget.saturating_sub(taken.len());
                    if let Some(inode) = inode.filter(|_| !taken.is_empty()) {
                        let count = taken.len();
                        let plural = if count == 1 { "" } else { "s" };
                        log!(
                            "handing child pid {} the {count} connection{plural} queued on {} {}",
                            child.pid,
                            key.network,
                            key.bind_address()
                        );
                        child.hand_queued(listener, inode, taken);
                    } else if !taken.is_empty() {
                        // Unnamed, they cannot be handed: reset, as the
                        // shut that follows resets the rest.
                        log!(
                            "closing {} connection(s) queued on {} {}: cannot identify the socket to hand them with",
                            taken.len(),
                            key.network,
                            key.bind_address()
                        );
                    }
                }
            }
            Effect::Shut { key } => {
                if let Some(socket) = self.sockets.remove(&key) {
                    socket.shut(key.network);
                }
            }
            Effect::Spawn {
                id,
                launch,
                refuse_when_orphaned,
                managers,
                served,
            } => {
                let orphaned = crate::link::Orphaned {
                    refuse: refuse_when_orphaned,
                    beside_serving: !served.is_empty(),
                };
                let mut order = self.spawn_order(id, &launch, orphaned, &managers, &served);
                let (pid_from, pid_to) = super::spawn::pid_pipe().unzip();
                order.pid_to = pid_to;
                // Run from the binary held for it (as `spawn_order` chose),
                // which the launch's path may no longer name: compared by
                // what the files are, not by their names.
                let context = super::spawn_off::SpawnContext {
                    launch_file: launch.target.file().to_owned(),
                    from_held: (launch.target.binary_of)
                        .is_some_and(|of| self.binaries.contains_key(&of)),
                    self_upgrade: self.self_upgrade,
                };
                let forked = Arc::new(std::sync::atomic::AtomicU64::new(0));
                let flight = InFlight {
                    forked: forked.clone(),
                    pid_from: pid_from.map(Arc::new),
                    pid: Arc::default(),
                };
                self.spawns_in_flight.insert(id, flight);
                spawn_off_loop(order, context, forked, self.spawns.clone());
            }
            Effect::PassOn { id, signal } => {
                if !self.children.contains_key(&id) && self.spawns_in_flight.contains_key(&id) {
                    log!("{signal} not passed on: its child's start is still under way");
                }
                // Not one whose watcher has reaped it (its exit on its way
                // to the machine): its pid may be another process's now,
                // whose handlers would be said as its.
                if let Some(child) = self.children.get(&id).filter(|c| !c.ended()) {
                    let number = super::signals::number(signal);
                    // One the program does not catch would kill the child
                    // (SIGUSR1's default), not a drain but a death.
                    match super::signals::caught_by(child.pid, number) {
                        Some(true) => child.signal(number),
                        Some(false) => log!(
                            "child pid {} does not handle {signal}: not passed on",
                            child.pid
                        ),
                        None => log!(
                            "cannot tell whether child pid {} handles {signal} (/proc/{}/status unreadable, or without SigCgt): not passed on",
                            child.pid,
                            child.pid
                        ),
                    }
                }
            }
            Effect::Lameduck { id, refuse } => {
                if let Some(child) = self.children.get(&id) {
                    child.lameduck(refuse);
                }
            }
            Effect::Alone { id } => {
                if let Some(child) = self.children.get(&id) {
                    child.alone();
                }
            }
            Effect::Kill { id } => {
                if let Some(child) = self.children.get(&id) {
                    child.kill();
                }
            }
            Effect::KillSpawning { id } => {
                if let Some(flight) = self.spawns_in_flight.get(&id) {
                    // Decided on one read of the pid: a pid said between
                    // two reads would be neither killed nor waited for.
                    match flight.read_pid() {
                        // (One said but not killed is not ours, or `/proc`
                        // cannot tell: waiting would change nothing.)
                        super::spawn::Forked::Pid(_) => {
                            if let Some(pid) = flight.kill() {
                                say_killed(pid);
                            }
                        }
                        // Not forked yet, or its pid not said: waited for.
                        super::spawn::Forked::NotYet => {
                            _ = tokio::spawn(flight.clone().kill_once_forked());
                        }
                        super::spawn::Forked::Over => {}
                    }
                }
            }
            Effect::Reply {
                client,
                mut response,
            } => {
                if let crate::control::protocol::Response::Status { status } = &mut response {
                    self.tell_files_removed(&mut status.listeners);
                }
                if let Some(c) = self.clients.get(&client) {
                    c.0.answer(&response);
                }
                if response.is_final()
                    && let Some(c) = self.clients.remove(&client)
                {
                    self.answered.push(c.0.clone());
                }
            }
            Effect::Notify(notice) => {
                if let Some(notifier) = &self.notifier {
                    match notice {
                        Notice::Ready => notifier.ready(),
                        Notice::Reloading { answers_signal } => notifier.reloading(answers_signal),
                        Notice::Stopping { within } => notifier.stopping(within),
                        Notice::Status(line) => notifier.status(&line),
                    }
                }
            }
            // It may quote what a control client sent (a reload's path):
            // one line, no escape sequence.
            Effect::Log(line) => log!("{}", crate::log::printable(&line)),
            Effect::ReapOrphans => {
                let children = &self.children;
                // A child spawned a moment ago, not reported yet, is not
                // known by its pid: what may be it (see `orphans::reap`)
                // waits for a later scan, from the first fork of a spawn
                // under way.
                let in_flight = &self.spawns_in_flight;
                let spawning_since = || {
                    (in_flight.values())
                        .map(|flight| flight.forked.load(std::sync::atomic::Ordering::SeqCst))
                        .filter(|&forked| forked != 0)
                        .min()
                };
                let owned = |pid| children.values().any(|c| c.pid == pid);
                let scan = super::orphans::reap(owned, spawning_since);
                // A SIGCHLD also comes when a child stops. Not one whose
                // watcher has reaped it: its pid may be another's now.
                let live = children.values().filter(|c| !c.ended());
                super::orphans::say_stopped(live.map(|c| c.pid));
                match scan {
                    // As if SIGCHLD came again: the machine scans once
                    // more after its delay, by when the watcher of the
                    // zombie in the way has reaped it. Its timer, so that
                    // it outlasts an upgrade in place.
                    super::orphans::Scan::Again => {
                        let _ = (self.events_tx).send(Event::Signal(super::machine::Signal::Chld));
                    }
                    // Not before a spawn reports (no upgrade in place
                    // happens while one is under way).
                    super::orphans::Scan::AfterSpawns => self.scan_after_spawns = true,
                    super::orphans::Scan::Done => {}
                }
            }
            Effect::Upgrade { child, pid, binary } => self.upgrade = Some((child, pid, binary)),
            Effect::Exit { .. } => unreachable!("the loop handles exit"),
        }
    }

    /// Watches the child a spawn off the loop started, and tells the
    /// machine.
    fn spawned(&mut self, done: SpawnDone, machine: &Machine) -> Event {
        let id = done.id;
        self.spawns_in_flight.remove(&id);
        if std::mem::take(&mut self.scan_after_spawns) {
            let _ = (self.events_tx).send(Event::Signal(super::machine::Signal::Chld));
        }
        let identified = match done.result {
            Ok(identified) => identified,
            Err(error) => return Event::SpawnFailed { id, error },
        };
        let super::spawn_off::Identified {
            started,
            file,
            binary,
            resolved,
            path_replaced,
            started_unix,
        } = identified;
        let Some(child) = machine.state().children.get(&id) else {
            // Cannot be: the machine keeps a child until its spawn ends.
            super::spawn::kill_with_group(started.pid);
            return Event::SpawnFailed {
                id,
                error: "a child the supervisor no longer knows".to_owned(),
            };
        };
        // Killed while its spawn was under way: the machine kills it as it
        // hears of it, and it is handed no listener meanwhile.
        let doomed = child.killed;
        match super::spawn::watch_started(started, doomed, self.events_tx.clone()) {
            Ok(child) => {
                let (pid, by_pidfd) = (child.pid, child.by_pidfd);
                self.children.insert(id, child);
                self.binaries.extend(file.map(|fd| (id, fd)));
                Event::Spawned {
                    id,
                    pid,
                    binary,
                    resolved,
                    path_replaced,
                    by_pidfd,
                    started_unix,
                }
            }
            // (What a child another wait reaped left in its group is killed,
            // and their SIGCHLD has the orphan scan reap them.)
            Err(e) => Event::SpawnFailed {
                id,
                error: e.to_string(),
            },
        }
    }

    /// Takes the sockets a bind off the loop made, and tells the machine.
    fn bound(&mut self, done: BindDone) -> Event {
        let id = done.id;
        match done.result {
            Err(error) => Event::BindFailed { id, error },
            Ok(sockets) => {
                let mut bound = Vec::new();
                for (key, socket) in sockets {
                    // Never in place of a socket held: a late bind (its
                    // start given up) of what a later reload bound since.
                    // The held one stays; this one closes here.
                    if self.sockets.contains_key(&key) {
                        log!(
                            "closing a second socket for {} {}: bound after its start was given up",
                            key.network,
                            socket.address
                        );
                        // Its file too, where it made one (the held
                        // socket's was gone): no one would accept there.
                        crate::listener::unbind(std::iter::once(socket));
                        continue;
                    }
                    bound.push((key.clone(), socket.address));
                    // A new file, looked at afresh: told and said again
                    // should it go too.
                    self.files_removed_told.remove(&key);
                    self.files_removed_said.remove(&key);
                    self.sockets
                        .insert(key, Socket::new(socket.fd, socket.unix_file));
                }
                Event::Bound { id, bound }
            }
        }
    }

    /// The child's hello: each declared listener, and the fds of those on;
    /// what it does should this supervisor die (`orphaned`), as the
    /// machine decided.
    fn spawn_order(
        &self,
        id: ChildId,
        launch: &Launch,
        orphaned: crate::link::Orphaned,
        managers: &[ListenerKey],
        served: &[ListenerKey],
    ) -> Spawn {
        let mut entries = Vec::new();
        let mut fds = Vec::new();
        for assigned in &launch.listeners {
            let socket = assigned.key.as_ref().and_then(|k| self.sockets.get(k));
            entries.push(ListenerEntry {
                name: assigned.name.clone(),
                network: assigned.network,
                bound: socket.is_some(),
                // JSON holds only a UTF-8 path: another stays the
                // supervisor's alone to remove, at its exit.
                file: (socket.and_then(|s| s.unix_file.clone()))
                    .filter(|file| file.path.to_str().is_some()),
                managers: assigned.key.as_ref().is_some_and(|k| managers.contains(k)),
                served_beside: assigned.key.as_ref().is_some_and(|k| served.contains(k)),
            });
            fds.extend(socket.map(|s| s.fd.clone()));
        }
        // A binary held open runs from its descriptor: the file itself,
        // whatever its path names now.
        let held = launch
            .target
            .binary_of
            .and_then(|of| self.binaries.get(&of));
        let path = match held {
            Some(fd) => PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
            None => launch.target.file().to_owned(),
        };
        Spawn {
            id,
            path,
            argv0: launch.target.argv0.clone(),
            args: launch.args.clone(),
            name: self.name.clone(),
            entries,
            fds,
            refuse_when_orphaned: orphaned.refuse,
            beside_serving: orphaned.beside_serving,
            pid_to: None,
        }
    }

    /// Waits (briefly) for every child's watcher to carry out the orders
    /// given so far. Returns the pid of a child whose watcher has not.
    async fn settle_orders(&self) -> Option<u32> {
        let settled: Vec<_> = (self.children.values())
            .map(|c| (c.pid, c.settled()))
            .collect();
        let deadline = tokio::time::Instant::now() + SETTLE_ORDERS;
        for (pid, child) in settled {
            if tokio::time::timeout_at(deadline, child).await.is_err() {
                return Some(pid);
            }
        }
        None
    }

    /// Makes the control socket's files again if they were removed, so
    /// that the commands reach this supervisor again, and a later `start`
    /// of the service does not run a second one. Returns whether it made
    /// them (the folder is then locked and watched anew).
    fn remake_control(&mut self) -> bool {
        let failing = self.remake_retry.take().map(|retry| retry.wait);
        let path = self.control_path.clone();
        let remake = |io: &mut Io| {
            let remade = server::remake(&path, &io.name, &io.lock, io.control_file.as_ref());
            remade.map_err(|unmade| {
                // Kept by this supervisor, though the socket could not be
                // made: the old one locked a file no path names any more.
                if let Some(lock) = unmade.lock {
                    io.lock = lock;
                }
                unmade.error
            })
        };
        let mut remade = remake(self);
        if remade.is_err() {
            // Whoever has the path now keeps it. Its folder is watched,
            // then looked at once more: the path coming free (that one's
            // exit) is seen either way, and brings this one back. (Not
            // said: this runs again at every retry.)
            self.watch_anew(&path, false);
            remade = remake(self);
        }
        if remade.is_ok() {
            self.remake_failure_said = None;
        }
        let remade = match remade {
            Ok(Some(remade)) => remade,
            Ok(None) => return false,
            Err(e) => {
                let pid = std::process::id();
                // Tried again, less and less often, watched or not: the
                // one that took the path may die without freeing it (its
                // files left behind), which no event tells.
                let retry = Retry::next(failing, false);
                let wait = retry.wait;
                self.remake_retry = Some(retry);
                // Said in full the first time (or after a try that made
                // the files but could not serve them, said on its own);
                // after that, only a new reason.
                let why = e.to_string();
                let socket_in_place = (self.control_file.as_ref()).is_some_and(OwnFile::in_place);
                let said_before = (self.remake_failure_said)
                    .replace((socket_in_place, why.clone()))
                    .filter(|(in_place, _)| *in_place == socket_in_place);
                // (Said only for a failed try, so a retry is failing.)
                if let Some((_, said)) = said_before {
                    match (said == why, socket_in_place) {
                        (true, _) => {}
                        (false, true) => log!(
                            "the lock file {} still cannot be made again, now: {why}",
                            self.lock.path().display()
                        ),
                        (false, false) => log!(
                            "the control socket {} still cannot be made again, now: {why}",
                            path.display()
                        ),
                    }
                    return false;
                }
                let until = match self.watch {
                    Some(_) => format!(
                        "until the path is free (watched, and tried again in {wait:?}, then less and less often, up to every {:?})",
                        REMAKE_RETRY.1
                    ),
                    None => format!(
                        "until it can be made (its folder cannot be watched: tried again in {wait:?}, then less and less often, up to every {:?})",
                        REMAKE_RETRY.1
                    ),
                };
                // Only the lock file went, and another process holds the
                // new one (a `start` of the same service, which finds this
                // one answering and exits): the commands still reach it.
                match socket_in_place {
                    // A lock let go of is no event a watch sees: the
                    // retries alone take it back.
                    true => log!(
                        "the lock file {} was removed and cannot be made again: {e}; this supervisor (pid {pid}) still answers at its control socket {}; it tries to take the lock again in {wait:?}, then less and less often, up to every {:?}",
                        self.lock.path().display(),
                        path.display(),
                        REMAKE_RETRY.1
                    ),
                    false => log!(
                        "the control socket {} was removed and cannot be made again: {e}; this supervisor (pid {pid}) can be reached by signals only, {until}: `kill -HUP {pid}` reloads it, `kill -TERM {pid}` stops it gracefully",
                        path.display()
                    ),
                }
                return false;
            }
        };
        let lock_remade = remade.lock.is_some();
        if let Some(lock) = remade.lock {
            // The old one locked a file no path names any more.
            self.lock = lock;
        }
        let served = remade.listener.map(|listener| self.serve_control(listener));
        // The folder may be a new one: locked and watched anew (a lock a
        // cleaner keeps waiting replaces the one held, which is on a
        // folder since removed: on the same folder, held shared, it would
        // be had at once); but for a folder that cannot be opened (removed
        // again meanwhile), the one held goes on, not nothing.
        if let Some(lock) = hold_folder(&path) {
            self.folder_lock = Some(lock);
        }
        self.watch_anew(&path, true);
        match served {
            Some(Ok(())) => log!(
                "the control socket {} was removed; made it again",
                path.display()
            ),
            Some(Err(e)) => {
                // On the retry timer, not the watch: there may be none, and
                // its file was removed just now, which the watch would wake
                // at.
                let retry = Retry::next(failing, true);
                let wait = retry.wait;
                self.remake_retry = Some(retry);
                log!(
                    "the control socket {} was removed, and its new one cannot be served: {e}; trying again in {wait:?}",
                    path.display()
                );
            }
            // Only the lock file went (a cleaner that does not honour
            // `flock`): said too, as the README promises.
            None if lock_remade => log!(
                "the lock file {} had been removed; made it again",
                self.lock.path().display()
            ),
            None => {}
        }
        true
    }

    /// The unix sockets bound here whose files their paths no longer
    /// name (removed by hand or by a cleaner, or replaced): held and
    /// listening, but out of reach. Those seen gone from their folders
    /// are let go of by the machine ([`Io::unix_files_gone`]); the
    /// others are held on.
    fn unix_files_removed(&self) -> Vec<(&ListenerKey, &std::path::Path)> {
        (self.sockets.iter())
            .filter_map(|(key, socket)| Some((key, socket.unix_file.as_ref()?)))
            .filter(|(_, file)| !file.in_place())
            .map(|(key, file)| (key, file.path.as_path()))
            .collect()
    }

    /// Marks in `listeners`, as `status` shows them, the unix sockets
    /// whose files were removed.
    fn tell_files_removed(&self, listeners: &mut [crate::control::status::ListenerStatus]) {
        let removed = self.unix_files_removed();
        for listener in listeners.iter_mut().filter(|l| l.listening) {
            let Some(key) = &listener.key else { continue };
            listener.file_removed = removed.iter().any(|(removed, _)| *removed == key);
        }
    }

    /// Looks at which unix sockets' files were removed (at each wake of
    /// the control path's watch, retry or look: the look comes every
    /// [`PATH_LOOK`], or a pending retry's wait, up to a minute; and
    /// before each event is handled). Those seen gone from the folder
    /// they were made in, where a bind would make them again, are
    /// returned, once each, for the machine to let go of (the next launch
    /// binds them again), each as [`Event::UnixFileRemoved`]: only those
    /// `machine` holds, not one just bound whose [`Event::Bound`] it has
    /// yet to handle (looked at again next time). The others, out of sight
    /// but maybe there still (a `supervisor_init` that entered a chroot, a
    /// folder above renamed) or their names taken, are said once and
    /// looked at again next time.
    fn unix_files_gone(&mut self, machine: &Machine) -> Vec<Event> {
        let held = |key: &ListenerKey| machine.state().held.contains_key(key);
        let removed: Vec<(ListenerKey, PathBuf)> = (self.unix_files_removed().into_iter())
            .map(|(key, path)| (key.clone(), path.to_owned()))
            .collect();
        // Said and told again should a later file of the same key go too.
        let still = |key: &ListenerKey| removed.iter().any(|(removed, _)| removed == key);
        (self.files_removed_said).retain(|said| still(said));
        (self.files_removed_told).retain(|told| still(told));
        let mut gone = Vec::new();
        for (key, path) in removed {
            // Looked at each time until it is gone where a bind would make
            // it again (the name freed, the folder open again), and told
            // to the machine once (which keeps it while stopping).
            if self.sockets[&key].file_gone_from_its_folder() {
                if held(&key) && self.files_removed_told.insert(key.clone()) {
                    gone.push(Event::UnixFileRemoved { key });
                }
                continue;
            }
            if self.files_removed_said.insert(key) {
                log!(
                    "the file of the unix socket {} was removed, or is out of sight: it still listens, but nobody can connect to it by that path",
                    path.display()
                );
            }
        }
        gone
    }

    /// Makes the control socket's files again where they were removed
    /// ([`Io::remake_control`], whose answer it returns), unless a folder
    /// above the control folder that another made is gone: neither a
    /// look, a removal, a retry nor the loop's start makes one. One
    /// renamed or removed may be a deploy's swap (`rm -rf` or `mv`, then
    /// `mv` of the new one into its name), which would go inside a folder
    /// made meanwhile, or an `rm -rf` still under way. Those its start
    /// made (a cleaner's removal) are made again. A retry due (a remake
    /// failed before, for a path under it) is let go of meanwhile, its
    /// reason with it: the looks, every 30 s, find the folder back.
    fn look_at_control(&mut self) -> bool {
        if self.control_out_of_sight {
            return false;
        }
        let missing = folder_to_wait_for(&self.control_path, seen_or_hidden, |folder| {
            self.made_at_start.iter().any(|m| m == folder)
        });
        match missing {
            Some(missing) => {
                self.remake_retry = None;
                self.remake_failure_said = None;
                self.wait_for_above(&missing);
                false
            }
            None => {
                self.waiting_for_above = false;
                self.remake_control()
            }
        }
    }

    /// Says, once, that the control socket is not made again until
    /// `missing`, a folder above it that another made, is back.
    fn wait_for_above(&mut self, missing: &std::path::Path) {
        if std::mem::replace(&mut self.waiting_for_above, true) {
            return;
        }
        log!(
            "the folder {} above the control folder is gone: the control socket is made again once it is back (looked for every 30 s; a deploy's new one may be on its way), and until then this supervisor is reached by signals only",
            crate::control::dir::shown(missing)
        );
    }

    /// Watches the folder of the control socket at `path` anew (it may be
    /// a new folder). Should no new watch be had (inotify's limits), the
    /// one held goes on while it is still on the folder there (only files
    /// were removed); one on a folder removed since sees nothing more, and
    /// goes. `say`: a watch that cannot be had is said.
    fn watch_anew(&mut self, path: &std::path::Path, say: bool) {
        let held = self.watch.take().filter(|w| w.still_on_folder_of(path));
        let new = match say {
            true => watch_folder(path, held.is_some()),
            false => FolderWatch::start(path).ok(),
        };
        self.watch = new.or(held);
    }

    /// Accepts control connections on `listener` from now on, and hands it
    /// on at an in-place upgrade.
    fn serve_control(&mut self, listener: std::os::unix::net::UnixListener) -> std::io::Result<()> {
        let file = OwnFile::of(&self.control_path);
        let ready = (|| {
            let fd = OwnedFd::from(listener.try_clone()?);
            Ok((fd, super::registered(listener)?))
        })();
        let (fd, listener) = match ready {
            Ok(ready) => ready,
            Err(e) => {
                // Not left for clients to find dead: made again at the
                // retry.
                if let Some(file) = file {
                    file.remove_or_say();
                }
                return Err(e);
            }
        };
        self.control_file = file;
        self.control_fd = fd;
        let connections = self.connections.clone();
        self.accepting.abort();
        self.accepting = tokio::spawn(server::serve(
            listener,
            self.control_tx.clone(),
            connections,
        ));
        Ok(())
    }

    /// Lets go of the listeners, the control socket and, last, the lock
    /// file (still holding the lock: a new start may take over from here).
    /// A socket the service manager passed (`managers`) is only closed,
    /// never shut: it is the manager's, and listens on for the next
    /// instance.
    fn leave(&mut self, managers: impl Fn(&ListenerKey) -> bool) {
        for (key, socket) in self.sockets.drain() {
            if !managers(&key) {
                socket.close(key.network);
            }
        }
        // Only while the path names our socket: a cleaner may have removed
        // both files, and a successor made its own since.
        if let Some(file) = &self.control_file {
            file.remove_or_say();
        }
        self.lock.remove();
    }

    /// Gives the clients whose answers are not yet all written (`stop`
    /// waiters, and any answered earlier or before an in-place upgrade)
    /// a moment to read them before the process exits, [`LAST_WORDS`] at
    /// most. A
    /// request read by then (a second `stop`, a monitor's `status`, sent
    /// on a connection opened before the socket's file went) is answered
    /// by the exited machine, rather than met by the close; one that
    /// comes after the last answer is written meets it.
    async fn last_words(
        &mut self,
        machine: &mut Machine,
        control: &mut mpsc::UnboundedReceiver<ControlMessage>,
        now: impl Fn() -> Duration,
    ) {
        // A test's linger before the exit, answering meanwhile.
        let start = tokio::time::Instant::now();
        let linger = crate::test_hook::test_hook::<u64>(super::handoff::TEST_EXIT_PAUSE_VAR)
            .and_then(|ms| start.checked_add(Duration::from_millis(ms)));
        let gate =
            crate::test_hook::test_hook::<std::path::PathBuf>(super::handoff::TEST_EXIT_GATE_VAR);
        let gated = gate.as_ref().map(|_| start + Duration::from_secs(60));
        let deadline = (start + LAST_WORDS)
            .max(linger.unwrap_or(start))
            .max(gated.unwrap_or(start));
        loop {
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            let answered = std::mem::take(&mut self.answered);
            let asked = {
                let written = async {
                    for conn in &answered {
                        conn.all_written().await;
                    }
                    if let Some(linger) = linger {
                        tokio::time::sleep_until(linger).await;
                    }
                    while gate.as_ref().is_some_and(|gate| gate.exists()) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                };
                // A request first: read in the same turn as the last
                // write, it would otherwise go unanswered half the time.
                // (A closed channel disables its branch: the writes are
                // still waited for.)
                tokio::select! {
                    biased;
                    Some(message) = control.recv() => Ok(message),
                    written = tokio::time::timeout_at(deadline, written) => Err(written.is_ok()),
                }
            };
            self.answered = answered;
            let asked = match asked {
                Ok(message) => message,
                // All written: what the connections read meanwhile still
                // gets its answer (this loop again), then nothing more.
                Err(true) => {
                    tokio::task::yield_now().await;
                    match control.try_recv() {
                        Ok(message) => message,
                        Err(_) => return,
                    }
                }
                // The deadline.
                Err(false) => return,
            };
            // A client gone has nothing to answer.
            let ControlMessage::Request(ControlRequest { request, conn }) = asked else {
                continue;
            };
            let client = self.client(conn);
            self.answer_after_exit(machine, client, request, now());
        }
    }

    /// Has the exited `machine` answer `client`'s `request`.
    fn answer_after_exit(
        &mut self,
        machine: &mut Machine,
        client: ClientId,
        request: crate::control::protocol::Request,
        now: Duration,
    ) {
        for effect in machine.handle(Event::Control { client, request }, now) {
            // An exited machine only answers: nothing else is done once
            // the supervisor has let go of its sockets and files.
            debug_assert!(matches!(effect, Effect::Reply { .. }), "{effect:?}");
            if let Effect::Reply { .. } = effect {
                self.perform(effect);
            }
        }
    }
}

/// What waits in the loop's backlog: an event, or an outcome from off
/// the loop, made an event only as its turn comes. Made one early, a
/// bind's sockets would be registered before the events ahead of it are
/// handled (a late bind's socket, which the machine closes, would keep a
/// live bind's socket of the same key out), and a spawn's child judged by
/// a machine that has not heard what came before.
enum Pending {
    Event(Event),
    Bound(BindDone),
    Spawned(SpawnDone),
}

/// Queues on `backlog` the binds done and waiting in `binds`, without
/// waiting for more.
fn take_bound(binds: &mut mpsc::UnboundedReceiver<BindDone>, backlog: &mut VecDeque<Pending>) {
    while let Ok(done) = binds.try_recv() {
        backlog.push_back(Pending::Bound(done));
    }
}

/// Queues on `backlog` the spawns done and waiting in `spawns`, without
/// waiting for more.
fn take_spawned(spawns: &mut mpsc::UnboundedReceiver<SpawnDone>, backlog: &mut VecDeque<Pending>) {
    while let Ok(done) = spawns.try_recv() {
        backlog.push_back(Pending::Spawned(done));
    }
}

impl Pending {
    fn into_event(self, io: &mut Io, machine: &Machine) -> Event {
        match self {
            Pending::Event(event) => event,
            Pending::Bound(done) => io.bound(done),
            Pending::Spawned(done) => io.spawned(done, machine),
        }
    }
}

/// The outcome of a bind done off the loop.
#[derive(Debug)]
struct BindDone {
    id: ChildId,
    result: Result<Vec<(ListenerKey, Bound)>, String>,
}

/// Binds every listener of `orders`, or none: at the first failure, those
/// bound before it are closed (and their unix socket files removed).
/// Every address is looked up first, and none is bound once `by_ns` (on
/// `CLOCK_MONOTONIC`) has passed: the machine has given the start up by
/// then, and sockets bound late would hold addresses from a retried
/// reload until it had closed them.
fn bind_all_or_none(
    orders: Vec<BindOrder>,
    by_ns: u64,
    held: &HeldFiles,
) -> Result<Vec<(ListenerKey, Bound)>, String> {
    let mut resolved = Vec::with_capacity(orders.len());
    for order in orders {
        let BindOrder {
            key,
            name,
            if_in_use,
        } = order;
        if let Some(error) = held.named(&key, &name) {
            return Err(error);
        }
        let spec = ListenerSpec {
            name,
            network: key.network,
            address: Some(key.bind_address().to_owned()),
        };
        match crate::listener::resolve(&spec) {
            Ok(Some(target)) => resolved.push((key, target, if_in_use)),
            Ok(None) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    if monotonic_ns() >= by_ns {
        return Err(super::machine::bind_timed_out());
    }
    let mut bound = AllOrNone(Vec::new());
    for (key, target, if_in_use) in resolved {
        match target.bind() {
            Ok(socket) => bound.0.push((key, socket)),
            // Those bound so far are let go of as `bound` drops.
            Err(error) => {
                let in_use = error.io_kind() == Some(std::io::ErrorKind::AddrInUse);
                return Err(match if_in_use {
                    Some(advice) if in_use => format!("{error}; {advice}"),
                    _ => error.to_string(),
                });
            }
        }
    }
    Ok(std::mem::take(&mut bound.0))
}

/// The unix sockets the supervisor holds, by their files.
struct HeldFiles(Vec<HeldFile>);

/// A unix socket held, by the path it is held under.
struct HeldFile {
    path: String,
    /// Its file's identity, where this process bound it: the path may
    /// name another file since. (None for one the service manager passed.)
    id: Option<[u64; 2]>,
}

impl HeldFiles {
    /// What to say if `key`, listener `name`'s unix socket path, names
    /// one of these by another path (through a symlinked folder, say):
    /// the bind would find it in use, having connected to it, as to
    /// another program's, to see whether it is stale.
    fn named(&self, key: &ListenerKey, name: &str) -> Option<String> {
        if key.network != crate::spec::Network::Unix {
            return None;
        }
        // As a client reaches it, the last link followed too: a socket the
        // service manager passed is held under the path a listener
        // declared, which may be a link to it.
        let identity = crate::own_file::reached_identity;
        let path = key.bind_address();
        let asked = identity(std::path::Path::new(path))?;
        // Both paths name the file now: not a file made since at an inode
        // a removed one of ours had.
        let held = self.0.iter().find(|held| {
            let now = identity(std::path::Path::new(&held.path));
            now == Some(asked) && held.id.is_none_or(|id| id == asked)
        })?;
        let held = &held.path;
        Some(format!(
            "-{name}: cannot listen on unix {path}: it is the socket this service holds as unix {held} already, by another path: give `{held}` to keep it, or another path for another socket"
        ))
    }
}

/// The sockets a bind of all or none has bound so far: let go of (their
/// unix files removed) as it drops, unless taken out once all are bound;
/// so on a failure, and on a panic too.
struct AllOrNone(Vec<(ListenerKey, Bound)>);

impl Drop for AllOrNone {
    fn drop(&mut self) {
        crate::listener::unbind(self.0.drain(..).map(|(_, socket)| socket));
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_kill_asked_before_the_fork_is_carried_out_once_the_pid_is_said() {
        use std::io::Write;
        // Ours is told only where `/proc` numbers processes as we do.
        if !crate::proc_pid::numbers_ours() {
            eprintln!("skipped: /proc numbers processes otherwise here");
            return;
        }
        // A spawn under way that forked now, and the write end of its pipe.
        let in_flight = || {
            let (from, to) = crate::supervisor::spawn::pid_pipe().expect("a pipe");
            let forked = crate::supervisor::orphans::ticks_now().unwrap();
            let flight = super::InFlight {
                forked: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(forked)),
                pid_from: Some(std::sync::Arc::new(from)),
                pid: std::sync::Arc::default(),
            };
            (flight, to)
        };
        let (flight, to) = in_flight();
        // Asked first: nothing said yet, nothing killed.
        assert_eq!(flight.kill(), None);
        let killing = tokio::spawn(flight.clone().kill_once_forked());
        // Waiting on the pipe before anything is written to it.
        tokio::task::yield_now().await;
        assert!(!killing.is_finished());
        // The process forked, saying its pid (as its pre-exec step does).
        let mut sleeper = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = sleeper.id() as i32;
        std::fs::File::from(to)
            .write_all(&pid.to_ne_bytes())
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(20), killing)
            .await
            .expect("the kill carried out")
            .unwrap();
        let status = sleeper.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(nix::libc::SIGKILL));
        // A spawn over before its process said anything (its pipe closed):
        // the wait ends, nothing killed.
        let (flight, to) = in_flight();
        drop(to);
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            flight.kill_once_forked(),
        )
        .await
        .expect("ended at the pipe's end");
    }

    #[test]
    fn only_a_path_seen_missing_is_gone() {
        use super::seen_or_hidden;
        let dir = std::env::temp_dir().join(format!("lb-seen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(seen_or_hidden(&dir));
        assert!(!seen_or_hidden(&dir.join("missing")));
        let link = dir.join("link");
        std::os::unix::fs::symlink(dir.join("missing"), &link).unwrap();
        assert!(!seen_or_hidden(&link), "a link to nothing");
        // A folder on the way that cannot be searched hides, not loses,
        // what is in it (root searches any).
        if !nix::unistd::geteuid().is_root() {
            use std::os::unix::fs::PermissionsExt;
            let closed = dir.join("closed");
            std::fs::create_dir(&closed).unwrap();
            std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(seen_or_hidden(&closed.join("inside")));
            std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_above_another_made_is_waited_for_and_the_starts_made_again() {
        use super::folder_to_wait_for;
        use std::path::{Path, PathBuf};
        let socket = Path::new("/srv/app/run/svc.sock");
        let gone = |missing: &'static [&'static str]| {
            move |p: &Path| !missing.iter().any(|m| Path::new(m) == p)
        };
        let made = |by_start: &'static [&'static str]| {
            move |p: &Path| by_start.iter().any(|m| Path::new(m) == p)
        };
        // Its parent there: nothing to wait for (the control folder alone
        // may be gone).
        let wait = folder_to_wait_for(socket, gone(&["/srv/app/run"]), made(&[]));
        assert_eq!(wait, None);
        // A deploy's `/srv/app` gone: waited for.
        let wait = folder_to_wait_for(socket, gone(&["/srv/app"]), made(&[]));
        assert_eq!(wait, Some(PathBuf::from("/srv/app")));
        // All the start made: made again.
        let wait = folder_to_wait_for(
            socket,
            gone(&["/srv/app", "/srv"]),
            made(&["/srv", "/srv/app", "/srv/app/run"]),
        );
        assert_eq!(wait, None);
        // The start made `app`, not `/srv`: `/srv` is waited for.
        let wait = folder_to_wait_for(
            socket,
            gone(&["/srv/app", "/srv"]),
            made(&["/srv/app", "/srv/app/run"]),
        );
        assert_eq!(wait, Some(PathBuf::from("/srv")));
        // A socket at the root has no folder above.
        let top = Path::new("/svc.sock");
        assert_eq!(folder_to_wait_for(top, gone(&["/"]), made(&[])), None);
    }

    use super::AllOrNone;
    use crate::spec::{ListenerSpec, Network};
    use crate::supervisor::machine::{BindOrder, ListenerKey};

    #[test]
    fn sockets_bound_before_a_panic_have_their_files_removed() {
        let dir = std::env::temp_dir().join(format!("lb-all-or-none-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        let address = path.to_str().unwrap().to_owned();
        let spec = ListenerSpec {
            name: "api".into(),
            network: Network::Unix,
            address: Some(address.clone()),
        };
        let socket = crate::listener::bind(&spec).unwrap().unwrap();
        assert!(path.exists());
        let key = ListenerKey::of("api", Network::Unix, &address);
        let panicked = std::panic::catch_unwind(move || {
            let _bound = AllOrNone(vec![(key, socket)]);
            panic!("a bind's lookup panicked");
        });
        assert!(panicked.is_err());
        assert!(!path.exists(), "the socket file outlived the panic");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bind_looked_up_past_its_deadline_binds_nothing() {
        let dir = std::env::temp_dir().join(format!("lb-bind-by-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let order = |name: &str, network, address: &str| BindOrder {
            key: ListenerKey::of(name, network, address),
            name: name.to_owned(),
            if_in_use: None,
        };
        let orders = || {
            vec![
                order("api", Network::Unix, path.to_str().unwrap()),
                order("http", Network::Tcp, &format!("localhost:{port}")),
            ]
        };
        // Given up a moment ago: neither address is taken.
        let past = super::monotonic_ns() - 1;
        let error =
            super::bind_all_or_none(orders(), past, &super::HeldFiles(Vec::new())).unwrap_err();
        assert_eq!(error, crate::supervisor::machine::bind_timed_out());
        assert!(!path.exists());
        drop(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
        // Within it: both bound.
        let future = super::monotonic_ns() + 60_000_000_000;
        let bound =
            super::bind_all_or_none(orders(), future, &super::HeldFiles(Vec::new())).unwrap();
        assert_eq!(bound.len(), 2);
        assert!(path.exists());
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
        crate::listener::unbind(bound.into_iter().map(|(_, socket)| socket));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
