//! The supervisor's decisions, as a pure state machine: an event and the
//! time go in, effects come out. No I/O, no clock reads, no async: the
//! driver (`super::driver`) carries the effects out and feeds back what
//! happened. Time is a `Duration` since the supervisor started, given with
//! every event; deadlines live in the state and `next_deadline` tells the
//! driver when to come back with [`Event::Tick`].

mod listeners;
mod state;
mod status;

#[cfg(test)]
mod model;
#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod upgrades;

/// A serving supervisor's state, for tests outside the machine.
#[cfg(test)]
pub(crate) fn serving_state() -> State {
    sim::Sim::serving(sim::settings()).machine.state().clone()
}

use std::time::Duration;

pub(crate) use listeners::{Assigned, BindOrder, Held, ListenerKey};
use state::{Child, Phase, Probation, Queued, Starting, Stopping, Up, Why};
pub(crate) use state::{
    ChildId, ClientId, FileId, Image, Launch, ReloadSpec, STATE_VERSION, Settings, State, Target,
};

use crate::control::protocol::{Request, Response};
use crate::link::FromChild;
use crate::spec::Kind;

/// A new child must say hello on its channel within this time (or its
/// ready timeout, if shorter), or it is not a littleboss program.
pub(crate) const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A new child's listeners must be bound within this time (an address
/// naming a host is resolved first, which can hang on a dead resolver),
/// or its start fails: a reload waiting on it would otherwise never end,
/// nor would the reloads queued behind it.
pub(crate) const BIND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a start whose bind ran past [`BIND_TIMEOUT`] failed: said by the
/// machine at the deadline, and by the driver for addresses looked up
/// after it (reported a moment before the machine's timer fires).
pub(crate) fn bind_timed_out() -> String {
    format!(
        "its listeners were not bound within {BIND_TIMEOUT:?} (does a host name in an address not resolve?)"
    )
}

/// A child killed that has not exited within this time is given up on
/// (a process stuck in the kernel may never die of SIGKILL): a starting
/// one's start fails without its exit, and what waited for it goes on; a
/// stop does not wait for it.
pub(crate) const KILLED_EXIT_WAIT: Duration = Duration::from_secs(5);

/// What a stop's bound allows the supervisor past its children's end: its
/// last answers, notices and lines (see [`Machine::stop_extension`]; the
/// README's rule for `TimeoutStopSec=`, lameduck plus 8 s, counts it).
const STOP_EXIT_SLACK: Duration = Duration::from_secs(3);
/// A starting child that said its error after its hello has this long to
/// exit by itself (its own exit code kept) before it is killed: its ready
/// deadline may be minutes away.
pub(crate) const ERROR_EXIT_WAIT: Duration = Duration::from_secs(5);

/// How many children given up on may be outstanding before no child is
/// started (see `start_child`): those whose execs have not returned (each
/// keeps a thread), and, for the starts the supervisor makes on its own
/// (a restart, a rollback), those of its own starts not dead of their
/// kills too.
pub(crate) const MAX_SPAWNS_GIVEN_UP: usize = 4;

/// A child promoted by a reload that dies within this time is rolled back
/// to the previous binary (with `fallback`).
pub(crate) const PROBATION: Duration = Duration::from_secs(5);
/// Restart backoff for `persist`: from the first delay, doubling up to the
/// last; reset after a child served this long.
pub(crate) const RESTART_FIRST: Duration = Duration::from_millis(100);
pub(crate) const RESTART_MAX: Duration = Duration::from_secs(30);
pub(crate) const HEALTHY: Duration = Duration::from_secs(10);

/// Whether `child` has served [`HEALTHY`] long by `now`: counted from
/// taking over, however long it took to start.
fn served_healthy(child: &Child, now: Duration) -> bool {
    let serving_since = child.serving_since.unwrap_or(child.started);
    now.saturating_sub(serving_since) >= HEALTHY
}

/// What a reload a stop ends, puts off or turns away is told.
const STOPPING: &str = "the supervisor is stopping";

/// How long an orphan's zombie may wait to be reaped: SIGCHLD comes in
/// bursts during reloads, and one scan serves them all.
pub(crate) const ORPHAN_SCAN_DELAY: Duration = Duration::from_millis(200);
/// A stop signal within [`SAME_STOP`] of the first, or read within
/// [`READ_AS_DRAIN_BEGAN`] of the first's effects being carried out, is
/// the same stop, in the supervisor as in a program run without one.
pub(crate) use crate::lameduck::{READ_AS_DRAIN_BEGAN, SAME_STOP};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum ChildExit {
    Code(i32),
    Signal(i32),
}

impl ChildExit {
    /// As an exit code: its own, or 128 + the signal, as shells report it.
    pub fn code(self) -> i32 {
        match self {
            ChildExit::Code(code) => code,
            ChildExit::Signal(signal) => 128 + signal,
        }
    }
}

impl std::fmt::Display for ChildExit {
    /// "exited with code 3", "was killed by SIGKILL".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ChildExit::Code(code) => write!(f, "exited with code {code}"),
            ChildExit::Signal(signal) => match nix::sys::signal::Signal::try_from(signal) {
                Ok(s) => write!(f, "was killed by {s}"),
                Err(_) => write!(f, "was killed by signal {signal}"),
            },
        }
    }
}

/// The signals the supervisor acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Signal {
    Term,
    Int,
    Hup,
    Chld,
    /// Passed on to the children (a log rotation's "reopen your logs").
    Usr1,
    /// Passed on to the children.
    Usr2,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Term => "SIGTERM",
            Signal::Int => "SIGINT",
            Signal::Hup => "SIGHUP",
            Signal::Chld => "SIGCHLD",
            Signal::Usr1 => "SIGUSR1",
            Signal::Usr2 => "SIGUSR2",
        })
    }
}

/// What happened. (It serialises: events not handled yet when the
/// supervisor re-executes itself are handed to the new image.)
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Event {
    /// The listeners of a [`Effect::Bind`] are bound, at these addresses.
    Bound {
        id: ChildId,
        bound: Vec<(ListenerKey, String)>,
    },
    /// A listener of a [`Effect::Bind`] could not be bound; none was kept.
    BindFailed {
        id: ChildId,
        error: String,
    },
    /// The child of a [`Effect::Spawn`] runs, as `pid`, from `binary`
    /// (if its identity could be told), the file the kernel names
    /// `resolved` (if it could be told: the launch's path may be a symlink
    /// that moves later).
    Spawned {
        id: ChildId,
        pid: u32,
        binary: Option<FileId>,
        // As bytes: a path need not be UTF-8.
        #[serde(default, with = "crate::path_bytes::option")]
        resolved: Option<std::path::PathBuf>,
        /// It runs the binary held open for its launch (`binary_of`), and
        /// the launch's path names another file now, or none.
        #[serde(default)]
        path_replaced: bool,
        /// It is watched through a pidfd (see [`Child::by_pidfd`]).
        #[serde(default = "state::yes")]
        by_pidfd: bool,
        /// The wall clock as its spawn returned (Unix seconds), if it could
        /// be read: the driver's, since the machine reads no clock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started_unix: Option<u64>,
    },
    /// The child of a [`Effect::Spawn`] could not be started.
    SpawnFailed {
        id: ChildId,
        error: String,
    },
    Message {
        id: ChildId,
        message: FromChild,
    },
    Exited {
        id: ChildId,
        exit: ChildExit,
    },
    Signal(Signal),
    Control {
        client: ClientId,
        request: Request,
    },
    /// A client closed its connection while its request waited for its
    /// final answer (killed, or given up on waiting).
    ClientGone {
        client: ClientId,
    },
    /// Time passed: whatever was due by now is done.
    Tick,
    /// The supervisor re-executed itself as [`Effect::Upgrade`] asked, and
    /// runs the new binary: the first event of the new image.
    Upgraded,
    /// It could not: the exec failed, or the new image could not take the
    /// state over and went back to this one. `refuse`: the binary is at
    /// fault and is not tried again (not so when, say, the child died
    /// just before).
    UpgradeFailed {
        error: String,
        refuse: bool,
    },
    /// Child `id` came across an in-place upgrade without its channel,
    /// and the driver killed it with its process group. A new image's
    /// own event, after [`Event::Upgraded`]; never handed over.
    ChildLost {
        id: ChildId,
    },
    /// Listener `key`'s descriptor did not come across an in-place
    /// upgrade (`error`: why). A new image's own event, as
    /// [`Event::ChildLost`].
    ListenerLost {
        key: ListenerKey,
        error: String,
    },
    /// The file of the unix socket held as `key`, bound by the supervisor,
    /// was seen removed from the folder it was made in, where a bind would
    /// make it again: nobody can connect to the socket. The driver's own
    /// event, told once per file.
    UnixFileRemoved {
        key: ListenerKey,
    },
}

/// The clients of the control requests in `pending` that are not among
/// `kept` (the connections an in-place upgrade handed over): each as
/// [`Event::ClientGone`], once. (An upgrade waits for an empty queue, so
/// only requests handed over as events can be a gone client's.)
pub(crate) fn gone_clients(pending: &[Event], kept: &[ClientId]) -> Vec<Event> {
    let mut gone: Vec<ClientId> = (pending.iter())
        .filter_map(|event| match event {
            Event::Control { client, .. } => Some(*client),
            _ => None,
        })
        .filter(|client| !kept.contains(client))
        .collect();
    gone.sort_unstable();
    gone.dedup();
    gone.into_iter()
        .map(|client| Event::ClientGone { client })
        .collect()
}

/// What the driver is to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Bind every one of these listeners, or none, and report
    /// [`Event::Bound`] or [`Event::BindFailed`] (off the loop: binding a
    /// host name may wait on DNS).
    Bind {
        id: ChildId,
        orders: Vec<BindOrder>,
        /// When the start is given up if the bind has not reported (the
        /// machine's clock): what is looked up only then (a host name
        /// whose DNS answered late) is not bound at all, where sockets
        /// bound late would hold the addresses a retried reload binds.
        by: Duration,
    },
    /// Start a child as `launch` says, with the held sockets its listeners
    /// name; report [`Event::Spawned`] or [`Event::SpawnFailed`] (off the
    /// loop: the exec of a binary on a file system that hangs waits on
    /// it). Until then the child has no pid: what it is told meanwhile
    /// (to wind down, to die) is told once it has.
    Spawn {
        id: ChildId,
        launch: Launch,
        /// Whether the child may shut its TCP listeners should this
        /// supervisor die: no listener is the service manager's, and no
        /// other child will take a connection then. For a child of an
        /// older version, which cannot be told which they are.
        refuse_when_orphaned: bool,
        /// The sockets among the launch's that the service manager owns:
        /// an orphan shuts every other one, never these.
        managers: Vec<ListenerKey>,
        /// The sockets among the launch's that the child serving as this
        /// one starts holds too: should the supervisor die before this one
        /// is ready, that one takes their queues (until an
        /// [`Effect::Alone`] says it has ended); this one takes the rest
        /// (a listener the reload added or moved). Empty: none is shared.
        served: Vec<ListenerKey>,
    },
    /// Tell the starting child, spawned beside a serving one, that that one
    /// has ended and none serves: should the supervisor die before it is
    /// ready, it takes the queues of all its listeners after all.
    Alone {
        id: ChildId,
    },
    /// No child uses this socket any more: close it.
    Close {
        key: ListenerKey,
    },
    /// Pass a signal on to a child.
    PassOn {
        id: ChildId,
        signal: Signal,
    },
    /// Tell a child to wind down; `refuse`: no child will take a
    /// connection after it (the supervisor is stopping), so it shuts the
    /// TCP listeners for good, and new connections are refused at once
    /// rather than queued and reset at the exit.
    Lameduck {
        id: ChildId,
        refuse: bool,
    },
    /// Let go of a socket no child will take connections from again (a
    /// reload moved or dropped its listener) while old children may still
    /// hold it: a TCP socket is shut down (it stops listening, and a bind
    /// with `SO_REUSEADDR` may take its port again), a unix socket's file
    /// removed; then it is closed here.
    /// Connections to it are refused at once rather than queued for nobody
    /// and reset when the last old child exits.
    Shut {
        key: ListenerKey,
    },
    /// Before a [`Effect::Shut`] of `key`: take the connections its queue
    /// holds, and hand them to child `to` (whose listener `listener` it
    /// was) to serve as it drains, rather than let the shut reset them.
    HandQueued {
        key: ListenerKey,
        to: ChildId,
        listener: String,
    },
    Kill {
        id: ChildId,
    },
    /// Kill the process child `id`'s spawn under way has forked, if it
    /// has: given up on, its exec has not returned (its binary on a file
    /// system that hangs, where a wait is killable), and ended so, the
    /// spawn returns and lets go of what it holds. Asked before the fork,
    /// it is done once the process has forked; a child whose exec returns
    /// all the same is killed once it has a pid ([`Effect::Kill`]).
    KillSpawning {
        id: ChildId,
    },
    /// Answer a control client; a final answer ends its request.
    Reply {
        client: ClientId,
        response: Response,
    },
    /// Tell the service manager (systemd), if there is one.
    Notify(Notice),
    /// A line for the supervisor's stderr.
    Log(String),
    /// Reap orphaned descendants that are not our children.
    ReapOrphans,
    /// Exit the process with this code, once the last replies are written.
    Exit {
        code: i32,
    },
    /// Once every other effect is done: re-execute in place from the
    /// binary child `child` (pid `pid`) runs (which must still be
    /// `binary`), handing the state over, then report [`Event::Upgraded`]
    /// from the new image, or [`Event::UpgradeFailed`].
    Upgrade {
        child: ChildId,
        pid: u32,
        binary: FileId,
    },
}

