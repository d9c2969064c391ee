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
//! before it does anything else (same pid, argv, descriptors and
//! environment entries, in order), with the tunable added. The new image then puts back the
//! user's `GLIBC_TUNABLES` and the process name before `supervisor_init`
//! runs, so it and every child see the user's own, and children keep their
//! cache.
//!
//! Skipped where it cannot help or cannot be undone: on other C libraries,
//! for setuid programs (glibc ignores the tunable), under valgrind (its
//! allocator replaces glibc's, and `/proc/self/exe` is the valgrind tool),
//! when the user sets `glibc.malloc.tcache_count` (also the way to opt
//! out), and when another thread already runs.

use std::ffi::{CString, OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::OnceLock;

use crate::environ;
use crate::log::log;

const TUNABLES: &str = "GLIBC_TUNABLES";
const TCACHE_COUNT: &str = "glibc.malloc.tcache_count";
/// The user's `GLIBC_TUNABLES` across the exec: our pid, `:`, then `+` and
/// the value, or `-` when it was unset. It says the exec happened; the pid
/// keeps a process that inherits it from taking it as its own.
const SAVED_TUNABLES: &str = "LITTLEBOSS_SAVED_GLIBC_TUNABLES";
/// The process name (`comm`) across the exec, which names the process
/// after the file it executes: `exe`, for `/proc/self/exe`.
const SAVED_NAME: &str = "LITTLEBOSS_SAVED_NAME";

/// What children must be given when the environment could not be put back
/// (another thread had started): the user's `GLIBC_TUNABLES`, if any.
static FOR_CHILDREN: OnceLock<Option<OsString>> = OnceLock::new();

/// Whether this image is the one [`execute_again`] started.
pub(crate) fn executed_again() -> bool {
    std::env::var_os(SAVED_TUNABLES).is_some_and(|saved| ours(&saved).is_some())
}

/// Executes this binary again, with the thread cache off, unless that is
/// skipped (see the module's doc). Returns only if it did not happen.
pub(crate) fn execute_again() {
    let user = std::env::var_os(TUNABLES);
    // The user's setting stands. It also stops a second exec, should the
    // saved variable ever be lost: the new image's tunables set the count.
    if !cfg!(target_env = "gnu")
        || user.as_deref().is_some_and(sets_tcache_count)
        || setuid()
        || under_valgrind()
    {
        return;
    }
    if !environ::single_threaded() {
        log!(
            "glibc's thread cache stays on in the supervisor: other threads run already \
             (or /proc/self/status is unreadable)"
        );
        return;
    }
    let name = nix::sys::prctl::get_name().map_or_else(|_| Vec::new(), CString::into_bytes);
    let added = [
        (
            SAVED_TUNABLES,
            encode_saved(std::process::id(), user.as_deref()),
        ),
        (SAVED_NAME, OsString::from_vec(name)),
    ];
    let env = environment(&with_cache_off(user.as_deref()), &added);
    let args: Vec<CString> = std::env::args_os().filter_map(c_string).collect();
    // Whatever code before `run` printed without a newline would be lost.
    let _ = std::io::stdout().flush();
    // /proc/self/exe is this very file, even if its path now names another.
    // A raw execve: std's `Command::exec` would rebuild the environment
    // (sorted, duplicates merged) and reset SIGPIPE even if the exec fails.
    let Err(error) = nix::unistd::execve(c"/proc/self/exe", &args, &env);
    log!(
        "cannot execute itself again to turn off glibc's thread cache ({error}); going on with it"
    );
}

/// In the image [`execute_again`] started: puts back the process name and
/// the user's `GLIBC_TUNABLES`, and removes the saved variables. With more
/// than one thread the environment stays, and children are given the
/// user's by [`prepare_child`].
pub(crate) fn put_back() {
    restore_name();
    let saved = std::env::var_os(SAVED_TUNABLES).unwrap_or_default();
    let Some(user) = ours(&saved).and_then(decode_saved) else {
        log!("{SAVED_TUNABLES} is garbled ({saved:?}); leaving {TUNABLES} as it is");
        environ::remove_env(&[SAVED_TUNABLES, SAVED_NAME]);
        return;
    };
    let set: Vec<(&str, &OsStr)> = user.map(|v| (TUNABLES, v)).into_iter().collect();
    let mut remove = vec![SAVED_TUNABLES, SAVED_NAME];
    if user.is_none() {
        remove.push(TUNABLES);
    }
    if !environ::change(&set, &remove) {
        let _ = FOR_CHILDREN.set(user.map(OsStr::to_owned));
    }
}

/// Gives a child the user's environment where [`put_back`] could not put
/// it back in the supervisor's own. (This makes the standard library copy
/// the whole environment at each spawn again; only in that rare case.)
pub(crate) fn prepare_child(command: &mut tokio::process::Command) {
    if let Some(user) = FOR_CHILDREN.get() {
        command.env_remove(SAVED_TUNABLES).env_remove(SAVED_NAME);
        match user {
            Some(value) => command.env(TUNABLES, value),
            None => command.env_remove(TUNABLES),
        };
    }
}

fn restore_name() {
    if let Some(name) = std::env::var_os(SAVED_NAME)
        .and_then(|n| CString::new(n.into_vec()).ok())
        .filter(|n| !n.is_empty())
    {
        let _ = nix::sys::prctl::set_name(&name);
    }
}

/// This process's environment in order, duplicates and all, with the first
/// `GLIBC_TUNABLES` set to `tunables` (or it added) and `added` appended in
/// place of any stale copies (inherited from another littleboss process).
/// Entries without `=`, which the standard library does not list, are lost.
fn environment(tunables: &OsStr, added: &[(&str, OsString)]) -> Vec<CString> {
    let mut env = Vec::new();
    let mut replaced = false;
    for (name, value) in std::env::vars_os() {
        if added.iter().any(|(n, _)| name == *n) {
            continue;
        }
        if name == TUNABLES && !replaced {
            replaced = true;
            env.extend(entry(TUNABLES.as_ref(), tunables));
        } else {
            env.extend(entry(&name, &value));
        }
    }
    if !replaced {
        env.extend(entry(TUNABLES.as_ref(), tunables));
    }
    for (name, value) in added {
        env.extend(entry(name.as_ref(), value));
    }
    env
}

/// `name=value`, if it has no NUL byte (which no environment can hold).
fn entry(name: &OsStr, value: &OsStr) -> Option<CString> {
    let mut pair = name.to_owned();
    pair.push("=");
    pair.push(value);
    c_string(pair)
}

fn c_string(s: OsString) -> Option<CString> {
    CString::new(s.into_vec()).ok()
}

/// Whether `tunables` (`name=value` pairs joined by `:`) sets the count.
fn sets_tcache_count(tunables: &OsStr) -> bool {
    tunables
        .as_bytes()
        .split(|b| *b == b':')
        .any(|pair| pair.split(|b| *b == b'=').next() == Some(TCACHE_COUNT.as_bytes()))
}

/// The user's tunables with the count set to 0 after them.
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

/// The user's `GLIBC_TUNABLES` as [`SAVED_TUNABLES`] carries it for `pid`.
fn encode_saved(pid: u32, user: Option<&OsStr>) -> OsString {
    let mut saved = OsString::from(format!("{pid}:"));
    match user {
        Some(user) => {
            saved.push("+");
            saved.push(user);
        }
        None => saved.push("-"),
    }
    saved
}

/// What follows the pid in a [`SAVED_TUNABLES`] value saved by this
/// process; `None` for another process's.
fn ours(saved: &OsStr) -> Option<&OsStr> {
    let prefix = format!("{}:", std::process::id());
    saved
        .as_bytes()
        .strip_prefix(prefix.as_bytes())
        .map(OsStr::from_bytes)
}

/// The inverse of [`encode_saved`] after [`ours`]: `Some(None)` for unset,
/// `None` for a value it cannot have made.
fn decode_saved(saved: &OsStr) -> Option<Option<&OsStr>> {
    match saved.as_bytes().split_first()? {
        (b'+', value) => Some(Some(OsStr::from_bytes(value))),
        (b'-', []) => Some(None),
        _ => None,
    }
}

/// Whether the kernel started this process in secure mode (setuid,
/// setgid, file capabilities), where glibc ignores the tunable.
fn setuid() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave
    // this process; it has no preconditions.
    unsafe { nix::libc::getauxval(nix::libc::AT_SECURE) != 0 }
}

fn under_valgrind() -> bool {
    std::env::var_os("LD_PRELOAD").is_some_and(|p| {
        p.as_bytes()
            .windows(b"vgpreload".len())
            .any(|w| w == b"vgpreload")
    })
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
    fn the_saved_value_round_trips_and_garbage_is_refused() {
        let pid = std::process::id();
        for user in [None, Some(""), Some("a=1"), Some("-")] {
            let user = user.map(OsStr::new);
            let saved = encode_saved(pid, user);
            assert_eq!(ours(&saved).and_then(decode_saved), Some(user), "{user:?}");
        }
        assert_eq!(encode_saved(7, None), "7:-");
        assert_eq!(encode_saved(7, Some(OsStr::new(""))), "7:+");
        let another = encode_saved(pid + 1, None);
        assert_eq!(ours(&another), None, "another process's value");
        for garbage in ["", "x", "-x", "=a"] {
            assert_eq!(decode_saved(OsStr::new(garbage)), None, "{garbage:?}");
        }
    }
}
