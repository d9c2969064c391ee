//! The path a binary was started by, for the children it starts.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The path this binary was invoked by, when `argv0` names it: a path with
/// a slash, made absolute, that names this very binary now. A reload (and
/// SIGHUP) then runs whatever that path names at the time, so a deploy
/// that points a symlink at a new release (`current -> releases/42`) is
/// followed. Otherwise (found through `PATH`, or an `argv0` that names
/// something else) the resolved path of the running binary.
pub(crate) fn path(argv0: &OsStr) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(as_given(argv0, &exe).unwrap_or(exe))
}

/// `argv0` made absolute, if it is a path that names the same file as
/// `exe`.
fn as_given(argv0: &OsStr, exe: &Path) -> Option<PathBuf> {
    if !argv0.as_bytes().contains(&b'/') {
        return None;
    }
    let given = Path::new(argv0);
    let absolute = if given.is_absolute() {
        given.to_owned()
    } else {
        std::env::current_dir().ok()?.join(given)
    };
    let named = std::fs::metadata(&absolute).ok()?;
    let running = std::fs::metadata(exe).ok()?;
    // `components` drops the `.` steps; `..` stays (through a symlink it
    // need not mean the parent of the path before it).
    ((named.dev(), named.ino()) == (running.dev(), running.ino()))
        .then(|| absolute.components().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_given_is_kept_and_anything_else_resolves() {
        let dir = std::env::temp_dir().join(format!("lb-invoked-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("releases")).unwrap();
        let release = dir.join("releases/1");
        std::fs::write(&release, b"binary").unwrap();
        let current = dir.join("current");
        std::os::unix::fs::symlink("releases/1", &current).unwrap();
        let other = dir.join("other");
        std::fs::write(&other, b"another").unwrap();
        // The symlink as given, tidied, names the running file: kept.
        let given = format!("{}/./current", dir.display());
        assert_eq!(
            as_given(OsStr::new(&given), &release),
            Some(current.clone())
        );
        // A bare name (found through PATH), or a path to another file.
        assert_eq!(as_given(OsStr::new("current"), &release), None);
        assert_eq!(as_given(other.as_os_str(), &release), None);
        assert_eq!(as_given(dir.join("missing").as_os_str(), &release), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
