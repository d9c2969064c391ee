//! Children watched through pidfds (Linux 5.4+), or by pid where there
//! are none.
//!
//! A pidfd names one process for as long as the fd is open, so it can be
//! waited on and signalled without the pid-reuse race, and it can be made
//! again from a pid after the supervisor re-executes itself: a child that
//! has not been reaped still has its pid, and only its parent (still us,
//! same pid) can reap it.
//!
//! An older kernel, or a seccomp filter that refuses `pidfd_open` (Docker
//! before 20.10), gets the same by pid: the watcher alone reaps its child,
//! so until it does the pid cannot be reused either. It asks
//! `waitpid(WNOHANG)` at each SIGCHLD the supervisor reads, and every
//! [`BY_PID_POLL`] in case it reads none (without a signal forwarder, as in
//! unit tests). Without pidfds the supervisor does not upgrade itself in
//! place (it could not open them for its children again). A child whose
//! pidfd could not be had for a reason of its own (out of descriptors) is
//! watched by pid too, the others still by pidfd.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

use super::machine::ChildExit;

/// A test hook: `pidfd_send_signal` fails with ENOSYS, as a seccomp filter
/// that allows `pidfd_open` but not it would have it.
const TEST_NO_PIDFD_SIGNAL_VAR: &str = "LITTLEBOSS_TEST_NO_PIDFD_SIGNAL";

/// How often a child watched by pid is asked whether it has ended when
/// no SIGCHLD comes.
const BY_PID_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Set once `pidfd_open` was refused: children are watched by pid.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// Whether `pidfd_send_signal` answered ENOSYS (a seccomp filter that lets
/// `pidfd_open` through): signals go by pid from then on. (Not so for
/// EPERM, which a child of another user's gives too.)
static SIGNAL_REFUSED: AtomicBool = AtomicBool::new(false);

/// Set once a child's pidfd has been asked whether it can be waited on.
static WAIT_ASKED: AtomicBool = AtomicBool::new(false);

/// Whether children are watched through pidfds (so far).
pub(crate) fn available() -> bool {
    !UNAVAILABLE.load(Ordering::Relaxed)
}

/// A child process, by pidfd or by pid.
#[derive(Debug)]
pub(crate) struct Process {
    pub pid: u32,
    watch: Watch,
}

#[derive(Debug)]
enum Watch {
    Fd(AsyncFd<OwnedFd>),
    /// By pid, asked at each SIGCHLD.
    Pid,
}

impl Process {
    /// Whether it is watched through a pidfd (else by pid, at SIGCHLD).
    pub fn by_pidfd(&self) -> bool {
        matches!(self.watch, Watch::Fd(_))
    }

    /// Opens a pidfd for our child `pid`, which must not have been reaped.
    /// Needs a tokio runtime. A pid that is no longer our child fails with
    /// [`NoLongerOurs`](super::spawn::NoLongerOurs): no process has it,
    /// its pidfd names a process that is not our child, or, with no pidfd
    /// to be had, `waitid` finds no child of ours by that pid. Code of the
    /// program's reaped it first, and the pid, maybe another process's by
    /// now, is not to be watched or signalled. (One that another child of
    /// ours took since passes: only a pidfd from the spawn itself would
    /// tell.)
    ///
    /// ```ignore
    /// let process = Process::open(child.id())?;
    /// let exit = process.wait().await;
    /// ```
    pub fn open(pid: u32) -> io::Result<Process> {
        if !available() {
            return Process::by_pid_if_ours(pid);
        }
        match pidfd_open(pid) {
            // Linux 5.3 opens pidfds but cannot wait on them (`P_PIDFD`
            // came in 5.4). Asked of the first child, without reaping
            // (`WNOWAIT`), so that `available` is right before any child
            // has ended; the kernel does not change after.
            Ok(fd) if !WAIT_ASKED.swap(true, Ordering::Relaxed) => match cannot_wait_on(&fd) {
                Some(refused) => {
                    give_up_pidfds(&format!(
                        "waiting on a pidfd fails ({refused}: Linux before 5.4, or a seccomp filter)"
                    ));
                    Process::by_pid_if_ours(pid)
                }
                None => Process::ours(pid, fd),
            },
            Ok(fd) => Process::ours(pid, fd),
            // No process has the pid: ours would be a zombie until reaped,
            // so another wait reaped it.
            Err(e) if e.raw_os_error() == Some(nix::libc::ESRCH) => {
                Err(io::Error::other(super::spawn::NoLongerOurs))
            }
            // Reaped, its pid a stranger's thread now (EINVAL): not said
            // as a pidfd that could not be had.
            Err(_) if matches!(still_ours(pid), Ok(false)) => {
                Err(io::Error::other(super::spawn::NoLongerOurs))
            }
            Err(e) => Process::by_pid_after(pid, &e),
        }
    }

