//! What a supervisor hands to its next image when it re-executes itself:
//! the machine's state, the events it had not handled yet, and the number
//! of every descriptor it keeps open across the exec, as versioned JSON in
//! a sealed memfd.
//!
//! The memfd and an fd of the previous binary are named in the
//! environment ([`ENV_VAR`]: `MEMFD,PREVIOUS`), outside the JSON, so that
//! an image that cannot read the JSON can still go back to the binary
//! that wrote it. That image then finds the reason in [`FAILED_VAR`].

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::machine::{ChildId, ClientId, Event, ListenerKey, STATE_VERSION, State};

/// Set for the new image: `MEMFD,PREVIOUS` (two descriptor numbers).
pub(crate) const ENV_VAR: &str = "LITTLEBOSS_UPGRADE";
/// Set when an image that could not take over goes back to the previous
/// binary: why it could not.
pub(crate) const FAILED_VAR: &str = "LITTLEBOSS_UPGRADE_FAILED";
/// Set with [`FAILED_VAR`] when the failure was not the new binary's own
/// (short of descriptors or memory, say): its release may be tried again.
/// Unset, as from an image that predates it, the release is refused.
pub(crate) const RETRY_VAR: &str = "LITTLEBOSS_UPGRADE_MAY_RETRY";
/// Set with [`FAILED_VAR`] when the image that went back could not take
/// the state back either, for a passing reason, and runs itself again:
/// how many tries it has made so far (a failed exec of itself is one).
pub(crate) const ROLLBACK_TRIES_VAR: &str = "LITTLEBOSS_UPGRADE_ROLLBACK_TRIES";
/// How many tries an image that went back makes at running itself again
/// (a failed exec is one) before it gives up: on the last, it does without
/// a child or client it cannot take (see `resume::register`); otherwise
/// the service ends with it.
pub(crate) const ROLLBACK_TRIES: u32 = 3;
/// Set for the image an exec starts when lines of the supervisor's were
/// still waiting for stderr (a slow reader), which the exec loses: how
/// many, for the new image to count as dropped and say so, and the
/// device and inode of the state handed over with them
/// (`COUNT:DEVICE:INODE`; see [`log_unsaid_value`]).
pub(crate) const LOG_UNSAID_VAR: &str = "LITTLEBOSS_UPGRADE_LOG_UNSAID";
/// Every variable of an upgrade, meant for the supervisor's next image
/// alone.
pub(crate) const VARS: [&str; 5] = [
    ENV_VAR,
    FAILED_VAR,
    RETRY_VAR,
    ROLLBACK_TRIES_VAR,
    LOG_UNSAID_VAR,
];
/// For tests: the state version the new image claims to read, to force a
/// mismatch and so a rollback.
pub(crate) const TEST_VERSION_VAR: &str = "LITTLEBOSS_TEST_READS_STATE_VERSION";
/// For tests: milliseconds the old image waits before its exec, and the
/// new one before it takes over, to widen the window of the upgrade.
pub(crate) const TEST_PAUSE_VAR: &str = "LITTLEBOSS_TEST_RESUME_PAUSE_MS";
/// For tests: a file whose removal ends those waits early, so that a test
/// acting in the window holds it open until it has acted (the waits then
/// only bound it).
pub(crate) const TEST_PAUSE_GATE_VAR: &str = "LITTLEBOSS_TEST_RESUME_PAUSE_GATE";
/// For tests: the one of those waits to make (`the exec` or `taking
/// over`), the other passed at once: a gate then holds that one alone.
pub(crate) const TEST_PAUSE_ONLY_VAR: &str = "LITTLEBOSS_TEST_RESUME_PAUSE_ONLY";
/// For tests: how many images in a row fail to start their runtime, as
/// one short of descriptors would (a passing failure), each counting it
/// down in its environment: a new image goes back to the previous binary,
/// an image that went back runs itself again.
pub(crate) const TEST_RUNTIME_FAILS_VAR: &str = "LITTLEBOSS_TEST_RUNTIME_FAILS";
/// For tests: how many images in a row cannot register the children
/// handed over with their runtime, counted down as
/// [`TEST_RUNTIME_FAILS_VAR`] is: a new image goes back, an image that
/// went back runs itself again, and on its last try kills them.
pub(crate) const TEST_REWATCH_FAILS_VAR: &str = "LITTLEBOSS_TEST_REWATCH_FAILS";
/// For tests: `1` makes the copies that each image registers of the
/// control socket, channels and connections handed over fail, as one
/// short of descriptors: a new image goes back, an image that went back
/// runs itself again, and its last try, which registers the handed-over
/// ones themselves, serves on with them all.
pub(crate) const TEST_NO_SPARE_FDS_VAR: &str = "LITTLEBOSS_TEST_NO_SPARE_FDS";

/// A test hook: how many of a new image's execs of the previous binary,
/// going back, fail (as short of processes) before one is made.
pub(crate) const TEST_GO_BACK_FAILS_VAR: &str = "LITTLEBOSS_TEST_GO_BACK_FAILS";