/// A state change the service manager hears of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    Ready,
    /// `answers_signal`: stamped (`MONOTONIC_USEC`, the time it is
    /// sent), which `Type=notify-reload` takes as the answer to its reload
    /// signal sent before. Only a SIGHUP's reload answers one, and not
    /// while another SIGHUP waits queued behind it (that one's reload
    /// answers): otherwise this reload's READY=1 would end `systemctl
    /// reload` before the reload it asked for ran. Unstamped, systemd
    /// ignores it while it waits for that answer, and otherwise takes it
    /// as a reload of the service's own.
    Reloading {
        answers_signal: bool,
    },
    /// `within`: the longest the stop may take (see
    /// [`Machine::stop_extension`]), sent as `EXTEND_TIMEOUT_USEC`; `None`
    /// with no child left to wait for.
    Stopping {
        within: Option<Duration>,
    },
    /// A one-line summary for `systemctl status`.
    Status(String),
}

/// The supervisor's decisions. See the module comment.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    state: State,
    now: Duration,
    effects: Vec<Effect>,
    /// What `STATUS=` says changed in this step: said once, as it stands
    /// at the step's end (see [`Machine::say_status`]).
    status: StatusDue,
    /// What the last `STATUS=` line told ([`Machine::status_facts`]).
    said: Option<String>,
}

/// A `STATUS=` line owed for the step under way.
#[derive(Debug, Clone, Default)]
enum StatusDue {
    #[default]
    None,
    /// The summary, made when the step ends.
    Summary,
    /// Why the supervisor exits: said as is, and last.
    Words(String),
}

/// Logs a line as an effect, with `format!` arguments.
macro_rules! say {
    ($machine:expr, $($arg:tt)*) => { $machine.effects.push(Effect::Log(format!($($arg)*))) };
}

// After `say!`, which they use.
mod lost;
mod unix_files;
mod upgrade;

impl Machine {
    /// A supervisor that has not started its first child yet; `seed` makes
    /// the restart jitter differ between supervisors.
    pub fn new(
        settings: Settings,
        pid: u32,
        started_unix: u64,
        first: Launch,
        held: std::collections::BTreeMap<ListenerKey, Held>,
        seed: u64,
        image: Image,
    ) -> Machine {
        Machine {
            state: State {
                settings,
                pid,
                started_unix,
                held,
                files_removed: Default::default(),
                next_id: 1,
                children: Default::default(),
                phase: Phase::Up(Up::default()),
                current: first,
                reloads: 0,
                failures: 0,
                last_failure: None,
                last_exit: None,
                last_code: 0,
                restart_delay: RESTART_FIRST,
                restarts: Default::default(),
                orphan_scan_at: None,
                rng: seed | 1,
                image,
                upgrade: None,
                upgrade_refused: None,
                upgrade_refused_why: None,
                upgrade_skipped: None,
                upgrade_held_for: None,
            },
            now: Duration::ZERO,
            effects: Vec::new(),
            status: StatusDue::None,
            said: None,
        }
    }

    /// The machine of a supervisor that re-executed itself, from the state
    /// it handed over; its first event is [`Event::Upgraded`] or
    /// [`Event::UpgradeFailed`].
    pub fn resume(state: State) -> Machine {
        Machine {
            state,
            now: Duration::ZERO,
            effects: Vec::new(),
            status: StatusDue::None,
            said: None,
        }
    }

    /// The state, as data.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Starts the first child.
    pub fn start(&mut self, now: Duration) -> Vec<Effect> {
        self.now = now;
        let first = self.state.current.clone();
        self.start_child(first, Why::First);
        self.say_status();
        std::mem::take(&mut self.effects)
    }

    /// Handles one event at time `now` (never earlier than the last).
    pub fn handle(&mut self, event: Event, now: Duration) -> Vec<Effect> {
        self.now = self.now.max(now);
        if !matches!(self.state.phase, Phase::Exited { .. }) {
            match event {
                Event::Bound { id, bound } => self.on_bound(id, bound),
                Event::BindFailed { id, error } => self.on_bind_failed(id, error),
                spawned @ Event::Spawned { .. } => self.on_spawned(spawned),
                Event::SpawnFailed { id, error } => self.on_spawn_failed(id, error),
                Event::Message { id, message } => self.on_message(id, message),
                Event::Exited { id, exit } => self.on_exit(id, exit),
                Event::Signal(signal) => self.on_signal(signal),
                Event::Control { client, request } => self.on_control(client, request),
                Event::ClientGone { client } => self.on_client_gone(client),
                Event::Tick => self.on_tick(),
                Event::Upgraded => self.on_upgraded(),
                Event::UpgradeFailed { error, refuse } => self.on_upgrade_failed(error, refuse),
                Event::ChildLost { id } => self.on_child_lost(id),
                Event::ListenerLost { key, error } => self.on_listener_lost(key, error),
                Event::UnixFileRemoved { key } => self.on_unix_file_removed(key),
            }
            self.take_queued();
            self.close_unused();
            self.finish_if_done();
            self.upgrade_if_due();
            self.say_status();
        } else if let (Event::Control { client, request }, Phase::Exited { code, .. }) =
            (event, &self.state.phase)
        {
            // Asked in its last moments (a second `stop`, a monitor's
            // `status`): a stop has its answer, a status its last (still
            // running, stopping: a monitor polling it sees the stop end
            // as it does any other, not a failure to tell), the others
            // are told.
            let response = match request {
                Request::Stop => Response::Stopped { exit_code: *code },
                Request::Status => Response::Status {
                    status: Box::new(self.status()),
                },
                _ => Response::refused("the supervisor is exiting"),
            };
            self.reply(client, response);
        }
        std::mem::take(&mut self.effects)
    }

    /// The effects of the last event handled have been carried out, at
    /// `now`. Those of a stop signal's may take a while (the queues taken,
    /// files removed), and the loop reads no signal meanwhile: a copy sent
    /// to the process's group a moment after the first is read only then,
    /// and is to be the same stop.
    pub fn performed(&mut self, now: Duration) {
        if let Phase::Stopping(stopping) = &mut self.state.phase
            && stopping.signalled_at.is_some()
            && stopping.performed_at.is_none()
        {
            stopping.performed_at = Some(now);
        }
    }

    /// When the driver must come back with [`Event::Tick`], if ever.
    pub fn next_deadline(&self) -> Option<Duration> {
        let state = &self.state;
        if let Phase::Exited { .. } = state.phase {
            return None;
        }
        let mut times = vec![state.orphan_scan_at];
        times.extend(state.children.values().map(|c| c.kill_at));
        times.extend(state.children.values().map(|c| c.reap_by));
        if let Phase::Up(up) = &state.phase {
            times.push(up.restart_at);
            // Its end lets go of the binary a rollback would have run.
            times.push(up.probation.as_ref().map(|p| p.until));
            if let Some(s) = &up.starting {
                times.extend([s.hello_by, s.ready_by]);
            }
        }
        if let Phase::Stopping(stopping) = &state.phase {
            times.push(stopping.starting.as_ref().and_then(|s| s.hello_by));
        }
        times.into_iter().flatten().min()
    }

    fn up(&mut self) -> Option<&mut Up> {
        match &mut self.state.phase {
            Phase::Up(up) => Some(up),
            _ => None,
        }
    }

    fn pid(&self, id: ChildId) -> u32 {
        self.state
            .children
            .get(&id)
            .and_then(|c| c.pid)
            .unwrap_or(0)
    }

    fn reply(&mut self, client: ClientId, response: Response) {
        self.effects.push(Effect::Reply { client, response });
    }

    fn notify(&mut self, notice: Notice) {
        self.effects.push(Effect::Notify(notice));
    }

    /// RELOADING=1 for the reload that begins now, a SIGHUP's or not
    /// (see [`Notice::Reloading`]).
    fn notify_reloading(&mut self, for_sighup: bool) {
        let sighup_waits = self
            .up()
            .is_some_and(|up| up.queued.iter().any(Queued::is_sighup));
        self.notify(Notice::Reloading {
            answers_signal: for_sighup && !sighup_waits,
        });
    }

    fn on_control(&mut self, client: ClientId, request: Request) {
        match request {
            Request::Status => {
                let status = Box::new(self.status());
                self.reply(client, Response::Status { status });
            }
            Request::Reload {
                path,
                argv0,
                args,
                listeners,
                dir,
                dir_id,
            } => {
                say!(self, "reload requested: {}", path.display());
                let argv0 = argv0.unwrap_or_else(|| path.clone()).into_os_string();
                let spec = ReloadSpec {
                    target: Target {
                        path,
                        argv0,
                        file: None,
                        binary_of: None,
                    },
                    args,
                    declared: listeners,
                    caller_dir: dir,
                    caller_dir_id: dir_id,
                };
                self.reload(Some(spec), Some(client));
            }
            Request::Stop => {
                say!(self, "stop requested");
                self.begin_stop(Some(client));
            }
        }
    }

    fn on_signal(&mut self, signal: Signal) {
        let now = self.now;
        match signal {
            Signal::Chld => {
                self.state
                    .orphan_scan_at
                    .get_or_insert(now + ORPHAN_SCAN_DELAY);
            }
            Signal::Hup => {
                say!(self, "SIGHUP: reloading the serving binary");
                self.reload(None, None);
            }
            Signal::Usr1 | Signal::Usr2 => {
                // Every child that runs: the program's to act on (the
                // serving one, and those still starting or draining,
                // which may hold logs open as well).
                let running: Vec<(ChildId, u32)> = self
                    .state
                    .children
                    .iter()
                    .filter(|(_, child)| !child.killed)
                    .filter_map(|(id, child)| Some((*id, child.pid?)))
                    .collect();
                if running.is_empty() {
                    say!(self, "{signal} received: no child to pass it on to");
                }
                for (id, pid) in running {
                    say!(self, "{signal} received: for child pid {pid}");
                    self.effects.push(Effect::PassOn { id, signal });
                }
            }
            Signal::Term | Signal::Int => {
                let (signalled_at, performed_at) = match &self.state.phase {
                    Phase::Stopping(stopping) => (stopping.signalled_at, stopping.performed_at),
                    _ => (None, None),
                };
                // How far apart they were read, said either way: a second
                // that kills is told from a copy by this alone. A copy
                // read as soon as the stop's effects were carried out
                // waited meanwhile, however long they took.
                let after = signalled_at.map(|first| now.saturating_sub(first));
                let waited =
                    performed_at.is_some_and(|at| now.saturating_sub(at) < READ_AS_DRAIN_BEGAN);
                let same = |after| after < SAME_STOP || waited;
                let again = |after| {
                    crate::lameduck::stop_again(
                        &signal.to_string(),
                        after,
                        same(after),
                        "killing every child now",
                    )
                };
                match after {
                    Some(after) if same(after) => say!(self, "{}", again(after)),
                    Some(after) => {
                        say!(self, "{}", again(after));
                        let ids: Vec<ChildId> = self.state.children.keys().copied().collect();
                        for id in ids {
                            self.kill(id);
                        }
                    }
                    None => {
                        say!(self, "{signal} received: stopping (send it again to kill)");
                        self.begin_stop(None);
                        if let Phase::Stopping(stopping) = &mut self.state.phase {
                            stopping.signalled_at = Some(now);
                        }
                    }
                }
            }
        }
    }

