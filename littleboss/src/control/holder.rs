//! Who holds a service's lock file, read from `/proc/locks`: the
//! supervisor's pid when its control socket cannot tell it (the socket
//! was removed, by hand or by a cleaner of `/tmp`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Who holds a `flock` on a file, as far as `/proc/locks` tells.
#[derive(Debug, PartialEq)]
pub(crate) enum Holder {
    /// This live process, which has the file open.
    Named(i32),
    /// A process in another pid namespace (listed as pid 0).
    OtherNamespace,
    /// Listed as this pid, which does not have the file open (to what
    /// this process may read): it exited and left the lock to a process
    /// that inherited the descriptor, or its descriptors are not ours to
    /// read.
    Unconfirmed(i32),
}

/// The pid of the live process holding a `flock` on the file at `path`,
/// if it can be told.
pub(crate) fn lock_holder(path: &Path) -> Option<i32> {
    match lock_holding(path)? {
        Holder::Named(pid) => Some(pid),
        Holder::OtherNamespace | Holder::Unconfirmed(_) => None,
    }
}

/// Who holds a `flock` on the file at `path`, if anyone is listed.
pub(crate) fn lock_holding(path: &Path) -> Option<Holder> {
    let meta = std::fs::metadata(path).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let file = (meta.dev(), meta.ino());
    match holder_in(&locks, device_numbers(meta.dev()), meta.ino())? {
        Found::OnTheFile(pid) => Some(holder_of(pid, |pid| has_open(pid, file))),
        // Another file's lock, unless its holder has this one open.
        Found::ByInode(pid) => (pid > 0 && has_open(pid, file)).then_some(Holder::Named(pid)),
    }
}

/// Whether nothing holds a `flock` on the file at `path`, as far as can
/// be told: the file gone (a supervisor removes its lock file as it
/// exits), or `/proc/locks` listing no holder of its inode. `false`
/// whenever that cannot be told: a supervisor that may run is not called
/// gone. (`/proc/locks` leaves out the holders outside this process's pid
/// namespace: the caller must know its supervisor is in it.)
pub(crate) fn unheld(path: &Path) -> bool {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
        return false;
    };
    // A lock listed for the inode on another device may be this file's
    // (btrfs, overlayfs), and whether its holder has it open cannot
    // always be read: held, then, whatever the device.
    flock_holders(&locks, meta.ino()).is_empty()
}

/// Who `/proc/locks`'s `pid` is, given whether a pid `has_it_open`.
fn holder_of(pid: i32, has_it_open: impl FnOnce(i32) -> bool) -> Holder {
    match pid {
        0 => Holder::OtherNamespace,
        pid if has_it_open(pid) => Holder::Named(pid),
        pid => Holder::Unconfirmed(pid),
    }
}

/// Whether process `pid` has a descriptor on the file `(dev, ino)`.
fn has_open(pid: i32, file: (u64, u64)) -> bool {
    let Some(Ok(fds)) = crate::proc_pid::path(pid, "fd").map(std::fs::read_dir) else {
        return false;
    };
    fds.flatten().any(|fd| {
        // stat follows the descriptor's link to the file itself.
        std::fs::metadata(fd.path()).is_ok_and(|m| (m.dev(), m.ino()) == file)
    })
}

/// The pid of an `flock` holder of inode `ino` on device `(major, minor)`
/// in the text of `/proc/locks`, whose lines read
/// `1: FLOCK  ADVISORY  WRITE 4242 00:1f:3456 0 EOF` (device numbers in
/// hex); a waiter's line (`1: -> FLOCK …`) holds nothing. Where `stat`'s
/// device is not the one listed (btrfs subvolumes, overlayfs), the one
/// line with that inode, if there is exactly one: [`Found::ByInode`]. The
/// pid is 0 when the holder is not in this pid namespace.
fn holder_in(locks: &str, (major, minor): (u32, u32), ino: u64) -> Option<Found> {
    let holders = flock_holders(locks, ino);
    match holders.iter().find(|(device, _)| *device == (major, minor)) {
        Some((_, pid)) => Some(Found::OnTheFile(*pid)),
        None if holders.len() == 1 => Some(Found::ByInode(holders[0].1)),
        None => None,
    }
}

