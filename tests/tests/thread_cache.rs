//! The supervisor runs with glibc's per-thread allocator cache off: start
//! mode executes its binary again with `glibc.malloc.tcache_count=0` in
//! `GLIBC_TUNABLES`, then puts back the user's environment and process
//! name, so `supervisor_init` and the children see exactly what they would
//! have. The echo fixture's `supervisor_init` says whether the cache is on,
//! from what glibc's allocator does with freed chunks.
#![cfg(target_env = "gnu")]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use tests::procfs;
use tests::{Service, echo};

const ECHO: &str = env!("CARGO_BIN_EXE_echo_server");
const THREADS_BEFORE_RUN: &str = env!("CARGO_BIN_EXE_threads_before_run");
const SAVED: &str = "LITTLEBOSS_SAVED_GLIBC_TUNABLES";

/// Starts the echo fixture with `GLIBC_TUNABLES` as given (unset for
/// `None`) and waits until its child serves.
fn start(tunables: Option<&str>) -> Service {
    start_fixture(ECHO, tunables)
}

fn start_fixture(bin: &str, tunables: Option<&str>) -> Service {
    let mut svc = Service::new(bin);
    let mut cmd = svc.command(bin);
    cmd.arg("-littleboss=start");
    match tunables {
        Some(value) => cmd.env("GLIBC_TUNABLES", value),
        None => cmd.env_remove("GLIBC_TUNABLES"),
    };
    svc.spawn(cmd).ready();
    svc
}

/// The pids the echo fixture's children printed, in order.
fn child_pids(output: &str) -> Vec<u32> {
    output
        .lines()
        .filter(|l| l.starts_with("addr="))
        .filter_map(|l| l.split_once(" pid=")?.1.parse().ok())
        .collect()
}

fn environ(pid: u32) -> BTreeMap<String, String> {
    procfs::environ(pid).expect("the process is alive")
}

/// Asserts the first child got the user's `GLIBC_TUNABLES`
/// and nothing littleboss kept for itself.
fn assert_child_environment(svc: &Service, tunables: Option<&str>) {
    let child: u32 = svc.printed("pid");
    let env = environ(child);
    assert_eq!(env.get("GLIBC_TUNABLES").map(String::as_str), tunables);
    let ours: Vec<_> = env
        .keys()
        .filter(|k| k.starts_with("LITTLEBOSS_SAVED"))
        .collect();
    assert!(ours.is_empty(), "the child sees {ours:?}");
}

#[test]
fn the_supervisor_alone_runs_without_the_thread_cache() {
    let mut svc = start(None);
    let supervisor = svc.pid() as u32;
    // The environment it was executed with the second time.
    let env = environ(supervisor);
    assert_eq!(
        env.get("GLIBC_TUNABLES").map(String::as_str),
        Some("glibc.malloc.tcache_count=0"),
        "{env:?}"
    );
    // The exec through /proc/self/exe would name the process `exe`.
    assert_eq!(procfs::name(supervisor).unwrap(), "echo_server");
    assert_child_environment(&svc, None);
    let addr = svc.printed_addr("addr");
    assert_eq!(echo(addr, "hi\n").unwrap(), "hi\n");
    svc.stop_expecting(0);
    let printed = svc.output.text();
    assert!(printed.contains("glibc's thread cache is off"), "{printed}");
    assert_eq!(
        printed.matches("SupervisorInit called").count(),
        1,
        "{printed}"
    );
    assert!(!printed.contains("supervisor_init sees"), "{printed}");
    assert!(
        !printed.contains("supervisor_init GLIBC_TUNABLES"),
        "{printed}"
    );
}

#[test]
fn the_users_tunables_reach_supervisor_init_and_every_child_unchanged() {
    const USER: &str = "glibc.malloc.arena_max=2";
    let mut svc = start(Some(USER));
    assert!(environ(svc.pid() as u32).contains_key(SAVED), "no exec");
    assert_child_environment(&svc, Some(USER));
    svc.reload_ok();
    svc.output.wait_for_count("addr=", 2);
    let second = *child_pids(&svc.output.text()).last().unwrap();
    assert_eq!(
        environ(second).get("GLIBC_TUNABLES").map(String::as_str),
        Some(USER)
    );
    svc.stop_expecting(0);
    let printed = svc.output.text();
    assert!(
        printed.contains(&format!("supervisor_init GLIBC_TUNABLES={USER}\n")),
        "{printed}"
    );
    assert!(!printed.contains("supervisor_init sees"), "{printed}");
}

