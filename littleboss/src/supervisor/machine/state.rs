//! The supervisor's state as plain data: which child serves, which starts,
//! which drain, and what is due when. Every field serialises, so the whole
//! state can be written out and read back (the in-place upgrade needs it).

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::listeners::{Assigned, Held, ListenerKey};
use crate::spec::ListenerSpec;

/// The version of this state's serialised form. An in-place upgrade hands
/// the state over in it; a binary takes over only a version it reads.
pub(crate) use crate::link::SUPERVISOR_STATE_VERSION as STATE_VERSION;

/// A file's identity: a binary replaced at the same path is another file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// The binary the supervisor itself runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Image {
    #[serde(with = "crate::path_bytes")]
    pub path: PathBuf,
    /// `None` when it could not be told (then it never upgrades).
    pub id: Option<FileId>,
    /// How many times it re-executed itself in place.
    pub upgrades: u64,
}

/// An in-place upgrade under way: the answers held back until it ends
/// (`READY=1` always follows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Upgrading {
    /// The serving child, whose binary the supervisor becomes.
    pub child: ChildId,
    #[serde(with = "crate::path_bytes")]
    pub path: PathBuf,
    pub binary: FileId,
    /// Answers decided in the step that began the upgrade: the reload's
    /// client hears back once the supervisor runs the new code.
    pub replies: Vec<(ClientId, crate::control::protocol::Response)>,
    /// When the upgrade began, on the machine's clock (which the new image
    /// keeps): the new image says how long the supervisor paused. `None`
    /// from an older image, which did not hand it over.
    #[serde(default)]
    pub began: Option<std::time::Duration>,
}

/// A child's number, given by the machine; never reused.
pub(crate) type ChildId = u64;
/// A control connection's request, numbered by the driver.
pub(crate) type ClientId = u64;

/// A binary to start, with the `argv[0]` to give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Target {
    #[serde(with = "crate::path_bytes")]
    pub path: PathBuf,
    pub argv0: OsString,
    /// The file to run instead of `path`, which stays its name: a
    /// rollback's, the very file the previous child ran, wherever `path`
    /// (a symlink, say) points by then.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::path_bytes::option"
    )]
    pub file: Option<PathBuf>,
    /// The child whose binary to run, while the driver still holds it
    /// open: that very file, even once a deploy replaced or deleted it
    /// (`file` is then its name only, or the fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_of: Option<ChildId>,
}

impl Target {
    /// What to execute.
    pub fn file(&self) -> &std::path::Path {
        self.file.as_deref().unwrap_or(&self.path)
    }
}

/// Everything a child is started with: the binary, its arguments, and
/// the socket behind each listener it declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Launch {
    pub target: Target,
    pub args: Vec<OsString>,
    pub listeners: Vec<Assigned>,
}

/// What a reload asks for; resolved into a [`Launch`] against the serving
/// child's when its turn comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReloadSpec {
    pub target: Target,
    /// `None`: the serving child's arguments.
    pub args: Option<Vec<OsString>>,
    /// The new binary's declared listeners with their defaults; `None`:
    /// the serving child's listeners.
    pub declared: Option<Vec<ListenerSpec>>,
    /// The working folder of whoever asked (`None`: not said), where the
    /// relative paths they gave are meant.
    #[serde(default, with = "crate::path_bytes::option")]
    pub caller_dir: Option<PathBuf>,
    #[serde(default)]
    pub caller_dir_id: Option<[u64; 2]>,
}

/// What the supervisor was configured with that its decisions read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Settings {
    pub name: String,
    /// How long a child may drain before it is killed, until its hello
    /// gives its own.
    pub lameduck: Duration,
    pub persist: bool,
    /// With `persist`: give up after more than this many restarts within
    /// this window.
    pub restart_limit: (u32, Duration),
    pub fallback: bool,
    pub ready_timeout: Duration,
    /// Re-execute in place from a serving child's binary that differs
    /// from the supervisor's own.
    #[serde(default = "yes")]
    pub self_upgrade: bool,
    /// The supervisor's working folder, where its children run and a
    /// relative unix-socket path is bound (`None`: from an image that did
    /// not record it).
    #[serde(default, with = "crate::path_bytes::option")]
    pub working_dir: Option<PathBuf>,
    /// That folder's identity, `[device, inode]`, what a caller's folder
    /// is compared by.
    #[serde(default)]
    pub working_dir_id: Option<[u64; 2]>,
    /// Where the supervisor's stderr goes, which its children inherit, in
    /// words (`/var/log/app.log`, "the journal"), as it was when this
    /// image began: told to a reload's caller and `status` with a child
    /// that ends before it was ready without saying why, whose own words
    /// went there. Read again by each image (absent from an older one's
    /// state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

