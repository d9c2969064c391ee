//! Noticing that the control socket's files were removed from under a
//! running supervisor (by hand, or by a cleaner of old files that does not
//! honour the folder's lock), so that it can make them again.
//!
//! Through inotify, so a supervisor at rest is not woken to look: only a
//! change in its folder wakes it. The instance goes across an in-place
//! upgrade rather than being closed and made again: closing one waits for
//! the kernel's fsnotify grace period (10 to 20 ms here), which an exec
//! closing it would add to every upgrade's pause; and what happened to the
//! folder during the exec is still in its queue for the new image.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// How long after the first removal seen the supervisor looks: `rm -rf`
/// removes the files, then the folder, and is let finish first.
const SETTLE: Duration = Duration::from_millis(200);

/// Watches the folder of a control socket for the removal of the socket,
/// of the lock file next to it, or of the folder itself. Dropped, it stops.
#[derive(Debug)]
pub(crate) struct FolderWatch {
    /// The inotify descriptor, owned by the task: to hand on.
    fd: RawFd,
    removed: mpsc::UnboundedReceiver<()>,
    /// The folder watched, its device and inode as `stat` gives them;
    /// `None` when not known (an adopted watch on no folder there).
    folder: Option<[u64; 2]>,
    task: tokio::task::JoinHandle<()>,
}

impl FolderWatch {
    /// Starts watching the folder of `socket` (its lock file is `socket`
    /// with the extension `lock`). Runs on the current tokio runtime.
    pub(crate) fn start(socket: &Path) -> std::io::Result<FolderWatch> {
        let folder = socket.parent().unwrap_or(Path::new("/"));
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        inotify.add_watch(folder, watched())?;
        Self::with(inotify, socket, crate::own_file::folder_identity(socket))
    }

    /// Goes on with the watch a previous image handed over, its
    /// descriptor `fd`, on the folder of `socket`. Non-blocking already:
    /// the flag is the open file's, set by [`start`](FolderWatch::start)
    /// in that image and kept by the exec.
    pub(crate) fn adopt(fd: OwnedFd, socket: &Path) -> std::io::Result<FolderWatch> {
        // Known only while its watch is on the folder there now.
        let on_folder = watched_by(fd.as_raw_fd())
            .zip(crate::own_file::folder_identity(socket))
            .filter(|(watched, [_, ino])| watched.contains(ino));
        // SAFETY: the previous image handed this descriptor over as its
        // inotify instance's, no one else owns it, and `/proc` shows it is
        // one still (`resume`'s `still_the_watch`; not taken unseen).
        let inotify = unsafe { Inotify::from_owned_fd(fd) };
        Self::with(inotify, socket, on_folder.map(|(_, folder)| folder))
    }

    /// The inotify descriptor, for an in-place upgrade to hand on; `None`
    /// once the task that owns it has ended (and closed it: the number
    /// may be another descriptor's by now).
    pub(crate) fn raw_fd(&self) -> Option<RawFd> {
        (!self.task.is_finished()).then_some(self.fd)
    }

    /// Whether this watch is still on the folder of the control socket at
    /// `socket`: not on one removed since (the supervisor's own lock on it
    /// keeps the kernel from saying so) or moved away, nor, for an adopted
    /// one, on one not known.
    pub(crate) fn still_on_folder_of(&self, socket: &Path) -> bool {
        !self.task.is_finished()
            && self.folder.is_some()
            && crate::own_file::folder_identity(socket) == self.folder
    }