    /// Watches `pid` through `fd`, its pidfd, if it is our child: the
    /// pidfd names whatever process has the pid when it is opened, which
    /// after a reap by another wait may be a stranger (asked of the pidfd
    /// itself, without reaping, so that no later reuse of the pid can
    /// answer for it).
    fn ours(pid: u32, fd: AsyncFd<OwnedFd>) -> io::Result<Process> {
        let pidfd = fd.get_ref().as_raw_fd() as nix::libc::id_t;
        if let Ok(false) = is_ours(nix::libc::P_PIDFD, pidfd) {
            return Err(io::Error::other(super::spawn::NoLongerOurs));
        }
        Ok(Process {
            pid,
            watch: Watch::Fd(fd),
        })
    }

    /// Watches `pid` by pid, if it is our child (asked by pid, as `ours`
    /// asks the pidfd).
    fn by_pid_if_ours(pid: u32) -> io::Result<Process> {
        if let Ok(false) = still_ours(pid) {
            return Err(io::Error::other(super::spawn::NoLongerOurs));
        }
        Process::by_pid(pid)
    }

    /// Watches `pid` by pid since its pidfd could not be had: for every
    /// child when this system has none (`ENOSYS`; `EPERM`, a seccomp
    /// filter), else for this one alone (out of descriptors, say: the child
    /// started, and is kept rather than killed).
    fn by_pid_after(pid: u32, e: &io::Error) -> io::Result<Process> {
        if matches!(e.raw_os_error(), Some(nix::libc::ENOSYS | nix::libc::EPERM)) {
            give_up_pidfds(&format!("no pidfds here ({e})"));
        } else {
            crate::log::log!(
                "cannot open a pidfd for child pid {pid} ({e}); watching it by pid (no upgrade in place while it runs)"
            );
        }
        Process::by_pid(pid)
    }

    /// Watches our child `pid` by pid, waking at each SIGCHLD.
    fn by_pid(pid: u32) -> io::Result<Process> {
        Ok(Process {
            pid,
            watch: Watch::Pid,
        })
    }

    /// Waits for it to end and reaps it, once what it left in its process
    /// group is killed ([`reap_with_group`]).
    pub async fn wait(&self) -> io::Result<ChildExit> {
        match &self.watch {
            Watch::Fd(fd) => loop {
                let mut ready = fd.readable().await?;
                let pidfd = fd.get_ref().as_fd().as_raw_fd() as nix::libc::id_t;
                if let Some(exit) = reap_with_group(nix::libc::P_PIDFD, pidfd)? {
                    return Ok(exit);
                }
                ready.clear_ready();
            },
            Watch::Pid => self.wait_by_pid().await,
        }
    }

