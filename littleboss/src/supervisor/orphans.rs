//! Orphaned descendants: the supervisor adopts and reaps them.
//!
//! A child's own children are reparented when it dies. Under a container
//! runtime the supervisor is often PID 1 and they come to it anyway; as a
//! child subreaper it adopts them everywhere, so none is left as a zombie
//! and nothing escapes the service. Its own children are reaped by their
//! watchers (through pidfds, or by pid); this reaps only the others, picked out of
//! `/proc` by pid, then any `/proc` does not list as `waitid` shows them
//! (or, without `/proc`, one zombie at a time so), so it never takes a
//! child's exit status from its watcher.

use nix::dir::Dir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use super::machine::ChildExit;
use crate::log::log;

/// Makes this process the reaper of its orphaned descendants.
pub(crate) fn adopt_orphans() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        log!("cannot become a child subreaper ({e}); orphans go to init");
    }
}

/// Says which of the children `pids` a signal has stopped since the last
/// look: stopped, a child serves nothing, its deadlines run out, and
/// nothing else would say why. The one that reads the terminal while the
/// foreground is the supervisor's (each child has a group of its own)
/// gets SIGTTIN. Each stop is said once (its report taken, which no
/// other wait asks for); a child reaped or running is passed over.
pub(crate) fn say_stopped(pids: impl Iterator<Item = u32>) {
    use nix::sys::signal::Signal;
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    for pid in pids {
        let Some(child) = super::spawn::child_pid(pid) else {
            continue;
        };
        let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG;
        let Ok(WaitStatus::Stopped(_, signal)) = waitid(Id::Pid(child), flags) else {
            continue;
        };
        let why = match signal {
            Signal::SIGTTIN | Signal::SIGTTOU => {
                " (it used the terminal from a background process group: give the program no terminal input, `< /dev/null`)"
            }
            _ => "",
        };
        log!(
            "child pid {pid} was stopped by {signal}{why}; it serves nothing until continued (`kill -CONT {pid}`)"
        );
    }
}

/// What a scan for orphans left undone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every zombie not `owned` was reaped.
    Done,
    /// A zombie was left: one `owned`, first in `waitid`'s line, hid any
    /// others behind it, which `/proc` did not list or is not there to
    /// (scan again once its watcher has reaped it, a moment).
    Again,
    /// A zombie was left that may be the child of a spawn under way: scan
    /// again once a spawn has reported (which may take as long as an exec
    /// that hangs: a rescan meanwhile would find it so again).
    AfterSpawns,
}

/// Reaps every zombie child of ours that `owned` does not claim. One
/// `waitid(WNOHANG | WNOWAIT)` per process `/proc` lists tells which are:
/// a process that is not our child fails at once (ECHILD), a live one is
/// left running; only a zombie seen so is reaped, with a second call.
/// Then those it did not list ([`reap_unlisted`]).
///
/// `spawning_since`: when the first spawn under way forked, if one has
/// (in clock ticks since boot, as `/proc/PID/stat` counts a process's
/// start). A child one started is not known by its pid yet, and must not
/// be reaped as an orphan: a zombie that may be one ([`spawned_maybe`]) is
/// left for a later scan ([`Scan::AfterSpawns`]); an orphan of a child's is
/// reaped. (Without `/proc`, no zombie is, while a forked spawn is under
/// way.) Asked once a zombie is seen, not before: a spawn that forks
/// during the scan has said so by the time its child can be one.
pub(crate) fn reap(owned: impl Fn(u32) -> bool, spawning_since: impl Fn() -> Option<u64>) -> Scan {
    // nix's Dir hands out each entry's name in place, where std's read_dir
    // allocates twice for every process on the machine.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let opened = match crate::test_hook::test_hook::<u8>("LITTLEBOSS_TEST_NO_PROC") {
        Some(_) => Err("test hook: no /proc".to_owned()),
        // Looked at now, not as first read: `supervisor_init` may have
        // entered a root whose /proc is an empty folder.
        None => match crate::proc_pid::numbers_ours_now() {
            Ok(()) => Dir::open("/proc", flags, Mode::empty()).map_err(|e| e.to_string()),
            Err(why) => Err(why.to_owned()),
        },
    };
    let mut dir = match opened {
        Ok(dir) => dir,
        Err(e) => {
            // Said once: a chroot or a container without /proc.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                log!("cannot read /proc ({e}): orphans are reaped by waitid, one zombie at a time")
            });
            return reap_unlisted(owned, spawning_since);
        }
    };
    // Standing in for a /proc that lists none of them (see below): the
    // walk, had it listed nothing, would leave it all to the pass after.
    if crate::test_hook::test_hook::<u8>("LITTLEBOSS_TEST_PROC_HIDES").is_some() {
        return reap_unlisted(owned, spawning_since);
    }
    let mut scan = Scan::Done;
    for entry in dir.iter().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if owned(pid) {
            continue;
        }
        match zombie(pid, &spawning_since) {
            // Running, or not our child: nothing to reap. (Not reaped
            // blind: a spawn's child could die between a look and a reap.)
            Zombie::No => {}
            Zombie::MaybeSpawned => scan = Scan::AfterSpawns,
            Zombie::Orphan => reap_one(Pid::from_raw(pid as i32)),
        }
    }
    match scan {
        Scan::Done => reap_unlisted(owned, spawning_since),
        scan => scan,
    }
}

