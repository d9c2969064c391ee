//! Signals to the supervisor (Go's TestBlockingSIGINT, and more), and a
//! child that outlives its supervisor.

use std::os::unix::process::CommandExt;

use nix::sys::signal::Signal;
use tests::{OutputInTime, Service, alive, echo, read_greeting, text};

#[test]
fn a_child_that_blocks_after_lameduck_is_killed_after_the_timeout_on_sigint() {
    let out = sigint_kills_the_blocker_at_its_timeout(&[]);
    assert!(out.contains("got lameduck signal, blocking"), "{out}");
}

#[test]
fn a_child_whose_lameduck_cannot_be_sent_is_still_killed_after_the_timeout() {
    // The lameduck order's send never finishes, as to a child that does
    // not read its channel (stopped, stuck) once its buffer is full: the
    // kill at its deadline is not held off behind it.
    let out = sigint_kills_the_blocker_at_its_timeout(&[("LITTLEBOSS_TEST_LAMEDUCK_HANGS", &"1")]);
    assert!(!out.contains("got lameduck signal"), "{out}");
}

#[test]
fn a_child_that_dies_while_its_lameduck_cannot_be_sent_is_seen_dead_at_once() {
    // The lameduck order's send never finishes (a child that does not
    // read its channel, whose end a process it started still holds), and
    // the child dies meanwhile: its end is seen then, not taken for a
    // child still running and killed at its lameduck timeout (3 s).
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocker"));
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_LAMEDUCK_HANGS", &"1")]);
    let child: i32 = svc.printed("started pid");
    svc.signal(Signal::SIGINT);
    // The watcher in its send: a death before it would prove nothing.
    svc.output
        .wait_for(&format!("the send to child pid {child} hangs"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL).unwrap();
    let status = svc.wait_exit();
    let out = svc.output.text();
    assert!(
        out.contains(&format!("child pid {child} was killed by SIGKILL")),
        "{out}"
    );
    assert!(
        !out.contains("is still running after its lameduck timeout"),
        "{out}"
    );
    assert_eq!(status.code(), Some(128 + 9), "{out}");
}

/// `blocker` started with `env` and sent SIGINT: its child is killed at
/// its lameduck timeout, and the supervisor exits with the child's status
/// (killed by SIGKILL). Returns the output.
fn sigint_kills_the_blocker_at_its_timeout(env: &[(&str, &dyn AsRef<std::ffi::OsStr>)]) -> String {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocker"));
    svc.start_with_env(&[], env);
    let child: i32 = svc.printed("started pid");
    svc.signal(Signal::SIGINT);
    let status = svc.wait_exit();
    let out = svc.output.text();
    assert!(
        out.contains("is still running after its lameduck timeout; killing it"),
        "{out}"
    );
    assert_eq!(status.code(), Some(128 + 9), "{out}");
    assert!(!alive(child), "child {child} survived");
    out
}

/// `slow_prerun` started, each of its processes held at a gate file in
/// the folder returned until the test removes it; the supervisor and its
/// first child let through, and ready.
fn gated(bin: &str) -> (Service, std::path::PathBuf) {
    let mut svc = Service::new(bin);
    let gates = svc.dir.path().join("gates");
    std::fs::create_dir(&gates).unwrap();
    svc.start_with_env(&[], &[("SLOW_PRERUN_GATE", &gates)]);
    for _ in 0..2 {
        std::fs::remove_file(next_gate(&gates).1).unwrap();
    }
    svc.ready();
    (svc, gates)
}

/// The next process waiting at a gate in `gates`: its pid and gate file.
fn next_gate(gates: &std::path::Path) -> (i32, std::path::PathBuf) {
    tests::eventually("a process at its gate", || {
        let entry = std::fs::read_dir(gates).ok()?.flatten().next()?;
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        Some((pid, entry.path()))
    })
}

#[test]
fn sighup_to_a_reloads_child_still_starting_does_not_fail_the_reload() {
    // `pkill -HUP` (logrotate's postrotate, say) lands while a reload's
    // child runs its code before `run`: its handler is not installed yet.
    // Each process of the fixture waits at a gate there until let go.
    let bin = env!("CARGO_BIN_EXE_slow_prerun");
    let (mut svc, gates) = gated(bin);
    let mut reload = svc.spawn_control(bin, "reload");
    let (starting, gate) = next_gate(&gates);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(starting), Signal::SIGHUP).unwrap();
    std::fs::remove_file(gate).unwrap();
    let done = reload.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(reload.0.stderr.as_mut().unwrap(), &mut said).unwrap();
    assert!(done.success(), "{said}\n{}", svc.output.text());
    let out = svc.control_with(bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["child"]["pid"], starting);
    svc.stop_expecting(0);
}

#[test]
fn a_reloads_child_that_finds_its_listeners_shut_by_a_stop_exits_quietly() {
    // A stop comes while a reload's child runs its code before `run`: by
    // the time it takes its listeners, the serving child has shut them.
    let bin = env!("CARGO_BIN_EXE_slow_prerun");
    let (svc, gates) = gated(bin);
    let mut reload = svc.spawn_control(bin, "reload");
    let (_, gate) = next_gate(&gates);
    let stop = svc.spawn_control(bin, "stop");
    svc.output.wait_for("stop requested");
    // The serving child refuses (its socket shut) as it drains.
    svc.output.wait_for("exited with code 0");
    std::fs::remove_file(gate).unwrap();
    let stop = stop.wait_with_output().unwrap();
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    // The reload it replaced fails, as any reload a stop overtakes.
    assert!(!reload.wait().unwrap().success());
    let said = svc.output.wait_closed();
    assert!(!said.contains("not listening"), "{said}");
    assert!(
        said.contains(
            "the service is stopping: its listeners were shut before this child could take them"
        ),
        "{said}"
    );
    // The reload's child exits 0, as the serving one did.
    let started = *tests::started_child_pids(&said)
        .get(1)
        .unwrap_or_else(|| panic!("no reload's child in: {said}"));
    let exited = format!("child pid {started} exited with code 0");
    assert!(said.contains(&exited), "{said}");
}

#[test]
fn a_stop_kills_a_reloads_child_stuck_before_run_at_its_hello_deadline() {
    // Its lameduck timeout is a minute; stuck in its code before `run`,
    // its channel open but never a word, it is killed as a start would
    // be, 10 s after its spawn, not waited for a minute.
    let bin = env!("CARGO_BIN_EXE_slow_prerun");
    let (mut svc, gates) = gated(bin);
    let mut reload = svc.spawn_control(bin, "reload");
    let (stuck, _gate) = next_gate(&gates);
    let stop = svc.spawn_control(bin, "stop");
    svc.output.wait_for("stop requested");
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let stop = stop.wait_with_output().unwrap();
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert!(!reload.wait().unwrap().success());
    let said = svc.output.text();
    let failure =
        format!("new child pid {stuck} ({bin}) did not answer on the child channel within 10s");
    assert!(said.contains(&failure), "{said}");
    assert!(!alive(stuck), "child {stuck} survived");
}