pub(super) fn yes() -> bool {
    true
}

/// The whole state of a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    pub settings: Settings,
    /// The supervisor's own pid and when it started (Unix seconds), for
    /// `status`.
    pub pid: u32,
    pub started_unix: u64,
    /// The sockets the supervisor holds: each while the serving launch, a
    /// child or a launch a rollback or restart may go back to uses it,
    /// except a TCP or unix one a reload dropped (not on
    /// port 0, not the service manager's), which is shut once the new
    /// child takes over, its queue handed to the old child first (see
    /// `let_go_of_given_up`).
    #[serde(with = "pairs")]
    pub held: BTreeMap<ListenerKey, Held>,
    /// Unix sockets let go of because their files were removed, each with
    /// the number of the first child to have it bound again (the next
    /// one, or a start still binding, which binds it too): the children
    /// numbered below have the copy let go of, out of reach (see
    /// `unix_files`). Absent from an older image's state.
    #[serde(default, with = "pairs", skip_serializing_if = "BTreeMap::is_empty")]
    pub files_removed: BTreeMap<ListenerKey, ChildId>,
    pub next_id: ChildId,
    /// Every child not yet reaped.
    pub children: BTreeMap<ChildId, Child>,
    pub phase: Phase,
    /// What restarts and SIGHUP start: the launch that served last, or the
    /// one a rollback brings back.
    pub current: Launch,
    pub reloads: u64,
    pub failures: u64,
    pub last_failure: Option<String>,
    /// How the last child to end while serving ended, in words, failure
    /// or not (on its own, at a stop, lost in an upgrade): a
    /// `persist` restart after a clean exit is told by it (absent from an
    /// older image's state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// The exit code of the last child that served, or failed to start
    /// while nothing served: what a stop reports when no child decides.
    pub last_code: i32,
    /// The next persist restart's delay (doubling up to a bound).
    pub restart_delay: Duration,
    /// When restarts happened, within the restart-limit window.
    pub restarts: VecDeque<Duration>,
    /// When to scan for orphaned descendants to reap.
    pub orphan_scan_at: Option<Duration>,
    /// State of the jitter's pseudo-random numbers.
    pub rng: u64,
    /// The supervisor's own binary.
    pub image: Image,
    pub upgrade: Option<Upgrading>,
    /// A binary not to upgrade to: an upgrade to it failed for a reason
    /// of its own. (One that cannot take over is told by each child's
    /// hello, and not kept here, lest it push out one that failed.)
    pub upgrade_refused: Option<FileId>,
    /// Why, for the line said to each later child of it (absent from an
    /// older image's state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_refused_why: Option<String>,
    /// A serving child whose binary could not be reached (it died just
    /// then): not tried again for it, but for the next child.
    pub upgrade_skipped: Option<ChildId>,
    /// The serving child for which an upgrade held off by a given-up
    /// exec was said (absent when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_held_for: Option<ChildId>,
}

impl State {
    /// What makes a state read back unusable though every field parsed (an
    /// image's bug, a hand edit), if anything: a child its phase or its
    /// upgrade names that is not among its children (the machine takes
    /// the serving and starting ones to be there), or a child numbered at
    /// or past `next_id` (the next start would take its number). The
    /// machine never makes one.
    pub fn inconsistency(&self) -> Option<String> {
        let mut named: Vec<(&str, ChildId)> = Vec::new();
        if let Phase::Up(up) = &self.phase {
            named.extend(up.serving.map(|id| ("the serving child", id)));
            named.extend((up.starting.as_ref()).map(|s| ("the starting child", s.id)));
            named.extend((up.probation.as_ref()).map(|p| ("the child on probation", p.id)));
        }
        named.extend((self.upgrade.as_ref()).map(|u| ("the upgrade's child", u.child)));
        if let Some((role, id)) = named.iter().find(|(_, id)| !self.children.contains_key(id)) {
            return Some(format!("{role}, {id}, is not among its children"));
        }
        if let Some(id) = self.children.keys().find(|id| **id >= self.next_id) {
            return Some(format!(
                "child {id} is numbered at or past the next number, {}",
                self.next_id
            ));
        }
        None
    }
}

