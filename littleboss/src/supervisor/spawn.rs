//! Starting a child and watching it.
//!
//! Each child is owned by a watcher task: it alone holds the process's
//! pidfd, so it alone waits for and kills it (no pid can be reused under
//! us). The driver talks to it through a [`ChildHandle`]; what the child
//! says and how it ends come back as machine [`Event`]s. A supervisor that
//! re-executed itself watches the children it kept the same way
//! ([`rewatch`]).

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::machine::{ChildExit, ChildId, Event};
use super::pidfd::Process;
use crate::fdpass;
use crate::link::{self, ListenerEntry, SupervisorEnd, ToChild};
use crate::log::log;

/// Whether the channel variable is in the supervisor's own environment, for
/// every child to inherit.
static CHANNEL_VAR_INHERITED: AtomicBool = AtomicBool::new(false);

/// Puts the channel variable (constant for the supervisor's life) in its
/// own environment, once the program's `supervisor_init` has run, so that
/// what it started does not inherit it, and no spawn has to copy the
/// environment to add it. Only done while single-threaded (the condition
/// for changing the environment soundly); otherwise each child gets it on
/// its command.
pub(crate) fn inherit_channel_var() {
    if crate::environ::set_env(link::ENV_VAR, &link::env_value()) {
        CHANNEL_VAR_INHERITED.store(true, Ordering::Relaxed);
    }
}

/// A test hook: the signal of this number is pending in each child as it
/// starts, as a terminal's ^C to the supervisor's group (2, SIGINT), or a
/// `kill -- -PGID` (15, SIGTERM; `kill -USR1 -- -PGID`, 10, and SIGUSR2,
/// 12), before the child had its own leaves one.
const TEST_SIGNALED_VAR: &str = "LITTLEBOSS_TEST_SIGNAL_AT_SPAWN";

/// A test hook: how long a watcher waits at most, for its child to exit,
/// before it reads the child's first message, in milliseconds.
const TEST_WATCH_PAUSE_VAR: &str = "LITTLEBOSS_TEST_WATCH_PAUSE_MS";

/// A test hook: watchers that never answer a settle order, as one stuck
/// sending to a child that does not read its channel.
const TEST_UNSETTLED_VAR: &str = "LITTLEBOSS_TEST_UNSETTLED";

/// A test hook: watchers whose sends of a lameduck order never finish, as
/// to a child that does not read its channel once its buffer is full.
const TEST_LAMEDUCK_HANGS_VAR: &str = "LITTLEBOSS_TEST_LAMEDUCK_HANGS";

/// What the driver can ask of a child's watcher.
#[derive(Debug)]
enum Order {
    Lameduck {
        refuse: bool,
    },
    /// Hand `fds`, taken off the queue of `listener` (inode `inode`), over.
    Queued {
        listener: String,
        inode: u64,
        fds: Vec<std::os::fd::OwnedFd>,
    },
    /// Say that the child it started beside has ended.
    Alone,
    Kill,
    Signal(nix::sys::signal::Signal),
    /// Answered once every order before it is carried out.
    Settle(tokio::sync::oneshot::Sender<()>),
}

/// The driver's handle on one child.
#[derive(Debug)]
pub(crate) struct ChildHandle {
    pub pid: u32,
    /// Watched through a pidfd (else by pid).
    pub by_pidfd: bool,
    /// Its channel's fd, open for as long as the watcher runs: what an
    /// in-place upgrade hands on.
    pub channel_fd: RawFd,
    orders: mpsc::UnboundedSender<Order>,
    /// Told at a kill, besides the order: a watcher stuck sending to a
    /// child that does not read its channel kills it at once.
    kill_now: Arc<tokio::sync::Notify>,
}

impl ChildHandle {
    /// Tells it to wind down (the machine decides when to kill it);
    /// `refuse`: shutting its TCP listeners for good.
    pub fn lameduck(&self, refuse: bool) {
        let _ = self.orders.send(Order::Lameduck { refuse });
    }

    /// Hands it the connections `fds` taken off the queue of its listener
    /// `listener`, the socket of inode `inode`, to serve as it drains.
    pub fn hand_queued(&self, listener: String, inode: u64, fds: Vec<std::os::fd::OwnedFd>) {
        let _ = self.orders.send(Order::Queued {
            listener,
            inode,
            fds,
        });
    }

    /// Whether its watcher has ended (the child exited, its exit not yet
    /// handled): orders reach it no more.
    pub fn ended(&self) -> bool {
        self.orders.is_closed()
    }

    /// Tells it that the child it started beside has ended, and none
    /// serves (see [`ToChild::Alone`]).
    pub fn alone(&self) {
        let _ = self.orders.send(Order::Alone);
    }

    pub fn kill(&self) {
        let _ = self.orders.send(Order::Kill);
        self.kill_now.notify_one();
    }

    /// Passes `signal` on to it.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let _ = self.orders.send(Order::Signal(signal));
    }

    /// Completes once the orders given so far are carried out (or its
    /// watcher has ended): before an exec, which would drop them.
    pub fn settled(&self) -> impl std::future::Future<Output = ()> + use<> {
        let (done, settled) = tokio::sync::oneshot::channel();
        let _ = self.orders.send(Order::Settle(done));
        async move {
            let _ = settled.await;
        }
    }
}

/// Everything a child is started with, owned: a spawn runs off the loop.
#[derive(Debug)]
pub(crate) struct Spawn {
    pub id: ChildId,
    /// What to execute: the launch's file, or `/proc/self/fd/N` for a
    /// binary the driver holds open (for as long as the child's launch is
    /// the machine's, so while it starts).
    pub path: PathBuf,
    pub argv0: OsString,
    pub args: Vec<OsString>,
    pub name: String,
    /// Its declared listeners, and the fds of those that are on, in order.
    pub entries: Vec<ListenerEntry>,
    pub fds: Vec<Arc<OwnedFd>>,
    /// Passed on in the hello (see [`ToChild::Hello`]).
    pub refuse_when_orphaned: bool,
    /// Passed on in the hello (see [`ToChild::Hello`]).
    pub beside_serving: bool,
    /// Where the forked process writes its pid before its exec (see
    /// [`pid_pipe`]).
    pub pid_to: Option<OwnedFd>,
}

/// A pipe a spawn's forked process writes its pid to, before its exec,
/// read end first: the driver, which learns a child's pid only once its
/// exec has returned, can so kill one whose exec hangs
/// ([`kill_forked`]). `None` if no pipe can be had (out of descriptors):
/// the spawn goes on without. Never at the child's channel's number
/// (reserved first, as [`start`] does).
pub(crate) fn pid_pipe() -> Option<(OwnedFd, OwnedFd)> {
    reserve_channel_fd();
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK).ok()
}

/// What the read end of a spawn's [`pid_pipe`] gives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Forked {
    /// The pid its forked process wrote (whole: a pipe's write of 4
    /// bytes is never split).
    Pid(i32),
    /// Nothing yet: it has not forked, or its process not written.
    NotYet,
    /// Nothing, ever: the spawn is over (every write end closed), or the
    /// pipe cannot be read.
    Over,
}

/// Reads the pid a spawn's forked process wrote to the read end `from`
/// of its [`pid_pipe`].
pub(crate) fn forked_pid(from: &OwnedFd) -> Forked {
    let mut pid = [0; 4];
    match nix::unistd::read(from, &mut pid) {
        Ok(4) => Forked::Pid(i32::from_ne_bytes(pid)),
        Err(nix::errno::Errno::EAGAIN) => Forked::NotYet,
        _ => Forked::Over,
    }
}

/// Kills `pid`, forked by a spawn at `forked` (clock ticks since boot, as
/// `/proc/PID/stat` counts a start) whose exec has not returned, if it is
/// still this process's child started since then (a process that
/// failed its exec is reaped by the spawn, and its pid may be another's
/// by now: only another child of ours, started since, would pass, which
/// takes the pids wrapping around within moments). Returns whether it
/// was killed. Not without `/proc`, which alone tells.
pub(crate) fn kill_forked(pid: i32, forked: u64) -> bool {
    let Some(stat) = u32::try_from(pid).ok().and_then(super::orphans::stat) else {
        return false;
    };
    // A tick early, as `forked` may be.
    if stat.parent != std::process::id() || stat.started + 1 < forked {
        return false;
    }
    let target = nix::unistd::Pid::from_raw(pid);
    let killed = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL).is_ok();
    // Its group too, the child's own from before its exec (std sets it
    // before the closure that writes the pid): what it started once its
    // exec returned (its workers, holding the listeners) goes with it, as
    // a child's does (`Process::kill_with_group`).
    if killed {
        let _ = nix::sys::signal::killpg(target, nix::sys::signal::Signal::SIGKILL);
    }
    killed
}

/// `fd`, numbered above the descriptors a child's setup overwrites before
/// its exec (its channel's, [`link::CHILD_FD`]): a held binary the child
/// runs through `/proc/self/fd/N` must still be there then.
pub(crate) fn above_child_fds(fd: OwnedFd) -> std::io::Result<OwnedFd> {
    if fd.as_raw_fd() > link::CHILD_FD {
        return Ok(fd);
    }
    copy_at_least(&fd, link::CHILD_FD + 1)
}