    fn on_tick(&mut self) {
        let now = self.now;
        if self.state.orphan_scan_at.is_some_and(|at| at <= now) {
            self.state.orphan_scan_at = None;
            self.effects.push(Effect::ReapOrphans);
        }
        let late: Vec<ChildId> = self
            .state
            .children
            .iter()
            .filter(|(_, c)| c.kill_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            match self.state.children[&id].pid {
                Some(pid) => say!(
                    self,
                    "child pid {pid} is still running after its lameduck timeout; killing it"
                ),
                None => say!(
                    self,
                    "a child whose exec has not returned is past its lameduck timeout: not waited for, and killed should it run"
                ),
            }
            self.kill(id);
        }
        self.abandon_the_undying();
        self.silent_at_stop();
        let Some(up) = self.up() else { return };
        if let Some(starting) = &up.starting {
            let id = starting.id;
            if starting.binding && starting.hello_by.is_some_and(|at| at <= now) {
                // Its bind reports later, if ever: a socket no launch uses
                // is closed then.
                self.on_bind_failed(id, bind_timed_out());
            } else if starting.hello_by.is_some_and(|at| at <= now) {
                let child = &self.state.children[&id];
                let reason = self.silence(child);
                match child.pid {
                    // Its spawn still under way, which may never end (a
                    // hung mount): the start fails now, and what waited
                    // for it goes on.
                    None => self.give_up_spawning(failed_start(child, &reason)),
                    Some(_) => self.fail_starting(reason),
                }
            } else if starting.ready_by.is_some_and(|at| at <= now) {
                let timeout = starting.ready_timeout;
                // Which readiness it has is the program's: both said.
                self.fail_starting(format!(
                    "was not ready within {timeout:?} (a program is ready once its `main` first waits, or, with manual readiness (`ready = \"manual\"`, `Ready::Manual`), once it calls `ctx.ready()`)"
                ));
            }
        }
        let Some(up) = self.up() else { return };
        up.probation.take_if(|p| p.until <= now);
        if up.restart_at.is_some_and(|at| at <= now) {
            up.restart_at = None;
            if up.serving.is_none() && up.starting.is_none() {
                let current = self.state.current.clone();
                self.start_child(current, Why::Restart);
            }
        }
    }

    /// A stop began while a child started, before its hello: it winds down
    /// with the others, but one that never answers (stuck in code before
    /// `run`, not a littleboss program) is killed at its hello deadline as
    /// it would be while up, not kept the whole lameduck timeout.
    fn silent_at_stop(&mut self) {
        let now = self.now;
        let Phase::Stopping(Stopping {
            starting: Some(starting),
            ..
        }) = &mut self.state.phase
        else {
            return;
        };
        if starting.hello_by.is_none_or(|at| at > now) {
            return;
        }
        starting.hello_by = None;
        let id = starting.id;
        // Not one killed already (at a lameduck timeout shorter than the
        // hello's, a second stop signal): its silence is not why.
        let Some(child) = self.state.children.get(&id).filter(|c| !c.killed) else {
            return;
        };
        let reason = self.silence(child);
        self.fail_at_stop(reason, true);
    }

    /// Why `child` fails its start, silent at its hello deadline: its
    /// spawn has not returned, or it has said nothing. The file run is
    /// named: a rollback's is the old child's, which its path (a link a
    /// deploy moved) may no longer name.
    fn silence(&self, child: &Child) -> String {
        let path = child.launch.target.file().display();
        let timeout = self.hello_timeout();
        match child.pid {
            None => format!(
                "was not started within {timeout:?}: its exec had not returned (is {path} on a file system that hangs?); it is killed once it runs"
            ),
            Some(_) => format!(
                "did not answer on the child channel within {timeout:?}: is {path} a littleboss program?"
            ),
        }
    }

    /// The child starting as a stop began failed its start, for `reason`
    /// (unless it had failed already: counted once); killed if `kill`.
    fn fail_at_stop(&mut self, reason: String, kill: bool) {
        let Phase::Stopping(Stopping {
            starting: Some(starting),
            ..
        }) = &mut self.state.phase
        else {
            return;
        };
        let id = starting.id;
        let Some(child) = self.state.children.get(&id) else {
            return;
        };
        if starting.error.is_none() {
            let message = failed_start(child, &reason);
            starting.error = Some(reason);
            self.failed(message, None);
        }
        if kill {
            self.kill(id);
        }
    }

    /// Child `id`, adopted again after an upgrade in place, is watched by
    /// pid, not pidfd (see [`Child::by_pidfd`]). A fact the driver finds
    /// as it takes the state over, before any event: nothing to do but
    /// note it.
    pub fn watched_by_pid(&mut self, id: ChildId) {
        if let Some(child) = self.state.children.get_mut(&id) {
            child.by_pidfd = false;
        }
    }

    /// An [`Event::Spawned`].
    fn on_spawned(&mut self, spawned: Event) {
        let Event::Spawned {
            id,
            pid,
            binary,
            resolved,
            path_replaced,
            by_pidfd,
            started_unix,
        } = spawned
        else {
            return;
        };
        let Some(child) = self.state.children.get_mut(&id) else {
            return;
        };
        child.pid = Some(pid);
        child.binary = binary;
        child.by_pidfd = by_pidfd;
        child.started_unix = started_unix;
        // Run from the file held open, which its path no longer names (a
        // deploy replaced, moved or deleted it): say so wherever the path
        // is shown, lest it read as the new file's.
        child.path_replaced = path_replaced;
        child.resolved = resolved;
        let path = child.launch.target.file().display().to_string();
        let held = if child.path_replaced {
            crate::control::status::HELD_FILE
        } else {
            ""
        };
        say!(self, "started child pid {pid} from {path}{held}");
        // Told to wind down, or killed, while its spawn was under way (a
        // stop, its start's deadline): told now. Nothing more is said of
        // it starting: its start is over.
        let now = self.now;
        // Its hello is due a whole hello timeout from its spawn (its exec
        // may have taken most of the one counted from the order), during
        // a stop too.
        let hello_by = now + self.hello_timeout();
        let child = self.state.children.get_mut(&id).expect("looked up above");
        if child.killed {
            child.reap_by = Some(now + KILLED_EXIT_WAIT);
            self.effects.push(Effect::Kill { id });
            return;
        }
        if child.lameducked {
            let refuse = child.refusing;
            self.effects.push(Effect::Lameduck { id, refuse });
            if let Phase::Stopping(Stopping {
                starting: Some(starting),
                ..
            }) = &mut self.state.phase
                && starting.id == id
                && starting.hello_by.is_some()
            {
                starting.hello_by = Some(hello_by);
            }
            return;
        }
        if let Some(starting) = (self.up().and_then(|up| up.starting.as_mut()))
            .filter(|s| s.id == id && s.ready_by.is_none() && s.error.is_none())
        {
            starting.hello_by = Some(hello_by);
        }
        // The reloads queued wait for this child now (the queue moved, or
        // they were told of a reload still binding): said, which also gives
        // each client its patience afresh (it waits so long for each answer
        // line, not for the whole queue ahead of it).
        if self
            .up()
            .is_some_and(|up| up.starting.as_ref().is_some_and(|s| s.id == id))
        {
            self.tell_queued_they_wait(pid);
        }
        // A restart or a rollback, with nothing serving: what starts.
        if self.up().is_some_and(|up| up.serving.is_none()) {
            self.notify_status();
        }
        if let Some(Starting {
            id: starting,
            why: Why::Reload { client },
            notes,
            ..
        }) = self.up().and_then(|up| up.starting.clone())
            && starting == id
        {
            let mut changes = notes;
            changes.extend(listeners::changes(
                &self.state.held,
                &self.state.current.listeners,
                &self.state.children[&id].launch.listeners,
            ));
            for change in &changes {
                say!(self, "child pid {pid}: {change}");
            }
            if let Some(client) = client {
                self.reply(client, Response::Reloading { pid, changes });
            }
        }
    }

    fn on_spawn_failed(&mut self, id: ChildId, error: String) {
        let Some(child) = self.state.children.remove(&id) else {
            return;
        };
        let path = child.launch.target.file().display();
        let message = format!("cannot start {path}: {error}");
        if let Phase::Stopping(stopping) = &mut self.state.phase {
            // The child starting (whose exit was to give the code, if
            // none serves) never ran: a failed start, 1, as while up;
            // counted once (its hello deadline may have failed it, its
            // exec hung, before the exec failed).
            let first_failure =
                (stopping.starting.as_ref()).is_some_and(|s| s.id == id && s.error.is_none());
            if stopping.decides() == Some(id) {
                stopping.code = 1;
            }
            match first_failure {
                true => self.failed(message, None),
                false => say!(self, "{message}"),
            }
            return;
        }
        let Some(up) = self.up() else { return };
        match up.starting.take_if(|s| s.id == id) {
            Some(starting) => self.starting_failed(starting, message, 1, None),
            // Given up on already, and its failure said then; its exec
            // has returned at last, failed.
            None => say!(self, "{message}"),
        }
    }

    fn on_message(&mut self, id: ChildId, message: FromChild) {
        let now = self.now;
        let name = self.state.settings.name.clone();
        if self.heard_at_stop(id, &message) {
            return;
        }
        let Some(starting) = self
            .up()
            .and_then(|up| up.starting.as_mut())
            .filter(|s| s.id == id)
        else {
            return; // Messages from a serving or winding-down child change nothing.
        };
        match message {
            FromChild::Hello {
                name: theirs,
                lameduck_ms,
                ready_timeout_ms,
                takes_over,
                reads_queued,
                reads_alone,
            } => {
                if starting.error.is_some() {
                    // Failed already: killed, or (an error it sent before
                    // its hello) to be killed at the hello deadline, kept.
                    return;
                }
                if starting.ready_by.is_some() {
                    // A second hello: the first one's ready deadline
                    // stands, or a child could put it off for ever.
                    return;
                }
                starting.hello_by = None;
                if theirs != name {
                    self.fail_starting(format!(
                        "is a littleboss program for service `{theirs}`, not `{name}`"
                    ));
                    return;
                }
                starting.ready_timeout = Duration::from_millis(ready_timeout_ms);
                starting.ready_by = Some(now + starting.ready_timeout);
                if let Some(child) = self.state.children.get_mut(&id) {
                    child.lameduck_timeout = Duration::from_millis(lameduck_ms);
                    child.takes_over = takes_over;
                    child.reads_queued = reads_queued;
                    child.reads_alone = reads_alone;
                }
                // The child it started beside may have ended already.
                self.tell_alone();
                // Its own `ready_timeout` is known now, which may be longer
                // than the supervisor's that the reloads queued behind it
                // were told: told again.
                self.tell_queued_they_wait(self.pid(id));
            }
            FromChild::Error { error } => {
                starting.error.get_or_insert(error);
                // After its hello: it exits now, by itself, or is killed
                // soon (its ready deadline may be minutes away). Before
                // it, the hello deadline (at most 10 s) does as much.
                if let Some(ready_by) = &mut starting.ready_by {
                    *ready_by = (*ready_by).min(now + ERROR_EXIT_WAIT);
                }
            }
            // Ready before its hello: its service name, lameduck and
            // upgrade support are unknown; not a child to promote.
            FromChild::Ready if starting.error.is_none() && starting.ready_by.is_none() => {
                self.fail_starting("said it was ready before its hello".to_owned());
            }
            FromChild::Ready if starting.error.is_none() => self.promote(),
            FromChild::Ready | FromChild::Finished { .. } => {}
        }
    }

    /// A message from the child that was starting as a stop began (true:
    /// taken). It winds down, and is judged as while up: its hello lifts
    /// its hello deadline (its lameduck timeout, told already, stands); a
    /// hello as another service's, or a ready before its hello, fails its
    /// start and kills it; an error fails its start, and it is killed if
    /// it does not exit by the deadline (its hello's, or, said after its
    /// hello, [`ERROR_EXIT_WAIT`] from then).
    fn heard_at_stop(&mut self, id: ChildId, message: &FromChild) -> bool {
        let Phase::Stopping(Stopping {
            starting: Some(starting),
            ..
        }) = &mut self.state.phase
        else {
            return false;
        };
        if starting.id != id || starting.error.is_some() {
            return true;
        }
        // After its hello: only an error counts, and has it killed soon
        // (its lameduck timeout may be minutes away), as while up.
        if starting.hello_by.is_none() {
            if let FromChild::Error { error } = message {
                let kill_by = self.now + ERROR_EXIT_WAIT;
                self.fail_at_stop(error.clone(), false);
                self.kill_no_later_than(id, kill_by);
            }
            return true;
        }
        let name = &self.state.settings.name;
        match message {
            FromChild::Hello { name: theirs, .. } if theirs == name => starting.hello_by = None,
            FromChild::Hello { name: theirs, .. } => {
                let reason =
                    format!("is a littleboss program for service `{theirs}`, not `{name}`");
                starting.hello_by = None;
                self.fail_at_stop(reason, true);
            }
            FromChild::Ready => {
                starting.hello_by = None;
                self.fail_at_stop("said it was ready before its hello".to_owned(), true);
            }
            FromChild::Error { error } => self.fail_at_stop(error.clone(), false),
            FromChild::Finished { .. } => {}
        }
        true
    }

