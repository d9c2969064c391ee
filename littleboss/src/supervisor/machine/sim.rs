//! A stand-in driver for tests of the machine: pretend processes with
//! made-up pids, a clock that moves only when told, and a record of every
//! effect. Spawns succeed (or fail, for paths listed in `unstartable`) at
//! once, as the real driver reports them.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    Assigned, ChildExit, ChildId, ClientId, Effect, Event, FileId, Held, Image, Launch,
    ListenerKey, Machine, STATE_VERSION, Settings, Signal, Target,
};
use crate::control::protocol::{Request, Response};
use crate::link::FromChild;
use crate::spec::Network;

pub(super) const NAME: &str = "svc";
pub(super) const LAMEDUCK: Duration = Duration::from_secs(2);
/// The pretend supervisor's working folder.
pub(super) const WORKING_DIR: &str = "/srv/app";

pub(super) fn settings() -> Settings {
    Settings {
        name: NAME.to_owned(),
        lameduck: LAMEDUCK,
        persist: false,
        restart_limit: (5, Duration::from_secs(60)),
        fallback: true,
        ready_timeout: Duration::from_secs(30),
        self_upgrade: true,
        working_dir: Some(PathBuf::from(WORKING_DIR)),
        working_dir_id: Some(folder_id(WORKING_DIR)),
        stderr: None,
    }
}

/// A pretend folder's identity: one per path.
pub(super) fn folder_id(path: &str) -> [u64; 2] {
    let FileId { dev, ino } = file_id(std::path::Path::new(path));
    [dev, ino]
}

/// A pretend binary's identity: one per path.
pub(super) fn file_id(path: &std::path::Path) -> FileId {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    FileId {
        dev: 1,
        ino: hasher.finish(),
    }
}

pub(super) fn target(path: &str) -> Target {
    Target {
        file: None,
        binary_of: None,
        path: PathBuf::from(path),
        argv0: OsString::from(path),
    }
}

/// The listener every sim starts with.
pub(super) fn http() -> Assigned {
    Assigned {
        name: "http".to_owned(),
        network: Network::Tcp,
        key: Some(ListenerKey::of("http", Network::Tcp, "127.0.0.1:8080")),
    }
}

/// What the pretend process of a child has been through.
#[derive(Debug, Clone, Default)]
pub(super) struct Process {
    pub pid: u32,
    pub path: PathBuf,
    pub argv0: OsString,
    pub args: Vec<OsString>,
    pub listeners: Vec<Assigned>,
    pub lameducked: bool,
    /// Told to shut its TCP listeners for good as it winds down.
    pub refusing: bool,
    /// Told at its start to shut them should the supervisor die (an
    /// older child's rule).
    pub refuses_when_orphaned: bool,
    /// Told at its start which sockets are the service manager's: should
    /// the supervisor die, it shuts the others.
    pub managers: Vec<ListenerKey>,
    /// Told at its start that another child served then, and not told
    /// since that it has ended: should the supervisor die before it is
    /// ready, it leaves the queues of `served` to that one.
    pub beside_serving: bool,
    /// Told at its start which of its sockets that child holds too.
    pub served: Vec<ListenerKey>,
    /// Signals passed on to it.
    pub signals: Vec<Signal>,
    pub killed: bool,
    pub exited: bool,
    /// When it was first told to wind down, on the sim's clock and as
    /// its place in `effects` (which of two things at the same instant
    /// came first), and when it was killed.
    pub lameducked_at: Option<(Duration, usize)>,
    pub killed_at: Option<Duration>,
    /// When it said hello as the service's child (as the number of
    /// effects before it, to set beside `lameducked_at`'s), and the
    /// lameduck timeout that hello gave: only a first hello that was its first
    /// word (after another word, or a hello naming another service, it
    /// has failed, and the supervisor takes no more from it; a second
    /// hello changes nothing).
    pub hello: Option<(usize, Duration)>,
    /// It said something, a hello of any service's or another word.
    pub spoke: bool,
    /// It said it was ready after that hello.
    pub readied: bool,
}

/// When the sim's supervisor started, in Unix seconds.
pub(super) const SUPERVISOR_STARTED: u64 = 1_000_000;