/// A close-on-exec copy of `fd` at the lowest number free from `lowest`.
fn copy_at_least(fd: &impl AsFd, lowest: RawFd) -> std::io::Result<OwnedFd> {
    let raw = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(lowest))?;
    // SAFETY: fcntl just made `raw`, a new descriptor nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(raw) })
}

/// Refuses a file the kernel would not run (ENOEXEC): neither an ELF
/// binary at least a header long nor a `#!` script, or an ELF one cut
/// short of its program headers ([`cut_short`]). std's exec (glibc's
/// `execvp`) would run it with `/bin/sh` instead: a half-copied binary's
/// bytes, or a text file's lines, as shell commands. A file this process
/// may not execute or read, or no plain file (a FIFO: reading it would
/// wait for a writer), is left to the exec to judge.
fn runnable(path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path);
    let Ok(file) = opened else { return Ok(()) };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let mut head = Vec::with_capacity(ELF64_HEADER);
    if (&file)
        .take(ELF64_HEADER as u64)
        .read_to_end(&mut head)
        .is_err()
    {
        return Ok(());
    }
    // As long as its class's header (byte 4: 1 for 32-bit, 2 for 64).
    let header = match head.get(4) {
        Some(1) => ELF32_HEADER,
        Some(2) => ELF64_HEADER,
        _ => usize::MAX,
    };
    let elf = head.starts_with(b"\x7fELF") && head.len() >= header;
    // No program is told without our own header (it may not be readable).
    let refused = || match foreign_elf(&head, own_elf_header().unwrap_or_default()) {
        Some(Foreign::NoProgram) => true,
        // binfmt_misc's entries read only for such a file.
        Some(Foreign::OtherMachine) => !binfmt_runs(&head),
        None => false,
    };
    // Cut within its program headers (a copy caught half-way), the kernel
    // refuses it as no program too. A size short of the header read is a
    // file cut since, or a file system's that does not tell sizes (not
    // judged): the header's last byte, read again, tells them apart.
    let cut = || {
        // Its size once read: a copy under way has at least what was read.
        let len = file.metadata().map_or(0, |m| m.len());
        let last = i64::try_from(head.len()).unwrap_or(1) - 1;
        cut_short(&head, len, || {
            nix::sys::uio::pread(&file, &mut [0u8], last).ok()
        })
    };
    if elf && (refused() || cut()) {
        return Err(std::io::Error::from_raw_os_error(nix::libc::ENOEXEC));
    }
    // Asked only of a file that is no program: the common case reads the
    // header and is done.
    let executable = || nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok();
    if elf || head.starts_with(b"#!") || !executable() {
        return Ok(());
    }
    Err(std::io::Error::from_raw_os_error(nix::libc::ENOEXEC))
}

/// Where `binfmt_misc` is mounted.
const BINFMT_ROOT: &str = "/proc/sys/fs/binfmt_misc";

/// Whether an enabled `binfmt_misc` entry may run a file that begins
/// with `head` (qemu-user runs an arm64 build on x86-64): then it is the
/// kernel's to judge. So it is where `binfmt_misc` is not mounted here
/// (a container's `/proc`): the kernel may use the host's entries.
fn binfmt_runs(head: &[u8]) -> bool {
    let root = std::path::Path::new(BINFMT_ROOT);
    let Ok(status) = std::fs::read_to_string(root.join("status")) else {
        return std::fs::metadata(root).is_ok();
    };
    status.trim() != "disabled" && binfmt_entry(root, head).is_some()
}

/// The program that the enabled `binfmt_misc` entry matching `head` runs
/// such a file with (its `interpreter`), if one here does.
pub(super) fn binfmt_interpreter(head: &[u8]) -> Option<std::path::PathBuf> {
    interpreter_of(&binfmt_entry(std::path::Path::new(BINFMT_ROOT), head)?)
}

/// The `interpreter` a `binfmt_misc` entry (its file's bytes) names, byte
/// for byte: a path that is no UTF-8 still names its file.
fn interpreter_of(entry: &[u8]) -> Option<std::path::PathBuf> {
    let interpreter =
        (entry.split(|b| *b == b'\n')).find_map(|line| line.strip_prefix(b"interpreter "))?;
    Some(super::exec_words::bytes_path(interpreter.trim_ascii()))
}

/// The first enabled entry in `root` (its file's bytes) that matches
/// `head`.
fn binfmt_entry(root: &std::path::Path, head: &[u8]) -> Option<Vec<u8>> {
    (std::fs::read_dir(root).ok()?.flatten())
        .filter(|entry| !matches!(entry.file_name().to_str(), Some("register" | "status")))
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .find(|entry| binfmt_matches(&String::from_utf8_lossy(entry), head))
}

/// Whether the `binfmt_misc` entry `entry` (as its file reads) is enabled
/// and its magic, at its offset and under its mask, is `head`'s. An entry
/// by file name extension has no magic, and matches nothing here.
fn binfmt_matches(entry: &str, head: &[u8]) -> bool {
    let hex = |s: &str| -> Option<Vec<u8>> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    };
    let mut lines = entry.lines();
    if lines.next() != Some("enabled") {
        return false;
    }
    let (mut offset, mut magic, mut mask) = (0usize, None, None);
    for line in lines {
        if let Some(value) = line.strip_prefix("offset ") {
            offset = value.trim().parse().unwrap_or(0);
        } else if let Some(value) = line.strip_prefix("magic ") {
            magic = hex(value.trim());
        } else if let Some(value) = line.strip_prefix("mask ") {
            mask = hex(value.trim());
        }
    }
    let Some(magic) = magic else { return false };
    let end = offset.checked_add(magic.len());
    let Some(bytes) = end.and_then(|end| head.get(offset..end)) else {
        return false;
    };
    let mask_at = |i: usize| {
        mask.as_ref()
            .and_then(|m| m.get(i))
            .copied()
            .unwrap_or(0xff)
    };
    // As the kernel compares: the bits the mask keeps, of both.
    (bytes.iter().zip(&magic).enumerate()).all(|(i, (byte, want))| (byte ^ want) & mask_at(i) == 0)
}

/// The first bytes of this process's own binary (an ELF header), read
/// once; `None` if they cannot be read.
pub(super) fn own_elf_header() -> Option<&'static [u8]> {
    static OWN: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    let own = OWN.get_or_init(|| {
        use std::io::Read;
        let file = std::fs::File::open("/proc/self/exe").ok()?;
        let mut head = Vec::with_capacity(ELF32_HEADER);
        file.take(ELF32_HEADER as u64).read_to_end(&mut head).ok()?;
        (head.len() == ELF32_HEADER && head.starts_with(b"\x7fELF")).then_some(head)
    });
    own.as_deref()
}

/// Why the kernel itself refuses an ELF file: see [`foreign_elf`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Foreign {
    /// An object file, a core dump.
    NoProgram,
    /// Of our class, for another machine or byte order (an arm64 build on
    /// x86-64): an emulator `binfmt_misc` knows may still run it.
    OtherMachine,
}

/// Whether the ELF header `head` is of a file the kernel itself would
/// refuse where `ours` (this binary's header) runs, and why. Another
/// class is left to the kernel (32-bit support may be there), and so are
/// i386 and x32, both 32-bit and run alike by an x86-64 kernel with x32
/// support.
pub(super) fn foreign_elf(head: &[u8], ours: &[u8]) -> Option<Foreign> {
    let (Some(class), Some(order)) = (head.get(4), head.get(5)) else {
        return None;
    };
    let (Some(kind), Some(machine)) = (elf_field(head, 16, 2), head.get(18..20)) else {
        return None;
    };
    // ET_EXEC, ET_DYN (a PIE, as Rust builds by default).
    if !matches!(kind, 2 | 3) {
        return Some(Foreign::NoProgram);
    }
    // EM_386 and EM_X86_64 (x32), in either order.
    let x86_32 = |m: &[u8]| *class == 1 && matches!(m, [3, 0] | [62, 0]);
    let other_machine = ours
        .get(18..20)
        .is_some_and(|o| o != machine && !(x86_32(o) && x86_32(machine)));
    let ours_too = ours.get(4) == Some(class) && (ours.get(5) != Some(order) || other_machine);
    ours_too.then_some(Foreign::OtherMachine)
}

/// The `width`-byte field at `at` of ELF header `head`, in the header's
/// byte order (byte 5: 2 for big-endian, little otherwise).
fn elf_field(head: &[u8], at: usize, width: usize) -> Option<u64> {
    elf_number(head, head.get(5) == Some(&2), at, width)
}

/// The `width`-byte number at `at` of `bytes` (part of an ELF file),
/// big-endian if `big`.
pub(super) fn elf_number(bytes: &[u8], big: bool, at: usize, width: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(width)?)?;
    let fold = |n: u64, b: &u8| (n << 8) | u64::from(*b);
    Some(match big {
        true => field.iter().fold(0, fold),
        false => field.iter().rev().fold(0, fold),
    })
}