/// One child process, whatever its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Child {
    /// Known once the driver reports it spawned.
    pub pid: Option<u32>,
    pub launch: Launch,
    pub started: Duration,
    /// When its spawn returned by the wall clock (Unix seconds), as the
    /// driver read it: what `status` shows, right across a clock step or a
    /// suspend since the supervisor started. Absent until spawned, and
    /// from an older image's state (the supervisor's start plus `started`
    /// stands in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix: Option<u64>,
    /// When it took over (was promoted): its health counts from there.
    /// Absent from an older image's state (its `started` stands in).
    #[serde(default)]
    pub serving_since: Option<Duration>,
    /// How long it may drain: its own setting once it said hello.
    pub lameduck_timeout: Duration,
    /// Told to wind down: killed if still running then.
    pub kill_at: Option<Duration>,
    pub lameducked: bool,
    /// Told, with its lameduck, to shut its TCP listeners for good.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refusing: bool,
    pub killed: bool,
    /// Killed before its spawn returned (given up on): whatever it ran,
    /// its start failed, and its death by that kill says 1, not 137.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub killed_unspawned: bool,
    /// Killed with a pid: its exit is waited for until then. Absent from
    /// an older image's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reap_by: Option<Duration>,
    /// Killed, and not dead by its `reap_by` (stuck in the kernel, on a
    /// file system that hangs, it may never die): given up on, as a
    /// spawn that never returned is. Absent from an older image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abandoned: bool,
    /// Started by a reload asked for (a control client's; a SIGHUP's while
    /// a child served), not by the supervisor on its own (the first start,
    /// a restart, a rollback, a SIGHUP's reload in a restart's place):
    /// once given up on, it counts against none of the supervisor's own
    /// starts. Absent (false, so counted, as every such child was) from an
    /// older image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_reload: bool,
    /// The binary it runs, once spawned (if it could be told).
    pub binary: Option<FileId>,
    /// Watched through a pidfd: while a child is watched by pid instead
    /// (a kernel without pidfds that can be waited on, before 5.4; a
    /// seccomp filter; out of descriptors), the supervisor does not
    /// upgrade in place. Absent from an older image's state, whose
    /// children an upgrade handed over: so watched.
    #[serde(default = "yes")]
    pub by_pidfd: bool,
    /// The file it runs, as the kernel named it at its start (if it could
    /// be told): what a rollback to it runs.
    #[serde(default, with = "crate::path_bytes::option")]
    pub resolved: Option<std::path::PathBuf>,
    /// It runs the earlier file held open, which its path no longer names.
    #[serde(default)]
    pub path_replaced: bool,
    /// The state version its binary takes over in an in-place upgrade, as
    /// its hello said; `None`: it takes over none.
    pub takes_over: Option<u32>,
    /// It reads the connections handed over from a queue
    /// ([`Effect::HandQueued`](super::Effect::HandQueued)), as its hello
    /// said; absent from an older image's state.
    #[serde(default)]
    pub reads_queued: bool,
    /// It reads that the child it started beside has ended
    /// ([`Effect::Alone`](super::Effect::Alone)), as its hello said;
    /// absent from an older image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reads_alone: bool,
}

impl Child {
    /// Given up on: killed, and without a pid (its spawn not returned:
    /// [`spawn_given_up`](Child::spawn_given_up)) or not dead of the kill
    /// in time ([`abandoned`](Child::abandoned)). A stop does not wait for
    /// it; which starts it counts against, `start_child` says.
    pub fn given_up(&self) -> bool {
        self.killed && (self.pid.is_none() || self.abandoned)
    }

    /// Given up on before its spawn returned (maybe never: an exec on a
    /// file system that hangs), its thread still waiting on it.
    pub fn spawn_given_up(&self) -> bool {
        self.killed && self.pid.is_none()
    }

    /// Its launch, run again from the very file it ran (held open by the
    /// driver for child `id`, this one), wherever its path points by then:
    /// what a rollback or a revival runs.
    pub fn launch_again(&self, id: ChildId) -> Launch {
        let mut launch = self.launch.clone();
        if self.resolved.is_some() {
            launch.target.file = self.resolved.clone();
        }
        launch.target.binary_of = Some(id);
        launch
    }
}