    /// Reads `inotify`'s events for the files of `socket`, in `folder`,
    /// from now on.
    fn with(
        inotify: Inotify,
        socket: &Path,
        folder: Option<[u64; 2]>,
    ) -> std::io::Result<FolderWatch> {
        let names = [socket, &socket.with_extension("lock")]
            .map(|p| p.file_name().unwrap_or_default().to_owned());
        let fd = inotify.as_fd().as_raw_fd();
        // SAFETY: the AsyncFd owns the inotify instance outright, so its
        // descriptor stays open and the same for the AsyncFd's whole life.
        let registered =
            unsafe { AsyncFd::register_with_interest(Watcher(inotify), Interest::READABLE) };
        let inotify = registered.map_err(|e| e.into_parts().1)?;
        let (tx, removed) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let names = [names[0].as_os_str(), names[1].as_os_str()];
            loop {
                match next_removal(&inotify, names).await {
                    Ok(()) => {}
                    // Nothing more will come (closed by the kernel?): the
                    // supervisor still runs; its looks still repair it.
                    Err(e) => {
                        crate::log::log!(
                            "the control folder's watch stopped (inotify: {e}): a removal of the control socket is seen at the look at its path every 30 s, not at once"
                        );
                        return;
                    }
                }
                tokio::time::sleep(SETTLE).await;
                // What came meanwhile is the same removal.
                let _ = inotify.get_ref().0.read_events();
                if tx.send(()).is_err() {
                    return;
                }
            }
        });
        Ok(FolderWatch {
            fd,
            removed,
            folder,
            task,
        })
    }

    /// Waits for a removal (settled); never returns if there is none.
    pub(crate) async fn removed(&mut self) {
        if self.removed.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// The inodes of what the inotify instance `fd` of this process watches,
/// from `/proc/self/fdinfo`; `None` when that cannot be read.
pub(crate) fn watched_by(fd: RawFd) -> Option<Vec<u64>> {
    Some(watched_in(&fdinfo(fd)?))
}

/// The text `/proc/self/fdinfo` shows for descriptor `fd` of this
/// process; `None` when that cannot be read.
pub(crate) fn fdinfo(fd: RawFd) -> Option<String> {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()
}

/// The inodes of the watches an inotify instance's fdinfo, `info`, lists:
/// `inotify wd:1 ino:2a sdev:800001 mask:…`, the numbers in hex. Only the
/// inode is of use: `sdev` is the superblock's device, which is not what
/// `stat` says on btrfs, whose subvolumes each have their own.
fn watched_in(info: &str) -> Vec<u64> {
    (info.lines())
        .filter(|line| line.starts_with("inotify "))
        .filter_map(|line| {
            let value = line.split(' ').find_map(|f| f.strip_prefix("ino:"))?;
            u64::from_str_radix(value, 16).ok()
        })
        .collect()
}

/// The inode of the folder of the control socket at `socket`; `None` if
/// it cannot be looked at.
pub(crate) fn folder_inode(socket: &Path) -> Option<u64> {
    crate::own_file::folder_identity(socket).map(|[_, ino]| ino)
}

impl Drop for FolderWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for events until one says that a file of ours, or the folder,
/// went.
async fn next_removal(inotify: &AsyncFd<Watcher>, names: [&OsStr; 2]) -> std::io::Result<()> {
    loop {
        let mut ready = inotify.readable().await?;
        match ready.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from)) {
            Ok(Ok(events)) => {
                if events
                    .iter()
                    .any(|e| concerns(e.mask, e.name.as_deref(), names))
                {
                    return Ok(());
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

/// What is watched: files leaving the folder or renamed over one of ours,
/// and the folder itself going.
fn watched() -> AddWatchFlags {
    AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

/// Whether an event with `mask`, about the file `name` of the folder (or
/// about the folder itself, with no name), may have taken the control
/// socket or lock file, named `ours`, away.
fn concerns(mask: AddWatchFlags, name: Option<&OsStr>, ours: [&OsStr; 2]) -> bool {
    let folder_gone = AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_IGNORED
        | AddWatchFlags::IN_UNMOUNT
        // Events were lost: look, to be sure.
        | AddWatchFlags::IN_Q_OVERFLOW;
    if mask.intersects(folder_gone) {
        return true;
    }
    // Renamed over (`IN_MOVED_TO`): ours is gone as surely as removed.
    let file_gone =
        AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM | AddWatchFlags::IN_MOVED_TO;
    mask.intersects(file_gone) && name.is_some_and(|n| ours.contains(&n))
}

/// The inotify descriptor, as tokio wants it.
struct Watcher(Inotify);

impl AsRawFd for Watcher {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_files_and_the_folder_itself_concern_us() {
        let ours = [OsStr::new("svc.sock"), OsStr::new("svc.lock")];
        let removed = AddWatchFlags::IN_DELETE;
        let moved = AddWatchFlags::IN_MOVED_FROM;
        assert!(concerns(removed, Some(OsStr::new("svc.sock")), ours));
        assert!(concerns(moved, Some(OsStr::new("svc.lock")), ours));
        let renamed_over = AddWatchFlags::IN_MOVED_TO;
        assert!(concerns(renamed_over, Some(OsStr::new("svc.sock")), ours));
        assert!(!concerns(
            renamed_over,
            Some(OsStr::new("other.sock")),
            ours
        ));
        // Another service's files in the same folder.
        assert!(!concerns(removed, Some(OsStr::new("other.sock")), ours));
        assert!(!concerns(removed, Some(OsStr::new("svc.sock2")), ours));
        for folder in [
            AddWatchFlags::IN_DELETE_SELF,
            AddWatchFlags::IN_MOVE_SELF,
            AddWatchFlags::IN_IGNORED,
            AddWatchFlags::IN_Q_OVERFLOW,
        ] {
            assert!(concerns(folder, None, ours), "{folder:?}");
        }
        // A file made is no removal.
        let made = AddWatchFlags::IN_CREATE;
        assert!(!concerns(made, Some(OsStr::new("svc.sock")), ours));
    }

    #[tokio::test]
    async fn a_removed_socket_or_folder_is_told_once_settled_and_others_are_not() {
        let base = std::env::temp_dir().join(format!("lb-watch-{}", std::process::id()));
        let folder = base.join("run");
        std::fs::create_dir_all(&folder).unwrap();
        let socket = folder.join("svc.sock");
        std::fs::write(&socket, "").unwrap();
        std::fs::write(folder.join("other.sock"), "").unwrap();
        let mut watch = FolderWatch::start(&socket).unwrap();
        // Another file's removal, alone: nothing told.
        std::fs::remove_file(folder.join("other.sock")).unwrap();
        assert!(
            !finished_within(SETTLE * 5, watch.removed()).await,
            "another file's removal told"
        );
        std::fs::remove_file(&socket).unwrap();
        assert!(
            finished_within(Duration::from_secs(10), watch.removed()).await,
            "the socket's removal"
        );
        // The whole folder, as `rm -rf` does it: files, then the folder.
        std::fs::write(&socket, "").unwrap();
        let mut rm_rf = FolderWatch::start(&socket).unwrap();
        std::fs::remove_dir_all(&folder).unwrap();
        assert!(
            finished_within(Duration::from_secs(10), rm_rf.removed()).await,
            "the folder's removal"
        );
        // Said once for the lot.
        assert!(!finished_within(SETTLE * 5, rm_rf.removed()).await);
        // The folder gone with the socket file never in it (made later):
        // told by the folder's own events, once.
        std::fs::create_dir_all(&folder).unwrap();
        let mut empty = FolderWatch::start(&socket).unwrap();
        std::fs::remove_dir(&folder).unwrap();
        assert!(
            finished_within(Duration::from_secs(10), empty.removed()).await,
            "the empty folder's removal"
        );
        assert!(!finished_within(SETTLE * 5, empty.removed()).await);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_watch_is_read_from_its_fdinfo() {
        let info = "pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\ninotify wd:1 ino:2a sdev:800001 mask:600 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2a00000000000000\n";
        assert_eq!(watched_in(info), [0x2a]);
        // Watching nothing: the folder it watched went.
        assert!(watched_in("pos:\t0\n").is_empty());
    }

    #[tokio::test]
    async fn a_watch_knows_whether_it_is_still_on_its_folder() {
        let base = std::env::temp_dir().join(format!("lb-watch-on-{}", std::process::id()));
        let folder = base.join("run");
        std::fs::create_dir_all(&folder).unwrap();
        let socket = folder.join("svc.sock");
        let watch = FolderWatch::start(&socket).unwrap();
        assert!(watch.still_on_folder_of(&socket));
        // Held open, as the supervisor's lock on it does: the kernel says
        // nothing of its removal while it is.
        let held = std::fs::File::open(&folder).unwrap();
        std::fs::remove_dir(&folder).unwrap();
        assert!(!watch.still_on_folder_of(&socket), "removed");
        std::fs::create_dir(&folder).unwrap();
        assert!(!watch.still_on_folder_of(&socket), "another at its path");
        drop(held);
        // Adopted: known while its watch is on the folder there.
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).unwrap();
        inotify.add_watch(&folder, watched()).unwrap();
        let adopted = FolderWatch::adopt(OwnedFd::from(inotify), &socket).unwrap();
        assert!(adopted.still_on_folder_of(&socket));
        let _ = std::fs::remove_dir_all(&base);
    }

    /// Whether `f` finished within `wait`.
    async fn finished_within(wait: Duration, f: impl std::future::Future<Output = ()>) -> bool {
        tokio::time::timeout(wait, f).await.is_ok()
    }
}