#[derive(Debug, Clone)]
pub(super) struct Sim {
    pub machine: Machine,
    pub now: Duration,
    pub effects: Vec<Effect>,
    /// Every log line, with when it was said on the sim's clock (kept
    /// whole when a scenario clears `effects`).
    pub timed_logs: Vec<(Duration, String)>,
    /// Every child ever spawned, by id.
    pub processes: BTreeMap<ChildId, Process>,
    /// Paths whose spawn fails.
    pub unstartable: BTreeSet<PathBuf>,
    /// Addresses that cannot be bound (in use).
    pub busy: BTreeSet<String>,
    /// Sockets the sim holds, as the driver would.
    pub sockets: BTreeSet<ListenerKey>,
    /// Binds wait for [`Sim::finish_binds`] instead of finishing at once.
    pub defer_binds: bool,
    /// Binds held back are being finished (late, maybe).
    finishing_binds: bool,
    pending_binds: Vec<Effect>,
    /// Spawns wait for [`Sim::finish_spawns`] instead of finishing at
    /// once (their execs wait on a slow file system).
    pub defer_spawns: bool,
    /// Spawns held back are being finished (their sockets taken along as
    /// they began).
    finishing_spawns: bool,
    pending_spawns: Vec<Effect>,
    /// The children whose spawns' forked processes were to be killed
    /// ([`Effect::KillSpawning`]), in order.
    pub killed_spawning: Vec<ChildId>,
    /// Every answer each client got, in order.
    pub replies: BTreeMap<ClientId, Vec<Response>>,
    pub exit_code: Option<i32>,
    next_client: ClientId,
    /// What the children's hellos say they take over.
    pub takes_over: Option<u32>,
    /// The next in-place upgrades fail (as an exec would).
    pub upgrade_fails: bool,
    /// And the binary is blamed (false: the child died just then).
    pub upgrade_blames_binary: bool,
    /// Paths that are symlinks, and the file each names now.
    pub links: BTreeMap<PathBuf, PathBuf>,
    /// Children are watched by pid (a kernel without pidfds).
    pub no_pidfds: bool,
    /// Seconds the wall clock was stepped by since the supervisor started
    /// (or the time a suspend stopped the monotonic clock for).
    pub wall_clock_step: i64,
    /// The settings of the binaries upgraded to (lameduck, persist,
    /// restart limit...), which take over with the state, as `resume`
    /// does; `None`: the same as before.
    pub upgraded_settings: Option<Settings>,
    /// Paths a deploy replaced: a child run from the file held for it
    /// finds its path names another.
    pub replaced: BTreeSet<PathBuf>,
    /// The supervisor's binary after each in-place upgrade.
    pub upgrades: Vec<PathBuf>,
    /// The state as each upgrade handed it over, in JSON.
    pub handoffs: Vec<String>,
    /// How long each in-place upgrade's exec takes on the sim's clock.
    pub upgrade_takes: Duration,
    /// The stretches of time the clock moved on without the driver's
    /// ticks ([`late`](Sim::late)), from and to: a deadline in one is
    /// handled at the next tick, late, at the stretch's end.
    pub unticked: Vec<(Duration, Duration)>,
    ticked_since_late: bool,
    /// The handoff leaves out when the upgrade began, as an older image's.
    pub handoff_without_began: bool,
    /// The lameduck timeout of the settings in force (the first binary's,
    /// then each upgrade's), and the one each child was launched with: its
    /// own until its hello gives another.
    lameduck_setting: Duration,
    pub launched_lameduck: BTreeMap<ChildId, Duration>,
}

impl Sim {
    pub fn new(settings: Settings) -> Sim {
        Sim::with_unstartable(settings, &[])
    }

    /// The wall clock in Unix seconds, as the driver reads it: the
    /// supervisor's start plus the sim's time, plus any step.
    pub fn wall_clock(&self) -> u64 {
        (SUPERVISOR_STARTED + self.now.as_secs()).saturating_add_signed(self.wall_clock_step)
    }

