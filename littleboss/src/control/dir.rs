//! Where control sockets live, and the checks that keep that folder ours.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::acl::{self, Writer};

/// `$LITTLEBOSS_DIR`, else `$XDG_RUNTIME_DIR/littleboss`, else
/// `$TMPDIR/littleboss-<uid>` (`/tmp` when `TMPDIR` is unset). A relative
/// `XDG_RUNTIME_DIR` or `TMPDIR` is ignored, as the XDG rules say; a
/// relative `LITTLEBOSS_DIR` is refused before (see [`env_mistake`]).
pub(crate) fn socket_dir() -> PathBuf {
    chosen_dir().unwrap_or_else(|| {
        let tmp = absolute_var("TMPDIR").unwrap_or_else(|| PathBuf::from("/tmp"));
        tmp.join(format!("littleboss-{}", nix::unistd::geteuid()))
    })
}

/// The folder `LITTLEBOSS_DIR` or `XDG_RUNTIME_DIR` chose; `None`: the
/// `TMPDIR` fallback.
fn chosen_dir() -> Option<PathBuf> {
    absolute_var(LITTLEBOSS_DIR)
        .or_else(|| absolute_var("XDG_RUNTIME_DIR").map(|dir| dir.join("littleboss")))
}

const LITTLEBOSS_DIR: &str = "LITTLEBOSS_DIR";

/// The variable `var` as a path, when set to an absolute one.
fn absolute_var(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// Says, if the control folder `dir` is on a network file system, what
/// that costs: a unix socket there is reached from this host alone, and
/// its lock may not be seen from another host, so the same service
/// started on another host sharing the folder may take the socket's path
/// over. (Not FUSE: a rootless container's own files may be on it.)
pub(crate) fn on_a_network_file_system(dir: &Path) -> Option<String> {
    let fs = nix::sys::statfs::statfs(dir).ok()?;
    // Its type is a word of the target's width, each magic 32 bits.
    let name = network_file_system(fs.filesystem_type().0 as u32)?;
    Some(format!(
        "the control folder {} is on a network file system ({name}): its control socket is reached from this host alone, and its lock may not keep the same service started on another host sharing the folder from taking the socket's path over; set LITTLEBOSS_DIR to a folder on this host (under /run, say)",
        shown(dir)
    ))
}

/// The name of the network file system whose `statfs` magic is `magic`,
/// if it is one.
fn network_file_system(magic: u32) -> Option<&'static str> {
    match magic {
        0x6969 => Some("NFS"),
        0x517B => Some("SMB"),
        0xFE53_4D42 => Some("SMB2"),
        0xFF53_4D42 => Some("CIFS"),
        0x00C3_6400 => Some("Ceph"),
        0x5346_414F | 0x6B41_4653 => Some("AFS"),
        0x0102_1997 => Some("9P"),
        0x0BD0_0BD0 => Some("Lustre"),
        _ => None,
    }
}

/// A note for a supervisor a service manager started (systemd sets
/// `INVOCATION_ID` for every unit it runs) whose control folder is the
/// `TMPDIR` fallback: a system service has no `XDG_RUNTIME_DIR`, and a
/// private `/tmp` (`PrivateTmp=`, `DynamicUser=`) hides that folder from
/// the commands run from a shell, which then say it is not running.
/// `folder` is [`socket_dir`]'s.
pub(crate) fn fallback_under_a_service_manager(folder: &Path) -> Option<String> {
    let managed = std::env::var_os("INVOCATION_ID").is_some_and(|v| !v.is_empty());
    (managed && chosen_dir().is_none()).then(|| {
        format!(
            "note: the control folder is {}, the fallback with neither LITTLEBOSS_DIR nor XDG_RUNTIME_DIR set; under a service manager a private /tmp (PrivateTmp=, DynamicUser=) hides it from the commands run from a shell, which would say the service is not running: give both the same LITTLEBOSS_DIR (RuntimeDirectory=NAME, RuntimeDirectoryMode=0700, Environment=LITTLEBOSS_DIR=%t/NAME)",
            folder.display()
        )
    })
}

/// What chose the control folder, for a message: `LITTLEBOSS_DIR`,
/// `XDG_RUNTIME_DIR`, or the `TMPDIR` fallback.
pub(crate) fn chosen_by() -> &'static str {
    if absolute_var(LITTLEBOSS_DIR).is_some() {
        LITTLEBOSS_DIR
    } else if absolute_var("XDG_RUNTIME_DIR").is_some() {
        "XDG_RUNTIME_DIR"
    } else {
        "the TMPDIR fallback"
    }
}

/// Whether `LITTLEBOSS_DIR` chose the control folder.
pub(crate) fn chosen_by_env() -> bool {
    std::env::var_os(LITTLEBOSS_DIR).is_some_and(|v| !v.is_empty())
}

/// The control folders a supervisor started in another environment would
/// use (without `LITTLEBOSS_DIR`, with or without `XDG_RUNTIME_DIR` or
/// `TMPDIR`: a login shell and cron differ so), [`socket_dir`] left out.
pub(crate) fn other_folders() -> Vec<PathBuf> {
    let uid = nix::unistd::geteuid();
    let mut folders = Vec::new();
    if let Some(xdg) = absolute_var("XDG_RUNTIME_DIR") {
        folders.push(xdg.join("littleboss"));
    }
    folders.push(PathBuf::from(format!("/run/user/{uid}/littleboss")));
    if let Some(tmp) = absolute_var("TMPDIR") {
        folders.push(tmp.join(format!("littleboss-{uid}")));
    }
    folders.push(PathBuf::from(format!("/tmp/littleboss-{uid}")));
    // By identity too: `/var/run` is `/run`, through a symlink.
    let ours = socket_dir();
    let real = |f: &Path| std::fs::canonicalize(f).ok();
    let same = |f: &PathBuf| *f == ours || real(f).is_some_and(|r| Some(r) == real(&ours));
    let mut seen = std::collections::BTreeSet::new();
    folders.retain(|f| !same(f) && seen.insert(f.clone()));
    folders
}

/// A `LITTLEBOSS_DIR` that is not an absolute path: each working folder
/// would have a control folder of its own, so `status` run from another
/// one would call a running service not running.
pub(crate) fn env_mistake() -> Option<String> {
    let dir = std::env::var_os(LITTLEBOSS_DIR).filter(|v| !v.is_empty())?;
    (!Path::new(&dir).is_absolute()).then(|| {
        format!(
            "{LITTLEBOSS_DIR}=`{}` is not an absolute path; give the control folder from `/`",
            dir.to_string_lossy().escape_debug()
        )
    })
}