/// Everything the next image needs, descriptors by number.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Handoff {
    pub version: u32,
    pub state: State,
    /// Events received and not handled yet, in order (read on their own:
    /// see [`Handoff::decode`], which reads them apart from the rest,
    /// hence passed over here: a handoff is read through `decode` only).
    #[serde(skip_deserializing)]
    pub pending: Vec<Event>,
    /// Control requests handed over in `pending` that this binary's rules
    /// refuse: each client, and why (see [`Handoff::decode`]).
    #[serde(skip)]
    pub refused: Vec<(ClientId, String)>,
    /// When the driver's clock started, on `CLOCK_MONOTONIC` (the state's
    /// times are relative to it).
    pub origin_ns: u64,
    pub sockets: Vec<HandedSocket>,
    /// Each live child's channel.
    pub children: Vec<(ChildId, RawFd)>,
    /// Each control connection waiting for a final answer.
    pub clients: Vec<(ClientId, RawFd)>,
    /// Each other control connection: between requests, or with one begun.
    #[serde(default)]
    pub idle: Vec<RawFd>,
    /// What control connections (of `clients` and `idle`) had sent that
    /// was read already: a request begun, or one sent ahead of the answer
    /// to the last. Absent from an older image's handoff. An older image
    /// ignores it, and so reads such a connection's rest as a request of
    /// its own, and answers it with an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<(RawFd, Vec<u8>)>,
    /// What control connections (of `clients` and `idle`) were owed and
    /// not yet sent: answers, or the rest of one. Absent from an older
    /// image's handoff. An older image ignores it: those bytes are lost,
    /// and a connection caught halfway through an answer gets its next
    /// answer right after the half line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsent: Vec<(RawFd, Vec<u8>)>,
    /// The binary of each child that may run again (a rollback's), held
    /// open. Absent from an older image's handoff. An older image ignores
    /// it: its rollbacks run the file by its path, and these descriptors
    /// stay open, unused (and, in an image before the sweep in `resume`,
    /// inherited by the children it starts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<(ChildId, RawFd)>,
    pub next_client: ClientId,
    pub control: RawFd,
    #[serde(with = "crate::path_bytes")]
    pub control_path: PathBuf,
    /// The control socket's file as the first image made it,
    /// `[device, inode]`: removed at the exit only while the path names it.
    /// `[0, 0]` when it is known gone. Absent from an older image's handoff
    /// (then taken from the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_id: Option<[u64; 2]>,
    pub lock: RawFd,
    /// The file `lock` is open on, `[device, inode]`, as the image that
    /// handed it over saw it: a file the program's code before `run`
    /// opened at that number (where `/proc` cannot tell) is not taken for
    /// it. Absent from an older image's handoff (then not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_id: Option<[u64; 2]>,
    #[serde(with = "crate::path_bytes")]
    pub lock_path: PathBuf,
    /// The inotify instance watching the control folder (see
    /// `control::watch`). Absent from an older image's handoff (the new
    /// image starts its own); an older image ignores it, leaving it open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<RawFd>,
    /// `$NOTIFY_SOCKET` and the watchdog interval, when there is a
    /// service manager (they are gone from the environment).
    pub notify: Option<(OsString, Option<u64>)>,
    /// A socket connected to the service manager's notify socket as the
    /// first image started: a chroot its `supervisor_init` entered may
    /// hide the path. Absent from an older image's handoff (the new image
    /// sends by the path); an older image ignores it, leaving it open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fd: Option<RawFd>,
    /// The folders the first image's start made on the way to the control
    /// folder, made again after a removal (see `driver::Parts`).
    /// Absent from an older image's handoff (then none: a removed one is
    /// waited for, as one another made); an older image ignores it.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::path_bytes::list"
    )]
    pub made_at_start: Vec<PathBuf>,
    /// The control folder is out of the supervisor's sight (see
    /// `driver::Parts`). Absent from an older image's handoff (then in
    /// sight); an older image ignores it, and so remakes the files in
    /// the chroot, letting go of the lock (said in the CHANGELOG).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control_out_of_sight: bool,
}

/// A listening socket kept across the exec.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct HandedSocket {
    pub key: ListenerKey,
    pub fd: RawFd,
    /// A unix socket's path, when this supervisor bound it.
    #[serde(default, with = "crate::path_bytes::option")]
    pub unix_path: Option<PathBuf>,
    /// That file's identity, `[device, inode]` (absent from an older
    /// image: then the file at the path when the new image takes over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix_id: Option<[u64; 2]>,
    /// The folder that file was seen in, in place (absent from an older
    /// image, or where it was not seen so: then the folder it is in at the
    /// new image's start, if it is there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix_folder: Option<[u64; 2]>,
}

/// Why a handoff cannot be taken over.
#[derive(Debug)]
pub(crate) enum HandoffError {
    /// The environment variable is not `MEMFD,PREVIOUS`.
    BadVariable(String),
    /// One of the two descriptors it names is not open: the new binary's
    /// code before `run` closed it (a `closefrom(3)`), and with it what
    /// the state was in or the way back.
    NotOpen {
        fd: RawFd,
        /// What it held: "the handed-over state", "the previous binary".
        what: &'static str,
    },
    /// One of the two is open, but another file than the one handed over:
    /// the new binary's code before `run` closed it and opened its own
    /// there (or, in an image gone back to, opened its own at a number
    /// the failed image had closed).
    Replaced {
        fd: RawFd,
        /// As for `NotOpen`.
        what: &'static str,
    },
    /// The descriptor named as the state is not the sealed memfd a
    /// supervisor hands over: the variable was not set for this process
    /// (copied from a supervisor's environment, which `/proc` shows).
    NotSealed { fd: RawFd },
    /// The memfd cannot be read.
    Read(io::Error),
    /// Not JSON of a handoff.
    Corrupt(serde_json::Error),
    /// Written in a version this binary does not read.
    Version { theirs: u32, ours: u32 },
}

impl HandoffError {
    /// Whether the binary that reads the handoff is at fault, so that
    /// trying it again could only fail again: it cannot read what its
    /// previous image wrote. A failure to read the memfd is not its own.
    pub fn blames_the_reader(&self) -> bool {
        match self {
            HandoffError::Read(_) => false,
            HandoffError::BadVariable(_)
            | HandoffError::NotOpen { .. }
            | HandoffError::Replaced { .. }
            | HandoffError::NotSealed { .. }
            | HandoffError::Corrupt(_)
            | HandoffError::Version { .. } => true,
        }
    }
}

impl std::fmt::Display for HandoffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandoffError::BadVariable(value) => {
                write!(f, "{ENV_VAR}={value:?} is not two descriptor numbers")
            }
            HandoffError::NotOpen { fd, what } => write!(
                f,
                "descriptor {fd}, {what}, is not open: did this binary's code before `run` close it? (Or was {ENV_VAR} copied from a supervisor's environment? Then unset it.)"
            ),
            HandoffError::NotSealed { fd } => write!(
                f,
                "descriptor {fd}, named as the handed-over state, is not the sealed memfd a supervisor hands over: was {ENV_VAR} copied from a supervisor's environment? Then unset it."
            ),
            HandoffError::Replaced { fd, what } => write!(
                f,
                "descriptor {fd}, {what}, is another file than the one handed over: did code before `run` close it and open a file of its own there?"
            ),
            HandoffError::Read(e) => write!(f, "cannot read the handed-over state: {e}"),
            HandoffError::Corrupt(e) => write!(f, "the handed-over state is corrupt: {e}"),
            HandoffError::Version { theirs, ours } => write!(
                f,
                "the handed-over state is version {theirs}; this binary reads version {ours}"
            ),
        }
    }
}

