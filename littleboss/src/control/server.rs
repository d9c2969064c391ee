//! The supervisor's side of the control socket.
//!
//! The socket is bound under the service's lock. Each connection is served
//! by its own task once its peer is checked: see [`super::connection`].
//! A bad message gets an error reply; nothing a client sends can stop the
//! supervisor.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::connection::{Connections, ControlMessage};
use super::protocol::{self, Response};

use crate::log::log;
use crate::repeated::{AFTER_THE_LAST_SAID, Shared, say_telling_the_end};

/// Why the control socket cannot be had: the service already runs, or its
/// lock file or control socket cannot be used.
#[derive(Debug)]
pub(crate) enum ControlError {
    /// Another supervisor of service `name` holds its lock, or answers on
    /// its control `socket`; `pid` when it could be asked.
    AlreadyRunning {
        name: String,
        pid: Option<i32>,
        socket: Option<PathBuf>,
    },
    /// Another supervisor of service `name` holds its lock, but its
    /// control `socket` is missing, so nothing can reach it; `pid` from
    /// the lock, when it could be read.
    Unreachable {
        name: String,
        pid: Option<i32>,
        socket: PathBuf,
    },
    /// The lock file cannot be opened; `folder_mode`: its folder's, when
    /// that is what refused it (its owner may not write there: one an
    /// earlier build made under a strict umask, 0500).
    OpenLock {
        path: PathBuf,
        error: io::Error,
        folder_mode: Option<u32>,
    },
    /// The lock file cannot be locked (for another reason than a holder).
    Lock { path: PathBuf, error: nix::Error },
    /// The lock file cannot be inspected.
    InspectLock { path: PathBuf, error: io::Error },
    /// A dead supervisor's control socket cannot be removed.
    RemoveStale { path: PathBuf, error: io::Error },
    /// Whether a supervisor answers on the control socket cannot be told.
    Check { path: PathBuf, error: io::Error },
    /// The control socket cannot be created.
    Create { path: PathBuf, error: io::Error },
    /// Something other than a socket has the control socket's path.
    NotASocket { path: PathBuf },
    /// Something other than a plain file has the lock file's path (`what`:
    /// a symlink, a FIFO...).
    NotALockFile { path: PathBuf, what: &'static str },
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::AlreadyRunning { name, pid, socket } => {
                write!(f, "`{name}` is already running")?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                if let Some(socket) = socket {
                    write!(f, ", control socket {}", socket.display())?;
                }
                Ok(())
            }
            ControlError::Unreachable { name, pid, socket } => {
                write!(f, "`{name}` is already running")?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                write!(f, ", but ")?;
                unreachable_hint(f, socket, *pid)
            }
            ControlError::OpenLock {
                path,
                error,
                folder_mode,
            } => {
                write!(f, "cannot open {}: {error}", path.display())?;
                match folder_mode {
                    Some(mode) => write!(f, " (its folder is mode {mode:04o}: `chmod 700` it)"),
                    None => Ok(()),
                }
            }
            ControlError::Lock { path, error } => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
            ControlError::InspectLock { path, error } => {
                write!(f, "cannot inspect {}: {error}", path.display())
            }
            ControlError::RemoveStale { path, error } => write!(
                f,
                "cannot remove the stale control socket {}: {error}",
                path.display()
            ),
            ControlError::Check { path, error } => write!(
                f,
                "cannot check the control socket {}: {error}",
                path.display()
            ),
            ControlError::Create { path, error } => write!(
                f,
                "cannot create the control socket {}: {error}",
                path.display()
            ),
            ControlError::NotALockFile { path, what } => write!(
                f,
                "{} is {what}, not a lock file littleboss made; move it away",
                path.display()
            ),
            ControlError::NotASocket { path } => write!(
                f,
                "{} is not a socket, so not a control socket left by a dead supervisor; move it away",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ControlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ControlError::AlreadyRunning { .. }
            | ControlError::Unreachable { .. }
            | ControlError::NotASocket { .. }
            | ControlError::NotALockFile { .. } => None,
            ControlError::Lock { error, .. } => Some(error),
            ControlError::OpenLock { error, .. }
            | ControlError::InspectLock { error, .. }
            | ControlError::RemoveStale { error, .. }
            | ControlError::Check { error, .. }
            | ControlError::Create { error, .. } => Some(error),
        }
    }
}

