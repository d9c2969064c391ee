//! Connections waiting in the kernel's queue when a stop (or bypass mode's
//! SIGTERM) shuts the listener: each client there has connected, and has
//! sent its request; the program serves them rather than the kernel
//! resetting them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use tests::{Service, text};

const PAUSED: &str = env!("CARGO_BIN_EXE_paused_accept");
/// `PAUSED`'s name, warming up: takes its listener, not ready (for ever
/// without `WARM_FILE`; with it, until that file is removed).
const UNREADY: &str = env!("CARGO_BIN_EXE_paused_accept_unready");
/// `UNREADY` with a listener `PAUSED` does not have, `extra`.
const EXTRA: &str = env!("CARGO_BIN_EXE_paused_accept_extra");
/// `PAUSED` with two listeners, `addr` and `other`.
const TWO: &str = env!("CARGO_BIN_EXE_paused_accept_two");
/// What `PAUSED` says once its accept loop is paused: not `paused`, which
/// the supervisor's lines naming the service or its binary hold already.
const PAUSED_SAID: &str = "accept loop paused";
const QUEUED: usize = 20;

/// `QUEUED` clients connected to `addr`, each with its line sent.
fn queue_clients(addr: SocketAddr) -> Vec<TcpStream> {
    (0..QUEUED)
        .map(|i| {
            let mut client = TcpStream::connect(addr).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            writeln!(client, "queued {i}").unwrap();
            client
        })
        .collect()
}

/// Waits until `addr` refuses connections: the listener is shut.
fn wait_refused(addr: SocketAddr) {
    tests::eventually("the listener shut", || {
        TcpStream::connect(addr)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
            .then_some(())
    });
}

/// Kills the supervisor, and waits until each of `addrs` refuses: its
/// orphaned children have shut their listeners (taking the queues first).
fn supervisor_killed(svc: &Service, addrs: &[SocketAddr]) {
    svc.signal(nix::sys::signal::Signal::SIGKILL);
    for addr in addrs {
        wait_refused(*addr);
    }
}

/// The pid of the one child serving `svc`.
fn only_child(svc: &Service) -> i32 {
    let children = tests::procfs::live_children(svc.pid() as u32);
    let [child] = children[..] else {
        panic!("one child serves: {children:?}")
    };
    child as i32
}

/// Each client's answer: its own line echoed.
fn assert_all_answered(clients: Vec<TcpStream>) {
    for (i, mut client) in clients.into_iter().enumerate() {
        let mut answer = String::new();
        let read = client.read_to_string(&mut answer);
        assert!(read.is_ok(), "client {i}: {read:?}");
        assert_eq!(answer, format!("queued {i}\n"), "client {i}");
    }
}

/// `PAUSED` started supervised, paused, and reloaded: the old child drains
/// (paused, it does not get to lameduck), the new one serves, paused too.
fn reloaded_while_paused() -> (Service, std::path::PathBuf, SocketAddr) {
    let (svc, pause, addr) = started_paused();
    svc.reload_ok();
    svc.output.wait_for_count(PAUSED_SAID, 2);
    (svc, pause, addr)
}

/// `PAUSED` started supervised, and paused.
/// A `paused_accept` service started with a pause file and a warm-up
/// gate (made: a reload's new child warms up until the test removes it),
/// its first child ready: the service, the pause file and the gate.
fn started_with_a_warm_up_gate() -> (Service, std::path::PathBuf, std::path::PathBuf) {
    let mut svc = Service::new(PAUSED);
    let pause = svc.dir.path().join("pause");
    let warm = svc.gate("warm");
    svc.start_with_env(&[], &[("PAUSE_FILE", &pause), ("WARM_FILE", &warm)]);
    svc.ready();
    (svc, pause, warm)
}

fn started_paused() -> (Service, std::path::PathBuf, SocketAddr) {
    let mut svc = Service::new(PAUSED);
    let pause = svc.dir.path().join("pause");
    svc.start_with_env(&[], &[("PAUSE_FILE", &pause)]);
    svc.ready();
    let addr = paused(&svc, &pause);
    (svc, pause, addr)
}

/// Started paused, once it has said so: its queue fills from now on.
fn paused(svc: &Service, pause: &Path) -> SocketAddr {
    let addr = svc.printed_addr("addr");
    std::fs::write(pause, "").unwrap();
    svc.output.wait_for(PAUSED_SAID);
    addr
}

#[test]
fn a_stop_serves_the_connections_queued_before_it() {
    let (mut svc, pause, addr) = started_paused();
    stop_serves_the_queue(&mut svc, &pause, addr);
}