#[test]
fn sigterm_stops_gracefully_with_the_childs_code() {
    // A code of the child's own, which it exits with once lameduck begins:
    // neither a default success nor a death by a signal.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_exit_code"));
    svc.start(&["5"]);
    svc.output.wait_for("serving pid=");
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(5), "{}", svc.output.text());
    assert!(!svc.control_dir().join("exit_code.sock").exists());
}

/// SIGINT to `stubborn`'s supervisor, and once it drains another, as a
/// person's second Ctrl-C: the supervisor kills the child and dies of
/// SIGKILL's code.
fn interrupted_twice_apart(svc: &mut Service) {
    svc.signal(Signal::SIGINT);
    svc.output.wait_for("ignoring lameduck");
    // A person's second Ctrl-C comes later than a sender that signals the
    // process and its group at once; within that window it is the same stop.
    svc.second_stop(|| svc.signal(Signal::SIGINT));
    // Its lameduck timeout is 60 s; the harness deadline is far shorter.
    assert_eq!(
        svc.wait_exit().code(),
        Some(128 + 9),
        "{}",
        svc.output.text()
    );
}

#[test]
fn a_second_signal_kills_without_waiting_for_the_lameduck_timeout() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn"));
    svc.start(&[]);
    svc.output.wait_for("started pid=");
    interrupted_twice_apart(&mut svc);
    let out = svc.output.text();
    assert!(
        out.contains("ms after the first: killing every child now"),
        "{out}"
    );
}

#[test]
fn a_kill_goes_by_pid_where_a_seccomp_filter_refuses_it_through_the_pidfd() {
    // `pidfd_open` allowed, `pidfd_send_signal` not (a test hook answers
    // ENOSYS, as such a filter does): the second signal's kill still ends
    // the child, rather than leave it its whole minute of lameduck.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn"));
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_NO_PIDFD_SIGNAL", &"1")]);
    let child: u32 = svc.printed("started pid");
    interrupted_twice_apart(&mut svc);
    assert!(!alive(child as i32), "child pid {child} outlived its kill");
    let out = svc.output.text();
    if out.contains("children are watched by pid") {
        tests::skipped("no pidfds: the child was watched, and killed, by pid");
        return;
    }
    // By pid, as said: not through the pidfd, which the hook refused.
    assert_eq!(
        out.matches("pidfd_send_signal is refused here").count(),
        1,
        "{out}"
    );
}

#[test]
fn sighup_reloads_the_same_binary() {
    let svc_bin = env!("CARGO_BIN_EXE_echo_server");
    let mut svc = Service::new(svc_bin);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.output.wait_for("is ready");
    svc.signal(Signal::SIGHUP);
    svc.output.wait_for("reload: child pid ");
    svc.output.wait_for("entering lameduck mode");
    assert_eq!(echo(addr, "after hup").unwrap(), "after hup\n");
    let status = svc.control("status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("reloads 1, failures 0"),
        "{}",
        text(&status)
    );
}

#[test]
fn a_group_signal_pending_as_a_child_starts_is_not_the_childs() {
    // A ^C, or a SIGTERM or SIGUSR1/2 sent to the supervisor's group
    // (`kill -- -PGID`, GNU `timeout`), in the instant before the child had
    // a group of its own (a test hook leaves one pending, as it would): the
    // supervisor's, not the child's, which starts and serves (SIGUSR1/2
    // would kill it: its program has no handler yet).
    let group_wide = [
        ("2", "SIGINT"),
        ("15", "SIGTERM"),
        ("10", "SIGUSR1"),
        ("12", "SIGUSR2"),
    ];
    for (number, name) in group_wide {
        let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
        svc.start_with_env(&[], &[("LITTLEBOSS_TEST_SIGNAL_AT_SPAWN", &number)]);
        svc.ready();
        let addr = svc.printed_addr("addr");
        assert_eq!(echo(addr, "up").unwrap(), "up\n");
        let out = svc.output.text();
        assert!(!out.contains(&format!("by {name}")), "{out}");
        svc.stop_expecting(0);
    }
}

#[test]
fn a_child_whose_supervisor_is_killed_winds_down_and_exits() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let child: i32 = svc.printed("pid");
    svc.signal(Signal::SIGKILL);
    svc.wait_exit();
    svc.output.wait_for("the supervisor is gone; lameduck");
    svc.output.wait_for("entering lameduck mode");
    tests::wait_dead("the orphaned child to exit", child);
    // The dead supervisor's socket is stale: the next start replaces it.
    let mut again = Service::sharing(env!("CARGO_BIN_EXE_echo_server"), &svc.control_dir());
    again.start(&[]);
    let addr = again.printed_addr("addr");
    assert_eq!(echo(addr, "back").unwrap(), "back\n");
    // The supervisor's stderr, read by another thread than its stdout's.
    again.output.wait_for("removing the stale control socket");
}

#[test]
fn an_orphan_whose_exit_handlers_block_still_ends() {
    // Its supervisor killed, the child drains on its own and must end (by
    // design about a second after its lameduck timeout; waited for, not
    // timed): a C exit handler that never returns (a linked library's)
    // cannot keep it alive, with nobody left to kill it.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_exit_blocks"));
    svc.start(&[]);
    let child: i32 = svc.printed("started pid");
    svc.signal(Signal::SIGKILL);
    svc.wait_supervisor_exit();
    svc.output
        .wait_for("still running 1s after draining began; exiting");
    tests::wait_dead("the orphan gone", child);
}

