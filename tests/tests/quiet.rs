//! The supervisor holds its listeners without polling them, so traffic
//! never wakes it (the Go supervisor is woken by every connection).
//!
//! Checked directly in the kernel's view: no epoll instance of the
//! supervisor has a listening socket registered.

use std::collections::HashSet;
use std::fs;

use tests::{Service, echo};

/// Inodes of TCP sockets listening on `port` (from /proc/net/tcp{,6}).
fn listening_inodes(port: u16) -> HashSet<String> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f[1].rsplit(':').next().unwrap();
            if u16::from_str_radix(local_port, 16).unwrap() == port && f[3] == "0A" {
                inodes.insert(f[9].to_owned());
            }
        }
    }
    inodes
}

#[test]
fn the_supervisor_never_registers_its_listeners_with_a_poller() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    for i in 0..50 {
        assert_eq!(echo(addr, &i.to_string()).unwrap(), format!("{i}\n"));
    }
    let inodes = listening_inodes(addr.port());
    assert!(!inodes.is_empty(), "no listening socket found for {addr}");

    let pid = svc.pid();
    let mut listener_fds = HashSet::new();
    let mut epoll_fds = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let entry = entry.unwrap();
        let fd = entry.file_name().into_string().unwrap();
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.display().to_string();
        let inode = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'));
        if inode.is_some_and(|inode| inodes.contains(inode)) {
            listener_fds.insert(fd.clone());
        }
        if target == "anon_inode:[eventpoll]" {
            epoll_fds.push(fd);
        }
    }
    assert!(
        !epoll_fds.is_empty(),
        "the supervisor's runtime has an epoll instance"
    );
    for epoll in epoll_fds {
        let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{epoll}")).unwrap();
        for line in info.lines().filter(|l| l.starts_with("tfd:")) {
            let registered = line.split_whitespace().nth(1).unwrap();
            assert!(
                !listener_fds.contains(registered),
                "listener fd {registered} is registered with epoll fd {epoll}: {line}"
            );
        }
    }
    assert_eq!(
        listener_fds.len(),
        1,
        "the supervisor holds the listener once: {listener_fds:?}"
    );
}
