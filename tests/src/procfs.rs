//! What a process costs, read from `/proc`: memory, fds, threads, CPU
//! time, and its children. Used by the tests and by the benchmark.

use std::fs;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Footprint {
    /// Resident set, KiB (includes file pages shared with other processes).
    pub rss_kib: u64,
    /// The highest resident set since the process started or since
    /// [`reset_peak`], KiB.
    pub peak_rss_kib: u64,
    /// Proportional set, KiB (shared pages divided among their users).
    pub pss_kib: u64,
    /// Pages no other process maps, KiB (`Private_Clean` + `Private_Dirty`).
    pub private_kib: u64,
    /// The written part of those (`Private_Dirty`), KiB: heap, stacks,
    /// relocated data; the rest is file pages only this process maps.
    pub private_dirty_kib: u64,
    pub fds: usize,
    pub threads: u64,
    /// User + system CPU time, milliseconds.
    pub cpu_ms: u64,
    /// Live children (not zombies).
    pub children: usize,
    /// Children that exited and were not reaped.
    pub zombies: usize,
}

/// Reads `pid`'s footprint; `None` if it is gone.
pub fn footprint(pid: u32) -> Option<Footprint> {
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let (children, zombies) = children(pid);
    Some(Footprint {
        rss_kib: field(&rollup, "Rss:"),
        peak_rss_kib: field(&status, "VmHWM:"),
        pss_kib: field(&rollup, "Pss:"),
        private_kib: field(&rollup, "Private_Clean:") + field(&rollup, "Private_Dirty:"),
        private_dirty_kib: field(&rollup, "Private_Dirty:"),
        fds: fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
        threads: field(&status, "Threads:"),
        cpu_ms: cpu_ms(pid)?,
        children,
        zombies,
    })
}

/// Starts `pid`'s peak resident set afresh from its current one, so the
/// next [`footprint`] tells the peak since now. Fails without the right to
/// write the process's `clear_refs` (another user's process).
pub fn reset_peak(pid: u32) -> std::io::Result<()> {
    // "5" resets the peak RSS; it leaves the pages' referenced bits alone.
    fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// How many times `pid`'s threads have been switched out, voluntarily or
/// not, summed; `None` if it is gone. A process that has not run since the
/// last reading shows the same number, so it tells whether anything woke
/// it, which a CPU time counted in 10 ms ticks cannot.
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue; // a thread that just ended
        };
        for line in status.lines() {
            if let Some(rest) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += rest.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Some(total)
}

/// How many times `pid`'s main thread has gone to sleep of itself
/// (`voluntary_ctxt_switches`); `None` if it is gone. A supervisor's loop
/// runs there: each wake of it (a timer, an event) ends in one, and no
/// other thread's (its log writer's) count.
pub fn main_thread_sleeps(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/task/{pid}/status")).ok()?;
    (status.lines())
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|count| count.trim().parse().ok())
}

/// One thread's signal sets, as bit sets: signal N is bit N - 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalMasks {
    /// The thread's id.
    pub tid: u32,
    /// Blocked by this thread (`SigBlk`).
    pub blocked: u64,
    /// With a handler in the process (`SigCgt`).
    pub caught: u64,
    /// Ignored by the process (`SigIgn`).
    pub ignored: u64,
}

/// The threads of `pid` that do not block any of the signals in `mask`
/// (bit `n - 1` for signal `n`), by id.
///
/// ```no_run
/// let term = 1 << (nix::libc::SIGTERM - 1);
/// let open = tests::procfs::threads_not_blocking(std::process::id(), term);
/// assert!(!open.is_empty());
/// ```
pub fn threads_not_blocking(pid: u32, mask: u64) -> Vec<u32> {
    thread_signal_masks(pid)
        .iter()
        .filter(|masks| masks.blocked & mask == 0)
        .map(|masks| masks.tid)
        .collect()
}

/// The signals pending for process `pid` as a whole (`thread: None`), or
/// for one of its threads alone, as a mask (bit `n - 1` for signal `n`).
/// `None` if it is gone.
///
/// ```no_run
/// let me = std::process::id();
/// assert_eq!(tests::procfs::pending(me, None), Some(0));
/// ```
pub fn pending(pid: u32, thread: Option<u32>) -> Option<u64> {
    let (path, field) = match thread {
        None => (format!("/proc/{pid}/status"), "ShdPnd:"),
        Some(tid) => (format!("/proc/{pid}/task/{tid}/status"), "SigPnd:"),
    };
    let status = fs::read_to_string(path).ok()?;
    let mask = status.lines().find_map(|l| l.strip_prefix(field))?;
    u64::from_str_radix(mask.trim(), 16).ok()
}

