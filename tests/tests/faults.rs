//! Faults injected with real processes, sockets and signals: the
//! supervisor survives each, loses nothing, and says what happened.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;

use nix::sys::signal::Signal;
use tests::{OutputInTime, Service, control_raw, exits_saying, read_greeting, text};

const V1: &str = env!("CARGO_BIN_EXE_versioned_v1");

fn json(svc: &Service, bin: &str) -> serde_json::Value {
    let out = svc.control_with(bin, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn child_pid(status: &serde_json::Value) -> i32 {
    status["child"]["pid"].as_i64().unwrap() as i32
}

#[test]
fn a_stopped_child_is_said_to_be_stopped_and_serves_again_once_continued() {
    let (mut svc, addr) = v1();
    let child = nix::unistd::Pid::from_raw(child_pid(&json(&svc, V1)));
    nix::sys::signal::kill(child, Signal::SIGSTOP).unwrap();
    svc.output.wait_for(&format!(
        "child pid {child} was stopped by SIGSTOP; it serves nothing until continued (`kill -CONT {child}`)"
    ));
    nix::sys::signal::kill(child, Signal::SIGCONT).unwrap();
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn a_crash_loop_gives_up_after_the_restart_limit() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_crashloop"));
    svc.start(&[]);
    assert_eq!(svc.wait_exit().code(), Some(1), "{}", svc.output.text());
    let out = svc.output.text();
    assert_eq!(out.matches("crashing pid=").count(), 4, "{out}");
    // Backoff doubles (100, 200, 400 ms), each give or take 20%.
    let delays: Vec<u64> = out
        .lines()
        .filter_map(|l| {
            l.strip_prefix("littleboss: restarting in ")?
                .strip_suffix("ms")?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(delays.len(), 3, "{out}");
    for (delay, base) in delays.iter().zip([100, 200, 400]) {
        assert!((base * 4 / 5..=base * 6 / 5).contains(delay), "{delays:?}");
    }
    assert!(
        out.contains(
            "the child had to be restarted more than 3 times within 60s; giving up (exit code 1)"
        ),
        "{out}"
    );
}

#[test]
fn a_draining_child_whose_supervisor_dies_keeps_its_lameduck_deadline() {
    // A reload's old child drains (5 s lameduck, ignored: it would take a
    // minute); its supervisor dies a second in. It must be gone 5 s from
    // when it began draining, as the supervisor would have had it, not 5 s
    // from the supervisor's death. (The serving child, orphaned too, gets
    // its whole lameduck timeout.)
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
    svc.start(&["--drain-ms=60000"]);
    svc.ready();
    let old = child_pid(&json(&svc, env!("CARGO_BIN_EXE_slow_drain")));
    svc.reload_ok();
    // It has no connection to wait for: its `lameduck()` completes at
    // once, and it goes on draining.
    svc.output.wait_for("draining");
    let strays = tests::Strays::of([old as u32]);
    // The fault's moment, not a wait for something: 1.5 s into the drain.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    svc.signal(Signal::SIGKILL);
    // Both children say it: the serving one with its whole timeout.
    let gone = "the supervisor is gone; lameduck, exiting within ";
    let said = svc.output.wait_for_count(gone, 2);
    let mut within: Vec<u64> = said
        .split(gone)
        .skip(1)
        .filter_map(|rest| rest.split(" ms").next()?.parse().ok())
        .collect();
    within.sort();
    assert_eq!(within.len(), 2, "{said}");
    assert!(
        within[0] < 4_000,
        "counted from the supervisor's death: {said}"
    );
    assert!(within[1] > 4_500, "{said}");
    tests::eventually_within(
        "the old child gone",
        std::time::Duration::from_secs(15),
        || (!strays.runs(old as u32)).then_some(()),
    );
}

#[test]
fn what_a_control_client_sends_reaches_the_log_escaped() {
    // An escape sequence, a forged line and a bidirectional override, in an
    // unknown command and in a reload's path: each logged on one line,
    // escaped.
    let (mut svc, _addr) = v1();
    let socket = svc.control_dir().join("versioned.sock");
    let forged = r#"\u001b]0;x\u0007\nlittleboss: stop requested\u202e"#;
    let reply = control_raw(
        &socket,
        format!("{{\"v\":1,\"cmd\":\"{forged}\"}}\n").as_bytes(),
    );
    assert!(reply[0].contains("\"type\":\"error\""), "{reply:?}");
    let reload = format!("{{\"v\":1,\"cmd\":\"reload\",\"path\":\"/no/{forged}\"}}\n");
    let reply = control_raw(&socket, reload.as_bytes());
    assert!(reply.iter().any(|r| r.contains("error")), "{reply:?}");
    // Up to the reload's failure, which quotes the path too.
    let out = svc.output.wait_for("cannot start /no/");
    assert!(
        out.contains(
            r"bad control request: bad request: unknown variant `\u{1b}]0;x\u{7}\nlittleboss: stop"
        ),
        "{out}"
    );
    assert!(
        out.contains(r"reload requested: /no/\u{1b}]0;x\u{7}\nlittleboss: stop requested\u{202e}"),
        "{out}"
    );
    assert!(
        out.contains(r"cannot start /no/\u{1b}]0;x\u{7}\nlittleboss: stop requested\u{202e}: "),
        "{out}"
    );
    // A right-to-left override, which would show the rest reversed.
    assert!(!out.contains(['\u{1b}', '\u{202e}']), "{out}");
    assert!(!out.contains("\nlittleboss: stop requested"), "{out}");
    svc.stop_expecting(0);
}

#[test]
fn what_the_supervisor_quotes_reaches_the_terminal_escaped() {
    // A reload from a binary in a folder whose name holds an escape
    // sequence and a newline (unpacked from an archive, say), whose child
    // fails: the path the supervisor quotes is escaped on the command's
    // terminal, as in `status` and the log, not sent to it raw, and the
    // line after its newline indented, not read as a line of its own.
    let (mut svc, _addr) = v1();
    let folder = svc
        .dir
        .path()
        .join("rel\u{1b}]0;pwned\u{7}\nlittleboss: forged");
    std::fs::create_dir(&folder).unwrap();
    let release = folder.join("versioned_fails");
    tests::copy_binary(Path::new(env!("CARGO_BIN_EXE_versioned_fails")), &release);
    let reload = svc.control_with(&release, "reload", &[]);
    let said = text(&reload);
    assert_eq!(reload.status.code(), Some(1), "{said}");
    assert!(
        said.contains("rel\\x1b]0;pwned\\x07\n  littleboss: forged/versioned_fails"),
        "{said}"
    );
    assert!(
        !said.contains('\u{1b}') && !said.contains('\u{7}'),
        "{said:?}"
    );
    assert!(!said.contains("\nlittleboss: forged"), "{said:?}");
    svc.stop_expecting(0);
}

/// How many of the supervisor's repeated line `what` (its words before
/// the count) it held back, as it tells once the quiet after the last
/// said is over; and its output so far.
fn told_at_the_end(svc: &Service, what: &str) -> (Option<u32>, String) {
    const END: &str = " more in the 10s after the last said";
    let out = svc.output.wait_for(END);
    let held_back = out.lines().find_map(|l| {
        l.strip_prefix("littleboss: ")?
            .strip_prefix(what)?
            .strip_suffix(END)?
            .parse()
            .ok()
    });
    (held_back, out)
}

#[test]
fn hostile_control_clients_change_nothing() {
    let (mut svc, addr) = v1();
    let socket = svc.control_dir().join("versioned.sock");
    // Over the size cap.
    let mut big = vec![b'x'; 16 * 1024 * 1024 + 6 * 1024];
    big.push(b'\n');
    let reply = control_raw(&socket, &big);
    assert!(
        reply[0].contains("request longer than 16777216 bytes"),
        "{reply:?}"
    );
    // Blank lines ask nothing, and are not answered.
    let reply = control_raw(&socket, b"\n{\"v\":1,\"cmd\":\"status\"}\n\r\n\n");
    assert_eq!(reply.len(), 1, "{reply:?}");
    assert!(reply[0].contains("\"type\":\"status\""), "{reply:?}");
    // Wrong types.
    let reply = control_raw(&socket, b"{\"v\":1,\"cmd\":42}\n");
    assert!(reply[0].contains("\"type\":\"error\""), "{reply:?}");
    // Garbage (another protocol's, which may hide a line of ours further
    // down): answered, and the connection closed, the line after it not
    // read. In a loop: the log told once a while.
    for _ in 0..50 {
        let reply = control_raw(&socket, b"garbage\n{\"v\":1,\"cmd\":\"stop\"}\n");
        assert_eq!(reply.len(), 1, "{reply:?}");
        assert!(reply[0].contains("\"type\":\"error\""), "{reply:?}");
    }
    // Hundreds of clients that connect and drop, some mid-line.
    for i in 0..300 {
        let mut conn = UnixStream::connect(&socket).unwrap();
        if i % 2 == 0 {
            let _ = conn.write_all(b"{\"v\":1,\"cmd\":");
        }
    }
    // A client that sends half a line and stalls holds nothing up.
    let mut stalled = UnixStream::connect(&socket).unwrap();
    stalled.write_all(b"{\"v\":1,").unwrap();
    let status = json(&svc, V1);
    assert_eq!(status["reloads"], 0);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.reload_ok();
    // The reload's lines come after those about the garbage, in order.
    svc.output.wait_for("is serving; pid");
    let said = svc.output.text().matches("bad control request").count();
    assert!(said <= 2, "said {said} times: {}", svc.output.text());
    // The stalled client is told off, eventually, and the supervisor is fine.
    stalled.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    let mut reply = String::new();
    let _ = stalled.read_to_string(&mut reply);
    assert!(reply.contains("no complete request within 10s"), "{reply}");
    // And how many went unsaid, once the quiet after the last said is
    // over, though none came after them.
    let (held_back, out) = told_at_the_end(&svc, "bad control request: ");
    assert!(held_back.is_some_and(|n| n >= 49), "{out}");
    svc.stop_expecting(0);
}

#[test]
fn a_reload_whose_command_ended_before_the_supervisor_read_it_is_dropped() {
    // The supervisor's loop stalled (stopped here; a long
    // `supervisor_init`, in life), the command sends its reload, gives up
    // saying that a reload not begun is dropped, and ends.
    let (mut svc, addr) = v1();
    let serving = read_greeting(addr).unwrap();
    let socket = svc.control_dir().join("versioned.sock");
    svc.freeze();
    let reload = format!("{{\"v\":1,\"cmd\":\"reload\",\"path\":\"{V1}\"}}\n");
    let mut gone = UnixStream::connect(&socket).unwrap();
    gone.write_all(reload.as_bytes()).unwrap();
    drop(gone);
    svc.signal(Signal::SIGCONT);
    svc.output.wait_for(
        "dropped a reload whose client had closed its connection before the supervisor read it",
    );
    let status = svc.control_with(V1, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["reloads"], 0, "{status}");
    assert_eq!(read_greeting(addr).unwrap(), serving);
    // One whose client only shut its writing half (`nc -N`) waits for
    // its answer: carried out.
    let reply = control_raw(&socket, reload.as_bytes());
    assert!(
        reply.iter().any(|r| r.contains("\"reloaded\"")),
        "{reply:?}"
    );
    svc.stop_expecting(0);
}

fn v1() -> (Service, std::net::SocketAddr) {
    let mut svc = Service::new(V1);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    (svc, addr)
}

#[test]
fn a_copy_forked_before_run_from_a_supervised_child_takes_no_channel() {
    // A daemon's fork in a reload's child, before `run`: the child exits
    // at once (its start fails), its copy goes on to `run` holding the
    // child's channel. The copy must not speak on it as the child.
    let mut svc = Service::new(V1);
    svc.start_with_env(&[], &[("VERSIONED_FORKS_IN_CHILD", &"1")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let forks = env!("CARGO_BIN_EXE_versioned_forks");
    let reload = svc.control_with(forks, "reload", &[]);
    assert!(!reload.status.success(), "{}", text(&reload));
    assert!(
        text(&reload).contains("exited with code 0 before it was ready"),
        "{}",
        text(&reload)
    );
    let out = svc
        .output
        .wait_for("forked before `run` from the supervised child");
    let forked: i32 = svc.printed("forked pid");
    assert!(
        out.contains("this process was forked before `run` from the supervised child (pid "),
        "{out}"
    );
    assert!(
        out.contains("to which the supervisor's channel was handed: it takes none of it"),
        "{out}"
    );
    tests::wait_dead("the forked copy gone", forked);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    let status = json(&svc, V1);
    assert_eq!(status["reloads"], 0, "{status}");
    svc.stop_expecting(0);
}

#[test]
fn a_child_whose_code_before_run_closed_its_channel_says_so() {
    // Closed (a library closing every descriptor above 2), or another
    // socket opened in its place (of its kind, or a log's): the reload
    // fails, the child saying why, and the first child serves on.
    let closes = env!("CARGO_BIN_EXE_closes_channel");
    let replaced = "fd 3, the supervisor's channel: another file is open there than the supervisor handed over (the program's code before `run` closed it and opened another?)";
    for (how, said) in [
        (
            "close",
            "fd 3, the supervisor's channel: it is not open (closed by the program's code before `run`?)",
        ),
        ("replace", replaced),
        ("log", replaced),
    ] {
        let mut svc = Service::new(V1);
        svc.start_with_env(&[], &[("CLOSES_CHANNEL", &how)]);
        let addr = svc.printed_addr("addr");
        svc.ready();
        let reload = svc.control_with(closes, "reload", &[]);
        assert!(!reload.status.success(), "{}", text(&reload));
        assert!(
            text(&reload).contains("exited with code 1 before it was ready"),
            "{}",
            text(&reload)
        );
        svc.output.wait_for(said);
        assert!(read_greeting(addr).unwrap().starts_with("v1 "));
        svc.stop_expecting(0);
    }
}

#[test]
fn a_child_sending_what_cannot_be_read_is_read_past_and_said_once() {
    // 100 packets before its hello, half of them empty: none is taken for
    // the channel's end, the hello after them is read, the reload goes
    // through, and the log says so once, not 100 times.
    let mut svc = Service::new(V1);
    svc.start_with_env(&[], &[("CLOSES_CHANNEL", &"garbage")]);
    svc.ready();
    let addr = svc.printed_addr("addr");
    let closes = env!("CARGO_BIN_EXE_closes_channel");
    let reload = svc.control_with(closes, "reload", &[]);
    assert!(
        reload.status.success(),
        "{}\n{}",
        text(&reload),
        svc.output.text()
    );
    tests::greeting_eventually(addr, |g| g.starts_with("closes "));
    // Counted once everything the supervisor said has come.
    svc.stop_expecting(0);
    let out = svc.output.text();
    let said = out.matches("sent a bad message").count();
    assert_eq!(said, 1, "{out}");
}

#[test]
fn bad_messages_left_unsaid_are_counted_when_their_child_exits() {
    // The first child itself sends the 100 (no in-place upgrade between,
    // whose new image starts its counts anew): one said at once, the
    // other 99 counted as the child exits at the stop.
    let closes = env!("CARGO_BIN_EXE_closes_channel");
    let mut svc = Service::new(closes);
    svc.start_with_env(&[], &[("CLOSES_CHANNEL", &"garbage")]);
    svc.ready();
    svc.stop_expecting(0);
    let out = svc.output.text();
    assert_eq!(out.matches("sent a bad message").count(), 1, "{out}");
    assert!(
        out.contains(" sent 99 more bad message(s) before it exited, not said one by one"),
        "{out}"
    );
}

#[test]
fn a_child_whose_channel_closed_and_that_stays_is_killed_soon() {
    // Its code before `run` closes the channel, then stays there: it can
    // be told nothing (a stop's lameduck included), and is killed a few
    // seconds after the supervisor finds its end closed, not at its hello
    // deadline; its reload says why.
    let mut svc = Service::new(V1);
    svc.start_with_env(&[], &[("CLOSES_CHANNEL", &"stall")]);
    svc.ready();
    let closes = env!("CARGO_BIN_EXE_closes_channel");
    let reload = svc.control_with(closes, "reload", &[]);
    assert!(!reload.status.success(), "{}", text(&reload));
    assert!(
        text(&reload).contains("failed before it was ready: it closed its end of the channel before its hello and still ran 3s later (closed by the program's code before `run`?)"),
        "{}",
        text(&reload)
    );
    svc.output.wait_for(
        "closed its end of the channel before its hello, and still runs 3s later; killing it",
    );
    svc.stop_expecting(0);
}

#[test]
fn a_stopped_child_is_killed_after_its_lameduck_timeout() {
    let (mut svc, _) = v1();
    let child = child_pid(&json(&svc, V1));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGSTOP).unwrap();
    svc.stop_expecting(137);
    // Killed for its timeout, as the supervisor says.
    let out = svc.output.text();
    assert!(
        out.contains(&format!(
            "child pid {child} is still running after its lameduck timeout; killing it"
        )),
        "{out}"
    );
    assert!(!tests::alive(child));
}

#[test]
fn a_child_killed_from_outside_ends_a_supervisor_without_persist() {
    let (mut svc, _) = v1();
    let child = child_pid(&json(&svc, V1));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL).unwrap();
    assert_eq!(svc.wait_exit().code(), Some(137), "{}", svc.output.text());
    let out = svc.output.text();
    assert!(
        out.contains(&format!("child pid {child} was killed by SIGKILL")),
        "{out}"
    );
}

#[test]
fn a_child_killed_from_outside_is_restarted_with_persist() {
    let persist = env!("CARGO_BIN_EXE_persist");
    let mut svc = Service::new(persist);
    svc.start(&[]);
    svc.output.wait_for("started run 3 pid=");
    let child = tests::eventually("run 3 to serve", || {
        let status = json(&svc, persist);
        status["child"]["pid"].as_i64().map(|p| p as i32)
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL).unwrap();
    svc.output.wait_for("started run 4 pid=");
    let status = json(&svc, persist);
    assert_eq!(status["failures"], 3, "{status}");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn a_child_inherits_only_stdio_and_its_channel() {
    // Whoever starts the supervisor may leave descriptors open: give it one.
    let stray = std::fs::File::open("/dev/null").unwrap();
    nix::fcntl::fcntl(
        &stray,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let (svc, _) = v1();
    let stray_fd = std::os::fd::AsRawFd::as_raw_fd(&stray);
    let supervisor_fds = std::fs::read_dir(format!("/proc/{}/fd", svc.pid())).unwrap();
    assert!(
        supervisor_fds
            .flatten()
            .any(|e| e.file_name() == stray_fd.to_string().as_str()),
        "the supervisor did not inherit the stray fd {stray_fd}"
    );
    drop(stray);
    let script = svc.dir.path().join("list-fds.sh");
    let listing = svc.dir.path().join("fds.txt");
    // `exec`: the listing is of the very process the supervisor started.
    tests::write_executable(
        &script,
        format!(
            "#!/bin/sh\nexec ls -l /proc/self/fd > {}\n",
            listing.display()
        ),
    );
    let socket = svc.control_dir().join("versioned.sock");
    let request = format!(
        "{{\"v\":1,\"cmd\":\"reload\",\"path\":\"{}\"}}\n",
        script.display()
    );
    let reply = control_raw(&socket, request.as_bytes());
    assert!(
        reply.last().unwrap().contains("before it was ready"),
        "{reply:?}"
    );
    // `ls -l` lines end in `FD -> TARGET`.
    let fds: BTreeMap<u32, String> = std::fs::read_to_string(&listing)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            Some((left.rsplit(' ').next()?.parse().ok()?, target.to_owned()))
        })
        // ls's own handle on the directory it lists.
        .filter(|(_, target)| !target.starts_with("/proc/"))
        .collect();
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
    assert!(fds[&3].starts_with("socket:"), "{fds:?}");
}

#[test]
fn reloads_to_binaries_that_cannot_serve_are_refused_truthfully() {
    let impatient = env!("CARGO_BIN_EXE_impatient");
    let mut svc = Service::new(impatient);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let socket = svc.control_dir().join("impatient.sock");
    let reload = |path: &str| {
        let request = format!("{{\"v\":1,\"cmd\":\"reload\",\"path\":\"{path}\"}}\n");
        control_raw(&socket, request.as_bytes())
            .last()
            .unwrap()
            .clone()
    };
    let data = svc.dir.path().join("data.txt");
    std::fs::write(&data, "not a program").unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = reload(&data.display().to_string());
    assert!(
        refused.contains(
            "Permission denied (os error 13): it is not executable (mode 0644; `chmod +x` it)"
        ),
        "{refused}"
    );
    // A folder: said so, not left to read as a matter of users.
    let refused = reload(&svc.dir.path().display().to_string());
    assert!(
        refused.contains("Permission denied (os error 13): it is a folder, not a program"),
        "{refused}"
    );
    // Executable, but no program: refused as the kernel would, not run
    // by /bin/sh (a text file's lines as commands, an empty file as a
    // program that exits 0).
    let ran = svc.dir.path().join("ran");
    let script = svc.dir.path().join("commands.txt");
    std::fs::write(&script, format!("touch {}\n", ran.display())).unwrap();
    let empty = svc.dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let cut = svc.dir.path().join("cut-short");
    std::fs::write(&cut, b"\x7fELF\x02\x01\x01").unwrap();
    // Cut between the 32-bit header's length and the 64-bit one's.
    let cut_64 = svc.dir.path().join("cut-short-64");
    let mut head = b"\x7fELF\x02\x01\x01".to_vec();
    head.resize(56, 0);
    std::fs::write(&cut_64, head).unwrap();
    // An ELF file that is no program (an object file): the kernel refuses
    // it too. And one for another machine (as an arm64 build on x86-64),
    // where binfmt_misc is mounted here to tell that no emulator takes it
    // (machine 0x1234, which none is); elsewhere (a container) the
    // kernel judges, as the host's emulators may serve.
    let elf = |name: &str, at: usize, value: [u8; 2]| {
        let file = svc.dir.path().join(name);
        let mut bytes = std::fs::read(impatient).unwrap();
        bytes.truncate(4096);
        bytes[at..at + 2].copy_from_slice(&value);
        std::fs::write(&file, bytes).unwrap();
        file
    };
    let object = elf("object", 16, [1, 0]);
    // Cut after its header, within its program headers (a copy caught
    // half-way): the kernel's ENOEXEC, not /bin/sh reading the bytes.
    let cut_headers = svc.dir.path().join("cut-in-headers");
    std::fs::write(&cut_headers, &std::fs::read(impatient).unwrap()[..200]).unwrap();
    let mut refused_by_us = vec![&script, &empty, &cut, &cut_64, &object, &cut_headers];
    let foreign = elf("foreign", 18, [0x34, 0x12]);
    if std::path::Path::new("/proc/sys/fs/binfmt_misc/status").exists() {
        refused_by_us.push(&foreign);
    }
    let failures = refused_by_us.len() + 6;
    for file in refused_by_us {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).unwrap();
        let refused = reload(&file.display().to_string());
        assert!(refused.contains("Exec format error"), "{refused}");
    }
    assert!(!ran.exists(), "the text file's lines ran as commands");
    // An executable FIFO: refused by the exec, not read (waiting for a
    // writer, the supervisor would hang).
    let fifo = svc.dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let refused = reload(&fifo.display().to_string());
    assert!(
        refused.contains("Permission denied (os error 13): it is not a plain file"),
        "{refused}"
    );
    // The file there, what runs it missing: the kernel's "No such file or
    // directory" is said with what is missing. A copy of the binary whose
    // ELF interpreter is renamed, and a script naming no program.
    // (A statically linked fixture has no interpreter to rename.)
    let mut bytes = std::fs::read(impatient).unwrap();
    let loader = (bytes[..4096].windows(4)).position(|w| w == b"/ld-");
    if let Some(loader) = loader {
        bytes[loader + 1] = b'X';
        let no_loader = svc.dir.path().join("no-loader");
        tests::write_executable(&no_loader, bytes);
        let refused = reload(&no_loader.display().to_string());
        assert!(refused.contains("No such file or directory"), "{refused}");
        let interpreter = "the file is there, but its ELF interpreter /";
        assert!(refused.contains(interpreter), "{refused}");
        assert!(refused.contains("/Xd-"), "{refused}");
    }
    let no_program = svc.dir.path().join("no-program");
    tests::write_executable(&no_program, "#!/nonexistent/interpreter -x\n");
    let refused = reload(&no_program.display().to_string());
    assert!(
        refused.contains(
            "the file is there, but /nonexistent/interpreter, the program its `#!` line names, is not"
        ),
        "{refused}"
    );
    // Another service's binary.
    let other = reload(env!("CARGO_BIN_EXE_hello"));
    assert!(
        other.contains("is a littleboss program for service `hello_program`, not `impatient`"),
        "{other}"
    );
    // A program that never speaks littleboss: out after the 5 s ready timeout
    // (long enough for the real binaries above to answer on a loaded machine).
    let sleeper = svc.dir.path().join("sleeper.sh");
    tests::write_executable(&sleeper, "#!/bin/sh\nexec sleep 60\n");
    let silent = reload(&sleeper.display().to_string());
    assert!(
        silent.contains("did not answer on the child channel within 5s: is "),
        "{silent}"
    );
    // Through all of it, the first child served.
    let status = json(&svc, impatient);
    let failures = failures + usize::from(loader.is_some());
    assert_eq!(status["failures"], failures, "{status}");
    assert_eq!(status["reloads"], 0);
    assert!(read_greeting(addr).unwrap().starts_with("impatient "));
    svc.stop_expecting(0);
}

#[test]
fn a_ready_said_while_the_supervisor_was_busy_past_the_deadline_counts() {
    // After each child's hello the supervisor's loop blocks 3 s (a slow
    // spawn, say), well past the 2 s ready timeout; the child says ready
    // meanwhile. What came before the deadline is handled before it: every
    // child is taken, none failed as never ready.
    let bin = env!("CARGO_BIN_EXE_short_ready");
    let mut svc = Service::new(bin);
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_PAUSE_AFTER_HELLO_MS", &"3000")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    for _ in 0..3 {
        svc.reload_ok();
    }
    let status = json(&svc, bin);
    assert_eq!(status["reloads"], 3, "{status}");
    assert_eq!(status["failures"], 0, "{status}");
    let serving = format!("short_ready {}", child_pid(&status));
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

/// A service of `bin` started as [`start_with_spawn_gate`] says, its gate
/// then closed (the next spawn held): the service, the gate, the serving
/// child's address and pid.
fn serving_with_spawns_held(
    bin: &str,
    env: &[(&str, &dyn AsRef<std::ffi::OsStr>)],
) -> (Service, std::path::PathBuf, std::net::SocketAddr, i32) {
    let mut svc = Service::new(bin);
    let (gate, addr) = start_with_spawn_gate(&mut svc, env);
    let first = child_pid(&json(&svc, bin));
    std::fs::write(&gate, "").unwrap();
    (svc, gate, addr, first)
}

/// Starts `svc` with each spawn held back while a file (returned, absent
/// for now: the first child starts) exists, as an exec of a binary on a
/// file system that hangs; its first child ready. Returns the file and the
/// child's address.
fn start_with_spawn_gate(
    svc: &mut Service,
    env: &[(&str, &dyn AsRef<std::ffi::OsStr>)],
) -> (std::path::PathBuf, std::net::SocketAddr) {
    let gate = svc.dir.path().join("spawn-gate");
    let mut env = env.to_vec();
    env.push(("LITTLEBOSS_TEST_SPAWN_GATE", &gate));
    svc.start_with_env(&[], &env);
    let addr = svc.printed_addr("addr");
    svc.ready();
    (gate, addr)
}

#[test]
fn the_supervisor_answers_while_a_childs_exec_hangs() {
    // A reload's exec does not return (its binary on a hung mount, held
    // at the gate): the supervisor's loop goes on meanwhile, answering
    // `status`, and the reload goes on once the exec returns.
    let bin = env!("CARGO_BIN_EXE_versioned_v1");
    let (mut svc, gate, addr, first) = serving_with_spawns_held(bin, &[]);
    let mut reload = svc.spawn_control(bin, "reload");
    let status = tests::eventually("the reload's child under way", || {
        let status = json(&svc, bin);
        status["binding"].is_object().then_some(status)
    });
    assert_eq!(status["binding"]["why"], "reload", "{status}");
    assert_eq!(child_pid(&status), first);
    let shown = text(&svc.control("status"));
    assert!(
        shown.contains(
            "starting   (no pid yet: binding its listeners, or its exec under way) (reload)"
        ),
        "{shown}"
    );
    std::fs::remove_file(&gate).unwrap();
    let out = reload.output();
    assert!(out.status.success(), "{}", text(&out));
    let serving = child_pid(&json(&svc, bin));
    assert_ne!(serving, first);
    let serving = format!("v1 {serving}");
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

#[test]
fn a_stop_while_a_childs_exec_hangs_winds_that_child_down_once_it_runs() {
    // A stop cannot tell a child that has no pid yet: it waits for its
    // exec, tells it then, and exits once it is gone too.
    let bin = env!("CARGO_BIN_EXE_versioned_v1");
    let mut svc = Service::new(bin);
    let (gate, _) = start_with_spawn_gate(&mut svc, &[]);
    std::fs::write(&gate, "").unwrap();
    svc.signal(Signal::SIGHUP);
    tests::eventually("the reload's child under way", || {
        json(&svc, bin)["binding"].is_object().then_some(())
    });
    let first: i32 = svc.printed("pid");
    let mut stop = svc.spawn_control(bin, "stop");
    svc.output.wait_for(&format!("version 1 pid={first} done"));
    std::fs::remove_file(&gate).unwrap();
    let out = stop.output();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(svc.wait_exit().code(), Some(0));
    // The late child ran, was told to wind down, and did: its listeners
    // shut for the stop already, it never served.
    let said = svc.output.text();
    assert_eq!(
        said.matches("littleboss: started child pid ").count(),
        2,
        "{said}"
    );
    assert!(
        said.contains("the service is stopping: its listeners were shut before this child could take them; exiting"),
        "{said}"
    );
    assert_eq!(said.matches(" exited with code 0\n").count(), 2, "{said}");
}

#[test]
fn a_reload_given_up_on_leaves_no_new_address_listening() {
    // The reload moved the listener, and its exec hangs past the deadline:
    // the new socket is shut (the driver shuts it: the hung spawn's
    // thread still holds a copy in the supervisor), so a client there is
    // refused rather than queued for nobody.
    let bin = env!("CARGO_BIN_EXE_short_ready");
    let (mut svc, gate, addr, first) = serving_with_spawns_held(bin, &[]);
    let port = tests::free_port();
    let out = svc.control_with(bin, "reload", &[&format!("-addr=127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("its exec had not returned"),
        "{}",
        text(&out)
    );
    tests::eventually("the new address to refuse", || {
        let refused = std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
        refused.then_some(())
    });
    assert_eq!(
        read_greeting(addr).unwrap().trim(),
        format!("short_ready {first}")
    );
    std::fs::remove_file(&gate).unwrap();
    svc.stop_expecting(0);
}

#[test]
fn orphans_are_reaped_while_a_childs_exec_hangs() {
    // A spawn under way keeps the scan off the processes started since it
    // began (its child, not known by pid yet, among them), not off the
    // orphans of the children that serve.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_orphaner"));
    let gate = svc.dir.path().join("spawn-gate");
    svc.start_with_env(
        &[],
        &[
            ("LITTLEBOSS_TEST_SPAWN_GATE", &gate),
            ("ORPHAN_SLEEP", &"60"),
        ],
    );
    let orphan: i32 = svc.printed("orphan");
    svc.output.wait_for("shell exited");
    std::fs::write(&gate, "").unwrap();
    svc.signal(Signal::SIGHUP);
    let bin = svc.bin.clone();
    tests::eventually("the reload's child under way", || {
        json(&svc, bin.to_str().unwrap())["binding"]
            .is_object()
            .then_some(())
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(orphan), Signal::SIGKILL).unwrap();
    svc.output.wait_for(&format!(
        "reaped orphaned process pid {orphan} (killed by SIGKILL)"
    ));
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn a_serving_child_hears_its_supervisor_die_while_a_childs_exec_hangs() {
    // A reload's exec hangs. Its forked process closed its copy of the
    // supervisor's end of the serving child's channel before the exec
    // (a process that held one would keep the end-of-file from coming;
    // the pidfd covers that); either way the serving child hears of the
    // supervisor's death and winds down, rather than serving on with no
    // supervisor.
    let bin = env!("CARGO_BIN_EXE_versioned_v1");
    let (svc, gate, _addr, first) = serving_with_spawns_held(bin, &[]);
    hears_its_supervisor_die(svc, gate, first);
}

#[test]
fn a_child_without_a_pidfd_hears_its_supervisor_die_while_a_childs_exec_hangs() {
    // As above, on a kernel without pidfds (or in a sandbox that refuses
    // them): the child sees its parent change instead.
    let bin = env!("CARGO_BIN_EXE_versioned_v1");
    let (svc, gate, _addr, first) =
        serving_with_spawns_held(bin, &[("LITTLEBOSS_TEST_NO_PIDFD", &"1")]);
    // The hook reached the child: it holds no pidfd (the supervisor's
    // are `anon_inode:[pidfd]` too).
    let pidfds = |pid: i32| {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
        let links = fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok());
        links
            .filter(|l| l.to_string_lossy().contains("pidfd"))
            .count()
    };
    assert_eq!(pidfds(first), 0, "the child watches a pidfd");
    assert!(pidfds(svc.pid()) > 0, "no pidfd here to tell by");
    hears_its_supervisor_die(svc, gate, first);
}

/// Reloads `svc`, whose spawns are held at `gate`, kills its supervisor
/// once the reload's process is forked, and checks that the serving
/// child `first` winds down.
fn hears_its_supervisor_die(svc: Service, gate: std::path::PathBuf, first: i32) {
    let strays = tests::Strays::of([first as u32]);
    svc.signal(Signal::SIGHUP);
    // Forked, and held before its exec: the serving child and it.
    let supervisor = svc.pid() as u32;
    tests::eventually("the reload's process forked", || {
        (tests::procfs::live_children(supervisor).len() == 2).then_some(())
    });
    orphaned_then_gone(&svc, "", &strays, first as u32);
    // The held exec goes on rather than linger after the test.
    std::fs::remove_file(&gate).unwrap();
}

#[test]
fn a_start_after_its_supervisor_died_while_an_exec_hung_gets_the_lock_socket_and_port() {
    // The process forked for a reload, held before its exec (its binary
    // on a hung mount), had copies of the supervisor's lock, control
    // socket and listeners: killed then (OOM, `kill -9`), the supervisor
    // left a service that could not start again until that exec ended.
    let bin = env!("CARGO_BIN_EXE_versioned_v1");
    let flag = format!("-addr=127.0.0.1:{}", tests::free_port());
    let mut svc = Service::new(bin);
    let gate = svc.dir.path().join("spawn-gate");
    svc.start_with_env(&[&flag], &[("LITTLEBOSS_TEST_SPAWN_GATE", &gate)]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let first = read_greeting(addr).unwrap();
    let strays = tests::Strays::of([greeting_pid(&first)]);
    // The held exec goes on once the test ends, however it ends.
    struct Opened(std::path::PathBuf);
    impl Drop for Opened {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    std::fs::write(&gate, "").unwrap();
    let _opened = Opened(gate);
    svc.signal(Signal::SIGHUP);
    let supervisor = svc.pid() as u32;
    tests::eventually("the reload's process forked", || {
        (tests::procfs::live_children(supervisor).len() == 2).then_some(())
    });
    // The serving child orphaned shuts its listener as it winds down.
    orphaned_then_gone(&svc, "", &strays, greeting_pid(&first));
    // The exec still hangs; the service starts again all the same.
    let mut again = Service::sharing(bin, &svc.control_dir());
    again.start(&[&flag]);
    again.ready();
    let greeting = read_greeting(addr).unwrap();
    assert!(
        greeting.starts_with("v1 ") && greeting != first,
        "{greeting}"
    );
    let status = again.control("status");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    again.stop_expecting(0);
}

/// The pid in a greeting `v1 PID`.
fn greeting_pid(greeting: &str) -> u32 {
    let pid = greeting.split_whitespace().nth(1);
    pid.and_then(|pid| pid.parse().ok()).expect("v1 PID")
}

#[test]
fn a_reload_whose_exec_hangs_past_its_deadline_fails_and_its_child_is_killed_once_it_runs() {
    // The 2 s hello deadline passes while the exec hangs: the reload
    // fails then, the serving child is untouched, and the late child is
    // killed as soon as it runs.
    let bin = env!("CARGO_BIN_EXE_short_ready");
    let (mut svc, gate, addr, first) = serving_with_spawns_held(bin, &[]);
    // Answered at the deadline, the exec still held.
    let out = svc.control_with(bin, "reload", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("was not started within 2s: its exec had not returned (is "),
        "{said}"
    );
    assert!(said.contains("; it is killed once it runs"), "{said}");
    std::fs::remove_file(&gate).unwrap();
    let said = svc
        .output
        .wait_for_count("littleboss: started child pid ", 2);
    let late = *tests::started_child_pids(&said)
        .get(1)
        .expect("the late child's start logged") as i32;
    tests::wait_dead("the late child to be reaped", late);
    let status = json(&svc, bin);
    assert_eq!(child_pid(&status), first, "{status}");
    assert!(
        status["starting"].is_null() && status["binding"].is_null(),
        "{status}"
    );
    assert_eq!(
        read_greeting(addr).unwrap().trim(),
        format!("short_ready {first}")
    );
    svc.stop_expecting(0);
}

#[test]
fn a_spawn_whose_exec_hangs_past_its_deadline_is_ended_with_its_process_killed() {
    // The forked process waits in its exec for good (a hung mount, held
    // here by the gate, which stays): given up on, it is killed, which
    // ends the exec, so the spawn returns and lets go of what it holds;
    // the late child is reaped, and the next reload starts at once.
    let bin = env!("CARGO_BIN_EXE_short_ready");
    let (mut svc, gate, addr, first) = serving_with_spawns_held(bin, &[]);
    let out = svc.control_with(bin, "reload", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let hung = svc.hung_exec_killed();
    tests::wait_dead("the hung exec's process to be reaped", hung);
    assert!(gate.exists(), "the exec was let go, not killed");
    // Its spawn over, nothing of it left starting.
    let status = tests::eventually("the spawn over", || {
        let status = json(&svc, bin);
        (status["starting"].is_null() && status["binding"].is_null()).then_some(status)
    });
    assert_eq!(child_pid(&status), first, "{status}");
    assert_eq!(
        read_greeting(addr).unwrap().trim(),
        format!("short_ready {first}")
    );
    std::fs::remove_file(&gate).unwrap();
    svc.reload_ok();
    svc.stop_expecting(0);
}

#[test]
fn a_unix_socket_listener_survives_reloads_and_goes_at_the_final_stop() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("srv.sock");
    // A stale socket file from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    svc.start(&[&format!("-sock={}", path.display())]);
    svc.ready();
    let greet = || tests::read_unix_greeting(&path).unwrap();
    let first = greet();
    assert!(first.starts_with("unix "), "{first}");
    svc.reload_ok();
    assert!(path.exists(), "the socket file went away on reload");
    tests::eventually("the new child to answer", || {
        Some(greet()).filter(|r| *r != first)
    });
    assert_eq!(svc.control("stop").status.code(), Some(0));
    svc.wait_exit();
    assert!(!path.exists(), "the socket file outlived the final stop");
}

/// The `unix_server` fixture, ready, serving at `name` in its test
/// folder (a folder on the way made first), its files looked at every
/// 200 ms (every 30 s when `looks` is false); and that path.
fn unix_server_at(name: &str, looks: bool) -> (Service, std::path::PathBuf) {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_unix_server"));
    let path = svc.dir.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let look: &[(&str, &dyn AsRef<std::ffi::OsStr>)] = match looks {
        true => &[("LITTLEBOSS_TEST_PATH_LOOK_MS", &"200")],
        false => &[],
    };
    svc.start_with_env(&[&format!("-sock={}", path.display())], look);
    svc.ready();
    (svc, path)
}

#[test]
fn a_unix_socket_whose_file_was_removed_is_let_go_of_and_bound_again_by_a_reload() {
    // `rm` of the socket's file (by hand, or a cleaner of /tmp): the
    // socket listens on, out of reach. The supervisor's look (every 30 s,
    // 200 ms here) lets go of it, says so once, and `status` marks it; a
    // reload binds it again, and its child serves there.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let (mut svc, path) = unix_server_at("srv.sock", true);
    let first = tests::read_unix_greeting(&path).unwrap();
    let status = text(&svc.control("status"));
    assert!(!status.contains("file was removed"), "{status}");
    std::fs::remove_file(&path).unwrap();
    let said = format!(
        "the file of the unix socket {} was removed: nobody can connect to it; the supervisor lets go of it, and the next reload or restart binds it again",
        path.display()
    );
    svc.output.wait_for(&said);
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    let line = format!(
        "sock:\tunix {} (its file was removed: nobody can connect; a reload binds it again)",
        path.display()
    );
    assert!(text(&status).contains(&line), "{}", text(&status));
    let status = json(&svc, bin);
    assert_eq!(status["listeners"][0]["file_removed"], true, "{status}");
    assert_eq!(status["listeners"][0]["listening"], false, "{status}");
    // Several looks later (its loop proved to have run them), said once.
    tests::lets_it_run(&svc, std::time::Duration::from_millis(600));
    assert_eq!(svc.output.text().matches(&said).count(), 1, "said once");
    svc.reload_ok();
    let second = tests::read_unix_greeting(&path).expect("bound again by the reload");
    assert!(
        second.starts_with("unix ") && second != first,
        "{first} then {second}"
    );
    let status = json(&svc, bin);
    assert_eq!(
        status["listeners"][0]["file_removed"],
        serde_json::Value::Null,
        "{status}"
    );
    assert_eq!(status["listeners"][0]["listening"], true, "{status}");
    svc.stop_expecting(0);
    assert!(
        !path.exists(),
        "the socket file bound again outlived the stop"
    );
}

/// The unix socket at `path` removed, a reload asked at once by `reload`
/// (before any look: one comes every 30 s) binds it again.
fn removed_then_reloaded_at_once(reload: fn(&mut Service)) {
    let (mut svc, path) = unix_server_at("srv.sock", false);
    let first = tests::read_unix_greeting(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    reload(&mut svc);
    let second = tests::read_unix_greeting(&path).expect("bound again by the reload");
    assert!(
        second.starts_with("unix ") && second != first,
        "{first} then {second}"
    );
    svc.stop_expecting(0);
}

#[test]
fn a_reload_right_after_a_unix_sockets_file_was_removed_binds_it_again() {
    removed_then_reloaded_at_once(|svc| drop(svc.reload_ok()));
}

#[test]
fn a_sighup_right_after_a_unix_sockets_file_was_removed_binds_it_again() {
    // `systemctl reload` of a `Type=notify-reload` unit: SIGHUP.
    removed_then_reloaded_at_once(|svc| {
        svc.signal(Signal::SIGHUP);
        svc.output.wait_for("reload: child pid ");
    });
}

#[test]
fn a_unix_sockets_name_taken_by_another_socket_is_held_on_until_it_is_free() {
    // Another program binds the name the removed file had: a bind there
    // would fail, so the socket is held on; once the name is free again,
    // a later look lets go of it.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let (mut svc, path) = unix_server_at("srv.sock", true);
    // Put over the name at once (a rename), lest a look in between see
    // it free.
    let aside = svc.dir.path().join("theirs.sock");
    let theirs = std::os::unix::net::UnixListener::bind(&aside).unwrap();
    std::fs::rename(&aside, &path).unwrap();
    svc.output.wait_for(&format!(
        "the file of the unix socket {} was removed, or is out of sight: it still listens",
        path.display()
    ));
    let status = json(&svc, bin);
    assert_eq!(status["listeners"][0]["listening"], true, "{status}");
    assert_eq!(status["listeners"][0]["file_removed"], true, "{status}");
    drop(theirs);
    std::fs::remove_file(&path).unwrap();
    svc.output.wait_for(&format!(
        "the file of the unix socket {} was removed: nobody can connect to it; the supervisor lets go of it",
        path.display()
    ));
    svc.reload_ok();
    assert!(
        tests::read_unix_greeting(&path)
            .expect("bound again")
            .starts_with("unix ")
    );
    svc.stop_expecting(0);
}

#[test]
fn a_unix_sockets_file_out_of_sight_by_a_renamed_folder_is_kept() {
    // The folder renamed (`mv`): the path names nothing, but the socket
    // is there still, reached by the new name. Held on (a reload keeps
    // it), not let go of and bound anew.
    let (mut svc, path) = unix_server_at("run/srv.sock", true);
    let folder = path.parent().unwrap();
    let first = tests::read_unix_greeting(&path).unwrap();
    let moved = svc.dir.path().join("run.old");
    std::fs::rename(folder, &moved).unwrap();
    let said = format!(
        "the file of the unix socket {} was removed, or is out of sight: it still listens",
        path.display()
    );
    svc.output.wait_for(&said);
    svc.reload_ok();
    // The new child serves the socket kept, reached by the new name (the
    // old one may take a connection still, until its lameduck order is
    // read).
    let new_child = tests::eventually("the new child to serve the socket kept", || {
        let greeting = tests::read_unix_greeting(&moved.join("srv.sock")).expect("the socket kept");
        (greeting != first).then_some(greeting)
    });
    assert!(new_child.starts_with("unix "), "{first} then {new_child}");
    assert!(!path.exists(), "bound anew at the old path");
    svc.stop_expecting(0);
}

#[test]
fn a_stop_takes_the_unix_socket_file_away_at_once() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("srv.sock");
    let sock = format!("-sock={}", path.display());
    let gate = svc.start_gated("LINGER_GATE", &[&sock, "--linger"]);
    svc.ready();
    let child: i32 = svc.printed("serving unix pid");
    let stop = svc.spawn_control(bin, "stop");
    // Gone while the child still drains: a new client fails at once
    // rather than wait in a queue nobody will take from.
    tests::wait_gone(&path);
    assert!(tests::alive(child), "the child has drained already");
    let refused = UnixStream::connect(&path).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::NotFound);
    std::fs::remove_file(&gate).unwrap();
    assert!(stop.wait_with_output().unwrap().status.success());
    svc.wait_exit();
}

#[test]
fn a_unix_socket_under_a_folder_whose_name_is_not_utf8_serves_and_goes() {
    use std::os::unix::ffi::OsStrExt;
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    // `café` in Latin-1: a path JSON cannot carry.
    let folder = svc.dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&folder).unwrap();
    let mut cmd = svc.command(bin);
    cmd.current_dir(&folder)
        .args(["-littleboss=start", "-sock=srv.sock"]);
    svc.spawn(cmd);
    svc.ready();
    let serving: i32 = svc.printed("serving unix pid");
    let reply = tests::read_unix_greeting(&folder.join("srv.sock")).unwrap();
    assert_eq!(reply, format!("unix {serving}\n"));
    svc.stop_expecting(0);
    assert!(!folder.join("srv.sock").exists(), "the socket file stayed");
}

#[test]
fn a_supervisor_removes_only_its_own_unix_socket_file() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("srv.sock");
    svc.start(&[&format!("-sock={}", path.display())]);
    svc.ready();
    // Someone removes the file and binds their own socket at the path.
    std::fs::remove_file(&path).unwrap();
    let theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
    assert_eq!(svc.control("stop").status.code(), Some(0));
    svc.wait_exit();
    assert!(path.exists(), "the stop removed a socket file not its own");
    drop(theirs);
}

/// Runs `unix_server` without a supervisor, its socket at `path`, its
/// `--linger` held by the file `gate` names, if any.
fn unix_server_in_bypass(
    svc: &mut Service,
    path: &std::path::Path,
    args: &[&str],
    gate: Option<&std::path::Path>,
) {
    let mut cmd = svc.command(&svc.bin);
    cmd.arg(format!("-sock={}", path.display())).args(args);
    if let Some(gate) = gate {
        cmd.env("LINGER_GATE", gate);
    }
    svc.spawn(cmd);
}

#[test]
fn a_unix_socket_bound_in_bypass_goes_when_the_program_ends() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let path = svc.dir.path().join("bypass.sock");
    let gate = svc.gate("linger");
    unix_server_in_bypass(&mut svc, &path, &["--linger"], Some(&gate));
    svc.output.wait_for("serving unix pid=");
    assert!(path.exists());
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    // Gone as draining begins, while the program still finishes.
    tests::wait_gone(&path);
    assert!(tests::alive(svc.pid()), "it has finished already");
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    assert!(!path.exists(), "the socket file outlived the program");
    // A successor's socket at that path, bound meanwhile, is left alone.
    let mut svc = Service::new(bin);
    unix_server_in_bypass(&mut svc, &path, &[], None);
    svc.output.wait_for("serving unix pid=");
    std::fs::remove_file(&path).unwrap();
    let successor = std::os::unix::net::UnixListener::bind(&path).unwrap();
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    assert!(path.exists(), "the successor's socket file was removed");
    drop(successor);
}

/// The `unix_server` fixture run in bypass mode with `args`, which end it
/// with exit `code`: its socket file goes with it. What it printed.
fn bypass_socket_goes_at_its_end(args: &[&str], code: i32) -> String {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_unix_server"));
    let path = svc.dir.path().join("srv.sock");
    unix_server_in_bypass(&mut svc, &path, args, None);
    assert_eq!(svc.wait_exit().code(), Some(code), "{}", svc.output.text());
    assert!(!path.exists(), "the socket file outlived the program");
    svc.output.text()
}

#[test]
fn a_unix_socket_bound_in_bypass_goes_when_main_panics() {
    let out = bypass_socket_goes_at_its_end(&["--panic"], 101);
    assert!(out.contains("told to panic"), "{out}");
}

#[test]
fn a_unix_socket_bound_in_bypass_goes_when_main_calls_process_exit() {
    // As littleboss's own note advises for an exit code other than 0 or 1.
    bypass_socket_goes_at_its_end(&["--exit-3"], 3);
}

#[test]
fn a_reload_from_a_path_that_is_not_utf8_goes_through() {
    use std::os::unix::ffi::OsStrExt;
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    svc.ready();
    let odd = svc.dir.path().join(std::ffi::OsStr::from_bytes(b"\xe9cho"));
    tests::copy_binary(&svc.bin, &odd);
    // Run from a folder whose path is not UTF-8 either.
    let folder = svc
        .dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"d\xe9j\xe0"));
    std::fs::create_dir(&folder).unwrap();
    let out = svc
        .command(&odd)
        .current_dir(&folder)
        .arg("-littleboss=reload")
        .output_in_time();
    assert!(out.status.success(), "{}", text(&out));
    // The new child runs that very file, named byte for byte.
    let child = child_pid(&json(&svc, &svc.bin.to_string_lossy())) as u32;
    assert_eq!(tests::procfs::exe(child), odd);
    let argv = tests::procfs::cmdline(child).unwrap();
    assert_eq!(argv[0], odd.as_os_str().as_bytes(), "its argv[0] too");
    // And on from there, by SIGHUP: the path kept is the same bytes.
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    let exe = tests::eventually("the reload by signal", || {
        let status = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).ok()?;
        let now = status["child"]["pid"].as_u64()? as u32;
        (now != child).then(|| tests::procfs::exe(now))
    });
    assert_eq!(exe, odd);
    svc.stop_expecting(0);
}

#[test]
fn a_child_whose_main_panics_with_a_blocking_job_running_exits_101() {
    // Unwound, the panic would drop the runtime, which waits for the
    // blocking job: the child would hang, serving nothing, never ending.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let svc = Service::new(bin);
    let path = svc.dir.path().join("panics.sock");
    let out = svc
        .command(bin)
        .arg(format!("-sock={}", path.display()))
        .arg("-littleboss=start")
        .arg("--panic")
        .output_in_time();
    // The supervisor, with no child left, exits with the child's code,
    // having said why the start failed.
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    assert!(
        text(&out)
            .contains("failed before it was ready: main panicked (exit code 101): told to panic"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_start_that_cannot_bind_every_listener_leaves_no_socket_file() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("-port={}", taken.local_addr().unwrap());
    for mode in ["start", "bypass"] {
        let svc = Service::new(bin);
        let path = svc.dir.path().join(format!("{mode}.sock"));
        let out = svc
            .command(bin)
            .arg(format!("-sock={}", path.display()))
            .arg(&port)
            .arg(format!("-littleboss={mode}"))
            .output_in_time();
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert!(
            text(&out).contains("Address already in use"),
            "{mode}: {}",
            text(&out)
        );
        // The unix listener, bound first, was undone with the failed start.
        assert!(!path.exists(), "{mode}: the socket file was left behind");
    }
}

#[test]
fn a_supervisor_init_that_panics_fails_the_start_leaving_no_files() {
    let bin = env!("CARGO_BIN_EXE_init_panics");
    let svc = Service::new(bin);
    let api = svc.dir.path().join("api.sock");
    let out = svc
        .command(bin)
        .arg(format!("-api={}", api.display()))
        .arg("-littleboss=start")
        .output_in_time();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("init cannot go on"), "{said}");
    assert!(!api.exists(), "the unix listener's socket file was left");
    assert!(
        said.contains("supervisor_init panicked; not starting"),
        "{said}"
    );
    // Neither the socket nor the lock is left: the folder is empty, and
    // the next start finds nothing in its way.
    let left = svc.left_in_control_dir();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_panic_in_a_copy_supervisor_init_forked_says_why() {
    // The copy panics as the parent exits: the panic's words are the
    // copy's to write, its log's writer thread left behind in the parent
    // (a daemonizing `expect` that failed after the fork, say).
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_forks"));
    svc.start_with_env(&[], &[("INIT_FORKS_COPY_PANICS", &"1")]);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let copy: i32 = svc.printed("forked pid");
    tests::wait_dead("the copy to exit", copy);
    svc.output.wait_for("the copy's own trouble");
    let left = svc.left_in_control_dir();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_supervisor_init_that_forks_and_goes_on_in_the_copy_is_refused() {
    // A daemon's fork in `supervisor_init`: the parent exits 0, and the
    // copy, without the supervisor's threads, ran on as one, its log
    // silent and its loop unserved.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_forks"));
    svc.start(&[]);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let copy: i32 = svc.printed("forked pid");
    svc.output.wait_for(&format!(
        "supervisor_init forked, and went on in the copy (pid {copy}"
    ));
    tests::wait_dead("the copy to exit", copy);
    let out = svc.output.text();
    assert!(!out.contains("started child"), "{out}");
    let left = svc.left_in_control_dir();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The parent going on too (a helper's double fork that fell through):
    // each copy ends, the grandchild too, whose parent is not the
    // supervisor; the supervisor's files are left to it, and it serves.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_init_forks"));
    let env: [(&str, &dyn AsRef<std::ffi::OsStr>); 2] = [
        ("INIT_FORKS_PARENT_GOES_ON", &"1"),
        ("INIT_FORKS_TWICE", &"1"),
    ];
    svc.start_with_env(&[], &env);
    for copy in [
        svc.printed::<i32>("forked pid"),
        svc.printed("forked again pid"),
    ] {
        svc.output.wait_for(&format!(
            "the copy (pid {copy}) returned to littleboss while the supervisor"
        ));
        tests::wait_dead("the copy to exit", copy);
    }
    // Neither took the supervisor for gone (and removed its files, which
    // its folder watch would make again).
    assert!(
        !svc.output.text().contains("now gone"),
        "{}",
        svc.output.text()
    );
    svc.output.wait_for("main ran");
    let status = svc.control("status");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    svc.stop_expecting(0);
    // Again with all the output read (the copies' lines may have been
    // unread above): still nowhere.
    let said = svc.output.wait_closed();
    assert!(!said.contains("now gone"), "{said}");
}

#[test]
fn a_control_folder_another_user_made_first_is_refused_saying_what_to_do() {
    // Made first by another user (in a shared /tmp, the fallback's
    // `/tmp/littleboss-UID`): not used, and the way out said.
    let mut svc = Service::new(V1);
    let dir = svc.control_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let said = format!(
        "the control folder {} belongs to uid 65534, not to us (uid 0); refusing to use it",
        dir.display()
    );
    refused_for_another_users(&mut svc, &dir, 65534, &said);
}

#[test]
fn a_control_folder_inside_another_users_folder_is_refused_saying_what_to_do() {
    // As `sudo -E` leaves it: root's control folder inside the user's
    // XDG_RUNTIME_DIR, which that user could swap for one of their own.
    let mut svc = Service::new(V1);
    let above = svc.dir.path().to_owned();
    let said = format!(
        "the control folder {} is inside {}, which belongs to uid 54321",
        svc.control_dir().display(),
        above.display()
    );
    refused_for_another_users(&mut svc, &above, 54321, &said);
}

#[test]
fn a_control_folder_inside_one_an_acl_lets_another_user_change_is_refused() {
    // `setfacl -m u:54321:rwx` on the folder above: its mode reads 775,
    // its group ours, and yet user 54321 could swap the control folder.
    let mut svc = Service::new(V1);
    let above = svc.dir.path().to_owned();
    std::fs::set_permissions(&above, std::fs::Permissions::from_mode(0o775)).unwrap();
    let setfacl = std::process::Command::new("setfacl")
        .arg("-m")
        .arg("u:54321:rwx")
        .arg(&above)
        .output();
    match setfacl {
        Ok(out) if out.status.success() => {}
        Ok(out) => return tests::skipped(&format!("setfacl failed: {}", text(&out))),
        Err(_) => return tests::skipped("setfacl (Debian's acl) is not installed"),
    }
    let said = format!(
        "the control folder {} is inside {}, which user 54321 may change, by its ACL (mode 775, not sticky)",
        svc.control_dir().display(),
        above.display()
    );
    svc.start(&[]);
    let status = svc.wait_exit();
    let out = svc.output.text();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains(&said) && out.contains("`chmod g-w`"), "{out}");
    assert!(!out.contains("started child"), "{out}");
    // The way out it gives: `chmod g-w` takes the write from the mask.
    std::fs::set_permissions(&above, std::fs::Permissions::from_mode(0o755)).unwrap();
    svc.start(&[]).ready();
    // Given back once it runs: the commands refuse to trust the folder.
    std::fs::set_permissions(&above, std::fs::Permissions::from_mode(0o775)).unwrap();
    let status = svc.control("status");
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(text(&status).contains(&said), "{}", text(&status));
    std::fs::set_permissions(&above, std::fs::Permissions::from_mode(0o755)).unwrap();
    svc.stop_expecting(0);
}

/// Makes `folder` user `uid`'s (as root can; skipped otherwise) and starts
/// `svc`: the start fails (exit 1), saying `said` and the way out, and no
/// child starts.
fn refused_for_another_users(svc: &mut Service, folder: &std::path::Path, uid: u32, said: &str) {
    if !nix::unistd::geteuid().is_root() {
        tests::skipped("a folder of another user needs root to make");
        return;
    }
    nix::unistd::chown(folder, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    svc.start(&[]);
    let status = svc.wait_exit();
    let out = svc.output.text();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains(said) && out.contains("set LITTLEBOSS_DIR to a folder of our own"),
        "{out}"
    );
    assert!(!out.contains("started child"), "{out}");
}

#[test]
fn a_peer_of_another_user_is_refused_by_the_supervisor() {
    if !nix::unistd::geteuid().is_root() {
        tests::skipped("starting a client as another user needs root");
        return;
    }
    let (svc, addr) = v1();
    // Open the folder and socket to everyone, as a careless admin might:
    // the supervisor's own peer check must still turn strangers away.
    let dir = svc.control_dir();
    let socket = dir.join("versioned.sock");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    // Again and again: each refused, the log told once per 10 s (twice,
    // should a slow machine take longer over them).
    for _ in 0..5 {
        let out = tests::command(env!("CARGO_BIN_EXE_raw_client"))
            .arg(&socket)
            .arg("{\"v\":1,\"cmd\":\"stop\"}")
            .uid(65534)
            .gid(65534)
            .output_in_time();
        let reply = String::from_utf8_lossy(&out.stdout);
        assert!(
            reply.contains("permission denied: not the supervisor's user"),
            "{}",
            text(&out)
        );
    }
    // A line of our own after them, so that theirs are all in.
    let reply = control_raw(&socket, b"{\"v\":1,\"cmd\":\"after strangers\"}\n");
    assert!(reply[0].contains("\"type\":\"error\""), "{reply:?}");
    let out = svc.output.wait_for("unknown variant `after strangers`");
    let said = out
        .matches("refused a control connection from uid 65534 (pid")
        .count();
    assert!((1..=2).contains(&said), "{said} lines: {out}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Nothing was stopped.
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    assert!(json(&svc, V1)["child"]["pid"].is_number());
}

/// A socket at `svc`'s control path, standing in for a supervisor of
/// another build (none can be built here): `answer` serves its one
/// connection.
fn stand_in_supervisor(
    svc: &Service,
    answer: impl FnOnce(UnixStream) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    use std::os::unix::fs::DirBuilderExt;
    let folder = svc.control_dir();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&folder)
        .unwrap();
    let socket = std::os::unix::net::UnixListener::bind(folder.join("versioned.sock")).unwrap();
    std::thread::spawn(move || answer(socket.accept().unwrap().0))
}

/// What a reload of megabytes of arguments says of a stand-in supervisor
/// that reads 64 KiB of it, answers `answer`, and closes while the client
/// still writes.
fn too_long_a_reload_answered_with(answer: &'static [u8]) -> std::process::Output {
    let svc = Service::new(V1);
    let stand_in = stand_in_supervisor(&svc, move |mut conn| {
        let mut first = vec![0; 65_537];
        conn.read_exact(&mut first).unwrap();
        assert!(!first.contains(&b'\n'));
        conn.write_all(answer).unwrap();
    });
    // Megabytes once encoded: more than the socket's buffers hold. (One
    // argument may take 128 KiB at most.)
    let long = "x".repeat(100_000);
    let mut args = vec!["--"];
    args.extend(std::iter::repeat_n(long.as_str(), 12));
    let out = svc.control_with(V1, "reload", &args);
    stand_in.join().unwrap();
    out
}

#[test]
fn a_reload_too_long_for_an_older_supervisor_shows_its_answer() {
    // A supervisor of an older build reads requests of at most 64 KiB: it
    // answers why and closes while this build's client still writes.
    let out = too_long_a_reload_answered_with(
        b"{\"v\":1,\"type\":\"error\",\"error\":\"request longer than 65536 bytes\"}\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reload of versioned failed: request longer than 65536 bytes"),
        "{err}"
    );
}

/// Reads the one request line a client sends on `conn`.
fn read_request(conn: &mut UnixStream) -> Vec<u8> {
    let mut request = Vec::new();
    while !request.ends_with(b"\n") {
        let mut byte = [0; 1];
        assert_eq!(conn.read(&mut byte).unwrap(), 1);
        request.push(byte[0]);
    }
    request
}

#[test]
fn a_status_this_build_cannot_read_is_shown_as_sent_and_exits_0() {
    // Another build's field of another type: the service runs, and
    // answered; not "cannot tell" (4).
    const STATUS: &[u8] =
        b"{\"v\":1,\"type\":\"status\",\"status\":{\"name\":\"versioned\",\"reloads\":\"many\"}}\n";
    // Plain, and `--json`, which prints the object alone on stdout: the
    // object as sent, and the note on stderr, both ways.
    for args in [&[][..], &["--json"]] {
        let out = answered_with("status", args, &[STATUS]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("status of versioned: this build cannot read all of the answer"),
            "{args:?}: {err}"
        );
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["reloads"], "many", "{status}");
    }
}

/// What control command `mode` (with `args`) says of a stand-in
/// supervisor that answers it with `lines`, then closes.
fn answered_with(
    mode: &str,
    args: &[&str],
    lines: &'static [&'static [u8]],
) -> std::process::Output {
    let svc = Service::new(V1);
    let stand_in = stand_in_supervisor(&svc, move |mut conn| {
        read_request(&mut conn);
        for line in lines {
            conn.write_all(line).unwrap();
        }
    });
    let out = svc.control_with(V1, mode, args);
    stand_in.join().unwrap();
    out
}

const STOPPING: &[u8] = b"{\"v\":1,\"final\":false,\"type\":\"stopping\",\"pid\":7}\n";

#[test]
fn a_child_that_floods_its_channel_does_not_hold_up_the_supervisor() {
    // Its child sends bad messages in a loop for its whole life: the
    // supervisor's one loop still answers, and still stops it. (A check
    // that it lives, with the client's own patience: the unit test
    // `link::tests::a_child_that_sends_without_end_lets_the_loop_run`
    // shows the loop makes way.)
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_FLOOD_CHANNEL", &"1")]);
    svc.ready();
    for _ in 0..3 {
        let status = svc.control("status");
        assert!(status.status.success(), "{}", text(&status));
    }
    // Read from the supervisor's stderr by a thread of the test's own:
    // waited for, not looked at once.
    svc.output.wait_for("sent a bad message");
    svc.stop_expecting(0);
}

#[test]
fn an_answer_that_never_ends_its_line_is_cut_off_where_no_answer_goes() {
    // Another program at the socket's path sends 64 MiB with no line's
    // end, as long as the client reads: it stops at its bound (256 MiB,
    // 1 MiB here) and says why, rather than read on into memory until
    // the sender ends.
    let svc = Service::new(V1);
    let stand_in = stand_in_supervisor(&svc, |mut conn| {
        read_request(&mut conn);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            if conn.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut status = svc.command(V1);
    status
        .arg("-littleboss=status")
        .env("LITTLEBOSS_TEST_MAX_ANSWER", "1048576");
    let out = status.control_output_in_time();
    stand_in.join().unwrap();
    exits_saying(
        &out,
        4,
        "cannot read the supervisor's answer: it is longer than 1048576 bytes, with no line's end",
    );
}

#[test]
fn a_stop_told_an_exit_code_no_process_has_does_not_pass_it_on() {
    // 256 passed to exit(3) would be 0: a success.
    const STOPPED: &[u8] = b"{\"v\":1,\"type\":\"stopped\",\"exit_code\":256}\n";
    exits_saying(
        &answered_with("stop", &[], &[STOPPING, STOPPED]),
        4,
        "stopped versioned, but the supervisor gave exit code 256, which no process exits with",
    );
}

#[test]
fn a_stop_whose_supervisor_closes_after_saying_it_stops_may_have_stopped() {
    exits_saying(
        &answered_with("stop", &[], &[STOPPING]),
        4,
        "the supervisor closed the connection while versioned stopped, before it said how; it may have stopped",
    );
}

#[test]
fn a_reload_too_long_for_another_protocol_version_shows_its_answer() {
    // The request's write meets a closed connection: the supervisor's
    // answer, in a version this build cannot read, still says why.
    let out =
        too_long_a_reload_answered_with(b"{\"v\":2,\"type\":\"error\",\"error\":\"too long\"}\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("it is another littleboss build"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn status_json_is_what_the_supervisor_sent() {
    // A supervisor of another build: an older one leaves out what it did
    // not know (`stopping`, `draining`), a newer one adds fields. `--json`
    // passes its answer on as it came, rather than through this build's
    // idea of a status.
    const STATUS: &[u8] = b"{\"v\":1,\"type\":\"status\",\"status\":{\"name\":\"versioned\",\"supervisor_pid\":10,\"supervisor_started\":0,\"child\":null,\"starting\":null,\"reloads\":0,\"failures\":0,\"last_failure\":null,\"listeners\":[],\"from_a_newer_build\":42}}\n";
    let out = answered_with("status", &["--json"], &[STATUS]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["from_a_newer_build"], 42, "{status}");
    assert!(status.get("stopping").is_none(), "made up: {status}");
    assert!(status.get("draining").is_none(), "made up: {status}");
}

#[test]
fn a_child_killed_at_its_lameduck_timeout_takes_its_process_group_with_it() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn_family"));
    let marker = format!("family-{}", std::process::id());
    svc.start_with_env(&[], &[("FAMILY_MARKER", &marker)]);
    let helper: u32 = svc.printed("helper");
    svc.ready();
    let runs_marked = |pid: u32| {
        tests::procfs::cmdline(pid).is_some_and(|args| args.iter().any(|a| a == marker.as_bytes()))
    };
    tests::eventually("the helper running", || runs_marked(helper).then_some(()));
    // Killed should the check below fail.
    let strays = tests::Strays::of([helper]);
    svc.stop_expecting(128 + 9);
    tests::eventually("the helper gone with the child killed", || {
        (!strays.runs(helper)).then_some(())
    });
}

#[test]
fn a_child_that_exits_by_itself_takes_its_process_group_with_it() {
    // Its forked worker, left running, would serve on beside the next
    // child on the listeners it inherited.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn_family"));
    let marker = format!("family-exit-{}", std::process::id());
    svc.start_with_env(
        &[],
        &[("FAMILY_MARKER", &marker), ("FAMILY_EXIT_AFTER_MS", &"300")],
    );
    let helper: u32 = svc.printed("helper");
    // Killed should the check below fail.
    let strays = tests::Strays::of([helper]);
    assert_eq!(svc.wait_exit().code(), Some(3), "{}", svc.output.text());
    tests::eventually("the helper gone with the child", || {
        (!strays.runs(helper)).then_some(())
    });
    // The shell, and its `sleep` if it had started it by then.
    let out = svc.output.text();
    let named = out
        .lines()
        .find_map(|l| l.split_once("left processes in its process group (pid "))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(pids, _)| pids.split(", ").map(str::to_owned).collect::<Vec<_>>());
    assert!(
        named.is_some_and(|pids| pids.contains(&helper.to_string())),
        "{out}"
    );
}

#[test]
fn a_supervisor_outlives_a_line_written_to_its_closed_stderr_while_supervisor_init_runs() {
    // `supervisor_init` restores SIGPIPE's default, then removes the gate
    // file and takes 600 ms more; the supervisor's first line
    // ("supervising ...", queued before it) waits for the gate and is
    // written then, to a pipe whose reader is gone: EPIPE for the writer,
    // not the supervisor's death (found as a rare CI failure of the test
    // below).
    let mut svc = Service::new(env!("CARGO_BIN_EXE_sigpipe_default"));
    let gate = svc.gate("init-gate");
    let most = tests::DEADLINE.as_millis().to_string();
    let gate = gate.to_str().unwrap();
    let status = started_with_stderr_closed(
        &mut svc,
        &[
            ("SIGPIPE_INIT_GATE", gate),
            ("SIGPIPE_INIT_PAUSE_MS", "600"),
            ("LITTLEBOSS_TEST_LOG_WRITE_PAUSE_MS", &most),
            ("LITTLEBOSS_TEST_LOG_WRITE_PAUSE_GATE", gate),
        ],
    );
    assert_eq!(status["supervisor_pid"], svc.pid());
    let stop = svc.control_with(&svc.bin, "stop", &[]);
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
}

/// Starts `svc` with `env`, its stderr's reader gone at once (`| logger`,
/// restarted: every line it writes meets a closed pipe); its status once
/// a child serves.
fn started_with_stderr_closed(svc: &mut Service, env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("-littleboss=start")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut supervisor = cmd.spawn().unwrap();
    drop(supervisor.stderr.take());
    // The service's own, killed should a check fail.
    svc.supervisor = Some(supervisor);
    tests::eventually("a status answered", || {
        let out = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["child"]["pid"].as_u64().map(|_| status)
    })
}

#[test]
fn a_supervisor_outlives_its_closed_stderr_though_the_program_restored_sigpipe() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_sigpipe_default"));
    let status = started_with_stderr_closed(&mut svc, &[]);
    assert_eq!(status["supervisor_pid"], svc.pid());
    // Its upgraded image too, whose code before `run` restores the
    // default again before the state is taken over.
    let copy = svc.dir.path().join("sigpipe_default-copy");
    tests::copy_binary(&svc.bin, &copy);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let status = tests::eventually("the upgrade", || {
        let out = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["upgrades"] == 1).then_some(status)
    });
    assert_eq!(status["supervisor_pid"], svc.pid());
    // The control commands too: their output to a reader gone (`| head
    // -0`) costs them no line they need and not their exit code.
    let status = svc
        .command(&svc.bin)
        .arg("-littleboss=status")
        .stdout(closed_pipe())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = tests::KilledOnDrop(status).wait_with_output().unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let stop = svc
        .command(&svc.bin)
        .arg("-littleboss=stop")
        .stdout(std::process::Stdio::piped())
        .stderr(closed_pipe())
        .spawn()
        .unwrap();
    let stop = tests::KilledOnDrop(stop).wait_with_output().unwrap();
    let code = svc.wait_supervisor_exit();
    assert_eq!(stop.status.code(), Some(0), "{:?}", stop.status);
    assert_eq!(code.code(), Some(0), "{code:?}");
}

/// The writing end of a pipe whose reader is gone.
fn closed_pipe() -> std::process::Stdio {
    // Close-on-exec: a process another test starts meanwhile must not
    // keep a copy of the read end, which would leave the pipe a reader.
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(read);
    write.into()
}

/// Sets `pid`'s soft limit on open descriptors; returns the one before.
fn set_fd_limit(pid: i32, soft: u64) -> u64 {
    let mut old = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads the current limits into `old`, which lives on our stack.
    let rc =
        unsafe { nix::libc::prlimit(pid, nix::libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    let new = nix::libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: passes a limit from our stack; the kernel only reads it.
    let rc =
        unsafe { nix::libc::prlimit(pid, nix::libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    old.rlim_cur
}

#[test]
fn a_supervisor_out_of_descriptors_says_so_once_and_answers_once_it_has_them() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    svc.ready();
    let pid = svc.pid();
    // No number left to open: the limit at 3, and 0 to 2 (its stdio)
    // held, whatever it closes meanwhile (the lowest free number, taken
    // from a look at /proc, was one too many were a descriptor open
    // for a moment then).
    let held = |fd: u64| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).is_ok();
    assert!((0..3).all(held), "stdio closed");
    let before = set_fd_limit(pid, 3);
    // Queued, not accepted: the supervisor has no descriptor to spare, and
    // tries again every 100 ms.
    let socket = svc.control_dir().join("echo_server.sock");
    let waiting = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    svc.output.wait_for("control socket accept failed");
    // A second's retries (its loop proved to have run them), said once.
    tests::lets_it_run(&svc, std::time::Duration::from_millis(1200));
    let said = svc
        .output
        .text()
        .matches("control socket accept failed")
        .count();
    set_fd_limit(pid, before);
    assert_eq!(said, 1, "{}", svc.output.text());
    drop(waiting);
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    assert!(status.status.success(), "{}", text(&status));
    svc.stop_expecting(0);
}

#[test]
fn control_connections_beyond_the_most_are_answered_at_once_and_the_service_goes_on() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    svc.ready();
    let socket = svc.control_dir().join("echo_server.sock");
    // A burst of clients that connect and say nothing (yet).
    let idle: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    let status = tests::eventually("a status refused for the connections open", || {
        let status = svc.control("status");
        (!status.status.success()).then_some(status)
    });
    assert!(
        text(&status).contains("64 control connections open, its most"),
        "{}",
        text(&status)
    );
    // It cannot tell: the supervisor runs.
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    svc.output
        .wait_for("refused a control connection: 64 are open");
    // A stop so refused is not a child's exit code 1: the service runs on.
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(4), "{}", text(&stop));
    assert!(text(&stop).contains("it still runs"), "{}", text(&stop));
    // Nor is a reload so refused one that failed (1): nothing was tried.
    let reload = svc.control("reload");
    assert_eq!(reload.status.code(), Some(4), "{}", text(&reload));
    assert!(
        text(&reload).contains(
            "control connections open, its most; try again once some have closed; nothing was tried"
        ),
        "{}",
        text(&reload)
    );
    // A signal still reaches it: the service is not held up.
    svc.signal(Signal::SIGHUP);
    svc.output.wait_for("is serving; pid");
    // The refusals after the first said (the stop's and the reload's)
    // are counted once the quiet after it is over, though none follow.
    let (held_back, out) = told_at_the_end(&svc, "refused a control connection, 64 open: ");
    assert!(held_back.is_some_and(|n| n >= 2), "{out}");
    drop(idle);
    tests::eventually("a status answered once they closed", || {
        svc.control("status").status.success().then_some(())
    });
    svc.stop_expecting(0);
}

#[test]
fn an_orphan_whose_logger_blocks_still_exits() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocking_logger"));
    svc.start(&[]);
    svc.ready();
    let child: u32 = svc.printed("serving pid");
    let strays = tests::Strays::of([child]);
    // It says why it winds down, and its logger never returns from that;
    // it is gone all the same (by design at its 2 s lameduck timeout;
    // waited for up to 15 s, not timed).
    orphaned_then_gone(&svc, "LOG WARN: ", &strays, child);
}

/// Kills `svc`'s supervisor; its child `child` says (its line beginning
/// with `prefix`) that the supervisor is gone, and exits within 15 s.
fn orphaned_then_gone(svc: &Service, prefix: &str, strays: &tests::Strays, child: u32) {
    svc.signal(Signal::SIGKILL);
    svc.output.wait_for(&format!(
        "{prefix}the supervisor is gone; lameduck, exiting within"
    ));
    tests::eventually_within(
        "the orphaned child gone",
        std::time::Duration::from_secs(15),
        || (!strays.runs(child)).then_some(()),
    );
}

#[test]
fn a_child_whose_logger_blocks_on_the_sighup_line_still_drains_on_sigterm() {
    // `pkill -HUP` reached the child too; its logger never returns from
    // littleboss's line about it. systemd's SIGTERM to the child after.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocking_logger"));
    svc.start(&[]);
    svc.ready();
    let child: u32 = svc.printed("serving pid");
    let strays = tests::Strays::of([child]);
    let child_pid = nix::unistd::Pid::from_raw(child as i32);
    nix::sys::signal::kill(child_pid, Signal::SIGHUP).unwrap();
    svc.output.wait_for("LOG INFO: SIGHUP to the child");
    nix::sys::signal::kill(child_pid, Signal::SIGTERM).unwrap();
    svc.output.wait_for("draining");
    tests::eventually_within(
        "the child gone (by design at its 2 s lameduck timeout; not timed)",
        std::time::Duration::from_secs(15),
        || (!strays.runs(child)).then_some(()),
    );
}

#[test]
fn a_program_whose_logger_blocks_still_exits_after_sigterm() {
    // Bypass mode: the signal's deadline says why it exits, and the
    // logger never returns from that line.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_blocking_logger"));
    let cmd = svc.command(&svc.bin);
    svc.spawn(cmd);
    svc.output.wait_for("serving pid");
    svc.signal(Signal::SIGTERM);
    svc.output.wait_for("draining");
    svc.dies_of(Signal::SIGTERM);
    let out = svc.output.text();
    assert!(
        out.contains("LOG WARN: still running 2s after the signal"),
        "{out}"
    );
}

#[test]
fn a_stderr_nobody_reads_does_not_stop_the_supervisor() {
    // stderr is a pipe whose reader stalled (a hung log shipper), and
    // full: the supervisor's next log line would block its one loop, and
    // with it every control request.
    let mut svc = Service::new(V1);
    let read_end = svc.start_with_stderr_unread(&[], false);
    tests::fill_pipe(&read_end);
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_supervisor_exit().code(), Some(0));
    // What the pipe took before it was full: the supervisor's first lines.
    let mut reader = std::fs::File::from(read_end);
    let mut logged = vec![0; 4096];
    let n = reader.read(&mut logged).unwrap();
    let logged = String::from_utf8_lossy(&logged[..n]);
    assert!(
        logged.contains("littleboss: supervising `versioned`"),
        "{logged}"
    );
}