impl std::error::Error for HandoffError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HandoffError::Read(e) => Some(e),
            HandoffError::Corrupt(e) => Some(e),
            HandoffError::BadVariable(_)
            | HandoffError::NotOpen { .. }
            | HandoffError::Replaced { .. }
            | HandoffError::NotSealed { .. }
            | HandoffError::Version { .. } => None,
        }
    }
}

impl Handoff {
    /// For a test: a serving state's handoff naming only the control
    /// socket at `control` and the lock at `lock` (their paths in /run).
    #[cfg(test)]
    pub(crate) fn naming_only(control: RawFd, lock: RawFd) -> Handoff {
        use crate::supervisor::machine::serving_state;
        Handoff {
            version: STATE_VERSION,
            state: serving_state(),
            pending: vec![],
            refused: vec![],
            origin_ns: 0,
            sockets: vec![],
            children: vec![],
            clients: vec![],
            idle: vec![],
            unread: vec![],
            unsent: vec![],
            binaries: vec![],
            next_client: 1,
            control,
            control_path: "/run/svc.sock".into(),
            control_id: None,
            lock,
            lock_id: None,
            lock_path: "/run/svc.lock".into(),
            watch: None,
            notify: None,
            notify_fd: None,
            made_at_start: vec![],
            control_out_of_sight: false,
        }
    }

    /// Every descriptor it names.
    pub fn fds(&self) -> Vec<RawFd> {
        let mut fds: Vec<RawFd> = self.sockets.iter().map(|s| s.fd).collect();
        fds.extend(self.children.iter().map(|(_, fd)| *fd));
        fds.extend(self.clients.iter().map(|(_, fd)| *fd));
        fds.extend(&self.idle);
        fds.extend(self.binaries.iter().map(|(_, fd)| *fd));
        fds.extend([self.control, self.lock]);
        fds.extend(self.watch);
        fds.extend(self.notify_fd);
        fds
    }

    /// The JSON, in a sealed memfd, close-on-exec (made inheritable with
    /// the other handed descriptors, just before the exec).
    pub fn seal(&self) -> io::Result<OwnedFd> {
        let json = serde_json::to_vec(self).map_err(io::Error::other)?;
        use nix::sys::memfd::{MFdFlags, memfd_create};
        // Data, never run: said with `MFD_NOEXEC_SEAL` (Linux 6.3), which
        // `vm.memfd_noexec=2` requires; an older kernel refuses the flag.
        let noexec = MFdFlags::from_bits_retain(nix::libc::MFD_NOEXEC_SEAL);
        let flags = MFdFlags::MFD_ALLOW_SEALING | MFdFlags::MFD_CLOEXEC;
        let fd = match memfd_create("littleboss-state", flags | noexec) {
            Err(nix::errno::Errno::EINVAL) => memfd_create("littleboss-state", flags)?,
            created => created?,
        };
        let mut file = std::fs::File::from(fd);
        file.write_all(&json)?;
        let seals = nix::fcntl::SealFlag::F_SEAL_SEAL
            | nix::fcntl::SealFlag::F_SEAL_SHRINK
            | nix::fcntl::SealFlag::F_SEAL_GROW
            | nix::fcntl::SealFlag::F_SEAL_WRITE;
        nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_ADD_SEALS(seals))?;
        Ok(OwnedFd::from(file))
    }

    /// Reads a handoff from `memfd`; `reads` is the version this binary
    /// reads.
    pub fn read(memfd: &OwnedFd, reads: u32) -> Result<Handoff, HandoffError> {
        let json = Handoff::json_in(memfd).map_err(HandoffError::Read)?;
        Handoff::decode(&json, reads)
    }

    /// Every descriptor the handoff in `memfd` names, whatever its
    /// version and whatever else it holds: an image going back hands on
    /// what a state it could not read names (a newer version's, a layout
    /// of its own it cannot read whole), and where the descriptors open at
    /// its start could not be listed (no `/proc`) this is all it knows of
    /// them. Each field that names descriptors read on its own: one this
    /// binary cannot read names none. Empty if the memfd holds no JSON.
    ///
    /// ```ignore
    /// let fds = Handoff::fds_in(&memfd);
    /// ```
    pub fn fds_in(memfd: &OwnedFd) -> Vec<RawFd> {
        match Handoff::json_in(memfd) {
            Ok(json) => fds_named_in(&json),
            Err(_) => Vec::new(),
        }
    }

    /// The version the handoff `json` says it is, and its pending events'
    /// JSON text, borrowed (any value: a newer layout's is still named by
    /// its version).
    fn head_of(json: &[u8]) -> serde_json::Result<(u32, Option<&RawValue>)> {
        #[derive(Deserialize)]
        struct Head<'a> {
            version: u32,
            #[serde(borrow)]
            pending: Option<&'a RawValue>,
        }
        serde_json::from_slice::<Head>(json).map(|head| (head.version, head.pending))
    }

    /// The JSON in `memfd`, read from its start.
    fn json_in(memfd: &OwnedFd) -> io::Result<Vec<u8>> {
        let mut file = std::fs::File::from(memfd.try_clone()?);
        file.rewind()?;
        let mut json = Vec::new();
        file.read_to_end(&mut json)?;
        Ok(json)
    }

    /// The service manager's socket and watchdog interval (microseconds)
    /// that the handoff in `memfd` names, if it names both, and the socket
    /// connected to it if it names one, whatever its version: for a ping
    /// on the way back to the previous image, which may have written a
    /// layout this one cannot read whole.
    ///
    /// ```ignore
    /// if let Some((socket, usec, connected)) = Handoff::watchdog_of(&memfd) { /* ping */ }
    /// ```
    pub fn watchdog_of(memfd: &OwnedFd) -> Option<(OsString, u64, Option<RawFd>)> {
        watchdog_in(&Handoff::json_in(memfd).ok()?)
    }

    /// The version first, so that a newer layout is named as such rather
    /// than reported as corrupt.
    pub fn decode(json: &[u8], reads: u32) -> Result<Handoff, HandoffError> {
        let (version, pending) = Handoff::head_of(json).map_err(HandoffError::Corrupt)?;
        if version != reads {
            return Err(HandoffError::Version {
                theirs: version,
                ours: reads,
            });
        }
        // Read straight into its types, never whole into a tree of JSON
        // values, where a control connection's unread bytes (numbers)
        // would take thirty-odd times their size: a request of megabytes
        // begun at an upgrade would have the new image take a gigabyte.
        let mut handoff: Handoff = serde_json::from_slice(json).map_err(HandoffError::Corrupt)?;
        // The events as their JSON text, borrowed, each read on its own
        // below.
        let pending = pending
            .ok_or_else(|| serde::de::Error::missing_field("pending"))
            .and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()))
            .map_err(HandoffError::Corrupt)?;
        // Refused here, while the way back is held, not met as a panic
        // once the new image has let go of it.
        if let Some(why) = handoff.state.inconsistency() {
            return Err(HandoffError::Corrupt(serde::de::Error::custom(why)));
        }
        // Doubled and jittered unchecked: within this build's bound (an
        // image built with a longer one may hand its state back here).
        let delay = &mut handoff.state.restart_delay;
        *delay = (*delay).min(crate::supervisor::machine::RESTART_MAX);
        // Each event read on its own. A control request that came in the
        // exec window was read by the previous binary's rules: one that
        // this binary's refuse (a later version's, tighter) is refused as
        // it would be had it come now, not taken for a corrupt state that
        // fails the upgrade.
        #[derive(Deserialize)]
        enum ControlOf {
            Control { client: ClientId },
        }
        for raw in pending {
            let text = raw.get();
            // A request with a field this binary does not know (handed on
            // by a newer one, going back or downgrading) is refused, as
            // it would be had it come now, not carried out without it.
            if let Some(refused) = refused_for_unknown_field(text) {
                handoff.refused.push(refused);
                continue;
            }
            match serde_json::from_str::<Event>(text) {
                Ok(event) => handoff.pending.push(event),
                Err(e) => match serde_json::from_str::<ControlOf>(text) {
                    Ok(ControlOf::Control { client }) => {
                        let said =
                            crate::control::protocol::ProtocolError::unreadable_handed_over(e);
                        handoff.refused.push((client, said.to_string()));
                    }
                    Err(_) => return Err(HandoffError::Corrupt(e)),
                },
            }
        }
        Ok(handoff)
    }
}

