//! The process's name (`/proc/PID/comm`: what `ps`, `top`, `pkill`,
//! `killall` and journald's `_COMM` go by) after an exec through a
//! descriptor. The kernel names a process after the last part of the path
//! it ran, so a child run from a binary held open (`/proc/self/fd/N`: a
//! rollback's, or a revival's) is named "N", and so is the supervisor's
//! new image after an upgrade in place (`fexecve`) before Linux 6.14. Such
//! a process takes its name back from its `argv[0]`, which littleboss
//! keeps as the program was started.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// The most bytes a process name holds (`TASK_COMM_LEN` less its NUL).
const MOST: usize = 15;

/// Names this process after its `argv[0]`'s file name when an exec
/// through a descriptor named it after that descriptor's number. The name
/// is the main thread's, which `/proc/self/comm` is, from whichever thread
/// this runs on (`Littleboss::run` may be called from another).
pub(crate) fn restore() {
    let Ok(comm) = std::fs::read("/proc/self/comm") else {
        return;
    };
    let Some(argv0) = std::env::args_os().next() else {
        return;
    };
    let Some(file) = std::path::Path::new(&argv0).file_name() else {
        return;
    };
    if let Some(name) = renamed(&comm, file.as_bytes()) {
        // A failure leaves the number: nothing else depends on the name.
        // (`prctl` names the calling thread: tried on the main one only.)
        if std::fs::write("/proc/self/comm", name.as_bytes()).is_err()
            && nix::unistd::gettid() == nix::unistd::getpid()
        {
            let _ = nix::sys::prctl::set_name(&name);
        }
    }
}

/// The name to take, given the current one (`comm`, as `/proc` shows it)
/// and `argv[0]`'s file name: that file name, cut to what a name holds,
/// when the current name is a descriptor's number that it is not.
fn renamed(comm: &[u8], file: &[u8]) -> Option<CString> {
    let comm = comm.strip_suffix(b"\n").unwrap_or(comm);
    let wanted = &file[..file.len().min(MOST)];
    let numbered = !comm.is_empty() && comm.iter().all(u8::is_ascii_digit);
    if !numbered || wanted == comm {
        return None;
    }
    CString::new(wanted).ok().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::renamed;

    #[test]
    fn a_number_is_replaced_by_the_file_name_cut_to_fifteen_bytes() {
        let name = |comm: &[u8], file: &[u8]| renamed(comm, file).map(|n| n.into_bytes());
        assert_eq!(name(b"7\n", b"myblog"), Some(b"myblog".to_vec()));
        assert_eq!(
            name(b"12\n", b"a-very-long-service-name"),
            Some(b"a-very-long-ser".to_vec())
        );
        // Named as it should be, or a program really named with digits.
        assert_eq!(name(b"myblog\n", b"myblog"), None);
        assert_eq!(name(b"2024\n", b"2024"), None);
        // Not a number: a name the program chose is left alone.
        assert_eq!(name(b"worker-3\n", b"myblog"), None);
        // Nothing to take.
        assert_eq!(name(b"7\n", b""), None);
        assert_eq!(name(b"7\n", b"my\0blog"), None);
        assert_eq!(name(b"\n", b"myblog"), None);
    }
}