/// Where an ELF file keeps its program headers, as its header says.
pub(super) struct ProgramTable {
    /// `e_phoff`: the table's offset in the file.
    pub(super) offset: u64,
    /// `e_phentsize`: an entry's size.
    pub(super) entry: u64,
    /// `e_phnum`: how many entries.
    pub(super) count: u64,
}

/// The program-header table ELF header `head` describes, read in its
/// class's layout; none for a header cut short or of no class known.
pub(super) fn program_table(head: &[u8]) -> Option<ProgramTable> {
    let number = |at, width| elf_field(head, at, width);
    let (offset, entry, count) = match head.get(4)? {
        1 => (number(28, 4)?, number(42, 2)?, number(44, 2)?),
        2 => (number(32, 8)?, number(54, 2)?, number(56, 2)?),
        _ => return None,
    };
    Some(ProgramTable {
        offset,
        entry,
        count,
    })
}

/// Whether the ELF file whose header `head` was read, and whose size was
/// then `len`, is cut short of its program headers. A size short of the
/// header read is judged by `reread_last`, the header's last byte read
/// again (how many bytes came): none, the file was cut since; else its
/// file system does not tell sizes, and it is left to the kernel.
pub(super) fn cut_short(
    head: &[u8],
    len: u64,
    reread_last: impl FnOnce() -> Option<usize>,
) -> bool {
    match len >= head.len() as u64 {
        true => !program_headers_fit(head, len),
        false => reread_last() == Some(0),
    }
}

/// Whether the ELF header `head` (its class's whole) describes a
/// program-header table the kernel would read from a file of `len`
/// bytes: entries of its class's size, at least one, all within the
/// file. Else the exec fails with ENOEXEC, as for no program.
pub(super) fn program_headers_fit(head: &[u8], len: u64) -> bool {
    // An entry's size in each class.
    let size = match head.get(4) {
        Some(1) => 32,
        Some(2) => 56,
        _ => return false,
    };
    let Some(table) = program_table(head) else {
        return false;
    };
    // The kernel reads 64 KiB of them at most.
    table.entry == size
        && table.count > 0
        && table.count * size <= 65536
        && (table.offset)
            .checked_add(table.count * size)
            .is_some_and(|end| end <= len)
}

/// `hello`, naming `listeners` listeners, encoded for the channel; refused
/// if larger than a child reads in one message ([`fdpass::MAX_TO_CHILD`]):
/// the child would find it cut and fail, and so would every child after
/// it. Listener names have no length limit, and a unix listener's path
/// goes in too.
fn encoded_hello(hello: ToChild, listeners: usize) -> std::io::Result<Vec<u8>> {
    let encoded = link::encode(hello);
    let size = encoded.len();
    if size <= fdpass::MAX_TO_CHILD {
        return Ok(encoded);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "describing its listeners ({listeners}) takes {size} bytes, more than the {} KiB a child reads at its start: give them shorter names or unix paths, or declare fewer",
            fdpass::MAX_TO_CHILD / 1024
        ),
    ))
}

/// Kills child `pid` (not reaped: the pid is still its own) and what it
/// started in its process group (forked workers holding the listeners,
/// helpers, which would live on after it; its group's id is its pid, not
/// reused while the child is not reaped). One another wait has reaped is
/// not signalled by number: what it left in its group is killed
/// ([`super::pidfd::kill_left_by_reaped`]).
pub(crate) fn kill_with_group(pid: u32) {
    let Some(target) = child_pid(pid) else { return };
    // Not by number once another wait than ours (code of the program's)
    // has reaped it: the number may be another process's by then. What it
    // left in its group goes all the same.
    if let Ok(false) = super::pidfd::still_ours(pid) {
        return super::pidfd::kill_left_by_reaped(pid);
    }
    let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::signal::killpg(target, nix::sys::signal::Signal::SIGKILL);
}

/// `pid` as a child's pid to signal, or `None` for a number no child has
/// (from a damaged handoff): 0 and what reads as negative would signal
/// the supervisor's own group, or every process; 1 is init.
pub(crate) fn child_pid(pid: u32) -> Option<nix::unistd::Pid> {
    let pid = i32::try_from(pid).ok().filter(|pid| *pid > 1)?;
    Some(nix::unistd::Pid::from_raw(pid))
}

/// The size of a 32-bit ELF header: a shorter file that begins as one is
/// cut short.
const ELF32_HEADER: usize = 52;
/// The size of a 64-bit ELF header, as [`ELF32_HEADER`].
const ELF64_HEADER: usize = 64;

/// A child [`start`] started, not watched yet.
#[derive(Debug)]
pub(crate) struct Started {
    pub id: ChildId,
    pub pid: u32,
    /// The supervisor's end of its channel.
    ours: OwnedFd,
    /// Its hello, encoded.
    hello: Vec<u8>,
    fds: Vec<Arc<OwnedFd>>,
}

/// A test hook: a file whose presence holds each spawn's forked process
/// just before its exec (as a binary on a hung mount holds it in the
/// exec), for at most [`GATE_LIMIT`].
const TEST_GATE_VAR: &str = "LITTLEBOSS_TEST_SPAWN_GATE";

/// The longest [`TEST_GATE_VAR`] holds a spawn back.
const GATE_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often the gate is looked at.
const GATE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// The test hook's gate file, as the C string the forked process looks
/// at (where nothing may allocate).
fn exec_gate() -> Option<std::ffi::CString> {
    let gate = crate::test_hook::test_hook::<PathBuf>(TEST_GATE_VAR)?;
    std::ffi::CString::new(gate.into_os_string().into_encoded_bytes()).ok()
}