#[test]
fn an_orphaned_child_refuses_connections_and_frees_its_port_for_the_next_start() {
    let port = tests::free_port();
    let flag = format!("-addr=127.0.0.1:{port}");
    let mut svc = Service::new(env!("CARGO_BIN_EXE_keeps_listener"));
    let gate = svc.start_gated("DRAIN_GATE", &[&flag]);
    let addr = svc.printed_addr("addr");
    let orphan: i32 = svc.printed("pid");
    assert_eq!(read_greeting(addr).unwrap(), format!("keeps {orphan}\n"));
    svc.signal(Signal::SIGKILL);
    svc.wait_supervisor_exit();
    // It drains with its listener open, as axum::serve does; but with
    // nobody left to accept, a connection is refused at once rather than
    // queued and reset when the orphan exits.
    svc.output.wait_for(&format!("draining pid={orphan}"));
    let refused = std::net::TcpStream::connect(addr).map(drop).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(alive(orphan), "the orphan drains while its gate stands");
    // A `pkill -HUP` meanwhile: the supervisor it names is gone.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(orphan), Signal::SIGHUP).unwrap();
    svc.output.wait_for(&format!(
        "SIGHUP to the child (pid {orphan}): littleboss does not reload on it; its supervisor (pid {}), which does, is gone",
        svc.pid()
    ));
    // The next start takes the port while the orphan still drains.
    let mut again = Service::sharing(env!("CARGO_BIN_EXE_keeps_listener"), &svc.control_dir());
    again.start(&[&flag]);
    let child: i32 = again.printed("pid");
    assert_eq!(read_greeting(addr).unwrap(), format!("keeps {child}\n"));
    assert!(alive(orphan), "the orphan drains while its gate stands");
    std::fs::remove_file(gate).unwrap();
}

#[test]
fn an_orphaned_child_takes_its_unix_socket_file_away_for_the_next_start() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("srv.sock");
    let sock = format!("-sock={}", path.display());
    let gate = svc.start_gated("LINGER_GATE", &[&sock, "--linger"]);
    svc.ready();
    let orphan: i32 = svc.printed("serving unix pid");
    svc.signal(Signal::SIGKILL);
    svc.wait_supervisor_exit();
    // Nobody is left to accept: the path goes while the orphan drains.
    tests::wait_gone(&path);
    assert!(alive(orphan), "the orphan has drained already");
    // The next start binds it while the orphan still drains (it found
    // `PATH is in use by a running program` until the orphan exited),
    // and its child answers there.
    let mut next = Service::new(bin);
    next.start(&[&sock]);
    next.ready();
    let serving: i32 = next.printed("serving unix pid");
    let reply = tests::read_unix_greeting(&path).unwrap();
    assert_eq!(reply, format!("unix {serving}\n"));
    assert!(alive(orphan), "the orphan drains while its gate stands");
    std::fs::remove_file(&gate).unwrap();
    next.stop_expecting(0);
}

/// A `keeps_listener` child of a supervisor this test plays: its hello
/// read and answered, with `shared` as its listener. The service, the
/// test's end of the channel, and the child's pid.
fn child_of_this_test(shared: &std::net::TcpListener) -> (Service, std::os::fd::OwnedFd, i32) {
    use nix::sys::socket::{
        AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, recv, sendmsg, socketpair,
    };
    use std::os::fd::AsRawFd;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap();
    let mut svc = Service::new(env!("CARGO_BIN_EXE_keeps_listener"));
    let mut cmd = svc.command(&svc.bin);
    with_channel(&mut cmd, &theirs, std::process::id());
    svc.spawn(cmd);
    drop(theirs);
    // A child that never says hello fails the test, not hangs the run.
    use nix::sys::time::TimeValLike;
    let deadline = nix::sys::time::TimeVal::seconds(tests::DEADLINE.as_secs() as i64);
    nix::sys::socket::setsockopt(&ours, nix::sys::socket::sockopt::ReceiveTimeout, &deadline)
        .unwrap();
    let mut hello = [0u8; 4096];
    let n = recv(ours.as_raw_fd(), &mut hello, MsgFlags::empty()).expect("the child's hello");
    assert!(
        std::str::from_utf8(&hello[..n])
            .unwrap()
            .contains(r#""msg":"hello""#)
    );
    let ours_hello = br#"{"v":1,"msg":"hello","name":"keeps_listener","listeners":[{"name":"addr","network":"tcp","bound":true}],"refuse_when_orphaned":true}"#;
    let fds = [shared.as_raw_fd()];
    sendmsg::<()>(
        ours.as_raw_fd(),
        &[std::io::IoSlice::new(ours_hello)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .unwrap();
    let child: i32 = svc.printed("pid");
    (svc, ours, child)
}

#[test]
fn a_channel_closed_while_the_supervisor_lives_shuts_no_socket_it_shares() {
    // This test plays the supervisor, as an in-place upgrade that could not
    // hand a child's channel on does: it closes the channel and lives on,
    // holding the listening socket every child shares.
    let shared = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = shared.local_addr().unwrap();
    let (svc, ours, child) = child_of_this_test(&shared);
    assert_eq!(read_greeting(addr).unwrap(), format!("keeps {child}\n"));
    drop(ours);
    svc.output.wait_for(&format!("draining pid={child}"));
    // Still listening: a connection waits in the queue for the next child.
    let queued = std::net::TcpStream::connect(addr);
    assert!(queued.is_ok(), "the shared socket was shut: {queued:?}");
    svc.output.wait_for("lost the channel to the supervisor");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL);
}

#[test]
fn a_child_sent_garbage_on_its_channel_says_so_once_in_a_while() {
    // Whatever else holds the supervisor's end (code the program forked
    // there) may send the child garbage in a loop: one line, then, once
    // the channel ends, how many more came; not a line each.
    let shared = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (svc, ours, child) = child_of_this_test(&shared);
    for _ in 0..50 {
        nix::sys::socket::send(
            std::os::fd::AsRawFd::as_raw_fd(&ours),
            b"not json",
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
    }
    drop(ours);
    // The channel is read in order: its end, which tells the rest, comes
    // after all 50.
    svc.output
        .wait_for("49 more bad message(s) from the supervisor");
    let out = svc.output.text();
    assert_eq!(
        out.matches("bad message from the supervisor").count(),
        1,
        "{out}"
    );
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL);
}

/// Starts `cmd` as a supervisor whose pid is `supervisor` would start a
/// child: `channel` at fd 3 and the marker naming that pid.
fn with_channel(cmd: &mut std::process::Command, channel: &std::os::fd::OwnedFd, supervisor: u32) {
    use std::os::fd::AsRawFd;
    cmd.env("LITTLEBOSS_CHANNEL_FD", format!("3:{supervisor}"));
    let raw = channel.as_raw_fd();
    // SAFETY: runs in the forked child before exec, calling only dup2 and
    // fcntl, which are async-signal-safe: the channel's end at fd 3,
    // without close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            let done = if raw == 3 {
                nix::libc::fcntl(3, nix::libc::F_SETFD, 0)
            } else {
                nix::libc::dup2(raw, 3)
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn a_child_whose_supervisor_died_before_it_looked_does_not_run_unsupervised() {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    let (_ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap();
    let port = tests::free_port();
    let svc = Service::new(env!("CARGO_BIN_EXE_keeps_listener"));
    let mut cmd = svc.command(&svc.bin);
    cmd.arg(format!("-addr=127.0.0.1:{port}"));
    // The marker names a supervisor that is not our parent any more (the
    // kernel handed us to another): a process that has exited and been
    // reaped stands in for the dead one.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    with_channel(&mut cmd, &theirs, dead);
    // Running on (unsupervised) would be killed at the deadline, failing.
    let out = cmd.output_in_time();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = format!(
        "started by the littleboss supervisor pid {dead}, which is gone; not running unsupervised"
    );
    assert!(text(&out).contains(&said), "{}", text(&out));
    assert!(
        !text(&out).contains(&format!("addr=127.0.0.1:{port} pid=")),
        "it served: {}",
        text(&out)
    );
    // A marker with no channel behind it is not ours: it runs as it would.
    let mut cmd = svc.command(&svc.bin);
    cmd.arg(format!("-addr=127.0.0.1:{port}"))
        .env("LITTLEBOSS_CHANNEL_FD", "3:1")
        .arg("-littleboss=status");
    let out = cmd.output_in_time();
    assert!(text(&out).contains("is not running"), "{}", text(&out));
}

#[test]
fn a_child_draining_already_when_its_supervisor_dies_refuses_connections_too() {
    let flag = format!("-addr=127.0.0.1:{}", tests::free_port());
    let mut svc = Service::new(env!("CARGO_BIN_EXE_keeps_listener"));
    // Never removed: the orphan drains until its lameduck timeout.
    let _gate = svc.start_gated("DRAIN_GATE", &[&flag]);
    let addr = svc.printed_addr("addr");
    let orphan: i32 = svc.printed("pid");
    svc.ready();
    // A TERM of its own first, as systemd sends every process of the unit.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(orphan), Signal::SIGTERM).unwrap();
    svc.output.wait_for(&format!("draining pid={orphan}"));
    svc.signal(Signal::SIGKILL);
    svc.wait_supervisor_exit();
    // Within the gate's 25 s: refused by the orphan that still drains,
    // not because it has exited (looked at below).
    tests::eventually("connections to be refused", || {
        let refused = std::net::TcpStream::connect(addr).err()?;
        (refused.kind() == std::io::ErrorKind::ConnectionRefused).then_some(())
    });
    assert!(alive(orphan), "the orphan drains while its gate stands");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(orphan), Signal::SIGKILL);
}

#[test]
fn sigterm_to_the_whole_service_drains_the_child() {
    // systemd's default KillMode sends SIGTERM to every process at once.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let child: i32 = svc.printed("pid");
    svc.ready();
    let term = |pid: i32| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).unwrap()
    };
    term(child);
    term(svc.pid());
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    assert!(svc.output.text().contains("entering lameduck mode"));
}

#[test]
fn sighup_to_the_whole_service_reloads_once_and_does_not_kill_the_serving_child() {
    // `systemctl kill -s HUP` and `pkill -HUP` signal every process of the
    // service: the child must neither die of it nor act on it.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    let child: i32 = svc.printed("pid");
    svc.ready();
    let hup =
        |pid: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGHUP).unwrap();
    hup(child);
    svc.output.wait_for(&format!(
        "SIGHUP to the child (pid {child}): littleboss does not reload on it; the supervisor (pid {}) does",
        svc.pid()
    ));
    assert!(alive(child), "{}", svc.output.text());
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    // Both at once, as `systemctl kill -s HUP` sends it: the supervisor
    // reloads once, the old child draining.
    hup(child);
    svc.signal(Signal::SIGHUP);
    svc.output
        .wait_for(&format!("child pid {child} exited with code 0"));
    // A second reload would have been said as its signal was read, long
    // before the old child drained.
    let out = svc.output.text();
    assert_eq!(out.matches("SIGHUP: reloading").count(), 1, "{out}");
    let status = svc.control("status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("reloads 1, failures 0"),
        "{}",
        text(&status)
    );
    svc.stop_expecting(0);
}

