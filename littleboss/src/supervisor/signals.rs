//! Signals to the supervisor become machine events: SIGTERM and SIGINT
//! stop, SIGHUP reloads, SIGCHLD reaps orphans, SIGUSR1 and SIGUSR2 are
//! passed on to the child the machine names, if it handles them (one it
//! does not would die of it; said in the log instead). What a repeated
//! one means is the machine's to decide.
//!
//! The supervisor's threads keep these signals blocked for its whole life
//! (all but those `supervisor_init` starts, which the handler below
//! covers), and it reads them from a signalfd. One not read yet stays
//! pending in the kernel, through an exec too: an upgrade in place hands
//! the new image the signals that arrived during it without having to
//! collect them first. Children get them all unblocked before their exec.
//!
//! A handler is installed as well, for a thread the supervisor did not
//! start (code before `run` may have left one running), which does not
//! block them: the kernel may give such a thread a signal meant for the
//! process. The handler sends it on to the supervisor's own thread, where
//! it waits, blocked, for the signalfd like any other, through an exec
//! too. The handler also replaces an ignored disposition inherited from
//! the parent (`nohup`, a shell's background job), which would otherwise
//! pass on to children and, for SIGCHLD, make the kernel reap them before
//! their watchers could.

use std::io;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal as Number, pthread_sigmask,
    sigaction,
};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};

use super::machine::{Event, Signal};

/// The signals the supervisor handles, and what each becomes.
const HANDLED: [(Number, Signal); 6] = [
    (Number::SIGTERM, Signal::Term),
    (Number::SIGINT, Signal::Int),
    (Number::SIGHUP, Signal::Hup),
    (Number::SIGCHLD, Signal::Chld),
    (Number::SIGUSR1, Signal::Usr1),
    (Number::SIGUSR2, Signal::Usr2),
];

/// The kernel's id of the thread that reads the signalfd: where the
/// handler sends a signal another thread took.
static READER: AtomicI32 = AtomicI32::new(0);

/// The supervisor's pid: a process that has another (a child between its
/// fork and exec) gives a signal its default action.
static SUPERVISOR: AtomicI32 = AtomicI32::new(0);

thread_local! {
    /// Whether this thread is forking one of the supervisor's own spawns.
    /// A process forked then has this thread alone, and its copy of this
    /// thread's flag says it is a child on its way to its exec (see
    /// [`send_on`]); a fork by another thread meanwhile has that thread's.
    /// Constant and without a destructor: read in a signal handler.
    static SPAWNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `fork` (a spawn of a child) with [`SPAWNING`] set on this thread.
pub(crate) fn spawning<T>(fork: impl FnOnce() -> T) -> T {
    SPAWNING.set(true);
    let forked = fork();
    SPAWNING.set(false);
    forked
}

/// Whether a process that is not the supervisor drops signal `number`:
/// SIGHUP, in a child of one of the supervisor's spawns (`spawning`: its
/// copy of [`SPAWNING`] is set; `parent`: its parent is the supervisor)
/// before its exec, which ignores SIGHUP until its `run`
/// (see `spawn`). Any other process the supervisor forks (a sidecar of
/// `supervisor_init`'s, a library's fork) keeps SIGHUP's default.
fn dropped_before_exec(number: nix::libc::c_int, spawning: bool, parent: bool) -> bool {
    number == nix::libc::SIGHUP && spawning && parent
}

/// Set while [`unblocked_for`] runs its code: the reader takes the
/// handled signals then, and keeps them for later ([`DEFERRED`]).
static DEFERRING: AtomicBool = AtomicBool::new(false);

/// The signals the reader took while [`DEFERRING`], one bit each.
static DEFERRED: AtomicU64 = AtomicU64::new(0);

/// How many SIGCHLDs have been read, for the children watched by pid.
static CHILD_SIGNALS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// The numbers of the [`HANDLED`] signals, without allocating (for a
/// spawn's child between its fork and its exec).
pub(crate) fn handled_numbers() -> impl Iterator<Item = nix::libc::c_int> {
    HANDLED
        .into_iter()
        .map(|(number, _)| number as nix::libc::c_int)
}

/// The set of [`HANDLED`] signals.
pub(crate) fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for (number, _) in HANDLED {
        set.add(number);
    }
    set
}