/// `read_end` of a pipe, its reads made non-blocking: read in an
/// `eventually` loop, they keep to its deadline.
fn reading_without_blocking(read_end: std::os::fd::OwnedFd) -> std::fs::File {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(&read_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    std::fs::File::from(read_end)
}

#[test]
fn an_exit_in_supervisor_init_waits_for_the_lines_said_before() {
    // stderr full as it starts (a log shipper behind), and its
    // `supervisor_init` exits: the lines queued by then (`supervising
    // ...`) went with the writer thread, unsaid and uncounted. The exit
    // waits for them now (a second at most), as `fail`'s does.
    let svc = Service::new(env!("CARGO_BIN_EXE_init_exits"));
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    nix::fcntl::fcntl(&read_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    tests::fill_pipe(&read_end);
    let mut supervisor = {
        let mut cmd = svc.command(&svc.bin);
        cmd.arg("-littleboss=start")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(write_end));
        cmd.spawn().unwrap()
    };
    // Read once its main thread waits on a futex while a thread is
    // blocked in `write` on the full pipe: the exit's wait for its log's
    // writer, as `supervisor_init` exits at once. Read earlier, the lines
    // are written before the exit, and this passes either way. Or once it
    // has exited: then what it left unsaid is lost.
    let pid = supervisor.id();
    match waits_reading(std::process::id()).and(waits_for_its_writer(pid)) {
        // Without it, a read could not be told early: nothing checked.
        None => {
            let _ = supervisor.kill();
            let _ = supervisor.wait();
            return tests::skipped("/proc/PID/syscall cannot be read here");
        }
        Some(_) => {
            let deadline = std::time::Instant::now() + tests::DEADLINE;
            while waits_for_its_writer(pid) != Some(true)
                && supervisor.try_wait().unwrap().is_none()
            {
                assert!(std::time::Instant::now() < deadline, "no exit began");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
    // To its end (the supervisor's exit), within the deadline.
    let mut reader = reading_without_blocking(read_end);
    let mut logged = Vec::new();
    tests::eventually("the supervisor's stderr to end", || {
        let mut chunk = [0; 65536];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => return Some(()),
                Ok(n) => logged.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    });
    assert_eq!(supervisor.wait().unwrap().code(), Some(3));
    let logged = String::from_utf8_lossy(&logged);
    assert!(
        logged.contains("littleboss: supervising `init_exits` as pid"),
        "{}",
        logged.trim_start_matches('.')
    );
}

#[test]
fn a_panic_on_the_supervisors_loop_does_not_hold_it_on_a_full_stderr() {
    // A bug's panic on the supervisor's one thread (a control connection's
    // task, which tokio catches; the test hook makes it): Rust's default
    // hook wrote its message straight to stderr, and a full one held the
    // loop, and every request after, for as long as nobody read.
    let mut svc = Service::new(V1);
    let armed = svc.dir.path().join("panic-now");
    let hook = armed.to_str().unwrap();
    let read_end =
        svc.start_with_stderr_unread(&[("LITTLEBOSS_TEST_PANIC_AT_STATUS_IF", hook)], false);
    tests::fill_pipe(&read_end);
    std::fs::write(&armed, b"").unwrap();
    // The connection the panic ended.
    let panicked = svc.control("status");
    assert!(!panicked.status.success(), "{}", text(&panicked));
    let after = svc.control("status");
    assert!(after.status.success(), "{}", text(&after));
    // Said all the same, once the pipe is read.
    let mut reader = reading_without_blocking(read_end);
    let mut logged = Vec::new();
    tests::eventually("the panic's message", || {
        let mut chunk = [0; 65536];
        while let Ok(n @ 1..) = reader.read(&mut chunk) {
            logged.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&logged)
            .contains("littleboss: the supervisor panicked at")
            .then_some(())
    });
    let logged = String::from_utf8_lossy(&logged);
    assert!(
        logged.contains("test hook: a panic on the supervisor's loop"),
        "{logged}"
    );
    svc.stop_expecting(0);
}

#[test]
fn a_child_whose_own_threads_cannot_start_says_why() {
    // Thread creation refused (a cgroup's `pids.max`), as the test hook
    // makes it for the child's signal thread: it panicked, and the start
    // said only that the child exited with code 101.
    let mut svc = Service::new(V1);
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_CHILD_THREAD_FAILS", &"1")]);
    let code = svc.wait_exit().code();
    let out = svc.output.text();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("cannot start the thread watching for signals: Resource temporarily"),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
}

/// Whether process `pid`'s main thread waits on a lock or condition (a
/// futex) while another of its threads is blocked in `write`: an exit
/// waiting for the log's writer. False once it is gone; `None` where
/// `/proc/PID/syscall` cannot be read (see [`waits_reading`], which
/// tells whether this machine has it).
fn waits_for_its_writer(pid: u32) -> Option<bool> {
    // "running", or the call's number first.
    let call = |path: std::path::PathBuf| {
        let call = std::fs::read_to_string(path)?;
        Ok::<_, std::io::Error>(
            call.split_whitespace()
                .next()
                .and_then(|n| n.parse::<i64>().ok()),
        )
    };
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    let main = match call(proc.join("syscall")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
        Ok(main) => main,
    };
    let Ok(tasks) = std::fs::read_dir(proc.join("task")) else {
        return Some(false);
    };
    let writing = (tasks.flatten())
        .any(|task| call(task.path().join("syscall")).ok().flatten() == Some(nix::libc::SYS_write));
    Some(main == Some(nix::libc::SYS_futex) && writing)
}

/// Whether process `pid`'s main thread waits in a read of a socket
/// (`/proc/PID/syscall`): a control command doing so has sent its request
/// and waits for the answer. `None`: that file cannot be read here (a
/// kernel without it, a ptrace policy that hides it).
fn waits_reading(pid: u32) -> Option<bool> {
    let call = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let number = call
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<i64>().ok());
    let reads = [
        nix::libc::SYS_read,
        nix::libc::SYS_recvfrom,
        nix::libc::SYS_recvmsg,
    ];
    Some(number.is_some_and(|n| reads.contains(&n)))
}

#[test]
fn commands_sent_to_a_supervisor_killed_before_it_read_them_say_it_is_not_running() {
    // The supervisor has bound its control socket and waits in
    // `supervisor_init`: a request there is sent and not read yet. Then
    // it is killed: no answer comes, and its lock is let go, so each
    // command says the service is not running (3), not that it cannot
    // tell (4) or that what it asked may still be done.
    if waits_reading(std::process::id()).is_none() {
        tests::skipped("/proc/PID/syscall cannot be read here");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_init_sidecar");
    let mut svc = Service::new(bin);
    // Never removed: `supervisor_init` waits while the requests come.
    let _gate = svc.start_gated("INIT_GATE", &[]);
    svc.output.wait_for("init waits");
    let socket = svc.control_dir().join("init_sidecar.sock");
    tests::eventually("the control socket bound", || socket.exists().then_some(()));
    let sent = |mode: &str| {
        let mut control = svc.spawn_control(bin, mode);
        let said = control.said();
        // Its request sent: it waits for the answer.
        let pid = control.0.id();
        tests::eventually("the request sent", || waits_reading(pid)?.then_some(()));
        (control, said)
    };
    let commands = ["stop", "reload", "status"].map(|mode| (mode, sent(mode)));
    svc.signal(Signal::SIGKILL);
    for (mode, (mut control, said)) in commands {
        let said = control.ended_with(&said, 3);
        assert!(
            said.contains(
                "`init_sidecar` is not running: its supervisor exited as this command reached it, before answering"
            ),
            "{mode}: {said}"
        );
    }
}

#[test]
fn a_control_folder_this_user_may_not_enter_is_said_with_what_chose_it() {
    // As after `su` without a login: the other user's XDG_RUNTIME_DIR, a
    // folder this user may not enter, kept; the command says where the
    // folder came from, not only "permission denied".
    if !nix::unistd::geteuid().is_root() {
        tests::skipped("running a command as another user needs root");
        return;
    }
    let svc = Service::new(V1);
    // Root's own folder, 0700: the other user cannot go through it.
    let closed = svc.dir.path().join("closed");
    std::fs::create_dir_all(closed.join("littleboss")).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The mode run as the other user, with the other user's folder.
    let as_other_user = |mode: &str| {
        let out = svc
            .command(V1)
            .arg(format!("-littleboss={mode}"))
            .env_remove("LITTLEBOSS_DIR")
            .env("XDG_RUNTIME_DIR", &closed)
            .uid(65534)
            .gid(65534)
            .output_in_time();
        (out.status.code(), text(&out))
    };
    let (code, said) = as_other_user("status");
    assert_eq!(code, Some(4), "{said}");
    let folder = closed.join("littleboss");
    assert!(
        said.contains(&format!(
            "Permission denied (os error 13); the control folder {} came from XDG_RUNTIME_DIR, which this user (uid 65534) may not enter",
            folder.display()
        )),
        "{said}"
    );
    // A start there says so too, not only "permission denied".
    let (code, said) = as_other_user("start");
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "cannot inspect the control folder {}: Permission denied (os error 13); the control folder came from XDG_RUNTIME_DIR, which this user (uid 65534) may not enter or write in",
            folder.display()
        )),
        "{said}"
    );
}
