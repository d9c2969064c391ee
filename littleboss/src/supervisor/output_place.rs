//! Where the supervisor's stderr goes, which its children inherit: told
//! with a child that ends before it was ready without saying why, whose
//! own words (a usage error from its argument parser, an abort) went
//! there, not to the `reload` that started it.

use std::os::fd::AsFd;

/// What kind of file a stderr is, as `fstat` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Fifo,
    CharDevice,
    Socket,
    Other,
}

/// Where this process's stderr goes, in words (see [`describe`]), as it
/// is now: `JOURNAL_STREAM` for the journal, `/proc/self/fd/2` for the
/// rest.
pub(crate) fn of_this_process() -> Option<String> {
    use nix::sys::stat::SFlag;
    let stat = nix::sys::stat::fstat(std::io::stderr().as_fd()).ok()?;
    let journal = std::env::var("JOURNAL_STREAM")
        .is_ok_and(|stream| stream == format!("{}:{}", stat.st_dev, stat.st_ino));
    let kind = match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFIFO => Kind::Fifo,
        SFlag::S_IFCHR => Kind::CharDevice,
        SFlag::S_IFSOCK => Kind::Socket,
        _ => Kind::Other,
    };
    let target = std::fs::read_link("/proc/self/fd/2").ok();
    let target = target.as_ref().map(|t| t.to_string_lossy());
    describe(target.as_deref().unwrap_or(""), kind, journal)
}

/// What a stderr of `kind`, linked to `target` (as `/proc/PID/fd/2` reads;
/// empty if unread), is, in words for "its stderr is the supervisor's:
/// ...": `journal` when systemd's `JOURNAL_STREAM` names it. `None` when
/// it tells nothing.
///
/// ```ignore
/// assert_eq!(describe("/var/log/app.log", Kind::File, false).as_deref(), Some("/var/log/app.log"));
/// ```
pub(crate) fn describe(target: &str, kind: Kind, journal: bool) -> Option<String> {
    if journal {
        return Some("the journal (`journalctl`)".to_owned());
    }
    let path = target.starts_with('/').then_some(target);
    Some(match (kind, path) {
        (Kind::File, Some(path)) => match path.strip_suffix(crate::proc_pid::DELETED) {
            Some(was) => format!("a deleted file, once {was}"),
            None => path.to_owned(),
        },
        (Kind::CharDevice, Some("/dev/null")) => "/dev/null, which kept nothing".to_owned(),
        (Kind::CharDevice, Some(tty))
            if tty.starts_with("/dev/pts/") || tty.starts_with("/dev/tty") =>
        {
            format!("the terminal {tty}")
        }
        (Kind::CharDevice, Some(device)) => format!("the device {device}"),
        (Kind::Fifo, Some(path)) => format!("the named pipe {path}"),
        (Kind::Fifo, _) => "a pipe".to_owned(),
        (Kind::Socket, _) => "a socket".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Kind, describe};

    #[test]
    fn a_stderr_is_said_as_a_user_finds_it() {
        use Kind::*;
        for (target, kind, journal, said) in [
            (
                "socket:[4242]",
                Socket,
                true,
                Some("the journal (`journalctl`)"),
            ),
            ("", Socket, true, Some("the journal (`journalctl`)")),
            ("socket:[4242]", Socket, false, Some("a socket")),
            ("pipe:[17]", Fifo, false, Some("a pipe")),
            (
                "/run/log.fifo",
                Fifo,
                false,
                Some("the named pipe /run/log.fifo"),
            ),
            ("/var/log/app.log", File, false, Some("/var/log/app.log")),
            (
                "/var/log/app.log (deleted)",
                File,
                false,
                Some("a deleted file, once /var/log/app.log"),
            ),
            (
                "/dev/pts/3",
                CharDevice,
                false,
                Some("the terminal /dev/pts/3"),
            ),
            (
                "/dev/tty1",
                CharDevice,
                false,
                Some("the terminal /dev/tty1"),
            ),
            (
                "/dev/null",
                CharDevice,
                false,
                Some("/dev/null, which kept nothing"),
            ),
            ("/dev/kmsg", CharDevice, false, Some("the device /dev/kmsg")),
            ("anon_inode:[eventfd]", Other, false, None),
            ("", File, false, None),
        ] {
            assert_eq!(describe(target, kind, journal).as_deref(), said, "{target}");
        }
    }

    #[test]
    fn this_process_s_stderr_is_told() {
        // Whatever the test harness gives it: a pipe, a file or a terminal.
        if std::fs::read_link("/proc/self/fd/2").is_err() {
            eprintln!("no /proc/self/fd: nothing to check");
            return;
        }
        let said = super::of_this_process();
        assert!(said.is_some(), "{said:?}");
    }
}