    pub fn with_unstartable(settings: Settings, unstartable: &[&str]) -> Sim {
        let first = Launch {
            target: target("/bin/v1"),
            args: vec![OsString::from("-x")],
            listeners: vec![http()],
        };
        let key = http().key.unwrap();
        let held = [(
            key.clone(),
            Held {
                address: "127.0.0.1:8080".to_owned(),
                activated: false,
                lost: false,
                ipv6_only: false,
            },
        )];
        let image = Image {
            path: PathBuf::from("/bin/v1"),
            id: Some(file_id("/bin/v1".as_ref())),
            upgrades: 0,
        };
        let lameduck_setting = settings.lameduck;
        let machine = Machine::new(
            settings,
            100,
            SUPERVISOR_STARTED,
            first,
            held.into(),
            7,
            image,
        );
        let mut sim = Sim {
            machine,
            now: Duration::ZERO,
            effects: Vec::new(),
            timed_logs: Vec::new(),
            processes: BTreeMap::new(),
            unstartable: unstartable.iter().map(PathBuf::from).collect(),
            busy: BTreeSet::new(),
            sockets: [key].into(),
            defer_binds: false,
            finishing_binds: false,
            pending_binds: Vec::new(),
            defer_spawns: false,
            finishing_spawns: false,
            pending_spawns: Vec::new(),
            killed_spawning: Vec::new(),
            replies: BTreeMap::new(),
            exit_code: None,
            next_client: 0,
            takes_over: Some(STATE_VERSION),
            upgrade_fails: false,
            upgrade_blames_binary: true,
            links: BTreeMap::new(),
            no_pidfds: false,
            wall_clock_step: 0,
            upgraded_settings: None,
            replaced: BTreeSet::new(),
            upgrades: Vec::new(),
            handoffs: Vec::new(),
            upgrade_takes: Duration::ZERO,
            unticked: Vec::new(),
            ticked_since_late: true,
            handoff_without_began: false,
            lameduck_setting,
            launched_lameduck: BTreeMap::new(),
        };
        let effects = sim.machine.start(sim.now);
        sim.perform(effects);
        sim
    }

    /// A first child that said hello and is ready: the usual start.
    pub fn serving(settings: Settings) -> Sim {
        let mut sim = Sim::new(settings);
        sim.hello_and_ready(1);
        sim
    }

    /// With `persist` and a generous restart limit, after a crash loop:
    /// children 1 to 4 crashed, each restarted 2 s later, which raised
    /// the restart delay to 1.6 s; child 5 serves, just ready.
    pub fn after_a_crash_loop() -> Sim {
        let mut sim = Sim::serving(Settings {
            persist: true,
            restart_limit: (100, Duration::from_secs(1)),
            ..settings()
        });
        for id in 1..=4 {
            sim.exit(id, ChildExit::Code(1));
            sim.advance(Duration::from_secs(2));
            sim.hello_and_ready(id + 1);
        }
        assert_eq!(sim.machine.state().restart_delay.as_millis(), 1600);
        sim
    }

    pub fn handle(&mut self, event: Event) {
        let effects = self.handled(event);
        self.perform(effects);
        self.machine.performed(self.now);
    }

    /// Handles `signal`, its effects taking `took` to carry out, as a
    /// stop's may on a loaded machine (the queues taken, files removed).
    pub fn signal_taking(&mut self, signal: Signal, took: Duration) {
        let effects = self.handled(Event::Signal(signal));
        self.perform(effects);
        self.late(took);
        self.machine.performed(self.now);
    }

    /// The machine's answer to `event`, checked as the driver would take
    /// it: it stops at an exit, so nothing may come after one.
    fn handled(&mut self, event: Event) -> Vec<Effect> {
        let effects = self.machine.handle(event, self.now);
        if let Some(at) = effects
            .iter()
            .position(|e| matches!(e, Effect::Exit { .. }))
        {
            assert_eq!(
                at + 1,
                effects.len(),
                "effects after the exit, which the driver never carries out: {:?}",
                &effects[at + 1..]
            );
        }
        effects
    }

