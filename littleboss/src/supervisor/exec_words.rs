//! Words for an exec that failed with "No such file or directory" of a
//! file that is there. The kernel says so when what runs the file is
//! missing: an ELF binary's interpreter (a binary built on another system,
//! for musl or under NixOS), or the program a script's `#!` line names.
//! The bare error then reads as if the binary itself were gone. And for
//! one refused with "Permission denied", which reads as a matter of users
//! where the file is a folder, or has no execute bit, or its file system
//! runs nothing.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How far into a file an interpreter's name is looked for: the kernel
/// refuses longer ones (`PATH_MAX`), and so a `#!` line's first bytes.
const MOST_READ: u64 = 4096;

/// How many programs deep the search goes (a script run by a script run
/// by a binary): as many as the kernel follows.
const MOST_LEVELS: usize = 5;

/// `error`, from the exec of `path`, as a reload's answer says it: for
/// `ENOENT` of a file that is there, with what is missing; for `EACCES`,
/// with what the file is, where that says why.
pub(super) fn exec_error(path: &Path, error: &io::Error) -> String {
    if error.raw_os_error() == Some(nix::libc::EACCES) {
        return match denied(path) {
            Some(why) => format!("{error}: {why}"),
            None => error.to_string(),
        };
    }
    if error.raw_os_error() != Some(nix::libc::ENOENT) {
        return error.to_string();
    }
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return error.to_string();
    }
    format!("{error}: the file is there, but {}", missing(path))
}

/// `error`, from the exec of the file `binary` holds open (an in-place
/// upgrade's, or the way back to the previous binary), as
/// [`exec_error`] words it: read through `/proc/self/fd`, the file
/// itself, whatever its path names since.
pub(super) fn exec_error_of(binary: &impl std::os::fd::AsRawFd, error: &io::Error) -> String {
    let held = PathBuf::from(format!("/proc/self/fd/{}", binary.as_raw_fd()));
    exec_error(&held, error)
}

/// Why the exec of `path` was refused with `EACCES`, if the file says.
fn denied(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).ok()?;
    let noexec = || {
        nix::sys::statvfs::statvfs(path)
            .is_ok_and(|fs| fs.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
    };
    denied_because(&metadata.file_type(), metadata.permissions().mode(), noexec)
}

/// [`denied`], from what the file is, its mode, and whether its file
/// system is mounted `noexec` (asked last: a `statvfs` of a mount that
/// hangs holds the words up, so only where they need it).
fn denied_because(
    kind: &std::fs::FileType,
    mode: u32,
    noexec: impl FnOnce() -> bool,
) -> Option<String> {
    if kind.is_dir() {
        return Some("it is a folder, not a program".to_owned());
    }
    if !kind.is_file() {
        return Some("it is not a plain file (a FIFO, a socket or a device)".to_owned());
    }
    if mode & 0o111 == 0 {
        return Some(format!(
            "it is not executable (mode {:04o}; `chmod +x` it)",
            mode & 0o7777
        ));
    }
    if noexec() {
        return Some("its file system is mounted `noexec`".to_owned());
    }
    None
}

/// What is missing to run `path`, a file that is there, as said after
/// "but": the first program down the line of those that run it (its
/// interpreter, that one's, ...) that is not there.
fn missing(path: &Path) -> String {
    let mut file = path.to_path_buf();
    // The programs found there so far, each running the one before it.
    let mut found: Vec<String> = Vec::new();
    for _ in 0..MOST_LEVELS {
        let Some(runner) = runner_of(&file) else {
            break;
        };
        let via = found.last();
        let whose = via.map_or("its".to_owned(), |via| format!("{via}'s"));
        let path = match &runner {
            Runner::Interpreter(p) | Runner::Script(p) | Runner::Emulator(Some(p)) => Some(p),
            Runner::Emulator(None) => None,
        };
        let name = path.map_or(String::new(), |p| shown(p));
        if path.is_some_and(|p| p.exists()) {
            file = path.map_or(file, Clone::clone);
            found.push(name);
            continue;
        }
        let subject = via.map_or("it", String::as_str);
        return match runner {
            Runner::Interpreter(_) => {
                format!(
                    "{whose} ELF interpreter {name} is not (a binary built for another system?)"
                )
            }
            Runner::Script(p) if p.as_os_str().as_bytes().ends_with(b"\r") => format!(
                "{name}, the program {whose} `#!` line names, is not: the line ends in a carriage return (Windows line endings)"
            ),
            Runner::Script(_) => format!("{name}, the program {whose} `#!` line names, is not"),
            Runner::Emulator(Some(_)) => format!(
                "{subject} is a program for another machine, and {name}, the emulator `binfmt_misc` runs it with, is not"
            ),
            Runner::Emulator(None) => format!(
                "{subject} is a program for another machine, and the emulator `binfmt_misc` runs it with is not there"
            ),
        };
    }
    match found.first() {
        Some(first) => {
            format!("{first}, which runs it, is there too: something it needs to run is not")
        }
        None => "what runs it (its ELF interpreter, or the program its `#!` line names) is not"
            .to_owned(),
    }
}

