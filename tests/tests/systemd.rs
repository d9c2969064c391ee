//! Under a service manager: the notify protocol (a real unix datagram
//! socket stands in for systemd's), socket activation (real listening
//! sockets passed at fd 3 with LISTEN_*), and orphans reaped.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::time::Instant;

use nix::sys::signal::Signal;

use tests::{DEADLINE, OutputInTime, Service, echo, text};

const V1: &str = env!("CARGO_BIN_EXE_versioned_v1");
const FAILS: &str = env!("CARGO_BIN_EXE_versioned_fails");
const ECHO: &str = env!("CARGO_BIN_EXE_echo_server");
const SLOW: &str = env!("CARGO_BIN_EXE_versioned_slow");

/// The stand-in for systemd's notify socket.
struct Manager {
    socket: UnixDatagram,
    /// Every STATUS= line seen so far.
    statuses: std::cell::RefCell<Vec<String>>,
}

impl Manager {
    fn bind(path: &std::path::Path) -> Manager {
        let socket = UnixDatagram::bind(path).unwrap();
        socket.set_read_timeout(Some(DEADLINE)).unwrap();
        Manager {
            socket,
            statuses: Default::default(),
        }
    }

    /// The next datagram, whatever it is.
    fn recv_one(&self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("no notification within the deadline: {e}"),
            }
        }
    }

    /// The next datagram that is not a STATUS= line.
    fn next(&self) -> String {
        loop {
            let message = self.recv_one();
            match message.strip_prefix("STATUS=") {
                Some(status) => self.statuses.borrow_mut().push(status.to_owned()),
                None => return message,
            }
        }
    }

    /// Every datagram up to the first READY=1 (including it), each checked
    /// to be a status line or that READY=1.
    fn started(&self) -> Vec<String> {
        let start = self.collect_until("READY=1");
        assert!(
            start
                .iter()
                .all(|m| m.starts_with("STATUS=") || m == "READY=1"),
            "{start:?}"
        );
        start
    }

    /// Every datagram until one whose first line is `until` (including
    /// it: `STOPPING=1` comes with its `EXTEND_TIMEOUT_USEC=`).
    fn collect_until(&self, until: &str) -> Vec<String> {
        let mut all = Vec::new();
        loop {
            let message = self.recv_one();
            let done = message.lines().next() == Some(until);
            all.push(message);
            if done {
                return all;
            }
        }
    }
}

#[test]
fn a_state_change_the_manager_cannot_hear_is_logged_every_time() {
    let mut svc = Service::new(V1);
    // Nobody listens at the notify socket's path.
    svc.start_with_env(&[], &[("NOTIFY_SOCKET", &svc.dir.path().join("gone.sock"))]);
    svc.ready();
    svc.reload_ok();
    svc.stop_expecting(0);
    let out = svc.output.text();
    for change in ["(READY=1)", "(RELOADING=1)", "(STOPPING=1)"] {
        let lost = format!(
            "cannot notify the service manager at {}",
            svc.dir.path().join("gone.sock").display()
        );
        assert!(
            out.lines().any(|l| l.contains(&lost) && l.contains(change)),
            "{change} not logged: {out}"
        );
    }
}

#[test]
fn a_notify_socket_it_cannot_use_holds_no_start_though_stderr_is_full() {
    // stderr full from the start (a log shipper hung before it), and a
    // `NOTIFY_SOCKET` of a kind it cannot use: the line saying so was
    // written on the spot, before the control socket was bound, and held
    // the start for as long as nobody read. Now it waits its turn.
    let mut svc = Service::new(V1);
    let read_end = svc.start_with_stderr_unread(&[("NOTIFY_SOCKET", "vsock:2:999")], true);
    // Served with the line unsaid; read from now (the log shipper back),
    // it comes, or, had stderr stalled past the writer's patience, its
    // count as dropped: not lost unsaid.
    let reading = std::thread::spawn(move || {
        let mut said = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(read_end), &mut said).unwrap();
        said
    });
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_supervisor_exit().code(), Some(0));
    let said = reading.join().unwrap();
    assert!(
        said.contains("(a vsock address, which littleboss does not speak")
            || said.contains("log line(s) dropped"),
        "{said}"
    );
}

#[test]
fn a_notification_the_managers_full_queue_turns_away_waits_its_turn() {
    let mut svc = Service::new(V1);
    let socket = svc.dir.path().join("notify.sock");
    let manager = Manager::bind(&socket);
    // The manager's queue full, as PID 1's is when it is busy: one queue
    // takes every service's notifications, and the kernel keeps it short.
    let filled = fill_queue_of(&socket);
    svc.start_with_env(&[], &[("NOTIFY_SOCKET", &socket)]);
    // The supervisor serves, and answers, while its notifications wait
    // (each was sent with a wait of up to a second on its loop, and lost
    // when that ran out: READY=1 never came, as below).
    svc.ready();
    svc.output.wait_for("its queue is full; waiting to send it");
    assert!(svc.control("status").status.success());
    for _ in 0..filled {
        assert_eq!(manager.recv_one(), "FILLER=1");
    }
    manager.started();
    svc.output.wait_for("notifying the service manager at");
    assert!(
        svc.output.text().contains("works again"),
        "{}",
        svc.output.text()
    );
    assert_eq!(svc.control("stop").status.code(), Some(0));
    assert!(manager.next().starts_with("STOPPING=1\n"));
    assert_eq!(svc.wait_exit().code(), Some(0));
}