/// Binds the control socket at `path`. A socket left by a dead supervisor
/// is replaced; a live one is left alone, and the error says the service
/// runs (with its pid, when it can be told).
pub(crate) fn bind(
    path: &Path,
    name: &str,
) -> Result<(StdUnixListener, ServiceLock), ControlError> {
    // One supervisor per service: whoever holds the lock may check, replace
    // and bind the socket, so two racing starts cannot both succeed, nor
    // can the loser remove the winner's socket.
    let lock_path = path.with_extension("lock");
    let lock = ServiceLock::take(&lock_path, || {
        let name = name.to_owned();
        let holder = || super::holder::lock_holder(&lock_path);
        // Missing, not unreadable: one there that cannot be looked at
        // (EACCES) is the running supervisor's still.
        let missing = std::fs::symlink_metadata(path)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if missing {
            let socket = path.to_owned();
            return ControlError::Unreachable {
                name,
                pid: holder(),
                socket,
            };
        }
        let pid = live_pid(path).or_else(holder);
        ControlError::AlreadyRunning {
            name,
            pid,
            socket: None,
        }
    })?;
    match bind_locked(path, name) {
        Ok(listener) => Ok((listener, lock)),
        Err(e) => {
            lock.remove();
            Err(e)
        }
    }
}

/// What [`remake`] made again.
#[derive(Debug)]
pub(crate) struct Remade {
    /// A new control socket, if the old one's file was gone.
    pub listener: Option<StdUnixListener>,
    /// A new service lock, if the old one's file was gone.
    pub lock: Option<ServiceLock>,
}

/// Why the control socket's files cannot be made again.
#[derive(Debug)]
pub(crate) enum RemakeError {
    Folder(super::dir::DirError),
    Control(ControlError),
}

/// Why [`remake`] failed, and the lock it took meanwhile, if it keeps it.
#[derive(Debug)]
pub(crate) struct Unmade {
    pub error: RemakeError,
    /// A new service lock, its file made again, kept though the socket
    /// could not be: the supervisor's own failure (out of descriptors,
    /// say), not another's path.
    pub lock: Option<ServiceLock>,
}

impl From<RemakeError> for Unmade {
    fn from(error: RemakeError) -> Unmade {
        Unmade { error, lock: None }
    }
}

impl std::fmt::Display for RemakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemakeError::Folder(e) => e.fmt(f),
            RemakeError::Control(e) => e.fmt(f),
        }
    }
}

/// Makes again the control socket at `path` and its lock file, for the
/// running supervisor of `name` that holds `lock` and made `socket`, if
/// either file is no longer there (`None` when both are): the folder too,
/// if it went. Another supervisor that started meanwhile keeps its own.
pub(crate) fn remake(
    path: &Path,
    name: &str,
    lock: &ServiceLock,
    socket: Option<&crate::own_file::OwnFile>,
) -> Result<Option<Remade>, Unmade> {
    let socket_in_place = socket.is_some_and(crate::own_file::OwnFile::in_place);
    let lock_in_place = lock.is_in_place();
    if socket_in_place && lock_in_place {
        return Ok(None);
    }
    let folder = path.parent().unwrap_or(Path::new("/"));
    super::dir::prepare(folder).map_err(RemakeError::Folder)?;
    if !socket_in_place {
        // Looked at before a lock file is made, and again under it: a
        // path that stays taken would otherwise have the lock file made
        // and removed at every try, and each removal would wake the
        // folder's watch into the next try, 200 ms later, for ever.
        what_is_at(path, name).map_err(RemakeError::Control)?;
    }
    let lock = match lock_in_place {
        true => None,
        false => {
            let lock_path = lock.path();
            let busy = || ControlError::AlreadyRunning {
                name: name.to_owned(),
                pid: super::holder::lock_holder(lock_path),
                socket: None,
            };
            Some(ServiceLock::take(lock_path, busy).map_err(RemakeError::Control)?)
        }
    };
    let listener = match socket_in_place {
        true => None,
        false => match bind_locked(path, name) {
            Ok(listener) => Some(listener),
            Err(e) => {
                // Another's path: the lock file goes too. Our own failure:
                // the lock is kept, so that a `start` meanwhile finds this
                // one running, and the retries do not make and remove its
                // file each time (each removal would wake the folder's
                // watch into the next try, 200 ms later).
                let theirs = matches!(
                    e,
                    ControlError::AlreadyRunning { .. } | ControlError::NotASocket { .. }
                );
                let lock = match (theirs, lock) {
                    (true, Some(lock)) => {
                        lock.remove();
                        None
                    }
                    (_, lock) => lock,
                };
                let error = RemakeError::Control(e);
                return Err(Unmade { error, lock });
            }
        },
    };
    Ok(Some(Remade { listener, lock }))
}