    fn perform(&mut self, effects: Vec<Effect>) {
        let mut queue = std::collections::VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            assert!(
                self.effects.len() < 100_000,
                "effects without end: {:?}",
                &self.effects[self.effects.len() - 20..]
            );
            self.effects.push(effect.clone());
            if let Effect::Log(line) = &effect {
                self.timed_logs.push((self.now, line.clone()));
            }
            if let Effect::Bind { id, .. } | Effect::Spawn { id, .. } = &effect {
                (self.launched_lameduck.entry(*id)).or_insert(self.lameduck_setting);
            }
            let feedback = match effect {
                bind @ Effect::Bind { .. } if self.defer_binds => {
                    self.pending_binds.push(bind);
                    None
                }
                // Bound whenever the test lets it, its deadline or not: a
                // bind past it is rare (the driver binds nothing looked up
                // after it), not impossible (looked up just before).
                Effect::Bind { id, orders, .. } => {
                    let busy = orders
                        .iter()
                        .find(|o| self.busy.contains(o.key.bind_address()));
                    Some(match busy {
                        Some(order) => Event::BindFailed {
                            id,
                            error: format!(
                                "-{}: cannot listen on {}: Address in use",
                                order.name, order.key
                            ),
                        },
                        None => {
                            // A bind held back ends late: as the driver
                            // does, one of a key bound since is closed, not
                            // reported.
                            let late = self.finishing_binds;
                            let bound = orders
                                .into_iter()
                                .filter(|o| !(late && self.sockets.contains(&o.key)))
                                .map(|o| (o.key.clone(), bound_address(o.key.bind_address(), id)))
                                .collect::<Vec<_>>();
                            for (key, _) in &bound {
                                assert!(self.sockets.insert(key.clone()), "bound twice: {key}");
                            }
                            Event::Bound { id, bound }
                        }
                    })
                }
                Effect::Close { key } | Effect::Shut { key } => {
                    assert!(self.sockets.remove(&key), "closed twice: {key}");
                    None
                }
                Effect::Spawn { ref launch, .. } if self.defer_spawns => {
                    // The driver takes the sockets along as the spawn
                    // begins.
                    for key in launch.listeners.iter().filter_map(|l| l.key.as_ref()) {
                        assert!(self.sockets.contains(key), "spawned without {key}");
                    }
                    self.pending_spawns.push(effect);
                    None
                }
                Effect::Spawn {
                    id,
                    launch,
                    refuse_when_orphaned,
                    managers,
                    served,
                } => {
                    let late = self.finishing_spawns;
                    for key in launch.listeners.iter().filter_map(|l| l.key.as_ref()) {
                        assert!(late || self.sockets.contains(key), "spawned without {key}");
                    }
                    let target = launch.target;
                    let file = target.file().to_owned();
                    let from_held = target.binary_of.is_some();
                    if self.unstartable.contains(&file) {
                        Some(Event::SpawnFailed {
                            id,
                            error: "No such file or directory (os error 2)".to_owned(),
                        })
                    } else {
                        let pid = 1000 + id as u32;
                        self.processes.insert(
                            id,
                            Process {
                                pid,
                                path: file,
                                argv0: target.argv0,
                                args: launch.args,
                                listeners: launch.listeners,
                                refuses_when_orphaned: refuse_when_orphaned,
                                beside_serving: !served.is_empty(),
                                served,
                                managers,
                                ..Process::default()
                            },
                        );
                        let path = &self.processes[&id].path;
                        let binary = Some(file_id(path));
                        let resolved = self.links.get(path).cloned();
                        let path_replaced = from_held && self.replaced.contains(path);
                        Some(Event::Spawned {
                            id,
                            pid,
                            binary,
                            resolved,
                            path_replaced,
                            by_pidfd: !self.no_pidfds,
                            started_unix: Some(self.wall_clock()),
                        })
                    }
                }
                Effect::Lameduck { id, refuse } => {
                    let (now, this) = (self.now, self.effects.len() - 1);
                    let process = self.process(id);
                    process.lameducked = true;
                    process.lameducked_at.get_or_insert((now, this));
                    process.refusing = refuse;
                    None
                }
                Effect::Kill { id } => {
                    let now = self.now;
                    let process = self.process(id);
                    process.killed = true;
                    process.killed_at.get_or_insert(now);
                    None
                }
                Effect::PassOn { id, signal } => {
                    let process = self.process(id);
                    assert!(!process.exited, "{signal} passed on to child {id}, ended");
                    process.signals.push(signal);
                    None
                }
                Effect::Reply { client, response } => {
                    self.replies.entry(client).or_default().push(response);
                    None
                }
                Effect::Exit { code } => {
                    assert!(self.exit_code.is_none(), "exited twice");
                    self.exit_code = Some(code);
                    None
                }
                Effect::Upgrade { pid, binary, .. } => Some(self.upgrade(pid, binary)),
                Effect::KillSpawning { id } => {
                    self.killed_spawning.push(id);
                    None
                }
                Effect::Alone { id } => {
                    let process = self.process(id);
                    assert!(process.beside_serving, "told alone twice, or never beside");
                    process.beside_serving = false;
                    None
                }
                // As the driver would carry it out: before the socket's
                // shut (the driver hands nothing from a socket it holds no
                // more), to a child that has not ended, which has that
                // socket under that name.
                Effect::HandQueued { key, to, listener } => {
                    assert!(self.sockets.contains(&key), "handed {key} not held");
                    let process = self.process(to);
                    assert!(!process.exited, "handed {key} to child {to}, ended");
                    assert!(
                        (process.listeners.iter())
                            .any(|l| l.name == listener && l.key.as_ref() == Some(&key)),
                        "handed {key} to child {to} as `{listener}`, which it does not have so"
                    );
                    None
                }
                Effect::Notify(_) | Effect::Log(_) | Effect::ReapOrphans => None,
            };
            if let Some(event) = feedback {
                let effects = self.handled(event);
                queue.extend(effects);
            }
        }
    }

    /// Re-executes as the driver would: the state goes through its JSON
    /// form into a new machine, whose first event is the outcome.
    fn upgrade(&mut self, pid: u32, binary: FileId) -> Event {
        let serving = self.processes.values().find(|p| p.pid == pid);
        let serving = serving.expect("the upgrade's child is a process");
        assert!(!serving.exited, "upgrade to the binary of a dead child");
        assert_eq!(file_id(&serving.path), binary);
        if self.upgrade_fails {
            return Event::UpgradeFailed {
                error: "exec failed: Permission denied (os error 13)".to_owned(),
                refuse: self.upgrade_blames_binary,
            };
        }
        let path = serving.path.clone();
        let mut json = serde_json::to_string(self.machine.state()).expect("the state serialises");
        if self.handoff_without_began {
            let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
            value["upgrade"]
                .as_object_mut()
                .expect("an upgrade under way")
                .remove("began");
            json = value.to_string();
        }
        let mut state: super::State = serde_json::from_str(&json).expect("and reads back");
        // Nothing lost on the way (a field skipped, or defaulted on read,
        // would write the same text both times): the state read back is
        // the state handed over.
        if !self.handoff_without_began {
            assert_eq!(
                &state,
                self.machine.state(),
                "the state read back differs from the one handed over"
            );
        }
        if let Some(settings) = &self.upgraded_settings {
            state.settings = settings.clone();
            self.lameduck_setting = settings.lameduck;
        }
        self.handoffs.push(json);
        self.machine = Machine::resume(state);
        self.upgrades.push(path);
        self.now += self.upgrade_takes;
        Event::Upgraded
    }

    /// Marks the first listener as passed by the service manager.
    pub fn activate_first_listener(&mut self) {
        let key = http().key.unwrap();
        if let Some(held) = self.machine.state.held.get_mut(&key) {
            held.activated = true;
        }
    }

    /// The children whose spawns `defer_spawns` holds back.
    pub fn spawning(&self) -> impl Iterator<Item = ChildId> + '_ {
        self.pending_spawns
            .iter()
            .filter_map(|effect| match effect {
                Effect::Spawn { id, .. } => Some(*id),
                _ => None,
            })
    }

    /// Finishes the spawns held back by `defer_spawns`, one at a time, each
    /// with what it leads to, as the driver handles each spawn's outcome
    /// before the next.
    pub fn finish_spawns(&mut self) {
        self.defer_spawns = false;
        let spawns = std::mem::take(&mut self.pending_spawns);
        self.finishing_spawns = true;
        for spawn in spawns {
            self.perform(vec![spawn]);
        }
        self.finishing_spawns = false;
    }

    /// Finishes the binds held back by `defer_binds`.
    pub fn finish_binds(&mut self) {
        self.defer_binds = false;
        let binds = std::mem::take(&mut self.pending_binds);
        self.finishing_binds = true;
        // One at a time, each with what it leads to, as the driver handles
        // each bind's outcome before the next.
        for bind in binds {
            self.perform(vec![bind]);
        }
        self.finishing_binds = false;
    }

    pub fn process(&mut self, id: ChildId) -> &mut Process {
        self.processes
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no process for child {id}"))
    }

    /// Moves the clock on by `by` without handling the deadlines that
    /// pass: the driver's `select!` took messages first.
    /// One right after another with no tick between (no `advance`, not
    /// even by nothing) makes one stretch.
    pub fn late(&mut self, by: Duration) {
        let from = self.now;
        self.now += by;
        match self.unticked.last_mut() {
            Some((_, to)) if *to == from && !self.ticked_since_late => *to = self.now,
            _ => self.unticked.push((from, self.now)),
        }
        self.ticked_since_late = false;
    }

    /// Moves the clock on by `by`, handling each deadline at its time.
    pub fn advance(&mut self, by: Duration) {
        self.ticked_since_late = true;
        let until = self.now + by;
        let mut ticks = 0;
        while let Some(at) = self.machine.next_deadline().filter(|at| *at <= until) {
            ticks += 1;
            assert!(
                ticks < 1000,
                "deadline {at:?} never cleared: {:#?}",
                self.machine.state()
            );
            self.now = self.now.max(at);
            self.handle(Event::Tick);
        }
        self.now = until;
    }

    pub fn message(&mut self, id: ChildId, message: FromChild) {
        if let Some(process) = self.processes.get_mut(&id) {
            if matches!(message, FromChild::Ready) {
                process.readied |= process.hello.is_some();
            }
            process.spoke = true;
        }
        self.handle(Event::Message { id, message });
    }

    pub fn hello(&mut self, id: ChildId) {
        self.hello_as(id, NAME, LAMEDUCK, Duration::from_secs(30));
    }

    pub fn hello_as(&mut self, id: ChildId, name: &str, lameduck: Duration, ready: Duration) {
        let before = self.effects.len();
        if let Some(process) = self.processes.get_mut(&id)
            && name == NAME
            && !process.spoke
        {
            process.hello = Some((before, lameduck));
        }
        self.message(
            id,
            FromChild::Hello {
                name: name.to_owned(),
                lameduck_ms: lameduck.as_millis() as u64,
                ready_timeout_ms: ready.as_millis() as u64,
                takes_over: self.takes_over,
                reads_queued: true,
                reads_alone: true,
            },
        );
    }

    pub fn ready(&mut self, id: ChildId) {
        self.message(id, FromChild::Ready);
    }

    pub fn hello_and_ready(&mut self, id: ChildId) {
        self.hello(id);
        self.ready(id);
    }

    pub fn exit(&mut self, id: ChildId, exit: ChildExit) {
        self.process(id).exited = true;
        self.handle(Event::Exited { id, exit });
    }

    /// Child `id` came across an upgrade without its channel, and the
    /// driver killed it.
    pub fn lose(&mut self, id: ChildId) {
        self.process(id).exited = true;
        self.handle(Event::ChildLost { id });
    }

    /// Listener `key`'s descriptor did not come across an upgrade: the
    /// driver holds no socket for it.
    pub fn lose_listener(&mut self, key: &ListenerKey) {
        self.sockets.remove(key);
        let error = "fd 5 is no longer its socket".to_owned();
        self.handle(Event::ListenerLost {
            key: key.clone(),
            error,
        });
    }

    pub fn signal(&mut self, signal: Signal) {
        self.handle(Event::Signal(signal));
    }

    /// Sends a control request; returns the client's number.
    pub fn request(&mut self, request: Request) -> ClientId {
        self.next_client += 1;
        let client = self.next_client;
        self.replies.insert(client, Vec::new());
        self.handle(Event::Control { client, request });
        client
    }

    pub fn reload(&mut self, path: &str) -> ClientId {
        self.request(Request::Reload {
            path: PathBuf::from(path),
            argv0: None,
            args: None,
            listeners: None,
            dir: None,
            dir_id: None,
        })
    }

    /// The answers client `client` got.
    pub fn answers(&self, client: ClientId) -> &[Response] {
        &self.replies[&client]
    }

    /// The client's final answer, if it has one.
    pub fn final_answer(&self, client: ClientId) -> Option<&Response> {
        self.replies[&client].iter().find(|r| r.is_final())
    }

    pub fn logs(&self) -> Vec<&str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Log(line) => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn logged(&self, part: &str) -> bool {
        self.logs().iter().any(|l| l.contains(part))
    }

    /// The pid of child `id`, as the sim made it up.
    pub fn pid(&self, id: ChildId) -> u32 {
        self.processes[&id].pid
    }

    pub fn serving_id(&self) -> Option<ChildId> {
        match &self.machine.state().phase {
            super::Phase::Up(up) => up.serving,
            _ => None,
        }
    }

    pub fn starting_id(&self) -> Option<ChildId> {
        match &self.machine.state().phase {
            super::Phase::Up(up) => up.starting.as_ref().map(|s| s.id),
            _ => None,
        }
    }

    /// The children spawned, in order, by path.
    pub fn spawned_paths(&self) -> Vec<String> {
        self.processes
            .values()
            .map(|p| p.path.display().to_string())
            .collect()
    }
}

/// The address a bind of `address` for child `id` listens on: a port 0
/// one gets a port of its own, as from the kernel.
fn bound_address(address: &str, id: ChildId) -> String {
    match address.strip_suffix(":0") {
        Some(host) => format!("{host}:{}", 40_000 + id),
        None => address.to_owned(),
    }
}