#[test]
fn a_users_own_thread_cache_setting_is_left_alone() {
    const USER: &str = "glibc.malloc.tcache_count=3";
    let mut svc = start(Some(USER));
    let env = environ(svc.pid() as u32);
    assert!(!env.contains_key(SAVED), "executed again: {env:?}");
    assert_eq!(env.get("GLIBC_TUNABLES").map(String::as_str), Some(USER));
    assert_child_environment(&svc, Some(USER));
    svc.stop_expecting(0);
    let printed = svc.output.text();
    assert!(printed.contains("glibc's thread cache is on"), "{printed}");
}

#[test]
fn children_get_the_users_environment_even_when_it_could_not_be_put_back() {
    for user in [None, Some("glibc.malloc.arena_max=2")] {
        let mut svc = start_fixture(THREADS_BEFORE_RUN, user);
        let supervisor = svc.pid() as u32;
        assert!(environ(supervisor).contains_key(SAVED), "no exec");
        assert_eq!(
            procfs::name(supervisor).unwrap(),
            "threads_before_",
            "comm keeps 15 bytes"
        );
        assert_child_environment(&svc, user);
        svc.stop_expecting(0);
    }
}

#[test]
fn argv_survives_the_exec_byte_for_byte() {
    let mut svc = Service::new(ECHO);
    let mut cmd = svc.command(ECHO);
    cmd.arg0("renamed")
        .arg("-littleboss=start")
        .arg(OsStr::from_bytes(b"not-utf8-\xff"));
    svc.spawn(cmd).ready();
    let supervisor = svc.pid() as u32;
    assert!(environ(supervisor).contains_key(SAVED), "no exec");
    let expected: Vec<&[u8]> = vec![b"renamed", b"-littleboss=start", b"not-utf8-\xff"];
    assert_eq!(procfs::cmdline(supervisor).unwrap(), expected);
    assert_eq!(procfs::name(supervisor).unwrap(), "echo_server");
    let child: u32 = svc.printed("pid");
    let expected: Vec<&[u8]> = vec![b"renamed", b"not-utf8-\xff"];
    assert_eq!(procfs::cmdline(child).unwrap(), expected);
    svc.stop_expecting(0);
}

#[test]
fn the_environment_keeps_its_order_and_bytes() {
    let mut svc = Service::new(ECHO);
    let dir = format!("LITTLEBOSS_DIR={}", svc.control_dir().display());
    let mut cmd = Command::new("env");
    cmd.arg("-i")
        .arg(OsStr::from_bytes(b"Z_FIRST=\xff"))
        .arg("A_SECOND=2")
        .arg(&dir)
        .arg(ECHO)
        .arg("-littleboss=start");
    svc.spawn(cmd).ready();
    let user: Vec<Vec<u8>> = vec![
        b"Z_FIRST=\xff".to_vec(),
        b"A_SECOND=2".to_vec(),
        dir.as_bytes().to_vec(),
    ];
    let pid = svc.pid();
    let supervisor = procfs::environ_entries(pid as u32).unwrap();
    let mut expected = user.clone();
    expected.extend([
        b"GLIBC_TUNABLES=glibc.malloc.tcache_count=0".to_vec(),
        format!("{SAVED}={pid}:-").into_bytes(),
        b"LITTLEBOSS_SAVED_NAME=echo_server".to_vec(),
    ]);
    assert_eq!(
        supervisor, expected,
        "the user's entries in order, then ours"
    );
    let child = procfs::environ_entries(svc.printed("pid")).unwrap();
    assert_eq!(child[..3], user[..], "{child:?}");
    assert_eq!(child.len(), 4, "and the channel variable only: {child:?}");
    assert!(child[3].starts_with(b"LITTLEBOSS_CHANNEL_FD="), "{child:?}");
    svc.stop_expecting(0);
}