/// The bits of the signals the supervisor handles, as `/proc` shows them.
fn handled_bits() -> u64 {
    [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ]
    .iter()
    .fold(0u64, |bits, s| bits | 1 << (*s as i32 - 1))
}

#[test]
fn the_supervisor_reads_its_signals_from_a_signalfd_and_its_child_has_none_blocked() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let child: i32 = svc.printed("pid");
    svc.ready();
    let ours = handled_bits();
    // Blocked on every thread: they wait in the kernel for the signalfd
    // (the handlers are for threads the supervisor did not start).
    let threads = tests::procfs::thread_signal_masks(svc.pid() as u32);
    assert!(!threads.is_empty());
    for masks in threads {
        assert_eq!(
            (masks.blocked & ours, masks.caught & ours),
            (ours, ours),
            "supervisor"
        );
    }
    // The program gets its signals as any program does. Read until no
    // thread has them blocked: glibc blocks every signal in a thread for
    // the moment it creates another, which a read may catch.
    tests::eventually("no thread of the child to block the signals", || {
        let masks = tests::procfs::thread_signal_masks(child as u32);
        (!masks.is_empty() && masks.iter().all(|m| m.blocked & ours == 0)).then_some(())
    });
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    assert!(svc.output.text().contains("SIGTERM received: stopping"));
}

#[test]
fn signals_the_supervisor_was_started_with_ignored_are_not_its_childs() {
    // A script's `app -littleboss=start &` starts it with SIGINT and
    // SIGQUIT ignored (a non-interactive shell's background job); an exec
    // keeps a signal ignored, so every child had SIGQUIT ignored too.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_early_thread"));
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("-littleboss=start");
    // SAFETY: between fork and exec, `signal` is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::signal::{SigHandler, signal};
            for ignored in [Signal::SIGINT, Signal::SIGQUIT] {
                signal(ignored, SigHandler::SigIgn)?;
            }
            Ok(())
        });
    }
    svc.spawn(cmd);
    let child: u32 = svc.printed("pid");
    svc.ready();
    let quit = 1 << (nix::libc::SIGQUIT - 1);
    let ignores = |pid: u32| {
        let masks = tests::procfs::thread_signal_masks(pid);
        assert!(!masks.is_empty(), "pid {pid}'s masks unread");
        masks.iter().any(|m| m.ignored & quit != 0)
    };
    assert!(ignores(svc.pid() as u32), "started so");
    assert!(!ignores(child), "the child has SIGQUIT ignored");
    svc.stop_expecting(0);
}