/// A name read from a file, with what a terminal would act on escaped
/// (and bytes that are no UTF-8 shown as U+FFFD).
fn shown(name: &Path) -> String {
    name.to_string_lossy().escape_debug().to_string()
}

/// What runs `path`, if it names it: `None` for a file that cannot be read
/// (one this process may execute but not read), or no plain file.
fn runner_of(path: &Path) -> Option<Runner> {
    // O_NONBLOCK: a FIFO put there meanwhile must not hold the spawn.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let read_at = |offset: u64, len: u64| -> Option<Vec<u8>> {
        let mut bytes = vec![0; usize::try_from(len.min(MOST_READ)).ok()?];
        let read = file.read_at(&mut bytes, offset).ok()?;
        bytes.truncate(read);
        Some(bytes)
    };
    runner(read_at, super::spawn::own_elf_header().unwrap_or_default())
}

/// What the kernel runs to run a file.
#[derive(Debug, PartialEq, Eq)]
enum Runner {
    /// An ELF binary's `PT_INTERP`.
    Interpreter(PathBuf),
    /// A script's `#!` line's program.
    Script(PathBuf),
    /// An ELF binary for another machine than ours (an arm64 build on
    /// x86-64), which only an emulator runs: the one the matching
    /// `binfmt_misc` entry names, if one here does (a container may use
    /// the host's).
    Emulator(Option<PathBuf>),
}

/// What runs the file that `read_at(offset, len)` reads (at most `len`
/// bytes from `offset`; fewer at its end), if the file names it, where
/// `ours` is this process's own ELF header.
fn runner(read_at: impl Fn(u64, u64) -> Option<Vec<u8>>, ours: &[u8]) -> Option<Runner> {
    use super::spawn::{Foreign, foreign_elf};
    let head = read_at(0, MOST_READ)?;
    if let Some(line) = head.strip_prefix(b"#!") {
        return script_program(line).map(Runner::Script);
    }
    // Its own interpreter is the emulator's to find: a missing one is
    // not the exec's "No such file".
    if head.starts_with(b"\x7fELF") && foreign_elf(&head, ours) == Some(Foreign::OtherMachine) {
        return Some(Runner::Emulator(super::spawn::binfmt_interpreter(&head)));
    }
    elf_interpreter(&head, &read_at).map(Runner::Interpreter)
}

/// The program of a `#!` line (after the `#!`), as the kernel splits it:
/// after spaces and tabs, up to the next one or the line's end (a
/// carriage return is part of the name).
fn script_program(line: &[u8]) -> Option<PathBuf> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = line.iter().position(|b| !blank(b))?;
    let line = &line[start..];
    let end = (line.iter())
        .position(|b| blank(b) || matches!(b, b'\n' | 0))
        .unwrap_or(line.len());
    (end > 0).then(|| bytes_path(&line[..end]))
}

/// The `PT_INTERP` of the ELF file whose first bytes are `head`, read with
/// `read_at` wherever its program headers are.
fn elf_interpreter(head: &[u8], read_at: &impl Fn(u64, u64) -> Option<Vec<u8>>) -> Option<PathBuf> {
    use super::spawn::{elf_number, program_table};
    if !head.starts_with(b"\x7fELF") {
        return None;
    }
    let big = match head.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    // In each class's program header: where the file offset and the
    // size are, and their width.
    let (offset_at, size_at, word) = match head.get(4)? {
        1 => (4, 16, 4),
        2 => (8, 32, 8),
        _ => return None,
    };
    let table = program_table(head)?;
    // The table in one read (its first `MOST_READ` bytes: a `PT_INTERP`
    // comes before any loadable segment's header, so early).
    const PT_INTERP: u64 = 3;
    let int = |bytes: &[u8], at, width| elf_number(bytes, big, at, width);
    let entries = read_at(table.offset, table.count.checked_mul(table.entry)?)?;
    let entry = usize::try_from(table.entry).ok().filter(|&n| n > 0)?;
    let header = (entries.chunks_exact(entry)).find(|h| int(h, 0, 4) == Some(PT_INTERP))?;
    let (offset, size) = (int(header, offset_at, word)?, int(header, size_at, word)?);
    let name = read_at(offset, size)?;
    let name = name.split(|b| *b == 0).next()?;
    (!name.is_empty()).then(|| bytes_path(name))
}

