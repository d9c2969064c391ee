//! Socket activation: listening sockets that a service manager (systemd)
//! bound and handed to us, found as `sd_listen_fds_with_names(3)` finds
//! them, without libsystemd.
//!
//! The manager puts the sockets at fds 3, 4, ... and describes them in
//! three variables: `LISTEN_PID` (the process they are for), `LISTEN_FDS`
//! (how many) and `LISTEN_FDNAMES` (their names, colon-separated). They go
//! to the declared listeners by name, else by address, else by place:
//! see [`map`].

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::environ::BadPid;
use crate::fdpass::AdoptError;
use crate::socket::{NotFit, check_passed};
use crate::spec::ListenerSpec;

/// The first passed fd (`SD_LISTEN_FDS_START`).
pub(crate) const FIRST_FD: RawFd = 3;

/// More passed fds than this is a broken environment, not a service: the
/// bound keeps a garbage `LISTEN_FDS` from sizing an allocation.
pub(crate) const MAX_FDS: usize = 65536;

const LISTEN_PID: &str = "LISTEN_PID";
const LISTEN_FDS: &str = "LISTEN_FDS";
const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";
const LISTEN_PIDFDID: &str = "LISTEN_PIDFDID";

/// The socket-activation variables read: for the process they name alone.
pub(crate) const VARS: [&str; 3] = [LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES];

/// Every socket-activation variable, removed together (as libsystemd's
/// `sd_listen_fds(true)` does): [`VARS`], and `LISTEN_PIDFDID`, which
/// systemd 258 and later set beside `LISTEN_PID` (the id of a pidfd of
/// the process meant; not read: `LISTEN_PID` and the fds open across exec
/// decide).
pub(crate) const ALL_VARS: [&str; 4] = [LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PIDFDID];

/// The activation variables as found in the environment.
#[derive(Debug, Default, Clone, Copy)]
struct Vars<'a> {
    pid: Option<&'a OsStr>,
    fds: Option<&'a OsStr>,
    names: Option<&'a OsStr>,
}

/// Sockets passed by a service manager, in fd order, with their names.
#[derive(Debug)]
pub(crate) struct Activated {
    passed: Vec<Passed>,
}

/// One passed fd and its entry in `LISTEN_FDNAMES` (`None` without one).
#[derive(Debug)]
struct Passed {
    fd: OwnedFd,
    name: Option<String>,
}

/// The passed sockets given out to the declared listeners.
#[derive(Debug)]
pub(crate) struct Assigned {
    /// One slot per declared listener, in declaration order: the socket
    /// passed for it, if any.
    pub fds: Vec<Option<OwnedFd>>,
    /// The passed sockets no listener took, each with why, for a warning
    /// (``fd 5 named `metrics` matches no listener``). They are closed.
    pub unmatched: Vec<String>,
    /// The passed fds no listener took that are not sockets (a file or a
    /// pipe, as systemd's `OpenFile=` passes), each named as in
    /// `unmatched`: closed too, with other advice.
    pub not_sockets: Vec<String>,
    /// Unnamed fds given to a listener by position though bound elsewhere
    /// than it declares, for a note: the service manager's unit decides.
    pub elsewhere: Vec<String>,
}

/// Where a passed socket is bound, against where a listener declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// The same path (or file), or port and address (no host: a
    /// wildcard).
    Same,
    /// Another port, address or path.
    Elsewhere,
    /// The port declared, at a host that cannot be told: a hostname, or
    /// the other family's wildcard. Likelier its than a socket of which
    /// nothing is known.
    PortAlike,
    /// Nothing certain: port 0, a relative path.
    Unknown,
    /// A socket the listener cannot take (another type or family) bound
    /// just where it declares: surely meant for it, so given to it, whose
    /// check then says what is wrong, rather than to another by place.
    Misfit,
    /// A socket the listener cannot take at all (another type or family):
    /// given to it by place only if no passed socket left could be.
    Unfit,
}

/// Where `fd` is bound against where `spec` declares.
fn placement(fd: &OwnedFd, spec: &ListenerSpec) -> Placement {
    match check_passed(fd, spec.network) {
        Ok(()) => where_bound(fd, spec, false),
        // (`0.0.0.0:8080` declared `tcp4`, a dual-stack `[::]:8080` passed:
        // meant for it, surely, if unfit.)
        Err(e)
            if meant_for_it(&e, spec.network) && where_bound(fd, spec, true) == Placement::Same =>
        {
            Placement::Misfit
        }
        Err(_) => Placement::Unfit,
    }
}

/// Whether a socket unfit for a listener on `network`, bound where it
/// declares, is still surely meant for it: any but one of the other type
/// (a TCP and a UDP socket on one port are two listeners' each).
fn meant_for_it(error: &NotFit, network: crate::spec::Network) -> bool {
    use nix::sys::socket::SockType;
    let NotFit::WrongKind { ty, .. } = error else {
        return true;
    };
    match network.kind() {
        crate::spec::Kind::Tcp => *ty == SockType::Stream,
        crate::spec::Kind::Udp => *ty == SockType::Datagram,
        crate::spec::Kind::Unix => true,
    }
}

/// Where `fd` is bound against where `spec` declares, whatever its kind;
/// `wildcards_alike`: the IPv4 and IPv6 wildcards are the same place.
fn where_bound(fd: &OwnedFd, spec: &ListenerSpec, wildcards_alike: bool) -> Placement {
    use std::net::{IpAddr, SocketAddr};
    let Some(declared) = &spec.address else {
        return Placement::Unknown;
    };
    let kind = spec.network.kind();
    let Ok(bound) = crate::socket::local_address(fd, kind) else {
        return Placement::Unknown;
    };
    let same = |yes: bool| {
        if yes {
            Placement::Same
        } else {
            Placement::Elsewhere
        }
    };
    if kind == crate::spec::Kind::Unix {
        if !declared.starts_with('/') {
            return Placement::Unknown;
        }
        let as_written = crate::rules::clean_path(declared) == crate::rules::clean_path(&bound);
        return same(as_written || same_file(declared, &bound));
    }
    let (Ok(bound), Some((host, port))) = (bound.parse::<SocketAddr>(), declared.rsplit_once(':'))
    else {
        return Placement::Unknown;
    };
    match port.parse::<u16>() {
        Ok(0) | Err(_) => return Placement::Unknown,
        Ok(port) if port != bound.port() => return Placement::Elsewhere,
        Ok(_) => {}
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return same(bound.ip().is_unspecified());
    }
    match host.parse::<IpAddr>() {
        // `0.0.0.0` declared, systemd's dual-stack `[::]` passed: both
        // take IPv4 clients.
        Ok(ip) if ip.is_unspecified() && bound.ip().is_unspecified() && ip != bound.ip() => {
            if wildcards_alike {
                Placement::Same
            } else {
                Placement::PortAlike
            }
        }
        Ok(ip) => same(ip.to_canonical() == bound.ip().to_canonical()),
        Err(_) => Placement::PortAlike,
    }
}

/// Whether two absolute paths name one file now, as a client connecting
/// to either reaches it (symlinks followed, the last one too): a unit's
/// `ListenStream=/run/app/api.sock` and a listener declared at
/// `/var/run/app/api.sock`, where `/var/run` links to `/run`, or at
/// `/etc/app/api.sock`, a link to the socket itself (which a bind of the
/// declared path would find taken).
fn same_file(declared: &str, bound: &str) -> bool {
    let identity = |path: &str| crate::own_file::reached_identity(std::path::Path::new(path));
    bound.starts_with('/') && identity(declared).is_some_and(|id| identity(bound) == Some(id))
}

/// Whether an unnamed fd so placed against a listener that has a socket
/// already is a second socket where it declares ([`map`]'s step 2).
fn second_there(placement: Placement) -> bool {
    matches!(placement, Placement::Same | Placement::Misfit)
}

/// Which passed fd each declared listener gets, by index into the passed
/// fds (index 0 is fd 3).
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    /// One slot per declared listener, in declaration order.
    slots: Vec<Option<usize>>,
    /// Passed fds no listener takes, in fd order.
    unmatched: Vec<usize>,
}