/// Takes a shared `flock` on the folder `dir`, for as long as the
/// returned lock is kept (its descriptor is close-on-exec: an image after
/// an in-place upgrade takes it again). systemd-tmpfiles leaves a folder so
/// locked alone, so the control socket and lock file of a supervisor
/// running for weeks are not aged out of `/tmp`. Shared: every supervisor
/// using the folder holds one.
///
/// systemd-tmpfiles holds an exclusive lock while it cleans: then a thread
/// waits for it and takes the shared one after, however long the clean
/// takes, into the returned lock (let go at once if that was dropped
/// meanwhile, or if `dir` names another folder by then), and the
/// supervisor starts meanwhile (the files it has just made are not old).
///
/// ```ignore
/// // Kept for the supervisor's life; held now, or once a cleaner is done.
/// let lock = hold(Path::new("/tmp/littleboss-1000"))?;
/// ```
pub(crate) fn hold(dir: &Path) -> io::Result<FolderLock> {
    use nix::fcntl::{Flock, FlockArg};
    let folder = std::fs::File::open(dir)?;
    match Flock::lock(folder, FlockArg::LockSharedNonblock) {
        Ok(lock) => Ok(FolderLock(Arc::new(Mutex::new(Some(lock))))),
        Err((folder, nix::errno::Errno::EWOULDBLOCK)) => {
            let slot = Arc::new(Mutex::new(None));
            let owner = Arc::downgrade(&slot);
            let dir = dir.to_owned();
            std::thread::Builder::new()
                .name("littleboss-folder-lock".into())
                .spawn(move || match Flock::lock(folder, FlockArg::LockShared) {
                    // Kept while its path still names it (the folder may
                    // have been made anew meanwhile) and its owner wants
                    // it; else let go here.
                    // A folder out of reach by then (a `supervisor_init`
                    // that changed the user) is taken for the same, as
                    // `OwnFile::in_place` takes a file.
                    Ok(lock) => {
                        let ours = crate::inherited::file_identity(
                            std::os::fd::AsRawFd::as_raw_fd(&*lock),
                        );
                        let same = crate::own_file::still_names(&dir, ours);
                        if let Some(slot) = owner.upgrade().filter(|_| same) {
                            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
                        }
                    }
                    Err((_, errno)) => crate::log::log!(
                        "cannot lock the control folder {} against cleaners of old files: {errno}",
                        dir.display()
                    ),
                })?;
            Ok(FolderLock(slot))
        }
        Err((_, errno)) => Err(io::Error::from(errno)),
    }
}

/// A shared `flock` on the control folder, held while this is kept, or
/// to be held once a cleaner lets go (see [`hold`]).
#[derive(Debug)]
pub(crate) struct FolderLock(
    // Read by no one but tests: it is kept for what its drop lets go.
    #[cfg_attr(not(test), allow(dead_code))] Arc<Mutex<Option<nix::fcntl::Flock<std::fs::File>>>>,
);

impl FolderLock {
    /// Whether the lock is held yet (a cleaner may keep it waiting).
    #[cfg(test)]
    pub fn held(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// The control socket of service `name`.
pub(crate) fn socket_path(name: &str) -> PathBuf {
    socket_dir().join(format!("{name}.sock"))
}

/// The longest path a unix socket address holds.
const MAX_SOCKET_PATH: usize = crate::rules::MAX_UNIX_PATH;

/// Checks that a control socket at `path` can exist at all: its path must
/// fit a unix socket address. Done before anything is created, so a
/// folder too deep leaves nothing behind.
pub(crate) fn check_socket_path(path: &Path) -> Result<(), DirError> {
    use std::os::unix::ffi::OsStrExt;
    let len = path.as_os_str().as_bytes().len();
    if len > MAX_SOCKET_PATH {
        let path = path.to_owned();
        return Err(DirError::SocketPathTooLong { path, len });
    }
    Ok(())
}

/// Why the control folder cannot be used.
#[derive(Debug)]
pub(crate) enum DirError {
    Create {
        dir: PathBuf,
        error: io::Error,
        denied: Option<Denied>,
    },
    Inspect {
        dir: PathBuf,
        /// A folder above `dir`, the one that could not be looked at.
        above: Option<PathBuf>,
        error: io::Error,
        denied: Option<Denied>,
    },
    NotAFolder {
        dir: PathBuf,
    },
    /// A symlink: followed, it could be pointed elsewhere between checks.
    Symlink {
        dir: PathBuf,
        target: Option<PathBuf>,
    },
    Owner {
        dir: PathBuf,
        owner: u32,
        us: u32,
    },
    Shared {
        dir: PathBuf,
        mode: u32,
    },
    /// A folder above it that another user may change: it could move the
    /// control folder away between a check and a use, and put its own in
    /// its place.
    Above {
        dir: PathBuf,
        above: PathBuf,
        owner: u32,
        mode: u32,
        /// Refused as another's to change than its owner's: whose.
        writer: Option<OtherWriter>,
        /// A link met on the way, in `above` or below it, that made it
        /// one of the folders on the way.
        via: Option<PathBuf>,
    },
    /// A link on the way, in a sticky folder (`/tmp`), that another user
    /// owns: the sticky bit lets its owner remove it and make another,
    /// pointing elsewhere, between a check and a use.
    LinkOwner {
        dir: PathBuf,
        link: PathBuf,
        owner: u32,
    },
    SocketPathTooLong {
        path: PathBuf,
        len: usize,
    },
}

/// The id an ACL entry shows for a user or group this user namespace does
/// not map (where an owner shows the overflow id): whose it is cannot be
/// told, and unlike an owner's (root's, as often as not) it is refused.
const UNMAPPED: u32 = u32::MAX;

/// Who besides its owner may change a folder above the control folder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OtherWriter {
    /// Its group, by its mode.
    Group(u32),
    /// A group, by its ACL: the owning one by its own entry, or one named.
    AclGroup(u32),
    /// A user its ACL names.
    AclUser(u32),
}

impl DirError {
    /// `dir` could not be looked at: `error`, and, if refused, what chose it.
    fn inspect(dir: &Path, error: io::Error) -> DirError {
        DirError::inspecting(dir, None, error)
    }

    /// `above`, a folder on the way to the control folder `dir`, could not
    /// be looked at: said as such, not as the control folder.
    fn inspect_above(dir: &Path, above: &Path, error: io::Error) -> DirError {
        DirError::inspecting(dir, Some(above), error)
    }