/// Each thread of `pid`'s [`SignalMasks`]. Empty if it is gone.
///
/// ```no_run
/// let threads = tests::procfs::thread_signal_masks(std::process::id());
/// let term = 1 << (nix::libc::SIGTERM - 1);
/// assert!(threads.iter().all(|masks| masks.blocked & term == 0));
/// ```
pub fn thread_signal_masks(pid: u32) -> Vec<SignalMasks> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut masks = Vec::new();
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue; // a thread that just ended
        };
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name))?;
            u64::from_str_radix(line[name.len()..].trim(), 16).ok()
        };
        if let (Some(blocked), Some(caught), Some(ignored)) =
            (field("SigBlk:"), field("SigCgt:"), field("SigIgn:"))
        {
            masks.push(SignalMasks {
                tid,
                blocked,
                caught,
                ignored,
            });
        }
    }
    masks
}

/// User + system CPU time of `pid`, in milliseconds.
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks * 10)
}

/// When `pid` started, in clock ticks since boot (`starttime`, the 22nd
/// field of its `stat`): with its pid, what tells it from a later process
/// given the same pid. `None` if it is gone.
///
/// ```
/// assert!(tests::procfs::started(std::process::id()).is_some());
/// ```
pub fn started(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // From the 3rd field on, after the command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `pid`'s state letter (`R`, `S`, `T` for stopped, `Z`…); `None` if it
/// is gone.
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Whether every thread of `pid` is stopped (by SIGSTOP: `T`), as it is
/// some moment after `kill` returns; false if it is gone.
///
/// ```
/// assert!(!tests::procfs::stopped(std::process::id()));
/// ```
pub fn stopped(pid: u32) -> bool {
    let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.flatten().all(|thread| {
        let stat = fs::read_to_string(thread.path().join("stat")).unwrap_or_default();
        // A thread that ended meanwhile is no longer listed, or reads so.
        let state = stat.rfind(')').and_then(|at| stat[at + 2..].chars().next());
        matches!(state, Some('T') | None)
    })
}

/// (live, zombie) children of `pid`, by scanning `/proc`.
pub fn children(pid: u32) -> (usize, usize) {
    let all = child_states(pid);
    let zombies = all.iter().filter(|(_, state)| state == "Z").count();
    (all.len() - zombies, zombies)
}

/// The pids of `pid`'s children that have not exited, by scanning `/proc`.
pub fn live_children(pid: u32) -> Vec<u32> {
    let all = child_states(pid).into_iter();
    all.filter(|(_, state)| state != "Z")
        .map(|(child, _)| child)
        .collect()
}

/// The pids of the processes whose environment, as executed, sets `name`
/// to `value` (those whose environment cannot be read are not among
/// them), by scanning `/proc`.
pub fn with_variable(name: &str, value: &str) -> Vec<u32> {
    let entry = format!("{name}={value}").into_bytes();
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| environ_entries(pid).is_some_and(|env| env.contains(&entry)))
        .collect()
}

/// `pid`'s children, each with its state letter (`Z`: a zombie).
fn child_states(pid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(child) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            found.push((child, fields.first().unwrap_or(&"").to_string()));
        }
    }
    found
}

/// `pid`'s environment as it was executed (`/proc/PID/environ`: later
/// changes by the process do not show), entry by entry in order, raw;
/// `None` if it is gone.
pub fn environ_entries(pid: u32) -> Option<Vec<Vec<u8>>> {
    nul_separated(&format!("/proc/{pid}/environ"))
}

/// [`environ_entries`] by name (the first of duplicates wins, as with
/// `getenv`), non-UTF-8 bytes replaced.
pub fn environ(pid: u32) -> Option<std::collections::BTreeMap<String, String>> {
    let mut env = std::collections::BTreeMap::new();
    for entry in environ_entries(pid)? {
        let entry = String::from_utf8_lossy(&entry);
        if let Some((name, value)) = entry.split_once('=') {
            env.entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    Some(env)
}

/// The file `pid` runs (`/proc/PID/exe`).
pub fn exe(pid: u32) -> std::path::PathBuf {
    fs::read_link(format!("/proc/{pid}/exe")).unwrap()
}

/// `pid`'s argv (`/proc/PID/cmdline`), raw; `None` if it is gone.
pub fn cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    nul_separated(&format!("/proc/{pid}/cmdline"))
}

/// A `/proc` file of NUL-terminated strings, split.
fn nul_separated(path: &str) -> Option<Vec<Vec<u8>>> {
    let bytes = fs::read(path).ok()?;
    let mut items: Vec<Vec<u8>> = bytes.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    items.pop(); // after the last NUL
    Some(items)
}

/// `pid`'s process name (`/proc/PID/comm`); `None` if it is gone.
pub fn name(pid: u32) -> Option<String> {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_owned())
}