/// [`Handoff::watchdog_of`] for the handoff `json`: each field read on
/// its own, so that a connected socket this binary cannot read leaves the
/// path.
fn watchdog_in(json: &[u8]) -> Option<(OsString, u64, Option<RawFd>)> {
    let whole = fields_of(json, &["notify", "notify_fd"]).ok()?;
    let notify = <(OsString, Option<u64>)>::deserialize(whole.get("notify")?).ok()?;
    let (socket, usec) = (notify.0, notify.1?);
    let connected = (whole.get("notify_fd")).and_then(|fd| RawFd::deserialize(fd).ok());
    Some((socket, usec, connected))
}

/// [`Handoff::fds_in`] for the handoff `json`: the fields
/// [`Handoff::fds`] reads, each on its own, and of each only the numbers.
fn fds_named_in(json: &[u8]) -> Vec<RawFd> {
    use serde::de::{DeserializeOwned, IgnoredAny};
    let named = [
        "sockets",
        "children",
        "clients",
        "binaries",
        "idle",
        "control",
        "lock",
        "watch",
        "notify_fd",
    ];
    let Ok(whole) = fields_of(json, &named) else {
        return Vec::new();
    };
    type Fields = serde_json::Map<String, serde_json::Value>;
    fn field<T: DeserializeOwned + Default>(whole: &Fields, name: &str) -> T {
        (whole.get(name))
            .and_then(|value| T::deserialize(value).ok())
            .unwrap_or_default()
    }
    #[derive(Deserialize)]
    struct Numbered {
        fd: RawFd,
    }
    let mut fds: Vec<RawFd> = (field::<Vec<Numbered>>(&whole, "sockets").into_iter())
        .map(|socket| socket.fd)
        .collect();
    for by_id in ["children", "clients", "binaries"] {
        fds.extend(
            field::<Vec<(IgnoredAny, RawFd)>>(&whole, by_id)
                .into_iter()
                .map(|(_, fd)| fd),
        );
    }
    fds.extend(field::<Vec<RawFd>>(&whole, "idle"));
    for single in ["control", "lock", "watch", "notify_fd"] {
        fds.extend(field::<Option<RawFd>>(&whole, single));
    }
    fds
}

/// The top-level fields `names` of the JSON object `json`, each as a JSON
/// value; the others passed over unread (never made a tree of values:
/// see [`Handoff::decode`]).
fn fields_of(
    json: &[u8],
    names: &[&str],
) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Picked<'a>(&'a [&'a str]);
    impl<'de> Visitor<'de> for Picked<'_> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a handoff object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut picked = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                match self.0.contains(&key.as_str()) {
                    true => drop(picked.insert(key, map.next_value()?)),
                    false => drop(map.next_value::<IgnoredAny>()?),
                }
            }
            Ok(picked)
        }
    }
    impl<'de> DeserializeSeed<'de> for Picked<'_> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut reader = serde_json::Deserializer::from_slice(json);
    let picked = Picked(names).deserialize(&mut reader)?;
    reader.end()?;
    Ok(picked)
}

/// The client and the refusal of a handed-over control request whose
/// fields this binary does not all know, if `event` is one.
fn refused_for_unknown_field(event: &str) -> Option<(ClientId, String)> {
    #[derive(Deserialize)]
    enum ControlRequest<'a> {
        Control {
            client: ClientId,
            #[serde(borrow)]
            request: &'a RawValue,
        },
    }
    let ControlRequest::Control { client, request } = serde_json::from_str(event).ok()?;
    let refused = crate::control::protocol::unknown_field_in(request.get())?;
    Some((client, refused.to_string()))
}

/// The value of [`ENV_VAR`].
pub(crate) fn env_value(memfd: &OwnedFd, previous: &OwnedFd) -> String {
    format!("{},{}", memfd.as_raw_fd(), previous.as_raw_fd())
}

