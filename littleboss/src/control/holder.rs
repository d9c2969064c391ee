//! Who holds a service's lock file, read from `/proc/locks`: the
//! supervisor's pid when its control socket cannot tell it (the socket
//! was removed, by hand or by a cleaner of `/tmp`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The pid of the live process holding a `flock` on the file at `path`,
/// if it can be told.
pub(crate) fn lock_holder(path: &Path) -> Option<i32> {
    let meta = std::fs::metadata(path).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = holder_in(&locks, device_numbers(meta.dev()), meta.ino())?;
    // The pid that took the lock may have exited since (leaving it to a
    // process that inherited the descriptor), and a lock found by inode
    // alone may be another file's: named only if it has this very file
    // open.
    has_open(pid, (meta.dev(), meta.ino())).then_some(pid)
}

/// Whether a `flock` is held on the file at `path` itself (its device
/// and inode listed in `/proc/locks`), by any process: one that
/// [`lock_holder`] cannot name too (in another pid namespace, or one whose
/// descriptors this process may not read).
pub(crate) fn lock_held(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
        return false;
    };
    held_in(&locks, device_numbers(meta.dev()), meta.ino())
}

/// Whether process `pid` has a descriptor on the file `(dev, ino)`.
fn has_open(pid: i32, file: (u64, u64)) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
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
/// line with that inode, if there is exactly one. The pid is 0 when the
/// holder is not in this pid namespace: not a pid to name.
fn holder_in(locks: &str, (major, minor): (u32, u32), ino: u64) -> Option<i32> {
    let holders = flock_holders(locks, ino);
    let pid = match holders.iter().find(|(device, _)| *device == (major, minor)) {
        Some((_, pid)) => *pid,
        None if holders.len() == 1 => holders[0].1,
        None => return None,
    };
    (pid > 0).then_some(pid)
}

/// Whether `/proc/locks`'s text lists a holder of an `flock` on inode
/// `ino` of device `device` itself, whatever its pid (0: not in this pid
/// namespace).
fn held_in(locks: &str, device: (u32, u32), ino: u64) -> bool {
    flock_holders(locks, ino).iter().any(|(d, _)| *d == device)
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
        assert_eq!(holder_in(locks, (0, 0x1f), 77), Some(33));
        assert_eq!(holder_in(locks, (0xfd, 1), 77), Some(22));
        assert_eq!(holder_in(locks, (0, 0x1f), 78), None);
        assert_eq!(holder_in("", (0, 0x1f), 77), None);
        // Two holders of inode 77 elsewhere: which one is ours is unknown.
        assert_eq!(holder_in(locks, (0, 0x2a), 77), None);
        // stat's device is not the listed one: the one line with the inode.
        let one = "3: FLOCK  ADVISORY  WRITE 33 00:1f:77 0 EOF\n";
        assert_eq!(holder_in(one, (0, 0x2a), 77), Some(33));
        // Not in this pid namespace.
        let hidden = "3: FLOCK  ADVISORY  WRITE 0 00:1f:77 0 EOF\n";
        assert_eq!(holder_in(hidden, (0, 0x1f), 77), None);
    }

    #[test]
    fn a_lock_is_held_whoever_holds_it_but_only_on_this_very_file() {
        let hidden = "3: FLOCK  ADVISORY  WRITE 0 00:1f:77 0 EOF\n";
        assert!(held_in(hidden, (0, 0x1f), 77));
        // The same inode on another device: another file.
        assert!(!held_in(hidden, (0, 0x2a), 77));
        // A waiter holds nothing; a POSIX lock is not littleboss's.
        let others = "\
1: POSIX  ADVISORY  WRITE 11 00:1f:77 0 EOF
2: -> FLOCK  ADVISORY  WRITE 23 00:1f:77 0 EOF
";
        assert!(!held_in(others, (0, 0x1f), 77));
        assert!(!held_in("", (0, 0x1f), 77));
    }

    #[test]
    fn finds_this_process_holding_a_real_lock() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = std::env::temp_dir().join(format!("lb-holder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("svc.lock");
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(lock_holder(&path), None);
        assert!(!lock_held(&path));
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap();
        assert_eq!(lock_holder(&path), Some(std::process::id() as i32));
        assert!(lock_held(&path));
        drop(lock);
        assert_eq!(lock_holder(&path), None);
        assert!(!lock_held(&path));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
