//! What littleboss hands a process across exec, taken as the binary
//! starts, before any of the program's own code runs.
//!
//! A builder program's code before `run` runs in a supervisor's new image
//! and in every child. Whatever it starts there (a sidecar, its own binary
//! with `--version`) would otherwise inherit the variables meant for
//! littleboss alone and, in a new image, every descriptor the previous one
//! handed over: the listening sockets, the service lock, the control
//! connections and the children's channels. A helper that outlived it
//! would keep the lock and the ports; a littleboss binary would take the
//! variables for its own and resume the supervisor a second time.
//!
//! So too systemd's socket activation (`LISTEN_PID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`), when `LISTEN_PID` names this process: the sockets
//! passed (fds 3 and up, open across exec) would otherwise be held by a
//! helper for its whole life, keeping the ports open.

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::sync::OnceLock;

use crate::link;
use crate::supervisor::handoff;

/// The variables meant for this process alone.
const OURS: [&str; 6] = [
    handoff::ENV_VAR,
    handoff::FAILED_VAR,
    link::ENV_VAR,
    handoff::RETRY_VAR,
    handoff::ROLLBACK_TRIES_VAR,
    handoff::LOG_UNSAID_VAR,
];

/// What [`take_at_start`] took.
#[derive(Debug)]
struct Taken {
    /// The value of each of [`OURS`], in order.
    vars: [Option<OsString>; 6],
    /// The descriptors that were open across exec when the binary started
    /// and are close-on-exec since, each with what it was then (device and
    /// inode), for a new image to adopt only what the previous one handed
    /// it: not a file the program's code before `run` opened at a number
    /// it closed.
    across_exec: Vec<(RawFd, Option<FileIdentity>)>,
    /// Whether `across_exec` is the whole of them: the listing of open
    /// descriptors could be read (not in a child, which records only its
    /// channel).
    listed: bool,
    /// The socket activation variables, when they named this process.
    activation: Option<Activation>,
    /// In a supervisor's new image: the environment (without [`OURS`])
    /// and working folder as it started, before the program's code could
    /// change them, for the image it goes back to.
    at_start: Option<AtStart>,
    /// The pid of the process the binary loaded in: a process the
    /// program's code before `run` forked inherits all of this, and the
    /// descriptors, but is not the one they were handed to.
    pid: i32,
}

/// A process's environment and working folder, as it started.
#[derive(Debug, Clone)]
pub(crate) struct AtStart {
    pub vars: Vec<(OsString, OsString)>,
    pub dir: Option<std::path::PathBuf>,
}

/// Socket activation as the binary started, when it named this process.
#[derive(Debug, Clone)]
pub(crate) struct Activation {
    /// `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`, in the order of
    /// [`crate::activation::VARS`].
    pub vars: [Option<OsString>; 3],
    /// Those of the fds `LISTEN_FDS` counts that were open across exec,
    /// in ascending order, each with what it was then (device and inode):
    /// passed. Neither a count larger than what was passed nor a passed
    /// fd closed since (a `closefrom(3)` in code before `run`) may make the
    /// process take fds it opened itself (its lock, its control socket, a
    /// file of the program's) for sockets.
    pub passed: Vec<(RawFd, FileIdentity)>,
}

static TAKEN: OnceLock<Taken> = OnceLock::new();

// SAFETY: a function in `.init_array` is called once by the dynamic
// loader (or the static start code) as the binary starts, before `main`;
// `take_at_start` reads and changes the environment and descriptor flags,
// which nothing else touches then. It assumes the process's only thread:
// the shared libraries' constructors ran before it, and one that started
// a thread touching the environment (none of glibc's, libgcc's or libm's
// does) would race its `remove_var`.
// Priority 100: after std's own (99), before every constructor without one
// (a program's `#[ctor]`), which may start processes too.
#[used]
#[unsafe(link_section = ".init_array.00100")]
static TAKE_AT_START: extern "C" fn() = take_at_start;