    /// Completes once it has ended, without reaping it ([`wait`] does):
    /// what waits on it otherwise (a send to it that cannot finish) gives
    /// way to the wait.
    ///
    /// [`wait`]: Process::wait
    pub async fn ended(&self) {
        match &self.watch {
            // Readable once it has exited; the readiness stays for `wait`.
            Watch::Fd(fd) => match fd.readable().await {
                Ok(_ready) => {}
                Err(_) => std::future::pending().await,
            },
            Watch::Pid => {
                let mut chld = super::signals::child_signals();
                loop {
                    chld.borrow_and_update();
                    let pid = self.pid as nix::libc::id_t;
                    match ended(nix::libc::P_PID, pid, REAP | nix::libc::WNOWAIT) {
                        Ok(None) => {}
                        // Ended (or reaped by another wait: nothing to
                        // wait for either way).
                        Ok(Some(_)) | Err(_) => return,
                    }
                    let _ = tokio::time::timeout(BY_PID_POLL, chld.changed()).await;
                }
            }
        }
    }

    /// Waits for it to end and reaps it, by pid, waking at each SIGCHLD.
    async fn wait_by_pid(&self) -> io::Result<ChildExit> {
        let pid = Pid::from_raw(self.pid as i32);
        // Subscribed before asking: an exit after the question wakes it.
        let mut chld = super::signals::child_signals();
        loop {
            chld.borrow_and_update();
            if let Some(exit) = reap_with_group(nix::libc::P_PID, pid.as_raw() as nix::libc::id_t)?
            {
                return Ok(exit);
            }
            let _ = tokio::time::timeout(BY_PID_POLL, chld.changed()).await;
        }
    }

    /// Sends SIGKILL to it and its process group (forked workers holding
    /// the listeners, helpers, which would live on after it; not one that
    /// left the group with `setsid`), unless another wait has reaped it:
    /// by then its pid, and so its group's id, may be a stranger's. Through the pidfd that is the kill's own answer
    /// (ESRCH once reaped); by pid, asked first.
    pub fn kill_with_group(&self) {
        let sent = self.send(nix::sys::signal::Signal::SIGKILL);
        if let Some(group) = super::spawn::child_pid(self.pid).filter(|_| matches!(sent, Ok(true)))
        {
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Sends `signal`, unless it has ended already.
    pub fn signal(&self, signal: nix::sys::signal::Signal) -> io::Result<()> {
        self.send(signal).map(drop)
    }

    /// Sends `signal`; whether it went to this child, not passed over
    /// because it had ended (reaped by another wait, by pid).
    fn send(&self, signal: nix::sys::signal::Signal) -> io::Result<bool> {
        let Watch::Fd(fd) = &self.watch else {
            return self.send_by_pid(signal);
        };
        // Refused once, refused always (a filter does not change): by pid
        // from then on, without trying again.
        if SIGNAL_REFUSED.load(Ordering::Relaxed) {
            return self.send_by_pid(signal);
        }
        let fd = fd.get_ref().as_raw_fd();
        let sent = match crate::test_hook::test_hook::<u8>(TEST_NO_PIDFD_SIGNAL_VAR) {
            Some(_) => Err(io::Error::from_raw_os_error(nix::libc::ENOSYS)),
            // SAFETY: pidfd_send_signal takes our pidfd, a signal number
            // and a null siginfo (meaning: as kill(2) would send it).
            None => match unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_pidfd_send_signal,
                    fd,
                    signal as nix::libc::c_int,
                    std::ptr::null::<nix::libc::siginfo_t>(),
                    0,
                )
            } {
                0.. => Ok(()),
                _ => Err(io::Error::last_os_error()),
            },
        };
        match sent {
            Ok(()) => Ok(true),
            // A seccomp filter that lets `pidfd_open` through but not this
            // (ENOSYS, or EPERM as Docker's answers): by pid, as when
            // watched so. (A true EPERM, a child of another user's now,
            // meets the same from kill.)
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOSYS) => {
                // Said once (per image: an upgrade in place starts
                // afresh): a filter is at work, which whoever reads the
                // log should know of, and signals go by pid from now on,
                // only while each child is still ours unreaped.
                if !SIGNAL_REFUSED.swap(true, Ordering::Relaxed) {
                    crate::log::log!(
                        "pidfd_send_signal is refused here (ENOSYS: a seccomp filter?): children are signalled by pid from now on"
                    );
                }
                self.send_by_pid(signal)
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => self.send_by_pid(signal),
            Err(e) => Err(e),
        }
    }