/// Why the sockets a service manager passed cannot be used: its variables
/// are malformed, a passed fd cannot be adopted, or the fds do not fit the
/// declared listeners. Every message starts with `socket activation: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActivationError {
    /// Variable `var` is set but not UTF-8.
    NotUtf8 { var: &'static str },
    /// `LISTEN_PID` is not a process id.
    Pid(BadPid),
    /// `LISTEN_FDS` is not a number.
    NotACount { value: String },
    /// `LISTEN_FDS` is over [`MAX_FDS`].
    TooMany { count: usize },
    /// `LISTEN_FDNAMES` has `found` names for `count` fds.
    NameCount {
        names: String,
        found: usize,
        count: usize,
    },
    /// Two passed fds are named for listener `name`.
    SameName {
        first: RawFd,
        second: RawFd,
        name: String,
    },
    /// A passed fd cannot be adopted.
    Adopt(AdoptError),
    /// `fd`, one of the `count` that `LISTEN_FDS` names, was not open
    /// across exec when the binary started: it was not passed.
    NotPassed { fd: RawFd, count: usize },
    /// Passed `fd` was closed since the binary started (its number may
    /// be another file's now).
    ClosedSince { fd: RawFd },
    /// `listener` would take one of two unnamed fds (number, socket unit)
    /// from different socket units by place, whose order systemd does not
    /// keep from one start to the next.
    UnitsUnordered {
        listener: String,
        fds: [(RawFd, String); 2],
    },
    /// The fd given to `listener` is not a socket it can use.
    NotFit {
        fd: RawFd,
        listener: String,
        error: NotFit,
    },
}

impl std::fmt::Display for ActivationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("socket activation: ")?;
        match self {
            ActivationError::NotUtf8 { var } => write!(f, "{var} is not UTF-8"),
            ActivationError::Pid(e) => e.fmt(f),
            ActivationError::NotACount { value } => write!(
                f,
                "{LISTEN_FDS}=`{value}` is not a number of file descriptors"
            ),
            ActivationError::TooMany { count } => write!(
                f,
                "{LISTEN_FDS}={count} is more than {MAX_FDS} file descriptors"
            ),
            ActivationError::NameCount {
                names,
                found,
                count,
            } => write!(
                f,
                "{LISTEN_FDNAMES}=`{names}` has {found} names but {LISTEN_FDS}={count}"
            ),
            ActivationError::SameName {
                first,
                second,
                name,
            } => write!(
                f,
                "fds {first} and {second} are both named `{name}` in {LISTEN_FDNAMES}; listener `{name}` takes one socket"
            ),
            ActivationError::Adopt(e) => write!(f, "{e} ({LISTEN_FDS} counts it)"),
            ActivationError::NotPassed { fd, count } => write!(
                f,
                "{LISTEN_FDS}={count} counts fds 3 to {}, but fd {fd} was not passed open when this program started: the count is wrong, or something closed fd {fd} before this program ran",
                FIRST_FD as usize + count - 1
            ),
            ActivationError::ClosedSince { fd } => write!(
                f,
                "fd {fd} was passed, but this program closed it before littleboss took it (code before `run` that closes inherited descriptors, such as `closefrom(3)`?): leave fds 3 to 3+{LISTEN_FDS}-1 open"
            ),
            // `error` names the fd.
            ActivationError::UnitsUnordered {
                listener,
                fds: [(a, a_unit), (b, b_unit)],
            } => write!(
                f,
                "listener `{listener}` could take fd {a} (from `{a_unit}`) or fd {b} (from `{b_unit}`), and the address it declares does not tell which; systemd does not order the fds of different socket units, so which it took would be chance: name each socket for its listener (`FileDescriptorName=` in its unit)"
            ),
            ActivationError::NotFit {
                listener, error, ..
            } => write!(f, "listener `{listener}`: {error}"),
        }
    }
}

impl std::error::Error for ActivationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ActivationError::Pid(e) => Some(e),
            ActivationError::Adopt(e) => Some(e),
            ActivationError::NotFit { error, .. } => Some(error),
            ActivationError::NotUtf8 { .. }
            | ActivationError::NotACount { .. }
            | ActivationError::TooMany { .. }
            | ActivationError::NameCount { .. }
            | ActivationError::SameName { .. }
            | ActivationError::NotPassed { .. }
            | ActivationError::ClosedSince { .. }
            | ActivationError::UnitsUnordered { .. } => None,
        }
    }
}

/// `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` as this process found
/// them (as the binary started, when they named it: see `inherited`),
/// each variable of [`ALL_VARS`] taken out of the environment at the first
/// call. That must come while the process has a single thread (see
/// `environ::remove_env`): the supervisor calls this before its first
/// line, which starts the log's writer thread; [`from_env`] reads them
/// here.
///
/// ```ignore
/// let [pid, fds, names] = take_vars();
/// ```
pub(crate) fn take_vars() -> [Option<OsString>; 3] {
    static TAKEN: OnceLock<[Option<OsString>; 3]> = OnceLock::new();
    TAKEN
        .get_or_init(|| {
            let vars = match crate::inherited::activation() {
                Some(taken) => taken.vars,
                None => [LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES].map(std::env::var_os),
            };
            crate::environ::remove_env(&ALL_VARS);
            vars
        })
        .clone()
}

/// Reads `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`. `Ok(None)` when
/// they are absent, `LISTEN_FDS` is 0, or `LISTEN_PID` is not our pid.
///
/// Takes ownership of fds 3..3+`LISTEN_FDS`, each close-on-exec, and
/// removes the variables ([`ALL_VARS`]) from the environment (whatever they say,
/// as libsystemd's `sd_listen_fds(true)` does) while this process has a
/// single thread. Only the first call adopts anything.
pub(crate) fn from_env() -> Result<Option<Activated>, ActivationError> {
    // With the variables left in place (several threads), a second call
    // would make a second owner of the same fds.
    static TAKEN: AtomicBool = AtomicBool::new(false);
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let at_start = crate::inherited::activation();
    let [pid, fds, names] = take_vars();
    let vars = Vars {
        pid: pid.as_deref(),
        fds: fds.as_deref(),
        names: names.as_deref(),
    };
    let ours = std::process::id() as i32;
    let Some(names) = parse(vars, ours)? else {
        if let Some(note) = meant_for_another(vars, ours) {
            crate::report::note(log::Level::Warn, format_args!("note: {note}"));
        }
        return Ok(None);
    };
    let count = names.len();
    // Checked before any is owned: by now this process has opened fds of
    // its own, perhaps at the numbers of a count too large.
    if let Some(at_start) = &at_start {
        for fd in (FIRST_FD..).take(count) {
            let then = at_start
                .passed
                .binary_search_by_key(&fd, |(passed, _)| *passed);
            let Ok(then) = then.map(|at| &at_start.passed[at].1) else {
                return Err(ActivationError::NotPassed { fd, count });
            };
            // The same number, since closed and opened again (a
            // `closefrom(3)` before `run`, then the service lock).
            if crate::inherited::file_identity(fd).as_ref() != Some(then) {
                return Err(ActivationError::ClosedSince { fd });
            }
        }
    }
    let passed = (FIRST_FD..)
        .zip(names)
        .map(|(fd, name)| {
            // SAFETY: the service manager passed fds 3..3+LISTEN_FDS to
            // this process (LISTEN_PID is ours) for it to own, each open
            // across exec as the binary started and the same file still
            // (checked above, when the binary's start was seen), and TAKEN
            // makes this the only place that ever takes them.
            let fd = unsafe { crate::fdpass::adopt(fd) }.map_err(ActivationError::Adopt)?;
            Ok(Passed { fd, name })
        })
        .collect::<Result<_, ActivationError>>()?;
    Ok(Some(Activated { passed }))
}