/// [`ENV_VAR`]'s two descriptor numbers, the memfd's and the previous
/// binary's, if `value` reads as two, neither a standard stream's nor
/// the other's.
pub(crate) fn env_numbers(value: &str) -> Option<(RawFd, RawFd)> {
    let (memfd, previous) = value.split_once(',')?;
    let (memfd, previous): (RawFd, RawFd) = (memfd.parse().ok()?, previous.parse().ok()?);
    (memfd != previous && memfd > 2 && previous > 2).then_some((memfd, previous))
}

/// Takes [`ENV_VAR`]'s two descriptors: the memfd and the previous binary.
///
/// # Safety
///
/// The two numbers must be descriptors this process inherited for this
/// purpose and that nothing else owns.
pub(crate) unsafe fn take(value: &str) -> Result<(OwnedFd, OwnedFd), HandoffError> {
    let (memfd, previous) =
        env_numbers(value).ok_or_else(|| HandoffError::BadVariable(value.to_owned()))?;
    let open = |fd: RawFd| {
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) != -1 }
    };
    let named = [
        (memfd, "the handed-over state"),
        (previous, "the previous binary"),
    ];
    if let Some((fd, what)) = named.into_iter().find(|(fd, _)| !open(*fd)) {
        return Err(HandoffError::NotOpen { fd, what });
    }
    // Not the program's file at that number: read as the state, or run
    // as the way back, it would be taken for what it is not.
    let replaced = named
        .into_iter()
        .find(|(fd, _)| crate::inherited::not_as_handed(*fd));
    if let Some((fd, what)) = replaced {
        return Err(HandoffError::Replaced { fd, what });
    }
    // Open since the start, as handed, but no state: the variable was
    // not set for this process.
    if !sealed_as_handed(memfd) {
        return Err(HandoffError::NotSealed { fd: memfd });
    }
    // SAFETY: both are open and what was handed over (just checked),
    // distinct, and the caller guarantees nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(memfd), OwnedFd::from_raw_fd(previous)) })
}

/// Whether `fd` has the seals [`Handoff::seal`] sets (every version has
/// set them): a file or pipe that is not a memfd has none, and is not to
/// be read as the state (a `/dev/zero` would be read without end).
fn sealed_as_handed(fd: RawFd) -> bool {
    // SAFETY: F_GET_SEALS only reads the descriptor's seals; one that is
    // not shmem fails (EINVAL), and a shmem file not a memfd has only
    // F_SEAL_SEAL.
    let seals = unsafe { nix::libc::fcntl(fd, nix::libc::F_GET_SEALS) };
    let wanted = nix::libc::F_SEAL_WRITE | nix::libc::F_SEAL_GROW | nix::libc::F_SEAL_SHRINK;
    seals != -1 && seals & wanted == wanted
}