/// In the forked process: waits while `gate` exists, [`GATE_LIMIT`] at
/// most, with async-signal-safe calls only.
fn hold_at_the_gate(gate: &std::ffi::CStr) {
    let pause = nix::libc::timespec {
        tv_sec: 0,
        tv_nsec: GATE_PAUSE.as_nanos() as nix::libc::c_long,
    };
    for _ in 0..GATE_LIMIT.as_millis() / GATE_PAUSE.as_millis() {
        // SAFETY: `gate` is a valid C string; access and nanosleep are
        // async-signal-safe.
        if unsafe { nix::libc::access(gate.as_ptr(), nix::libc::F_OK) } != 0 {
            return;
        }
        // SAFETY: as above; `pause` outlives the call.
        unsafe { nix::libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
}

/// Starts a child with its channel at fd 3, in its own process group, for
/// [`watch_started`] to watch. Waits for the exec: off the loop, where a
/// binary on a file system that hangs (an NFS server gone, a FUSE mount)
/// would stop control requests, deadlines and the watchdog.
/// `about_to_fork` runs just before the fork.
pub(crate) fn start(launch: Spawn, about_to_fork: impl FnOnce()) -> std::io::Result<Started> {
    runnable(&launch.path)?;
    let listeners = launch.entries.len();
    let hello = ToChild::Hello {
        name: launch.name,
        listeners: launch.entries,
        refuse_when_orphaned: launch.refuse_when_orphaned,
        // The entries mark the service manager's sockets.
        refuse_own_when_orphaned: true,
        beside_serving: launch.beside_serving,
    };
    // Encoded here, off the loop, once.
    let hello = encoded_hello(hello, listeners)?;
    reserve_channel_fd();
    let (ours, theirs) = fdpass::socketpair()?;
    let theirs_raw = theirs.as_raw_fd();
    let pid_to = launch.pid_to.as_ref().map(AsRawFd::as_raw_fd);
    let mut command = Command::new(&launch.path);
    command
        .arg0(&launch.argv0)
        .args(&launch.args)
        // Its own group: a terminal's ^C reaches the supervisor only, which
        // turns it into an orderly lameduck.
        .process_group(0);
    if !CHANNEL_VAR_INHERITED.load(Ordering::Relaxed) {
        command.env(link::ENV_VAR, link::env_value());
    }
    // Variables meant for the supervisor alone, should they outlive a
    // failure to take them out of its environment (it had threads then):
    // an upgrade's must not send a child to resume, and systemd's must not
    // let a child notify (`NOTIFY_SOCKET` names no pid) or adopt sockets.
    for var in super::handoff::VARS
        .into_iter()
        .chain(crate::notify::VARS)
        .chain(crate::activation::ALL_VARS)
    {
        command.env_remove(var);
    }
    let gate = exec_gate();
    let test_signaled = crate::test_hook::test_hook::<u8>(TEST_SIGNALED_VAR);
    // Listed before the fork, closed after it (see `shared_fds`).
    let shared = super::shared_fds::open_above(link::CHILD_FD);
    let close_range_refused = super::close_range_refused_by_test();
    let to_mark = super::shared_fds::to_mark(link::CHILD_FD + 1, &shared);
    // What the supervisor has ignored (started so: a script's `start &`
    // ignores SIGQUIT, and SIGINT, which the supervisor handles; or by
    // `supervisor_init`) is not the child's: an exec keeps a signal
    // ignored. SIGHUP is dealt with below;
    // SIGTTIN and SIGTTOU stay as they are, as the child runs in a
    // background process group of its own: ignored, a terminal's read
    // fails rather than stops it.
    let keep = [nix::libc::SIGHUP, nix::libc::SIGTTIN, nix::libc::SIGTTOU];
    let ignored = crate::ignored::all_but(&keep);
    // SAFETY: runs in the forked child before exec, calling only
    // getpid, write, signal, raise, pthread_sigmask, dup2, fcntl,
    // close_range (a raw syscall), fstat and close, which are
    // async-signal-safe, on fds the parent keeps open until spawn returns
    // (and the test hook's access and nanosleep, on a string made before
    // the fork).
    unsafe {
        command.pre_exec(move || {
            // Its pid first, for the driver to kill it by should its exec
            // hang (a pipe's 4 bytes are written whole, or not at all).
            if let Some(fd) = pid_to {
                let pid = nix::libc::getpid();
                nix::libc::write(fd, (&raw const pid).cast(), std::mem::size_of_val(&pid));
            }
            // SIGHUP ignored until the child's `run` installs its handler
            // (which says reloads are the supervisor's): a `pkill -HUP`
            // reaching a reload's child while it starts (here, at its exec
            // or during its code before `run`) would kill it and fail the
            // reload. Until here it waits, blocked as on the thread that
            // forked (one pending is discarded as it is ignored). As the
            // binary loads, a handler that does nothing takes over
            // (`inherited`), so what the program starts gets the default
            // back at its exec.
            nix::libc::signal(nix::libc::SIGHUP, nix::libc::SIG_IGN);
            if let Some(number) = test_signaled {
                nix::libc::raise(number.into());
            }
            // A terminal's ^C, or a signal sent to the supervisor's group
            // (`kill -- -PGID`, GNU `timeout`, `kill -USR1 -- -PGID`), that
            // reached it before this child had a group of its own waits
            // here, blocked: the supervisor's to act on (a stop; SIGUSR1/2
            // passed on to the children whose program handles them), not
            // the child's (unblocked below, it would end it: its program
            // has no handler yet). Ignoring a signal discards one pending;
            // then the default, which the exec would make of a handler of
            // the supervisor's anyway (and the loop below of one ignored).
            // ^\ and ^Z, not blocked, are set to their default the same way.
            // Every signal the supervisor handles (SIGHUP kept ignored
            // above; SIGCHLD's default ignores it anyway), so that none
            // added there is missed here.
            let kept = [nix::libc::SIGHUP, nix::libc::SIGCHLD];
            let group_wide = (super::signals::handled_numbers())
                .filter(|number| !kept.contains(number))
                .chain([nix::libc::SIGQUIT, nix::libc::SIGTSTP]);
            for number in group_wide {
                nix::libc::signal(number, nix::libc::SIG_IGN);
                nix::libc::signal(number, nix::libc::SIG_DFL);
            }
            for &number in &ignored {
                nix::libc::signal(number, nix::libc::SIG_DFL);
            }
            // Nothing blocked: the supervisor's signals wait for its
            // signalfd, and what `supervisor_init` blocked for a thread of
            // its own is not the program's (std's `Command` keeps the
            // forking thread's mask, which has both).
            nix::sys::signal::pthread_sigmask(
                nix::sys::signal::SigmaskHow::SIG_SETMASK,
                Some(&nix::sys::signal::SigSet::empty()),
                None,
            )?;
            let target = link::CHILD_FD;
            let result = if theirs_raw == target {
                nix::libc::fcntl(target, nix::libc::F_SETFD, 0)
            } else {
                // dup2 leaves the new fd without close-on-exec.
                nix::libc::dup2(theirs_raw, target)
            };
            if result == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // Nothing but stdio and the channel goes on to the program:
            // not what another thread of the supervisor opened without
            // close-on-exec since it marked what was open (a library
            // `supervisor_init` started, say, whose socket would keep its
            // port). Marked, not closed: exec's own descriptors stay
            // usable up to it. Where `close_range` is refused (before
            // Linux 5.11, or by a seccomp filter), one number at a time,
            // up to well past the highest listed before the fork.
            if close_range_refused || !super::close_on_exec_from(target as nix::libc::c_uint + 1) {
                super::shared_fds::mark_close_on_exec(to_mark.clone());
            }
            // But the supervisor's sockets, files and folders are closed
            // now: an exec that hangs must not hold them (`shared_fds`).
            // (In the forked child, before its exec: it uses none of them,
            // and the parent's stay open; `close_shared`'s promise.)
            super::shared_fds::close_shared(&shared);
            if let Some(gate) = &gate {
                hold_at_the_gate(gate);
            }
            Ok(())
        });
    }
    about_to_fork();
    let child = super::signals::spawning(|| command.spawn())?;
    drop(theirs);
    let pid = child.id();
    // Not reaped until its watcher reaps it (the orphan scan leaves alone
    // what may be a spawn's child): the pid stays ours.
    drop(child);
    Ok(Started {
        id: launch.id,
        pid,
        ours,
        hello,
        fds: launch.fds,
    })
}

/// Whether [`link::CHILD_FD`] is held for good on `/dev/null`.
static RESERVED: AtomicBool = AtomicBool::new(false);

/// `fd`, moved off the number the child's channel takes
/// ([`link::CHILD_FD`]) if it is there (a listener a service manager
/// passed as fd 3, or an older build handed over there), that number then
/// held on `/dev/null` (see [`reserve_channel_fd`]): closed, it would be
/// free for std's exec-error pipe while a spawn is under way. Replaced in
/// one step, never free meanwhile; left as it is if that cannot be done.
///
/// ```ignore
/// let held = off_the_channel_fd(passed_at_3); // now at 4 or above
/// ```
pub(super) fn off_the_channel_fd(fd: OwnedFd) -> OwnedFd {
    if fd.as_raw_fd() != link::CHILD_FD {
        return fd;
    }
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return fd;
    };
    let Ok(moved) = copy_at_least(&fd, link::CHILD_FD + 1) else {
        return fd;
    };
    let mut at_channel_fd = fd;
    match nix::unistd::dup3(&null, &mut at_channel_fd, nix::fcntl::OFlag::O_CLOEXEC) {
        // `/dev/null` now.
        Ok(()) => hold_for_good(at_channel_fd),
        // Still the listener: the copy goes, the original stays.
        Err(_) => return at_channel_fd,
    }
    moved
}

/// Keeps `held`, `/dev/null` at [`link::CHILD_FD`], open for the
/// process's life, the number reserved.
fn hold_for_good(held: OwnedFd) {
    debug_assert_eq!(held.as_raw_fd(), link::CHILD_FD);
    std::mem::forget(held);
    RESERVED.store(true, Ordering::Relaxed);
}

/// Holds the descriptor number the child's channel takes
/// ([`link::CHILD_FD`]) open in the supervisor for good, on `/dev/null`,
/// once it is found free: std's `Command` opens a socket pair to hear of a
/// failed exec, and one at that number would be overwritten by the
/// channel's `dup2` in the child (its spawn returning before the exec,
/// an exec error read as a message of the child's). Held by something
/// else, it is looked at again at the next spawn.
///
/// The supervisor calls it first as it starts (or resumes), before it
/// opens anything: its lock file, which a lost file makes again, would
/// take that number otherwise, and free it then while a spawn may be
/// under way. A listener passed or handed over at that number is moved
/// off it by [`off_the_channel_fd`].
pub(super) fn reserve_channel_fd() {
    if RESERVED.load(Ordering::Relaxed) {
        return;
    }
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return;
    };
    // Opened (close-on-exec) at the lowest number free: there, if it is
    // free; above it, it is taken (a socket-activated listener, the lock
    // file), and nothing more is done; below it (one of stdio closed,
    // which `standard_streams_reopened` should have mended), copied to the
    // lowest from it up.
    let held = match null.as_raw_fd().cmp(&link::CHILD_FD) {
        std::cmp::Ordering::Equal => OwnedFd::from(null),
        std::cmp::Ordering::Greater => return,
        std::cmp::Ordering::Less => match copy_at_least(&null, link::CHILD_FD) {
            Ok(copy) => copy,
            Err(_) => return,
        },
    };
    if held.as_raw_fd() == link::CHILD_FD {
        hold_for_good(held);
    }
}