/// Blocks the handled signals on this thread and on every thread it starts
/// from now on (a new thread inherits the mask), so that they wait in the
/// kernel for the signalfd, which this thread reads; and installs
/// [`send_on`], so that a thread started before `run`, which does not block
/// them, passes them on rather than dies of them, though the signalfd may
/// come later. Called again before an exec: code the supervisor ran
/// (`supervisor_init`, a library) may have unblocked them, and the new
/// image must find them waiting, not at their default action.
pub(crate) fn block() -> io::Result<()> {
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None)?;
    READER.store(nix::unistd::gettid().as_raw(), Ordering::Relaxed);
    SUPERVISOR.store(nix::unistd::getpid().as_raw(), Ordering::Relaxed);
    install_handler()
}

/// Runs `code` (`supervisor_init`) with the handled signals unblocked on
/// this thread, the reader's, so that what it starts does not inherit them
/// blocked: a process it spawns keeps the mask through its exec (std's
/// `Command` keeps it too), and a
/// sidecar that blocks SIGTERM outlives `kill` and
/// `docker stop`. One that arrives meanwhile is kept, and once `code`
/// returns, blocked again, waits for the signalfd like any other. Threads
/// `code` starts keep them unblocked: one they take goes on to the reader
/// through [`send_on`]. What `code` set for them (SIGCHLD ignored: the
/// kernel would reap the children before their watchers read their exit
/// codes; SIGHUP ignored: every child would inherit it through exec) is
/// set back once it returns; an error only if that fails.
pub(crate) fn unblocked_for<T>(code: impl FnOnce() -> T) -> io::Result<T> {
    DEFERRING.store(true, Ordering::SeqCst);
    let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&handled()), None);
    let result = code();
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None);
    // What `code` let in is raised again even should the handler not go
    // back (the error ends the supervisor, whose signalfd may read them
    // meanwhile).
    let installed = install_handler();
    DEFERRING.store(false, Ordering::SeqCst);
    let deferred = DEFERRED.swap(0, Ordering::SeqCst);
    for (number, _) in HANDLED {
        if deferred & (1 << number as u32) != 0 {
            // Pending, blocked, for the signalfd.
            let _ = nix::sys::signal::raise(number);
        }
    }
    installed.map(|()| result)
}

/// Installs [`send_on`] for the handled signals.
fn install_handler() -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(send_on),
        // A thread not ours, interrupted, carries on with what it did,
        // in the calls the kernel restarts (not `poll`, `epoll_wait`,
        // `nanosleep` or a socket call with a timeout: EINTR, signal(7)).
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    for (number, _) in HANDLED {
        // SAFETY: `send_on` is async-signal-safe: it reads atomics and a
        // constant thread-local without a destructor (a plain load), makes
        // syscalls (getpid, getppid, gettid, tgkill, sigaction), edits the mask the
        // interrupted code resumes with (`sigaddset`), and restores errno.
        unsafe { sigaction(number, &action) }?;
    }
    Ok(())
}