#[test]
fn a_signal_taken_by_a_thread_started_before_run_is_still_an_orderly_stop() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_early_thread"));
    // A service manager's notify socket, which only the supervisor may use.
    let notify = svc.dir.path().join("notify.sock");
    let _manager = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    svc.start_with_env(&[], &[("NOTIFY_SOCKET", &notify)]);
    svc.printed::<i32>("pid");
    svc.ready();
    assert!(
        !svc.printed::<bool>("notify socket seen"),
        "the child can notify"
    );
    // The thread started before `run` is the only one not blocking them,
    // so the kernel hands it the signal.
    let open = tests::procfs::threads_not_blocking(svc.pid() as u32, handled_bits());
    assert_eq!(
        open.len(),
        1,
        "threads not blocking the supervisor's signals"
    );
    term_stops_in_order(svc);
}

/// A SIGTERM to the supervisor is an orderly stop: the child drains and
/// the supervisor exits 0.
fn term_stops_in_order(mut svc: Service) {
    svc.signal(Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let out = svc.output.text();
    assert!(out.contains("SIGTERM received: stopping"), "{out}");
    assert!(out.contains("entering lameduck mode"), "{out}");
}

#[test]
fn a_signal_the_supervisors_own_thread_takes_unblocked_is_still_an_orderly_stop() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_unblocks"));
    svc.start(&[]);
    svc.printed::<i32>("pid");
    svc.ready();
    // Its supervisor_init unblocked SIGTERM on the thread that reads the
    // signalfd: blocked again once it returned.
    let term = 1 << (Signal::SIGTERM as i32 - 1);
    let open = tests::procfs::threads_not_blocking(svc.pid() as u32, term);
    assert_eq!(open, Vec::<u32>::new(), "threads not blocking SIGTERM");
    term_stops_in_order(svc);
}

/// The pid of `init_sidecar`'s sidecar, once it runs `sleep` (its pid is
/// printed as its exec may still be under way).
fn sidecar_running(svc: &Service) -> u32 {
    let sidecar: u32 = svc.printed("sidecar pid");
    tests::eventually("the sidecar to run sleep", || {
        let argv = tests::procfs::cmdline(sidecar)?;
        (argv.first()? == b"sleep").then_some(sidecar)
    })
}

#[test]
fn what_supervisor_init_starts_does_not_inherit_the_supervisors_blocked_signals() {
    // A sidecar that kept them blocked would outlive `kill` and `docker
    // stop`: the mask goes through exec.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_sidecar"));
    svc.start(&[]);
    let sidecar = sidecar_running(&svc);
    let strays = tests::Strays::of([sidecar]);
    svc.ready();
    let masks = tests::procfs::thread_signal_masks(sidecar);
    assert!(!masks.is_empty(), "the sidecar is gone");
    for masks in &masks {
        assert_eq!(masks.blocked & handled_bits(), 0, "{masks:?}");
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sidecar as i32), Signal::SIGTERM).unwrap();
    tests::eventually("the sidecar ended by SIGTERM", || {
        (!strays.runs(sidecar)).then_some(())
    });
    svc.stop_expecting(0);
}

/// An `init_leaky_thread` service started with `env` too, serving, whose
/// thread has been told to go; and the file that thread opens.
fn leaky_thread_going(env: &[(&str, &str)]) -> (Service, std::path::PathBuf) {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_leaky_thread"));
    let leaky = svc.dir.path().join("leaky");
    let go = svc.dir.path().join("go");
    let mut all: Vec<(&str, &dyn AsRef<std::ffi::OsStr>)> =
        vec![("LEAKY_FILE", &leaky), ("LEAKY_GO", &go)];
    all.extend(
        env.iter()
            .map(|(k, v)| (*k, v as &dyn AsRef<std::ffi::OsStr>)),
    );
    svc.start_with_env(&[], &all);
    svc.ready();
    std::fs::write(&go, b"").unwrap();
    (svc, leaky)
}

#[test]
fn a_file_a_supervisor_thread_opens_without_cloexec_reaches_no_child() {
    // `supervisor_init`'s thread opens it after the supervisor made what
    // was open close-on-exec: a child started then (by a reload) must not
    // hold it, as it would a sidecar's socket, keeping its port.
    // SAFETY: close_range over no descriptor at all: only whether the
    // kernel has it (5.11+), which the supervisor's mark needs.
    let has_close_range = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            nix::libc::c_uint::MAX,
            nix::libc::c_uint::MAX,
            nix::libc::CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if !has_close_range {
        tests::skipped("no close_range (Linux before 5.11)");
        return;
    }
    the_leaky_threads_file_reaches_no_child(&[]);
}

#[test]
fn a_pipe_a_supervisor_thread_opens_reaches_no_child_where_close_range_is_refused() {
    // A kernel before 5.11, or a seccomp filter that refuses close_range
    // (a test hook answers so): the child marks what was listed before
    // its fork, one by one. A pipe, which it does not close itself as it
    // does the supervisor's files and sockets (review 971).
    the_leaky_threads_file_reaches_no_child(&[
        ("LITTLEBOSS_TEST_NO_CLOSE_RANGE", "1"),
        ("LEAKY_PIPE", "1"),
    ]);
}

/// Reloads a [`leaky_thread_going`] service (started with `env` too) and
/// checks that its new child does not hold what the leaky thread opened.
fn the_leaky_threads_file_reaches_no_child(env: &[(&str, &str)]) {
    let bin = env!("CARGO_BIN_EXE_init_leaky_thread");
    let (mut svc, leaky) = leaky_thread_going(env);
    let fd: i32 = svc.printed("leaky fd");
    assert!(fd > 2, "the thread's open failed");
    // What it opened, as the supervisor holds it (a pipe's `pipe:[N]`).
    let held_as = std::fs::read_link(format!("/proc/{}/fd/{fd}", svc.pid())).unwrap();
    let piped = env.iter().any(|(name, _)| *name == "LEAKY_PIPE");
    assert!(
        piped || held_as == std::fs::canonicalize(&leaky).unwrap(),
        "{held_as:?}"
    );
    let leaky = held_as;
    let out = svc.control_with(bin, "reload", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = svc.control_with(bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pid = status["child"]["pid"].as_u64().expect("a child");
    let held: Vec<std::path::PathBuf> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .collect();
    assert!(
        !held.contains(&leaky),
        "the child holds {leaky:?}: {held:?}"
    );
    svc.stop_expecting(0);
}

#[test]
fn what_a_thread_of_supervisor_init_starts_later_inherits_no_channel_variable() {
    // A process it started (a littleboss binary, the supervisor's own
    // child) would take the variable for its own and its fd 3 for a
    // channel.
    let bin = env!("CARGO_BIN_EXE_init_leaky_thread");
    let (mut svc, _) = leaky_thread_going(&[]);
    let var: String = svc.printed("leaky channel_var");
    assert_eq!(var, "None");
    // And the children have theirs all the same.
    let out = svc.control_with(bin, "reload", &[]);
    assert!(out.status.success(), "{}", text(&out));
    svc.stop_expecting(0);
}

#[test]
fn a_sigterm_during_supervisor_init_is_kept_for_an_orderly_stop_once_it_returns() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_sidecar"));
    svc.start_with_env(&[], &[("INIT_SIDECAR_TERM", &"1")]);
    let sidecar = sidecar_running(&svc);
    let strays = tests::Strays::of([sidecar]);
    // Started after the signal came: the mask it inherits is as clean.
    let masks = tests::procfs::thread_signal_masks(sidecar);
    assert!(!masks.is_empty(), "the sidecar is gone");
    for masks in &masks {
        assert_eq!(masks.blocked & handled_bits(), 0, "{masks:?}");
    }
    svc.output.wait_for("supervisor exiting");
    // It holds the output open: gone first.
    drop(strays);
    let code = svc.wait_exit().code();
    let out = svc.output.text();
    assert_eq!(code, Some(0), "{out}");
    let returned = out.find("init returns").expect(&out);
    let stopping = out.find("SIGTERM received: stopping").expect(&out);
    assert!(returned < stopping, "{out}");
}

#[test]
fn sigusr1_reaches_a_child_that_handles_it_and_spares_one_that_does_not() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_reopens_logs"));
    svc.start(&[]);
    svc.printed::<i32>("pid");
    svc.ready();
    svc.signal(Signal::SIGUSR1);
    svc.output.wait_for("reopened logs");
    svc.output.wait_for("SIGUSR1 received: for child pid");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    svc.stop_expecting(0);

    // A program without a handler would die of it: it is not sent.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
    svc.start(&[]);
    svc.ready();
    svc.signal(Signal::SIGUSR2);
    svc.output
        .wait_for("does not handle SIGUSR2: not passed on");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    svc.stop_expecting(7);
}