/// Takes littleboss's variables out of the environment, keeping their
/// values for [`var`], and, in a supervisor's new image, makes every
/// inherited descriptor close-on-exec (without `/proc` to list them, those
/// the handoff names; in a child, its channel); notes
/// `log`'s stand-in logger, for telling one the program sets. Must not
/// panic: it runs before `main`, where a panic aborts.
extern "C" fn take_at_start() {
    crate::report::note_no_logger();
    let vars = OURS.map(std::env::var_os);
    // A supervisor's new image keeps what its previous image held, the
    // activated sockets among them (recorded as open across exec below).
    let activation = vars[0].is_none().then(take_activation).flatten();
    if vars.iter().all(Option::is_none) {
        if activation.is_some() {
            let _ = TAKEN.set(Taken {
                vars,
                across_exec: Vec::new(),
                listed: false,
                activation,
                at_start: None,
                pid: nix::unistd::getpid().as_raw(),
            });
        }
        return;
    }
    let mut listed = false;
    let across_exec = if vars[0].is_some() {
        // A new image (`FAILED_VAR` unset: not one gone back to) whose
        // program exits before `run` gives the state back.
        if vars[1].is_none() {
            crate::supervisor::go_back_should_the_program_exit();
        }
        let open = open_fds_listed();
        listed = open.is_some();
        // Not listed (no `/proc`): those the handoff names, so that a
        // helper the program's code starts holds none of them.
        close_on_exec(&open.unwrap_or_else(|| named_in_handoff(vars[0].as_deref())))
    } else {
        // Only ours: a marker copied from elsewhere names another's fd 3.
        let parent = nix::unistd::getppid().as_raw();
        let channel = vars[2].as_deref().and_then(link::parse_env);
        let fd = channel
            .filter(|(fd, supervisor)| *fd == link::CHILD_FD && *supervisor == parent)
            .map(|(fd, _)| fd);
        if fd.is_some() {
            hangup_caught_until_run();
        }
        close_on_exec(&fd.into_iter().collect::<Vec<_>>())
    };
    for var in OURS {
        // SAFETY: before `main`, with one thread: nothing reads the
        // environment meanwhile.
        unsafe { std::env::remove_var(var) };
    }
    let across_exec = (across_exec.into_iter())
        .map(|fd| (fd, file_identity(fd)))
        .collect();
    let at_start = vars[0].is_some().then(|| AtStart {
        vars: std::env::vars_os().collect(),
        dir: std::env::current_dir().ok(),
    });
    let _ = TAKEN.set(Taken {
        vars,
        across_exec,
        listed,
        activation,
        at_start,
        pid: nix::unistd::getpid().as_raw(),
    });
}

/// The pid this process had as the binary loaded, if littleboss's
/// variables or socket activation named it then, when it is not this
/// process's now: this is a process the program's code before `run`
/// forked, which must not take what was handed to its parent (a
/// supervisor's state, a child's channel).
fn forked_from() -> Option<i32> {
    let taken = TAKEN.get()?;
    (taken.pid != nix::unistd::getpid().as_raw()).then_some(taken.pid)
}

/// In a copy the program's code before `run` forked ([`forked_from`]),
/// why it must end before it touches anything: its parent, `parent`
/// ("the supervisor's new image"), was handed `what` ("the supervisor's
/// state"), which is not this copy's to take. `None` in the process the
/// binary loaded in.
pub(crate) fn forked_copy(parent: &str, what: &str) -> Option<String> {
    let pid = forked_from()?;
    Some(format!(
        "this process was forked before `run` from {parent} (pid {pid}), to which {what} was handed: it takes none of it, and exits (a program must not fork before `run`, daemonizing included; one that forks only when started as the supervisor cannot be upgraded in place: set self_upgrade = false)"
    ))
}

/// In a supervisor's new image, the environment and working folder it
/// started with (littleboss's own variables taken out): what an image it
/// goes back to gets, not what the program's code before `run` made of
/// them (a secret it read and removed, a folder it moved to).
pub(crate) fn at_start() -> Option<&'static AtStart> {
    TAKEN.get()?.at_start.as_ref()
}

/// A child starts with SIGHUP ignored (see `spawn`), so that a `pkill -HUP`
/// reaching it while it starts does not kill it; from here to `run`, which
/// installs its own handler, a handler that does nothing stands in: unlike
/// the ignoring, it is not inherited by what the program's code before
/// `run` starts (a handler goes back to the default at exec).
fn hangup_caught_until_run() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    extern "C" fn nothing(_: nix::libc::c_int) {}
    // Restarted: a system call the signal interrupts goes on.
    let action = SigAction::new(
        SigHandler::Handler(nothing),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, so it is async-signal-safe; before
    // `main`, with one thread.
    let _ = unsafe { sigaction(Signal::SIGHUP, &action) };
}