impl Activated {
    /// Gives each declared listener its passed socket and checks it is a
    /// listening socket of the listener's network.
    ///
    /// A passed fd whose name is a declared listener's goes to that
    /// listener. Unnamed fds (see [`named`]) then go to the listener bound
    /// where they are, if one is still empty (one bound where a listener
    /// that has one declares goes to none, unless a listener still empty
    /// that declares its port at a host that cannot be told takes it by
    /// place), then by place to the
    /// listeners that got none, each of its own type (see [`map`]; one
    /// bound elsewhere than declared is noted in [`Assigned::elsewhere`]),
    /// and any of another type or family left to a listener still empty,
    /// whose check then fails saying what it is (unless a listener that
    /// is off could take it, likelier its). A listener that is off takes
    /// none. The rest are [`Assigned::unmatched`], or
    /// [`Assigned::not_sockets`] for those that are no socket.
    pub(crate) fn assign(self, listeners: &[ListenerSpec]) -> Result<Assigned, ActivationError> {
        let names: Vec<Option<&str>> = self.passed.iter().map(|p| p.name.as_deref()).collect();
        let names = accepted_unnamed(&names, listeners.iter().any(|l| l.name == ACCEPTED));
        // A listener that is off takes no socket, by name or by place: the
        // supervisor would close it unsaid, and bypass mode serve on it.
        let on: Vec<usize> = (0..listeners.len())
            .filter(|&i| listeners[i].address.is_some())
            .collect();
        let declared: Vec<&str> = on.iter().map(|&i| listeners[i].name.as_str()).collect();
        // Each unnamed fd against each listener, once (a name decides the
        // others): the matching and the notes below both read it.
        let placements: Vec<Vec<Placement>> = (self.passed.iter().zip(&names))
            .map(|(passed, name)| match named(*name) {
                Some(_) => vec![Placement::Unknown; on.len()],
                None => on
                    .iter()
                    .map(|&i| placement(&passed.fd, &listeners[i]))
                    .collect(),
            })
            .collect();
        let where_ = |fd: usize, slot: usize| placements[fd][slot];
        let fd_no = |fd: usize| self.passed[fd].fd.as_raw_fd();
        // An unnamed fd of a type or family that a listener that is off
        // takes (a socket unit's, the listener turned off by a flag):
        // likelier its than one for a listener it cannot fit, whose
        // check would fail the start (see [`map`]'s last step).
        let for_off: Vec<Vec<String>> = (self.passed.iter().zip(&names))
            .map(|(passed, name)| match named(*name) {
                Some(_) => Vec::new(),
                None => (listeners.iter())
                    .filter(|l| l.address.is_none())
                    .filter(|l| check_passed(&passed.fd, l.network).is_ok())
                    .map(|l| format!("`{}`", l.name))
                    .collect(),
            })
            .collect();
        let held_back = |fd: usize| !for_off[fd].is_empty();
        let mut mapping = map(&names, &declared, &where_, &held_back, &fd_no)?;
        // Said, as systemd's unit rather than the program decides where an
        // unnamed socket listens: a listener given one elsewhere than it
        // declares (a unit's other port, or its `ListenStream=` lines in
        // another order) is visible at once.
        let mut elsewhere = Vec::new();
        for (slot, passed) in mapping.slots.iter().enumerate() {
            let Some(fd) = *passed else { continue };
            let spec = &listeners[on[slot]];
            if named(names[fd]).is_some() || where_(fd, slot) != Placement::Elsewhere {
                continue;
            }
            let Some(declared) = &spec.address else {
                continue;
            };
            let at = crate::socket::local_address(&self.passed[fd].fd, spec.network.kind())
                .unwrap_or_else(|e| format!("an address unknown ({e})"));
            elsewhere.push(format!(
                "listener `{}` (declared {declared}) takes {}, bound to {at}, by its place",
                spec.name,
                self.passed[fd].describe()
            ));
        }
        let mut slots = vec![None; listeners.len()];
        for (&listener, slot) in on.iter().zip(&mapping.slots) {
            slots[listener] = *slot;
        }
        mapping.slots = slots;
        // A file or pipe passed beside the sockets that no listener took
        // (one named for a listener, or left to one still empty, fails
        // that listener's check above): said to be no socket.
        let (others, unmatched): (Vec<usize>, Vec<usize>) = (mapping.unmatched.iter())
            .partition(|&&i| !crate::socket::is_socket(&self.passed[i].fd));
        let not_sockets = others.iter().map(|&i| self.passed[i].describe()).collect();
        let unmatched = unmatched
            .iter()
            .map(|&i| {
                let fd = self.passed[i].describe();
                let off = named(names[i]).filter(|n| listeners.iter().any(|l| l.name == *n));
                let second = (0..on.len()).find(|&slot| second_there(where_(i, slot)));
                match (off, second, for_off[i].as_slice()) {
                    (Some(name), _, _) => format!("{fd} is for listener `{name}`, which is off"),
                    (None, Some(slot), _) => format!(
                        "{fd} is bound where listener `{}` declares, which has a socket already",
                        listeners[on[slot]].name
                    ),
                    (None, None, []) => format!("{fd} matches no listener"),
                    (None, None, [one]) => {
                        format!("{fd} fits no listener still without a socket but {one}, which is off")
                    }
                    (None, None, [some @ .., last]) => format!(
                        "{fd} fits no listener still without a socket but {} and {last}, which are off",
                        some.join(", ")
                    ),
                }
            })
            .collect();
        let mut passed: Vec<Option<OwnedFd>> =
            self.passed.into_iter().map(|p| Some(p.fd)).collect();
        let fds = mapping
            .slots
            .iter()
            .zip(listeners)
            .map(|(slot, spec)| {
                let Some(fd) = slot.and_then(|i| passed[i].take()) else {
                    return Ok(None);
                };
                check_passed(&fd, spec.network).map_err(|error| ActivationError::NotFit {
                    fd: fd.as_raw_fd(),
                    listener: spec.name.clone(),
                    error,
                })?;
                Ok(Some(fd))
            })
            .collect::<Result<_, ActivationError>>()?;
        Ok(Assigned {
            fds,
            unmatched,
            not_sockets,
            elsewhere,
        })
    }

    /// Wraps sockets as if passed at their current fd numbers.
    #[cfg(test)]
    fn from_fds(fds: Vec<(OwnedFd, Option<&str>)>) -> Activated {
        let passed = fds
            .into_iter()
            .map(|(fd, name)| Passed {
                fd,
                name: name.map(str::to_owned),
            })
            .collect();
        Activated { passed }
    }
}

impl Passed {
    /// How a warning names this fd.
    fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("fd {} named `{name}`", self.fd.as_raw_fd()),
            None => format!("fd {} (unnamed)", self.fd.as_raw_fd()),
        }
    }
}

/// The value of `var`, which must be UTF-8 if set.
fn utf8<'a>(
    var: &'static str,
    value: Option<&'a OsStr>,
) -> Result<Option<&'a str>, ActivationError> {
    value
        .map(|v| v.to_str().ok_or(ActivationError::NotUtf8 { var }))
        .transpose()
}

/// What to say of sockets passed to another process than `our_pid`
/// (`LISTEN_PID` another's, `LISTEN_FDS` more than 0), if they were: they
/// are not taken, as libsystemd does not, but said, as a wrapper that
/// starts the binary without exec would otherwise leave a service whose
/// sockets are bound anew, or not at all, with no word why.
fn meant_for_another(vars: Vars<'_>, our_pid: i32) -> Option<String> {
    let pid = crate::environ::parse_pid(LISTEN_PID, vars.pid?).ok()?;
    let count = vars.fds?.to_str()?.parse::<usize>().ok()?;
    if pid == our_pid || count == 0 {
        return None;
    }
    let (sockets, are) = match count {
        1 => ("the socket".to_owned(), "is"),
        n => (format!("the {n} sockets"), "are"),
    };
    Some(format!(
        "{LISTEN_PID}={pid} names another process than this one (pid {our_pid}): {sockets} passed with it {are} not taken (does `ExecStart=` start this binary through a command that does not exec it?)"
    ))
}