/// Watches a child [`start`] started, on the loop (its pidfd and channel
/// wait on the runtime): its watcher sends it its listeners, unless it is
/// `doomed` (killed while its spawn was under way: it must not take a
/// connection off the queues it shares); its messages and exit arrive as
/// [`Event`]s.
pub(crate) fn watch_started(
    started: Started,
    doomed: bool,
    events: mpsc::UnboundedSender<Event>,
) -> std::io::Result<ChildHandle> {
    let Started {
        id,
        pid,
        ours,
        hello,
        fds,
    } = started;
    // Without a watcher or its channel nobody would wait for it or speak
    // to it: stop it now. It is nobody's child to the driver, so the
    // orphan scan its SIGCHLD brings reaps it: waiting here would stop the
    // loop for as long as it takes to die (for ever, stuck in the kernel
    // on a hung mount). Watched by pidfd, or by pid when it cannot have
    // one. (One another wait reaped already is not signalled by number:
    // `kill_with_group` kills only what it left in its group.)
    let process = Process::open(pid).inspect_err(|_| kill_with_group(pid))?;
    let channel = SupervisorEnd::new(ours).inspect_err(|_| kill_with_group(pid))?;
    let hello = (!doomed).then_some((hello, fds));
    Ok(watch(id, process, channel, events, hello))
}

/// A child this process had before it re-executed itself, made ready to
/// be watched again: its pidfd open and its channel registered with the
/// runtime, all of [`rewatch`] that can fail.
#[derive(Debug)]
pub(crate) struct Rewatchable {
    process: Process,
    channel: SupervisorEnd,
}

impl Rewatchable {
    /// Registers the child's `channel` and opens the child `pid` (not
    /// reaped: still ours). `channel` is a second descriptor of the one
    /// handed over, which stays open at its number for an image that takes
    /// the state back should this one fail before it serves; or, on an
    /// image's last try, that one itself. Copies are made first, by the
    /// caller: short of descriptors, one has failed already, and the image
    /// goes back, before a failed pidfd could say that the child is
    /// watched by pid.
    ///
    /// A child that something else reaped in between fails with
    /// [`NoLongerOurs`]: its pid is not to be signalled.
    pub(crate) fn new(pid: u32, channel: OwnedFd) -> std::io::Result<Rewatchable> {
        if !super::pidfd::still_ours(pid)? {
            return Err(std::io::Error::other(NoLongerOurs));
        }
        let channel = SupervisorEnd::new(channel)?;
        let process = Process::open(pid)?;
        Ok(Rewatchable { process, channel })
    }
}

/// Why a child cannot be watched (again, if handed over across an upgrade
/// in place; or once its spawn returns): code of the program's reaped it
/// first (before `run`, or a thread `supervisor_init` left: a wait for
/// any child, or SIGCHLD ignored), and its pid may be another process's
/// now.
#[derive(Debug)]
pub(crate) struct NoLongerOurs;

impl std::fmt::Display for NoLongerOurs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "it is no longer this process's child: code of the program's reaped it (before `run`, or a thread `supervisor_init` left: a wait for any child, or SIGCHLD ignored)",
        )
    }
}

impl std::error::Error for NoLongerOurs {}

impl NoLongerOurs {
    /// Whether `e` says so: a pid not to kill.
    pub(crate) fn is(e: &std::io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<NoLongerOurs>())
    }
}

/// Watches a child this process had before it re-executed itself.
pub(crate) fn rewatch(
    id: ChildId,
    child: Rewatchable,
    events: mpsc::UnboundedSender<Event>,
) -> ChildHandle {
    watch(id, child.process, child.channel, events, None)
}

/// Starts the watcher task of a child.
fn watch(
    id: ChildId,
    process: Process,
    channel: SupervisorEnd,
    events: mpsc::UnboundedSender<Event>,
    hello: Option<(Vec<u8>, Vec<Arc<OwnedFd>>)>,
) -> ChildHandle {
    let pid = process.pid;
    let by_pidfd = process.by_pidfd();
    let channel_fd = channel.as_raw_fd();
    let (orders_tx, orders_rx) = mpsc::unbounded_channel();
    let kill_now = Arc::new(tokio::sync::Notify::new());
    let watcher = Watcher {
        id,
        process,
        channel,
        events,
        kill_now: kill_now.clone(),
        lameduck_hangs: matches!(
            crate::test_hook::test_hook::<u8>(TEST_LAMEDUCK_HANGS_VAR),
            Some(1..)
        ),
    };
    tokio::spawn(watcher.watch(hello, orders_rx));
    ChildHandle {
        pid,
        by_pidfd,
        channel_fd,
        orders: orders_tx,
        kill_now,
    }
}

/// How long after a failed wait for a child to wait again, and how many
/// times to before giving it up as failed.
const WAIT_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
const WAITS_TRIED: u32 = 10;

/// Child `id` (pid `pid`), reaped by another wait than ours (code of the
/// program's that waits for any child, or ignores SIGCHLD): ended unseen
/// (how is not known, so counted as a failure), its pid not signalled (it
/// may be a stranger's now), and what it left in its group killed; the
/// events that say so, the orphan scan's among them (what it left is ours
/// to reap).
pub(crate) fn ended_unseen(id: ChildId, pid: u32) -> [Event; 2] {
    super::pidfd::kill_left_by_reaped(pid);
    ended_failed(id)
}

/// Child `id` ended, how not known, so counted as a failure; and the
/// orphan scan, for what it left (ours to reap, its watcher gone).
fn ended_failed(id: ChildId) -> [Event; 2] {
    [
        Event::Exited {
            id,
            exit: ChildExit::Code(1),
        },
        Event::Signal(super::machine::Signal::Chld),
    ]
}

/// How long a child whose end of the channel closed before it said hello
/// is given to exit by itself (and say why) before it is killed.
const CLOSED_CHANNEL_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// More than a child says in its life (a hello, an error, ready, a
/// finish): what is queued when it exits fits.
const QUEUED_AT_EXIT: usize = 64;

struct Watcher {
    id: ChildId,
    process: Process,
    channel: SupervisorEnd,
    events: mpsc::UnboundedSender<Event>,
    kill_now: Arc<tokio::sync::Notify>,
    /// See [`TEST_LAMEDUCK_HANGS_VAR`].
    lameduck_hangs: bool,
}

impl Watcher {
    /// Kills the child, and what it started in its group.
    fn kill(&self) {
        self.process.kill_with_group();
    }