/// Takes the socket activation variables out of the environment, and
/// makes the sockets they pass close-on-exec, when `LISTEN_PID` names this
/// process (others' are left for [`crate::activation::from_env`] to
/// remove, saying nothing of their fds).
fn take_activation() -> Option<Activation> {
    use crate::activation::{FIRST_FD, MAX_FDS, VARS};
    let pid = std::env::var_os(VARS[0])?;
    let ours = pid.to_str()?.parse::<i32>().ok()? == nix::unistd::getpid().as_raw();
    if !ours {
        return None;
    }
    let vars = VARS.map(std::env::var_os);
    let count = vars[1]
        .as_deref()
        .and_then(|n| n.to_str()?.parse::<usize>().ok());
    // A count too large is an error `from_env` names; none are marked.
    let mut passed = Vec::new();
    if let Some(count) = count.filter(|n| *n <= MAX_FDS) {
        let fds: Vec<RawFd> = (FIRST_FD..).take(count).collect();
        passed = (close_on_exec(&fds).into_iter())
            .filter_map(|fd| Some((fd, file_identity(fd)?)))
            .collect();
    }
    for var in crate::activation::ALL_VARS {
        // SAFETY: before `main`, with one thread: nothing reads the
        // environment meanwhile.
        unsafe { std::env::remove_var(var) };
    }
    Some(Activation { vars, passed })
}

/// Socket activation as the binary started, if it named this process
/// (its variables then taken out of the environment already).
pub(crate) fn activation() -> Option<Activation> {
    TAKEN.get()?.activation.clone()
}

/// The value littleboss's variable `name` had as the binary started, or,
/// if it was set since (a unit test), has now.
pub(crate) fn var(name: &str) -> Option<OsString> {
    let at = OURS.iter().position(|v| *v == name);
    let taken = at.and_then(|at| TAKEN.get()?.vars[at].clone());
    taken.or_else(|| std::env::var_os(name))
}

/// Whether descriptor `fd` is open now as another file than a previous
/// image handed over at that number: one open across exec as the binary
/// started, closed since and something else opened there; or one not
/// open across exec then (the previous image closed it, or left it
/// close-on-exec going back) that the program's code before `run` opened.
/// Closed: no. Not known (nothing recorded, or the listing at start could
/// not be read, for the second): no.
pub(crate) fn not_as_handed(fd: RawFd) -> bool {
    TAKEN.get().is_some_and(|taken| {
        let recorded = taken.across_exec.iter().any(|(at, _)| *at == fd);
        match recorded {
            true => replaced(&taken.across_exec, fd),
            false => taken.listed && file_identity(fd).is_some(),
        }
    })
}

/// Whether `fd` is open and another file than `recorded` says it was.
fn replaced(recorded: &[(RawFd, Option<FileIdentity>)], fd: RawFd) -> bool {
    let then = recorded.iter().find(|(at, _)| *at == fd).and_then(|r| r.1);
    then.zip(file_identity(fd))
        .is_some_and(|(then, now)| then != now)
}

/// Makes the descriptors that were open across exec as the binary started
/// so again, for an exec that hands them on: a new image going back to
/// the previous binary. One closed since is passed over (its error is the
/// one returned; the others are still made so); one replaced since is
/// left close-on-exec, so that the image gone back to finds it missing
/// rather than takes the program's file for what it handed over. Where
/// they could not be listed at start (no `/proc`, as in a chroot), those
/// `handed` names are, as they are now: nothing tells a replaced one.
pub(crate) fn reopen_across_exec(handed: impl FnOnce() -> Vec<RawFd>) -> std::io::Result<()> {
    let fds = match TAKEN.get() {
        Some(taken) if taken.listed => still_as_handed(&taken.across_exec),
        _ => handed(),
    };
    crate::supervisor::inherit(&fds, true)
}

/// Those of the `recorded` descriptors that are not another file now.
fn still_as_handed(recorded: &[(RawFd, Option<FileIdentity>)]) -> Vec<RawFd> {
    (recorded.iter())
        .map(|(fd, _)| *fd)
        .filter(|fd| !replaced(recorded, *fd))
        .collect()
}

/// A test hook: `1` makes the listing of open descriptors unreadable, as
/// without `/proc` (the orphan scan takes it too).
const TEST_NO_PROC_VAR: &str = "LITTLEBOSS_TEST_NO_PROC";

/// This process's open descriptors above stderr (the listing's own among
/// them, closed by the time it is returned).
pub(crate) fn open_fds() -> Vec<RawFd> {
    open_fds_listed().unwrap_or_default()
}

/// As [`open_fds`]; `None` when the listing cannot be read.
fn open_fds_listed() -> Option<Vec<RawFd>> {
    // A test's stand-in for a chroot without `/proc`.
    if crate::test_hook::test_hook::<u8>(TEST_NO_PROC_VAR) == Some(1) {
        return None;
    }
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    let fds = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    Some(fds)
}