/// Reaps the zombies `/proc` did not list, as `waitid(WNOWAIT)` shows
/// them one at a time (the kernel shows the same first one until it is
/// reaped): after a scan of `/proc` that left nothing, or instead of one
/// without `/proc`. A `/proc` mounted `hidepid=invisible` (systemd's
/// `ProtectProc=invisible`) lists no process of another user, such as a
/// setuid helper's orphan; the scan alone would leave that zombie for the
/// supervisor's life. One owned, first in line, stops it (its watcher
/// takes its status): [`Scan::Again`], for a scan a moment later. One
/// reaped by another wait meanwhile leaves the next in line. Without `/proc` a zombie's
/// start cannot be read: while a forked spawn is under way, any may be
/// its child ([`spawned_maybe`]).
fn reap_unlisted(owned: impl Fn(u32) -> bool, spawning_since: impl Fn() -> Option<u64>) -> Scan {
    use nix::libc;
    let peek = super::pidfd::REAP | libc::WNOWAIT;
    while let Ok(Some((pid, _))) = super::pidfd::ended(libc::P_ALL, 0, peek) {
        let number = pid.as_raw() as u32;
        if owned(number) {
            return Scan::Again;
        }
        // Seen a zombie by that look: reaped, unless a spawn's (or, reaped
        // by another wait meanwhile, the next look shows the next).
        match a_zombie(number, &spawning_since) {
            Zombie::MaybeSpawned => return Scan::AfterSpawns,
            _ => reap_one(pid),
        }
    }
    Scan::Done
}

/// What the scan makes of a process.
enum Zombie {
    /// Running, or not our child.
    No,
    /// A zombie child of ours that may be a spawn's child, not known by
    /// its pid yet ([`spawned_maybe`]).
    MaybeSpawned,
    /// A zombie child of ours that is no spawn's: an orphan.
    Orphan,
}

/// Looks at `pid` without reaping it.
fn zombie(pid: u32, spawning_since: impl Fn() -> Option<u64>) -> Zombie {
    use nix::libc;
    let peek = super::pidfd::REAP | libc::WNOWAIT;
    let Ok(Some(_)) = super::pidfd::ended(libc::P_PID, pid as libc::id_t, peek) else {
        return Zombie::No;
    };
    a_zombie(pid, spawning_since)
}

/// What zombie child `pid` is: an orphan, or maybe a spawn's child.
fn a_zombie(pid: u32, spawning_since: impl Fn() -> Option<u64>) -> Zombie {
    // Asked now, once it is a zombie: a spawn that forked it has said when
    // by then.
    match spawning_since() {
        Some(since) if spawned_maybe(pid, since) => Zombie::MaybeSpawned,
        _ => Zombie::Orphan,
    }
}