    /// The starting child is ready: it takes over, and the one it replaces
    /// is told to wind down.
    fn promote(&mut self) {
        let now = self.now;
        let fallback = self.state.settings.fallback;
        let Some(up) = self.up() else { return };
        let Some(starting) = up.starting.take() else {
            return;
        };
        // A rollback put off while this child started: its binary is now
        // the one to come back to should this child fail its probation.
        let put_off = up.fallback_to.take();
        up.probation = None;
        let old = up.serving.replace(starting.id);
        // The service was healthy under the child this one replaces: the
        // backoff of crashes long past starts over, as if it had exited.
        if let Some(old) = old.and_then(|old| self.state.children.get(&old))
            && served_healthy(old, now)
        {
            self.state.restart_delay = RESTART_FIRST;
        }
        if let Some(new) = self.state.children.get_mut(&starting.id) {
            new.serving_since = Some(now);
        }
        let new = &self.state.children[&starting.id];
        let (pid, launch) = (new.pid.unwrap_or(0), new.launch.clone());
        let old_pid = old.map(|old| self.pid(old));
        // A rollback runs the very file the old child ran, wherever its
        // launch's path (a symlink, say) points by then, and even if a
        // deploy replaced or deleted it: the driver holds it open.
        let old_launch = old.map(|id| self.state.children[&id].launch_again(id));
        self.state.current = launch;
        self.forget_files_bound_again(starting.id);
        // The given-up sockets' queues go to the old child before its
        // order to drain: what it is handed then counts for its grace.
        self.let_go_of_given_up(old);
        if let Some(old) = old {
            self.lameduck(old);
        }
        match starting.why {
            Why::Reload { client } => {
                self.state.reloads += 1;
                match old_pid {
                    Some(old) => {
                        say!(
                            self,
                            "reload: child pid {pid} is serving; pid {old} is winding down"
                        )
                    }
                    None => say!(self, "reload: child pid {pid} is serving"),
                }
                if let Some(client) = client {
                    self.reply(
                        client,
                        Response::Reloaded {
                            pid,
                            old_pid,
                            // Told should an upgrade holding it back fail.
                            supervisor_not_upgraded: None,
                        },
                    );
                }
                // Without a live child to go back to, the one that died
                // while this started, unless it ran this very binary (a
                // SIGHUP's reload): coming back to it would run the same.
                // Told only by identity: names mislead both ways (a
                // symlink, a file replaced in place). Unknown, it is taken
                // for another binary: a wrong revival reruns the same file,
                // a wrong "same" would restart the failing one.
                let new_binary = self.state.children[&starting.id].binary;
                let same = |binary: &Option<FileId>| binary.is_some() && *binary == new_binary;
                let revived = starting.replaced_died.filter(|(_, binary)| !same(binary));
                let (previous, revives) = match old_launch.or(put_off) {
                    Some(previous) => (Some((previous, None)), false),
                    None => (revived, true),
                };
                if let (true, Some((previous, previous_binary)), Some(up)) =
                    (fallback, previous, self.up())
                {
                    up.probation = Some(Probation {
                        id: starting.id,
                        until: now + PROBATION,
                        previous,
                        revives,
                        previous_binary,
                    });
                }
            }
            Why::First | Why::Restart => {
                say!(self, "child pid {pid} is ready");
                // Started in place of a child lost on its probation
                // (`on_child_lost`): on that probation in its place, from
                // now.
                if let (true, Some(lost), Some(up)) = (fallback, starting.lost_probation, self.up())
                {
                    up.probation = Some(Probation {
                        id: starting.id,
                        until: now + PROBATION,
                        ..lost
                    });
                }
            }
            Why::Fallback => say!(
                self,
                "child pid {pid} from the previous binary is serving again"
            ),
        }
        self.notify(Notice::Ready);
        self.notify_status();
    }

    /// Says the `STATUS=` line the step owes, once: the exit's own words,
    /// or the summary as it stands at the step's end (lines made within
    /// it were true only for a moment: a crash said "no child serving,
    /// failures 0" before its restart was planned and counted).
    /// A summary whose facts changed is owed too, whether or not the
    /// step said so: a restart that began, a failure counted as a stop
    /// went on.
    fn say_status(&mut self) {
        let facts = self.status_facts();
        match std::mem::take(&mut self.status) {
            StatusDue::None if facts == self.said => {}
            StatusDue::Words(words) => self.notify(Notice::Status(words)),
            StatusDue::None | StatusDue::Summary => {
                if let Some(line) = self.status_line() {
                    self.notify(Notice::Status(line));
                }
            }
        }
        self.said = facts;
    }

    /// What `STATUS=` says changed: said at the step's end, unless the
    /// exit's own words are.
    fn notify_status(&mut self) {
        if matches!(self.status, StatusDue::None) {
            self.status = StatusDue::Summary;
        }
    }

    /// A one-line summary for `systemctl status`; none once exited.
    fn status_line(&self) -> Option<String> {
        self.status_line_at(self.now)
    }

    /// What the summary tells, but for the time left to a restart, which
    /// moves with the clock: the summary as at time zero, which tells
    /// when the restart is due.
    fn status_facts(&self) -> Option<String> {
        self.status_line_at(Duration::ZERO)
    }

    /// [`Machine::status_line`] as at `now`.
    fn status_line_at(&self, now: Duration) -> Option<String> {
        let (reloads, failures) = (self.state.reloads, self.state.failures);
        let counts = format!("reloads {reloads}, failures {failures}");
        let up = match &self.state.phase {
            Phase::Up(up) => up,
            Phase::Stopping(_) => return Some(format!("stopping, {counts}")),
            Phase::Exited { .. } => return None,
        };
        let starting = up.starting.as_ref().map(|s| (s.id, s.why));
        let line = match (up.serving, starting, up.restart_at) {
            (Some(id), ..) => format!("child pid {}, {counts}", self.pid(id)),
            (None, Some((id, why)), _) => match self.state.children.get(&id).and_then(|c| c.pid) {
                Some(pid) => format!(
                    "no child serving, child pid {pid} starting ({}), {counts}",
                    why.as_str()
                ),
                // Not spawned yet (binding, or within this step).
                None => format!(
                    "no child serving, a child starting ({}), {counts}",
                    why.as_str()
                ),
            },
            (None, None, Some(at)) => {
                let delay = at.saturating_sub(now);
                format!("no child serving, restarting in {delay:.0?}, {counts}")
            }
            (None, None, None) => format!("no child serving, {counts}"),
        };
        Some(line)
    }

    fn on_exit(&mut self, id: ChildId, exit: ChildExit) {
        let Some(child) = self.state.children.remove(&id) else {
            return;
        };
        let now = self.now;
        let pid = child.pid.unwrap_or(0);
        let up = match &mut self.state.phase {
            Phase::Up(up) => up,
            Phase::Stopping(stopping) => {
                if stopping.decides() == Some(id) {
                    stopping.code = code_of(id, &child, exit, stopping.starting.as_ref());
                }
                let was_serving = stopping.serving == Some(id);
                let ended = format!("child pid {pid} {exit}");
                say!(self, "{ended}");
                if was_serving {
                    self.state.last_exit = Some(ended);
                    self.serving_gone_at_stop();
                }
                return;
            }
            Phase::Exited { .. } => return,
        };
        let code = code_of(id, &child, exit, up.starting.as_ref());
        if let Some(starting) = up.starting.take_if(|s| s.id == id) {
            // Not told why: its own words, if any, went where the
            // supervisor's stderr goes, which the reload's caller and
            // `status` are told (the log is there already).
            let note = (self.state.settings.stderr.as_ref())
                .filter(|_| starting.error.is_none())
                .map(|to| format!(" (its stderr is the supervisor's: {to})"));
            let reason =
                (starting.error.clone()).unwrap_or_else(|| format!("{exit} before it was ready"));
            let message = failed_start(&child, &reason);
            self.starting_failed(starting, message, code, note);
        } else if up.serving == Some(id) {
            up.serving = None;
            // A reload under way was to replace it: should that reload's
            // child die in its probation, this is what to come back to, its
            // very file (held open, as for a rollback to a live child).
            if let Some(starting) = up.starting.as_mut() {
                starting.replaced_died = Some((child.launch_again(id), child.binary));
            }
            self.tell_alone();
            self.state.last_code = code;
            let ended = format!("child pid {pid} {exit}");
            say!(self, "{ended}");
            self.state.last_exit = Some(ended);
            // Not the dead child's pid meanwhile (a reload under way, a
            // rollback, a restart: each says more once it has a pid).
            self.notify_status();
            let persist = self.state.settings.persist;
            let Some(up) = self.up() else { return };
            let rollback = up.probation.take().filter(|p| p.id == id && now < p.until);
            // Back to a child that died on its own is a restart: only with
            // persist, and through its backoff and limit (below).
            let rollback = rollback.filter(|p| !p.revives || persist);
            if let Some(probation) = rollback.filter(|_| self.state.settings.fallback) {
                if probation.revives {
                    self.state.failures += 1;
                    let failed = child.launch.target.path.display();
                    let previous = probation.previous.target.file().display().to_string();
                    // A reload under way (queued behind this one) decides
                    // first; should its child fail its probation too, the
                    // binary to come back to is still this one.
                    // It is the service's launch again meanwhile: what a
                    // restart runs should that reload's child fail to start.
                    self.state.current = probation.previous.clone();
                    let under_way = self.up().and_then(|up| up.starting.as_mut());
                    if let Some(starting) = under_way {
                        starting.replaced_died =
                            Some((probation.previous, probation.previous_binary));
                        let message = format!(
                            "reload to {failed} failed: its child pid {pid} {exit} within its probation; the reload under way decides, and should it fail too, {previous} restarts"
                        );
                        say!(self, "{message}");
                        self.state.last_failure = Some(message);
                        return;
                    }
                    let message = format!(
                        "reload to {failed} rolled back: its child pid {pid} {exit} within its probation; restarting {previous}"
                    );
                    say!(self, "{message}");
                    self.state.last_failure = Some(message);
                    return self.no_child(code);
                }
                self.state.failures += 1;
                let served = now.saturating_sub(child.started);
                let message = format!(
                    "reload to {} rolled back: its child pid {pid} {exit} {served:.1?} after it started; restarting {}",
                    child.launch.target.path.display(),
                    probation.previous.target.file().display()
                );
                say!(self, "{message}");
                self.state.last_failure = Some(message);
                // The previous binary is the service's again, from now on:
                // what a restart runs should the rollback fail, what a
                // SIGHUP queued meanwhile reloads, what `status` shows.
                self.state.current = probation.previous.clone();
                let Some(up) = self.up() else { return };
                if let Some(starting) = up.starting.as_mut() {
                    // Another reload is under way: its outcome decides, and
                    // if it fails too the previous binary comes back, not
                    // the one that just failed (set above, for a death out
                    // of probation): its listeners and file go now.
                    starting.replaced_died = None;
                    up.fallback_to = Some(probation.previous);
                } else {
                    self.start_child(probation.previous, Why::Fallback);
                }
                return;
            }
            if code != 0 {
                self.state.failures += 1;
                self.state.last_failure = Some(format!("child pid {pid} {exit}"));
            }
            if served_healthy(&child, now) {
                self.state.restart_delay = RESTART_FIRST;
            }
            self.no_child(code);
        } else {
            say!(self, "old child pid {pid} {exit}");
        }
    }