/// The `LISTEN_FDNAMES` entry of each passed fd, fd 3 first (`None` for
/// all when that variable is unset or empty), or `None` when nothing was
/// passed to `our_pid`.
fn parse(vars: Vars<'_>, our_pid: i32) -> Result<Option<Vec<Option<String>>>, ActivationError> {
    let Some(pid) = vars.pid else {
        return Ok(None);
    };
    let pid = crate::environ::parse_pid(LISTEN_PID, pid).map_err(ActivationError::Pid)?;
    // Meant for another process (left by a parent): what the rest says is
    // not ours to judge, as libsystemd does not.
    if pid != our_pid {
        return Ok(None);
    }
    let Some(count) = utf8(LISTEN_FDS, vars.fds)? else {
        return Ok(None);
    };
    let count = count
        .parse::<usize>()
        .map_err(|_| ActivationError::NotACount {
            value: count.to_owned(),
        })?;
    if count > MAX_FDS {
        return Err(ActivationError::TooMany { count });
    }
    // libsystemd refuses 0; it can only mean nothing was passed.
    if count == 0 {
        return Ok(None);
    }
    let Some(list) = utf8(LISTEN_FDNAMES, vars.names)?.filter(|n| !n.is_empty()) else {
        return Ok(Some(vec![None; count]));
    };
    let names: Vec<Option<String>> = list.split(':').map(|n| Some(n.to_owned())).collect();
    if names.len() != count {
        return Err(ActivationError::NameCount {
            names: list.to_owned(),
            found: names.len(),
            count,
        });
    }
    Ok(Some(names))
}

/// The listener a passed name asks for, or `None` for a name that says
/// nothing: none at all, empty, `unknown` (what libsystemd reports without
/// `LISTEN_FDNAMES`), or a socket unit's own name such as `web.socket`,
/// systemd's default `FileDescriptorName=`. Listener names have no dot, so
/// no listener could take that last kind by name anyway.
fn named(name: Option<&str>) -> Option<&str> {
    name.filter(|n| !n.is_empty() && *n != "unknown" && !n.ends_with(".socket"))
}

/// What systemd names the one connection a unit with `Accept=yes` passes.
const ACCEPTED: &str = "connection";

/// `names`, with systemd's [`ACCEPTED`] made unnamed unless `a_listener`
/// (on or off) of the program is called so: taken by
/// place, such a connection fails the listening check, whose error says
/// `Accept=yes` is the cause (closed as a socket no listener wants, it
/// would be given the wrong advice).
fn accepted_unnamed<'a>(names: &[Option<&'a str>], a_listener: bool) -> Vec<Option<&'a str>> {
    (names.iter())
        .map(|name| name.filter(|n| *n != ACCEPTED || a_listener))
        .collect()
}