    /// `dir`, or `above` it, could not be looked at.
    fn inspecting(dir: &Path, above: Option<&Path>, error: io::Error) -> DirError {
        DirError::Inspect {
            dir: dir.to_owned(),
            above: above.map(Path::to_owned),
            denied: Denied::of(&error),
            error,
        }
    }
}

/// What chose a control folder this user was refused (`EACCES`), and
/// this user's uid, read where it was refused: most likely another user's
/// folder, as `su` and `sudo -E` keep the user's `XDG_RUNTIME_DIR`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Denied {
    chosen_by: &'static str,
    uid: u32,
}

impl Denied {
    /// For `error`, if it is a refusal.
    fn of(error: &io::Error) -> Option<Denied> {
        (error.kind() == io::ErrorKind::PermissionDenied).then(|| Denied {
            chosen_by: chosen_by(),
            uid: nix::unistd::geteuid().as_raw(),
        })
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Denied { chosen_by, uid } = self;
        let instead = match *chosen_by {
            LITTLEBOSS_DIR => "give this user access to that folder",
            _ => "set LITTLEBOSS_DIR to a folder of this user's own",
        };
        write!(
            f,
            "; the control folder came from {chosen_by}, which this user (uid {uid}) may not enter or write in: run this as the user it belongs to, or {instead}"
        )
    }
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Create { dir, error, denied } => {
                write!(
                    f,
                    "cannot create the control folder {}: {error}",
                    shown(dir)
                )?;
                denied.map_or(Ok(()), |denied| write!(f, "{denied}"))
            }
            DirError::Inspect {
                dir,
                above,
                error,
                denied,
            } => {
                match above {
                    Some(above) => write!(
                        f,
                        "cannot inspect {}, a folder above the control folder {}: {error}",
                        shown(above),
                        shown(dir)
                    )?,
                    None => write!(
                        f,
                        "cannot inspect the control folder {}: {error}",
                        shown(dir)
                    )?,
                }
                denied.map_or(Ok(()), |denied| write!(f, "{denied}"))
            }
            DirError::NotAFolder { dir } => {
                write!(f, "the control folder {} is not a folder", shown(dir))
            }
            DirError::Symlink { dir, target } => {
                write!(f, "the control folder {} is a symlink", shown(dir))?;
                // Escaped: in a shared /tmp, another user may have made
                // the link, its target chosen to move a terminal's cursor.
                if let Some(target) = target {
                    let target = target.to_string_lossy();
                    write!(f, " (to {})", crate::log::printable(&target))?;
                }
                write!(
                    f,
                    "; set LITTLEBOSS_DIR to the folder itself: a link could be pointed elsewhere"
                )
            }
            DirError::Owner { dir, owner, us } => write!(
                f,
                "the control folder {} belongs to uid {owner}, not to us (uid {us}); refusing to use it: run this as uid {owner}, or set LITTLEBOSS_DIR to a folder of our own (in a shared /tmp, another user may have made this one first)",
                shown(dir)
            ),
            DirError::Shared { dir, mode } => write!(
                f,
                "the control folder {} has mode {mode:o}; it must be private (0700), so others cannot reach the control socket",
                shown(dir)
            ),
            DirError::Above {
                dir,
                above,
                owner,
                mode,
                writer,
                via,
            } => {
                match via {
                    Some(link) => write!(
                        f,
                        "the control folder {} is reached through the link {}, below {}, which ",
                        shown(dir),
                        shown(link),
                        shown(above)
                    )?,
                    None => write!(
                        f,
                        "the control folder {} is inside {}, which ",
                        shown(dir),
                        shown(above)
                    )?,
                }
                let sticky = *mode & 0o1000 != 0;
                let shown_mode = mode & 0o7777;
                if *mode & 0o002 != 0 && !sticky {
                    write!(f, "anyone may change (mode {shown_mode:o}, not sticky)")?;
                } else if let Some(writer) = writer {
                    // By number: a name would be looked up at each retry
                    // of a remake, on the supervisor's loop.
                    let (who, they) = match writer {
                        OtherWriter::AclGroup(UNMAPPED) => (
                            String::from("the members of a group this user namespace does not map"),
                            "one of them",
                        ),
                        OtherWriter::Group(group) | OtherWriter::AclGroup(group) => {
                            (format!("the members of group {group}"), "one of them")
                        }
                        OtherWriter::AclUser(UNMAPPED) => (
                            String::from("a user this user namespace does not map"),
                            "that user",
                        ),
                        OtherWriter::AclUser(user) => (format!("user {user}"), "that user"),
                    };
                    let by = match writer {
                        OtherWriter::Group(_) => "",
                        OtherWriter::AclGroup(_) | OtherWriter::AclUser(_) => ", by its ACL",
                    };
                    // `chmod g-w` takes write from an ACL's every entry
                    // too: it sets the mask.
                    return write!(
                        f,
                        "{who} may change{by} (mode {shown_mode:o}, not sticky): {they} could move it away and put another in its place; refusing to use it (`chmod g-w` or `chmod +t` that folder, or set LITTLEBOSS_DIR to a folder of our own)"
                    );
                } else {
                    write!(f, "belongs to uid {owner}")?;
                }
                write!(
                    f,
                    ": another user could move it away and put another in its place; refusing to use it (`sudo -E` keeps the user's XDG_RUNTIME_DIR: unset it, or set LITTLEBOSS_DIR to a folder of our own)"
                )
            }
            DirError::LinkOwner { dir, link, owner } => write!(
                f,
                "the control folder {} is reached through the link {}, which belongs to uid {owner} and lives in a sticky folder: its owner could point it elsewhere between a check and a use; refusing to use it (set LITTLEBOSS_DIR to the folder it points at, or to a folder of our own)",
                shown(dir),
                shown(link)
            ),
            DirError::SocketPathTooLong { path, len } => write!(
                f,
                "the control socket path {} is {len} bytes, more than the {MAX_SOCKET_PATH} a unix socket address holds; set LITTLEBOSS_DIR to a shorter folder (or shorten the service name)",
                shown(path)
            ),
        }
    }
}

/// `path` as a message shows it: named by links and folders another user
/// may have made, it may hold escape sequences chosen to move a
/// terminal's cursor.
pub(crate) fn shown(path: &Path) -> String {
    crate::log::printable(&path.to_string_lossy()).into_owned()
}