/// Fills the queue of the datagram socket at `path` with `FILLER=1`s: how
/// many. From as many sockets as it takes: each datagram waiting counts
/// against its sender's send buffer too, which may run out first (where
/// systemd sets `net.unix.max_dgram_qlen` to 512), so the queue is full
/// only once a new socket cannot send either. (Closed, what they sent
/// still waits: a datagram holds its sender.)
fn fill_queue_of(path: &std::path::Path) -> usize {
    let mut filled = 0;
    loop {
        let filler = UnixDatagram::unbound().unwrap();
        filler.set_nonblocking(true).unwrap();
        let mut sent = 0;
        while filler.send_to(b"FILLER=1", path).is_ok() {
            sent += 1;
        }
        if sent == 0 {
            return filled;
        }
        filled += sent;
        assert!(filled < 100_000, "the queue never fills");
    }
}

/// A supervisor of `V1` started under the stand-in service manager, and
/// the manager.
fn managed() -> (Service, Manager) {
    managed_with(&[])
}

/// [`managed`], with the variables `env` set too (a watchdog's).
fn managed_with(env: &[(&str, &dyn AsRef<std::ffi::OsStr>)]) -> (Service, Manager) {
    let mut svc = Service::new(V1);
    let socket = svc.dir.path().join("notify.sock");
    let manager = Manager::bind(&socket);
    let mut all = vec![("NOTIFY_SOCKET", &socket as &dyn AsRef<std::ffi::OsStr>)];
    all.extend_from_slice(env);
    svc.start_with_env(&[], &all);
    (svc, manager)
}