/// What the supervisor is doing. Serving, starting and queued reloads only
/// exist while it is up; a stop has only children to wait for.
// One per supervisor: boxing `Up` would save nothing worth the indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Phase {
    Up(Up),
    /// Winding down: every child has been told to, and the supervisor exits
    /// with `code` once the last is reaped.
    Stopping(Stopping),
    /// Done: the driver exits with this code.
    Exited {
        code: i32,
        /// [`Stopping::shut`], for the status of its last moments.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "pairs")]
        shut: BTreeMap<ListenerKey, String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Up {
    /// The child taking traffic; `None` only while a first start, restart
    /// or rollback is under way or due.
    pub serving: Option<ChildId>,
    /// A child started but not ready yet.
    pub starting: Option<Starting>,
    /// Reloads that arrived while a child was starting, in order.
    pub queued: VecDeque<Queued>,
    /// The last reload's child, rolled back if it dies soon.
    pub probation: Option<Probation>,
    /// A rolled-back launch to start if the reload under way fails too.
    pub fallback_to: Option<Launch>,
    /// A persist restart, due at this time.
    pub restart_at: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Starting {
    pub id: ChildId,
    /// Its listeners are being bound: it is not spawned yet.
    pub binding: bool,
    pub why: Why,
    /// What a reload's client is told with the listener changes, before
    /// them.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Why it will not become ready, once known.
    pub error: Option<String>,
    /// Deadlines for its hello (while `binding`: for its bind) and, from
    /// the hello on, its readiness.
    pub hello_by: Option<Duration>,
    pub ready_by: Option<Duration>,
    /// How long it has to become ready, from its hello: its own setting.
    pub ready_timeout: Duration,
    /// A reload's: the child it was to replace died on its own meanwhile.
    /// Its launch (its file held) and binary, what to come back to should
    /// this child die in its probation. Absent from an older image's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_died: Option<(Launch, Option<FileId>)>,
    /// Told at its spawn that another child served
    /// (some of [`Effect::Spawn`](super::Effect::Spawn)'s `served`), and
    /// not told since that none does. Absent from an older image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub beside_serving: bool,
    /// A restart's in place of a serving child lost in an upgrade while on
    /// probation: that probation, which this child takes over once ready
    /// (see `on_child_lost`). Absent from an older image's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_probation: Option<Probation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Why {
    First,
    /// A reload, asked for by a control client or (`None`) by SIGHUP.
    Reload {
        client: Option<ClientId>,
    },
    Restart,
    /// Back to the binary a failed reload replaced.
    Fallback,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::First => "first start",
            Why::Reload { .. } => "reload",
            Why::Restart => "restart",
            Why::Fallback => "rollback",
        }
    }
}

/// A reload waiting for the child starting now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Queued {
    /// `None`: whatever serves when its turn comes (SIGHUP).
    pub spec: Option<ReloadSpec>,
    pub client: Option<ClientId>,
}

impl Queued {
    /// A SIGHUP's: no binary named, no client. Two of them side by side
    /// are one reload (the later reads the path afresh when it runs).
    pub fn is_sighup(&self) -> bool {
        self.spec.is_none() && self.client.is_none()
    }

    /// What it reloads to, for the log.
    pub fn target(spec: Option<&ReloadSpec>) -> String {
        spec.map_or("the serving binary".to_owned(), |s| {
            s.target.path.display().to_string()
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Probation {
    pub id: ChildId,
    pub until: Duration,
    /// What the reload replaced.
    pub previous: Launch,
    /// `previous` is the launch of a child that died on its own while the
    /// reload started: coming back to it is a restart (persist, its limit
    /// and backoff), not an immediate rollback. Absent from an older
    /// image's state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revives: bool,
    /// The binary `previous` ran, when it `revives`: a reload queued
    /// behind that comes back to it (see `Starting::replaced_died`) does
    /// not if it runs that very binary. Absent from an older image's
    /// state (unknown: taken for another binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_binary: Option<FileId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stopping {
    /// Control clients waiting for the exit code.
    pub waiters: Vec<ClientId>,
    pub code: i32,
    /// The children serving and starting when the stop began, for
    /// `status` and for the exit code.
    pub serving: Option<ChildId>,
    pub starting: Option<Starting>,
    /// When the first stop signal came: another within a moment is the
    /// same stop; one later kills.
    pub signalled_at: Option<Duration>,
    /// When the effects of that first signal had been carried out: a copy
    /// read right after waited in the kernel meanwhile (the loop reads
    /// nothing while it carries them out), and is the same stop however
    /// long they took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performed_at: Option<Duration>,
    /// Where the stream sockets the stop shut listened, for `status`: a
    /// port-0 one's port was known only from its socket.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "pairs")]
    pub shut: BTreeMap<ListenerKey, String>,
}

impl Stopping {
    /// The child whose exit code the stop reports: the one serving when
    /// the stop began, or starting, if none served.
    pub fn decides(&self) -> Option<ChildId> {
        deciding(self.serving, self.starting.as_ref())
    }
}

/// The child whose exit code a stop reports, of `serving` and `starting`
/// as it began: the serving one, or, none serving, one starting that is
/// not still binding (which never runs, and is dropped at the stop).
pub(crate) fn deciding(serving: Option<ChildId>, starting: Option<&Starting>) -> Option<ChildId> {
    serving.or(starting.filter(|s| !s.binding).map(|s| s.id))
}

/// A map with structured keys as a list of pairs (JSON keys are strings).
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map)
    }

    pub fn deserialize<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
impl State {
    /// The clients whose reloads are queued.
    pub(crate) fn queued_clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        let queued = match &self.phase {
            Phase::Up(up) => Some(up.queued.iter()),
            _ => None,
        };
        queued.into_iter().flatten().filter_map(|q| q.client)
    }
}