/// Each socket's fields in `/proc/net/tcp` and then `tcp6` (the
/// header skipped): local address, remote address, state, ...
fn tcp_sockets() -> Vec<Vec<String>> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            let rows: Vec<Vec<String>> = (text.lines().skip(1))
                .map(|line| line.split_whitespace().map(str::to_owned).collect())
                .collect();
            rows
        })
        .collect()
}

/// The inode of the socket listening on TCP `port` (any address), from
/// `/proc/net/tcp` and `tcp6`: the same socket keeps its inode.
pub fn listening_inode(port: u16) -> Option<u64> {
    const LISTEN: &str = "0A";
    tcp_sockets().iter().find_map(|fields| {
        let local_port = fields.get(1)?.rsplit(':').next()?;
        let ours = u16::from_str_radix(local_port, 16).ok()? == port;
        (ours && fields.get(3).map(String::as_str) == Some(LISTEN))
            .then(|| fields.get(9)?.parse().ok())?
    })
}

/// [`tcp_state`] of a connected socket.
pub const TCP_ESTABLISHED: &str = "01";

/// The state of the IPv4 TCP socket bound at `local` and connected to
/// `remote`, as `/proc/net/tcp` numbers it ([`TCP_ESTABLISHED`], `04`
/// FIN_WAIT1: its writing half shut, ...); `None` once it is gone (closed
/// with a reset, say), and for IPv6 addresses, not looked for.
///
/// ```no_run
/// let a: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// let b: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
/// let open = tests::procfs::tcp_state(a, b).as_deref() == Some(tests::procfs::TCP_ESTABLISHED);
/// ```
pub fn tcp_state(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Option<String> {
    // The address as the kernel prints it: its 32 bits in host order.
    let hex = |addr: std::net::SocketAddr| match addr {
        std::net::SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(v4.ip().octets()),
            v4.port()
        )),
        std::net::SocketAddr::V6(_) => None,
    };
    let (local, remote) = (hex(local)?, hex(remote)?);
    tcp_sockets().into_iter().find_map(|mut fields| {
        let ours = fields.get(1) == Some(&local) && fields.get(2) == Some(&remote);
        (ours && fields.len() > 3).then(|| fields.swap_remove(3))
    })
}

/// A copy, in this process, of descriptor `fd` of process `pid`
/// (`pidfd_getfd`, Linux 5.6; refused without the right to trace it).
///
/// ```no_run
/// let copy = tests::procfs::copy_fd(std::process::id() as i32, 0);
/// assert!(copy.is_ok());
/// ```
pub fn copy_fd(pid: i32, fd: i32) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open and pidfd_getfd take plain numbers and return a
    // new descriptor, or -1.
    let pidfd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just returned to us, owned from here.
    let pidfd = unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd as i32) };
    use std::os::fd::AsRawFd;
    // SAFETY: as above.
    let copy = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just returned to us, owned from here.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(copy as i32) })
}

/// `kcmp`'s type for comparing open files (`linux/kcmp.h`; not in libc).
const KCMP_FILE: nix::libc::c_int = 0;

/// Whether `ours` and descriptor `fd` of process `pid` are the same open
/// file (`kcmp`).
///
/// ```no_run
/// let copy = tests::procfs::copy_fd(std::process::id() as i32, 0).unwrap();
/// assert!(tests::procfs::same_file(&copy, std::process::id() as i32, 0));
/// ```
pub fn same_file(ours: &std::os::fd::OwnedFd, pid: i32, fd: i32) -> bool {
    use std::os::fd::AsRawFd;
    let me = std::process::id() as i32;
    // SAFETY: kcmp takes plain numbers and only compares.
    let order = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_kcmp,
            me,
            pid,
            KCMP_FILE,
            ours.as_raw_fd(),
            fd,
        )
    };
    order == 0
}