/// The descriptors a previous image handed over as its handoff names
/// them, `value` being [`handoff::ENV_VAR`]'s (`MEMFD,PREVIOUS`): those
/// two and what the state in the memfd names. For when they cannot be
/// listed. One in a field this binary cannot read (a newer image's, which
/// it will go back to) is not named, and so stays open across exec.
fn named_in_handoff(value: Option<&std::ffi::OsStr>) -> Vec<RawFd> {
    use std::os::fd::BorrowedFd;
    let Some((memfd, previous)) = value.and_then(|v| handoff::env_numbers(v.to_str()?)) else {
        return Vec::new();
    };
    let mut fds = vec![memfd, previous];
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    if unsafe { nix::libc::fcntl(memfd, nix::libc::F_GETFD) } != -1 {
        // SAFETY: open (just asked), and only copied while the binary
        // starts, with one thread: nothing closes it meanwhile.
        let borrowed = unsafe { BorrowedFd::borrow_raw(memfd) };
        if let Ok(copy) = borrowed.try_clone_to_owned() {
            fds.extend(handoff::Handoff::fds_in(&copy));
        }
    }
    fds.retain(|fd| *fd > 2);
    fds
}

/// Marks each of `fds` close-on-exec; returns those that were not.
fn close_on_exec(fds: &[RawFd]) -> Vec<RawFd> {
    let mut were_open_across = Vec::new();
    for &fd in fds {
        // SAFETY: fcntl on a descriptor number only reads and sets its
        // flags; one not open (the listing's, closed since) yields EBADF.
        let flags = unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) };
        if flags < 0 || flags & nix::libc::FD_CLOEXEC != 0 {
            continue;
        }
        // SAFETY: as above.
        unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, flags | nix::libc::FD_CLOEXEC) };
        were_open_across.push(fd);
    }
    were_open_across
}

/// What an open descriptor is: its file's device and inode (a socket's
/// inode is unique while it lives).
pub(crate) type FileIdentity = [u64; 2];

/// What `fd` is now, if it is open.
pub(crate) fn file_identity(fd: RawFd) -> Option<FileIdentity> {
    let mut stat = std::mem::MaybeUninit::<nix::libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into the buffer it is given,
    // sized for one, and nothing else; a number not open yields EBADF.
    if unsafe { nix::libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    Some([stat.st_dev, stat.st_ino])
}

#[cfg(test)]
pub(crate) mod tests {
    use std::os::fd::{AsRawFd, OwnedFd};

    /// Whether `fd` stays open across an exec.
    pub(crate) fn open_across_exec(fd: &OwnedFd) -> bool {
        let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        flags & nix::libc::FD_CLOEXEC == 0
    }

    #[test]
    fn only_descriptors_open_across_exec_are_marked_and_named() {
        let across = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        crate::supervisor::inherit(&[across.as_raw_fd()], true).unwrap();
        let already = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        assert!(open_across_exec(&across) && !open_across_exec(&already));
        assert!(super::open_fds().contains(&across.as_raw_fd()));
        let fds = [across.as_raw_fd(), already.as_raw_fd(), i32::MAX - 1];
        assert_eq!(super::close_on_exec(&fds), [across.as_raw_fd()]);
        assert!(!open_across_exec(&across));
    }

    #[test]
    fn a_descriptor_closed_and_opened_again_is_not_what_was_handed_over() {
        use std::os::fd::{AsFd, FromRawFd};
        // At a number far above the lowest free one, which a test running
        // beside this one could take as soon as it is closed (below).
        let low = std::fs::File::open("/dev/null").unwrap();
        let at = |from| nix::fcntl::fcntl(&low, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(from));
        // Under an open-file limit of 1000 or less, as low as it goes.
        let high = at(1000).or_else(|_| at(3)).unwrap();
        // SAFETY: a new descriptor, owned by nothing else.
        let handed = unsafe { OwnedFd::from_raw_fd(high) };
        let fd = handed.as_raw_fd();
        let recorded = [(fd, super::file_identity(fd))];
        assert!(!super::replaced(&recorded, fd));
        assert!(!super::replaced(&recorded, i32::MAX - 1), "not recorded");
        // The program's own file put at its number (as a close, then an
        // open that got the lowest free number, would).
        let own = tempfile_in_target();
        let mut at = handed;
        nix::unistd::dup2(own.as_fd(), &mut at).unwrap();
        assert!(super::replaced(&recorded, fd));
        // Not handed on to an image gone back to, which would take it
        // for what it handed over.
        let kept = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let both = [
            recorded[0],
            (kept.as_raw_fd(), super::file_identity(kept.as_raw_fd())),
        ];
        assert_eq!(super::still_as_handed(&both), [kept.as_raw_fd()]);
        // Closed: not open to be taken for it (adopting says so).
        drop(at);
        assert!(!super::replaced(&recorded, fd), "closed");
    }

    /// A file of the test's own, not /dev/null.
    fn tempfile_in_target() -> OwnedFd {
        let path = std::env::temp_dir().join(format!("lb-inherited-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        OwnedFd::from(file)
    }
}
