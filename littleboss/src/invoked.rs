//! The path a binary was started by, for the children it starts.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The path this binary was invoked by, when `argv0` names it: a path with
/// a slash, made absolute, or a bare name as `PATH` finds it, that names
/// this very binary now. A reload (and SIGHUP) then runs whatever that path
/// names at the time, so a deploy that points a symlink at a new release
/// (`current -> releases/42`) is followed. Otherwise (an `argv0` that
/// names something else) the resolved path of the running binary.
pub(crate) fn path(argv0: &OsStr) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let search = std::env::var_os("PATH").unwrap_or_default();
    let found = as_given(argv0, &exe).or_else(|| on_path(argv0, &search, &exe));
    Ok(found.unwrap_or(exe))
}

/// The bare name `argv0` where the search path `search` finds it first (as
/// the shell that started it did), if that names the same file as `exe`.
fn on_path(argv0: &OsStr, search: &OsStr, exe: &Path) -> Option<PathBuf> {
    if argv0.is_empty() || argv0.as_bytes().contains(&b'/') {
        return None;
    }
    let first = std::env::split_paths(search)
        .map(|dir| dir.join(argv0))
        .find(|candidate| is_executable_file(candidate))?;
    as_given(first.as_os_str(), exe)
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
    use std::os::unix::fs::PermissionsExt;

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
        // A bare name, as PATH finds it: the first executable of that
        // name, kept if it is the running file.
        assert_eq!(as_given(OsStr::new("current"), &release), None);
        std::fs::set_permissions(&release, std::fs::Permissions::from_mode(0o755)).unwrap();
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let search = std::env::join_paths([&empty, &dir]).unwrap();
        assert_eq!(
            on_path(OsStr::new("current"), &search, &release),
            Some(current.clone())
        );
        // Found first elsewhere: something else ran.
        std::fs::copy(&release, empty.join("current")).unwrap();
        assert_eq!(on_path(OsStr::new("current"), &search, &release), None);
        assert_eq!(on_path(OsStr::new(""), &search, &release), None);
        // A path to another file.
        assert_eq!(as_given(other.as_os_str(), &release), None);
        assert_eq!(as_given(dir.join("missing").as_os_str(), &release), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