/// Maps passed fds (their names, in fd order) to declared listeners (in
/// declaration order), `placement(fd, listener)` saying where each
/// unnamed fd is bound against each listener and `fd_no` how an error
/// numbers an fd:
/// 1. by name; two fds named for one listener is an error;
/// 2. each unnamed fd to the first listener still empty that it is bound
///    as declared for ([`Placement::Same`]), then one bound so but of
///    another kind ([`Placement::Misfit`]); one left bound so, where a
///    listener that has one already declares, is a second socket there
///    (a unit's IPv4 and IPv6 halves of `:PORT`, two units on one
///    address: no other listener's place), taken only by a listener that
///    declares its port at a host that cannot be told (step 3's first
///    tier), else by none;
/// 3. by place: each listener still empty takes the first fd left (fd
///    order) on its port at a host that cannot be told
///    ([`Placement::PortAlike`]), then the first whose place says nothing
///    against it ([`Placement::Unknown`]), then the first bound elsewhere; where the
///    fds a listener would choose among include two from different socket
///    units, whose order systemd does not keep, that is an error;
/// 4. fds no listener can take (another type or family) to the listeners
///    still empty, whose check then says what is wrong; but none that
///    `held_back` says a listener that is off could take, likelier its.
fn map(
    names: &[Option<&str>],
    declared: &[&str],
    placement: &dyn Fn(usize, usize) -> Placement,
    held_back: &dyn Fn(usize) -> bool,
    fd_no: &dyn Fn(usize) -> RawFd,
) -> Result<Mapping, ActivationError> {
    let mut slots: Vec<Option<usize>> = vec![None; declared.len()];
    let mut unnamed = Vec::new();
    let mut unmatched = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let Some(name) = named(*name) else {
            unnamed.push(i);
            continue;
        };
        match declared.iter().position(|d| *d == name) {
            None => unmatched.push(i),
            Some(slot) => {
                if let Some(first) = slots[slot] {
                    return Err(ActivationError::SameName {
                        first: fd_no(first),
                        second: fd_no(i),
                        name: name.to_owned(),
                    });
                }
                slots[slot] = Some(i);
            }
        }
    }
    // A unit with several unnamed sockets: where its address says, before
    // the order of `ListenStream=` lines does.
    for exactly in [Placement::Same, Placement::Misfit] {
        unnamed.retain(|&fd| {
            let empty = (0..slots.len())
                .find(|&slot| slots[slot].is_none() && placement(fd, slot) == exactly);
            match empty {
                Some(slot) => slots[slot] = Some(fd),
                None => return true,
            }
            false
        });
    }
    // systemd orders the fds of one socket unit as its lines, but not the
    // units of a service among themselves.
    let unit = |fd: usize| names[fd].filter(|n| n.ends_with(".socket"));
    for tier in [
        Placement::PortAlike,
        Placement::Unknown,
        Placement::Elsewhere,
    ] {
        for slot in 0..slots.len() {
            if slots[slot].is_some() {
                continue;
            }
            let choice: Vec<usize> = unnamed
                .iter()
                .copied()
                .filter(|&fd| placement(fd, slot) == tier)
                .collect();
            let Some(&first) = choice.first() else {
                continue;
            };
            // Two of the choice from different socket units.
            let mut of_units = choice.iter().filter_map(|&fd| Some((fd, unit(fd)?)));
            if let Some((a, a_unit)) = of_units.next()
                && let Some((b, b_unit)) = of_units.find(|(_, u)| *u != a_unit)
            {
                return Err(ActivationError::UnitsUnordered {
                    listener: declared[slot].to_owned(),
                    fds: [(fd_no(a), a_unit.to_owned()), (fd_no(b), b_unit.to_owned())],
                });
            }
            unnamed.retain(|&fd| fd != first);
            slots[slot] = Some(first);
        }
        // A second socket where a listener that has one declares: only a
        // listener declaring its port at a host that cannot be told
        // (above) may take it, none by a place that says less.
        if tier == Placement::PortAlike {
            unnamed.retain(|&fd| {
                let second = (0..slots.len()).any(|slot| second_there(placement(fd, slot)));
                if second {
                    unmatched.push(fd);
                }
                !second
            });
        }
    }
    let (off, mut unnamed): (Vec<usize>, Vec<usize>) =
        unnamed.into_iter().partition(|&fd| held_back(fd));
    unmatched.extend(off);
    for slot in slots.iter_mut().filter(|s| s.is_none()) {
        if unnamed.is_empty() {
            break;
        }
        *slot = Some(unnamed.remove(0));
    }
    unmatched.extend(unnamed);
    unmatched.sort_unstable();
    Ok(Mapping { slots, unmatched })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sockets_passed_to_another_process_are_said_not_taken() {
        let vars = |pid: &'static str, fds: &'static str| super::Vars {
            pid: Some(std::ffi::OsStr::new(pid)),
            fds: Some(std::ffi::OsStr::new(fds)),
            names: None,
        };
        assert_eq!(
            super::meant_for_another(vars("41", "2"), 42).as_deref(),
            Some(
                "LISTEN_PID=41 names another process than this one (pid 42): the 2 sockets passed with it are not taken (does `ExecStart=` start this binary through a command that does not exec it?)"
            )
        );
        let one = super::meant_for_another(vars("41", "1"), 42).unwrap();
        assert!(
            one.contains("the socket passed with it is not taken"),
            "{one}"
        );
        // Ours, none passed, or nothing to read: nothing to say.
        assert_eq!(super::meant_for_another(vars("42", "2"), 42), None);
        assert_eq!(super::meant_for_another(vars("41", "0"), 42), None);
        assert_eq!(super::meant_for_another(super::Vars::default(), 42), None);
    }

    use super::*;

    const PID: i32 = 4242;

    /// The fd number of the passed fd at `index`, as the manager passes
    /// them.
    fn fd_number(index: usize) -> RawFd {
        FIRST_FD + index as RawFd
    }

    fn vars<'a>(pid: &'a str, fds: &'a str, names: Option<&'a str>) -> Vars<'a> {
        Vars {
            pid: Some(OsStr::new(pid)),
            fds: Some(OsStr::new(fds)),
            names: names.map(OsStr::new),
        }
    }

    /// The whole pure path: environment values and declared listeners to,
    /// per listener, its fd number, and the fd numbers nobody takes.
    fn plan(vars: Vars<'_>, declared: &[&str]) -> Result<Option<Plan>, ActivationError> {
        let Some(names) = parse(vars, PID)? else {
            return Ok(None);
        };
        let names: Vec<Option<&str>> = names.iter().map(Option::as_deref).collect();
        let names = accepted_unnamed(&names, declared.contains(&ACCEPTED));
        let m = map(
            &names,
            declared,
            &|_, _| Placement::Unknown,
            &|_| false,
            &fd_number,
        )?;
        Ok(Some(Plan {
            slots: m.slots.into_iter().map(|s| s.map(fd_number)).collect(),
            unmatched: m.unmatched.into_iter().map(fd_number).collect(),
        }))
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Plan {
        slots: Vec<Option<RawFd>>,
        unmatched: Vec<RawFd>,
    }

    fn ok(vars: Vars<'_>, declared: &[&str]) -> Plan {
        plan(vars, declared).unwrap().expect("fds for us")
    }

    fn plan_of(slots: &[Option<RawFd>], unmatched: &[RawFd]) -> Plan {
        Plan {
            slots: slots.to_vec(),
            unmatched: unmatched.to_vec(),
        }
    }

    #[test]
    fn a_second_socket_where_a_listener_is_goes_to_no_other_by_place() {
        use Placement::{Elsewhere, Misfit, PortAlike, Same};
        // Each case: the listeners, where each fd is against each (the
        // rest elsewhere), and the slots and unmatched fds expected.
        type Case = (
            &'static [&'static str],
            &'static [(usize, usize, Placement)],
        );
        type Slots = &'static [Option<usize>];
        let cases: [(Case, Slots, &[usize]); 5] = [
            // `web` declares `tcp::8080`; the unit passes `0.0.0.0:8080`
            // and `[::]:8080` (IPv6 only): the second is no socket for
            // `admin`, declared elsewhere, which binds its own.
            (
                (&["web", "admin"], &[(0, 0, Same), (1, 0, Same)]),
                &[Some(0), None],
                &[1],
            ),
            // `web` declared `tcp4`: the IPv6 half is bound where it
            // declares but of another family, a second socket all the same.
            (
                (&["web", "admin"], &[(0, 0, Same), (1, 0, Misfit)]),
                &[Some(0), None],
                &[1],
            ),
            // Unless a listener still empty declares that port at a name
            // (`tcp6:myhost:8080`) and takes it.
            (
                (
                    &["web", "named"],
                    &[(0, 0, Same), (1, 0, Misfit), (1, 1, PortAlike)],
                ),
                &[Some(0), Some(1)],
                &[],
            ),
            // Three there (`ReusePort=`): the named one takes one, and the
            // third goes to none, not to `admin` by a place that says less.
            (
                (
                    &["web", "named", "admin"],
                    &[
                        (0, 0, Same),
                        (1, 0, Same),
                        (2, 0, Same),
                        (1, 1, PortAlike),
                        (2, 1, PortAlike),
                    ],
                ),
                &[Some(0), Some(1), None],
                &[2],
            ),
            // Elsewhere, it is still a listener's by place.
            (
                (&["web", "admin"], &[(0, 0, Same)]),
                &[Some(0), Some(1)],
                &[],
            ),
        ];
        for ((declared, placed), slots, unmatched) in cases {
            let placement = |fd: usize, slot: usize| {
                (placed.iter())
                    .find(|(f, s, _)| (*f, *s) == (fd, slot))
                    .map_or(Elsewhere, |(_, _, p)| *p)
            };
            let fds = placed
                .iter()
                .map(|(f, _, _)| f + 1)
                .max()
                .unwrap_or(0)
                .max(2);
            let m = map(
                &vec![None; fds],
                declared,
                &placement,
                &|_| false,
                &fd_number,
            )
            .unwrap();
            assert_eq!(
                (m.slots.as_slice(), m.unmatched.as_slice()),
                (slots, unmatched),
                "{placed:?}"
            );
        }
    }

    #[test]
    fn nothing_passed_is_none() {
        assert_eq!(plan(Vars::default(), &["a"]), Ok(None));
        // LISTEN_FDS missing or 0.
        let no_fds = Vars {
            pid: Some(OsStr::new("4242")),
            ..Vars::default()
        };
        assert_eq!(plan(no_fds, &["a"]), Ok(None));
        assert_eq!(plan(vars("4242", "0", None), &["a"]), Ok(None));
        // Only the names.
        let only_names = Vars {
            names: Some(OsStr::new("a")),
            ..Vars::default()
        };
        assert_eq!(plan(only_names, &["a"]), Ok(None));
    }

    #[test]
    fn a_variable_not_utf8_is_an_error_only_when_ours() {
        use std::os::unix::ffi::OsStrExt;
        let junk = OsStr::from_bytes(b"\xff");
        let ours = Vars {
            pid: Some(OsStr::new("4242")),
            fds: Some(junk),
            names: None,
        };
        let not_utf8 = ActivationError::NotUtf8 { var: LISTEN_FDS };
        assert_eq!(plan(ours, &["a"]), Err(not_utf8));
        let names = Vars {
            fds: Some(OsStr::new("1")),
            names: Some(junk),
            ..ours
        };
        let not_utf8 = ActivationError::NotUtf8 {
            var: LISTEN_FDNAMES,
        };
        assert_eq!(plan(names, &["a"]), Err(not_utf8));
        let theirs = Vars {
            pid: Some(OsStr::new("4243")),
            ..names
        };
        assert_eq!(plan(theirs, &["a"]), Ok(None));
    }

    #[test]
    fn another_pid_is_none_whatever_else_is_set() {
        assert_eq!(plan(vars("4243", "2", Some("a:b")), &["a"]), Ok(None));
        assert_eq!(plan(vars("1", "junk", Some("x")), &["a"]), Ok(None));
    }

    #[test]
    fn garbage_values_name_their_variable() {
        for pid in ["", "abc", "0", "-5", "4242x", "99999999999"] {
            let e = plan(vars(pid, "1", None), &["a"]).unwrap_err();
            assert!(matches!(e, ActivationError::Pid(_)), "{e}");
            let e = e.to_string();
            assert!(
                e.contains("LISTEN_PID") && e.contains("not a process id"),
                "{e}"
            );
        }
        for fds in ["", "two", "-1", "1.5", " 1"] {
            let e = plan(vars("4242", fds, None), &["a"]).unwrap_err();
            assert!(matches!(e, ActivationError::NotACount { .. }), "{e}");
            let e = e.to_string();
            assert!(e.contains(&format!("LISTEN_FDS=`{fds}`")), "{e}");
        }
        let e = plan(vars("4242", "100000", None), &["a"]).unwrap_err();
        assert_eq!(e, ActivationError::TooMany { count: 100000 });
        let e = e.to_string();
        assert!(e.contains("LISTEN_FDS=100000 is more than"), "{e}");
    }

    #[test]
    fn name_count_must_match() {
        let e = plan(vars("4242", "3", Some("a:b")), &["a", "b"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "socket activation: LISTEN_FDNAMES=`a:b` has 2 names but LISTEN_FDS=3"
        );
        let e = plan(vars("4242", "1", Some("a:b")), &["a", "b"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("has 2 names but LISTEN_FDS=1"), "{e}");
    }

    #[test]
    fn names_match_listeners_in_any_order() {
        let p = ok(vars("4242", "2", Some("admin:https")), &["https", "admin"]);
        assert_eq!(p, plan_of(&[Some(4), Some(3)], &[]));
    }

    #[test]
    fn unnamed_fds_go_by_position() {
        // No LISTEN_FDNAMES, an empty one, and libsystemd's "unknown".
        for names in [None, Some(""), Some("unknown:unknown")] {
            let p = ok(vars("4242", "2", names), &["https", "admin"]);
            assert_eq!(p, plan_of(&[Some(3), Some(4)], &[]), "{names:?}");
        }
    }

    #[test]
    fn an_accepted_connection_goes_by_position() {
        // `Accept=yes`: taken by place, its check explains (not closed as
        // a socket no listener wants, which it is not).
        let p = ok(vars("4242", "1", Some("connection")), &["https"]);
        assert_eq!(p, plan_of(&[Some(3)], &[]));
        // Unless a listener is called so: it is that one's, by name.
        let p = ok(
            vars("4242", "2", Some("connection:web.socket")),
            &["http", "connection"],
        );
        assert_eq!(p, plan_of(&[Some(4), Some(3)], &[]));
    }

    #[test]
    fn a_socket_units_default_name_is_unnamed() {
        let p = ok(
            vars("4242", "2", Some("web.socket:web.socket")),
            &["https", "admin"],
        );
        assert_eq!(p, plan_of(&[Some(3), Some(4)], &[]));
    }

    #[test]
    fn named_fds_win_and_unnamed_fill_the_rest_in_order() {
        // fd 4 is admin's by name; fds 3 and 5 fill https and metrics.
        let p = ok(
            vars("4242", "3", Some("unknown:admin:unknown")),
            &["https", "admin", "metrics"],
        );
        assert_eq!(p, plan_of(&[Some(3), Some(4), Some(5)], &[]));
        // A named fd ahead of its listener does not shift the others.
        let p = ok(
            vars("4242", "3", Some("metrics:x.socket:")),
            &["https", "admin", "metrics"],
        );
        assert_eq!(p, plan_of(&[Some(4), Some(5), Some(3)], &[]));
    }

    #[test]
    fn more_fds_than_listeners() {
        let p = ok(vars("4242", "3", None), &["https"]);
        assert_eq!(p, plan_of(&[Some(3)], &[4, 5]));
        // A name no listener has is never used by position.
        let p = ok(vars("4242", "3", Some("stats:unknown:https")), &["https"]);
        assert_eq!(p, plan_of(&[Some(5)], &[3, 4]));
        let p = ok(
            vars("4242", "2", Some("stats:unknown")),
            &["https", "admin"],
        );
        assert_eq!(p, plan_of(&[Some(4), None], &[3]));
    }

    #[test]
    fn fewer_fds_than_listeners() {
        let p = ok(vars("4242", "1", None), &["https", "admin", "metrics"]);
        assert_eq!(p, plan_of(&[Some(3), None, None], &[]));
        let p = ok(vars("4242", "1", Some("metrics")), &["https", "metrics"]);
        assert_eq!(p, plan_of(&[None, Some(3)], &[]));
        assert_eq!(ok(vars("4242", "1", None), &[]), plan_of(&[], &[3]));
    }

    #[test]
    fn two_fds_for_one_listener_is_an_error() {
        let e = plan(vars("4242", "3", Some("https:x:https")), &["https"]).unwrap_err();
        assert!(
            matches!(&e, ActivationError::SameName { first: 3, second: 5, name } if name == "https"),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "socket activation: fds 3 and 5 are both named `https` in LISTEN_FDNAMES; listener `https` takes one socket"
        );
    }

    fn spec(name: &str, s: &str) -> ListenerSpec {
        ListenerSpec::parse(name, s).unwrap()
    }

    /// A socket bound as `NET:ADDR` says, as a manager would pass it.
    fn bound(s: &str) -> OwnedFd {
        crate::listener::bind(&spec("t", s)).unwrap().unwrap().fd
    }

    /// The port an IP socket is bound to.
    fn port_of(fd: &OwnedFd) -> String {
        let at = crate::socket::local_address(fd, crate::spec::Kind::Tcp).unwrap();
        at.rsplit_once(':').unwrap().1.to_owned()
    }

    /// A TCP socket as systemd's `ListenStream=PORT` makes it,
    /// `[::]:PORT` dual-stack; `None` (said) on a machine without IPv6.
    fn dual_stack() -> Option<OwnedFd> {
        let fd = bound("tcp::0");
        let at = crate::socket::local_address(&fd, crate::spec::Kind::Tcp).unwrap();
        if !at.starts_with('[') {
            eprintln!("no IPv6 on this machine: nothing to check");
            return None;
        }
        Some(fd)
    }

    /// Each listener's fd number after `assign`.
    fn numbers(assigned: &Assigned) -> Vec<Option<RawFd>> {
        let fds = assigned.fds.iter();
        fds.map(|fd| fd.as_ref().map(|f| f.as_raw_fd())).collect()
    }

    #[test]
    fn a_socket_on_a_listeners_port_goes_to_it_before_one_that_says_nothing() {
        // A port-0 listener declared first says nothing of any socket;
        // one declared by hostname on the socket's port likely asks for
        // it: given to the first, the second would bind a port systemd
        // holds.
        let passed = bound("tcp4:127.0.0.1:0");
        let (port, passed_no) = (port_of(&passed), passed.as_raw_fd());
        let activated = Activated::from_fds(vec![(passed, None)]);
        let listeners = [
            spec("any", "tcp:127.0.0.1:0"),
            spec("named", &format!("tcp:localhost:{port}")),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [None, Some(passed_no)]);
        assert!(assigned.elsewhere.is_empty(), "{:?}", assigned.elsewhere);
    }

    #[test]
    fn an_unnamed_unix_socket_goes_to_the_listener_declaring_its_file_by_another_path() {
        // systemd binds `/run/app/b.sock` and `/run/app/a.sock`; the
        // program declares them by `/var/run/app/`, a link to `/run`.
        let dir = std::env::temp_dir().join(format!("lb-activation-link-{}", std::process::id()));
        let (real, link) = (dir.join("real"), dir.join("link"));
        // One left by an earlier run of this pid (a container's).
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let [b_fd, a_fd, c_fd] =
            ["b", "a", "c"].map(|n| bound(&format!("unix:{}/{n}.sock", real.display())));
        // `c` declared at a link to the socket file itself (session 37's
        // list: the last link was not followed, and the socket went to `c`
        // only as one found elsewhere, said so).
        let alias = dir.join("c-alias.sock");
        std::os::unix::fs::symlink(real.join("c.sock"), &alias).unwrap();
        let numbers_of = [&b_fd, &a_fd, &c_fd].map(|fd| fd.as_raw_fd());
        let activated = Activated::from_fds(vec![(b_fd, None), (a_fd, None), (c_fd, None)]);
        let [a, b] = ["a", "b"].map(|n| spec(n, &format!("unix:{}/{n}.sock", link.display())));
        let c = spec("c", &format!("unix:{}", alias.display()));
        let assigned = activated.assign(&[a, b, c]).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            numbers(&assigned),
            [
                Some(numbers_of[1]),
                Some(numbers_of[0]),
                Some(numbers_of[2])
            ]
        );
        assert!(assigned.elsewhere.is_empty(), "{:?}", assigned.elsewhere);
    }

    #[test]
    fn unnamed_sockets_go_where_their_address_says_before_their_place() {
        // A unit with `ListenStream=` lines in another order than the
        // program declares its listeners, and one more elsewhere.
        let public = bound("tcp4:127.0.0.1:0");
        let admin = bound("tcp4:127.0.0.1:0");
        let other = bound("tcp4:127.0.0.1:0");
        let port = port_of;
        let (public_port, admin_port) = (port(&public), port(&admin));
        let other_at = format!("127.0.0.1:{}", port(&other));
        let numbers_of = [&admin, &other, &public].map(|fd| fd.as_raw_fd());
        let activated = Activated::from_fds(vec![(admin, None), (other, None), (public, None)]);
        let listeners = [
            spec("http", &format!("tcp::{public_port}")),
            spec("metrics", "tcp:127.0.0.1:9"),
            spec("admin", &format!("tcp:127.0.0.1:{admin_port}")),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        let [admin_no, other_no, public_no] = numbers_of;
        // `http` declares the wildcard: not the loopback socket.
        assert_eq!(
            numbers(&assigned),
            [Some(other_no), Some(public_no), Some(admin_no)]
        );
        assert_eq!(
            assigned.elsewhere,
            [
                format!(
                    "listener `http` (declared :{public_port}) takes fd {other_no} (unnamed), bound to {other_at}, by its place"
                ),
                format!(
                    "listener `metrics` (declared 127.0.0.1:9) takes fd {public_no} (unnamed), bound to 127.0.0.1:{public_port}, by its place"
                ),
            ]
        );
        // Bound to the wildcard, it is where `http` asks, though first.
        let wildcard = bound("tcp4::0");
        let wildcard_port = port(&wildcard);
        let loopback = bound("tcp4:127.0.0.1:0");
        let numbers_of = [&loopback, &wildcard].map(|fd| fd.as_raw_fd());
        let activated = Activated::from_fds(vec![(wildcard, None), (loopback, None)]);
        let listeners = [
            spec("admin", "tcp:127.0.0.1:9"),
            spec("http", &format!("tcp::{wildcard_port}")),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(
            numbers(&assigned),
            [Some(numbers_of[0]), Some(numbers_of[1])]
        );
    }

    #[test]
    fn a_socket_goes_by_address_only_to_a_listener_that_can_take_it() {
        // DNS over TCP and UDP on one port, the datagram socket first.
        let tcp = bound("tcp4:127.0.0.1:0");
        let at = crate::socket::local_address(&tcp, crate::spec::Kind::Tcp).unwrap();
        let port = at.rsplit_once(':').unwrap().1.to_owned();
        let udp = bound(&format!("udp4:127.0.0.1:{port}"));
        let (tcp_no, udp_no) = (tcp.as_raw_fd(), udp.as_raw_fd());
        let activated = Activated::from_fds(vec![(udp, None), (tcp, None)]);
        let listeners = [
            spec("dns-tcp", &format!("tcp4:127.0.0.1:{port}")),
            spec("dns-udp", &format!("udp4:127.0.0.1:{port}")),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), Some(udp_no)]);
        assert_eq!(assigned.elsewhere, Vec::<String>::new());

        // A hostname says nothing certain: given by place, not said.
        let loopback = bound("tcp4:127.0.0.1:0");
        let at = crate::socket::local_address(&loopback, crate::spec::Kind::Tcp).unwrap();
        let port = at.rsplit_once(':').unwrap().1.to_owned();
        let activated = Activated::from_fds(vec![(loopback, None)]);
        let listeners = [spec("http", &format!("tcp:localhost:{port}"))];
        let assigned = activated.assign(&listeners).unwrap();
        assert!(assigned.fds[0].is_some());
        assert_eq!(assigned.elsewhere, Vec::<String>::new());
    }

    /// A datagram socket, then a stream one, passed with `names`; their
    /// fd numbers.
    fn datagram_then_stream(names: [Option<&str>; 2]) -> (Activated, RawFd, RawFd) {
        let udp = bound("udp4:127.0.0.1:0");
        let tcp = bound("tcp4:127.0.0.1:0");
        let (udp_no, tcp_no) = (udp.as_raw_fd(), tcp.as_raw_fd());
        let activated = Activated::from_fds(vec![(udp, names[0]), (tcp, names[1])]);
        (activated, udp_no, tcp_no)
    }

    #[test]
    fn by_place_each_listener_takes_a_socket_of_its_type() {
        // Hostnames say nothing of where: both go by place, and the unit
        // lists the datagram socket first.
        let (activated, udp_no, tcp_no) = datagram_then_stream([None, None]);
        let listeners = [
            spec("api", "tcp:localhost:8080"),
            spec("stats", "udp:localhost:8125"),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), Some(udp_no)]);
        // A listener declared first that no socket suits leaves the one
        // passed to the listener it suits (and binds its own).
        let tcp = bound("tcp4:127.0.0.1:0");
        let tcp_no = tcp.as_raw_fd();
        let activated = Activated::from_fds(vec![(tcp, None)]);
        let listeners = [
            spec("stats", "udp:localhost:8125"),
            spec("api", "tcp:localhost:8080"),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [None, Some(tcp_no)]);
        // With none of its type left, a listener still takes the next one
        // by place, and its check says what is wrong.
        let udp = bound("udp4:127.0.0.1:0");
        let n = udp.as_raw_fd();
        let activated = Activated::from_fds(vec![(udp, None)]);
        let e = activated
            .assign(&[spec("api", "tcp:localhost:8080")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "socket activation: listener `api`: fd {n} is an IPv4 datagram"
            )),
            "{e}"
        );
    }

    #[test]
    fn a_socket_bound_where_a_listener_declares_is_its_even_of_another_kind() {
        // systemd's `ListenStream=PORT`: `[::]:PORT`, dual-stack, unfit for
        // a `tcp4` listener at that port. Given to that one, whose check
        // says how to fix the unit, not by place to another.
        for declared in ["", "0.0.0.0"] {
            let Some(fd) = dual_stack() else { return };
            let (n, port) = (fd.as_raw_fd(), port_of(&fd));
            let activated = Activated::from_fds(vec![(fd, None)]);
            let listeners = [
                spec("admin", "tcp:localhost:7"),
                spec("http", &format!("tcp4:{declared}:{port}")),
            ];
            let e = activated.assign(&listeners).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "socket activation: listener `http`: fd {n} is an IPv6 stream"
                )) && e.contains("write `ListenStream=0.0.0.0:PORT`"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_connection_passed_at_a_listeners_place_fails_that_listener() {
        // An `Accept=yes` unit's connection, at admin's port: admin's
        // check says so, not the first listener's.
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = listening.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(at).unwrap();
        let connection = OwnedFd::from(listening.accept().unwrap().0);
        let n = connection.as_raw_fd();
        let activated = Activated::from_fds(vec![(connection, None)]);
        let listeners = [
            spec("http", "tcp:127.0.0.1:9"),
            spec("admin", &format!("tcp:{at}")),
        ];
        let e = activated.assign(&listeners).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "socket activation: listener `admin`: fd {n} is a tcp socket that is not listening"
            )),
            "{e}"
        );
    }

    #[test]
    fn a_units_second_half_of_a_listeners_port_is_closed_not_given_to_another() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            eprintln!("no IPv6 on this machine: nothing to check");
            return;
        }
        // `web` on either network a unit's two halves of `:PORT` suit,
        // one of them or both.
        for web in ["tcp", "tcp4"] {
            // A port free on both families (another process may hold the
            // one IPv4 gave on IPv6): a few tries.
            let (ipv4, port, ipv6) = (0..10)
                .find_map(|_| {
                    let ipv4 = bound("tcp4::0");
                    let port = port_of(&ipv4);
                    let ipv6 = crate::listener::bind(&spec("t", &format!("tcp6::{port}")));
                    Some((ipv4, port, ipv6.ok()??.fd))
                })
                .expect("a port free on IPv4 and IPv6");
            let (ipv4_no, ipv6_no) = (ipv4.as_raw_fd(), ipv6.as_raw_fd());
            let activated = Activated::from_fds(vec![(ipv4, None), (ipv6, None)]);
            let listeners = [
                spec("web", &format!("{web}::{port}")),
                spec("admin", "tcp:127.0.0.1:9"),
            ];
            let assigned = activated.assign(&listeners).unwrap();
            assert_eq!(numbers(&assigned), [Some(ipv4_no), None], "{web}");
            assert_eq!(
                assigned.unmatched,
                [format!(
                    "fd {ipv6_no} (unnamed) is bound where listener `web` declares, which has a socket already"
                )],
                "{web}"
            );
            assert!(
                assigned.elsewhere.is_empty(),
                "{web}: {:?}",
                assigned.elsewhere
            );
        }
    }

    #[test]
    fn a_stream_and_a_datagram_socket_on_one_port_go_each_to_its_own_listener() {
        // `ListenStream=P` and `ListenDatagram=P`, both `[::]:P`: each is
        // unfit for the other's listener, at the place it declares, and
        // is its own listener's still.
        let Some(tcp) = dual_stack() else { return };
        let port = port_of(&tcp);
        let udp = bound(&format!("udp::{port}"));
        let (tcp_no, udp_no) = (tcp.as_raw_fd(), udp.as_raw_fd());
        let activated = Activated::from_fds(vec![(udp, None), (tcp, None)]);
        let listeners = [
            spec("https", &format!("tcp:0.0.0.0:{port}")),
            spec("quic", &format!("udp:0.0.0.0:{port}")),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), Some(udp_no)]);
    }

    #[test]
    fn sockets_of_two_units_are_not_given_by_place_when_either_could_do() {
        // Two units, at ports neither listener declares: which listener
        // took which would be the order of the units' fds, which systemd
        // does not keep.
        let http = bound("tcp4:127.0.0.1:0");
        let admin = bound("tcp4:127.0.0.1:0");
        let (http_no, admin_no) = (http.as_raw_fd(), admin.as_raw_fd());
        let activated = Activated::from_fds(vec![
            (http, Some("app-http.socket")),
            (admin, Some("app-admin.socket")),
        ]);
        let listeners = [spec("http", "tcp::9"), spec("admin", "tcp:127.0.0.1:7")];
        let e = activated.assign(&listeners).unwrap_err();
        assert!(matches!(e, ActivationError::UnitsUnordered { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "socket activation: listener `http` could take fd {http_no} (from `app-http.socket`) or fd {admin_no} (from `app-admin.socket`), and the address it declares does not tell which; systemd does not order the fds of different socket units, so which it took would be chance: name each socket for its listener (`FileDescriptorName=` in its unit)"
            )
        );
    }

    #[test]
    fn sockets_of_two_units_go_by_place_where_port_or_type_decides() {
        let port = port_of;
        // Hostnames: each socket is at its own listener's port, elsewhere
        // for the other; the units come in another order.
        let http = bound("tcp4:127.0.0.1:0");
        let admin = bound("tcp4:127.0.0.1:0");
        let listeners = [
            spec("http", &format!("tcp:localhost:{}", port(&http))),
            spec("admin", &format!("tcp:localhost:{}", port(&admin))),
        ];
        let (http_no, admin_no) = (http.as_raw_fd(), admin.as_raw_fd());
        let activated = Activated::from_fds(vec![
            (admin, Some("app-admin.socket")),
            (http, Some("app-http.socket")),
        ]);
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(http_no), Some(admin_no)]);
        // A datagram and a stream socket from two units.
        let units = [Some("app-stats.socket"), Some("app-api.socket")];
        let (activated, udp_no, tcp_no) = datagram_then_stream(units);
        let listeners = [
            spec("api", "tcp:localhost:8080"),
            spec("stats", "udp:localhost:8125"),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), Some(udp_no)]);
        // The datagram listener off: its unit's socket is left over, not
        // a choice for the stream listener, and said to be the other's.
        let (activated, udp_no, tcp_no) = datagram_then_stream(units);
        let listeners = [spec("api", "tcp:localhost:8080"), spec("stats", "udp:")];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), None]);
        assert_eq!(
            assigned.unmatched,
            [format!(
                "fd {udp_no} named `app-stats.socket` fits no listener still without a socket but `stats`, which is off"
            )]
        );
    }

    #[test]
    fn assign_checks_real_sockets() {
        let tcp = bound("tcp4:127.0.0.1:0");
        let udp = bound("udp4:127.0.0.1:0");
        let extra = bound("tcp4:127.0.0.1:0");
        let (tcp_no, udp_no, extra_no) = (tcp.as_raw_fd(), udp.as_raw_fd(), extra.as_raw_fd());
        let activated = Activated::from_fds(vec![
            (udp, Some("dns")),
            (tcp, None),
            (extra, Some("stats")),
        ]);
        let listeners = [spec("https", "tcp::443"), spec("dns", "udp::53")];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), Some(udp_no)]);
        assert_eq!(
            assigned.unmatched,
            [format!("fd {extra_no} named `stats` matches no listener")]
        );
    }

    #[test]
    fn a_passed_file_is_not_told_to_be_a_socket_of_the_unit() {
        // systemd's `OpenFile=` passes a file named by its base name
        // beside the sockets: left over, and said to be no socket.
        let tcp = bound("tcp4:127.0.0.1:0");
        let file: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let (tcp_no, file_no) = (tcp.as_raw_fd(), file.as_raw_fd());
        let activated = Activated::from_fds(vec![(file, Some("key")), (tcp, None)]);
        let assigned = (activated.assign(&[spec("https", "tcp::443")])).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no)]);
        assert!(assigned.unmatched.is_empty(), "{:?}", assigned.unmatched);
        assert_eq!(assigned.not_sockets, [format!("fd {file_no} named `key`")]);
    }

    #[test]
    fn a_listener_that_is_off_takes_no_passed_socket() {
        let first = bound("tcp4:127.0.0.1:0");
        let named = bound("tcp4:127.0.0.1:0");
        let (first_no, named_no) = (first.as_raw_fd(), named.as_raw_fd());
        let activated = Activated::from_fds(vec![(first, None), (named, Some("debug"))]);
        // `admin` is off and first: the unnamed socket goes to `http`; the
        // one named for `debug`, off too, to nobody (and is logged).
        let listeners = [
            spec("admin", "tcp:"),
            spec("http", "tcp::8080"),
            spec("debug", "tcp:"),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [None, Some(first_no), None]);
        assert_eq!(
            assigned.unmatched,
            [format!(
                "fd {named_no} named `debug` is for listener `debug`, which is off"
            )]
        );
    }

    #[test]
    fn an_unnamed_socket_only_a_listener_that_is_off_fits_fails_no_other() {
        // A socket unit's UDP socket, unnamed, for `stats`, turned off by
        // its flag: not given to `api`, whose check would fail the start.
        let udp = bound("udp4:127.0.0.1:0");
        let udp_no = udp.as_raw_fd();
        let activated = Activated::from_fds(vec![(udp, Some("app-stats.socket"))]);
        let listeners = [spec("api", "tcp:localhost:8080"), spec("stats", "udp:")];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [None, None]);
        assert_eq!(
            assigned.unmatched,
            [format!(
                "fd {udp_no} named `app-stats.socket` fits no listener still without a socket but `stats`, which is off"
            )]
        );
        // Two off that fit it, and one on that does but has a socket: said
        // as it is.
        let tcp = bound("tcp4:127.0.0.1:0");
        let extra = bound("tcp4:127.0.0.1:0");
        let (tcp_no, extra_no) = (tcp.as_raw_fd(), extra.as_raw_fd());
        let activated = Activated::from_fds(vec![(tcp, None), (extra, None)]);
        let listeners = [
            spec("api", "tcp:localhost:8080"),
            spec("dns", "udp:localhost:53"),
            spec("admin", "tcp:"),
            spec("debug", "tcp:"),
        ];
        let assigned = activated.assign(&listeners).unwrap();
        assert_eq!(numbers(&assigned), [Some(tcp_no), None, None, None]);
        assert_eq!(
            assigned.unmatched,
            [format!(
                "fd {extra_no} (unnamed) fits no listener still without a socket but `admin` and `debug`, which are off"
            )]
        );
        // With no listener off to fit it, it still goes to `api`, whose
        // check says what it is.
        let udp = bound("udp4:127.0.0.1:0");
        let activated = Activated::from_fds(vec![(udp, None)]);
        let e = activated.assign(&listeners[..1]).unwrap_err().to_string();
        assert!(e.contains("not a tcp socket"), "{e}");
    }

    #[test]
    fn assign_refuses_the_wrong_kind_of_socket() {
        let udp = bound("udp4:127.0.0.1:0");
        let n = udp.as_raw_fd();
        let activated = Activated::from_fds(vec![(udp, Some("https"))]);
        let e = activated.assign(&[spec("https", "tcp::443")]).unwrap_err();
        assert!(matches!(e, ActivationError::NotFit { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.starts_with(&format!(
                "socket activation: listener `https`: fd {n} is an IPv4 datagram (udp4) socket"
            )),
            "{e}"
        );
        assert!(e.ends_with("not a tcp socket"), "{e}");
    }

    #[test]
    fn from_env_adopts_at_most_once() {
        // Whatever the first call finds (nothing, unless a manager passed
        // fds to this very test process), a second one takes nothing.
        let _ = from_env();
        assert!(matches!(from_env(), Ok(None)));
    }

    #[test]
    fn assign_checks_each_listener_against_its_own_network() {
        let tcp = bound("tcp4:127.0.0.1:0");
        let activated = Activated::from_fds(vec![(tcp, None)]);
        let e = activated
            .assign(&[spec("sock", "unix:/nonexistent/s.sock")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a unix socket"), "{e}");
    }
}