/// Whether zombie `pid` may be the child of a spawn that forked at
/// `since` or after: started then or later (a tick before, for rounding),
/// and in its own process group (its setup makes it so) or, not there
/// yet, still in ours; or one whose start cannot be read. An orphan of a
/// child's is in that child's group, and is reaped.
fn spawned_maybe(pid: u32, since: u64) -> bool {
    let Some(Stat { group, started, .. }) = stat(pid) else {
        return true;
    };
    let ours = nix::unistd::getpgrp().as_raw() as u32;
    started + 1 >= since && (group == pid || group == ours)
}

/// What the supervisor reads of a process in `/proc/PID/stat`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Stat {
    /// Its parent.
    pub parent: u32,
    /// Its process group.
    pub group: u32,
    /// When it started, in clock ticks since boot.
    pub started: u64,
}

/// What `/proc/PID/stat` says of process `pid`; `None` where it cannot be
/// read (gone, or `/proc` another pid namespace's).
pub(super) fn stat(pid: u32) -> Option<Stat> {
    // Bytes: a name need not be UTF-8 (`PR_SET_NAME` takes any), and one
    // that is not must not make a zombie read as a spawn's for ever.
    let stat = std::fs::read(crate::proc_pid::path(pid, "stat")?).ok()?;
    parse_stat(&stat)
}

/// The parent (the 4th field), the group (the 5th) and the start
/// (`starttime`, the 22nd), read from after the name's last `)` (a name
/// may hold spaces and parentheses): the 2nd, 3rd and 20th fields there.
fn parse_stat(stat: &[u8]) -> Option<Stat> {
    let mut fields = crate::proc_pid::after_name(stat)?;
    let parent = fields.nth(1)?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    let started = fields.nth(16)?.parse().ok()?;
    Some(Stat {
        parent,
        group,
        started,
    })
}

/// Now, in clock ticks since boot: the clock of [`Stat::started`].
pub(crate) fn ticks_now() -> Option<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    let hz = u64::try_from(hz).ok()?;
    let secs = u64::try_from(now.tv_sec()).ok()?;
    let nanos = u64::try_from(now.tv_nsec()).ok()?;
    Some(secs * hz + nanos * hz / 1_000_000_000)
}

/// Reaps `pid` if it is a zombie child of ours, saying how it ended.
fn reap_one(pid: Pid) {
    let reaped = super::pidfd::reap(nix::libc::P_PID, pid.as_raw() as nix::libc::id_t);
    // Running, not our child, or reaped by someone else: nothing to say.
    let Ok(Some(exit)) = reaped else {
        return;
    };
    match exit {
        ChildExit::Code(code) => log!("reaped orphaned process pid {pid} (exit code {code})"),
        ChildExit::Signal(signal) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(signal) => log!("reaped orphaned process pid {pid} (killed by {signal})"),
            Err(_) => log!("reaped orphaned process pid {pid} (killed by a real-time signal)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{Stat, parse_stat, stat, ticks_now};

    #[test]
    fn parent_group_and_start_are_read_past_a_name_with_spaces_parentheses_and_no_utf8() {
        let tail = b" Z 1 41 40 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        let want = Some(Stat {
            parent: 1,
            group: 41,
            started: 12345,
        });
        for name in [&b"a (b) c"[..], b"caf\xe9 \xff)"] {
            let line = [&b"42 ("[..], name, b")", tail].concat();
            assert_eq!(parse_stat(&line), want, "{}", line.escape_ascii());
        }
        assert_eq!(parse_stat(b"42 (cut"), None);
    }

    #[test]
    fn this_process_started_before_now_on_the_same_clock() {
        let Stat {
            parent,
            group,
            started,
        } = stat(std::process::id()).unwrap();
        assert_eq!(parent, nix::unistd::getppid().as_raw() as u32);
        assert_eq!(group, nix::unistd::getpgrp().as_raw() as u32);
        let now = ticks_now().unwrap();
        assert!(started <= now, "{started} > {now}");
        // Within the last day: the clocks agree on where they count from.
        assert!(now - started < 86_400 * 100, "{started} vs {now}");
    }
}