#[test]
fn a_stop_then_one_signal_is_still_graceful() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocker"));
    svc.start(&[]);
    svc.output.wait_for("started pid=");
    svc.ready();
    let stop = svc.spawn_control(&svc.bin, "stop");
    svc.output.wait_for("stop requested");
    svc.signal(Signal::SIGTERM);
    // The blocker ignores lameduck: killed at its 3 s timeout, not at once.
    assert_eq!(stop.wait_with_output().unwrap().status.code(), Some(137));
    svc.wait_exit();
    let out = svc.output.text();
    assert!(out.contains("SIGTERM received: stopping"), "{out}");
    assert!(!out.contains("killing every child now"), "{out}");
    assert!(
        out.contains("is still running after its lameduck timeout; killing it"),
        "{out}"
    );
}

#[test]
fn a_term_to_the_process_then_its_group_is_one_graceful_stop() {
    // GNU `timeout` and `kill -- -PGID` signal the process and its group:
    // the same stop twice, which must not kill a draining child.
    let run = || {
        let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
        let mut cmd = svc.command(&svc.bin);
        cmd.arg("-littleboss=start").process_group(0);
        svc.spawn(cmd);
        svc.ready();
        let supervisor = nix::unistd::Pid::from_raw(svc.pid());
        nix::sys::signal::kill(supervisor, Signal::SIGTERM).unwrap();
        let first = std::time::Instant::now();
        // Once the supervisor has read the first (else the kernel merges
        // the two, and no second is ever seen).
        svc.output.wait_for("SIGTERM received: stopping");
        nix::sys::signal::killpg(supervisor, Signal::SIGTERM).unwrap();
        let apart = first.elapsed();
        let code = svc.wait_exit().code();
        (code, svc.output.text(), apart)
    };
    // A machine so loaded that the two went out 200 ms apart or more, or
    // were read 250 ms apart or more (the supervisor says how far), tries
    // again: that would be a deliberate second signal. Every other run
    // must take the second as the same stop.
    let (code, out, _) = (0..SIGNAL_TRIES)
        .map(|_| run())
        .find(|(_, out, apart)| {
            *apart < std::time::Duration::from_millis(200)
                && read_apart_ms(out).is_some_and(|ms| ms < 250)
        })
        .expect("signals under 200 ms apart, read under 250 ms apart");
    assert!(out.contains("ms after the first: the same stop"), "{out}");
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("drained"), "{out}");
    assert!(!out.contains("killing every child"), "{out}");
}

#[test]
fn a_second_signal_ends_the_program_even_if_its_logger_never_finishes_a_flush() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stuck_logger"));
    let cmd = svc.command(&svc.bin);
    svc.spawn(cmd);
    svc.output.wait_for("serving pid=");
    let program = nix::unistd::Pid::from_raw(svc.pid());
    nix::sys::signal::kill(program, Signal::SIGTERM).unwrap();
    svc.output.wait_for("draining");
    // A deliberate second signal (sent again while read as the same
    // stop, on a machine so loaded that the drain began late): its line
    // comes through the logger, whose flush alone never ends.
    svc.second_stop(|| nix::sys::signal::kill(program, Signal::SIGTERM).unwrap());
    svc.dies_of(Signal::SIGTERM);
}

#[test]
fn a_stop_command_ended_by_ctrl_c_says_the_stop_goes_on() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
    svc.start(&["--drain-ms=2000"]);
    svc.ready();
    let mut stop = svc.spawn_control(&svc.bin, "stop");
    let said = stop.said();
    said.wait_for("stopping slow_drain");
    let command = nix::unistd::Pid::from_raw(stop.0.id() as i32);
    nix::sys::signal::kill(command, Signal::SIGINT).unwrap();
    let ended = stop.wait().unwrap();
    let said = said.wait_closed();
    assert_eq!(tests::died_of(ended), Some(Signal::SIGINT), "{said}");
    assert!(
        said.contains(
            "stop of slow_drain goes on without this command: this command was ended by SIGINT (see -littleboss=status)"
        ),
        "{said}"
    );
    // It went on: the child drained, its code the supervisor's.
    assert_eq!(svc.wait_exit().code(), Some(7), "{}", svc.output.text());
}