    /// [`send`](Process::send) by number, only while no other wait has
    /// reaped it (code of the program's; the pidfd's wait, which only this
    /// runtime makes): until then the pid is still its own.
    fn send_by_pid(&self, signal: nix::sys::signal::Signal) -> io::Result<bool> {
        let Some(pid) = super::spawn::child_pid(self.pid) else {
            return Ok(false);
        };
        if !still_ours(self.pid)? {
            return Ok(false);
        }
        nix::sys::signal::kill(pid, signal)?;
        Ok(true)
    }
}

/// A pidfd for our child `pid`, registered with the runtime.
fn pidfd_open(pid: u32) -> io::Result<AsyncFd<OwnedFd>> {
    let fd = crate::link::open_pidfd(pid as i32)?;
    // SAFETY: the AsyncFd owns `fd` outright, so it stays open and the
    // same pidfd for the AsyncFd's whole life.
    let registered = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) };
    registered.map_err(|e| e.into_parts().1)
}

/// Why `waitid(P_PIDFD)` does not work on `fd`, asked without reaping,
/// or `None` if it does: Linux 5.3 cannot (`EINVAL`), and a seccomp
/// filter may refuse it (`ENOSYS`, `EPERM`). Another error is a yes: 5.3
/// refuses the `P_PIDFD` before it looks for the child, so an `ECHILD`
/// (the child reaped by the program's own wait) comes from a kernel that
/// took it.
fn cannot_wait_on(fd: &AsyncFd<OwnedFd>) -> Option<io::Error> {
    use nix::libc;
    let pidfd = fd.get_ref().as_raw_fd() as libc::id_t;
    let asked = ended(libc::P_PIDFD, pidfd, REAP | libc::WNOWAIT);
    let refused = asked.err()?;
    matches!(
        refused.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EPERM)
    )
    .then_some(refused)
}

/// Watches children by pid from now on, saying so once.
fn give_up_pidfds(why: &str) {
    if !UNAVAILABLE.swap(true, Ordering::Relaxed) {
        crate::log::log!(
            "{why}: children are watched by pid, and the supervisor does not upgrade itself in place"
        );
    }
}

/// Whether `pid` is still this process's child, running or ended but not
/// reaped, asked without reaping it. `false` once another wait reaped it
/// (code of the program's that waits for any child, or ignores SIGCHLD):
/// its pid may be another process's by then, to be neither watched nor
/// signalled.
///
/// ```ignore
/// assert!(still_ours(child.id())?);
/// ```
pub(crate) fn still_ours(pid: u32) -> io::Result<bool> {
    is_ours(nix::libc::P_PID, pid)
}