    /// Reloads as `spec` asks, or (`None`, as SIGHUP asks) to whatever
    /// serves when this reload's turn comes.
    fn reload(&mut self, spec: Option<ReloadSpec>, client: Option<ClientId>) {
        let starting = match &self.state.phase {
            Phase::Up(up) => up.starting.as_ref().map(|s| s.id),
            _ => return self.refuse(client, Response::refused(STOPPING)),
        };
        if let Some(starting) = starting {
            // Wait for the child starting now: its outcome decides what the
            // reload replaces.
            let pid = self.pid(starting);
            let what = Queued::target(spec.as_ref());
            say!(
                self,
                "reload of {what} waits for {} to finish starting",
                crate::control::protocol::starting_child(pid)
            );
            if let Some(client) = client {
                let within_ms = self.starting_bound_ms();
                self.reply(client, Response::Waiting { pid, within_ms });
            }
            if let Some(up) = self.up() {
                // A SIGHUP behind another that waits already is the same
                // reload: that one reads the path afresh when it runs.
                let queued = Queued { spec, client };
                if queued.is_sighup() && up.queued.back().is_some_and(Queued::is_sighup) {
                    return;
                }
                up.queued.push_back(queued);
            }
            return;
        }
        let elsewhere = spec.as_ref().and_then(|s| self.elsewhere(s));
        // Known to run in the supervisor's folder, not merely not known to
        // run elsewhere (an older client sends no folder).
        let home_id = self.state.settings.working_dir_id;
        let caller_home =
            home_id.is_some() && spec.as_ref().is_some_and(|s| s.caller_dir_id == home_id);
        let gave_args = spec
            .as_ref()
            .is_some_and(|s| s.args.as_ref().is_some_and(|a| !a.is_empty()));
        let mut given = std::collections::BTreeSet::new();
        let mut launch = match spec.map(|spec| self.resolve(spec, &mut given)) {
            // The serving launch's path, read afresh (after a rollback
            // too: a symlink it names may have moved on since).
            None => Launch {
                target: Target {
                    file: None,
                    binary_of: None,
                    ..self.state.current.target.clone()
                },
                ..self.state.current.clone()
            },
            Some(Ok(launch)) => launch,
            Some(Err(error)) => return self.refuse(client, Response::error(error.to_string())),
        };
        if !launch.target.path.is_absolute() {
            let path = launch.target.path.display();
            let error = format!("the binary path {path} is not absolute");
            return self.refuse(client, Response::error(error));
        }
        let asked = launch.listeners.clone();
        listeners::as_held(&self.state.held, &mut launch.listeners);
        let current = &self.state.current.listeners;
        listeners::activated_kept(&self.state.held, current, &mut launch.listeners, &given);
        if let Some(home) = &self.state.settings.working_dir {
            let held = &self.state.held;
            listeners::unix_as_held(held, &mut launch.listeners, home, caller_home, &given);
        }
        // A relative path is the supervisor's folder's, where it binds
        // it, but one a caller known to be elsewhere gave, which
        // `bound_where_meant` refuses in words of its own.
        let nothing = std::collections::BTreeSet::new();
        let home = (self.state.settings.working_dir.as_deref()).map(|folder| listeners::Home {
            folder,
            given_elsewhere: if elsewhere.is_some() {
                &given
            } else {
                &nothing
            },
        });
        let planned = listeners::plan(
            &self.state.held,
            &self.state.current.listeners,
            &asked,
            &launch.listeners,
            home,
        )
        .and_then(|orders| listeners::bound_where_meant(&orders, &given, elsewhere.as_ref()));
        if let Err(error) = planned {
            return self.refuse(client, Response::error(error));
        }
        let mut notes = listeners::activated_given_elsewhere(
            &self.state.held,
            &asked,
            &launch.listeners,
            &given,
            self.state.settings.working_dir.as_deref(),
        );
        notes.extend(
            elsewhere
                .as_ref()
                .filter(|_| gave_args)
                .map(listeners::folder_note),
        );
        // Refused, its start may have begun the next queued instead.
        let id = self.start_child(launch, Why::Reload { client });
        let starting = self.up().and_then(|up| up.starting.as_mut());
        if let Some(starting) = starting.filter(|s| Some(s.id) == id) {
            starting.notes.extend(notes);
        }
    }

    /// The caller's folder and the supervisor's, when both are known and
    /// differ (by identity: one path may name two folders, and two paths
    /// one).
    fn elsewhere(&self, spec: &ReloadSpec) -> Option<listeners::Folders> {
        let settings = &self.state.settings;
        let (caller, home) = (spec.caller_dir_id?, settings.working_dir_id?);
        // A folder whose path could not be read (removed), or was too
        // long to carry, is named so.
        let unknown = || std::path::PathBuf::from("(a folder whose path is unknown)");
        (caller != home).then(|| listeners::Folders {
            caller: spec.caller_dir.clone().unwrap_or_else(unknown),
            home: settings.working_dir.clone().unwrap_or_else(unknown),
        })
    }

    /// What a reload starts: its binary, with its arguments or the serving
    /// child's, and the listeners it declares with those arguments applied.
    /// Adds to `given` each listener whose flag the reload's own arguments
    /// give (a declared default, or the serving child's arguments, are not
    /// the caller's words).
    fn resolve(
        &self,
        spec: ReloadSpec,
        given: &mut std::collections::BTreeSet<String>,
    ) -> Result<Launch, crate::flags::FlagError> {
        let current = &self.state.current;
        let gave_args = spec.args.is_some();
        let mut args = spec.args.unwrap_or_else(|| current.args.clone());
        let listeners = match spec.declared {
            None if !gave_args => current.listeners.clone(),
            // Arguments without the new binary's listeners (a request
            // written by hand): the serving child's, at their addresses,
            // with the listener flags among the arguments applied, not
            // handed to the program with no socket behind them.
            None => {
                let serving: Vec<crate::spec::ListenerSpec> = (current.listeners.iter())
                    .map(|l| crate::spec::ListenerSpec {
                        name: l.name.clone(),
                        network: l.network,
                        address: l.key.as_ref().map(|k| k.bind_address().to_owned()),
                    })
                    .collect();
                let (resolved, flags) = crate::flags::resolve_listeners(&serving, &args)?;
                // One not given keeps its very socket (a port-0 one bound
                // for another listener is keyed by that one's name).
                let listeners = (resolved.iter())
                    .map(|spec| {
                        let now = current.listeners.iter().find(|l| l.name == spec.name);
                        match now.filter(|_| !flags.contains(&spec.name)) {
                            Some(now) => now.clone(),
                            None => Assigned::of(spec),
                        }
                    })
                    .collect();
                given.extend(flags);
                listeners
            }
            Some(declared) => {
                if !gave_args {
                    // The serving child's flags of listeners the new binary
                    // does not declare: its program would take them for its
                    // own.
                    let gone = (current.listeners.iter())
                        .map(|l| l.name.as_str())
                        .filter(|name| declared.iter().all(|d| d.name != *name))
                        .collect();
                    args = crate::flags::without_listener_flags(&args, &gone);
                }
                if !gave_args
                    && let Some(error) =
                        listeners::kept_for_another_network(&current.listeners, &declared, &args)
                {
                    return Err(error);
                }
                let (resolved, flags) = crate::flags::resolve_listeners(&declared, &args)
                    .map_err(|e| if gave_args { e } else { e.kept() })?;
                if gave_args {
                    given.extend(flags);
                }
                resolved.iter().map(Assigned::of).collect()
            }
        };
        Ok(Launch {
            target: spec.target,
            args,
            listeners,
        })
    }

    /// Turns a reload away before anything is done for it, answering
    /// `response` (an error).
    fn refuse(&mut self, client: Option<ClientId>, response: Response) {
        if let Response::Error { error, .. } = &response {
            say!(self, "reload refused: {error}");
        }
        match client {
            Some(client) => self.reply(client, response),
            // A SIGHUP, maybe systemd's reload under `Type=notify-reload`,
            // which waits for RELOADING=1 (stamped after its signal) and
            // then READY=1 (its reload timeout, 90 s by default,
            // otherwise): the reload began and is over, the serving child
            // untouched. With nothing serving (a restart due), only begun:
            // the next child's READY=1, or STOPPING=1, ends it. Not while
            // stopping (no READY after STOPPING).
            None => {
                let Some(up) = self.up() else { return };
                let serving = up.serving.is_some();
                self.notify_reloading(true);
                if serving {
                    self.notify(Notice::Ready);
                }
            }
        }
    }

    /// A reload still queued whose client has gone is dropped: a deploy
    /// tool's timed-out tries must not each run later, one after another.
    /// One under way goes on (its child has started), as does a stop; a
    /// stop's client gone is waited for no more (a script retrying `stop`
    /// on its own timeout, under a lameduck of hours, would otherwise
    /// leave one more waiter, and its connection, at every try).
    fn on_client_gone(&mut self, client: ClientId) {
        if let Phase::Stopping(stopping) = &mut self.state.phase {
            let before = stopping.waiters.len();
            stopping.waiters.retain(|&waiter| waiter != client);
            if stopping.waiters.len() < before {
                // Its one final answer, which no one reads.
                self.reply(
                    client,
                    Response::error("its client went away before the stop ended"),
                );
            }
            return;
        }
        let Some(up) = self.up() else {
            return;
        };
        let Some(at) = up.queued.iter().position(|q| q.client == Some(client)) else {
            return;
        };
        let Some(Queued { spec, .. }) = up.queued.remove(at) else {
            return;
        };
        // Two SIGHUPs it stood between are one reload, as if queued so.
        let sighup = |q: Option<&Queued>| q.is_some_and(Queued::is_sighup);
        if at > 0 && sighup(up.queued.get(at - 1)) && sighup(up.queued.get(at)) {
            up.queued.remove(at);
        }
        let what = Queued::target(spec.as_ref());
        say!(
            self,
            "dropped the queued reload of {what}: its client went away"
        );
        // Its one final answer, which no one reads.
        self.reply(
            client,
            Response::error("its client went away before its turn"),
        );
    }

    /// A queued reload runs once nothing starts (one that fails at once
    /// leaves nothing starting: the next goes straight away).
    fn take_queued(&mut self) {
        while let Some(up) = self.up()
            && up.starting.is_none()
            && let Some(Queued { spec, client }) = up.queued.pop_front()
        {
            self.reload(spec, client);
        }
    }

    /// Tells each reload queued that it waits for child `pid`, the one
    /// starting, and how long that may take at most.
    fn tell_queued_they_wait(&mut self, pid: u32) {
        let within_ms = self.starting_bound_ms();
        let waiting: Vec<ClientId> = (self.up().into_iter())
            .flat_map(|up| up.queued.iter().filter_map(|q| q.client))
            .collect();
        for client in waiting {
            self.reply(client, Response::Waiting { pid, within_ms });
        }
    }