/// The children whose exit is among `events`: reaped already, so with
/// neither watcher nor channel to hand over.
pub(crate) fn exited(events: &[Event]) -> HashSet<ChildId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Exited { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// A test's pause, in milliseconds, as the supervisor exits (its files
/// let go of, its last answers going out, a request read meanwhile still
/// answered), for a test to act while it is on its way out.
pub(crate) const TEST_EXIT_PAUSE_VAR: &str = "LITTLEBOSS_TEST_EXIT_PAUSE_MS";

/// A test's gate as the supervisor exits: a file whose presence holds it
/// there as [`TEST_EXIT_PAUSE_VAR`] does, for a minute at most, so that a
/// test acts while it is on its way out and then lets it go.
pub(crate) const TEST_EXIT_GATE_VAR: &str = "LITTLEBOSS_TEST_EXIT_GATE";

/// [`LOG_UNSAID_VAR`]'s value for an exec that hands over the state in
/// `memfd`: the lines stderr has not taken yet (call it after the last
/// flush), or `None` when there are none. A line being written counts,
/// though the writer may finish it before the exec (one too many, at
/// most).
pub(crate) fn log_unsaid_value(memfd: BorrowedFd<'_>) -> Option<String> {
    let unsaid = crate::log::unsaid();
    if unsaid == 0 {
        return None;
    }
    Some(format!("{unsaid}:{}", state_id(memfd)?))
}

/// The device and inode of the state in `memfd`, as `DEVICE:INODE`.
fn state_id(memfd: BorrowedFd<'_>) -> Option<String> {
    let stat = nix::sys::stat::fstat(memfd).ok()?;
    Some(format!("{}:{}", stat.st_dev, stat.st_ino))
}

/// The count [`LOG_UNSAID_VAR`]'s `value` gives if it came with the state
/// in `memfd`: an image of a build that predates the variable keeps it
/// in its environment, and passes on one set for an earlier exec.
pub(crate) fn log_unsaid(value: &std::ffi::OsStr, memfd: BorrowedFd<'_>) -> Option<u64> {
    let (count, state) = value.to_str()?.split_once(':')?;
    (Some(state) == state_id(memfd).as_deref()).then(|| count.parse().ok())?
}

/// Waits as a test asked, saying so first (`before`: what it waits
/// before), so that the test can act in the window: the time asked, or
/// less once the gate file, if one is named, is gone.
pub(crate) fn test_pause(before: &str) {
    let Some(ms) = crate::test_hook::test_hook::<u64>(TEST_PAUSE_VAR) else {
        return;
    };
    let only = crate::test_hook::test_hook::<String>(TEST_PAUSE_ONLY_VAR);
    if only.is_some_and(|only| only != before) {
        return;
    }
    crate::log::log!("test pause: {ms} ms before {before}");
    crate::test_hook::pause(ms, TEST_PAUSE_GATE_VAR);
}

/// The version this binary reads (a test may claim another).
pub(crate) fn version_read() -> u32 {
    crate::test_hook::test_hook(TEST_VERSION_VAR).unwrap_or(STATE_VERSION)
}

#[cfg(test)]
mod tests {
    use super::{HandedSocket, Handoff, HandoffError, ListenerKey};

    #[test]
    fn a_count_of_lost_lines_counts_only_with_the_state_it_came_with() {
        use std::os::fd::AsFd;
        // Two files open at once in one folder: two inodes of one device.
        let (state, other) = (unlinked_file("state"), unlinked_file("other"));
        let id = super::state_id(state.as_fd()).unwrap();
        let value = |v: String| std::ffi::OsString::from(v);
        assert_eq!(
            super::log_unsaid(&value(format!("7:{id}")), state.as_fd()),
            Some(7)
        );
        // Set for an earlier exec, another state's: passed on by an image
        // that predates it.
        assert_eq!(
            super::log_unsaid(&value(format!("7:{id}")), other.as_fd()),
            None
        );
        for garbage in ["7".to_owned(), format!("x:{id}"), String::new(), ":".into()] {
            assert_eq!(super::log_unsaid(&value(garbage), state.as_fd()), None);
        }
    }

    /// A file of its own, open and no longer named.
    fn unlinked_file(name: &str) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("lb-unsaid-{name}-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn a_newer_version_is_named_and_garbage_is_corrupt() {
        let newer = br#"{"version":2,"state":"whatever the future holds"}"#;
        let e = Handoff::decode(newer, 1).unwrap_err();
        assert!(
            matches!(e, HandoffError::Version { theirs: 2, ours: 1 }),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the handed-over state is version 2; this binary reads version 1"
        );
        let e = Handoff::decode(b"\x00\x01not json", 1).unwrap_err();
        assert!(matches!(e, HandoffError::Corrupt(_)), "{e}");
        let e = Handoff::decode(br#"{"version":1,"state":{}}"#, 1).unwrap_err();
        assert!(matches!(e, HandoffError::Corrupt(_)), "{e}");
    }

    #[test]
    fn only_a_handoff_the_binary_cannot_understand_refuses_its_release() {
        let version = Handoff::decode(br#"{"version":2}"#, 1).unwrap_err();
        let corrupt = Handoff::decode(b"not json", 1).unwrap_err();
        assert!(version.blames_the_reader() && corrupt.blames_the_reader());
        // A memfd that could not be read (here: not open) may read next time.
        let closed = std::io::Error::from_raw_os_error(nix::libc::EBADF);
        assert!(!HandoffError::Read(closed).blames_the_reader());
    }

    #[test]
    fn a_request_of_megabytes_begun_at_an_upgrade_is_read_back_whole_beside_the_fields_read_apart()
    {
        // The fields read apart (`pending`, the way back's descriptors
        // and watchdog) and the rest straight into their types, beside a
        // begun request of megabytes. (What that saves, memory, this does
        // not measure.)
        use crate::supervisor::machine::STATE_VERSION;
        let begun: Vec<u8> = (0..2 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        let handoff = Handoff {
            idle: vec![8],
            unread: vec![(8, begun.clone())],
            notify: Some(("/run/systemd/notify".into(), Some(5_000_000))),
            notify_fd: Some(9),
            ..Handoff::naming_only(3, 4)
        };
        let json = serde_json::to_vec(&handoff).unwrap();
        let back = Handoff::decode(&json, STATE_VERSION).unwrap();
        assert_eq!(back.unread, vec![(8, begun)]);
        assert_eq!(super::fds_named_in(&json), handoff.fds());
        let watchdog = super::watchdog_in(&json).unwrap();
        assert_eq!(watchdog, ("/run/systemd/notify".into(), 5_000_000, Some(9)));
        // The fields asked for alone, the rest passed over.
        let picked = super::fields_of(&json, &["idle", "none"]).unwrap();
        assert_eq!(picked.keys().collect::<Vec<_>>(), ["idle"]);
        assert!(super::fields_of(b"{} trailing", &["idle"]).is_err());
    }

    /// Runs in a process of its own (this test binary run again), so
    /// that its peak memory is its own.
    #[test]
    fn reloads_with_megabytes_of_arguments_pending_at_an_upgrade_are_read_in_about_their_size() {
        use crate::supervisor::machine::{Event, STATE_VERSION, serving_state};
        let name = "supervisor::handoff::tests::reloads_with_megabytes_of_arguments_pending_at_an_upgrade_are_read_in_about_their_size";
        if !crate::alone::in_a_process_of_its_own(name, "LITTLEBOSS_TEST_HANDOFF_PEAK") {
            return;
        }
        // Four reloads, each with 4 MiB of arguments, the most an exec
        // takes of each (written as serde writes an `OsString`: numbers).
        let argument = "a".repeat(crate::arg_bytes::LONGEST);
        let args = vec![serde_json::json!(argument); 32];
        let line = serde_json::json!({"v": 1, "cmd": "reload", "path": "/x", "args": args});
        let request =
            crate::control::protocol::decode_request(line.to_string().as_bytes()).unwrap();
        let handoff = Handoff {
            state: serving_state(),
            pending: (0..4)
                .map(|client| Event::Control {
                    client,
                    request: request.clone(),
                })
                .collect(),
            ..Handoff::naming_only(3, 4)
        };
        let json = serde_json::to_vec(&handoff).unwrap();
        drop((handoff, request, args, line));
        let kib = |field: &str| -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = status.lines().find(|l| l.starts_with(field)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        // The peak set back to what is in use now (Linux's `clear_refs`,
        // which a kernel may lack).
        if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
            return crate::skipped::skipped(&format!("/proc/self/clear_refs: {e}"));
        }
        let before = kib("VmHWM:");
        let back = Handoff::decode(&json, STATE_VERSION).unwrap();
        let grown = kib("VmHWM:") - before;
        assert_eq!(back.pending.len(), 4);
        assert!(back.refused.is_empty(), "{:?}", back.refused);
        // What the four hold (16 MiB), and a little: not a tree of JSON
        // values, thirty-odd bytes a byte.
        assert!(
            grown < 40 << 10,
            "{grown} KiB grown to read {} KiB",
            json.len() >> 10
        );
    }

    #[test]
    fn unread_unsent_and_binaries_go_across_and_an_older_handoff_has_none() {
        use crate::supervisor::machine::STATE_VERSION;
        let handoff = Handoff {
            clients: vec![(1, 7)],
            idle: vec![8],
            unread: vec![
                (7, b"{\"v\":1,\"cmd\":\"status\"}\n".to_vec()),
                (8, b"{\"v\":".to_vec()),
            ],
            unsent: vec![(7, b"{\"type\":\"reloading\",\"pid\":9}\n{\"ty".to_vec())],
            binaries: vec![(2, 9)],
            control_id: Some([1, 2]),
            ..Handoff::naming_only(3, 4)
        };
        let json = serde_json::to_vec(&handoff).unwrap();
        let back = Handoff::decode(&json, STATE_VERSION).unwrap();
        assert_eq!(back.unread, handoff.unread);
        assert_eq!(back.unsent, handoff.unsent);
        assert_eq!(back.binaries, handoff.binaries);
        assert!(back.fds().contains(&9), "the binary's fd is kept open");
        assert_eq!(back.fds(), handoff.fds());
        // What an image before `unread` and `unsent` wrote.
        let mut older: serde_json::Value = serde_json::from_slice(&json).unwrap();
        older.as_object_mut().unwrap().remove("unread");
        older.as_object_mut().unwrap().remove("unsent");
        older.as_object_mut().unwrap().remove("binaries");
        let older = serde_json::to_vec(&older).unwrap();
        let back = Handoff::decode(&older, STATE_VERSION).unwrap();
        assert!(back.unread.is_empty());
        assert!(back.unsent.is_empty());
        assert!(back.binaries.is_empty());
        assert_eq!((back.clients, back.idle), (vec![(1, 7)], vec![8]));
        // Sealed into a memfd, as an upgrade hands it on, and read back.
        let memfd = handoff.seal().unwrap();
        let back = Handoff::read(&memfd, STATE_VERSION).unwrap();
        assert_eq!(back.unsent, handoff.unsent);
        let seals = nix::fcntl::fcntl(&memfd, nix::fcntl::FcntlArg::F_GET_SEALS).unwrap();
        let write = nix::fcntl::SealFlag::F_SEAL_WRITE.bits();
        assert_eq!(seals & write, write, "sealed against writes: {seals:#x}");
        // Inheritable only once the exec is next (see `upgrade::exec`).
        assert!(!crate::inherited::tests::open_across_exec(&memfd));
    }

    #[test]
    fn a_request_handed_over_that_this_binary_refuses_is_answered_not_corrupt() {
        use crate::supervisor::machine::{Event, STATE_VERSION, Signal, serving_state};
        let line = br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"api","network":"tcp","address":":8080"}]}"#;
        let request = crate::control::protocol::decode_request(line).unwrap();
        let handoff = Handoff {
            version: STATE_VERSION,
            state: serving_state(),
            pending: vec![
                Event::Control { client: 5, request },
                Event::Signal(Signal::Hup),
            ],
            refused: vec![],
            origin_ns: 0,
            sockets: vec![],
            children: vec![],
            clients: vec![(5, 7)],
            idle: vec![],
            unread: vec![],
            unsent: vec![],
            binaries: vec![],
            next_client: 6,
            control: 3,
            control_path: "/run/svc.sock".into(),
            control_id: None,
            lock: 4,
            lock_id: None,
            lock_path: "/run/svc.lock".into(),
            watch: None,
            notify: None,
            notify_fd: None,
            made_at_start: vec!["/srv/app".into(), "/srv/app/run".into()],
            control_out_of_sight: true,
        };
        let json = serde_json::to_value(&handoff).unwrap();
        let back = Handoff::decode(&serde_json::to_vec(&json).unwrap(), STATE_VERSION).unwrap();
        assert_eq!(back.made_at_start, handoff.made_at_start);
        assert!(back.control_out_of_sight);
        assert!(
            matches!(
                back.pending[..],
                [Event::Control { client: 5, .. }, Event::Signal(Signal::Hup)]
            ),
            "one it takes goes across as is: {:?}",
            back.pending
        );
        assert!(back.refused.is_empty());
        // As an older binary, with looser rules, let through: a name
        // declared twice.
        let mut older = json.clone();
        let listeners = &mut older["pending"][0]["Control"]["request"]["listeners"];
        let api = listeners[0].clone();
        listeners.as_array_mut().unwrap().push(api);
        let back = Handoff::decode(&serde_json::to_vec(&older).unwrap(), STATE_VERSION).unwrap();
        assert!(
            matches!(back.pending[..], [Event::Signal(Signal::Hup)]),
            "{:?}",
            back.pending
        );
        let [(5, error)] = &back.refused[..] else {
            panic!("{:?}", back.refused);
        };
        assert!(
            error.starts_with("bad request: ") && error.contains("`api`"),
            "{error}"
        );
        // Without a place in the handed-over state, which the client
        // never saw.
        assert!(!error.contains(" at line "), "{error}");
        // A name of megabytes, quoted by the refusal, is cut short in it, as
        // in a request refused as it comes.
        let long = "a".repeat(1 << 20);
        let listeners = &mut older["pending"][0]["Control"]["request"]["listeners"];
        listeners[0]["name"] = serde_json::json!(long);
        listeners[1]["name"] = serde_json::json!(long);
        let back = Handoff::decode(&serde_json::to_vec(&older).unwrap(), STATE_VERSION).unwrap();
        let [(5, error)] = &back.refused[..] else {
            panic!("{:?}", back.refused);
        };
        assert!(
            error.starts_with("bad request: ") && error.chars().count() < 250,
            "{}",
            error.len()
        );
        // A field this binary does not know (a newer one's option, handed
        // on as it went back, or to an older build): refused, not dropped.
        let mut newer = json.clone();
        newer["pending"][0]["Control"]["request"]["drain_first"] = serde_json::json!(true);
        let back = Handoff::decode(&serde_json::to_vec(&newer).unwrap(), STATE_VERSION).unwrap();
        let [(5, error)] = &back.refused[..] else {
            panic!("{:?}", back.refused);
        };
        assert!(
            error.starts_with("bad request: unknown field `drain_first`"),
            "{error}"
        );
        // Any other event this binary cannot read is a corrupt state still.
        let mut garbled = json;
        garbled["pending"][1] = serde_json::json!({"Signal": "NoSuchSignal"});
        let e = Handoff::decode(&serde_json::to_vec(&garbled).unwrap(), STATE_VERSION);
        assert!(matches!(e, Err(HandoffError::Corrupt(_))), "{e:?}");
    }

    #[test]
    fn paths_that_are_not_utf8_go_across_byte_for_byte() {
        use std::os::unix::ffi::OsStrExt;

        use crate::supervisor::machine::{STATE_VERSION, serving_state};
        let latin1 = |s: &[u8]| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(s));
        let mut state = serving_state();
        state.settings.working_dir = Some(latin1(b"/srv/caf\xe9"));
        state.current.target.path = latin1(b"/srv/caf\xe9/bin");
        let handoff = Handoff {
            state,
            sockets: vec![HandedSocket {
                key: ListenerKey {
                    network: crate::spec::Network::Unix,
                    address: "api.sock".into(),
                },
                fd: 5,
                unix_path: Some(latin1(b"/srv/caf\xe9/api.sock")),
                unix_id: None,
                unix_folder: None,
            }],
            control_path: latin1(b"/run/caf\xe9/svc.sock"),
            lock_path: latin1(b"/run/caf\xe9/svc.lock"),
            watch: Some(9),
            ..Handoff::naming_only(3, 4)
        };
        let memfd = handoff.seal().unwrap();
        let back = Handoff::read(&memfd, STATE_VERSION).unwrap();
        assert_eq!(back.control_path, handoff.control_path);
        assert_eq!(back.lock_path, handoff.lock_path);
        // The folder's watch goes across, kept open by the exec.
        assert_eq!(back.watch, Some(9));
        assert!(back.fds().contains(&9));
        assert_eq!(back.sockets[0].unix_path, handoff.sockets[0].unix_path);
        assert_eq!(
            back.state.settings.working_dir,
            handoff.state.settings.working_dir
        );
        assert_eq!(
            back.state.current.target.path,
            handoff.state.current.target.path
        );
    }

    #[test]
    fn the_watchdog_is_read_from_any_handoff_each_field_on_its_own() {
        let path = std::ffi::OsString::from("/run/notify");
        let json = |notify: serde_json::Value, fd: serde_json::Value| {
            let whole = serde_json::json!({ "version": 99, "notify": notify, "notify_fd": fd });
            serde_json::to_vec(&whole).unwrap()
        };
        let notify = serde_json::to_value((&path, Some(30_000_000u64))).unwrap();
        let said = super::watchdog_in(&json(notify.clone(), 12.into())).unwrap();
        assert_eq!(said, (path.clone(), 30_000_000, Some(12)));
        // A connected socket of another shape: the path still.
        let other = serde_json::json!({ "fd": 12 });
        assert_eq!(super::watchdog_in(&json(notify, other)).unwrap().2, None);
        // No watchdog, or no manager: nothing to ping.
        let no_watchdog = serde_json::to_value((&path, None::<u64>)).unwrap();
        assert!(super::watchdog_in(&json(no_watchdog, 12.into())).is_none());
        assert!(super::watchdog_in(&json(serde_json::Value::Null, 12.into())).is_none());
    }

    #[test]
    fn the_descriptors_of_a_handoff_this_binary_cannot_read_are_all_known() {
        // A newer version's: a state of another shape, a field unknown.
        let newer = br#"{"version":99,"state":"another shape","pending":[1],
            "sockets":[{"key":{"new":true},"fd":5},{"fd":6}],
            "children":[[1,7]],"clients":[[2,8]],"idle":[9],"binaries":[["x",10]],
            "control":3,"lock":4,"watch":11,"notify_fd":12,"later":[13]}"#;
        let mut fds = super::fds_named_in(newer);
        fds.sort();
        assert_eq!(fds, (3..=12).collect::<Vec<_>>());
        // A field it cannot read names none; the others still do.
        let damaged = br#"{"sockets":"garbled","control":3,"lock":4,"idle":[9]}"#;
        assert_eq!(super::fds_named_in(damaged), [9, 3, 4]);
        assert!(super::fds_named_in(b"not json").is_empty());
    }

    #[test]
    fn the_descriptors_read_alone_are_those_the_handoff_names() {
        let handoff = Handoff {
            sockets: vec![HandedSocket {
                key: ListenerKey {
                    network: crate::spec::Network::Tcp,
                    address: "127.0.0.1:80".into(),
                },
                fd: 5,
                unix_path: None,
                unix_id: None,
                unix_folder: None,
            }],
            children: vec![(1, 6)],
            clients: vec![(1, 7)],
            idle: vec![8],
            binaries: vec![(1, 9)],
            watch: Some(10),
            notify_fd: Some(11),
            ..Handoff::naming_only(3, 4)
        };
        let memfd = handoff.seal().unwrap();
        let mut alone = Handoff::fds_in(&memfd);
        let mut all = handoff.fds();
        alone.sort();
        all.sort();
        assert_eq!(alone, all);
        assert_eq!(all, (3..=11).collect::<Vec<_>>());
    }

    #[test]
    fn a_bad_variable_is_refused() {
        for value in ["", "7", "a,b", "7,7", "1,2"] {
            // SAFETY: every one of these is refused before any fd is owned.
            let e = unsafe { super::take(value) }.unwrap_err();
            assert!(matches!(e, HandoffError::BadVariable(_)), "{value}: {e}");
        }
    }

    #[test]
    fn a_state_that_is_no_sealed_memfd_is_refused_before_it_is_read() {
        use std::os::fd::AsRawFd;
        // As with the variable copied into a shell whose fds at those
        // numbers are its own: `/dev/zero` would be read without end.
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let binary = std::fs::File::open("/bin/sh").unwrap();
        let value = format!("{},{}", zero.as_raw_fd(), binary.as_raw_fd());
        // SAFETY: refused before any fd is owned.
        let e = unsafe { super::take(&value) }.unwrap_err();
        assert!(matches!(e, HandoffError::NotSealed { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("copied from a supervisor's environment"),
            "{e}"
        );
        // What a supervisor hands over passes the check.
        let sealed = Handoff::naming_only(100, 101).seal().unwrap();
        assert!(super::sealed_as_handed(sealed.as_raw_fd()));
    }

    #[test]
    fn a_descriptor_closed_before_run_is_named() {
        // SAFETY: refused before any fd is owned (neither is open).
        let e = unsafe { super::take("100000,100001") }.unwrap_err();
        assert_eq!(
            e.to_string(),
            "descriptor 100000, the handed-over state, is not open: did this binary's code before `run` close it? (Or was LITTLEBOSS_UPGRADE copied from a supervisor's environment? Then unset it.)"
        );
        let own = std::fs::File::open("/dev/null").unwrap();
        let value = format!("{},100001", std::os::fd::AsRawFd::as_raw_fd(&own));
        // SAFETY: refused before any fd is owned (the second is not open).
        let e = unsafe { super::take(&value) }.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("descriptor 100001, the previous binary, is not open"),
            "{e}"
        );
    }
}