impl std::error::Error for DirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DirError::Create { error, .. } | DirError::Inspect { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Creates `dir` (mode 0700) if missing, then checks it is a real folder
/// owned by us that nobody else can enter. Never changes an existing
/// folder's owner or mode: a folder that fails the check is refused.
/// The folders it made and could look at (`dir` too, if it was
/// missing), the deepest last.
pub(crate) fn prepare(dir: &Path) -> Result<Vec<PathBuf>, DirError> {
    // Before anything is made through a link that is not ours to trust.
    let dir: PathBuf = dir.components().collect();
    links_are_safe(&dir)?;
    let made = make_missing(&dir)?;
    // Again: the first look stopped at the first part missing, and a link
    // another user made there meanwhile was followed by the creation.
    let checked = check(&dir);
    if checked.is_err() {
        // What this call made, taken back (left empty, nothing else is
        // removed): a folder refused for where it is (`sudo -E` and a
        // user's XDG_RUNTIME_DIR) would refuse its user's own supervisor
        // for good, being root's.
        take_back(&made);
    }
    checked.map(|()| made.into_iter().map(|(folder, _)| folder).collect())
}

/// A folder a start made, with its device and inode.
type Made = (PathBuf, (u64, u64));

/// Makes `dir` and the folders missing above it (mode 0700), one by one:
/// the ones this call made, each with its device and inode, the deepest
/// last. One that came meanwhile, or was there, is not this call's.
fn make_missing(dir: &Path) -> Result<Vec<Made>, DirError> {
    let missing: Vec<&Path> = (dir.ancestors())
        .take_while(|a| {
            std::fs::symlink_metadata(a).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        })
        .collect();
    let mut made = Vec::new();
    for folder in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o700).create(folder) {
            Ok(()) => {
                let meta = std::fs::symlink_metadata(folder);
                if let Ok(meta) = &meta {
                    made.push((folder.to_path_buf(), (meta.dev(), meta.ino())));
                }
                // The umask took from 0700 (0277 makes it 0500): a folder
                // its owner cannot write would fail this start and every
                // later one, never changed once made.
                if let Ok(meta) = meta
                    && meta.is_dir()
                    && meta.mode() & 0o777 != 0o700
                {
                    owner_alone_may_enter(folder, (meta.dev(), meta.ino()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                take_back(&made);
                let dir = dir.to_path_buf();
                let denied = Denied::of(&error);
                return Err(DirError::Create { dir, error, denied });
            }
        }
    }
    Ok(made)
}

/// Sets `folder`, just made as the folder `id` (device, inode), to mode
/// 0700, if it is still that folder: through a descriptor of it, never
/// following a link (whoever may write a folder above could have put
/// one, or another folder, in its place, to have this process change
/// the mode of what it names). Otherwise, or should it fail, left as it
/// is: the checks that follow refuse what is not ours, and a lock that
/// cannot be made there says so.
fn owner_alone_may_enter(folder: &Path, id: (u64, u64)) {
    use nix::fcntl::OFlag;
    // O_PATH needs no right on the folder itself (a umask of 0477 leaves
    // its owner none to read it); its mode is changed by the name
    // `/proc` gives the descriptor, which is that very folder.
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let Ok(fd) = nix::fcntl::open(folder, flags, nix::sys::stat::Mode::empty()) else {
        return;
    };
    let same = nix::sys::stat::fstat(&fd)
        .is_ok_and(|s| (s.st_dev, s.st_ino) == id && s.st_uid == nix::unistd::geteuid().as_raw());
    if same {
        let by_proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o700);
        let _ = std::fs::set_permissions(by_proc, mode);
    }
}

/// Removes the folders [`make_missing`] made, the deepest first, each
/// only while still empty and still the very folder it made.
fn take_back(made: &[Made]) {
    for (folder, id) in made.iter().rev() {
        let same = std::fs::symlink_metadata(folder).is_ok_and(|m| (m.dev(), m.ino()) == *id);
        if !same || std::fs::remove_dir(folder).is_err() {
            return;
        }
    }
}

/// Checks that `dir` is a real folder owned by us that nobody else can
/// enter (the server before it listens, a client before it trusts).
pub(crate) fn check(dir: &Path) -> Result<(), DirError> {
    // Without a trailing slash, which would have the link followed.
    let dir: PathBuf = dir.components().collect();
    // First: where the kernel refuses to follow such a link
    // (`fs.protected_symlinks`), what follows would fail unexplained.
    links_are_safe(&dir)?;
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| DirError::inspect(&dir, e))?;
    if meta.is_symlink() {
        let target = std::fs::read_link(&dir).ok();
        return Err(DirError::Symlink { dir, target });
    }
    if !meta.is_dir() {
        return Err(DirError::NotAFolder { dir });
    }
    let us = nix::unistd::geteuid().as_raw();
    if meta.uid() != us {
        let owner = meta.uid();
        return Err(DirError::Owner { dir, owner, us });
    }
    if meta.mode() & 0o077 != 0 {
        let mode = meta.mode() & 0o7777;
        return Err(DirError::Shared { dir, mode });
    }
    above_is_safe(&dir, us)
}

/// Checks the folders above `dir`, as they really are (links followed)
/// and as written (a link written on the way lives in one of those; one
/// another link names, [`links_are_safe`] judges where): each must
/// belong to us or root, and be writable by everyone, or by a group
/// other than ours or root's, only if sticky (`/tmp`), where nobody
/// moves another's folder. (Our own group's may: a user private group's
/// home folder.) In a user namespace that does not map the overflow uid
/// (`unshare -r`), every owner it does not map shows as that uid, root
/// among them: trusted as root's, for whose it is cannot be told (or no
/// folder would pass there); so for groups.
fn above_is_safe(dir: &Path, us: u32) -> Result<(), DirError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let real =
        std::fs::canonicalize(parent).map_err(|e| DirError::inspect_above(dir, parent, e))?;
    // As written only where it differs (a link on the way); the overflow
    // uid read only for an owner neither ours nor root's.
    let written = (real != parent)
        .then(|| parent.ancestors())
        .into_iter()
        .flatten();
    for above in real.ancestors().chain(written) {
        folder_is_safe(dir, above, us, None)?;
    }
    Ok(())
}

