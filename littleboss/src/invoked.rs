//! The path a binary was started by, for the children it starts.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The path this binary was invoked by, when it names this very binary
/// now: `argv0` if it has a slash, else the path the exec was given (a
/// bare name as the shell found it on `PATH`, `/usr/local/bin/myblog`),
/// made absolute. A reload (and SIGHUP) then runs whatever that path names at
/// the time, so a deploy that points a symlink at a new release (`current
/// -> releases/42`) is followed. Otherwise the resolved path of the running
/// binary.
pub(crate) fn path(argv0: &OsStr) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let found = as_given(argv0, &exe).or_else(|| as_given(&exec_path()?, &exe));
    Ok(found.unwrap_or(exe))
}

/// The path the kernel was given to execute this binary (`AT_EXECFN`).
fn exec_path() -> Option<std::ffi::OsString> {
    // SAFETY: getauxval only reads the auxiliary vector; AT_EXECFN's value
    // is the address of a NUL-terminated string on the initial stack, kept
    // for the life of the process (0 if absent).
    let at = unsafe { nix::libc::getauxval(nix::libc::AT_EXECFN) };
    if at == 0 {
        return None;
    }
    // SAFETY: as above: a valid C string for the life of the process.
    let given = unsafe { std::ffi::CStr::from_ptr(at as *const nix::libc::c_char) };
    Some(OsStr::from_bytes(given.to_bytes()).to_owned())
}

/// `argv0` made absolute, if it is a path that names the same file as
/// `exe`, and not a descriptor's or a process's (`fexecve`'s `/dev/fd/N`,
/// `/proc/self/exe`): those name whatever runs the reload, not a file to
/// run again.
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
    // Tidied first: `//proc/self/exe`, `/tmp/../proc/self/exe`, or
    // `proc/self/exe` run from `/`.
    let mut tidy = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                tidy.pop();
            }
            std::path::Component::CurDir => {}
            part => tidy.push(part),
        }
    }
    if tidy.starts_with("/proc") || tidy.starts_with("/dev/fd") {
        return None;
    }
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
        // A bare name (the exec's path says where PATH found it).
        assert_eq!(as_given(OsStr::new("current"), &release), None);
        // A path to another file.
        assert_eq!(as_given(other.as_os_str(), &release), None);
        assert_eq!(as_given(dir.join("missing").as_os_str(), &release), None);
        // A process's link names this binary now, and whatever runs the
        // reload then.
        let me = std::env::current_exe().unwrap();
        for link in [
            "/proc/self/exe",
            "/dev/fd/0",
            "//proc/self/exe",
            "/dev/./fd/0",
            "/tmp/../proc/self/exe",
        ] {
            assert_eq!(as_given(OsStr::new(link), &me), None, "{link}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_exec_path_is_this_test_binarys() {
        // Cargo runs a test binary by its full path.
        let given = exec_path().expect("AT_EXECFN");
        let exe = std::env::current_exe().unwrap();
        assert!(as_given(&given, &exe).is_some(), "{given:?}");
    }
}