/// Whether what `id` names (a pid for `P_PID`, a pidfd for `P_PIDFD`) is
/// a child of ours, not reaped: asked without reaping.
fn is_ours(idtype: nix::libc::idtype_t, id: nix::libc::id_t) -> io::Result<bool> {
    match ended(idtype, id, REAP | nix::libc::WNOWAIT) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(nix::libc::ECHILD) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The flags of a wait that reaps a child that has ended, without waiting.
pub(super) const REAP: nix::libc::c_int = nix::libc::WEXITED | nix::libc::WNOHANG;

/// Reaps the child `id` names (a pidfd for `P_PIDFD`, a pid for
/// `P_PID`) if it has ended, and how: `None` while it runs.
pub(super) fn reap(
    idtype: nix::libc::idtype_t,
    id: nix::libc::id_t,
) -> io::Result<Option<ChildExit>> {
    let ended = ended(idtype, id, REAP)?;
    Ok(ended.map(|(_, exit)| exit))
}

/// [`reap`] for a child, once what it left in its process group (forked
/// workers, helpers) is killed: they would serve on beside the next child
/// on the listeners they inherited, as under systemd's
/// `KillMode=control-group` the rest of a unit goes with its main
/// process. Killed while the child is a zombie, whose pid, and so its
/// group's id, is not reused until it is reaped.
fn reap_with_group(
    idtype: nix::libc::idtype_t,
    id: nix::libc::id_t,
) -> io::Result<Option<ChildExit>> {
    let Some((pid, exit)) = ended(idtype, id, REAP | nix::libc::WNOWAIT)? else {
        return Ok(None);
    };
    // Killed with its group by the supervisor (or, taken whole, by
    // another): nothing of the program's to tell.
    let left = match exit {
        ChildExit::Signal(nix::libc::SIGKILL) => Vec::new(),
        _ => group_members(pid),
    };
    let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    say_killed(pid, &left);
    reap(idtype, id)
}

/// Kills what child `pid`, reaped by another wait than ours (code of the
/// program's: before `run`, or a thread `supervisor_init` left), left
/// running in its process group, saying
/// so. Not `pid`, which may be another process's by now; the group only
/// while a child of ours is in it (one it left, ours since: the
/// supervisor is their subreaper), which keeps its id from being reused
/// until we reap that child. The orphan scan reaps them.
pub(crate) fn kill_left_by_reaped(pid: u32) {
    let Some(group) = super::spawn::child_pid(pid) else {
        return;
    };
    let left = group_members(group);
    if left_by(pid, &left) {
        // Their own children too, which are not ours (yet).
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        say_killed(group, &left);
    }
}

/// Whether `members`, the supervisor's children in the process group
/// whose id is `pid`, are what child `pid`, reaped by another wait, left:
/// some, and none of them `pid` itself. A member that is `pid` leads the
/// group, a process that number went to once the group had emptied (a
/// new child of ours: each leads its own group), and it must not be
/// killed for its predecessor.
fn left_by(pid: u32, members: &[u32]) -> bool {
    !members.is_empty() && !members.contains(&pid)
}

/// Says that child `pid` ended and left `left` running in its process
/// group, killed with it (nothing if none).
fn say_killed(pid: Pid, left: &[u32]) {
    if !left.is_empty() {
        let pids: Vec<String> = left.iter().map(u32::to_string).collect();
        crate::log::log!(
            "child pid {pid} ended and left processes in its process group (pid {}): killed them; a program ends the workers and helpers it starts before it exits",
            pids.join(", ")
        );
    }
}

/// What child `pgid` left running in its process group, as far as the
/// line that says they were killed needs: its own children, which its
/// exit has made the supervisor's (their subreaper), read from each of
/// the supervisor's threads' `children` in `/proc` (none without it), not
/// a scan of every process on the machine at every child's exit. Their
/// own children are killed with the group, unnamed.
fn group_members(pgid: Pid) -> Vec<u32> {
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut members: Vec<u32> = (threads.flatten())
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("children")).ok())
        .flat_map(|children| {
            (children.split_whitespace())
                .filter_map(|pid| pid.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|pid| live_in_group(*pid) == Some(pgid.as_raw()))
        .collect();
    members.sort_unstable();
    members
}

/// The process group of `pid`, read from `/proc/PID/stat` (its fifth
/// field, counted after the command's name, which may hold spaces and
/// parentheses of its own), unless it has ended: a helper the program
/// never waited for is a zombie, not something left running.
fn live_in_group(pid: u32) -> Option<i32> {
    use std::io::Read;
    // The fields up to the group fit well within this (a process's name
    // is 15 bytes at most; a kernel thread's may be longer, and its group
    // is 0): read no further.
    let mut stat = [0u8; 128];
    let len = std::fs::File::open(crate::proc_pid::path(pid, "stat")?)
        .ok()?
        .read(&mut stat)
        .ok()?;
    let stat = &stat[..len];
    let mut fields = crate::proc_pid::after_name(stat)?;
    let state = fields.next()?;
    if matches!(state, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

/// `waitid(idtype, id, flags)` with `WNOHANG` among `flags`: the pid of a
/// child that ended and how, or `None` if none has. Read off the kernel's
/// answer: nix cannot express a death by a real-time signal, and fails
/// after the kernel has reaped the child, its status lost. With `WNOWAIT`
/// the child is left to reap.
pub(super) fn ended(
    idtype: nix::libc::idtype_t,
    id: nix::libc::id_t,
    flags: nix::libc::c_int,
) -> io::Result<Option<(Pid, ChildExit)>> {
    use nix::libc;
    // SAFETY: siginfo_t is plain data, for which all zeros is a valid
    // value (and si_pid 0 is what says, with WNOHANG, that none ended).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`, which lives through the call.
    if unsafe { libc::waitid(idtype, id, &mut info, flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a waitid answer fills si_pid and si_status, or leaves them 0.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    let exit = match info.si_code {
        libc::CLD_EXITED => ChildExit::Code(status),
        // CLD_KILLED, CLD_DUMPED: the signal's number.
        _ => ChildExit::Signal(status),
    };
    Ok(Some((Pid::from_raw(pid), exit)))
}

#[cfg(test)]
mod tests {
    use super::Process;
    use crate::supervisor::machine::ChildExit;

    #[test]
    fn what_a_reaped_child_left_is_not_a_new_child_its_number_went_to() {
        // Workers it left in its group: theirs to kill.
        assert!(super::left_by(40, &[41, 57]));
        assert!(!super::left_by(40, &[]));
        // The number went to a new child of ours, which leads group 40:
        // the old group had emptied, or the number could not be reused.
        assert!(!super::left_by(40, &[40]));
        assert!(!super::left_by(40, &[40, 41]));
    }

    #[test]
    fn a_zombie_is_not_counted_as_left_in_its_group() {
        // Each in a group of its own, led by itself.
        use std::os::unix::process::CommandExt;
        let mut running = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = running.id();
        assert_eq!(super::live_in_group(pid), Some(pid as i32));
        let mut ended = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .unwrap();
        let zombie = ended.id();
        let peek = super::REAP | nix::libc::WNOWAIT;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while super::ended(nix::libc::P_PID, zombie, peek)
            .unwrap()
            .is_none()
        {
            assert!(std::time::Instant::now() < deadline, "`true` never ended");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(super::live_in_group(zombie), None);
        running.kill().unwrap();
        running.wait().unwrap();
        ended.wait().unwrap();
    }

    /// Waits for a child that exits 3, and kills one that sleeps, each
    /// watched as `watch` does.
    async fn waits_and_kills(watch: fn(u32) -> std::io::Result<Process>) {
        // Reaped through the watch, not the std handle.
        let spawn = |program: &str, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .spawn()
                .unwrap()
                .id()
        };
        let process = watch(spawn("sh", &["-c", "exit 3"])).unwrap();
        assert_eq!(process.wait().await.unwrap(), ChildExit::Code(3));
        let process = watch(spawn("sleep", &["60"])).unwrap();
        process.signal(nix::sys::signal::Signal::SIGKILL).unwrap();
        assert_eq!(process.wait().await.unwrap(), ChildExit::Signal(9));
        // A real-time signal, which nix has no name for: its number, not
        // a failed wait read as "exited with code 1".
        let rt = nix::libc::SIGRTMIN() + 1;
        let process = watch(spawn("sh", &["-c", &format!("kill -{rt} $$; sleep 60")])).unwrap();
        assert_eq!(process.wait().await.unwrap(), ChildExit::Signal(rt));
    }

    #[tokio::test]
    async fn waits_for_and_kills_a_child() {
        waits_and_kills(Process::open).await;
    }

    /// A child whose pidfd could not be had for want of descriptors is
    /// watched by pid, and pidfds are not given up for the others.
    #[tokio::test]
    async fn a_pidfd_refused_for_one_child_watches_that_one_by_pid() {
        let before = super::available();
        let out_of_fds =
            |pid| Process::by_pid_after(pid, &std::io::Error::from_raw_os_error(nix::libc::EMFILE));
        waits_and_kills(out_of_fds).await;
        let watched = out_of_fds(std::process::id()).unwrap();
        assert!(matches!(watched.watch, super::Watch::Pid), "{watched:?}");
        assert_eq!(super::available(), before, "pidfds given up for all");
    }

    /// Opening asks whether the kernel can wait on pidfds; asking must
    /// not reap a child that has already ended.
    #[tokio::test]
    async fn opening_a_child_that_has_ended_leaves_it_to_wait() {
        let pid = std::process::Command::new("sh")
            .args(["-c", "exit 4"])
            .spawn()
            .unwrap()
            .id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let zombie = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            stat.rsplit(") ").next().unwrap().starts_with('Z')
        };
        while !zombie() {
            assert!(
                std::time::Instant::now() < deadline,
                "child {pid} never ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The probe itself (`open` asks it of the first child only, which
        // another test may have been).
        let fd = super::pidfd_open(pid).unwrap();
        assert!(super::cannot_wait_on(&fd).is_none());
        let process = Process {
            pid,
            watch: super::Watch::Fd(fd),
        };
        assert_eq!(process.wait().await.unwrap(), ChildExit::Code(4));
    }

    /// A process that is not our child (the pid of a child another wait
    /// reaped, taken by another process since) is not watched: its pidfd
    /// opens, but it is no longer ours, and nothing is to be signalled.
    #[tokio::test]
    async fn a_pid_that_is_not_our_child_is_not_opened_as_one() {
        // Where pidfds work (not before Linux 5.4, nor under a seccomp
        // filter refusing them; the parent seen from this pid namespace).
        let stranger = std::os::unix::process::parent_id();
        let Ok(fd) = super::pidfd_open(stranger) else {
            return;
        };
        if !super::available() || super::cannot_wait_on(&fd).is_some() {
            return;
        }
        let refused = Process::open(stranger).unwrap_err();
        assert!(super::super::spawn::NoLongerOurs::is(&refused), "{refused}");
        // Nor is one another wait reaped, its pid taken by nobody yet.
        let mut reaped = std::process::Command::new("true").spawn().unwrap();
        let pid = reaped.id();
        reaped.wait().unwrap();
        let refused = Process::open(pid).unwrap_err();
        assert!(super::super::spawn::NoLongerOurs::is(&refused), "{refused}");
    }

    /// A child is ours while it runs and once it has ended unreaped;
    /// not once reaped, nor is a process that never was our child.
    #[test]
    fn still_ours_until_reaped() {
        let mut running = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(super::still_ours(running.id()).unwrap());
        running.kill().unwrap();
        let pid = running.id();
        let peek = super::REAP | nix::libc::WNOWAIT;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while super::ended(nix::libc::P_PID, pid, peek).unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "`sleep` never died");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(super::still_ours(pid).unwrap(), "an unreaped zombie");
        running.wait().unwrap();
        assert!(!super::still_ours(pid).unwrap(), "reaped by another wait");
        assert!(!super::still_ours(nix::unistd::getppid().as_raw() as u32).unwrap());
    }

    /// What a child reaped by another wait left in its group is killed,
    /// its own children too; the child's own pid, another's maybe, is not
    /// signalled.
    #[test]
    fn what_a_reaped_child_left_in_its_group_is_killed() {
        use std::os::unix::process::CommandExt;
        let mut leader = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let group = leader.id();
        // A worker of ours (as one the child left is, once reparented),
        // with a helper of its own, not ours.
        let mut worker = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & echo $!; wait"])
            .process_group(group as i32)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut helper = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(worker.stdout.take().unwrap()),
            &mut helper,
        )
        .unwrap();
        let helper: i32 = helper.trim().parse().unwrap();
        leader.kill().unwrap();
        leader.wait().unwrap();
        super::kill_left_by_reaped(group);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(worker.wait().unwrap().signal(), Some(nix::libc::SIGKILL));
        // The helper, killed with the group, is a zombie or gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while super::live_in_group(helper as u32).is_some() {
            assert!(std::time::Instant::now() < deadline, "the helper lives on");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[tokio::test]
    async fn by_pid_waits_for_and_kills_a_child_too() {
        waits_and_kills(Process::by_pid).await;
    }
}