/// Checks `above`, a folder on the way to `dir` (links followed), as
/// [`above_is_safe`] says.
fn folder_is_safe(dir: &Path, above: &Path, us: u32, via: Option<&Path>) -> Result<(), DirError> {
    let meta = std::fs::metadata(above).map_err(|e| DirError::inspect_above(dir, above, e))?;
    let owner = meta.uid();
    let mode = meta.mode();
    let sticky = mode & 0o1000 != 0;
    let open_to_all = mode & 0o002 != 0 && !sticky;
    let trusted = ours_as_user(owner, us);
    // Its group bits are an ACL's mask where it has one: who may write
    // then is the ACL's to say (read only then: most folders are 755).
    // (Not for one refused already: a failed read would hide why.)
    let writer = match mode & 0o020 != 0 && !sticky && trusted && !open_to_all {
        true => writer_of_others(dir, above, meta.gid(), us)?,
        false => None,
    };
    if !trusted || open_to_all || writer.is_some() {
        let (dir, above) = (dir.to_owned(), above.to_owned());
        return Err(DirError::Above {
            dir,
            above,
            owner,
            mode,
            writer,
            via: via.map(Path::to_owned),
        });
    }
    Ok(())
}

/// The first that may write to `above` (a folder above the control folder
/// `dir`, of group `gid`, whose mode lets its group write) other than us,
/// root and our groups
/// ([`ours_as_group`]), by its ACL; without one, its group.
fn writer_of_others(
    dir: &Path,
    above: &Path,
    gid: u32,
    us: u32,
) -> Result<Option<OtherWriter>, DirError> {
    let inspect = |error| DirError::inspect_above(dir, above, error);
    let Some(stored) = acl::read_access(above).map_err(inspect)? else {
        return Ok(Some(OtherWriter::Group(gid)).filter(|_| !ours_as_group(gid, us)));
    };
    let writers = acl::writers(&stored, gid).ok_or_else(|| {
        inspect(io::Error::new(
            io::ErrorKind::InvalidData,
            "its access ACL is not one the kernel stores",
        ))
    })?;
    let of_others = writers.into_iter().find_map(|writer| match writer {
        Writer::User(user) => (!ours_as_user(user, us)).then_some(OtherWriter::AclUser(user)),
        Writer::Group(group) => (!ours_as_group(group, us)).then_some(OtherWriter::AclGroup(group)),
    });
    Ok(of_others)
}