    /// How long the child starting may take at most to be ready or
    /// failed, by its deadlines (its bind's, its hello's, then its own
    /// `ready_timeout`): what a reload queued behind it waits.
    fn starting_bound_ms(&self) -> Option<u64> {
        let Phase::Up(up) = &self.state.phase else {
            return None;
        };
        let starting = up.starting.as_ref()?;
        let now = self.now;
        let left = match (starting.ready_by, starting.hello_by) {
            (Some(ready_by), _) => ready_by.saturating_sub(now),
            (None, Some(hello_by)) if starting.binding => {
                hello_by.saturating_sub(now) + self.hello_timeout() + starting.ready_timeout
            }
            (None, Some(hello_by)) => hello_by.saturating_sub(now) + starting.ready_timeout,
            // Failed and killed: its exit, or its being given up on.
            (None, None) if starting.error.is_some() => {
                let killed = self.state.children.get(&starting.id);
                let reap_by = killed.and_then(|c| c.reap_by);
                reap_by.map_or(KILLED_EXIT_WAIT, |at| at.saturating_sub(now))
            }
            (None, None) => self.hello_timeout() + starting.ready_timeout,
        };
        Some(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
    }

    /// How long, at most, until every child is gone once a stop has told
    /// them all to wind down: a child told already is killed at its
    /// `kill_at`, one told now a lameduck timeout from now; `after_kill`
    /// added for the wait for such a kill's death (a child killed already
    /// counts what is left of its own).
    fn stop_bound(&self, after_kill: Duration) -> Option<Duration> {
        let left = |child: &Child| match child.kill_at {
            // Its death of the kill, or its being given up on.
            _ if child.killed => {
                (child.reap_by).map_or(Duration::ZERO, |at| at.saturating_sub(self.now))
            }
            Some(at) => at.saturating_sub(self.now) + after_kill,
            None => child.lameduck_timeout + after_kill,
        };
        self.state.children.values().map(left).max()
    }

    /// [`Machine::stop_bound`] until the kills, in milliseconds: what a
    /// `stop` is answered.
    fn stop_bound_ms(&self) -> Option<u64> {
        let bound = self.stop_bound(Duration::ZERO)?;
        Some(u64::try_from(bound.as_millis()).unwrap_or(u64::MAX))
    }

    /// The longest a stop just begun may take: its children's drains (a
    /// child still starting counted by its lameduck), the wait for a
    /// killed one's exit, and [`STOP_EXIT_SLACK`] for the supervisor's
    /// own. Told to the service manager, whose `TimeoutStopSec=` was
    /// chosen for the lameduck of the binary the unit was written for: a
    /// reload to one with a longer lameduck would be killed mid-drain.
    /// `None` with no child.
    fn stop_extension(&self) -> Option<Duration> {
        let bound = self.stop_bound(KILLED_EXIT_WAIT)?;
        Some(bound.saturating_add(STOP_EXIT_SLACK))
    }

    fn begin_stop(&mut self, client: Option<ClientId>) {
        let up = match &mut self.state.phase {
            Phase::Up(up) => std::mem::take(up),
            Phase::Stopping(stopping) => {
                // Not a child reaped meanwhile: it winds down no more.
                let live = |id| self.state.children.get(&id).and_then(|c| c.pid);
                let pid = stopping.decides().and_then(live);
                let within_ms = self.stop_bound_ms();
                if let (Some(client), Phase::Stopping(stopping)) = (client, &mut self.state.phase) {
                    stopping.waiters.push(client);
                    self.reply(client, Response::Stopping { pid, within_ms });
                }
                return;
            }
            Phase::Exited { .. } => return,
        };
        // Stopping from here on, the children to wait for filled in below:
        // the sockets shut on the way are kept in it, for `status`.
        self.state.phase = Phase::Stopping(Stopping {
            waiters: client.into_iter().collect(),
            code: 0,
            serving: up.serving,
            starting: None,
            signalled_at: None,
            performed_at: None,
            shut: Default::default(),
        });
        // The child whose exit gives the code, as a repeated stop names it.
        let deciding = state::deciding(up.serving, up.starting.as_ref());
        let deciding_pid = deciding.and_then(|id| self.state.children.get(&id)?.pid);
        if let Some(client) = client {
            let response = Response::Stopping {
                pid: deciding_pid,
                within_ms: self.stop_bound_ms(),
            };
            self.reply(client, response);
        }
        // Put off, not failed: nothing was done for them.
        for queued in up.queued {
            if let Some(client) = queued.client {
                self.reply(client, Response::refused(STOPPING));
            }
        }
        // No child will take a connection after these, nor after the old
        // ones still draining.
        let refuse = self.refuse_at_stop(up.serving);
        // The serving child shuts the sockets it shares with the others
        // once it has taken their queues (its stash): another's shutting
        // first, in a process of its own, would reset those queues. So a
        // child draining or still starting refuses only when none serves.
        let others_refuse = refuse && up.serving.is_none();
        // What the serving child does not hold, it cannot shut: the new
        // sockets of a reload under way, an old child's on port 0 (kept
        // when the serving child took over; the others were shut then).
        if refuse && let Some(serving) = up.serving {
            let used: Vec<ListenerKey> = (self.state.children.get(&serving).into_iter())
                .flat_map(|c| c.launch.listeners.iter().filter_map(|a| a.key.clone()))
                .collect();
            self.shut_own_streams(|key| !used.contains(key));
        }
        let draining: Vec<ChildId> = (self.state.children.iter())
            .filter(|(_, c)| c.lameducked)
            .map(|(id, _)| *id)
            .collect();
        for id in draining {
            self.wind_down(id, others_refuse);
        }
        if let Some(id) = up.serving {
            self.wind_down(id, refuse);
        }
        self.notify(Notice::Stopping {
            within: self.stop_extension(),
        });
        // A child still starting winds down like a serving one; its reload
        // fails. One whose listeners are still being bound never started.
        let mut starting = up.starting;
        if let Some(binding) = starting.take_if(|s| s.binding) {
            self.state.children.remove(&binding.id);
            if let Why::Reload {
                client: Some(client),
            } = binding.why
            {
                self.reply(client, Response::refused(STOPPING));
            }
        }
        if let Some(starting) = &starting {
            self.wind_down(starting.id, others_refuse);
            // One that said it failed after its hello is killed when its
            // error said (soon), not at its whole lameduck timeout.
            if starting.error.is_some()
                && let Some(ready_by) = starting.ready_by
            {
                self.kill_no_later_than(starting.id, ready_by);
            }
            // One that failed already (killed, or to be): its reload failed
            // for that, not for the stop, and is said and counted so.
            let child = self.state.children.get(&starting.id);
            let failed = (starting.error.as_ref())
                .zip(child)
                .map(|(reason, child)| failed_start(child, reason));
            if let Some(message) = &failed {
                self.failed(message.clone(), None);
            }
            if let Why::Reload {
                client: Some(client),
            } = starting.why
            {
                let message = failed.as_deref().unwrap_or(STOPPING);
                self.reply(client, Response::error(message));
            }
        }
        let last_code = self.state.last_code;
        if let Phase::Stopping(stopping) = &mut self.state.phase {
            stopping.starting = starting;
            if stopping.decides().is_none() {
                stopping.code = last_code;
            }
        }
        self.notify_status();
    }

    /// Exits once stopping and every child is reaped.
    fn finish_if_done(&mut self) {
        let Phase::Stopping(stopping) = &self.state.phase else {
            return;
        };
        // Not for one killed whose spawn has not returned, maybe never:
        // should it run after the exit, it finds its channel closed, and
        // exits. Nor for one not dead of its kill (stuck in the kernel):
        // it may die after the exit, reaped by no one but init.
        if self.state.children.values().any(|c| !c.given_up()) {
            return;
        }
        let Stopping {
            waiters,
            code,
            shut,
            ..
        } = stopping.clone();
        // The child whose exit was to give the code, given up on before
        // its spawn returned, never ran: a failed start.
        let never_ran = (stopping.decides())
            .and_then(|id| self.state.children.get(&id))
            .is_some_and(Child::spawn_given_up);
        let code = if never_ran { 1 } else { code };
        for client in waiters {
            self.reply(client, Response::Stopped { exit_code: code });
        }
        say!(self, "supervisor exiting with code {code}");
        // Now: the driver stops at the exit, and nothing after it is said.
        self.say_status();
        self.state.phase = Phase::Exited { code, shut };
        self.effects.push(Effect::Exit { code });
    }

    /// Starts a child as `launch` says: binds the listeners it needs that
    /// are not held yet first (all or none), then spawns it.
    fn start_child(&mut self, launch: Launch, why: Why) -> Option<ChildId> {
        // Before anything can fail: a failed reload's READY=1 while the
        // old child serves on (see `start_failed`), or else the next
        // child's, ends the reload this begins for systemd.
        if let Why::Reload { client } = why {
            self.notify_reloading(client.is_none());
        }
        // Each start given up on whose exec never returns keeps a thread
        // (a file system that hangs): so many, and no more are begun. A
        // child the supervisor started on its own and not dead of its
        // kill keeps a process: so many, and no more starts of its own (a
        // binary whose every child hangs so would restart child after
        // child); those of reloads asked for count against nothing, nor
        // do they keep a reload from starting.
        // A SIGHUP's reload with nothing serving takes a restart's place
        // (a reload hook calling it every so often would otherwise start
        // child after child).
        let serving = self.up().is_some_and(|up| up.serving.is_some());
        let by_reload = match why {
            Why::Reload { client: None } => serving,
            Why::Reload { client: Some(_) } => true,
            Why::First | Why::Restart | Why::Fallback => false,
        };
        let counted =
            |c: &&Child| c.spawn_given_up() || (c.given_up() && !c.by_reload && !by_reload);
        let given_up = self.state.children.values().filter(counted).count();
        if given_up >= MAX_SPAWNS_GIVEN_UP {
            let message = format!(
                "not starting {}: {given_up} children given up on (their execs not returned, or not dead of SIGKILL) are still there (a file system that hangs?); no child starts until one has gone",
                launch.target.file().display()
            );
            self.start_failed(why, message, 1, None);
            return None;
        }
        let now = self.now;
        let hello_by = now + self.hello_timeout();
        let bind_by = now + BIND_TIMEOUT;
        let ready_timeout = self.state.settings.ready_timeout;
        // What a failed start, a child gone, left unused is closed before
        // this one binds, not after in the same round: the driver binds on
        // a thread of its own, which could meet one still listening on an
        // address this start asks for (`:9090`, then `127.0.0.1:9090`).
        self.close_unused_beside(Some(&launch));
        // Whether it may be was a reload's question (a restart or rollback
        // asks for what a child had): only binding can fail here.
        let orders = listeners::bind_orders(&self.state.held, &launch.listeners);
        let up = self.up()?;
        debug_assert!(up.starting.is_none(), "one child starts at a time");
        // A restart due that this start replaces (a reload's) was counted
        // against the limit when it was planned: it will not happen.
        let replaces_restart = up.restart_at.is_some() && !matches!(why, Why::Restart);
        up.restart_at = None;
        if replaces_restart {
            self.state.restarts.pop_back();
        }
        let id = self.state.next_id;
        self.state.next_id += 1;
        let binding = !orders.is_empty();
        if let Some(up) = self.up() {
            up.starting = Some(Starting {
                id,
                binding,
                why,
                notes: Vec::new(),
                error: None,
                // While binding: the bind's deadline.
                hello_by: Some(if binding { bind_by } else { hello_by }),
                ready_by: None,
                ready_timeout,
                replaced_died: None,
                beside_serving: false,
                lost_probation: None,
            });
        }
        self.state.children.insert(
            id,
            Child {
                pid: None,
                launch: launch.clone(),
                started: now,
                started_unix: None,
                lameduck_timeout: self.state.settings.lameduck,
                kill_at: None,
                lameducked: false,
                refusing: false,
                killed: false,
                killed_unspawned: false,
                reap_by: None,
                abandoned: false,
                by_reload,
                binary: None,
                by_pidfd: true,
                resolved: None,
                path_replaced: false,
                takes_over: None,
                reads_queued: false,
                reads_alone: false,
                serving_since: None,
            },
        );
        if binding {
            self.effects.push(Effect::Bind {
                id,
                orders,
                by: bind_by,
            });
        } else {
            self.spawn(id, launch);
        }
        Some(id)
    }

    /// The new listeners are bound: the child they are for can start.
    fn on_bound(&mut self, id: ChildId, bound: Vec<(ListenerKey, String)>) {
        // For a start the stop cancelled: no child has these (they were
        // not held), and none will, though the launch a rollback brought
        // back names them: listening on, they would queue connections for
        // nobody while the stop refuses the rest. For a start given up
        // meanwhile (its bind's deadline passed): no child will have them
        // either. One of a key held since (a later reload bound it) the
        // driver closed at once: the held socket stays; the others go.
        let unwanted = match &self.state.phase {
            Phase::Up(up) => match up.starting.as_ref() {
                Some(s) if s.id == id && s.binding => None,
                _ => Some("bound after its start was given up"),
            },
            _ => Some("bound after the stop began"),
        };
        if let Some(why) = unwanted {
            for (key, address) in bound {
                if self.state.held.contains_key(&key) {
                    continue;
                }
                say!(self, "closing listener {} {address}: {why}", key.network);
                self.effects.push(Effect::Close { key });
            }
            return;
        }
        for (key, address) in bound {
            say!(self, "listening on {} {address}", key.network);
            let held = Held {
                address,
                activated: false,
                lost: false,
                ipv6_only: false,
            };
            self.state.held.insert(key, held);
        }
        let launch = self.state.children[&id].launch.clone();
        // A socket let go of for its removed file while these were bound
        // (the launch took it as held): bound too, before the spawn.
        let missing = listeners::bind_orders(&self.state.held, &launch.listeners);
        let hello_by = self.now + self.hello_timeout();
        let bind_by = self.now + BIND_TIMEOUT;
        let Some(starting) = self.up().and_then(|up| up.starting.as_mut()) else {
            return;
        };
        if !missing.is_empty() {
            // While binding, `hello_by` is the bind's deadline.
            starting.hello_by = Some(bind_by);
            self.effects.push(Effect::Bind {
                id,
                orders: missing,
                by: bind_by,
            });
            return;
        }
        starting.binding = false;
        starting.hello_by = Some(hello_by);
        self.spawn(id, launch);
    }

    /// Tells the starting child, spawned beside a serving one, once that
    /// one has ended and none serves, should its hello say it reads that
    /// (before its hello, told at the hello).
    fn tell_alone(&mut self) {
        let Phase::Up(up) = &mut self.state.phase else {
            return;
        };
        let Some(starting) = up.starting.as_mut() else {
            return;
        };
        let reads = |id| self.state.children.get(&id).is_some_and(|c| c.reads_alone);
        if up.serving.is_none() && starting.beside_serving && reads(starting.id) {
            starting.beside_serving = false;
            self.effects.push(Effect::Alone { id: starting.id });
        }
    }

    fn spawn(&mut self, id: ChildId, launch: Launch) {
        let refuse_when_orphaned = self.may_refuse();
        let managers = (launch.listeners.iter())
            .filter_map(|l| l.key.clone())
            .filter(|key| self.state.held.get(key).is_some_and(|h| h.activated))
            .collect();
        let serving = match &self.state.phase {
            Phase::Up(up) => up.serving.filter(|s| *s != id),
            _ => None,
        };
        let serving_holds: std::collections::BTreeSet<&ListenerKey> = (serving)
            .and_then(|s| self.state.children.get(&s))
            .map(|c| {
                c.launch
                    .listeners
                    .iter()
                    .filter_map(|l| l.key.as_ref())
                    .collect()
            })
            .unwrap_or_default();
        // Not one the serving child has as the copy let go of for its
        // removed file: this child has it bound again, and takes its
        // queue.
        let old_copy = |key: &ListenerKey| serving.is_some_and(|s| self.has_copy_let_go(s, key));
        let served: Vec<ListenerKey> = (launch.listeners.iter())
            .filter_map(|l| l.key.as_ref())
            .filter(|key| serving_holds.contains(key) && !old_copy(key))
            .cloned()
            .collect();
        let beside_serving = !served.is_empty();
        let starting = self.up().and_then(|up| up.starting.as_mut());
        if let Some(starting) = starting.filter(|s| s.id == id) {
            starting.beside_serving = beside_serving;
        }
        self.effects.push(Effect::Spawn {
            id,
            launch,
            refuse_when_orphaned,
            managers,
            served,
        });
    }

    /// A listener could not be bound: the start fails before any child
    /// does, and nothing that serves is touched.
    fn on_bind_failed(&mut self, id: ChildId, error: String) {
        self.state.children.remove(&id);
        let Some(up) = self.up() else { return };
        if let Some(starting) = up.starting.take_if(|s| s.id == id) {
            self.starting_failed(starting, error, 1, None);
        }
    }

    /// The children whose binaries the driver must keep open: each one
    /// not reaped yet (a rollback to it may come), and each one a launch
    /// names (a rollback's in probation or deferred, the serving launch's
    /// for a restart, and those of children started from one).
    pub fn binaries_kept(&self) -> std::collections::BTreeSet<ChildId> {
        // A given-up spawn's too: it may still exec `/proc/self/fd/N`.
        let named = self.launches_kept(true).filter_map(|l| l.target.binary_of);
        self.state.children.keys().copied().chain(named).collect()
    }

    /// The launches that run or may run again: the serving one, every
    /// child's, and those a rollback or restart would come back to. A
    /// child given up on before its spawn returned (killed, without a pid)
    /// counts only if `given_up`: no socket is kept for it.
    fn launches_kept(&self, given_up: bool) -> impl Iterator<Item = &Launch> {
        let state = &self.state;
        let mut launches: Vec<&Launch> = vec![&state.current];
        // One not dead of its kill holds its sockets still: a later start
        // on the same address gets the supervisor's, not a bind refused.
        let counted = |c: &&Child| given_up || !c.spawn_given_up();
        launches.extend(state.children.values().filter(counted).map(|c| &c.launch));
        if let Phase::Up(up) = &state.phase {
            launches.extend(up.probation.as_ref().map(|p| &p.previous));
            launches.extend(&up.fallback_to);
            let replaced_died = up.starting.as_ref().and_then(|s| s.replaced_died.as_ref());
            launches.extend(replaced_died.map(|(launch, _)| launch));
            let lost = up.starting.as_ref().and_then(|s| s.lost_probation.as_ref());
            launches.extend(lost.map(|p| &p.previous));
        }
        launches.into_iter()
    }

    /// Closes the sockets no child and no launch that may run again uses
    /// any more (a reload moved or dropped them, the last child using them
    /// is gone, and no rollback would come back to them: one to a launch on
    /// port 0 must get the same port).
    fn close_unused(&mut self) {
        self.close_unused_beside(None);
    }

    /// [`close_unused`](Machine::close_unused), keeping what `starting`,
    /// a launch about to start, uses too.
    fn close_unused_beside(&mut self, starting: Option<&Launch>) {
        let state = &self.state;
        let mut in_use: std::collections::BTreeSet<&ListenerKey> = self
            .launches_kept(false)
            .chain(starting)
            .flat_map(|l| l.listeners.iter().filter_map(|a| a.key.as_ref()))
            .collect();
        // One bound again for a removed file, which the serving child,
        // with the old copy, does not take from (a reload that failed):
        // closed, what its queue holds reset (the serving child could not
        // take it: it is another socket than its own).
        in_use.retain(|key| self.bound_again_in_use(key, starting));
        // A socket the service manager passed stays, whatever happens: it
        // is the manager's, and clients would hang on it if we closed ours.
        let unused: Vec<ListenerKey> = state
            .held
            .iter()
            .filter(|(k, held)| !in_use.contains(k) && !held.activated)
            .map(|(k, _)| k.clone())
            .collect();
        self.stop_holding(unused, "closing listener", "no child uses it", |key| {
            Effect::Close { key }
        });
    }

    /// Stops holding `keys`, saying so (`doing` the socket, `why`), each
    /// with the effect `effect` makes of it.
    fn stop_holding(
        &mut self,
        keys: Vec<ListenerKey>,
        doing: &str,
        why: &str,
        effect: fn(ListenerKey) -> Effect,
    ) {
        for key in keys {
            let held = self.state.held.remove(&key);
            let address = held.map_or(String::new(), |h| h.address);
            say!(self, "{doing} {} {address}: {why}", key.network);
            self.effects.push(effect(key));
        }
    }

    /// The child `starting` was to take over did not: as [`start_failed`],
    /// and what to come back to should a reload's child die in its
    /// probation (`replaced_died`) passes to the reload queued behind, if
    /// one has started: its child is the one that decides now. Every way
    /// a start fails comes through here, so that none loses it. The
    /// restart of a child lost in an upgrade on a probation that revives
    /// one dead on its own comes back to that one: said after the
    /// failure, the service's launch again, by a restart (`no_child`).
    ///
    /// [`start_failed`]: Machine::start_failed
    /// `note`: what the caller and `status` are told beyond the log's
    /// `message`.
    fn starting_failed(
        &mut self,
        starting: Starting,
        message: String,
        code: i32,
        note: Option<String>,
    ) {
        // The restart of a child lost in an upgrade, on a probation that
        // revives one dead on its own (`on_child_lost`): coming back to
        // that one is a restart, with persist, through the backoff and
        // the limit, as when the reload's child dies in it (`on_exit`).
        // (Only with fallback: `on_child_lost` passes none on without.)
        let persist = self.state.settings.persist;
        let revived = (starting.lost_probation).filter(|p| p.revives && persist);
        match revived {
            // As `start_failed` for a restart (no client, nothing serving),
            // with what comes back said after the failure.
            Some(probation) => {
                self.failed(message, note.as_deref());
                let failed = self.state.current.target.path.display().to_string();
                let previous = probation.previous.target.file().display().to_string();
                let first = match self.up().is_some_and(|up| !up.queued.is_empty()) {
                    true => "a reload waiting goes first; then ",
                    false => "",
                };
                say!(
                    self,
                    "{first}{previous}, whose child died on its own before the reload to {failed}, is what a restart runs"
                );
                self.state.current = probation.previous;
                self.notify_status();
                if self.up().is_some_and(|up| up.serving.is_none()) {
                    self.state.last_code = code;
                    self.no_child(code);
                }
            }
            None => self.start_failed(starting.why, message, code, note),
        }
        let next = self.up().and_then(|up| up.starting.as_mut());
        if let (Some(comeback), Some(next)) = (starting.replaced_died, next)
            && next.replaced_died.is_none()
            && matches!(next.why, Why::Reload { .. })
        {
            next.replaced_died = Some(comeback);
        }
    }

    /// A child that was to take over did not: count it, say why, and decide
    /// what serves now.
    fn start_failed(&mut self, why: Why, message: String, code: i32, note: Option<String>) {
        self.failed(message.clone(), note.as_deref());
        let serving = self.up().and_then(|up| up.serving);
        if let Why::Reload { client } = why {
            if let Some(client) = client {
                let told = message + note.as_deref().unwrap_or_default();
                self.reply(client, Response::error(told));
            }
            // The reload is over: the old child serves on, untouched.
            if serving.is_some() {
                self.notify(Notice::Ready);
            }
            self.notify_status();
        }
        if serving.is_none() {
            // What a stop reports while nothing serves.
            self.state.last_code = code;
            self.no_child(code);
        }
    }

    /// A start failed, for `message`: said, counted, and kept for
    /// `status`, with `note` after it (not said: see `starting_failed`).
    fn failed(&mut self, message: String, note: Option<&str>) {
        self.state.failures += 1;
        say!(self, "{message}");
        self.state.last_failure = Some(message + note.unwrap_or_default());
    }

    /// Nothing serves or starts: bring back a rolled-back binary, restart
    /// (persist), or exit with the child's code.
    fn no_child(&mut self, code: i32) {
        let now = self.now;
        let persist = self.state.settings.persist;
        let Some(up) = self.up() else { return };
        if up.serving.is_some() || up.starting.is_some() {
            return;
        }
        // A reload asked for and waiting its turn goes first; a rollback
        // put off stays for its outcome.
        while let Some(Queued { spec, client }) = self.up().and_then(|up| up.queued.pop_front()) {
            self.reload(spec, client);
            if self.up().is_none_or(|up| up.starting.is_some()) {
                return;
            }
        }
        let Some(up) = self.up() else { return };
        // A restart already planned stands, counted once: a start refused
        // before it could replace it (too many execs hung) left it so.
        if up.restart_at.is_some() {
            return;
        }
        if let Some(previous) = up.fallback_to.take() {
            self.start_child(previous, Why::Fallback);
            return;
        }
        if !persist {
            let message =
                format!("no child is running and persist is off; exiting with code {code}");
            say!(self, "{message}");
            self.status = StatusDue::Words(message);
            return self.exit_with(code);
        }
        if self.restart_limit_reached() {
            let (max, within) = self.state.settings.restart_limit;
            let code = if code == 0 { 1 } else { code };
            let message = format!(
                "the child had to be restarted more than {max} times within {within:?}; giving up (exit code {code})"
            );
            say!(self, "{message}");
            self.status = StatusDue::Words(message.clone());
            self.state.last_failure = Some(message);
            return self.exit_with(code);
        }
        let delay = self.jitter(self.state.restart_delay);
        say!(self, "restarting in {delay:.0?}");
        self.state.restart_delay = (self.state.restart_delay * 2).min(RESTART_MAX);
        if let Some(up) = self.up() {
            up.restart_at = Some(now + delay);
        }
        // `systemctl status` must not show the dead child meanwhile.
        self.notify_status();
    }

    /// Nothing serves and nothing will: wind down what still drains, then
    /// exit with `code`.
    fn exit_with(&mut self, code: i32) {
        let Phase::Up(up) = std::mem::replace(
            &mut self.state.phase,
            Phase::Stopping(Stopping {
                waiters: Vec::new(),
                code,
                serving: None,
                starting: None,
                signalled_at: None,
                performed_at: None,
                shut: Default::default(),
            }),
        ) else {
            return;
        };
        debug_assert!(up.queued.is_empty(), "no_child runs queued reloads first");
        // As any stop: the service manager hears of it, and the old
        // children still draining refuse new connections, which no child
        // will take.
        self.notify(Notice::Stopping {
            within: self.stop_extension(),
        });
        let refuse = self.refuse_at_stop(None);
        let draining: Vec<ChildId> = self.state.children.keys().copied().collect();
        for id in draining {
            self.wind_down(id, refuse);
        }
    }

    /// Counts a restart; whether that is more than the limit allows.
    fn restart_limit_reached(&mut self) -> bool {
        let now = self.now;
        let (max, within) = self.state.settings.restart_limit;
        let restarts = &mut self.state.restarts;
        restarts.push_back(now);
        while restarts
            .front()
            .is_some_and(|t| !within_window(now, *t, within))
        {
            restarts.pop_front();
        }
        restarts.len() > max as usize
    }

    /// Marks the starting child as failed and kills it; its exit finishes
    /// the failure, or, should it not come within [`KILLED_EXIT_WAIT`],
    /// [`give_up_killed`](Machine::give_up_killed).
    fn fail_starting(&mut self, reason: String) {
        let Some(starting) = self.up().and_then(|up| up.starting.as_mut()) else {
            return;
        };
        starting.error.get_or_insert(reason);
        starting.hello_by = None;
        starting.ready_by = None;
        let id = starting.id;
        self.kill(id);
    }

    /// Gives up on the children killed [`KILLED_EXIT_WAIT`] ago and not
    /// reaped (stuck in the kernel: maybe never). Each is kept until it
    /// is reaped, but nothing waits for it: the start it was fails now; a
    /// stop exits without it.
    fn abandon_the_undying(&mut self) {
        let now = self.now;
        let undying: Vec<ChildId> = (self.state.children.iter())
            .filter(|(_, c)| c.reap_by.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in undying {
            let State {
                children, phase, ..
            } = &mut self.state;
            let child = children.get_mut(&id).expect("listed above");
            child.reap_by = None;
            child.abandoned = true;
            let pid = child.pid.unwrap_or(0);
            // Its code as its death of the kill would say it, now: a stop
            // may end without it.
            let mut was_serving = false;
            if let Phase::Stopping(stopping) = phase {
                if stopping.decides() == Some(id) {
                    let exit = ChildExit::Signal(nix::libc::SIGKILL);
                    stopping.code = code_of(id, child, exit, stopping.starting.as_ref());
                }
                was_serving = stopping.serving == Some(id);
            }
            // As at its death.
            if was_serving {
                self.serving_gone_at_stop();
            }
            say!(
                self,
                "child pid {pid} has not exited {KILLED_EXIT_WAIT:?} after it was killed (stuck in the kernel, on a file system that hangs?): not waited for"
            );
            let starting = self.up().and_then(|up| up.starting.as_ref());
            if starting.is_some_and(|s| s.id == id) {
                self.give_up_killed();
            }
        }
    }

    /// The child serving when a stop began is gone (dead, or given up on
    /// not dead of its kill): it was the one to shut the sockets the
    /// others hold (see `begin_stop`), so they are shut now. (With no
    /// other child left to wait for, there is no one to refuse for.)
    fn serving_gone_at_stop(&mut self) {
        let others = (self.state.children.values()).any(|c| !c.given_up());
        if self.may_refuse() && others {
            self.shut_own_streams(|_| true);
        }
    }

    /// The starting child, killed as its start failed, has not exited
    /// within [`KILLED_EXIT_WAIT`]: its start fails now, rather than when
    /// it exits (maybe never: stuck in the kernel).
    fn give_up_killed(&mut self) {
        let Some(starting) = self.up().and_then(|up| up.starting.take()) else {
            return;
        };
        let error = starting.error.as_deref().unwrap_or("failed");
        let reason = format!(
            "{error}; killed, it has not exited within {KILLED_EXIT_WAIT:?} (is it stuck in the kernel, on a file system that hangs?)"
        );
        let message = match self.state.children.get(&starting.id) {
            Some(child) => failed_start(child, &reason),
            None => reason,
        };
        self.starting_failed(starting, message, 1, None);
    }

    /// The starting child's spawn has not returned by its deadline: its
    /// start fails at once, with `message`, rather than when it exits
    /// (which needs its spawn to return, maybe never). Kept, killed and
    /// without a pid, so that it is killed should it come to run; a stop
    /// does not wait for it.
    fn give_up_spawning(&mut self, message: String) {
        let Some(starting) = self.up().and_then(|up| up.starting.take()) else {
            return;
        };
        self.kill(starting.id);
        self.starting_failed(starting, message, 1, None);
    }

    /// Tells a child to wind down, and when it will be killed.
    fn lameduck(&mut self, id: ChildId) {
        let refuse = self.refuses_at_lameduck();
        self.wind_down(id, refuse);
    }

    /// Brings the kill of child `id`, winding down, to `at` if that is
    /// sooner (not one killed already).
    fn kill_no_later_than(&mut self, id: ChildId, at: Duration) {
        if let Some(child) = self.state.children.get_mut(&id).filter(|c| !c.killed)
            && let Some(kill_at) = &mut child.kill_at
        {
            *kill_at = (*kill_at).min(at);
        }
    }

    /// Tells child `id` to wind down (once), shutting its TCP listeners
    /// for good if `refuse`. One winding down already (an old child of a
    /// reload) is told only to refuse, if `refuse`: it may hold a socket no
    /// other child uses (the reload moved or dropped it).
    fn wind_down(&mut self, id: ChildId, refuse: bool) {
        let now = self.now;
        let Some(child) = self.state.children.get_mut(&id) else {
            return;
        };
        if child.killed {
            return;
        }
        // One whose spawn is under way is told once it has a pid.
        let spawned = child.pid.is_some();
        if child.lameducked {
            if refuse {
                child.refusing = true;
                if spawned {
                    self.effects.push(Effect::Lameduck { id, refuse });
                }
            }
            return;
        }
        child.lameducked = true;
        child.refusing = refuse;
        child.kill_at = Some(now + child.lameduck_timeout);
        if spawned {
            self.effects.push(Effect::Lameduck { id, refuse });
        }
    }

    /// Once a child has taken over, lets go of the held sockets its launch
    /// does not use, which only old children still draining hold: no child
    /// will take a connection from them again ([`Effect::Shut`]). A later
    /// launch that asks for one (a rollback, a reload moving back) binds it
    /// anew. Kept as they are: a socket the service manager passed (its,
    /// for the next start), a UDP one (shutting does not free its port)
    /// and one asked for on port 0 (bound anew it would get another port).
    /// What the given-up sockets had queued goes to `old`, the child that
    /// served them until now and drains ([`Effect::HandQueued`]), before
    /// the shut would reset it.
    fn let_go_of_given_up(&mut self, old: Option<ChildId>) {
        let used: std::collections::BTreeSet<&ListenerKey> = (self.state.current.listeners)
            .iter()
            .filter_map(|l| l.key.as_ref())
            .collect();
        let given_up: Vec<ListenerKey> = (self.state.held.iter())
            .filter(|(key, held)| {
                let stream = matches!(key.network.kind(), Kind::Tcp | Kind::Unix);
                !used.contains(key) && !held.activated && stream && !key.any_port()
            })
            .map(|(key, _)| key.clone())
            .collect();
        if let Some(old) = old {
            self.hand_queues(old, |key| given_up.contains(key));
        }
        let why = "no child takes it over";
        self.stop_holding(given_up, "no longer listening on", why, |key| {
            Effect::Shut { key }
        });
    }

    /// Hands child `to` what the queues of its sockets that `shut` picks
    /// out hold ([`Effect::HandQueued`]): their shut, next, would reset it.
    fn hand_queues(&mut self, to: ChildId, shut: impl Fn(&ListenerKey) -> bool) {
        // An older child would read them as a bad message, and close them.
        let Some(child) = self.state.children.get(&to).filter(|c| c.reads_queued) else {
            return;
        };
        let handed: Vec<Effect> = (child.launch.listeners.iter())
            .filter_map(|l| Some((l.name.clone(), l.key.clone()?)))
            .filter(|(_, key)| shut(key))
            .map(|(listener, key)| Effect::HandQueued { key, to, listener })
            .collect();
        self.effects.extend(handed);
    }

    /// Whether a child told to wind down now shuts its TCP listeners for
    /// good: only once stopping, when no child will take a connection
    /// again, and never a socket the service manager passed (it is the
    /// manager's, for the next start).
    fn refuses_at_lameduck(&self) -> bool {
        matches!(self.state.phase, Phase::Stopping(_)) && self.may_refuse()
    }

    /// At a stop, new connections are refused: by the children, told to
    /// shut their TCP listeners (and remove their socket files), when no
    /// socket is the service manager's; when some are, the children are
    /// not told (they would shut the manager's, which must queue for the
    /// next start), and the supervisor shuts its own TCP and unix ones
    /// instead, the very sockets its children hold, handing what their
    /// queues hold to the child `serving` (if any), as it is told to wind
    /// down next. Whether the children refuse.
    fn refuse_at_stop(&mut self, serving: Option<ChildId>) -> bool {
        if self.may_refuse() {
            return true;
        }
        if let Some(serving) = serving {
            let own = self.own_streams();
            self.hand_queues(serving, |key| own.contains(key));
        }
        self.shut_own_streams(|_| true);
        false
    }

    /// The stream sockets held that are not the service manager's (a UDP
    /// socket shut for reading still takes datagrams, and reads as closed
    /// for ever: its reader spins).
    fn own_streams(&self) -> Vec<ListenerKey> {
        (self.state.held.iter())
            .filter(|(key, held)| own_stream(key, held))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Shuts those of [`own_streams`](Machine::own_streams) that `pick`
    /// picks out, the service stopping.
    fn shut_own_streams(&mut self, pick: impl Fn(&ListenerKey) -> bool) {
        let own: Vec<ListenerKey> = self.own_streams().into_iter().filter(|k| pick(k)).collect();
        debug_assert!(
            matches!(self.state.phase, Phase::Stopping(_)),
            "shut at a stop"
        );
        if let Phase::Stopping(stopping) = &mut self.state.phase {
            for key in &own {
                if let Some(held) = self.state.held.get(key) {
                    stopping.shut.insert(key.clone(), held.address.clone());
                }
            }
        }
        let why = "the service is stopping";
        self.stop_holding(own, "no longer listening on", why, |key| Effect::Shut {
            key,
        });
    }

    /// Whether no listener held is the service manager's.
    fn may_refuse(&self) -> bool {
        !self.state.held.values().any(|held| held.activated)
    }

    fn kill(&mut self, id: ChildId) {
        let now = self.now;
        let Some(child) = self.state.children.get_mut(&id) else {
            return;
        };
        child.kill_at = None;
        if !child.killed {
            child.killed = true;
            child.killed_unspawned = child.pid.is_none();
            // One whose spawn is under way is killed once it has a pid,
            // and its forked process now, if it has one.
            match child.pid {
                Some(_) => {
                    child.reap_by = Some(now + KILLED_EXIT_WAIT);
                    self.effects.push(Effect::Kill { id });
                }
                None => self.effects.push(Effect::KillSpawning { id }),
            }
        }
    }

    fn hello_timeout(&self) -> Duration {
        HELLO_TIMEOUT.min(self.state.settings.ready_timeout)
    }

    /// `delay` give or take up to 20%, so that services that crash together
    /// do not restart in lockstep.
    fn jitter(&mut self, delay: Duration) -> Duration {
        let mut x = self.state.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.rng = x;
        delay * (800 + (x % 401) as u32) / 1000
    }
}

/// What child `id` (`child`) ending with `exit` says of the service, as
/// a stop reports it: a start the supervisor failed and killed (silent,
/// not ready in time), dead of that kill, is 1, as where the spawn itself
/// fails (the kill is no code of the program's); one that said its own
/// error and exited by itself keeps its code, as does every other child.
fn code_of(id: ChildId, child: &Child, exit: ChildExit, starting: Option<&Starting>) -> i32 {
    let by_our_kill = child.killed && exit == ChildExit::Signal(nix::libc::SIGKILL);
    let failed = starting.is_some_and(|s| s.id == id && s.error.is_some());
    if by_our_kill && (child.killed_unspawned || failed) {
        1
    } else {
        exit.code()
    }
}

/// Whether a restart at `at` counts against the restart limit at `now`.
fn within_window(now: Duration, at: Duration, window: Duration) -> bool {
    now.saturating_sub(at) <= window
}

/// Whether the socket held for `key` is a stream socket of the
/// supervisor's own, not the service manager's: one a stop shuts (not
/// one lost in an upgrade, which it has no socket of).
fn own_stream(key: &ListenerKey, held: &Held) -> bool {
    !held.activated && !held.lost && matches!(key.network.kind(), Kind::Tcp | Kind::Unix)
}

/// Why the start of `child` failed, as said: by its pid, or, its spawn
/// not returned, by its file alone.
fn failed_start(child: &Child, reason: &str) -> String {
    let path = child.launch.target.file().display();
    match child.pid {
        Some(pid) => format!("new child pid {pid} ({path}) {reason}"),
        None => format!("new child ({path}) {reason}"),
    }
}
