//! Files and folders known by their identity rather than their path: a
//! unix listener's socket file this process made, removed only while its
//! path still names it (never a file another process put there
//! meanwhile), and a working folder, which a path may not name for long.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The identity of the file at `path` itself (a symlink is not followed),
/// `[device, inode]`.
pub(crate) fn identity(path: &Path) -> Option<[u64; 2]> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    Some([meta.dev(), meta.ino()])
}

/// The identity of the file a client opening or connecting to `path`
/// reaches (symlinks followed, the last one too), `[device, inode]`.
pub(crate) fn reached_identity(path: &Path) -> Option<[u64; 2]> {
    let meta = std::fs::metadata(path).ok()?;
    Some([meta.dev(), meta.ino()])
}

/// The identity of the folder the file at `path` is in, as a bind or an
/// open of `path` finds it (symlinks on the way followed); `.` for a bare
/// name.
pub(crate) fn folder_identity(path: &Path) -> Option<[u64; 2]> {
    let meta = std::fs::metadata(folder_of(path)).ok()?;
    Some([meta.dev(), meta.ino()])
}

/// The folder the file at `path` is in: its parent, or `.` for a bare
/// name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Whether `path` names the file `id` (`[device, inode]`) now: taken so
/// where that cannot be told, the way there closed to this process (a
/// supervisor whose `supervisor_init` changed its user, its folder
/// root's): nothing says it went, and no file could be made in its place
/// there.
pub(crate) fn still_names(path: &Path, id: Option<[u64; 2]>) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => id == Some([meta.dev(), meta.ino()]),
        Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

/// A file made at `path`, and which file it was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OwnFile {
    pub path: PathBuf,
    pub id: [u64; 2],
}

impl OwnFile {
    /// The file at `path` now, as this process made it; `None` if there is
    /// none (removed at once by someone else: not ours to remove later).
    pub fn of(path: impl Into<PathBuf>) -> Option<OwnFile> {
        let path = path.into();
        let id = identity(&path)?;
        Some(OwnFile { path, id })
    }

    /// A file handed over by a previous image: with the identity it
    /// recorded, or, from an image that recorded none, the file at `path`
    /// now, most likely its own.
    pub fn handed(path: impl Into<PathBuf>, id: Option<[u64; 2]>) -> Option<OwnFile> {
        match id {
            Some(id) => Some(OwnFile {
                path: path.into(),
                id,
            }),
            None => OwnFile::of(path),
        }
    }

    /// Removes the file if `path` still names it, saying nothing of a
    /// failure: in the program's process (a child removes its
    /// supervisor's files as it refuses, and may lack the right by then;
    /// a forced exit must not wait on the program's logger), and where the
    /// supervisor undoes a bind that a later failure made pointless
    /// (`listener::unbind`, shared with bypass runs).
    pub fn remove(&self) {
        let _ = self.try_remove();
    }

    /// Whether `path` still names this file (see [`still_names`]).
    pub fn in_place(&self) -> bool {
        still_names(&self.path, Some(self.id))
    }

    /// The folder `path` is in, if `path` names this file now (seen so):
    /// for [`removed_from`](Self::removed_from).
    pub fn folder_if_in_place(&self) -> Option<[u64; 2]> {
        (identity(&self.path) == Some(self.id)).then(|| folder_identity(&self.path))?
    }

    /// Whether the file is seen removed from `folder`, the folder it was
    /// in ([`folder_if_in_place`](Self::folder_if_in_place)), and a file
    /// could be made there again: `path`'s folder is that one still,
    /// names nothing there now, and this process may make a file in it.
    /// Not when the way there changed (a folder above renamed, a link on
    /// the way pointed elsewhere, a chroot or a mount namespace entered
    /// since) or cannot be looked at: the file may be there still, reached
    /// the old way. Nor when another file took the name (another
    /// program's), or the folder is closed to this process now (a
    /// `supervisor_init` that dropped root): a bind there would fail.
    pub fn removed_from(&self, folder: [u64; 2]) -> bool {
        use nix::unistd::AccessFlags;
        if folder_identity(&self.path) != Some(folder) {
            return false;
        }
        let gone = matches!(
            std::fs::symlink_metadata(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        );
        gone && nix::unistd::eaccess(folder_of(&self.path), AccessFlags::W_OK | AccessFlags::X_OK)
            .is_ok()
    }

    /// Removes the file if `path` is seen to name it; the error of a removal
    /// that failed for another reason than the file being gone already,
    /// for the supervisor to say.
    pub fn try_remove(&self) -> std::io::Result<()> {
        // Only a file known to be this one: not one that cannot be looked
        // at (the control files of a supervisor whose `supervisor_init`
        // changed its user, left behind as it said at start), nor one a
        // denied look hides.
        match identity(&self.path) == Some(self.id) {
            true => remove_path(&self.path),
            false => Ok(()),
        }
    }

    /// [`try_remove`](Self::try_remove), saying a failure as the
    /// supervisor's own line.
    pub fn remove_or_say(&self) {
        say_if_not_removed(&self.path, self.try_remove());
    }
}

/// Removes `path`; the error, unless the file was gone already.
pub(crate) fn remove_path(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Says, as the supervisor's own line, that `path` could not be removed
/// (`removed` failed).
pub(crate) fn say_if_not_removed(path: &Path, removed: std::io::Result<()>) {
    if let Err(e) = removed {
        crate::log::log!(
            "cannot remove {}: {e}",
            crate::log::printable(&path.to_string_lossy())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_seen_removed_from_its_folder_only_where_a_bind_would_make_it_again() {
        let dir = std::env::temp_dir().join(format!("lb-removed-from-{}", std::process::id()));
        let folder = dir.join("run");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("s.sock");
        let _ours = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let own = OwnFile::of(&path).unwrap();
        let seen_in = own.folder_if_in_place().unwrap();
        assert!(!own.removed_from(seen_in), "in place");
        // Another program's file took the name: a bind would fail.
        std::fs::remove_file(&path).unwrap();
        let theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(!own.removed_from(seen_in), "another's file");
        assert_eq!(own.folder_if_in_place(), None);
        // Gone: made again by a bind.
        drop(theirs);
        std::fs::remove_file(&path).unwrap();
        assert!(own.removed_from(seen_in));
        // The folder renamed: out of sight, maybe reached by its new name.
        std::fs::rename(&folder, dir.join("run.old")).unwrap();
        assert!(!own.removed_from(seen_in), "folder renamed");
        // Another folder made in its place: not the one it was in.
        std::fs::create_dir(&folder).unwrap();
        assert!(!own.removed_from(seen_in), "another folder");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_put_in_its_place_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("lb-own-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let ours = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let own = OwnFile::of(&path).unwrap();
        // Another process removes it and binds its own at the path.
        std::fs::remove_file(&path).unwrap();
        let theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
        own.remove();
        assert!(path.exists(), "their socket file was removed");
        // Ours, still there: removed.
        std::fs::remove_file(&path).unwrap();
        drop((ours, theirs));
        let _ours = std::os::unix::net::UnixListener::bind(&path).unwrap();
        OwnFile::of(&path).unwrap().remove();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