/// The handler. In the supervisor, the signal goes on to the thread that
/// reads the signalfd and blocks it, to wait there (through an exec too):
/// taken by a thread that does not block it (one started before `run`),
/// or by the reader itself if code it ran unblocked it, which then blocks
/// it again as the handler returns. In a process that is no longer the
/// supervisor (a child between its fork and its exec), the signal does
/// what it would do by default; SIGHUP nothing in a spawn's child (see
/// [`dropped_before_exec`]), should one be taken there before its
/// `pre_exec` code ignores it (a fork from a thread that had it
/// unblocked).
extern "C" fn send_on(
    number: nix::libc::c_int,
    _info: *mut nix::libc::siginfo_t,
    context: *mut nix::libc::c_void,
) {
    let errno = Errno::last_raw();
    let pid = nix::unistd::getpid().as_raw();
    let tid = nix::unistd::gettid().as_raw();
    let tgkill = |to: nix::libc::pid_t| {
        // SAFETY: tgkill takes plain numbers and only sends a signal.
        unsafe { nix::libc::syscall(nix::libc::SYS_tgkill, pid, to, number) }
    };
    if pid == SUPERVISOR.load(Ordering::Relaxed) {
        let reader = READER.load(Ordering::Relaxed);
        if tid == reader && DEFERRING.load(Ordering::SeqCst) {
            // Kept for after `supervisor_init` (see `unblocked_for`).
            DEFERRED.fetch_or(1 << number as u32, Ordering::SeqCst);
            Errno::set_raw(errno);
            return;
        }
        if tid == reader && !context.is_null() {
            let context = context.cast::<nix::libc::ucontext_t>();
            for (blocked, _) in HANDLED {
                // SAFETY: with SA_SIGINFO the kernel passes the interrupted
                // context, whose mask is restored when the handler returns.
                unsafe { nix::libc::sigaddset(&mut (*context).uc_sigmask, blocked as i32) };
            }
        }
        tgkill(reader);
    } else if dropped_before_exec(
        number,
        SPAWNING.get(),
        nix::unistd::getppid().as_raw() == SUPERVISOR.load(Ordering::Relaxed),
    ) {
        // A `pkill -HUP` that reaches a reload's child before its exec
        // would otherwise kill it and fail the reload.
    } else if let Ok(signal) = Number::try_from(number) {
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: the default action is no handler at all.
        let _ = unsafe { sigaction(signal, &default) };
        // This thread blocks the signal while its handler runs, so it is
        // delivered, by default, when the handler returns.
        tgkill(tid);
    }
    Errno::set_raw(errno);
}

/// Wakes at each SIGCHLD read from now on.
pub(crate) fn child_signals() -> watch::Receiver<u64> {
    CHILD_SIGNALS.subscribe()
}