/// Checks every link met on the way to `dir`'s folder, resolved a
/// component at a time as the kernel does (a link a link names among
/// them): one in a sticky folder (`/tmp`), whose sticky bit lets a link's
/// owner remove it and make another pointing elsewhere, must be ours or
/// root's (the rule of the kernel's `fs.protected_symlinks`, which not
/// every host sets); the folders each lives in must pass
/// [`above_is_safe`]'s rules. What cannot be read is left to the checks
/// that follow, which say it.
fn links_are_safe(dir: &Path) -> Result<(), DirError> {
    use std::path::Component;
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let us = nix::unistd::geteuid().as_raw();
    // Each left to resolve, owned: a link's target brings its own.
    let owned = |path: &Path| -> Vec<PathBuf> {
        path.components()
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect()
    };
    let mut left: std::collections::VecDeque<PathBuf> = owned(parent).into();
    let mut resolved = PathBuf::new();
    let mut followed = 0;
    while let Some(component) = left.pop_front() {
        match component.components().next() {
            Some(Component::RootDir) => resolved = PathBuf::from("/"),
            Some(Component::ParentDir) => {
                resolved.pop();
            }
            Some(Component::Normal(name)) => {
                let next = resolved.join(name);
                let Ok(meta) = std::fs::symlink_metadata(&next) else {
                    return Ok(());
                };
                if !meta.is_symlink() {
                    resolved = next;
                    continue;
                }
                let owner = meta.uid();
                let in_sticky =
                    std::fs::metadata(&resolved).is_ok_and(|at| at.mode() & 0o1000 != 0);
                if in_sticky && !ours_as_user(owner, us) {
                    let (dir, link) = (dir.to_owned(), next);
                    return Err(DirError::LinkOwner { dir, link, owner });
                }
                // The folders it lives in, as those on the way: one another
                // user may change could have it replaced. (Those named
                // as written and reached in the end are judged after.)
                for above in resolved.ancestors().filter(|a| !a.as_os_str().is_empty()) {
                    folder_is_safe(dir, above, us, Some(&next))?;
                }
                // As many as the kernel follows (a loop fails later, said).
                followed += 1;
                if followed > 40 {
                    return Ok(());
                }
                let Ok(target) = std::fs::read_link(&next) else {
                    return Ok(());
                };
                for component in owned(&target).into_iter().rev() {
                    left.push_front(component);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a folder or link user `uid` owns, or a folder it may write to
/// by its ACL, is still ours (`us`'s): ours or root's, or, in a user
/// namespace, an owner it does not map ([`above_is_safe`]; an ACL shows
/// such a one as [`UNMAPPED`], never the overflow uid).
fn ours_as_user(uid: u32, us: u32) -> bool {
    uid == us || uid == 0 || Some(uid) == unmapped_overflow("uid")
}

/// Whether a folder group `gid` may write to is still ours (`us`'s):
/// root's group; our effective one; our primary one (a supervisor run
/// with another group, `Group=` under systemd, in its user's folders of
/// mode 775, as a user private group's umask of 002 makes them); or, in
/// a user namespace, one it does not map. Not the supplementary ones
/// (`wheel`, `docker`), which are shared. (A primary group shared by
/// every user, `users` where there are no private groups, passes too:
/// which users have it cannot be told from the group.)
fn ours_as_group(gid: u32, us: u32) -> bool {
    gid == 0
        || gid == nix::unistd::getegid().as_raw()
        || Some(gid) == unmapped_overflow("gid")
        || Some(gid) == primary_gid(us)
}

/// User `us`'s primary group, looked up once per user (a lookup may ask
/// a directory service, and the folder check runs on the supervisor's
/// loop when the control socket is made again).
fn primary_gid(us: u32) -> Option<u32> {
    static LOOKED_UP: std::sync::Mutex<Option<(u32, Option<u32>)>> = std::sync::Mutex::new(None);
    let mut looked_up = LOOKED_UP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((uid, gid)) = *looked_up
        && uid == us
    {
        return gid;
    }
    let gid = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(us))
        .ok()
        .flatten()
        .map(|user| user.gid.as_raw());
    *looked_up = Some((us, gid));
    gid
}

/// The uid (`kind` "uid") or gid ("gid") files show whose owner this
/// user namespace does not map (the kernel's overflow id, 65534 unless
/// set otherwise), if it is not one this namespace maps; `None` in the
/// initial namespace, where it is `nobody`'s, a user like any other.
fn unmapped_overflow(kind: &str) -> Option<u32> {
    let overflow = std::fs::read_to_string(format!("/proc/sys/kernel/overflow{kind}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534);
    let map = std::fs::read_to_string(format!("/proc/self/{kind}_map")).ok()?;
    (!maps(&map, overflow)).then_some(overflow)
}

/// Whether `uid_map` (as `/proc/self/uid_map` reads: `inside outside
/// count` lines) maps the uid `uid` of this namespace.
fn maps(uid_map: &str, uid: u32) -> bool {
    uid_map.lines().any(|line| {
        let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>());
        match (numbers.next(), numbers.next(), numbers.next()) {
            (Some(Ok(inside)), Some(Ok(_)), Some(Ok(count))) => {
                (inside..inside + count).contains(&u64::from(uid))
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn network_file_systems_are_named_and_local_ones_not() {
        use super::network_file_system;
        // libc's, where it has them (nix's `statfs` types them so).
        let nfs = nix::libc::NFS_SUPER_MAGIC as u32;
        let smb = nix::libc::SMB_SUPER_MAGIC as u32;
        let afs = nix::libc::AFS_SUPER_MAGIC as u32;
        let named = [
            (nfs, "NFS"),
            (smb, "SMB"),
            (0xFE53_4D42, "SMB2"),
            (0xFF53_4D42, "CIFS"),
            (0x00C3_6400, "Ceph"),
            (afs, "AFS"),
            (0x6B41_4653, "AFS"),
            (0x0102_1997, "9P"),
            (0x0BD0_0BD0, "Lustre"),
        ];
        for (magic, name) in named {
            assert_eq!(network_file_system(magic), Some(name), "{magic:#x}");
        }
        // ext4, tmpfs, overlayfs, FUSE: nothing to say.
        for local in [0xEF53, 0x0102_1994, 0x794C_7630, 0x6573_5546] {
            assert_eq!(network_file_system(local), None, "{local:#x}");
        }
    }

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_folder_above_named_with_escape_sequences_is_shown_escaped() {
        let error = DirError::Above {
            dir: PathBuf::from("/tmp/\u{1b}]0;x\u{7}/littleboss-1000"),
            above: PathBuf::from("/tmp/\u{1b}]0;x\u{7}"),
            owner: 1001,
            mode: 0o40755,
            writer: None,
            via: None,
        };
        let said = error.to_string();
        assert!(
            !said.contains('\u{1b}') && !said.contains('\u{7}'),
            "{said:?}"
        );
        assert!(said.contains("belongs to uid 1001"), "{said}");
    }

    #[test]
    fn a_folder_above_that_cannot_be_looked_at_is_not_called_the_control_folder() {
        let denied = || io::Error::from_raw_os_error(nix::libc::EACCES);
        let dir = Path::new("/srv/app/run");
        let said = DirError::inspect_above(dir, Path::new("/srv"), denied()).to_string();
        assert!(
            said.starts_with("cannot inspect /srv, a folder above the control folder /srv/app/run: Permission denied"),
            "{said}"
        );
        let said = DirError::inspect(dir, denied()).to_string();
        assert!(
            said.starts_with("cannot inspect the control folder /srv/app/run: Permission denied"),
            "{said}"
        );
        // As the check says it: the folder above, missing, named so.
        let us = nix::unistd::geteuid().as_raw();
        let said = above_is_safe(Path::new("/no/such/folder/run"), us)
            .unwrap_err()
            .to_string();
        assert!(
            said.starts_with("cannot inspect /no/such/folder, a folder above the control folder /no/such/folder/run: No such file"),
            "{said}"
        );
    }

    #[test]
    fn an_acl_entry_this_namespace_does_not_map_is_said_so() {
        let above = |writer| DirError::Above {
            dir: PathBuf::from("/srv/app/run"),
            above: PathBuf::from("/srv/app"),
            owner: 0,
            mode: 0o40775,
            writer: Some(writer),
            via: None,
        };
        let said = above(OtherWriter::AclUser(UNMAPPED)).to_string();
        assert!(
            said.contains("which a user this user namespace does not map may change, by its ACL (mode 775, not sticky)"),
            "{said}"
        );
        let said = above(OtherWriter::AclGroup(UNMAPPED)).to_string();
        assert!(
            said.contains("the members of a group this user namespace does not map may change"),
            "{said}"
        );
        let said = above(OtherWriter::Group(54321)).to_string();
        assert!(
            said.contains("which the members of group 54321 may change (mode 775"),
            "{said}"
        );
    }

    #[test]
    fn the_overflow_uid_is_roots_only_where_this_namespace_does_not_map_it() {
        // The initial namespace maps every uid: `nobody` is a user.
        assert!(maps("         0          0 4294967295\n", 65534));
        // `unshare -r`: only root inside, mapped to the user outside.
        assert!(!maps("         0       1000          1\n", 65534));
        // A rootless container's range.
        assert!(maps("0 1000 1\n1 100000 65536\n", 65534));
        assert!(!maps("0 1000 1\n1 100000 1000\n", 65534));
        assert!(!maps("", 0));
    }

    #[test]
    fn a_folder_above_its_acl_lets_another_user_change_is_refused() {
        use crate::control::acl::tests::{group, mode_775_with, set_access, user};
        let base = std::env::temp_dir().join(format!("lb-above-acl-{}", std::process::id()));
        let folder = base.join("littleboss");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(check(&folder).is_ok(), "{:?}", check(&folder));
        // `setfacl -m u:54321:rwx`: mode 775, of our own group, and yet
        // another user may move the control folder away.
        let acl = mode_775_with(&[user(54321, 7)], 7);
        if let Err(error) = set_access(&base, &acl) {
            // (`EINVAL`: a user namespace that does not map 54321.)
            let expected = [nix::libc::EOPNOTSUPP, nix::libc::EINVAL];
            std::fs::remove_dir_all(&base).unwrap();
            assert!(
                expected.contains(&error.raw_os_error().unwrap_or(0)),
                "{error}"
            );
            crate::skipped::skipped("a folder with an ACL (none here, or uid 54321 unmapped)");
            return;
        }
        let said = check(&folder).unwrap_err().to_string();
        assert!(
            said.contains("which user 54321 may change, by its ACL (mode 775, not sticky)"),
            "{said}"
        );
        // Refused before anything is made there.
        let said = prepare(&base.join("made")).unwrap_err().to_string();
        assert!(said.contains("which user 54321 may change"), "{said}");
        assert!(!base.join("made").exists());
        // A group named, not ours.
        set_access(&base, &mode_775_with(&[user(54321, 5), group(54321, 7)], 7)).unwrap();
        let said = check(&folder).unwrap_err().to_string();
        assert!(
            said.contains("which the members of group 54321 may change, by its ACL"),
            "{said}"
        );
        // Write for us and root only, the owning group's entry without
        // it: the mask's write is nobody else's.
        let us = nix::unistd::geteuid().as_raw();
        set_access(&base, &mode_775_with(&[user(us, 7), user(0, 7)], 7)).unwrap();
        assert!(check(&folder).is_ok(), "{:?}", check(&folder));
        // A mask without write (`chmod g-w`), or a sticky folder.
        set_access(&base, &mode_775_with(&[user(54321, 7)], 5)).unwrap();
        assert!(check(&folder).is_ok(), "{:?}", check(&folder));
        set_access(&base, &mode_775_with(&[user(54321, 7)], 7)).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1775)).unwrap();
        assert!(check(&folder).is_ok(), "sticky: {:?}", check(&folder));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_link_on_the_way_is_judged_by_the_folder_it_lives_in() {
        let base = std::env::temp_dir().join(format!("lb-above-link-{}", std::process::id()));
        let target = base.join("target");
        let folder = target.join("littleboss");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
        // The link lives in a folder anyone may change: it could be
        // pointed elsewhere between the check and the bind.
        let open = base.join("open");
        std::fs::create_dir_all(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink(&target, open.join("link")).unwrap();
        let said = check(&open.join("link").join("littleboss"))
            .unwrap_err()
            .to_string();
        assert!(said.contains("which anyone may change"), "{said}");
        // Named by a link of ours: the same, the link named.
        let ours = base.join("ours");
        std::os::unix::fs::symlink(open.join("link"), &ours).unwrap();
        let said = check(&ours.join("littleboss")).unwrap_err().to_string();
        assert!(said.contains("which anyone may change"), "{said}");
        let via = format!(
            "is reached through the link {}, below",
            open.join("link").display()
        );
        assert!(said.contains(&via), "{said}");
        assert!(check(&folder).is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_link_another_user_owns_in_a_sticky_folder_is_refused() {
        let base = std::env::temp_dir().join(format!("lb-link-owner-{}", std::process::id()));
        let target = base.join("target");
        let folder = target.join("littleboss");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
        // A sticky folder anyone may write to, as /tmp: a link there is
        // its owner's to remove and make again.
        let sticky = base.join("sticky");
        std::fs::create_dir_all(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let link = sticky.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let through_link = link.join("littleboss");
        // Ours: only we could point it elsewhere.
        assert!(check(&through_link).is_ok(), "{:?}", check(&through_link));
        // Another user's (as root can make it).
        if std::os::unix::fs::lchown(&link, Some(54321), None).is_ok() {
            let said = check(&through_link).unwrap_err().to_string();
            assert!(
                said.contains("is reached through the link")
                    && said.contains("which belongs to uid 54321 and lives in a sticky folder"),
                "{said}"
            );
            // Reached through a link of ours to it: the same.
            let ours = base.join("ours");
            std::os::unix::fs::symlink(&link, &ours).unwrap();
            let said = check(&ours.join("littleboss")).unwrap_err().to_string();
            assert!(said.contains("which belongs to uid 54321"), "{said}");
            // Made through it: refused before anything is made.
            let made = ours.join("made");
            let said = prepare(&made).unwrap_err().to_string();
            assert!(said.contains("which belongs to uid 54321"), "{said}");
            assert!(!target.join("made").exists());
            // Not sticky, its folder ours alone: nobody else could remove it.
            std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(check(&through_link).is_ok(), "{:?}", check(&through_link));
            assert!(check(&ours.join("littleboss")).is_ok());
        } else {
            crate::skipped::skipped("another user's link (not root)");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_folder_inside_one_another_user_may_change_is_refused() {
        let base = std::env::temp_dir().join(format!("lb-above-{}", std::process::id()));
        let folder = base.join("littleboss");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check(&folder).is_ok(), "{:?}", check(&folder));
        // Anyone may write there, and it is not sticky.
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o777)).unwrap();
        let said = check(&folder).unwrap_err().to_string();
        assert!(
            said.contains("which anyone may change (mode 777, not sticky)"),
            "{said}"
        );
        // Sticky, as /tmp is: nobody moves another's folder.
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(check(&folder).is_ok());
        // Its group may write there, another than ours (as root can make
        // it): its members could move it. Ours may (a user private group).
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(check(&folder).is_ok(), "{:?}", check(&folder));
        // (Not as root: a group of ours beside the effective and primary
        // one, if we have one.)
        let us = nix::unistd::geteuid();
        let candidates = match us.is_root() {
            true => vec![54321],
            false => (nix::unistd::getgroups().unwrap_or_default().into_iter())
                .map(|g| g.as_raw())
                .filter(|g| !ours_as_group(*g, us.as_raw()))
                .collect(),
        };
        let others = (candidates.into_iter())
            .map(nix::unistd::Gid::from_raw)
            .find(|g| nix::unistd::chown(&base, None, Some(*g)).is_ok());
        if let Some(others) = others {
            let said = check(&folder).unwrap_err().to_string();
            assert!(
                said.contains(&format!("which the members of group {others}")),
                "{said}"
            );
            assert!(said.contains("may change (mode 775, not sticky)"), "{said}");
            std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o3775)).unwrap();
            assert!(check(&folder).is_ok(), "sticky: {:?}", check(&folder));
        } else {
            crate::skipped::skipped("a folder of another group (no group of ours to give it)");
        }
        // Another user's (as root can make it; `sudo -E` and a user's
        // XDG_RUNTIME_DIR).
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        let other = nix::unistd::Uid::from_raw(54321);
        if nix::unistd::chown(&base, Some(other), None).is_ok() {
            let said = check(&folder).unwrap_err().to_string();
            assert!(said.contains("which belongs to uid 54321"), "{said}");
        } else {
            crate::skipped::skipped("another user's folder (not root)");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn folders_made_for_a_refused_place_are_taken_back() {
        let base = std::env::temp_dir().join(format!("lb-made-back-{}", std::process::id()));
        let open = base.join("open");
        std::fs::create_dir_all(&open).unwrap();
        // Anyone may write there, not sticky: a folder made in it is
        // refused, and the folders made for it are removed again.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let said = prepare(&open.join("a/b")).unwrap_err().to_string();
        assert!(said.contains("may change"), "{said}");
        assert!(!open.join("a").exists(), "left behind");
        // One that was there is left as it was.
        std::fs::create_dir(open.join("kept")).unwrap();
        assert!(prepare(&open.join("kept/b")).is_err());
        assert!(open.join("kept").is_dir() && !open.join("kept/b").exists());
        // Through `..`: only what this call made goes, not the folder
        // named (there before, refused).
        assert!(prepare(&open.join("new/../kept")).is_err());
        assert!(
            open.join("kept").is_dir(),
            "removed a folder it did not make"
        );
        assert!(!open.join("new").exists(), "left behind");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_symlinks_target_is_named_escaped() {
        let base = std::env::temp_dir().join(format!("lb-odd-link-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let link = base.join("littleboss-1000");
        std::os::unix::fs::symlink("\u{1b}[2J\nlittleboss: stopped", &link).unwrap();
        let said = check(&link).unwrap_err().to_string();
        std::fs::remove_dir_all(&base).unwrap();
        assert!(
            said.contains(r" (to \u{1b}[2J\nlittleboss: stopped); set LITTLEBOSS_DIR"),
            "{said}"
        );
    }

    #[test]
    fn a_folder_lock_taken_late_is_let_go_with_its_owner_or_its_folder() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = std::env::temp_dir().join(format!("lb-late-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // As `/proc/self/fd` names it.
        let dir = std::fs::canonicalize(&dir).unwrap();
        let exclusive = |dir: &Path| {
            let folder = std::fs::File::open(dir).unwrap();
            Flock::lock(folder, FlockArg::LockExclusiveNonblock).ok()
        };
        // Descriptors of this process open on `dir`, or on it removed.
        let open_on = |dir: &Path| {
            let removed = format!("{} (deleted)", dir.display());
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|t| t.as_path() == dir || t.as_os_str() == removed.as_str())
                .count()
        };
        let none_open_by_deadline = |dir: &Path| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while open_on(dir) > 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            open_on(dir) == 0
        };
        // Dropped while it waits: the lock taken after the cleaner goes.
        let cleaner = exclusive(&dir).unwrap();
        let before = open_on(&dir);
        let waiting = hold(&dir).unwrap();
        assert!(!waiting.held());
        assert!(
            open_on(&dir) > before,
            "the waiting thread's descriptor not seen"
        );
        drop(waiting);
        drop(cleaner);
        let let_go = none_open_by_deadline(&dir);
        // The folder removed and made again while it waits: the lock the
        // thread takes is the old folder's, and goes.
        let cleaner = exclusive(&dir).unwrap();
        let before = open_on(&dir);
        let waiting = hold(&dir).unwrap();
        assert!(
            open_on(&dir) > before,
            "the waiting thread's descriptor not seen"
        );
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        drop(cleaner);
        let old_let_go = none_open_by_deadline(&dir);
        let never_held = !waiting.held();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(let_go, "a lock its owner dropped is held");
        assert!(old_let_go, "a lock on the removed folder is held");
        assert!(never_held);
    }

    #[test]
    fn the_folder_lock_waits_out_a_cleaners_lock_however_long() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = std::env::temp_dir().join(format!("lb-hold-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exclusive = |dir: &Path| {
            let folder = std::fs::File::open(dir).unwrap();
            Flock::lock(folder, FlockArg::LockExclusiveNonblock).ok()
        };
        // A cleaner's exclusive lock: not held yet, and start goes on.
        let cleaner = exclusive(&dir).unwrap();
        let late = hold(&dir).unwrap();
        assert!(!late.held());
        assert!(exclusive(&dir).is_none(), "the cleaner's still");
        drop(cleaner);
        // Once the cleaner is done, the shared lock follows: no cleaner
        // gets the folder again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while let Some(again) = exclusive(&dir) {
            drop(again);
            assert!(std::time::Instant::now() < deadline, "never held");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Held by its owner (not a moment's hold the thread lets go of).
        while !late.held() {
            assert!(std::time::Instant::now() < deadline, "not kept");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(exclusive(&dir).is_none(), "let go of");
        // Uncontended, it is held at once.
        let other = dir.join("other");
        std::fs::create_dir_all(&other).unwrap();
        let held = hold(&other).unwrap();
        assert!(held.held());
        assert!(exclusive(&other).is_none());
        drop(held);
        assert!(
            exclusive(&other).is_some(),
            "held after its lock was dropped"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn creates_private_and_refuses_shared() {
        let base = std::env::temp_dir().join(format!("lb-dir-test-{}", std::process::id()));
        let dir = base.join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = prepare(&dir).unwrap_err();
        assert!(matches!(e, DirError::Shared { mode: 0o755, .. }), "{e}");
        assert!(e.to_string().contains("has mode 755"), "{e}");
        // Refused, not repaired.
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o755);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_symlink_is_refused_naming_where_it_points() {
        let base = std::env::temp_dir().join(format!("lb-link-test-{}", std::process::id()));
        let real = base.join("real");
        prepare(&real).unwrap();
        let link = base.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = prepare(&link).unwrap_err().to_string();
        let want = format!(
            "the control folder {} is a symlink (to {}); set LITTLEBOSS_DIR to the folder itself",
            link.display(),
            real.display()
        );
        assert!(e.starts_with(&want), "{e}");
        // A trailing slash would have the link followed.
        let slashed = PathBuf::from(format!("{}/", link.display()));
        assert!(
            prepare(&slashed)
                .unwrap_err()
                .to_string()
                .starts_with(&want)
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_socket_path_must_fit_a_unix_socket_address() {
        let fits = format!("/{}", "d".repeat(MAX_SOCKET_PATH - 1));
        check_socket_path(Path::new(&fits)).unwrap();
        let long = format!("{fits}x");
        let e = check_socket_path(Path::new(&long)).unwrap_err().to_string();
        assert!(
            e.contains("is 108 bytes, more than the 107 a unix socket address holds"),
            "{e}"
        );
        assert!(e.contains("set LITTLEBOSS_DIR to a shorter folder"), "{e}");
        // The limit is the kernel's: one byte more is what bind refuses.
        let dir = tempfile_dir();
        let Some(padding) = MAX_SOCKET_PATH.checked_sub(dir.as_os_str().len() + 1) else {
            return std::fs::remove_dir_all(&dir).unwrap();
        };
        let at_limit = dir.join("s".repeat(padding));
        std::os::unix::net::UnixListener::bind(&at_limit).unwrap();
        let over = dir.join("s".repeat(padding + 1));
        std::os::unix::net::UnixListener::bind(&over).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder of this test's own, under `/tmp` (short, unlike some
    /// `$TMPDIR`s).
    fn tempfile_dir() -> PathBuf {
        let dir = PathBuf::from(format!("/tmp/lb-sun-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