/// A path read from a file, byte for byte: one that is no UTF-8 still
/// names the file it names.
pub(super) fn bytes_path(bytes: &[u8]) -> PathBuf {
    std::ffi::OsStr::from_bytes(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_exec_says_what_the_file_is() {
        let kind_of = |path: &str| std::fs::metadata(path).unwrap().file_type();
        let (folder, file) = (kind_of("/"), kind_of("/proc/self/exe"));
        let said = |kind: &std::fs::FileType, mode: u32, noexec: bool| {
            denied_because(kind, mode, || noexec)
        };
        assert_eq!(
            said(&folder, 0o40755, false).unwrap(),
            "it is a folder, not a program"
        );
        assert_eq!(
            said(&file, 0o100644, true).unwrap(),
            "it is not executable (mode 0644; `chmod +x` it)"
        );
        assert_eq!(
            said(&file, 0o100755, true).unwrap(),
            "its file system is mounted `noexec`"
        );
        // Executable where it is: the kernel's words alone (a folder on
        // the way this user may not search, say).
        assert_eq!(said(&file, 0o100700, false), None);
        let fifo = std::env::temp_dir().join(format!("lb-denied-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let denied = io::Error::from_raw_os_error(nix::libc::EACCES);
        let said = exec_error(&fifo, &denied);
        std::fs::remove_file(&fifo).unwrap();
        assert_eq!(
            said,
            "Permission denied (os error 13): it is not a plain file (a FIFO, a socket or a device)"
        );
    }

    fn from(bytes: &[u8]) -> impl Fn(u64, u64) -> Option<Vec<u8>> + '_ {
        move |offset, len| {
            let start = usize::try_from(offset).ok()?.min(bytes.len());
            let end = start
                .saturating_add(usize::try_from(len).ok()?)
                .min(bytes.len());
            Some(bytes[start..end].to_vec())
        }
    }

    /// What runs the file of `bytes`, judged on this machine.
    fn runner_here(bytes: &[u8]) -> Option<Runner> {
        runner(from(bytes), super::super::spawn::own_elf_header().unwrap())
    }

    #[test]
    fn a_dynamically_linked_binary_names_its_interpreter() {
        // This test's own binary, linked against the system's libc.
        let own = std::fs::read("/proc/self/exe").unwrap();
        let Some(Runner::Interpreter(name)) = runner_here(&own) else {
            panic!("no interpreter found in this test's binary");
        };
        let shown = name.display();
        assert!(
            name.is_absolute() && shown.to_string().contains("ld"),
            "{shown}"
        );
        assert!(name.exists(), "{shown}");
    }

    #[test]
    fn a_big_endian_32_bit_header_is_read_as_such() {
        // An ELF header (class 1, big-endian) with one program header at
        // 52 (size 32), of type PT_INTERP, naming "/lib/ld.so" at 100.
        let mut elf = vec![0u8; 120];
        elf[..6].copy_from_slice(b"\x7fELF\x01\x02");
        elf[28..32].copy_from_slice(&52u32.to_be_bytes());
        elf[42..44].copy_from_slice(&32u16.to_be_bytes());
        elf[44..46].copy_from_slice(&1u16.to_be_bytes());
        elf[52..56].copy_from_slice(&3u32.to_be_bytes());
        elf[56..60].copy_from_slice(&100u32.to_be_bytes());
        elf[68..72].copy_from_slice(&11u32.to_be_bytes());
        elf[100..111].copy_from_slice(b"/lib/ld.so\0");
        assert_eq!(
            runner_here(&elf),
            Some(Runner::Interpreter("/lib/ld.so".into()))
        );
        // Read as little-endian, the same bytes name nothing sensible.
        elf[5] = 1;
        assert_eq!(runner_here(&elf), None);
    }

    #[test]
    fn a_statically_linked_or_cut_binary_names_nothing() {
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert_eq!(runner_here(&elf), None);
        assert_eq!(runner_here(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(runner_here(b""), None);
        assert_eq!(runner_here(b"plain text"), None);
    }

    #[test]
    fn a_script_names_its_program_as_the_kernel_splits_the_line() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (b"#!/bin/sh\necho", Some("/bin/sh")),
            (b"#! \t/usr/bin/env python3 -u\n", Some("/usr/bin/env")),
            (b"#!/opt/x\t-f", Some("/opt/x")),
            (b"#!/no/newline", Some("/no/newline")),
            (b"#!   \n/bin/sh", None),
            (b"#!", None),
        ];
        for (script, program) in cases {
            let want = program.map(|p| Runner::Script(p.into()));
            assert_eq!(runner_here(script), want, "{script:?}");
        }
    }

    #[test]
    fn a_script_with_windows_line_ends_names_the_carriage_return() {
        let script = b"#!/bin/sh\r\necho\r\n";
        assert_eq!(
            runner_here(script),
            Some(Runner::Script("/bin/sh\r".into()))
        );
    }

    #[test]
    fn another_machines_binary_is_run_by_an_emulator() {
        // This binary with another machine (0x1234, which none is) in its
        // header: run by `binfmt_misc`'s emulator alone (none here names
        // one for it), not by the interpreter its header names.
        let mut own = std::fs::read("/proc/self/exe").unwrap();
        own.truncate(4096);
        own[18..20].copy_from_slice(&[0x34, 0x12]);
        assert_eq!(runner_here(&own), Some(Runner::Emulator(None)));
    }

    #[test]
    fn only_an_enoent_of_a_file_that_is_there_is_worded_anew() {
        let dir = std::env::temp_dir().join(format!("lb-exec-words-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let said_of = |script: &[u8]| {
            let path = dir.join("script");
            std::fs::write(&path, script).unwrap();
            let enoent = io::Error::from_raw_os_error(nix::libc::ENOENT);
            let said = exec_error(&path, &enoent);
            let (error, why) = said.split_once(": the file is there, but ").unwrap();
            assert_eq!(error, enoent.to_string());
            why.to_owned()
        };
        assert_eq!(
            said_of(b"#!/nonexistent/interpreter\n"),
            "/nonexistent/interpreter, the program its `#!` line names, is not"
        );
        assert_eq!(
            said_of(b"#!/nonexistent/sh\r\n"),
            "/nonexistent/sh\\r, the program its `#!` line names, is not: the line ends in a carriage return (Windows line endings)"
        );
        // Down the line: a script run by a script whose program is missing.
        let inner = dir.join("inner");
        std::fs::write(&inner, "#!/nonexistent/interpreter\n").unwrap();
        assert_eq!(
            said_of(format!("#!{}\n", inner.display()).as_bytes()),
            format!(
                "/nonexistent/interpreter, the program {}'s `#!` line names, is not",
                inner.display()
            )
        );
        // Everything down the line there (something else missing): the
        // first program named, not a name that is not missing.
        assert_eq!(
            said_of(b"#!/bin/sh\n"),
            "/bin/sh, which runs it, is there too: something it needs to run is not"
        );
        // Another machine's binary: its emulator (none here for machine
        // 0x1234); its header alone is read.
        let mut foreign = std::fs::read("/proc/self/exe").unwrap();
        foreign.truncate(4096);
        foreign[18..20].copy_from_slice(&[0x34, 0x12]);
        let said = said_of(&foreign);
        assert_eq!(
            said,
            "it is a program for another machine, and the emulator `binfmt_misc` runs it with is not there"
        );
        // A program whose name is no UTF-8, there, its own missing.
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
        std::fs::write(&odd, "#!/nonexistent/interpreter\n").unwrap();
        let mut script = b"#!".to_vec();
        script.extend_from_slice(odd.as_os_str().as_bytes());
        assert_eq!(
            said_of(&script),
            format!(
                "/nonexistent/interpreter, the program {}'s `#!` line names, is not",
                shown(&odd)
            )
        );
        // A file held open, by its descriptor (an O_PATH one, as the
        // supervisor holds binaries), its path removed since.
        let held = dir.join("held");
        std::fs::write(&held, "#!/nonexistent/interpreter\n").unwrap();
        let fd = nix::fcntl::open(
            &held,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        std::fs::remove_file(&held).unwrap();
        let enoent = io::Error::from_raw_os_error(nix::libc::ENOENT);
        assert_eq!(
            exec_error_of(&fd, &enoent),
            format!(
                "{enoent}: the file is there, but /nonexistent/interpreter, the program its `#!` line names, is not"
            )
        );
        // No file: the error as it is. Nor another error.
        let enoent = io::Error::from_raw_os_error(nix::libc::ENOENT);
        assert_eq!(exec_error(&dir.join("gone"), &enoent), enoent.to_string());
        let eperm = io::Error::from_raw_os_error(nix::libc::EPERM);
        assert_eq!(exec_error(&dir.join("script"), &eperm), eperm.to_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
