//! A child's start off the supervisor's loop: its exec, and the identity
//! of the file it runs. Both wait on the file system (the exec reads the
//! binary; `/proc/PID/exe` and the launch's path are looked at), and a
//! binary on one that hangs (an NFS server gone, a FUSE mount) would
//! otherwise stop control requests, deadlines and the watchdog with them.
//! The outcome comes back to the loop, which watches the child
//! ([`super::spawn::watch_started`]) and tells the machine.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::machine::{ChildId, FileId};
use super::spawn::{Spawn, Started};
use crate::log::log;

/// How a spawn off the loop ended.
#[derive(Debug)]
pub(crate) struct SpawnDone {
    pub id: ChildId,
    pub result: Result<Identified, String>,
}

/// A child started, with what it was found to run.
#[derive(Debug)]
pub(crate) struct Identified {
    pub started: Started,
    /// Its binary, held open (`O_PATH`, numbered above a child's fds), if
    /// it is the launch's own file.
    pub file: Option<OwnedFd>,
    /// That file's identity.
    pub binary: Option<FileId>,
    /// The file behind the launch's path as the kernel named it (not a
    /// deleted one's name), for a rollback to it later.
    pub resolved: Option<PathBuf>,
    /// It runs the binary held open for its launch, and the launch's path
    /// names another file now, or none.
    pub path_replaced: bool,
    /// The wall clock as it started (Unix seconds), if it reads after 1970.
    pub started_unix: Option<u64>,
}

/// What a spawn off the loop is given besides the order itself.
#[derive(Debug)]
pub(crate) struct SpawnContext {
    /// The launch's file by its path (the order may run a held binary).
    pub launch_file: PathBuf,
    /// The order runs the binary held for its launch.
    pub from_held: bool,
    /// The supervisor may upgrade itself in place (for the words when a
    /// child's binary cannot be told).
    pub self_upgrade: bool,
}

/// Starts the child of `order` on a thread of its own, which reports on
/// `done`, and sets `forked` to when it forks (in clock ticks since boot,
/// as [`super::orphans::reap`] takes it). A thread that cannot start (a
/// cgroup's `pids.max`, `RLIMIT_NPROC`) fails the spawn (tokio's blocking
/// pool would panic instead: hence a thread of its own).
pub(crate) fn spawn_off_loop(
    order: Spawn,
    context: SpawnContext,
    forked: Arc<AtomicU64>,
    done: mpsc::UnboundedSender<SpawnDone>,
) {
    let id = order.id;
    let report = done.clone();
    let spawn = move || {
        // Reported whatever happens: the loop keeps the orphan scan off
        // what may be a spawn's child while one is under way, and the
        // machine waits for the child.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            start_and_identify(order, &context, &forked)
        }))
        .unwrap_or_else(|_| Err("starting the child panicked".to_owned()));
        // The loop gone meanwhile (the supervisor exits): the child, and
        // any it started, go with it, as the loop's exit does for those
        // it was told of.
        if let Err(unsent) = report.send(SpawnDone { id, result })
            && let Ok(identified) = unsent.0.result
        {
            super::spawn::kill_with_group(identified.started.pid);
        }
    };
    let started = std::thread::Builder::new()
        .name("littleboss-spawn".to_owned())
        .spawn(spawn);
    if let Err(e) = started {
        let _ = done.send(SpawnDone {
            id,
            result: Err(format!("cannot start a thread to start the child: {e}")),
        });
    }
}

fn start_and_identify(
    order: Spawn,
    context: &SpawnContext,
    forked: &AtomicU64,
) -> Result<Identified, String> {
    // The file about to run, to tell it from an interpreter the kernel
    // runs instead (a script's).
    let expected = file_id(&order.path);
    let path_replaced = context.from_held && file_id(&context.launch_file) != expected;
    // Just before the fork: a tick early rather than late (1 if the clock
    // cannot be read: everything since boot, then).
    let about_to_fork = || {
        let now = super::orphans::ticks_now().unwrap_or(1).max(1);
        forked.store(now, Ordering::SeqCst);
    };
    let path = order.path.clone();
    let started = super::spawn::start(order, about_to_fork)
        .map_err(|e| super::exec_words::exec_error(&path, &e))?;
    let started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|since| since.as_secs());
    let pid = started.pid;
    let _unwatched = KilledShouldThisPanic(pid);
    let file = super::reexec::open_binary(&pid.to_string())
        .and_then(super::spawn::above_child_fds)
        .inspect_err(|e| binary_unknown(pid, e, context.self_upgrade))
        .ok();
    let runs = file
        .as_ref()
        .and_then(|fd| super::reexec::identity(fd).ok());
    // Held, named, and upgraded to, only if it is the launch's own file: a
    // script's interpreter is not what to run again, nor a file swapped in
    // just then. Whether to upgrade in place is the machine's to decide;
    // it also tells by this identity whether a reload ran the same binary.
    let own = runs.is_some() && runs == expected;
    let resolved = own
        .then(|| std::fs::read_link(crate::proc_pid::path(pid, "exe")?).ok())
        .flatten()
        .and_then(crate::proc_pid::still_named);
    Ok(Identified {
        started,
        file: file.filter(|_| own),
        binary: runs.filter(|_| own),
        resolved,
        path_replaced,
        started_unix,
    })
}

/// Kills child `pid` with its group if dropped in a panic: the spawn then
/// reports a failure, and nothing would watch the child it started.
struct KilledShouldThisPanic(u32);

impl Drop for KilledShouldThisPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            super::spawn::kill_with_group(self.0);
        }
    }
}

/// Says, once per supervisor, that a child's binary cannot be opened
/// through `/proc/PID/exe` for want of permission, and what that costs. A
/// binary with file capabilities (`setcap`) runs non-dumpable, which
/// closes that file to a supervisor without `CAP_SYS_PTRACE`. (A child
/// that has exited already, `ENOENT`, says nothing of the kind.)
fn binary_unknown(pid: u32, error: &std::io::Error, self_upgrade: bool) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if error.kind() != std::io::ErrorKind::PermissionDenied {
        return;
    }
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let upgrade = match self_upgrade {
            true => "the supervisor will not upgrade itself in place to it, and ",
            false => "",
        };
        log!(
            "cannot open the binary of child pid {pid} ({error}; a binary with file capabilities runs non-dumpable): {upgrade}a rollback to it runs its file by path"
        );
    }
}

/// The identity of the file at `path` (symlinks followed).
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}