/// What a control socket's path names, when nothing keeps it from us.
#[derive(Debug, PartialEq, Eq)]
enum AtPath {
    Nothing,
    /// A socket no one listens on: a dead supervisor's.
    StaleSocket,
}

/// What the control socket's path of the service `name` names; an error
/// if something keeps it from us: a listening socket (answering or not:
/// a full queue is a stopped or stuck one), or a file that is no socket.
fn what_is_at(path: &Path, name: &str) -> Result<AtPath, ControlError> {
    match crate::socket::knock(path) {
        Ok(live) => Err(ControlError::AlreadyRunning {
            name: name.to_owned(),
            pid: live.as_ref().and_then(pid_of),
            socket: Some(path.to_owned()),
        }),
        // A file that is no socket refuses too: not ours to remove.
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            match crate::socket::is_socket_file(path) {
                true => Ok(AtPath::StaleSocket),
                false => Err(ControlError::NotASocket {
                    path: path.to_owned(),
                }),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(AtPath::Nothing),
        Err(error) => Err(ControlError::Check {
            path: path.to_owned(),
            error,
        }),
    }
}

/// Goes on "… but " for a supervisor whose control socket is missing:
/// what still reaches it.
pub(crate) fn unreachable_hint(
    f: &mut impl std::fmt::Write,
    socket: &Path,
    pid: Option<i32>,
) -> std::fmt::Result {
    write!(
        f,
        "its control socket {} is missing (removed by hand or by a cleaner of old files, or the supervisor is just starting or exiting), so it cannot be reached; ",
        socket.display()
    )?;
    match pid {
        Some(pid) => write!(
            f,
            "signals still work: `kill -HUP {pid}` reloads it, `kill -TERM {pid}` stops it gracefully"
        ),
        None => write!(
            f,
            "signals still work: SIGHUP reloads it, SIGTERM stops it gracefully"
        ),
    }
}

/// The part of [`bind`] done under the lock.
fn bind_locked(path: &Path, name: &str) -> Result<StdUnixListener, ControlError> {
    if what_is_at(path, name)? == AtPath::StaleSocket {
        log!(
            "removing the stale control socket {} left by a dead supervisor",
            path.display()
        );
        std::fs::remove_file(path).map_err(|error| ControlError::RemoveStale {
            path: path.to_owned(),
            error,
        })?;
    }
    let listener = StdUnixListener::bind(path).map_err(|error| ControlError::Create {
        path: path.to_owned(),
        error,
    })?;
    // Read and write for its owner, whatever the umask: a connect needs
    // write on the file, which a strict umask (0277) would take from the
    // very user the supervisor runs as. (The folder, 0700, keeps others
    // out.)
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::Permissions::from_mode(0o600);
    // Removed meanwhile (by hand): the folder's watch makes it again.
    if let Err(error) = std::fs::set_permissions(path, mode).or_else(|e| {
        (e.kind() == std::io::ErrorKind::NotFound)
            .then_some(())
            .ok_or(e)
    }) {
        let _ = std::fs::remove_file(path);
        return Err(ControlError::Create {
            path: path.to_owned(),
            error,
        });
    }
    Ok(listener)
}

/// Held for the supervisor's whole life: an exclusive `flock` on its
/// service's lock file, `<name>.lock` next to the control socket.
///
/// The owner removes the file when it exits cleanly ([`ServiceLock::remove`]),
/// while still holding the lock. A starter that opened the file just before
/// may then lock that removed file, which no later starter will open: so
/// whoever gets the lock checks that the path still names the very file it
/// locked, and starts over if not.
#[derive(Debug)]
pub(crate) struct ServiceLock {
    /// The lock lasts as long as this descriptor.
    file: Flock<std::fs::File>,
    path: PathBuf,
}

impl ServiceLock {
    /// Opens (creating it if need be) and locks the file at `path`;
    /// `busy()` is the error when another process holds it.
    fn take(path: &Path, busy: impl Fn() -> ControlError) -> Result<ServiceLock, ControlError> {
        let not_a_lock_file = || {
            let what = std::fs::symlink_metadata(path).map_or("not a file", |m| kind_of(&m));
            ControlError::NotALockFile {
                path: path.to_owned(),
                what,
            }
        };
        loop {
            // Not through a symlink (its target would be locked, and the
            // path never name it: this would try for ever), nor waiting on
            // a FIFO for a reader.
            // Read and write where it may (NFS turns an exclusive
            // `flock` into a lock that needs a writable descriptor), else
            // read-only (a local `flock` needs no more): a lock file made
            // under a strict umask (0277 makes it 0400) still opens.
            use nix::fcntl::OFlag;
            let flags = OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
            let mode = nix::sys::stat::Mode::from_bits_truncate(0o600);
            let file = nix::fcntl::open(path, flags | OFlag::O_RDWR, mode)
                .or_else(|e| match e {
                    // Not writable: its mode, `chattr +i`, a file system
                    // mounted read-only.
                    nix::errno::Errno::EACCES
                    | nix::errno::Errno::EPERM
                    | nix::errno::Errno::EROFS => {
                        nix::fcntl::open(path, flags | OFlag::O_RDONLY, mode)
                    }
                    e => Err(e),
                })
                .map(std::fs::File::from)
                .map_err(std::io::Error::from)
                .map_err(|error| match error.raw_os_error() {
                    Some(nix::libc::ELOOP | nix::libc::ENXIO | nix::libc::EISDIR) => {
                        not_a_lock_file()
                    }
                    _ => ControlError::OpenLock {
                        path: path.to_owned(),
                        folder_mode: denied_by_folder(path, &error),
                        error,
                    },
                })?;
            if !file.metadata().is_ok_and(|m| m.is_file()) {
                return Err(not_a_lock_file());
            }
            if let Some(lock) = Self::lock(file, path, &busy)? {
                return Ok(lock);
            }
        }
    }

    /// Locks `file`, opened from `path`; `None` when by then `path` no
    /// longer names it: the owner before us removed it as it exited, so
    /// this lock guards nothing and the caller must open `path` again.
    fn lock(
        file: std::fs::File,
        path: &Path,
        busy: impl Fn() -> ControlError,
    ) -> Result<Option<ServiceLock>, ControlError> {
        let inspect = |error| ControlError::InspectLock {
            path: path.to_owned(),
            error,
        };
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            // Held by an owner that has removed the file since, as it does
            // on its way out: try the path again rather than call it busy.
            Err((file, Errno::EWOULDBLOCK)) => {
                return match still_named(&file, path).map_err(inspect)? {
                    true => Err(busy()),
                    false => Ok(None),
                };
            }
            Err((_, error)) => {
                return Err(ControlError::Lock {
                    path: path.to_owned(),
                    error,
                });
            }
        };
        match still_named(&lock, path).map_err(inspect)? {
            true => Ok(Some(ServiceLock {
                file: lock,
                path: path.to_owned(),
            })),
            false => Ok(None),
        }
    }

    /// The lock a supervisor held before it re-executed itself: `fd` is
    /// the lock file's descriptor, kept open (and so locked) across exec.
    pub(crate) fn resume(
        fd: std::os::fd::OwnedFd,
        path: PathBuf,
    ) -> Result<ServiceLock, ControlError> {
        // Locking again what this open file already holds succeeds at once.
        let lock = Flock::lock(std::fs::File::from(fd), FlockArg::LockExclusiveNonblock).map_err(
            |(file, error)| {
                // Left open, unowned, for the image that takes over after
                // this failure (a rollback): it holds the lock.
                let _ = std::os::fd::IntoRawFd::into_raw_fd(file);
                ControlError::Lock {
                    path: path.clone(),
                    error,
                }
            },
        )?;
        Ok(ServiceLock { file: lock, path })
    }

    /// The lock file's descriptor, to keep across an in-place upgrade.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.file)
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether its path still names the locked file (a cleaner may have
    /// removed it).
    fn is_in_place(&self) -> bool {
        // What cannot be looked at is taken as in place.
        let ours = crate::inherited::file_identity(std::os::fd::AsRawFd::as_raw_fd(&*self.file));
        crate::own_file::still_names(&self.path, ours)
    }

    /// Whether its file is out of this process's sight: still linked in
    /// its folder (not a cleaner's removal), while its path names another
    /// file or none, as in a chroot or mount namespace entered since.
    /// (One that cannot be looked at is the caller's to tell.)
    pub(crate) fn out_of_sight(&self) -> bool {
        let linked = self.file.metadata().is_ok_and(|m| m.nlink() > 0);
        linked && still_named(&self.file, &self.path).is_ok_and(|named| !named)
    }

    /// Removes the lock file, still holding the lock: call it last, after
    /// everything the lock guards (the control socket, unix listeners'
    /// files) is gone, just before the process exits. Only while the path
    /// names our file: one a cleaner removed may have been made again by a
    /// successor.
    pub(crate) fn remove(&self) {
        if still_named(&self.file, &self.path).unwrap_or(false) {
            use crate::own_file::{remove_path, say_if_not_removed};
            say_if_not_removed(&self.path, remove_path(&self.path));
        }
    }
}

/// What a file that is not a plain one is, for a message.
fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_symlink() {
        "a symlink"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_file() {
        "a file"
    } else {
        "a device"
    }
}

/// Whether `path` names the open `file`. Our open descriptor keeps its
/// inode alive, so the number cannot have been reused by a file created at
/// `path` since.
fn still_named(file: &std::fs::File, path: &Path) -> io::Result<bool> {
    let open = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(named) => Ok((named.dev(), named.ino()) == (open.dev(), open.ino())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The pid of the supervisor behind `path`, if one answers.
fn live_pid(path: &Path) -> Option<i32> {
    let live = crate::socket::knock(path).ok()??;
    pid_of(&live)
}

/// The pid of the process at the other end of `live`, if known.
fn pid_of(live: &std::os::unix::net::UnixStream) -> Option<i32> {
    nix::sys::socket::getsockopt(live, nix::sys::socket::sockopt::PeerCredentials)
        .ok()
        .map(|c| c.pid())
        // 0: a peer outside this pid namespace.
        .filter(|&pid| pid > 0)
}

/// How many other users' refusals are said apart (each once per
/// [`REPEAT_QUIET`](crate::repeated::REPEAT_QUIET)); beyond, the rest are said together.
const MAX_STRANGERS: usize = 16;

/// The most control connections open at once. Each holds a descriptor,
/// which spawning a child needs too, and up to a request line's bytes: a
/// burst of clients (a monitor's, a deploy tool's retries) must not run
/// the supervisor out of either. Those beyond are answered at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// Accepts control connections for ever.
pub(crate) async fn serve(
    listener: UnixListener,
    requests: mpsc::UnboundedSender<ControlMessage>,
    connections: Connections,
) {
    let our_uid = nix::unistd::geteuid().as_raw();
    // EMFILE and friends last.
    // Each burst's end told too (see `say_telling_the_end`).
    let accept_failed = Shared::default();
    let too_many = Shared::default();
    let unidentified = Shared::default();
    // Said once in a while per user, not per connection: another user
    // cannot fill the log by connecting (a careless admin opened the
    // folder), nor hide a third one's tries behind its own.
    let mut strangers: std::collections::HashMap<u32, Shared> = Default::default();
    let more_strangers = Shared::default();
    let refusing = std::sync::Arc::new(AtomicUsize::new(0));
    loop {
        if connections.count() >= MAX_CONNECTIONS {
            // Those whose clients have gone (a burst that connects and
            // hangs up) end once their tasks run: let them, first. Before
            // the accept, not after it: stopped during this yield (an
            // in-place upgrade execs between two steps), a client accepted
            // and not yet counted would be dropped unanswered, where one
            // still queued is the successor's.
            tokio::task::yield_now().await;
        }
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Back off a little, keep serving.
                say_telling_the_end(
                    &accept_failed,
                    |since| log!("control socket accept failed: {e}{since}"),
                    |n| log!("control socket accept failed: {n} more{AFTER_THE_LAST_SAID}"),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let error = match stream.peer_cred() {
            Ok(cred) if cred.uid() != our_uid && cred.uid() != 0 => {
                let pid = cred.pid().map_or("unknown".to_owned(), |p| p.to_string());
                let uid = cred.uid();
                let apart = strangers.len() < MAX_STRANGERS || strangers.contains_key(&uid);
                let said = match apart {
                    true => strangers.entry(uid).or_default(),
                    // So many users at once: the rest share one count.
                    false => &more_strangers,
                };
                let end = move |n| match apart {
                    true => log!(
                        "refused a control connection from uid {uid}: {n} more{AFTER_THE_LAST_SAID}"
                    ),
                    false => log!(
                        "refused a control connection from a user beyond the first {MAX_STRANGERS}: {n} more{AFTER_THE_LAST_SAID}"
                    ),
                };
                let what = |since| {
                    let crowd = match apart {
                        true => String::new(),
                        false => format!(
                            ", one of the users beyond the first {MAX_STRANGERS}, counted together"
                        ),
                    };
                    log!(
                        "refused a control connection from uid {uid} (pid {pid}{crowd}): only uid {our_uid} and root may control this supervisor{since}"
                    )
                };
                say_telling_the_end(said, what, end);
                "permission denied: not the supervisor's user".to_owned()
            }
            Ok(_) if connections.count() >= MAX_CONNECTIONS => {
                say_telling_the_end(
                    &too_many,
                    |since| log!("refused a control connection: {MAX_CONNECTIONS} are open{since}"),
                    |n| {
                        log!(
                            "refused a control connection, {MAX_CONNECTIONS} open: {n} more{AFTER_THE_LAST_SAID}"
                        )
                    },
                );
                format!(
                    "the supervisor has {MAX_CONNECTIONS} control connections open, its most; try again once some have closed"
                )
            }
            Ok(_) => {
                // Counted open in the same step as it is accepted: an
                // in-place upgrade (which runs between two steps) hands on
                // every connection accepted, even one whose task has not
                // run yet.
                tokio::spawn(connections.accept(stream, requests.clone()).1);
                continue;
            }
            // Refused as a stranger is, but saying why: the client would
            // otherwise see only its connection closed.
            Err(e) => {
                say_telling_the_end(
                    &unidentified,
                    |since| log!("cannot identify a control peer: {e}{since}"),
                    |n| log!("cannot identify a control peer: {n} more{AFTER_THE_LAST_SAID}"),
                );
                format!("refused: the supervisor cannot tell which user you are ({e})")
            }
        };
        // Answered in the step that accepted it, not by the task below:
        // an in-place upgrade execs between two steps, and would drop a
        // client whose answer waited for that task's turn.
        let answer = protocol::encode_response(&Response::refused(error));
        let sent = send_now(&stream, &answer);
        // Each refusal holds its descriptor a moment (up to a second):
        // beyond so many at once, closed at once (answered, if the close
        // does not reset it away).
        if refusing.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue;
        }
        let unsent = (sent < answer.len()).then(|| answer[sent..].to_vec());
        refusing.fetch_add(1, Ordering::SeqCst);
        let refusing = refusing.clone();
        tokio::spawn(async move {
            refuse(stream, unsent).await;
            refusing.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// A control connection kept across an in-place upgrade, for tokio.
pub(crate) fn stream(std: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
    std.set_nonblocking(true)?;
    UnixStream::from_std(std)
}

/// Writes `bytes` to `stream` at once, whatever tokio knows of its
/// readiness (nothing yet, for one just accepted): one short answer, which
/// a fresh socket's buffer takes whole. How many bytes went.
fn send_now(stream: &UnixStream, bytes: &[u8]) -> usize {
    use std::os::fd::AsRawFd;
    let flags = nix::sys::socket::MsgFlags::MSG_NOSIGNAL;
    nix::sys::socket::send(stream.as_raw_fd(), bytes, flags).unwrap_or(0)
}

/// Closes a peer we will not serve, answered already (or, should the
/// answer not all have gone at once, the rest, `unsent`, written first),
/// in an orderly way: whatever it sent is drained (briefly), so the close
/// is not a reset that could swallow the answer.
async fn refuse(mut stream: UnixStream, unsent: Option<Vec<u8>>) {
    // A second in all, the rest of the answer and the drain: a peer that
    // reads nothing must not hold its refusal slot for good.
    let by = tokio::time::Instant::now() + Duration::from_secs(1);
    if let Some(answer) = unsent
        && let Ok(Ok(())) = tokio::time::timeout_at(by, stream.writable()).await
    {
        let _ = super::connection::send(&stream, &answer);
    }
    let _ = stream.shutdown().await;
    // Enough for any request a refused peer had time to send; not the
    // 16 MiB a served one may, which would keep the supervisor copying.
    const DRAINED: u64 = 64 * 1024;
    let mut unread = (&mut stream).take(DRAINED);
    let mut sink = tokio::io::sink();
    let drain = tokio::io::copy(&mut unread, &mut sink);
    let _ = tokio::time::timeout_at(by, drain).await;
}

/// The mode of the folder of `lock`, when `error`, from opening it, is
/// that folder's refusal: its owner may not write and enter it.
fn denied_by_folder(lock: &Path, error: &io::Error) -> Option<u32> {
    if error.kind() != io::ErrorKind::PermissionDenied {
        return None;
    }
    let folder = std::fs::metadata(lock.parent()?).ok()?;
    let mode = folder.mode() & 0o777;
    (mode & 0o700 != 0o700).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_its_folder_keeps_from_being_made_says_how_to_mend_the_folder() {
        let dir = std::env::temp_dir().join(format!("lb-lock-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
        std::fs::set_permissions(&dir, mode(0o500)).unwrap();
        let denied = |path: &Path| {
            let error = io::Error::from(io::ErrorKind::PermissionDenied);
            ControlError::OpenLock {
                path: path.to_owned(),
                folder_mode: denied_by_folder(path, &error),
                error,
            }
        };
        let said = denied(&dir.join("svc.lock")).to_string();
        assert!(
            said.ends_with(" (its folder is mode 0500: `chmod 700` it)"),
            "{said}"
        );
        std::fs::set_permissions(&dir, mode(0o700)).unwrap();
        let said = denied(&dir.join("svc.lock")).to_string();
        assert!(!said.contains("chmod"), "{said}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What a lock held already is refused with, in these tests.
    fn busy() -> ControlError {
        ControlError::AlreadyRunning {
            name: "svc".to_owned(),
            pid: None,
            socket: None,
        }
    }

    #[test]
    fn a_lock_file_still_linked_that_its_path_does_not_name_is_out_of_sight() {
        let dir = tempfile_dir("sight");
        let path = dir.join("svc.lock");
        let lock = ServiceLock::take(&path, busy).unwrap();
        assert!(!lock.out_of_sight(), "in place");
        // Linked elsewhere (as a jail sees its folder: here, moved).
        let moved = dir.join("moved.lock");
        std::fs::rename(&path, &moved).unwrap();
        assert!(lock.out_of_sight(), "moved");
        // Another file at the path.
        std::fs::write(&path, "").unwrap();
        assert!(lock.out_of_sight(), "replaced");
        // Unlinked: a cleaner's removal, not out of sight.
        std::fs::remove_file(&moved).unwrap();
        assert!(!lock.out_of_sight(), "removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lock_on_a_removed_file_is_not_taken() {
        let dir = tempfile_dir("lock");
        let path = dir.join("svc.lock");
        let refused = |e: ControlError| {
            assert!(matches!(e, ControlError::AlreadyRunning { .. }), "{e}");
            assert_eq!(e.to_string(), "`svc` is already running");
        };
        let first = ServiceLock::take(&path, busy).unwrap();
        refused(ServiceLock::take(&path, busy).unwrap_err());
        // A starter opens the file, then the owner removes it and exits.
        let late = std::fs::File::open(&path).unwrap();
        first.remove();
        drop(first);
        assert!(!path.exists());
        // The late starter gets the lock on the removed file: not valid.
        assert!(ServiceLock::lock(late, &path, busy).unwrap().is_none());
        // Starting over makes a new file, and its lock holds.
        let second = ServiceLock::take(&path, busy).unwrap();
        assert!(path.exists());
        refused(ServiceLock::take(&path, busy).unwrap_err());
        // A file replaced under an opener is not taken either.
        let stale = std::fs::File::open(&path).unwrap();
        second.remove();
        drop(second);
        std::fs::write(&path, "").unwrap();
        assert!(ServiceLock::lock(stale, &path, busy).unwrap().is_none());
        std::fs::remove_file(&path).unwrap();
        // An owner on its way out removes the file and holds the lock until
        // it exits: a starter that opened the file before is told to try
        // again, not that the service is running; trying again takes it.
        let leaving = ServiceLock::take(&path, busy).unwrap();
        let late = std::fs::File::open(&path).unwrap();
        leaving.remove();
        assert!(ServiceLock::lock(late, &path, busy).unwrap().is_none());
        let successor = ServiceLock::take(&path, busy).unwrap();
        // The leaving owner removing again leaves the successor's file.
        leaving.remove();
        assert!(path.exists(), "removed the successor's lock file");
        refused(ServiceLock::take(&path, busy).unwrap_err());
        drop((leaving, successor));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_path_that_is_no_plain_file_is_refused_naming_it() {
        let dir = tempfile_dir("odd-lock");
        let path = dir.join("svc.lock");
        let refused = |what: &str| {
            let e = ServiceLock::take(&path, busy).unwrap_err();
            let want = format!(
                "{} is {what}, not a lock file littleboss made; move it away",
                path.display()
            );
            assert_eq!(e.to_string(), want);
        };
        // A symlink to a file: locking its target, the path would never
        // name the lock, and `take` tried again for ever.
        std::fs::write(dir.join("elsewhere"), "").unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), &path).unwrap();
        refused("a symlink");
        std::fs::remove_file(&path).unwrap();
        // A FIFO: opening it for writing waited for a reader.
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        refused("a FIFO");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        refused("a folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_control_socket_is_its_owners_to_connect_to_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile_dir("socket-mode");
        let path = dir.join("svc.sock");
        let listener = bind_locked(&path, "svc").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o600, "{mode:o}");
    }

    #[test]
    fn a_file_at_the_socket_path_that_is_no_socket_is_left_alone() {
        let dir = tempfile_dir("not-socket");
        let path = dir.join("svc.sock");
        std::fs::write(&path, "notes").unwrap();
        let error = bind_locked(&path, "svc").unwrap_err();
        assert!(matches!(error, ControlError::NotASocket { .. }), "{error}");
        assert!(
            error.to_string().ends_with(
                "is not a socket, so not a control socket left by a dead supervisor; move it away"
            ),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "notes");
        // A socket nobody listens on is a dead supervisor's: replaced.
        std::fs::remove_file(&path).unwrap();
        drop(StdUnixListener::bind(&path).unwrap());
        drop(bind_locked(&path, "svc").unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn removed_files_are_made_again_unless_another_supervisor_has_the_path() {
        let base = tempfile_dir("remake");
        let folder = base.join("run");
        super::super::dir::prepare(&folder).unwrap();
        let path = folder.join("svc.sock");
        let (first, lock) = bind(&path, "svc").unwrap();
        let mut socket = crate::own_file::OwnFile::of(&path);
        let remade = |lock: &ServiceLock, socket: &Option<crate::own_file::OwnFile>| {
            remake(&path, "svc", lock, socket.as_ref())
        };
        assert!(remade(&lock, &socket).unwrap().is_none(), "both in place");
        // The socket alone: a new one, the lock kept.
        std::fs::remove_file(&path).unwrap();
        let again = remade(&lock, &socket).unwrap().unwrap();
        assert!(again.lock.is_none());
        let listener = again.listener.unwrap();
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        socket = crate::own_file::OwnFile::of(&path);
        // The whole folder: made again, private, with both files.
        drop(listener);
        std::fs::remove_dir_all(&folder).unwrap();
        let again = remade(&lock, &socket).unwrap().unwrap();
        let mode = std::fs::metadata(&folder).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let lock = again.lock.unwrap();
        assert!(lock.is_in_place());
        socket = crate::own_file::OwnFile::of(&path);
        // Another start got in first: its files are left alone.
        let listener = again.listener.unwrap();
        drop(listener);
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(lock.path()).unwrap();
        let (other, other_lock) = bind(&path, "svc").unwrap();
        let e = remade(&lock, &socket).unwrap_err();
        assert!(e.lock.is_none(), "the other's path: no lock kept");
        let e = e.error;
        let pid = std::process::id();
        let want = format!(
            "`svc` is already running (pid {pid}), control socket {}",
            path.display()
        );
        assert_eq!(e.to_string(), want);
        assert!(other_lock.is_in_place());
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        drop((first, other, other_lock, lock));
        let _ = std::fs::remove_dir_all(&base);
    }

    /// At its most connections, the accept loop lets ended ones go before
    /// it accepts, never between accepting and counting, and answers a
    /// refusal in the step that accepted it: stopped at any step with
    /// every task dropped (an in-place upgrade execs between two), the
    /// next client is either still queued for the successor or answered,
    /// never accepted and dropped unanswered.
    #[test]
    fn stopped_at_any_step_at_its_most_connections_it_drops_no_client() {
        let dir = tempfile_dir("most");
        let path = dir.join("c.sock");
        let _ = std::fs::remove_file(&path);
        let socket = StdUnixListener::bind(&path).unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut answered = 0;
        for steps in 0..8 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let late = runtime.block_on(async {
                let connections = Connections::default();
                let (requests, _received) = mpsc::unbounded_channel();
                let mut open = Vec::new();
                for _ in 0..MAX_CONNECTIONS {
                    let (ours, theirs) = UnixStream::pair().unwrap();
                    tokio::spawn(connections.accept(ours, requests.clone()).1);
                    open.push(theirs);
                }
                let listener = UnixListener::from_std(socket.try_clone().unwrap()).unwrap();
                tokio::spawn(serve(listener, requests, connections));
                let late = std::os::unix::net::UnixStream::connect(&path).unwrap();
                for _ in 0..steps {
                    tokio::task::yield_now().await;
                }
                late
            });
            // The exec: every task dropped, the listening socket kept.
            drop(runtime);
            if socket.accept().is_ok() {
                continue;
            }
            answered += 1;
            let mut late = late;
            let mut answer = String::new();
            late.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            io::Read::read_to_string(&mut late, &mut answer).unwrap();
            assert!(
                answer.contains("control connections open, its most"),
                "stopped after {steps} steps, the client got {answer:?}"
            );
        }
        assert!(answered > 0, "never accepted within the steps tried");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir(what: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lb-server-{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