/// Clients queued on `addr`, then a stop: refused from then on, and each
/// queued one answered once the pause ends; the stop and the supervisor
/// exit 0.
fn stop_serves_the_queue(svc: &mut Service, pause: &Path, addr: SocketAddr) {
    let clients = queue_clients(addr);
    let stop = svc.spawn_control(PAUSED, "stop");
    wait_refused(addr);
    std::fs::remove_file(pause).unwrap();
    assert_all_answered(clients);
    let stop = stop.wait_with_output().unwrap();
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn sigterm_in_bypass_serves_the_connections_queued_before_it() {
    let mut svc = Service::new(PAUSED);
    let pause = svc.dir.path().join("pause");
    let mut cmd = svc.command(PAUSED);
    cmd.env("PAUSE_FILE", &pause);
    svc.spawn(cmd);
    let addr = paused(&svc, &pause);
    let clients = queue_clients(addr);
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    wait_refused(addr);
    std::fs::remove_file(&pause).unwrap();
    assert_all_answered(clients);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn a_stop_during_a_reloads_drain_serves_the_connections_queued_before_it() {
    // The old child drains (paused, it does not get to lameduck) and holds
    // the very socket the new one serves: a refusal of its own would reset
    // the queue the new child's stash is to take.
    let (mut svc, pause, addr) = reloaded_while_paused();
    stop_serves_the_queue(&mut svc, &pause, addr);
}

#[test]
fn a_supervisor_killed_during_a_reloads_drain_leaves_its_queue_to_the_serving_child() {
    // Both children, orphaned at once, refuse: the draining one shuts the
    // socket they share only once the serving one has taken its queue.
    let (svc, pause, addr) = reloaded_while_paused();
    let clients = queue_clients(addr);
    supervisor_killed(&svc, &[addr]);
    std::fs::remove_file(&pause).unwrap();
    assert_all_answered(clients);
}

#[test]
fn a_supervisor_killed_while_a_new_child_warms_up_leaves_the_queue_to_the_serving_child() {
    // The new child took its listener but accepts nothing yet: orphaned
    // with the serving child, it takes none of the queue (it would hold
    // what it took unserved until its lameduck closed it); the serving
    // child takes it all and serves it.
    let (svc, pause, addr) = started_paused();
    let reload = svc.spawn_control(UNREADY, "reload");
    svc.output.wait_for("warming up pid=");
    let clients = queue_clients(addr);
    supervisor_killed(&svc, &[addr]);
    std::fs::remove_file(&pause).unwrap();
    assert_all_answered(clients);
    drop(reload);
}

#[test]
fn a_new_child_left_alone_as_it_warms_up_takes_the_queue_when_the_supervisor_dies() {
    // The serving child dies while a reload's new child warms up: told it
    // is alone now, the new child, orphaned next, takes the queue (no other
    // child would) and serves it once warm, within its grace, where it
    // would have left it to be reset.
    let (svc, _pause, warm) = started_with_a_warm_up_gate();
    let addr = svc.printed_addr("addr");
    let first = nix::unistd::Pid::from_raw(only_child(&svc));
    let reload = svc.spawn_control(UNREADY, "reload");
    let new: u32 = svc.printed("warming up pid");
    nix::sys::signal::kill(first, nix::sys::signal::Signal::SIGKILL).unwrap();
    svc.output.wait_for(&format!(
        "told child pid {new}, starting, that it is alone now"
    ));
    let clients = queue_clients(addr);
    supervisor_killed(&svc, &[addr]);
    std::fs::remove_file(&warm).unwrap();
    assert_all_answered(clients);
    drop(reload);
}

#[test]
fn a_child_signalled_first_keeps_its_queue_for_a_supervisor_slow_to_stop() {
    // A stop's SIGTERM reaches the child before its supervisor acts on
    // its own (systemd's default KillMode), and the supervisor, stalled a
    // second (a loaded host), orders the refusal late: the child, nothing
    // open, still waits for that order, which takes the queue for it to
    // serve. (It waited 250 ms, then the late refusal reset the queue.)
    let (mut svc, pause, addr) = started_paused();
    let child = nix::unistd::Pid::from_raw(only_child(&svc));
    svc.freeze();
    nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGTERM).unwrap();
    // Taken by the child before the stall is timed (a loaded machine may
    // not run it at once): it then waits for the order the whole second.
    let term = 1 << (nix::libc::SIGTERM - 1);
    tests::eventually("the child to take its SIGTERM", || {
        let pid = child.as_raw() as u32;
        let threads = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let pending = (threads.flatten())
            .filter_map(|t| t.file_name().to_str()?.parse().ok())
            .any(|tid| tests::procfs::pending(pid, Some(tid)).unwrap_or(0) & term != 0);
        (tests::procfs::pending(pid, None)? & term == 0 && !pending).then_some(())
    });
    let clients = queue_clients(addr);
    // The supervisor's stall: the scenario itself, not a wait for a
    // condition.
    std::thread::sleep(Duration::from_secs(1));
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    wait_refused(addr);
    std::fs::remove_file(&pause).unwrap();
    assert_all_answered(clients);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn a_new_child_warming_up_takes_the_queue_of_a_listener_the_reload_added() {
    // The reload adds a listener; its new child warms up; the supervisor
    // is killed. The serving child takes the queue of the listener they
    // share, the new child that of the one the reload added (which no
    // other child holds), and serves it once warm: none is reset.
    let (svc, pause, warm) = started_with_a_warm_up_gate();
    let addr = paused(&svc, &pause);
    let reload = svc.spawn_control(EXTRA, "reload");
    svc.output.wait_for("warming up pid=");
    let extra = svc.printed_addr("extra");
    let on_addr = queue_clients(addr);
    let on_extra = queue_clients(extra);
    supervisor_killed(&svc, &[addr, extra]);
    std::fs::remove_file(&pause).unwrap();
    std::fs::remove_file(&warm).unwrap();
    assert_all_answered(on_addr);
    assert_all_answered(on_extra);
    drop(reload);
}

#[test]
fn a_reload_moving_the_listener_serves_the_connections_queued_on_the_old_address() {
    // The supervisor lets go of the old address as the new child takes
    // over: what its queue held goes to the old child, which drains, not
    // to the shut that would reset it.
    let mut svc = Service::new(PAUSED);
    let pause = svc.dir.path().join("pause");
    let first = format!("-addr=127.0.0.1:{}", tests::free_port());
    svc.start_with_env(&[&first], &[("PAUSE_FILE", &pause)]);
    svc.ready();
    let addr = paused(&svc, &pause);
    let clients = queue_clients(addr);
    let moved = format!("-addr=127.0.0.1:{}", tests::free_port());
    let reload = svc.control_with(PAUSED, "reload", &[&moved]);
    assert_eq!(reload.status.code(), Some(0), "{}", text(&reload));
    wait_refused(addr);
    svc.output.wait_for(&format!("queued on tcp {addr}"));
    std::fs::remove_file(&pause).unwrap();
    assert_all_answered(clients);
    svc.stop_expecting(0);
}

#[test]
fn the_queues_one_reload_lets_go_of_share_one_budget_of_descriptors() {
    // Its descriptors limited to 256: a quarter, 64, taken off the
    // queues the reload lets go of, both together (each took its own 64:
    // with more listeners, the supervisor and the child ran short).
    let mut svc = Service::new(TWO);
    let pause = svc.dir.path().join("pause");
    let mut cmd = svc.command(&svc.bin);
    // Ports of their own (sockets asked for on port 0 stay with the old
    // child until it exits: nothing to hand over).
    let ports = [
        format!("-addr=127.0.0.1:{}", tests::free_port()),
        format!("-other=127.0.0.1:{}", tests::free_port()),
    ];
    cmd.arg("-littleboss=start")
        .args(&ports)
        .env("PAUSE_FILE", &pause);
    // SAFETY: between fork and exec, setrlimit is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            use nix::sys::resource::{Resource, setrlimit};
            setrlimit(Resource::RLIMIT_NOFILE, 256, 256)?;
            Ok(())
        });
    }
    svc.spawn(cmd);
    svc.ready();
    let addr = svc.printed_addr("addr");
    let other = svc.printed_addr("other");
    std::fs::write(&pause, "").unwrap();
    svc.output.wait_for_count(PAUSED_SAID, 2);
    // 48 on each: 96 in all, 64 of them handed over.
    let queued: Vec<TcpStream> = (0..48)
        .flat_map(|i| [addr, other].map(|at| (i, at)))
        .map(|(i, at)| {
            let mut client = TcpStream::connect(at).unwrap();
            client.set_read_timeout(Some(tests::DEADLINE)).unwrap();
            writeln!(client, "queued {i}").unwrap();
            client
        })
        .collect();
    let moved = [
        format!("-addr=127.0.0.1:{}", tests::free_port()),
        format!("-other=127.0.0.1:{}", tests::free_port()),
    ];
    let reload = svc.control_with(TWO, "reload", &[&moved[0], &moved[1]]);
    assert_eq!(reload.status.code(), Some(0), "{}", text(&reload));
    wait_refused(addr);
    wait_refused(other);
    std::fs::remove_file(&pause).unwrap();
    // The old child answers those handed to it; the rest were reset.
    let answered = (queued.into_iter())
        .filter_map(|mut client| {
            let mut answer = String::new();
            client.read_to_string(&mut answer).ok()?;
            answer.starts_with("queued ").then_some(())
        })
        .count();
    assert_eq!(answered, 64, "{}", svc.output.text());
    svc.stop_expecting(0);
}