/// How [`holder_in`] found a holder's pid.
#[derive(Debug, PartialEq)]
enum Found {
    /// Listed for the file's own device and inode.
    OnTheFile(i32),
    /// Listed for its inode on another device, the only such line: the
    /// file's (a btrfs subvolume, overlayfs) only if that pid has it open.
    ByInode(i32),
}

/// The device and pid of each holder (not waiter) of an `flock` on inode
/// `ino`, of any device, in `/proc/locks`'s text.
fn flock_holders(locks: &str, ino: u64) -> Vec<((u32, u32), i32)> {
    locks
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, "FLOCK", _, _, pid, file, ..] = fields.as_slice() else {
                return None;
            };
            let mut parts = file.split(':');
            let device = (
                u32::from_str_radix(parts.next()?, 16).ok()?,
                u32::from_str_radix(parts.next()?, 16).ok()?,
            );
            (parts.next()?.parse::<u64>().ok()? == ino).then_some((device, pid.parse().ok()?))
        })
        .collect()
}

/// A `dev_t`'s major and minor numbers, as glibc and the kernel split it.
fn device_numbers(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_flock_holder_of_the_inode_and_nothing_else() {
        let locks = "\
1: POSIX  ADVISORY  WRITE 11 00:1f:77 0 EOF
2: FLOCK  ADVISORY  WRITE 22 fd:01:77 0 EOF
2: -> FLOCK  ADVISORY  WRITE 23 00:1f:77 0 EOF
3: FLOCK  ADVISORY  WRITE 33 00:1f:77 0 EOF
";
        assert_eq!(holder_in(locks, (0, 0x1f), 77), Some(Found::OnTheFile(33)));
        assert_eq!(holder_in(locks, (0xfd, 1), 77), Some(Found::OnTheFile(22)));
        assert_eq!(holder_in(locks, (0, 0x1f), 78), None);
        assert_eq!(holder_in("", (0, 0x1f), 77), None);
        // Two holders of inode 77 elsewhere: which one is ours is unknown.
        assert_eq!(holder_in(locks, (0, 0x2a), 77), None);
        // stat's device is not the listed one: the one line with the inode.
        let one = "3: FLOCK  ADVISORY  WRITE 33 00:1f:77 0 EOF\n";
        assert_eq!(holder_in(one, (0, 0x2a), 77), Some(Found::ByInode(33)));
        // Not in this pid namespace: held, by a pid not to name.
        let hidden = "3: FLOCK  ADVISORY  WRITE 0 00:1f:77 0 EOF\n";
        assert_eq!(holder_in(hidden, (0, 0x1f), 77), Some(Found::OnTheFile(0)));
        // By inode alone, in another namespace: nothing to check it by.
        assert_eq!(holder_in(hidden, (0, 0x2a), 77), Some(Found::ByInode(0)));
    }

    #[test]
    fn a_lock_whose_holder_cannot_be_named_is_told_apart() {
        assert_eq!(holder_of(0, |_| true), Holder::OtherNamespace);
        assert_eq!(holder_of(42, |_| true), Holder::Named(42));
        assert_eq!(holder_of(42, |_| false), Holder::Unconfirmed(42));
    }

    #[test]
    fn finds_this_process_holding_a_real_lock() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = std::env::temp_dir().join(format!("lb-holder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("svc.lock");
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(lock_holder(&path), None);
        assert_eq!(lock_holding(&path), None);
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap();
        let me = std::process::id() as i32;
        assert_eq!(lock_holder(&path), Some(me));
        assert_eq!(lock_holding(&path), Some(Holder::Named(me)));
        drop(lock);
        assert_eq!(lock_holder(&path), None);
        assert_eq!(lock_holding(&path), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
