//! The supervisor runs with glibc's per-thread allocator cache turned off.
//!
//! Each reload makes the supervisor allocate and free a little. glibc's
//! thread cache (tcache) keeps up to seven freed chunks of each small size
//! for reuse; they count as in use, so the heap pages they sit on cannot be
//! handed back at rest, and as they land on fresh pages the supervisor's
//! memory creeps up (84 KiB over its first hundred reloads). The supervisor
//! does too little work for the cache to save anything.
//!
//! The cache can only be turned off as a process starts, through
//! `GLIBC_TUNABLES`, so start mode executes its own binary again once,
//! before it does anything else (same pid, argv and descriptors), with the
//! tunable added. The new image then puts back the environment and the
//! process name as they were: `supervisor_init` and every child see the
//! user's own `GLIBC_TUNABLES`, and children keep their cache. A user who
//! sets `glibc.malloc.tcache_count` themselves is left alone.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;

use crate::environ;
use crate::log::log;

const TUNABLES: &str = "GLIBC_TUNABLES";
const TCACHE_COUNT: &str = "glibc.malloc.tcache_count";
/// The user's `GLIBC_TUNABLES` across the exec: `+` and the value, or `-`
/// when it was unset. Its presence also says the exec happened.
const SAVED_TUNABLES: &str = "LITTLEBOSS_SAVED_GLIBC_TUNABLES";
/// The process name (`comm`) across the exec, which names it after the
/// file it executes: `exe`, for `/proc/self/exe`.
const SAVED_NAME: &str = "LITTLEBOSS_SAVED_NAME";

/// What children must be given when the environment could not be put back
/// (another thread had started): the user's `GLIBC_TUNABLES`, if any.
static FOR_CHILDREN: OnceLock<Option<OsString>> = OnceLock::new();

/// Executes this binary again with the thread cache off, or, in the image
/// so executed, puts back what the exec changed. Returns when there is
/// nothing (more) to do; the supervisor works either way.
pub(crate) fn turn_off() {
    match std::env::var_os(SAVED_TUNABLES) {
        Some(saved) => put_back(&saved),
        None => execute_again(),
    }
}

/// Gives a child the user's environment where [`turn_off`] could not put
/// it back in the supervisor's own.
pub(crate) fn prepare_child(command: &mut tokio::process::Command) {
    if let Some(user) = FOR_CHILDREN.get() {
        command.env_remove(SAVED_TUNABLES).env_remove(SAVED_NAME);
        match user {
            Some(value) => command.env(TUNABLES, value),
            None => command.env_remove(TUNABLES),
        };
    }
}

fn execute_again() {
    let user = std::env::var_os(TUNABLES);
    // Only glibc has the cache; the user's own setting stands; and with
    // more than one thread the new image could not put the environment
    // back soundly.
    if !cfg!(target_env = "gnu")
        || user.as_deref().is_some_and(sets_tcache_count)
        || !environ::single_threaded()
    {
        return;
    }
    let name = nix::sys::prctl::get_name().map_or_else(|_| Vec::new(), CString::into_bytes);
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    // /proc/self/exe is this very file, even if the path now names another.
    let error = Command::new("/proc/self/exe")
        .arg0(argv0)
        .args(args)
        .env(TUNABLES, with_cache_off(user.as_deref()))
        .env(SAVED_TUNABLES, saved(user.as_deref()))
        .env(SAVED_NAME, OsString::from_vec(name))
        .exec();
    log!(
        "cannot execute itself again to turn off glibc's thread cache ({error}); going on with it"
    );
}

fn put_back(saved: &OsStr) {
    let user = match saved.as_bytes().split_first() {
        Some((b'+', value)) => Some(OsStr::from_bytes(value)),
        _ => None,
    };
    if let Some(name) = std::env::var_os(SAVED_NAME)
        .and_then(|n| CString::new(n.into_vec()).ok())
        .filter(|n| !n.is_empty())
    {
        let _ = nix::sys::prctl::set_name(&name);
    }
    let set: Vec<(&str, &OsStr)> = user.map(|v| (TUNABLES, v)).into_iter().collect();
    let mut remove = vec![SAVED_TUNABLES, SAVED_NAME];
    if user.is_none() {
        remove.push(TUNABLES);
    }
    if !environ::change(&set, &remove) {
        let _ = FOR_CHILDREN.set(user.map(OsStr::to_owned));
    }
}

/// Whether `tunables` (`name=value` pairs joined by `:`) sets the count.
fn sets_tcache_count(tunables: &OsStr) -> bool {
    tunables
        .as_bytes()
        .split(|b| *b == b':')
        .any(|pair| pair.split(|b| *b == b'=').next() == Some(TCACHE_COUNT.as_bytes()))
}

fn with_cache_off(user: Option<&OsStr>) -> OsString {
    let off = format!("{TCACHE_COUNT}=0");
    match user {
        Some(user) if !user.is_empty() => {
            let mut all = user.to_owned();
            all.push(":");
            all.push(off);
            all
        }
        _ => off.into(),
    }
}

fn saved(user: Option<&OsStr>) -> OsString {
    match user {
        Some(user) => {
            let mut saved = OsString::from("+");
            saved.push(user);
            saved
        }
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcache_count_anywhere_in_the_list_is_the_users_choice() {
        for t in [
            "glibc.malloc.tcache_count=3",
            "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0",
        ] {
            assert!(sets_tcache_count(OsStr::new(t)), "{t}");
        }
        for t in [
            "",
            "glibc.malloc.tcache_count_x=1",
            "glibc.malloc.arena_max=2",
        ] {
            assert!(!sets_tcache_count(OsStr::new(t)), "{t}");
        }
    }

    #[test]
    fn the_cache_setting_is_appended_to_the_users_tunables() {
        assert_eq!(with_cache_off(None), "glibc.malloc.tcache_count=0");
        assert_eq!(
            with_cache_off(Some(OsStr::new(""))),
            "glibc.malloc.tcache_count=0"
        );
        assert_eq!(
            with_cache_off(Some(OsStr::new("glibc.malloc.arena_max=2"))),
            "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0"
        );
    }

    #[test]
    fn an_empty_value_is_saved_apart_from_an_unset_one() {
        assert_eq!(saved(None), "-");
        assert_eq!(saved(Some(OsStr::new(""))), "+");
        assert_eq!(saved(Some(OsStr::new("a=1"))), "+a=1");
    }
}