    /// Sends `message` to the child, unless a kill comes first, or its end
    /// (`Err(None)`): a child that does not read its channel (stopped,
    /// stuck, dead with its end held) would otherwise hold its kill, or
    /// the watch for its exit, off behind the send, for good.
    async fn send(
        &self,
        message: ToChild,
        fds: &[std::os::fd::BorrowedFd<'_>],
    ) -> Result<(), Option<std::io::Error>> {
        let hangs = self.lameduck_hangs && matches!(message, ToChild::Lameduck { .. });
        self.send_encoded(&link::encode(message), fds, hangs).await
    }

    /// [`send`](Watcher::send) of a message encoded already; `hangs`: the
    /// test hook's send that never ends.
    async fn send_encoded(
        &self,
        data: &[u8],
        fds: &[std::os::fd::BorrowedFd<'_>],
        hangs: bool,
    ) -> Result<(), Option<std::io::Error>> {
        let send = async {
            if hangs {
                // Said for a test to act while the send waits.
                log!(
                    "test hook: the send to child pid {} hangs",
                    self.process.pid
                );
                std::future::pending::<()>().await;
            }
            self.channel.send(data, fds).await
        };
        tokio::select! {
            sent = send => sent.map_err(Some),
            () = self.kill_now.notified() => {
                self.kill();
                Err(None)
            }
            // Ended while the send waited for room (a child that stopped
            // reading, whose end a process it started still holds): its
            // exit is the watcher's to see now, not at a deadline.
            () = self.process.ended() => Err(None),
        }
    }

    /// Passes on the messages already queued on the channel, without
    /// waiting for more (a process the child started may hold its end),
    /// and at most [`QUEUED_AT_EXIT`] of them: such a process could send
    /// for ever.
    fn pass_on_queued(&self, bad_messages: &mut crate::repeated::Repeated) {
        let (id, pid) = (self.id, self.process.pid);
        for _ in 0..QUEUED_AT_EXIT {
            match self.channel.recv_queued() {
                Ok(Some(message)) => {
                    let _ = self.events.send(Event::Message { id, message });
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    bad_messages.say(|more| log!("child pid {pid} sent a bad message: {e}{more}"));
                }
                // Memory short for a moment: tried again, within the
                // count (not waited for: this runs on the loop).
                Err(e) if crate::link::short_of_memory(&e) => {}
                Ok(None) | Err(_) => return,
            }
        }
    }

    async fn watch(
        self,
        hello: Option<(Vec<u8>, Vec<Arc<OwnedFd>>)>,
        mut orders: mpsc::UnboundedReceiver<Order>,
    ) {
        let (id, pid) = (self.id, self.process.pid);
        // When to kill a child whose end of the channel closed before it
        // said anything, if it is still running then; and whether its end
        // closing would be that: not once it has said something, nor
        // once killed by order (its end closes as it dies), nor for one
        // sent no hello here (watched again after an upgrade in place,
        // or doomed).
        let mut closed_kill_at = None;
        let mut silent = hello.is_some();
        let mut bad_messages = crate::repeated::Repeated::new();
        let mut short_of_memory = crate::repeated::Repeated::new();
        if let Some((hello, fds)) = hello {
            let borrowed: Vec<_> = fds.iter().map(|fd| fd.as_fd()).collect();
            // Killed meanwhile, on purpose, or ended: nothing to say.
            match self.send_encoded(&hello, &borrowed, false).await {
                // Its end closed: the child died at once, or its code
                // before `run` closed its channel, which it finds and says
                // as it exits (killed now, it could not): a moment for
                // that, then ended (it can be told nothing, a stop's
                // lameduck included).
                Err(Some(e)) if link::other_end_closed(&e) => {
                    closed_kill_at = Some(tokio::time::Instant::now() + CLOSED_CHANNEL_GRACE);
                }
                // Else it waits for a hello that will never come: ended.
                Err(Some(e)) => {
                    log!("cannot send listeners to child pid {pid}: {e}");
                    // Killed by us: its end closing as it dies is no
                    // closing by its code before `run` (as for a kill by
                    // order).
                    silent = false;
                    self.kill();
                }
                Ok(()) | Err(None) => {}
            }
        }
        // A test's wait, before the child's first message is read, for the
        // child to exit (at most this long), so that what it said and its
        // exit come in one poll.
        if let Some(ms) = crate::test_hook::test_hook::<u64>(TEST_WATCH_PAUSE_VAR) {
            let until = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
            let peek = nix::sys::wait::WaitPidFlag::WEXITED
                | nix::sys::wait::WaitPidFlag::WNOHANG
                | nix::sys::wait::WaitPidFlag::WNOWAIT;
            let child = nix::unistd::Pid::from_raw(pid as i32);
            let exited = || {
                nix::sys::wait::waitid(nix::sys::wait::Id::Pid(child), peek)
                    .is_ok_and(|s| s != nix::sys::wait::WaitStatus::StillAlive)
            };
            while !exited() && tokio::time::Instant::now() < until {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        let mut channel_open = true;
        let mut orders_open = true;
        let unsettled = matches!(
            crate::test_hook::test_hook::<u8>(TEST_UNSETTLED_VAR),
            Some(1..)
        );
        let mut held_unanswered = Vec::new();
        // After a failed wait: when to try again (not spun on), and how
        // many have failed.
        let mut wait_again_at = None;
        let mut waits_failed = 0;
        loop {
            let wait = async {
                if let Some(at) = wait_again_at {
                    tokio::time::sleep_until(at).await;
                }
                self.process.wait().await
            };
            tokio::select! {
                // The end first, then orders: an order to kill a child
                // reaped behind our back would signal its pid by number,
                // and a channel that never runs dry (what the child
                // started may hold it) must not keep a kill waiting.
                biased;
                exit = wait => {
                    // Reaped (or given up on, below): `ended` from now on,
                    // so that nothing asks about its pid, another
                    // process's maybe (what is buffered is still read).
                    let ended = match exit {
                        Ok(exit) => vec![Event::Exited { id, exit }],
                        Err(e) if e.raw_os_error() == Some(nix::libc::ECHILD) => {
                            log!(
                                "child pid {pid} ended unseen: another wait of the program's reaped it (a wait for any child, or SIGCHLD ignored)"
                            );
                            ended_unseen(id, pid).into()
                        }
                        // Still ours, maybe still running: killed (by pidfd,
                        // or by its pid, which nothing else reaped), once,
                        // and waited for again, a few times.
                        Err(e) if waits_failed < WAITS_TRIED => {
                            if waits_failed == 0 {
                                log!("waiting for child pid {pid} failed: {e}; killing it");
                                self.kill();
                            }
                            waits_failed += 1;
                            wait_again_at = Some(tokio::time::Instant::now() + WAIT_AGAIN_AFTER);
                            continue;
                        }
                        // Counted as a failed child, killed: the orphan scan
                        // reaps it, no longer the watcher's.
                        Err(e) => {
                            log!("waiting for child pid {pid} failed again: {e}; no longer watched, counted as failed");
                            self.kill();
                            ended_failed(id).into()
                        }
                    };
                    orders.close();
                    // What the child sent before it exited comes first (the
                    // machine reads a Ready, a Hello or an Error as said
                    // before the end): this poll may have found both ready.
                    if channel_open {
                        self.pass_on_queued(&mut bad_messages);
                    }
                    // No more will come: those left unsaid are counted.
                    if let Some(n) = bad_messages.take_unsaid() {
                        log!("child pid {pid} sent {n} more bad message(s) before it exited, not said one by one");
                    }
                    // Connections handed over as it exited, unread: closed
                    // with the orders, and said so.
                    while let Ok(order) = orders.try_recv() {
                        if let Order::Queued { fds, .. } = order {
                            log!("child pid {pid} exited before it took the {} connection(s) handed to it; they are closed", fds.len());
                        }
                    }
                    // Sent in the same poll as the reap: an exit is either
                    // not reaped yet or already queued for the driver.
                    for event in ended {
                        let _ = self.events.send(event);
                    }
                    return;
                }
                () = async { tokio::time::sleep_until(closed_kill_at.unwrap_or_else(tokio::time::Instant::now)).await }, if closed_kill_at.is_some() => {
                    closed_kill_at = None;
                    let grace = CLOSED_CHANNEL_GRACE.as_secs();
                    log!("child pid {pid} closed its end of the channel before its hello, and still runs {grace}s later; killing it");
                    // Its start's failure says why, as the child would have
                    // (its words cannot come now).
                    let message = crate::link::FromChild::failed_start(format_args!("it closed its end of the channel before its hello and still ran {grace}s later (closed by the program's code before `run`?)"));
                    let _ = self.events.send(Event::Message { id, message });
                    self.kill();
                }
                order = orders.recv(), if orders_open => match order {
                    Some(Order::Lameduck { refuse }) if channel_open => {
                        // A failure other than the child's end gone (which
                        // its exit tells) leaves it serving: said, as its
                        // kill at the lameduck timeout will come unexplained.
                        if let Err(Some(e)) = self.send(ToChild::Lameduck { refuse }, &[]).await
                            && !matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset)
                        {
                            log!("cannot tell child pid {pid} to wind down or refuse connections ({e}); it is killed at its lameduck timeout at the latest");
                        }
                    }
                    Some(Order::Lameduck { .. }) => {}
                    Some(Order::Queued { listener, inode, fds }) if channel_open => {
                        use std::os::fd::AsFd;
                        // As many a message as one carries.
                        let mut handed = 0;
                        for batch in fds.chunks(crate::fdpass::MAX_FDS) {
                            let borrowed: Vec<_> = batch.iter().map(|fd| fd.as_fd()).collect();
                            let queued = ToChild::Queued { listener: listener.clone(), inode };
                            if self.send(queued, &borrowed).await.is_err() {
                                // The rest are closed with the order: said.
                                let left = fds.len() - handed;
                                log!("child pid {pid} took {handed} of the {} connections handed to it; the other {left} are closed", fds.len());
                                break;
                            }
                            handed += batch.len();
                        }
                    }
                    Some(Order::Queued { fds, .. }) => {
                        log!("child pid {pid}'s channel is closed: the {} connection(s) handed to it are closed", fds.len());
                    }
                    Some(Order::Alone) if channel_open => {
                        if self.send(ToChild::Alone, &[]).await.is_ok() {
                            log!("told child pid {pid}, starting, that it is alone now: should the supervisor die before it is ready, it takes the listeners' queue");
                        }
                    }
                    Some(Order::Alone) => {}
                    Some(Order::Kill) => {
                        (closed_kill_at, silent) = (None, false);
                        self.kill();
                    }
                    Some(Order::Signal(signal)) => { let _ = self.process.signal(signal); }
                    Some(Order::Settle(done)) if unsettled => held_unanswered.push(done),
                    Some(Order::Settle(done)) => { let _ = done.send(()); }
                    None => orders_open = false,
                },
                message = self.channel.recv(), if channel_open => match message {
                    Ok(Some(message)) => {
                        silent = false;
                        let _ = self.events.send(Event::Message { id, message });
                    }
                    // Closed before its hello (the hello sent to it unread),
                    // as when the hello could not be sent: unless it is
                    // exiting, it can be told nothing.
                    Ok(None) => {
                        channel_open = false;
                        if silent && closed_kill_at.is_none() {
                            closed_kill_at = Some(tokio::time::Instant::now() + CLOSED_CHANNEL_GRACE);
                        }
                    }
                    // Said once in a while: a child (or what holds a copy
                    // of its end) may send them in a loop.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        bad_messages.say(|more| log!("child pid {pid} sent a bad message: {e}{more}"));
                    }
                    // The kernel short of memory for a moment: the
                    // channel is still there, read again shortly (said
                    // once in a while, should it last).
                    Err(e) if crate::link::short_of_memory(&e) => {
                        short_of_memory.say(|more| log!("cannot read child pid {pid}'s channel for now: {e}; trying again every 10 ms{more}"));
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    // Said: what the child says from now on (its ready,
                    // its end) is not heard, and its deadlines decide.
                    Err(e) => {
                        log!("cannot read child pid {pid}'s channel: {e}; it is no longer read");
                        channel_open = false;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{ChildEnd, FromChild};
    use nix::sys::wait::{Id, WaitPidFlag, waitid};

    #[test]
    fn a_number_no_child_has_is_never_signalled() {
        // Signalled, these would reach the supervisor's own group (0),
        // init (1), or every process (-1 and other negatives).
        for pid in [0, 1, u32::MAX, i32::MAX as u32 + 1] {
            assert_eq!(child_pid(pid), None, "{pid}");
        }
        assert_eq!(child_pid(1234), Some(nix::unistd::Pid::from_raw(1234)));
    }

    #[test]
    fn a_binfmt_entry_is_matched_by_its_magic_under_its_mask() {
        // qemu-user-static's arm64 entry, as its file reads.
        let qemu = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";
        assert_eq!(
            interpreter_of(qemu.as_bytes()).as_deref(),
            Some(std::path::Path::new("/usr/bin/qemu-aarch64-static"))
        );
        // A path that is no UTF-8, byte for byte.
        use std::os::unix::ffi::OsStrExt;
        let odd = interpreter_of(b"enabled\ninterpreter /opt/caf\xe9/qemu \nflags: F\n").unwrap();
        assert_eq!(odd.as_os_str().as_bytes(), b"/opt/caf\xe9/qemu");
        let head = |kind: u8, machine: u8| {
            let mut head = vec![0u8; 64];
            head[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
            head[16] = kind;
            head[18] = machine;
            head
        };
        assert!(binfmt_matches(qemu, &head(3, 183)), "an arm64 PIE");
        assert!(binfmt_matches(qemu, &head(2, 183)));
        assert!(!binfmt_matches(qemu, &head(1, 183)), "an object file");
        assert!(!binfmt_matches(qemu, &head(3, 62)), "x86-64");
        let disabled = qemu.replacen("enabled", "disabled", 1);
        assert!(!binfmt_matches(&disabled, &head(3, 183)));
        // qemu's and Rosetta's x86-64 entry, whose magic has bits its mask
        // clears (byte 5: 01 under fe).
        let x86_64 = "enabled\ninterpreter /usr/bin/qemu-x86_64-static\nflags: OCF\noffset 0\nmagic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n";
        assert!(binfmt_matches(x86_64, &head(3, 62)), "an x86-64 PIE");
        assert!(!binfmt_matches(x86_64, &head(3, 183)));
        // By extension (Python's): no magic.
        let python = "enabled\ninterpreter /usr/bin/python3\nflags: \nextension .py\n";
        assert!(!binfmt_matches(python, &head(3, 183)));
    }

    #[test]
    fn an_elf_file_cut_within_its_program_headers_is_told() {
        // This very binary: its table fits.
        let ours = std::fs::read("/proc/self/exe").unwrap();
        assert!(program_headers_fit(
            &ours[..ELF64_HEADER],
            ours.len() as u64
        ));
        // A 64-bit little-endian header, 9 entries of 56 bytes at 64: the
        // table ends at 568.
        let mut head = vec![0u8; ELF64_HEADER];
        head[..6].copy_from_slice(b"\x7fELF\x02\x01");
        head[32..40].copy_from_slice(&64u64.to_le_bytes());
        head[54..56].copy_from_slice(&56u16.to_le_bytes());
        head[56..58].copy_from_slice(&9u16.to_le_bytes());
        assert!(program_headers_fit(&head, 568));
        assert!(!program_headers_fit(&head, 567));
        assert!(!program_headers_fit(&head, 100));
        // No entry, entries of another size, or more than the kernel
        // reads (extended numbering's 0xffff): no program either.
        let with = |at: usize, value: u16| {
            let mut changed = head.clone();
            changed[at..at + 2].copy_from_slice(&value.to_le_bytes());
            changed
        };
        assert!(!program_headers_fit(&with(56, 0), 1 << 30));
        assert!(!program_headers_fit(&with(54, 57), 1 << 30));
        assert!(!program_headers_fit(&with(56, 0xffff), 1 << 30));
        // A big-endian 32-bit header, read in its order.
        let mut be = vec![0u8; ELF32_HEADER];
        be[..6].copy_from_slice(b"\x7fELF\x01\x02");
        be[28..32].copy_from_slice(&52u32.to_be_bytes());
        be[42..44].copy_from_slice(&32u16.to_be_bytes());
        be[44..46].copy_from_slice(&2u16.to_be_bytes());
        assert!(program_headers_fit(&be, 116));
        assert!(!program_headers_fit(&be, 115));
        // A size short of what was read: cut since (the byte is gone), or
        // a file system that tells none (the byte is there).
        assert!(cut_short(&head, 0, || Some(0)));
        assert!(!cut_short(&head, 0, || Some(1)));
        assert!(!cut_short(&head, 0, || None));
        assert!(cut_short(&head, 567, || unreachable!()));
        assert!(!cut_short(&head, 568, || unreachable!()));
    }

    #[test]
    fn an_elf_file_this_machine_cannot_run_is_told_apart() {
        // x86-64, little-endian, a PIE.
        let header = |class: u8, order: u8, kind: u16, machine: u16| {
            let mut head = vec![0u8; 64];
            head[..4].copy_from_slice(b"\x7fELF");
            head[4] = class;
            head[5] = order;
            let kind = if order == 2 {
                kind.to_be_bytes()
            } else {
                kind.to_le_bytes()
            };
            head[16..18].copy_from_slice(&kind);
            head[18..20].copy_from_slice(&machine.to_le_bytes());
            head
        };
        let ours = header(2, 1, 3, 62);
        let other = Some(Foreign::OtherMachine);
        let none = Some(Foreign::NoProgram);
        assert_eq!(foreign_elf(&ours, &ours), None);
        assert_eq!(foreign_elf(&header(2, 1, 2, 62), &ours), None, "not a PIE");
        assert_eq!(foreign_elf(&header(2, 1, 3, 183), &ours), other, "arm64");
        assert_eq!(
            foreign_elf(&header(2, 1, 1, 62), &ours),
            none,
            "an object file"
        );
        assert_eq!(
            foreign_elf(&header(2, 1, 4, 62), &ours),
            none,
            "a core dump"
        );
        assert_eq!(
            foreign_elf(&header(2, 2, 3, 62), &ours),
            other,
            "big-endian"
        );
        // Our own header unread: no program is told all the same, the
        // machine left to the kernel.
        assert_eq!(foreign_elf(&header(2, 1, 1, 62), &[]), none);
        assert_eq!(foreign_elf(&header(2, 1, 3, 183), &[]), None);
        // A 32-bit one: the kernel judges (its 32-bit support may be on).
        assert_eq!(foreign_elf(&header(1, 1, 2, 3), &ours), None);
        // i386 and x32 run on one kernel alike.
        assert_eq!(foreign_elf(&header(1, 1, 2, 3), &header(1, 1, 3, 62)), None);
        assert_eq!(
            foreign_elf(&header(1, 1, 2, 40), &header(1, 1, 3, 62)),
            other
        );
    }

    /// A spawn of `/bin/PROGRAM ARGS` that writes its pid to `to`.
    fn saying_its_pid(program: &str, args: &[&str], to: OwnedFd) -> Spawn {
        Spawn {
            id: 1,
            path: format!("/bin/{program}").into(),
            argv0: program.into(),
            args: args.iter().map(Into::into).collect(),
            name: "svc".into(),
            entries: vec![],
            fds: vec![],
            refuse_when_orphaned: true,
            beside_serving: true,
            pid_to: Some(to),
        }
    }

    #[test]
    fn a_spawns_forked_process_says_its_pid_and_is_killed_by_it_only_if_still_ours() {
        // Ours is told only where `/proc` numbers processes as we do.
        if !crate::proc_pid::numbers_ours() {
            eprintln!("skipped: /proc numbers processes otherwise here");
            return;
        }
        let (from, to) = super::pid_pipe().expect("a pipe");
        let before = super::super::orphans::ticks_now().unwrap();
        let started = start(saying_its_pid("sleep", &["60"], to), || {}).unwrap();
        let pid = started.pid as i32;
        assert_eq!(super::forked_pid(&from), super::Forked::Pid(pid));
        // Said once. (Over once every write end is closed: the child's at
        // its exec, the parent's with the spawn, but a process another
        // test forks meanwhile holds one until its own exec.)
        assert_ne!(super::forked_pid(&from), super::Forked::Pid(pid));
        // Not one started before the fork it is asked for (a pid taken
        // since by another process), nor another's child.
        assert!(!super::kill_forked(pid, before + 1_000_000));
        assert!(!super::kill_forked(1, before));
        assert!(super::kill_forked(pid, before));
        let reaped = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
        assert_eq!(
            reaped,
            nix::sys::wait::WaitStatus::Signaled(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
                false
            )
        );
    }

    #[test]
    fn a_spawns_forked_process_is_killed_with_what_it_started() {
        if !crate::proc_pid::numbers_ours() {
            eprintln!("skipped: /proc numbers processes otherwise here");
            return;
        }
        let (_from, to) = super::pid_pipe().expect("a pipe");
        let before = super::super::orphans::ticks_now().unwrap();
        // Its exec returned, and it started a worker in its group, whose
        // pid it writes down.
        let said = std::env::temp_dir().join(format!("lb-forked-worker-{}", std::process::id()));
        let _ = std::fs::remove_file(&said);
        let script = format!("sleep 60 & echo $! > '{}'; wait", said.display());
        let pid = start(saying_its_pid("sh", &["-c", &script], to), || {})
            .unwrap()
            .pid;
        let group = nix::unistd::Pid::from_raw(pid as i32);
        // Should a check fail: nothing of it left running (its number
        // is still its own until reaped).
        let written = said.clone();
        let cleanup = scopeguard(move || {
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(group, None);
            let _ = std::fs::remove_file(written);
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let worker: u32 = loop {
            let written = std::fs::read_to_string(&said).unwrap_or_default();
            if written.ends_with('\n') {
                break written.trim().parse().unwrap();
            }
            assert!(std::time::Instant::now() < deadline, "no worker");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert!(super::kill_forked(pid as i32, before));
        let _ = nix::sys::wait::waitpid(group, None);
        // Gone, or a zombie (or dead) until its new parent reaps it.
        loop {
            let stat = std::fs::read(format!("/proc/{worker}/stat")).ok();
            let state = (stat.as_deref())
                .and_then(|s| crate::proc_pid::after_name(s)?.next().map(str::to_owned));
            if state.as_deref().is_none_or(|s| s == "Z" || s == "X") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the worker ({worker}) lives on: {state:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Its group gone: not signalled again (its number may be taken).
        std::mem::forget(cleanup);
        let _ = std::fs::remove_file(&said);
    }

    /// Runs `f` when dropped.
    fn scopeguard(f: impl FnOnce()) -> impl Drop {
        struct Guard<F: FnOnce()>(Option<F>);
        impl<F: FnOnce()> Drop for Guard<F> {
            fn drop(&mut self) {
                if let Some(f) = self.0.take() {
                    f();
                }
            }
        }
        Guard(Some(f))
    }

    #[test]
    fn listeners_too_long_to_describe_to_a_child_are_refused_before_it_starts() {
        let entry = |n: usize| link::ListenerEntry {
            name: format!("listener_{n}_{}", "x".repeat(300)),
            network: crate::spec::Network::Tcp,
            bound: false,
            file: None,
            managers: false,
            served_beside: false,
        };
        let launch = |listeners: usize| Spawn {
            id: 1,
            path: "/bin/true".into(),
            argv0: "true".into(),
            args: vec![],
            name: "svc".into(),
            entries: (0..listeners).map(entry).collect(),
            fds: vec![],
            refuse_when_orphaned: true,
            beside_serving: true,
            pid_to: None,
        };
        // Never forked: the about-to-fork hook would say.
        let error = start(launch(253), || panic!("forked")).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        let said = error.to_string();
        assert!(
            said.starts_with("describing its listeners (253) takes ")
                && said.contains("more than the 64 KiB a child reads at its start"),
            "{said}"
        );
        // As many as fit start as ever.
        let started = start(launch(100), || {}).unwrap();
        let _ = waitid(
            Id::Pid(nix::unistd::Pid::from_raw(started.pid as i32)),
            WaitPidFlag::WEXITED,
        );
    }

    #[test]
    fn a_child_killed_with_its_group_takes_its_forked_worker() {
        use std::io::BufRead;
        // A shell in a group of its own, with a worker in the group.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(shell.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let worker = nix::unistd::Pid::from_raw(line.trim().parse().unwrap());
        kill_with_group(shell.id());
        let status = shell.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        // Dead: gone, or a zombie (whoever adopted it may not reap, as a
        // container's first process need not).
        let dead = || {
            std::fs::read_to_string(format!("/proc/{worker}/stat")).map_or(true, |stat| {
                let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
                matches!(state, Some(Some('Z' | 'X')))
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !dead() {
            assert!(std::time::Instant::now() < deadline, "the worker lives on");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// A process killed and reaped when dropped, should a check fail
    /// before it ends.
    struct KilledOnDrop(std::process::Child);

    impl Drop for KilledOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A child another wait reaped (code of the program's that waits for
    /// any child): its end still comes, counted as a failure, with the
    /// orphan scan that reaps what it left; and its worker is killed, not
    /// left serving beside the next child.
    #[tokio::test]
    async fn a_child_reaped_by_another_wait_ends_and_takes_its_worker() {
        let sleep = || {
            let mut sleep = std::process::Command::new("sleep");
            sleep.arg("300");
            sleep
        };
        #[allow(clippy::zombie_processes)]
        let pid = sleep().process_group(0).spawn().unwrap().id();
        // In the child's group, and ours as what a child leaves is the
        // supervisor's (its subreaper).
        let mut worker = KilledOnDrop(sleep().process_group(pid as i32).spawn().unwrap());
        let process = Process::open(pid).unwrap();
        let child = nix::unistd::Pid::from_raw(pid as i32);
        nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL).unwrap();
        waitid(Id::Pid(child), WaitPidFlag::WEXITED).unwrap();
        let (ours, _theirs) = fdpass::socketpair().unwrap();
        let (events, mut received) = mpsc::unbounded_channel();
        let channel = SupervisorEnd::new(ours).unwrap();
        let _handle = watch(0, process, channel, events, None);
        let within = std::time::Duration::from_secs(10);
        let mut next = async || {
            tokio::time::timeout(within, received.recv())
                .await
                .unwrap()
                .unwrap()
        };
        let first = next().await;
        assert!(
            matches!(
                first,
                Event::Exited {
                    id: 0,
                    exit: ChildExit::Code(1)
                }
            ),
            "{first:?}"
        );
        let second = next().await;
        assert!(
            matches!(
                second,
                Event::Signal(crate::supervisor::machine::Signal::Chld)
            ),
            "{second:?}"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = worker.0.try_wait().unwrap() {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "the worker lives on");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }

    /// A child that says Ready and exits at once: by the time the watcher
    /// looks, both are there, and the machine must see the Ready first
    /// (or it counts a failed start). Each round is a coin toss without
    /// the ordering, so twenty would all but surely catch its absence.
    #[tokio::test]
    async fn what_a_child_sent_before_it_exited_comes_before_its_exit() {
        for round in 0..20 {
            let (ours, theirs) = fdpass::socketpair().unwrap();
            // Reaped by the watcher, through its pidfd, not by `Child`.
            #[allow(clippy::zombie_processes)]
            let pid = Command::new("true").spawn().unwrap().id();
            let process = Process::open(pid).unwrap();
            let child_end = ChildEnd::new(theirs);
            child_end.send(FromChild::Ready).unwrap();
            drop(child_end);
            // Exited, not yet reaped: the watcher will reap it.
            let exited = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
            waitid(Id::Pid(nix::unistd::Pid::from_raw(pid as i32)), exited).unwrap();
            let (events, mut received) = mpsc::unbounded_channel();
            let channel = SupervisorEnd::new(ours).unwrap();
            let _handle = watch(round, process, channel, events, None);
            let first = received.recv().await.unwrap();
            assert!(
                matches!(
                    first,
                    Event::Message {
                        message: FromChild::Ready,
                        ..
                    }
                ),
                "round {round}: {first:?}"
            );
            let second = received.recv().await.unwrap();
            assert!(
                matches!(second, Event::Exited { .. }),
                "round {round}: {second:?}"
            );
        }
    }

    /// A child that sends its error and exits without reading its hello:
    /// the kernel reports the reset before the error, which must still
    /// come through (a reload fails naming the mistakes, not "exited with
    /// code 2").
    #[tokio::test]
    async fn an_error_sent_by_a_child_that_never_read_its_hello_comes_through() {
        let (ours, theirs) = fdpass::socketpair().unwrap();
        #[allow(clippy::zombie_processes)]
        let pid = Command::new("true").spawn().unwrap().id();
        let process = Process::open(pid).unwrap();
        let channel = SupervisorEnd::new(ours).unwrap();
        // Stands for the hello: a message the child never reads.
        let unread = ToChild::Lameduck { refuse: false };
        channel.send(&link::encode(unread), &[]).await.unwrap();
        let child_end = ChildEnd::new(theirs);
        child_end.send(FromChild::error("mistakes")).unwrap();
        drop(child_end);
        let exited = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
        waitid(Id::Pid(nix::unistd::Pid::from_raw(pid as i32)), exited).unwrap();
        let (events, mut received) = mpsc::unbounded_channel();
        let _handle = watch(0, process, channel, events, None);
        let first = received.recv().await.unwrap();
        assert!(
            matches!(&first, Event::Message { message: FromChild::Error { error }, .. } if error == "mistakes"),
            "{first:?}"
        );
        let second = received.recv().await.unwrap();
        assert!(matches!(second, Event::Exited { .. }), "{second:?}");
    }
}
