//! `/proc` read by process id: only where it numbers processes as this
//! process does. A sandbox that shows the host's `/proc`, or `unshare -p`
//! without `--mount-proc`, leaves another pid namespace's there, whose
//! `/proc/PID` is some other process: its signals, group and files would
//! be taken for a child's.

use std::path::Path;
use std::sync::OnceLock;

/// The path of `file` under `/proc/PID` for process `pid` as this process
/// numbers it; `None` where `/proc` numbers them otherwise, or is missing
/// (both read as a `/proc` that cannot be read).
///
/// ```ignore
/// let status = proc_pid::path(pid, "status").and_then(|p| std::fs::read_to_string(p).ok());
/// ```
pub(crate) fn path(pid: impl std::fmt::Display, file: &str) -> Option<String> {
    numbers_ours().then(|| format!("/proc/{pid}/{file}"))
}

/// The fields of a `/proc/PID/stat` after the process's name, the 3rd
/// on (its state, its parent, its group...): read from after the name's
/// last `)`, as a name may hold spaces and parentheses, and in bytes, as
/// it need not be UTF-8 (`PR_SET_NAME` takes any).
///
/// ```ignore
/// let parent = proc_pid::after_name(b"7 (a) b) S 42 7")?.nth(1); // Some("42")
/// ```
pub(crate) fn after_name(stat: &[u8]) -> Option<std::str::SplitWhitespace<'_>> {
    let after = &stat[stat.iter().rposition(|b| *b == b')')? + 1..];
    Some(std::str::from_utf8(after).ok()?.split_whitespace())
}

/// Whether `/proc` numbers processes as this process does (read once).
pub(crate) fn numbers_ours() -> bool {
    static OURS: OnceLock<bool> = OnceLock::new();
    *OURS.get_or_init(|| numbers_ours_now().is_ok())
}

/// [`numbers_ours`], read now: or why not, for a log line.
///
/// ```ignore
/// if let Err(why) = proc_pid::numbers_ours_now() { log!("cannot read /proc ({why})") }
/// ```
pub(crate) fn numbers_ours_now() -> Result<(), &'static str> {
    let Ok(link) = std::fs::read_link("/proc/self") else {
        return Err("no procfs there: /proc/self is missing");
    };
    match same_numbers(Some(&link), std::process::id()) {
        true => Ok(()),
        false => Err("it numbers processes as another pid namespace does"),
    }
}

/// What the kernel puts after a `/proc` link's path (`/proc/PID/exe`,
/// `/proc/PID/fd/N`) once its file was removed.
pub(crate) const DELETED: &str = " (deleted)";

/// A process's executable as `/proc/PID/exe` names it (or
/// `std::env::current_exe`, which reads `/proc/self/exe`), unless the
/// file was removed since it started: the link then reads `PATH
/// (deleted)`, a path that names nothing.
///
/// ```ignore
/// let binary = proc_pid::still_named(std::env::current_exe()?);
/// ```
pub(crate) fn still_named(exe: std::path::PathBuf) -> Option<std::path::PathBuf> {
    let deleted = exe
        .as_os_str()
        .as_encoded_bytes()
        .ends_with(DELETED.as_bytes());
    (!deleted).then_some(exe)
}

/// Whether `/proc/self`, which a procfs resolves to the reader's pid as
/// it numbers processes, says `pid`.
fn same_numbers(self_link: Option<&Path>, pid: u32) -> bool {
    let named = self_link.and_then(|link| link.to_str()?.parse::<u32>().ok());
    named == Some(pid)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn an_executable_removed_since_is_named_by_nothing() {
        use std::path::PathBuf;
        let named = super::still_named(PathBuf::from("/srv/blog"));
        assert_eq!(named, Some(PathBuf::from("/srv/blog")));
        assert_eq!(
            super::still_named(PathBuf::from("/srv/blog (deleted)")),
            None
        );
    }

    #[test]
    fn another_namespaces_proc_is_not_ours() {
        assert!(super::same_numbers(Some(Path::new("4242")), 4242));
        // The host's /proc seen from a pid namespace: another number.
        assert!(!super::same_numbers(Some(Path::new("90210")), 1));
        // No /proc, or not a procfs.
        assert!(!super::same_numbers(None, 4242));
        assert!(!super::same_numbers(Some(Path::new("self")), 4242));
    }

    #[test]
    fn a_path_is_had_only_where_proc_is_ours() {
        // Ours on an ordinary machine; not under `unshare -p` without its
        // own /proc, where these tests may run too.
        // Told from what /proc itself says of this process, not from
        // the function under test.
        let me = std::process::id();
        let self_link = std::fs::read_link("/proc/self").ok();
        let ours = self_link.and_then(|l| l.to_str()?.parse::<u32>().ok()) == Some(me);
        assert_eq!(super::numbers_ours(), ours);
        let expected = ours.then(|| format!("/proc/{me}/stat"));
        assert_eq!(super::path(me, "stat"), expected);
    }
}