#[test]
fn a_reload_command_whose_program_started_a_thread_before_run_still_says_where_it_stands() {
    // The command is the program too: its code before `run` started a
    // thread, which does not block the stop signals, so the kernel hands
    // it the Ctrl-C (it died of it at once, silent).
    let bin = env!("CARGO_BIN_EXE_early_thread");
    let mut svc = Service::new(bin);
    svc.start(&[]);
    svc.ready();
    // Stopped, as a supervisor in a long `supervisor_init` is: the reload
    // is sent and never answered.
    svc.freeze();
    let mut reload = svc.spawn_control(bin, "reload");
    let said = reload.said();
    let command = reload.0.id();
    let int = 1 << (nix::libc::SIGINT - 1);
    // Its handler in place (caught), the thread that reads them waiting
    // for them (unblocked while it waits), and the early thread.
    tests::eventually("the command to catch SIGINT", || {
        let masks = tests::procfs::thread_signal_masks(command);
        let caught = masks.iter().any(|m| m.caught & int != 0);
        let open = tests::procfs::threads_not_blocking(command, int);
        (caught && open.len() == 2).then_some(())
    });
    let pid = nix::unistd::Pid::from_raw(command as i32);
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    let ended = reload.wait().unwrap();
    let said = said.wait_closed();
    svc.signal(Signal::SIGCONT);
    assert_eq!(tests::died_of(ended), Some(Signal::SIGINT), "{said}");
    assert!(
        said.contains(
            "reload of early_thread ended here unfinished: this command was ended by SIGINT; it may have been sent, and nothing came back of it"
        ),
        "{said}"
    );
    svc.stop_expecting(0);
}

#[test]
fn without_a_supervisor_too_a_term_to_the_process_then_its_group_is_one_stop() {
    let run = |second_after: u64| {
        let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
        let mut cmd = svc.command(&svc.bin);
        // Draining for 3 s: the second signal at 400 ms must find it still
        // draining, however slow the machine.
        let drain_ms = if second_after > 250 { 3000 } else { 500 };
        cmd.arg(format!("--drain-ms={drain_ms}")).process_group(0);
        svc.spawn(cmd);
        svc.output.wait_for("serving pid=");
        let program = nix::unistd::Pid::from_raw(svc.pid());
        nix::sys::signal::kill(program, Signal::SIGTERM).unwrap();
        let first = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(second_after));
        nix::sys::signal::killpg(program, Signal::SIGTERM).unwrap();
        let apart = first.elapsed();
        let status = svc.wait_exit();
        (
            (status.code(), tests::died_of(status)),
            svc.output.text(),
            apart,
        )
    };
    // 20 ms apart, as `timeout` sends them: one stop, drained, its code.
    // (A machine so loaded that they went out 200 ms apart or more, or
    // were read 250 ms apart or more, as the program says, tries again:
    // that would be a deliberate second signal. Every other run is judged.)
    let (code, out, _) = (0..SIGNAL_TRIES)
        .map(|_| run(20))
        .find(|(_, out, apart)| {
            *apart < std::time::Duration::from_millis(200)
                && read_apart_ms(out).is_some_and(|ms| ms < 250)
        })
        .expect("signals 20 ms apart, read under 250 ms apart");
    assert_eq!(code, (Some(7), None), "{out}");
    assert!(out.contains("drained"), "{out}");
    assert!(out.contains("ms after the first: the same stop"), "{out}");
    // A second one later is meant: it ends the program at once. (Read
    // under 250 ms apart, or while the drain had just begun, as a first
    // signal read late makes it, they are the same stop: tried again.
    // Every other run is judged.)
    let (code, out, _) = (0..SIGNAL_TRIES)
        .map(|_| run(400))
        .find(|(_, out, _)| {
            read_apart_ms(out).is_some_and(|ms| ms >= 250)
                && !out.contains("waiting to be read while the drain began")
        })
        .expect("signals 400 ms apart, read 250 ms apart or more, not as the drain began");
    // Ended by the signal (dead of it, as without littleboss's handler: a
    // shell's loop stops) while it drained: undisturbed, the drain ends by
    // itself (7) within the lameduck timeout.
    assert_eq!(code, (None, Some(Signal::SIGTERM)), "{out}");
    assert!(out.contains("ms after the first: exiting now"), "{out}");
    assert!(!out.contains("drained"), "{out}");
    assert!(!out.contains("still running"), "{out}");
}

/// How many runs a test of two signals' timing tries for one whose
/// signals went out and were read as it needs (tried only while they
/// were not: a loaded machine may delay either).
const SIGNAL_TRIES: usize = 20;

/// How far apart the program or supervisor read a second stop signal
/// from the first, as it says (`SIGTERM again, 20 ms after the first`).
fn read_apart_ms(out: &str) -> Option<u64> {
    let (before, _) = out.split_once(" ms after the first")?;
    let (_, ms) = before.rsplit_once(" again, ")?;
    ms.parse().ok()
}

/// The `own_logger` fixture started with `env`, its supervisor killed:
/// its child, orphaned, says so and why it exits (lines that start with
/// `said`), then exits. Returns the service.
fn own_logger_orphaned(env: &[(&str, &dyn AsRef<std::ffi::OsStr>)], said: &str) -> Service {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_own_logger"));
    svc.start_with_env(&[], env);
    let child: i32 = svc.printed("pid");
    svc.signal(Signal::SIGKILL);
    svc.wait_exit();
    svc.output
        .wait_for(&format!("{said}the supervisor is gone; lameduck"));
    svc.output.wait_for(&format!(
        "{said}still running 300ms after draining began; exiting"
    ));
    tests::wait_dead("the orphaned child to exit", child);
    svc
}

#[test]
fn a_program_with_its_own_logger_gets_littlebosss_lines() {
    let svc = own_logger_orphaned(&[], "LOG WARN littleboss: ");
    // Not also on stderr around the program's logger.
    let out = svc.output.text();
    assert!(
        !out.lines()
            .any(|l| l.starts_with("littleboss: the supervisor is gone")),
        "{out}"
    );
}

#[test]
fn a_logger_that_filters_out_littleboss_still_lets_its_warnings_through_on_stderr() {
    // As `RUST_LOG=myapp=info` does: a filter for the program's own target
    // takes none of littleboss's lines; why the child exits is not lost.
    let svc = own_logger_orphaned(&[("OWN_LOGGER_ONLY_ITS_OWN", &"1")], "littleboss: ");
    // Not handed to the logger that turns them away; each said once.
    let out = svc.output.text();
    assert!(!out.contains("DROPPED"), "{out}");
    assert!(!out.contains("LOG WARN littleboss"), "{out}");
    assert_eq!(
        out.matches("the supervisor is gone; lameduck").count(),
        1,
        "{out}"
    );
}

