//! Where the supervisor's stderr goes, which its children inherit: said
//! with a child that ends before it was ready, whose own words (a usage
//! error from its argument parser, a panic) went there, not to the
//! `reload` that started it.

use std::os::fd::AsFd;

/// Where this process's stderr goes, in words (see [`describe`]): read
/// from `/proc/self/fd/2`, and `JOURNAL_STREAM` for the journal.
pub(crate) fn of_this_process() -> Option<String> {
    let target = std::fs::read_link("/proc/self/fd/2").ok()?;
    let stderr = std::io::stderr();
    let stat = nix::sys::stat::fstat(stderr.as_fd()).ok()?;
    let journal = std::env::var("JOURNAL_STREAM")
        .is_ok_and(|stream| stream == format!("{}:{}", stat.st_dev, stat.st_ino));
    describe(&target.to_string_lossy(), journal)
}

/// What a stderr linked to `target` (as `/proc/PID/fd/2` reads) is, in
/// words for "went to the supervisor's stderr, ...": `journal` when
/// systemd's `JOURNAL_STREAM` names it. `None` when it tells nothing.
///
/// ```ignore
/// assert_eq!(describe("/var/log/app.log", false).as_deref(), Some("/var/log/app.log"));
/// ```
pub(crate) fn describe(target: &str, journal: bool) -> Option<String> {
    if journal {
        return Some("the journal (`journalctl`)".to_owned());
    }
    Some(match target {
        "/dev/null" => "/dev/null, which kept nothing".to_owned(),
        terminal if terminal.starts_with("/dev/pts/") || terminal.starts_with("/dev/tty") => {
            format!("the terminal {terminal}")
        }
        file if file.starts_with('/') => file.to_owned(),
        pipe if pipe.starts_with("pipe:") => "a pipe".to_owned(),
        socket if socket.starts_with("socket:") => "a socket".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_stderr_is_said_as_a_user_finds_it() {
        for (target, journal, said) in [
            ("socket:[4242]", true, Some("the journal (`journalctl`)")),
            ("socket:[4242]", false, Some("a socket")),
            ("pipe:[17]", false, Some("a pipe")),
            ("/var/log/app.log", false, Some("/var/log/app.log")),
            ("/dev/pts/3", false, Some("the terminal /dev/pts/3")),
            ("/dev/tty1", false, Some("the terminal /dev/tty1")),
            ("/dev/null", false, Some("/dev/null, which kept nothing")),
            ("anon_inode:[eventfd]", false, None),
        ] {
            assert_eq!(describe(target, journal).as_deref(), said, "{target}");
        }
    }

    #[test]
    fn this_process_s_stderr_is_told() {
        // Whatever the test harness gives it: a pipe, a file or a terminal.
        let said = super::of_this_process();
        assert!(said.is_some(), "{said:?}");
    }
}