/// Blocks the handled signals, installs the handler, then forwards each
/// signal as an [`Event`], those pending from before (an exec's) first.
/// Needs a tokio runtime on this thread.
pub(crate) fn forward(events: mpsc::UnboundedSender<Event>) -> io::Result<()> {
    block()?;
    let fd = SignalFd::with_flags(&handled(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    // SAFETY: the AsyncFd owns the signalfd outright, so it stays open and
    // the same signalfd for the AsyncFd's whole life.
    let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
    let fd = registered.map_err(|e| e.into_parts().1)?;
    tokio::spawn(async move {
        loop {
            // Read and sent in one poll: a signal taken from the kernel is
            // in the event queue before anything else in the runtime runs.
            let signal = match read(&fd).await {
                Ok(Some(signal)) => signal,
                Ok(None) => continue,
                Err(e) => {
                    // Not expected of a signalfd. The signals wait in the
                    // kernel meanwhile (unblocked, the handler would only
                    // send them back here).
                    crate::log::log!("cannot read signals ({e}); trying again in 1 s");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if signal == Signal::Chld {
                CHILD_SIGNALS.send_modify(|n| *n += 1);
            }
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// The next signal from the signalfd: `None` if it had none after all (or
/// one not handled).
async fn read(fd: &AsyncFd<SignalFd>) -> io::Result<Option<Signal>> {
    let mut ready = fd.readable().await?;
    match fd.get_ref().read_signal()? {
        Some(info) => Ok(meaning(info.ssi_signo)),
        None => {
            ready.clear_ready();
            Ok(None)
        }
    }
}

/// The signal number of the machine's `signal`.
pub(crate) fn number(signal: Signal) -> Number {
    HANDLED
        .iter()
        .find(|(_, s)| *s == signal)
        .map(|(n, _)| *n)
        .expect("every machine signal is handled")
}

/// Whether process `pid` has a handler for `signal` (its `SigCgt` in
/// `/proc/PID/status`); `None` if that cannot be read. A program that
/// blocks the signal in every thread and reads it from a signalfd takes it
/// too, but from outside that cannot be told from one that blocks every
/// signal for a moment (a shell around a fork) and would die of it once it
/// unblocks: such a program is not sent it.
pub(crate) fn caught_by(pid: u32, signal: Number) -> Option<bool> {
    let status = std::fs::read_to_string(crate::proc_pid::path(pid, "status")?).ok()?;
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())?;
    Some(mask & (1 << (signal as i32 - 1)) != 0)
}

/// What signal number `number` is to the machine, if one it handles.
fn meaning(number: u32) -> Option<Signal> {
    HANDLED
        .iter()
        .find(|(n, _)| *n as i32 as u32 == number)
        .map(|(_, signal)| *signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Between its fork and its exec, a spawn's child has the
    /// supervisor's handler: SIGHUP is dropped there, another signal does
    /// what it does by default.
    #[test]
    fn a_spawns_child_drops_sighup_before_its_exec() {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        // This process stands for the supervisor, as `block` would set.
        SUPERVISOR.store(nix::unistd::getpid().as_raw(), Ordering::Relaxed);
        let raising = |number: nix::libc::c_int| {
            let mut command = std::process::Command::new("true");
            // SAFETY: in the forked child, only sigaction (in
            // `install_handler`), raise and what the handler does, which
            // are async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    install_handler()?;
                    nix::libc::raise(number);
                    Ok(())
                });
            }
            spawning(|| command.status().unwrap())
        };
        assert_eq!(raising(nix::libc::SIGHUP).code(), Some(0));
        assert_eq!(
            raising(nix::libc::SIGTERM).signal(),
            Some(nix::libc::SIGTERM)
        );
    }

    /// A fork by another thread while one spawns is no spawn's child.
    #[test]
    fn the_spawning_flag_is_the_forking_threads_own() {
        spawning(|| {
            assert!(SPAWNING.get());
            assert!(!std::thread::spawn(|| SPAWNING.get()).join().unwrap());
        });
        assert!(!SPAWNING.get());
    }

    #[test]
    fn only_a_spawns_child_drops_sighup() {
        let hup = nix::libc::SIGHUP;
        assert!(dropped_before_exec(hup, true, true));
        // Another fork of the supervisor's, or of a process it forked.
        assert!(!dropped_before_exec(hup, false, true));
        assert!(!dropped_before_exec(hup, true, false));
        assert!(!dropped_before_exec(nix::libc::SIGTERM, true, true));
    }

    #[test]
    fn each_handled_number_has_its_meaning_and_no_other_does() {
        let number = |n: Number| n as i32 as u32;
        assert_eq!(meaning(number(Number::SIGTERM)), Some(Signal::Term));
        assert_eq!(meaning(number(Number::SIGINT)), Some(Signal::Int));
        assert_eq!(meaning(number(Number::SIGHUP)), Some(Signal::Hup));
        assert_eq!(meaning(number(Number::SIGCHLD)), Some(Signal::Chld));
        assert_eq!(meaning(number(Number::SIGQUIT)), None);
        assert_eq!(meaning(number(Number::SIGUSR1)), Some(Signal::Usr1));
        assert_eq!(meaning(number(Number::SIGUSR2)), Some(Signal::Usr2));
        assert_eq!(handled().iter().count(), 6);
        for (n, signal) in HANDLED {
            assert_eq!(super::number(signal), n);
        }
    }

    #[test]
    fn a_handler_is_seen_in_proc() {
        // A shell that traps SIGUSR1 catches it; SIGUSR2 it leaves alone.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "trap 'exit 0' USR1; while :; do sleep 0.05; done"])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while caught_by(shell.id(), Number::SIGUSR1) != Some(true) {
            assert!(std::time::Instant::now() < deadline, "trap never seen");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(caught_by(shell.id(), Number::SIGUSR2), Some(false));
        shell.kill().unwrap();
        shell.wait().unwrap();
        assert_eq!(
            caught_by(u32::MAX, Number::SIGUSR1),
            None,
            "no such process"
        );
    }
}