#[test]
fn a_logger_whose_filter_is_off_quiets_littlebosss_informational_lines() {
    // As `RUST_LOG=off` makes env_logger's: the logger is there, its
    // maximum level `Off`. A SIGHUP to the child is news (said at info):
    // not on stderr, as it was when no logger could be told from this.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_own_logger"));
    svc.start_with_env(&[], &[("OWN_LOGGER_OFF", &"1")]);
    let child: i32 = svc.printed("pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGHUP).unwrap();
    // Its warnings still come, on stderr: why the orphan exits, said well
    // after the SIGHUP's line would have been.
    svc.signal(Signal::SIGKILL);
    svc.wait_exit();
    svc.output
        .wait_for("littleboss: still running 300ms after draining began; exiting");
    tests::wait_dead("the orphaned child to exit", child);
    let out = svc.output.text();
    assert!(!out.contains("SIGHUP to the child"), "{out}");
    assert!(!out.contains("LOG "), "{out}");
}

/// Child `child` ignores none of the signals the supervisor handles.
fn ignores_none_of_them(child: i32) {
    let masks = tests::procfs::thread_signal_masks(child as u32);
    assert!(!masks.is_empty(), "child {child} gone");
    // What the supervisor's code blocked for its own thread is not the
    // program's: its main thread starts with nothing blocked (littleboss's
    // own threads in it block what they do not handle).
    let alarm = 1 << (Signal::SIGALRM as u64 - 1);
    assert!(
        masks.iter().any(|m| m.tid == child as u32),
        "child {child}'s main thread not read"
    );
    for masks in masks {
        assert_eq!(
            masks.ignored & handled_bits(),
            0,
            "child {child} ignores them"
        );
        if masks.tid == child as u32 {
            assert_eq!(masks.blocked & alarm, 0, "child {child} blocks SIGALRM");
        }
    }
}

#[test]
fn ignored_signals_inherited_from_the_parent_neither_lose_exit_codes_nor_reach_the_child() {
    // As under `nohup` (SIGHUP) or a parent that ignores SIGCHLD: with
    // SIGCHLD ignored the kernel would reap the children itself, before
    // their watchers could read the exit code.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_exit_code"));
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("-littleboss=start").arg("7");
    // SAFETY: runs in the forked child before exec, calling only
    // sigaction through nix, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::signal::{SigHandler, signal};
            signal(Signal::SIGCHLD, SigHandler::SigIgn)?;
            signal(Signal::SIGHUP, SigHandler::SigIgn)?;
            Ok(())
        });
    }
    svc.spawn(cmd);
    let child: i32 = svc.printed("pid");
    svc.ready();
    ignores_none_of_them(child);
    let stop = svc.stop_expecting(7);
    assert!(text(&stop).contains("exit code 7"), "{}", text(&stop));
}

#[test]
fn connections_queued_after_the_childs_own_sigterm_are_served_at_the_stop() {
    // systemd's default `KillMode=control-group` signals the whole group:
    // the child drains on its own SIGTERM, and then the supervisor's order
    // to refuse comes. What queued in between is served, not reset.
    use std::io::{BufRead, BufReader, Write};
    let bin = env!("CARGO_BIN_EXE_long_grace");
    let mut svc = Service::new(bin);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    let child: i32 = svc.printed("pid");
    svc.ready();
    // Accepted and silent: the grace (30 s) runs on meanwhile.
    let mut held = std::net::TcpStream::connect(addr).unwrap();
    held.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    svc.output.wait_for(&format!("pid {child} accepted 1"));
    let pid = nix::unistd::Pid::from_raw(child);
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    svc.output.wait_for(&format!("pid {child} draining"));
    // The child accepts no more: these wait in the queue.
    let queued: Vec<std::net::TcpStream> = (0..3)
        .map(|i| {
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client.set_read_timeout(Some(tests::DEADLINE)).unwrap();
            client
                .write_all(format!("queued {i}\n").as_bytes())
                .unwrap();
            client
        })
        .collect();
    let mut stop = svc.spawn_control(bin, "stop");
    for (i, client) in queued.iter().enumerate() {
        let mut reply = String::new();
        BufReader::new(client).read_line(&mut reply).unwrap();
        assert_eq!(reply, format!("{child} queued {i}\n"));
    }
    // Shut (it may be a moment after the queue was taken).
    tests::eventually("the listener refusing", || {
        let refused = std::net::TcpStream::connect(addr).err()?;
        (refused.kind() == std::io::ErrorKind::ConnectionRefused).then_some(())
    });
    // The held one speaks last; with nothing open the child ends.
    held.write_all(b"late\n").unwrap();
    let mut reply = String::new();
    BufReader::new(&held).read_line(&mut reply).unwrap();
    assert_eq!(reply, format!("{child} late\n"));
    let stopped = stop.wait().unwrap();
    assert!(stopped.success(), "{stopped:?}");
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn signals_supervisor_init_ignores_neither_lose_exit_codes_nor_reach_the_child() {
    // As above, with the dispositions changed by the program's own
    // supervisor_init, after littleboss set its own.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_ignores"));
    svc.start(&["7"]);
    let child: i32 = svc.printed("pid");
    svc.ready();
    ignores_none_of_them(child);
    // A reload by SIGHUP: its child ignores none of them either.
    svc.signal(Signal::SIGHUP);
    let out = svc.output.wait_for_count("serving pid=", 2);
    let second: i32 = (out.rsplit("serving pid=").next())
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .expect("the second child's pid");
    svc.output
        .wait_for(&format!("child pid {second} is serving"));
    ignores_none_of_them(second);
    let stop = svc.stop_expecting(7);
    assert!(text(&stop).contains("exit code 7"), "{}", text(&stop));
}

#[test]
fn the_thread_that_binds_a_reloads_new_listener_blocks_the_signals_too() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_versioned_v1"));
    // Each bind waits (a slow DNS lookup, say) until the gate file goes:
    // its thread is there to be looked at meanwhile.
    let gate = svc.gate("bind-gate");
    let most = tests::DEADLINE.as_millis().to_string();
    svc.start_with_env(
        &[],
        &[
            ("LITTLEBOSS_TEST_BIND_PAUSE_MS", &most),
            ("LITTLEBOSS_TEST_BIND_PAUSE_GATE", &gate),
        ],
    );
    svc.printed_addr("addr");
    svc.ready();
    let port = tests::free_port();
    let addr = format!("-addr=127.0.0.1:{port}");
    let reload = svc
        .command(&svc.bin)
        .args(["-littleboss=reload", &addr])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reload = tests::KilledOnDrop(reload);
    let supervisor = svc.pid() as u32;
    let named = |tid: u32| {
        std::fs::read_to_string(format!("/proc/{supervisor}/task/{tid}/comm")).unwrap_or_default()
    };
    let threads = tests::eventually("the bind's thread", || {
        let threads = tests::procfs::thread_signal_masks(supervisor);
        let binding = threads
            .iter()
            .any(|m| named(m.tid).trim() == "littleboss-bind");
        binding.then_some(threads)
    });
    let ours = handled_bits();
    for masks in threads {
        assert_eq!(
            masks.blocked & ours,
            ours,
            "a supervisor thread takes signals: {}",
            named(masks.tid)
        );
    }
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    svc.stop_expecting(0);
}