#[test]
fn notify_follows_start_reload_failed_reload_and_stop() {
    let (mut svc, manager) = managed();
    manager.started();

    // A reload asked with `-littleboss=reload`: RELOADING=1 unstamped,
    // which systemd does not take for the answer to a SIGHUP of its own.
    assert!(svc.control_with(V1, "reload", &[]).status.success());
    assert_eq!(manager.next(), "RELOADING=1");
    assert_eq!(manager.next(), "READY=1");
    // `Type=notify-reload`'s own way: SIGHUP, then RELOADING=1 stamped
    // (`MONOTONIC_USEC`) after the signal, which systemd takes as its
    // answer, then READY=1.
    let asked = monotonic_usec();
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    reloading_since(&manager, asked);
    assert_eq!(manager.next(), "READY=1");

    // A failed reload ends too: the old child serves on.
    assert_eq!(
        svc.control_with(FAILS, "reload", &[]).status.code(),
        Some(1)
    );
    assert_eq!(manager.next(), "RELOADING=1");
    assert_eq!(manager.next(), "READY=1");

    assert_eq!(svc.control("stop").status.code(), Some(0));
    // With how long the drain may take, which systemd's stop timer is
    // lengthened to: the child's lameduck (the default, 2 s), and 8 s for
    // a killed child's exit and the supervisor's own (more while an old
    // child killed at its timeout is still to be reaped, which a loaded
    // machine may leave).
    let stopping = manager.next();
    let usec: u64 = (stopping.strip_prefix("STOPPING=1\nEXTEND_TIMEOUT_USEC="))
        .and_then(|usec| usec.parse().ok())
        .unwrap_or_else(|| panic!("{stopping:?}"));
    assert!((10_000_000..=15_000_000).contains(&usec), "{stopping:?}");
    // The status line said who served, and counted.
    let statuses = manager.statuses.borrow();
    assert!(
        statuses
            .iter()
            .any(|s| s.starts_with("child pid ") && s.ends_with(", reloads 1, failures 0")),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.ends_with(", reloads 2, failures 1")),
        "{statuses:?}"
    );
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn a_sighup_reload_whose_child_fails_ends_with_ready_as_the_old_child_serves_on() {
    // `Type=notify-reload`'s own reload, its new child spawned and then
    // failing (a deploy swapped a broken build in at the serving path):
    // READY=1 still ends it, or `systemctl reload` would hang to its
    // timeout (review 970).
    let (svc, manager) = managed();
    manager.started();
    let copy = svc.dir.path().join("versioned_v1-copy");
    tests::copy_binary(std::path::Path::new(V1), &copy);
    assert!(svc.control_with(&copy, "reload", &[]).status.success());
    assert_eq!(manager.next(), "RELOADING=1");
    assert_eq!(manager.next(), "READY=1");
    let serving = |svc: &Service| {
        let out = svc.control_with(V1, "status", &["--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    tests::eventually("the upgrade", || {
        (serving(&svc)["upgrades"] == 1).then_some(())
    });
    let pid = serving(&svc)["child"]["pid"].clone();
    let broken = svc.dir.path().join("versioned_fails-copy");
    tests::copy_binary(std::path::Path::new(FAILS), &broken);
    std::fs::rename(&broken, &copy).unwrap();
    let asked = monotonic_usec();
    svc.signal(Signal::SIGHUP);
    reloading_since(&manager, asked);
    assert_eq!(manager.next(), "READY=1");
    svc.output.wait_for("failed to start version 2");
    let status = serving(&svc);
    assert_eq!(status["child"]["pid"], pid, "the old child serves on");
    assert_eq!(status["failures"], 1);
    assert_eq!(svc.control("stop").status.code(), Some(0));
    assert!(manager.next().starts_with("STOPPING=1\n"));
}

#[test]
fn a_sighup_queued_behind_a_reload_is_answered_by_its_own_reload_only() {
    // Under `Type=notify-reload`, systemd's SIGHUP waits for RELOADING=1
    // stamped after it, then READY=1. The control reloads ahead of the
    // SIGHUP say RELOADING=1 unstamped, which systemd ignores then:
    // `systemctl reload` ends with the SIGHUP's own reload, not before.
    let (svc, manager) = managed();
    manager.started();
    let hold = svc.dir.path().join("hold");
    std::fs::write(&hold, "").unwrap();
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    let queued = svc.spawn_control(V1, "reload");
    svc.output.wait_for(&format!("reload of {V1} waits for"));
    let asked = monotonic_usec();
    svc.signal(Signal::SIGHUP);
    svc.output
        .wait_for("reload of the serving binary waits for");
    std::fs::remove_file(&hold).unwrap();

    assert_eq!(manager.next(), "RELOADING=1", "the slow reload");
    assert_eq!(manager.next(), "READY=1", "the slow child is ready");
    assert_eq!(manager.next(), "RELOADING=1", "the queued control reload");
    assert_eq!(manager.next(), "READY=1");
    reloading_since(&manager, asked);
    assert_eq!(manager.next(), "READY=1");
    for reload in [slow, queued] {
        let out = reload.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
}

/// The next message is `RELOADING=1` with a `MONOTONIC_USEC` from `asked`
/// (µs) up to now.
fn reloading_since(manager: &Manager, asked: u64) {
    let reloading = manager.next();
    let (first, usec) = reloading.split_once('\n').unwrap();
    assert_eq!(first, "RELOADING=1");
    let usec: u64 = usec
        .strip_prefix("MONOTONIC_USEC=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec >= asked, "{usec} before {asked}");
    assert!(usec <= monotonic_usec(), "{usec} in the future");
}

/// `CLOCK_MONOTONIC` in microseconds, as systemd reads it.
fn monotonic_usec() -> u64 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    now.tv_sec() as u64 * 1_000_000 + now.tv_nsec() as u64 / 1_000
}

#[test]
fn the_last_status_line_says_why_the_supervisor_exits() {
    let (mut svc, manager) = managed();
    manager.collect_until("READY=1");
    let out = svc.control_with(V1, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let child = status["child"]["pid"].as_i64().unwrap() as i32;
    // Killed from outside, without `persist`: the supervisor gives up.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL).unwrap();
    assert_eq!(svc.wait_exit().code(), Some(137));
    // Everything it sent is queued by now.
    manager.socket.set_nonblocking(true).unwrap();
    let mut last_status = None;
    let mut buf = [0u8; 4096];
    while let Ok(n) = manager.socket.recv(&mut buf) {
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Some(status) = message.strip_prefix("STATUS=") {
            last_status = Some(status.to_owned());
        }
    }
    assert_eq!(
        last_status.as_deref(),
        Some("no child is running and persist is off; exiting with code 137")
    );
}

#[test]
fn notify_reaches_an_abstract_socket_and_the_watchdog_ticks() {
    let mut svc = Service::new(V1);
    let name = format!(
        "littleboss-test-{}-{:?}",
        std::process::id(),
        Instant::now()
    );
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            &name,
        )
        .unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    let manager = Manager {
        socket,
        statuses: Default::default(),
    };
    let mut cmd = svc.command(V1);
    cmd.arg("-littleboss=start")
        .env("NOTIFY_SOCKET", format!("@{name}"))
        .env("WATCHDOG_USEC", "200000");
    svc.spawn(cmd);
    let seen = manager.collect_until("READY=1");
    assert!(
        seen.iter().all(|m| !m.starts_with("STOPPING=1")),
        "{seen:?}"
    );
    for _ in 0..3 {
        while manager.recv_one() != "WATCHDOG=1" {}
    }
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn a_watchdog_meant_for_another_process_is_said_and_not_pinged() {
    // `WATCHDOG_PID` names the process `ExecStart=` started, here another
    // (a wrapper that forks rather than execs): the pings are not ours to
    // send, and the log says why none go, lest the kills that follow
    // every interval go unexplained.
    let (svc, manager) = managed_with(&[("WATCHDOG_USEC", &"200000"), ("WATCHDOG_PID", &"1")]);
    let mut seen = manager.collect_until("READY=1");
    // Said before READY=1, but through the log's own thread.
    let out = svc
        .output
        .wait_for("WATCHDOG_PID=1 names another process than this one (pid ");
    assert!(out.contains("; not sending watchdog pings"), "{out}");
    // Up to the stop, none (the first would go with READY=1).
    assert_eq!(svc.control("stop").status.code(), Some(0));
    seen.extend(manager.collect_until("STOPPING=1"));
    assert!(!seen.iter().any(|m| m == "WATCHDOG=1"), "{seen:?}");
}

#[test]
fn the_watchdog_is_pinged_just_before_an_upgrade_in_place() {
    // An interval so long that the only pings are the first of each image
    // and the one before the exec, which leaves the new image the whole
    // interval to come up (its code before `run` included).
    let (svc, manager) = managed_with(&[("WATCHDOG_USEC", &"600000000")]);
    let mut seen = manager.collect_until("READY=1");
    let copy = svc.dir.path().join("versioned_v1-copy");
    tests::copy_binary(std::path::Path::new(V1), &copy);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    seen.extend(manager.collect_until("READY=1"));
    tests::eventually("the upgrade", || {
        let out = svc.control_with(V1, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["upgrades"] == 1).then_some(())
    });
    assert_eq!(svc.control("stop").status.code(), Some(0));
    seen.extend(manager.collect_until("STOPPING=1"));
    let pings = seen.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert_eq!(pings, 3, "{seen:?}");
}

#[test]
fn the_manager_is_heard_after_its_socket_path_is_gone_and_an_upgrade_in_place() {
    // The path is looked up once, as the supervisor starts: moved away
    // (as a chroot `supervisor_init` enters hides it), the manager still
    // hears every state change, from the image an upgrade brings too.
    let (svc, manager) = managed();
    manager.collect_until("READY=1");
    let socket = svc.dir.path().join("notify.sock");
    std::fs::rename(&socket, svc.dir.path().join("notify-moved.sock")).unwrap();
    let copy = svc.dir.path().join("versioned_v1-copy");
    tests::copy_binary(std::path::Path::new(V1), &copy);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(manager.next(), "RELOADING=1");
    assert_eq!(manager.next(), "READY=1");
    tests::eventually("the upgrade", || {
        let out = svc.control_with(V1, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["upgrades"] == 1).then_some(())
    });
    let asked = monotonic_usec();
    svc.signal(Signal::SIGHUP);
    reloading_since(&manager, asked);
    assert_eq!(manager.next(), "READY=1");
    assert_eq!(svc.control("stop").status.code(), Some(0));
    assert!(manager.next().starts_with("STOPPING=1\n"));
    let said = svc.output.text();
    assert!(!said.contains("cannot notify"), "{said}");
}

#[test]
fn the_watchdog_is_pinged_again_as_a_failed_upgrade_goes_back() {
    pinged_as_a_failed_upgrade_goes_back(false);
}

#[test]
fn the_watchdog_is_pinged_again_as_a_failed_upgrade_goes_back_with_the_managers_path_gone() {
    // The ping on the way back goes through the socket handed over, as
    // every other does (it went by the path, which a chroot may hide).
    pinged_as_a_failed_upgrade_goes_back(true);
}

/// As above, to a release whose code before `run` exits in a new image:
/// the first ping, the one before the exec, one before the exec back,
/// and the old image's first again; the manager's socket moved away from
/// its path first if `path_gone`.
fn pinged_as_a_failed_upgrade_goes_back(path_gone: bool) {
    let (svc, manager) = managed_with(&[("WATCHDOG_USEC", &"600000000")]);
    let mut seen = manager.collect_until("READY=1");
    if path_gone {
        let socket = svc.dir.path().join("notify.sock");
        std::fs::rename(&socket, svc.dir.path().join("notify-moved.sock")).unwrap();
    }
    let copy = svc.dir.path().join("versioned_exits_early-copy");
    let early = env!("CARGO_BIN_EXE_versioned_exits_early");
    tests::copy_binary(std::path::Path::new(early), &copy);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let said = text(&reload);
    assert!(said.contains("runs on from its old binary"), "{said}");
    seen.extend(manager.collect_until("READY=1"));
    svc.output.wait_for("exiting before run");
    assert_eq!(svc.control("stop").status.code(), Some(0));
    seen.extend(manager.collect_until("STOPPING=1"));
    let pings = seen.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert_eq!(pings, 4, "{seen:?}");
    let said = svc.output.text();
    assert!(!said.contains("cannot notify"), "{said}");
}

/// Runs `bin args` as a service manager would after socket activation:
/// `fd` at fd 3, LISTEN_PID set to the program's own pid.
fn activated(svc: &mut Service, bin: &str, fd: impl AsFd, name: Option<&str>, args: &[&str]) {
    activated_with(svc, bin, fd, name, args, &[]);
}

/// [`activated`], with the variables `env` set too.
fn activated_with(
    svc: &mut Service,
    bin: &str,
    fd: impl AsFd,
    name: Option<&str>,
    args: &[&str],
    env: &[(&str, &std::path::Path)],
) {
    // The socket arrives as the shell's stdin (std sets that up, close-on-
    // exec elsewhere, whatever its number here), the shell moves it to fd 3
    // and becomes `bin`: single-digit fds only, as every sh accepts.
    // Close-on-exec in this process (not `dup`'s copy, which the shell
    // and so the program would inherit at another number too, and with
    // it, tests running meanwhile).
    let socket = fd.as_fd().try_clone_to_owned().unwrap();
    let names = name.map_or(String::new(), |name| format!(" LISTEN_FDNAMES={name}"));
    let script = format!(
        "exec 3<&0 0</dev/null; export LISTEN_PID=$$ LISTEN_PIDFDID=4242 LISTEN_FDS=1{names}; exec \"$0\" \"$@\""
    );
    let mut cmd = svc.command("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(bin)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::from(socket));
    svc.spawn(cmd);
}

#[test]
fn sockets_passed_to_a_wrapper_that_does_not_exec_are_said_not_taken() {
    // `ExecStart=/bin/sh -c 'prog ...'` without exec: systemd names the
    // shell in LISTEN_PID. The sockets are not the program's to take, as
    // libsystemd says; but it says so, rather than bind its own unsaid.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut svc = Service::new(ECHO);
    let socket = listener.as_fd().try_clone_to_owned().unwrap();
    // `exit $?` after it: bash execs a `-c` script's last command itself.
    let script = "exec 3<&0 0</dev/null; export LISTEN_PID=$$ LISTEN_FDS=1; \"$0\" \"$@\"; exit $?";
    let mut cmd = svc.command("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(ECHO)
        .arg("-littleboss=start")
        .stdin(std::process::Stdio::from(socket));
    svc.spawn(cmd);
    let said = svc.output.wait_for("names another process than this one");
    let note = format!(
        "littleboss: note: LISTEN_PID={} names another process than this one (pid ",
        svc.pid()
    );
    assert!(said.contains(&note), "{said}");
    assert!(
        said.contains("the socket passed with it is not taken"),
        "{said}"
    );
    svc.ready();
    assert_eq!(svc.control("stop").status.code(), Some(0));
    svc.wait_exit();
}

#[test]
fn another_processs_activation_variables_reach_nothing_supervisor_init_starts_though_a_note_came_first()
 {
    // LISTEN_PID names another process (a wrapper that did not exec), and
    // the supervisor says something before it binds its listeners (the
    // /tmp fallback under a service manager), which starts its log's
    // writer thread. The variables must be out of its environment before
    // that: with a second thread it can no longer take them out, and what
    // `supervisor_init` starts would inherit them.
    let bin = env!("CARGO_BIN_EXE_init_sidecar");
    let mut svc = Service::new(bin);
    let tmp = svc.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let managed = |cmd: &mut std::process::Command| tests::as_a_system_service(cmd, &tmp);
    let mut cmd = svc.command(bin);
    managed(&mut cmd);
    cmd.env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "addr")
        .arg("-littleboss=start");
    svc.spawn(cmd);
    let said = svc.output.wait_for("names another process than this one");
    assert!(
        said.find("note: the control folder is").expect("the note")
            < said.find("LISTEN_PID=1 names another").expect("waited for"),
        "{said}"
    );
    let sidecar: u32 = svc.printed("sidecar pid");
    let strays = tests::Strays::of([sidecar]);
    let environ = tests::eventually("the sidecar to run sleep", || {
        let argv = tests::procfs::cmdline(sidecar)?;
        (argv.first()? == b"sleep").then_some(())?;
        tests::procfs::environ(sidecar)
    });
    assert_eq!(environ["INVOCATION_ID"], "0123456789abcdef");
    let inherited: Vec<_> = environ
        .keys()
        .filter(|k| k.starts_with("LISTEN_"))
        .collect();
    assert!(inherited.is_empty(), "the sidecar inherited {inherited:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sidecar as i32), Signal::SIGKILL).unwrap();
    tests::eventually("the sidecar gone", || (!strays.runs(sidecar)).then_some(()));
    svc.ready();
    let mut stop = svc.command(bin);
    managed(&mut stop);
    let out = stop.arg("-littleboss=stop").output_in_time();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    svc.wait_exit();
}

#[test]
fn what_code_before_run_starts_inherits_no_activated_socket() {
    // A builder program's code before `run` starts a helper; systemd
    // passed the listening socket. The helper must not hold it (it would
    // keep the port open for its whole life) nor see the variables.
    let bin = env!("CARGO_BIN_EXE_prerun_spawn");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let inode = {
        use std::os::unix::fs::MetadataExt;
        let fd = listener.as_fd().try_clone_to_owned().unwrap();
        std::fs::File::from(fd).metadata().unwrap().ino()
    };
    let mut svc = Service::new(bin);
    let pids = svc.dir.path().join("prerun-pids");
    let env = [("PRERUN_PIDS", pids.as_path())];
    activated_with(
        &mut svc,
        bin,
        &listener,
        Some("addr"),
        &["-littleboss=start"],
        &env,
    );
    drop(listener);
    svc.ready();
    let (by, helper) = tests::eventually("the supervisor's helper", || {
        let text = std::fs::read_to_string(&pids).ok()?;
        let (by, pid) = text.lines().next()?.split_once(' ')?;
        Some((by.parse::<i32>().ok()?, pid.parse::<u32>().ok()?))
    });
    let _helper = tests::Strays::of([helper]);
    assert_eq!(by, svc.pid());
    let socket = format!("socket:[{inode}]");
    let held: Vec<_> = std::fs::read_dir(format!("/proc/{helper}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.to_str() == Some(socket.as_str()))
        .collect();
    assert!(held.is_empty(), "the helper holds the activated socket");
    let environ = tests::procfs::environ(helper).unwrap();
    // `LISTEN_PIDFDID` too, which systemd 258 sets (the script does).
    for var in [
        "LISTEN_PID",
        "LISTEN_PIDFDID",
        "LISTEN_FDS",
        "LISTEN_FDNAMES",
    ] {
        assert!(!environ.contains_key(var), "{var}");
    }
    // Every helper killed at the end, the child's too (in a group of its
    // own, it outlives the child).
    let _helpers = tests::Strays::of(
        std::fs::read_to_string(&pids)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(' ')?.1.parse::<u32>().ok()),
    );
    // The supervisor serves on it still.
    assert_eq!(svc.control("status").status.code(), Some(0));
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

/// Once `svc`'s program is in lameduck: its own unix socket refuses new
/// connections (its file at `path` gone), and systemd's at `addr` queues
/// them for the next start.
fn draining_refuses_on_its_own_only(svc: &Service, path: &std::path::Path, addr: SocketAddr) {
    svc.output.wait_for("lameduck pid=");
    assert!(
        !path.exists(),
        "its own socket file stayed while it drained"
    );
    drop(TcpStream::connect(addr).expect("the manager's socket queues on"));
}

#[test]
fn bypass_with_some_sockets_activated_removes_its_own_socket_file_when_a_second_signal_ends_it() {
    // systemd passes the TCP socket; the unix one is bound here, so its
    // file is this process's to remove, however the process ends.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("own.sock");
    let sock = format!("-sock={}", path.display());
    activated(
        &mut svc,
        bin,
        &listener,
        Some("port"),
        &[&sock, "-port=127.0.0.1:0", "--linger-long"],
    );
    let addr = listener.local_addr().unwrap();
    drop(listener);
    svc.output.wait_for("serving unix pid=");
    assert!(path.exists());
    svc.signal(Signal::SIGTERM);
    draining_refuses_on_its_own_only(&svc, &path, addr);
    // Lameduck (at once: no connection is open). A second signal later
    // than a sender's copy to the group is not the same stop, and ends
    // it while it lingers.
    svc.second_stop(|| svc.signal(Signal::SIGTERM));
    svc.dies_of(Signal::SIGTERM);
    assert!(!path.exists(), "the socket file outlived the program");
}

/// `unix_server` supervised, lingering after lameduck while the returned
/// gate file stands, its TCP listener passed by "systemd" (the returned
/// socket, the manager's copy) and its unix one bound by littleboss at
/// the returned path; ready.
fn supervised_with_some_sockets_activated()
-> (Service, TcpListener, std::path::PathBuf, std::path::PathBuf) {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("own.sock");
    let gate = svc.gate("linger");
    let sock = format!("-sock={}", path.display());
    let args = ["-littleboss=start", &sock, "-port=127.0.0.1:0", "--linger"];
    let env = [("LINGER_GATE", gate.as_path())];
    activated_with(&mut svc, bin, &listener, Some("port"), &args, &env);
    svc.output.wait_for("serving unix pid=");
    svc.ready();
    (svc, listener, path, gate)
}

/// What descriptor `fd` of process `pid` names (`/dev/null`,
/// `socket:[INODE]`...), if it is open.
fn fd_target(pid: i32, fd: i32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()
}

#[test]
fn the_childrens_channel_number_is_held_on_dev_null_whatever_was_passed_there() {
    // Each child's channel goes to fd 3. The supervisor holds that number
    // on /dev/null for its life, from its start, so that no close (a
    // listener a reload drops, a lock file made again) frees it for std's
    // exec-error pipe while a spawn is under way. systemd's socket,
    // passed there, is moved off it and listens on.
    let (mut svc, listener, _path, gate) = supervised_with_some_sockets_activated();
    let supervisor = svc.pid();
    let passed = {
        use std::os::unix::fs::MetadataExt;
        let fd = listener.as_fd().try_clone_to_owned().unwrap();
        format!(
            "socket:[{}]",
            std::fs::File::from(fd).metadata().unwrap().ino()
        )
    };
    assert_eq!(
        fd_target(supervisor, 3),
        Some("/dev/null".into()),
        "activated"
    );
    assert!(
        (4..4096)
            .any(|fd| fd_target(supervisor, fd).is_some_and(|t| t.as_os_str() == passed.as_str())),
        "the passed socket is not held"
    );
    // Still listening, with only the supervisor's (and child's) copies.
    let addr = listener.local_addr().unwrap();
    drop(listener);
    TcpStream::connect(addr).expect("the moved socket listens");
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(svc.control("stop").status.code(), Some(0));
    svc.wait_exit();
    // Without systemd: held from the start, not left to the lock file.
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    svc.ready();
    assert_eq!(
        fd_target(svc.pid(), 3),
        Some("/dev/null".into()),
        "{}",
        svc.output.text()
    );
    svc.stop_expecting(0);
}

#[test]
fn a_stop_with_some_sockets_activated_refuses_on_its_own_and_keeps_the_managers_open() {
    let (mut svc, listener, path, gate) = supervised_with_some_sockets_activated();
    let addr = listener.local_addr().unwrap();
    // The supervisor holds the manager's socket for its life.
    drop(listener);
    svc.signal(Signal::SIGTERM);
    // The child drains (and lingers while its gate stands) meanwhile.
    draining_refuses_on_its_own_only(&svc, &path, addr);
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn an_orphan_with_some_sockets_activated_refuses_on_its_own_and_keeps_the_managers_open() {
    // The manager's copy kept, as the service manager keeps it.
    let (mut svc, listener, path, gate) = supervised_with_some_sockets_activated();
    let addr = listener.local_addr().unwrap();
    // The supervisor dies; its child, orphaned, winds down (and lingers
    // while its gate stands), refusing on its own socket only.
    svc.signal(Signal::SIGKILL);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(svc.wait_supervisor_exit().signal(), Some(9));
    draining_refuses_on_its_own_only(&svc, &path, addr);
    std::fs::remove_file(&gate).unwrap();
    // The orphan ends by itself (it holds the output's pipes).
    svc.output.wait_closed();
}

#[test]
fn a_supervisor_that_exits_with_an_exec_hung_leaves_the_managers_socket_listening() {
    // A second stop signal ends the supervisor at once, while a reload's
    // exec hangs (held at the gate): the supervisor shuts its own sockets
    // as it leaves, for they would listen for nobody, but not the one the
    // manager passed, which is the manager's, and listens for the next
    // instance; and it kills the process of the hung exec.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut svc = Service::new(bin);
    let gate = svc.dir.path().join("spawn-gate");
    let sock = format!("-sock={}", svc.dir.path().join("own.sock").display());
    let args = ["-littleboss=start", &sock, "-port=127.0.0.1:0"];
    let env = [("LITTLEBOSS_TEST_SPAWN_GATE", gate.as_path())];
    activated_with(&mut svc, bin, &listener, Some("port"), &args, &env);
    svc.output.wait_for("serving unix pid=");
    svc.ready();
    std::fs::write(&gate, "").unwrap();
    svc.signal(Signal::SIGHUP);
    tests::eventually("the reload's exec under way", || {
        let out = svc.control_with(bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["binding"].is_object().then_some(())
    });
    svc.signal(Signal::SIGTERM);
    svc.output.wait_for("SIGTERM received: stopping");
    svc.second_stop(|| svc.signal(Signal::SIGTERM));
    let status = svc.wait_supervisor_exit();
    assert!(status.code().is_some(), "{status:?}: {}", svc.output.text());
    // The hung exec's process went with it, the gate still up.
    let hung = svc.hung_exec_killed();
    tests::wait_dead("the hung exec's process", hung);
    std::fs::remove_file(&gate).unwrap();
    // The manager's socket still listens: a client is queued, not refused.
    TcpStream::connect_timeout(&addr, DEADLINE)
        .unwrap_or_else(|e| panic!("{e}: {}", svc.output.text()));
    drop(listener);
}

#[test]
fn a_socket_left_over_in_bypass_mode_is_said_through_the_programs_logger() {
    // Run directly under socket activation, with its logger set before
    // `run`: the note that a passed socket matches no listener is the
    // program's line, its logger's, not one around it on stderr.
    let bin = env!("CARGO_BIN_EXE_early_logger");
    let stray = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut svc = Service::new(bin);
    activated(&mut svc, bin, &stray, Some("stray"), &[]);
    drop(stray);
    let said = "LOG WARN littleboss: socket activation: fd 3 named `stray` matches no listener; closing it";
    svc.output.wait_for(said);
    svc.output.wait_for("serving addr=");
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let out = svc.output.text();
    assert_eq!(out.matches("matches no listener").count(), 1, "{out}");
}

fn activated_echo(mode: &str, name: Option<&str>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut svc = Service::new(ECHO);
    activated(
        &mut svc,
        ECHO,
        &listener,
        name,
        &[&format!("-littleboss={mode}")],
    );
    drop(listener);
    // The program serves on the socket it was given, not one of its own.
    assert_eq!(svc.printed_addr("addr"), addr, "{mode}");
    assert_eq!(echo(addr, "activated").unwrap(), "activated\n", "{mode}");
    if mode == "start" {
        let status = svc.control_with(ECHO, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(status["listeners"][0]["address"], addr.to_string());
        svc.reload_ok();
        assert_eq!(echo(addr, "after reload").unwrap(), "after reload\n");
        // Named by the address the socket really has, it is that socket;
        // a move is refused, naming that address.
        let real = format!("-addr={addr}");
        let reload = svc.control_with(ECHO, "reload", &[&real]);
        assert!(reload.status.success(), "{}", text(&reload));
        assert_eq!(echo(addr, "named").unwrap(), "named\n");
        let elsewhere = format!("-addr=127.0.0.1:{}", tests::free_port());
        let moved = svc.control_with(ECHO, "reload", &[&elsewhere]);
        assert_eq!(moved.status.code(), Some(1), "{}", text(&moved));
        let owns = format!("(the service manager owns tcp {addr}) and cannot move");
        assert!(text(&moved).contains(&owns), "{}", text(&moved));
        assert_eq!(svc.control("stop").status.code(), Some(0));
    } else {
        svc.signal(nix::sys::signal::Signal::SIGTERM);
    }
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn socket_activation_in_bypass_by_name() {
    activated_echo("bypass", Some("addr"));
}

#[test]
fn socket_activation_under_a_supervisor_unnamed() {
    activated_echo("start", None);
}

/// `ECHO`, passed `socket` named `name`, exits 1 saying `said`, in
/// bypass mode and under a supervisor alike.
fn activation_refused(socket: &impl AsFd, name: &str, said: &str) {
    for mode in ["bypass", "start"] {
        let mut svc = Service::new(ECHO);
        activated(
            &mut svc,
            ECHO,
            socket,
            Some(name),
            &[&format!("-littleboss={mode}")],
        );
        assert_eq!(svc.wait_exit().code(), Some(1), "{mode}");
        let out = svc.output.text();
        assert!(out.contains(said), "{mode}: {out}");
    }
}

#[test]
fn socket_activation_refuses_a_socket_of_the_wrong_type() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    activation_refused(
        &udp,
        "addr",
        "socket activation: listener `addr`: fd 3 is an IPv4 datagram (udp4) socket, not a tcp socket",
    );
}

#[test]
fn an_accept_yes_connection_is_refused_saying_so() {
    // systemd names the one connection an `Accept=yes` unit passes
    // `connection`: no listener's name, but not a socket to close either.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (connection, _) = listener.accept().unwrap();
    activation_refused(
        &connection,
        "connection",
        "socket activation: listener `addr`: fd 3 is a tcp socket that is not listening (a connection, as a unit with `Accept=yes` passes",
    );
}

#[test]
fn a_passed_socket_closed_before_run_is_refused_not_taken_for_what_has_its_number() {
    // Code before `run` closes fds 3 and up; the supervisor's lock then
    // opens at 3: it must not be taken for the socket passed there.
    let bin = env!("CARGO_BIN_EXE_prerun_spawn");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut svc = Service::new(bin);
    let env = [("PRERUN_CLOSE_FDS", std::path::Path::new("1"))];
    activated_with(
        &mut svc,
        bin,
        &listener,
        Some("addr"),
        &["-littleboss=start"],
        &env,
    );
    assert_eq!(svc.wait_exit().code(), Some(1));
    let out = svc.output.text();
    assert!(
        out.contains("socket activation: fd 3 was passed, but this program closed it before littleboss took it"),
        "{out}"
    );
}

#[test]
fn a_count_of_more_fds_than_were_passed_is_refused_before_any_is_taken() {
    // One socket passed, three counted: fds 4 and 5 are what the process
    // opens itself (the supervisor's lock and control socket), which it
    // must not take for sockets and close as unmatched.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    for mode in ["bypass", "start"] {
        let mut svc = Service::new(ECHO);
        let socket = listener.as_fd().try_clone_to_owned().unwrap();
        // Fds 4 and 5 closed, whatever the test process left open there.
        let script = "exec 3<&0 0</dev/null 4>&- 5>&-; export LISTEN_PID=$$ LISTEN_FDS=3; exec \"$0\" \"$@\"";
        let mut cmd = svc.command("sh");
        cmd.arg("-c")
            .arg(script)
            .arg(ECHO)
            .arg(format!("-littleboss={mode}"))
            .stdin(std::process::Stdio::from(socket));
        svc.spawn(cmd);
        assert_eq!(
            svc.wait_exit().code(),
            Some(1),
            "{mode}: {}",
            svc.output.text()
        );
        let out = svc.output.text();
        assert!(
            out.contains("socket activation: LISTEN_FDS=3 counts fds 3 to 5, but fd 4 was not passed open when this program started"),
            "{mode}: {out}"
        );
        // Nothing of the service is left behind (its socket, its lock).
        let left = svc.left_in_control_dir();
        assert!(left.is_empty(), "{mode}: {left:?} {out}");
    }
}

/// Starts the `orphaner` fixture with test hook `hook` set, waits for
/// its orphan to be reaped, and checks the serving child is then the
/// supervisor's only child; whether the scan fell back to waitid alone.
fn orphan_reaped_with(hook: &str) -> (Service, bool) {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_orphaner"));
    svc.start_with_env(&[], &[(hook, &"1")]);
    let orphan: u32 = svc.printed("orphan");
    svc.output.wait_for(&format!(
        "reaped orphaned process pid {orphan} (exit code 0)"
    ));
    let fell_back = svc.output.text().contains("orphans are reaped by waitid");
    let (live, zombies) = tests::procfs::children(svc.pid() as u32);
    assert_eq!((live, zombies), (1, 0), "the serving child alone");
    (svc, fell_back)
}

#[test]
fn orphaned_descendants_that_proc_does_not_list_are_reaped_too() {
    // /proc mounted `hidepid=invisible` (systemd's `ProtectProc=invisible`)
    // lists no process of another user, such as a setuid helper's orphan:
    // waitid still finds the zombie.
    let (mut svc, fell_back) = orphan_reaped_with("LITTLEBOSS_TEST_PROC_HIDES");
    // /proc was read: not the fallback for a machine without it.
    assert!(!fell_back);
    svc.stop_expecting(0);
}

#[test]
fn orphaned_descendants_are_reaped_without_proc_too() {
    // A chroot without /proc: the scan falls back to waitid, one zombie at
    // a time.
    let (svc, fell_back) = orphan_reaped_with("LITTLEBOSS_TEST_NO_PROC");
    assert!(fell_back);
    assert_eq!(svc.control("stop").status.code(), Some(0));

    // One killed by a real-time signal, whose status nix cannot express:
    // reaped still, and the scan not stuck on it.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_orphaner"));
    svc.start_with_env(
        &[],
        &[("LITTLEBOSS_TEST_NO_PROC", &"1"), ("ORPHAN_SLEEP", &"60")],
    );
    let orphan: i32 = svc.printed("orphan");
    // Only once the shell is reaped is the sleep the supervisor's: a
    // shell (dash) reaps a background job that dies before it exits, and
    // no orphan is left.
    svc.output.wait_for("shell exited");
    // The shell's kill: nix names no real-time signal.
    let rt = nix::libc::SIGRTMIN() + 1;
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{rt} {orphan}")])
        .status()
        .unwrap();
    assert!(killed.success());
    svc.output.wait_for(&format!(
        "reaped orphaned process pid {orphan} (killed by a real-time signal)"
    ));
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn orphaned_descendants_are_adopted_and_reaped() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_orphaner"));
    svc.start(&[]);
    let orphan: u32 = svc.printed("orphan");
    svc.output.wait_for(&format!(
        "reaped orphaned process pid {orphan} (exit code 0)"
    ));
    let (_, zombies) = tests::procfs::children(svc.pid() as u32);
    assert_eq!(zombies, 0);
    assert_eq!(
        svc.control("stop").status.code(),
        Some(0),
        "{}",
        text(&svc.control("status"))
    );
}

#[test]
fn orphans_are_reaped_under_a_proc_of_another_pid_namespace() {
    // The supervisor in a pid namespace of its own with the host's /proc
    // left in place (`unshare -p` without `--mount-proc`, a sandbox): its
    // /proc/PID is some other process, which it must not take for a
    // child's (its binary, the signals it handles, its group): it says
    // so, and reaps by waitid alone.
    if !tests::pid_namespace_or_skip() {
        return;
    }
    let mut svc = Service::new(env!("CARGO_BIN_EXE_orphaner"));
    svc.spawn_in_pid_namespace(&["-littleboss=start"]);
    let orphan: u32 = svc.printed("orphan");
    svc.output.wait_for(
        "cannot read /proc (it numbers processes as another pid namespace does): orphans are reaped by waitid",
    );
    svc.output.wait_for(&format!(
        "reaped orphaned process pid {orphan} (exit code 0)"
    ));
    assert_eq!(svc.control("stop").status.code(), Some(0));
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn the_example_units_are_consistent_with_the_program() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/systemd");
    let service = std::fs::read_to_string(dir.join("littleboss-http.service")).unwrap();
    let socket = std::fs::read_to_string(dir.join("littleboss-http.socket")).unwrap();
    assert!(service.contains("\nType=notify-reload\n"));
    assert!(service.contains("-littleboss=start"));
    assert!(service.contains("\nKillMode=mixed\n"));
    assert!(service.contains("\nRuntimeDirectoryMode=0700\n"));
    // The socket's name is the listener's name in examples/src/bin/http.rs.
    assert!(socket.contains("\nFileDescriptorName=http\n"));
    let http = std::fs::read_to_string(dir.join("../src/bin/http.rs")).unwrap();
    assert!(http.contains("listener(http = "));
    // The stop's timeout outlasts the drain: the program's lameduck
    // timeout, 5 s for a kill not died of, and 3 s for the supervisor's
    // last answers, notices and log lines.
    let seconds = |text: &str, key: &str| -> u64 {
        let at = text.find(key).unwrap_or_else(|| panic!("no {key}")) + key.len();
        let digits: String = text[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // Whole seconds, as both are written: another form is this
        // check's to learn.
        let unit = text[at + digits.len()..].chars().next();
        assert!(matches!(unit, Some('s' | '\n')), "{key}{digits}{unit:?}");
        digits.parse().unwrap()
    };
    let stop = seconds(&service, "\nTimeoutStopSec=");
    let lameduck = seconds(&http, "lameduck = \"");
    assert!(
        stop > lameduck + 8,
        "TimeoutStopSec={stop}, lameduck {lameduck}s"
    );
}
