//! The supervisor upgrading itself in place on a reload to another binary:
//! same pid, sockets, children and control socket, the new binary's code;
//! and the rollback when the new image cannot take the state over.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use tests::{Load, OutputInTime, Service, procfs, read_greeting, text};

/// Runs a command to completion on a thread of its own (killed, and the
/// thread's join a panic, at the deadline).
trait InBackground {
    fn output_in_background(&mut self) -> std::thread::JoinHandle<std::process::Output>;
}

impl InBackground for std::process::Command {
    fn output_in_background(&mut self) -> std::thread::JoinHandle<std::process::Output> {
        let child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::spawn(move || tests::KilledOnDrop(child).wait_with_output().unwrap())
    }
}

const V1: &str = env!("CARGO_BIN_EXE_versioned_v1");
const INIT: &str = env!("CARGO_BIN_EXE_versioned_init");

/// A pause in each image of an upgrade (before the exec, before taking
/// over) that lasts until the gate file it returns is removed (at most
/// the deadline): for a test that acts in the window, however slowly.
fn gated_pause(svc: &Service) -> (PathBuf, [(&'static str, String); 2]) {
    let gate = svc.gate("pause-gate");
    let ms = tests::DEADLINE.as_millis().to_string();
    let env = [
        ("LITTLEBOSS_TEST_RESUME_PAUSE_MS", ms),
        (
            "LITTLEBOSS_TEST_RESUME_PAUSE_GATE",
            gate.to_str().unwrap().to_owned(),
        ),
    ];
    (gate, env)
}

/// Starts `svc` with `env` in its environment, once its child is ready;
/// the child's address.
fn start_with(svc: &mut Service, env: &[(&str, &str)]) -> std::net::SocketAddr {
    let env: Vec<(&str, &dyn AsRef<std::ffi::OsStr>)> = (env.iter())
        .map(|(key, value)| (*key, value as &dyn AsRef<std::ffi::OsStr>))
        .collect();
    svc.start_with_env(&[], &env);
    let addr = svc.printed_addr("addr");
    svc.ready();
    addr
}

/// The pid of the old child a reload of `svc` says is winding down, once
/// it says so.
fn winding_down_pid(svc: &Service) -> i32 {
    let out = svc.output.wait_for("is winding down");
    out.rsplit("; pid ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no old pid in {out:?}"))
}

/// A copy of `bin` in the test's folder: the same program, another file.
fn copy_of(svc: &Service, bin: &str) -> PathBuf {
    let name = Path::new(bin).file_name().unwrap().to_string_lossy();
    let copy = svc.dir.path().join(format!("{name}-copy"));
    tests::copy_binary(Path::new(bin), &copy);
    copy
}

fn status(svc: &Service) -> serde_json::Value {
    let out = svc.control_with(&svc.bin, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Version 1, started and ready, with its control socket's path.
fn v1_with_control_socket() -> (Service, PathBuf) {
    let mut svc = Service::new(V1);
    svc.start(&[]);
    svc.printed_addr("addr");
    svc.ready();
    let socket = svc.control_dir().join("versioned.sock");
    (svc, socket)
}

fn exe(pid: i32) -> PathBuf {
    procfs::exe(pid as u32)
}

/// The sockets among `pid`'s descriptors, as `socket:[INODE]`.
fn sockets_of(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.to_string_lossy().into_owned())
        .filter(|l| l.starts_with("socket:"))
        .collect()
}

/// `pid`'s listening TCP sockets, as `socket:[INODE]`.
fn listening_sockets_of(pid: i32) -> Vec<String> {
    const LISTEN: &str = "0A";
    let mut listening = std::collections::HashSet::new();
    // `tcp6` is missing where IPv6 is off (`ipv6.disable=1`).
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = match std::fs::read_to_string(table) {
            Err(e) if table.ends_with("tcp6") && e.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
            read => read.unwrap(),
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) == Some(&LISTEN)
                && let Some(inode) = fields.get(9)
            {
                listening.insert(format!("socket:[{inode}]"));
            }
        }
    }
    let ours = sockets_of(pid).into_iter();
    ours.filter(|socket| listening.contains(socket)).collect()
}

/// Nothing of the handoff is left open in the supervisor: no state memfd,
/// and no descriptor of any of `binaries` but one close-on-exec each (the
/// supervisor holds each child's binary once, for a rollback to it; the
/// handoff's descriptor of the previous image's binary, left open, would be
/// another, and inherited).
fn assert_no_handoff_left(pid: i32, binaries: &[&Path]) {
    let entries: Vec<(String, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            let fd = e.file_name().to_string_lossy().into_owned();
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    let fds: Vec<String> = entries.iter().map(|(_, l)| l.clone()).collect();
    for (fd, target) in &entries {
        if binaries.iter().any(|b| Path::new(target) == *b) {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
                .unwrap();
            assert_ne!(flags & 0o2000000, 0, "{target} (fd {fd}) survives exec");
        }
    }
    assert!(
        !fds.iter().any(|l| l.contains("littleboss-state")),
        "{fds:?}"
    );
    for binary in binaries {
        let open = fds.iter().filter(|l| Path::new(l) == *binary).count();
        assert!(open <= 1, "{} open {open} times: {fds:?}", binary.display());
    }
}

/// The pid of the child that serves, from `status`.
fn serving_pid(svc: &Service) -> u32 {
    status(svc)["child"]["pid"].as_u64().unwrap() as u32
}

#[test]
fn an_upgrade_with_standard_input_closed_by_supervisor_init_takes_over() {
    // Descriptor 0 closed: /dev/null again once `supervisor_init` returns,
    // where the next descriptor the supervisor opens (the control
    // folder's lock, a child's channel, the binary an upgrade hands over)
    // would land, given as a child's stdin, lost at an upgrade.
    let mut svc = Service::new(INIT);
    let addr = start_with(&mut svc, &[("VERSIONED_INIT_CLOSES_STDIN", "1")]);
    let pid = svc.pid();
    let at_0 = || std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    let closed = std::fs::read_to_string(svc.control_dir().join("stdin_closed"));
    assert_eq!(
        closed.ok().as_deref(),
        Some("1"),
        "supervisor_init closed no stdin"
    );
    assert_eq!(
        at_0(),
        Path::new("/dev/null"),
        "standard input not reopened"
    );
    for round in 0..3 {
        let copy = svc.dir.path().join(format!("versioned_init-{round}"));
        tests::copy_binary(Path::new(INIT), &copy);
        let reload = svc.control_with(&copy, "reload", &[]);
        assert!(reload.status.success(), "{}", text(&reload));
        assert_eq!(exe(pid), copy, "round {round}: {}", svc.output.text());
        assert!(read_greeting(addr).unwrap().starts_with("init "));
        assert_eq!(at_0(), Path::new("/dev/null"), "round {round}");
    }
    assert_eq!(status(&svc)["upgrades"], 3);
    let calls = std::fs::read_to_string(svc.control_dir().join("supervisor_init")).unwrap();
    assert_eq!(calls, "1");
    svc.stop_expecting(7);
}

#[test]
fn a_new_image_whose_code_before_run_closed_standard_input_fills_it_again() {
    // Each image runs the code before `run`, which closes descriptor 0
    // here: the first fills it with /dev/null again, and so must a new
    // one, else what it opens next lands there (a child it starts then
    // has no standard input, and a descriptor there is refused at the
    // next upgrade).
    let bin = env!("CARGO_BIN_EXE_versioned_closes_stdin");
    let mut svc = Service::new(bin);
    let addr = start_with(&mut svc, &[]);
    let pid = svc.pid();
    let at_0 = || std::fs::read_link(format!("/proc/{pid}/fd/0")).ok();
    assert_eq!(at_0().as_deref(), Some(Path::new("/dev/null")));
    let copy = copy_of(&svc, bin);
    for round in 0..2 {
        let reload = svc.control_with(&copy, "reload", &[]);
        assert!(reload.status.success(), "{}", text(&reload));
        assert_eq!(exe(pid), copy, "round {round}: {}", svc.output.text());
        assert_eq!(
            at_0().as_deref(),
            Some(Path::new("/dev/null")),
            "round {round}"
        );
    }
    // The second reload's child was the new image's.
    let serving = format!("stdin open {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    assert_eq!(status(&svc)["upgrades"], 1);
    svc.stop_expecting(0);
}

#[test]
fn a_reload_to_another_binary_upgrades_the_supervisor_in_place() {
    let mut svc = Service::new(INIT);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let pid = svc.pid();
    let listener = procfs::listening_inode(addr.port()).expect("the listener");
    let copy = copy_of(&svc, INIT);

    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert!(
        text(&reload).contains("reloaded versioned"),
        "{}",
        text(&reload)
    );
    // Same process, the new binary, the same listening socket.
    assert_eq!(exe(pid), copy, "{}", svc.output.text());
    assert_eq!(procfs::listening_inode(addr.port()), Some(listener));
    assert!(sockets_of(pid).contains(&format!("socket:[{listener}]")));
    let status = status(&svc);
    assert_eq!(status["supervisor_pid"], pid);
    assert_eq!(status["supervisor_binary"], copy.display().to_string());
    assert_eq!(status["upgrades"], 1);
    assert_eq!(status["reloads"], 1);
    let human = svc.control_with(V1, "status", &[]);
    // The path as a shell word: quoted if the temporary folder's name
    // needs it.
    let human = text(&human);
    let line = human.lines().find(|l| l.starts_with("supervisor binary "));
    let line = line.unwrap_or_else(|| panic!("{human}"));
    assert!(line.ends_with(", upgraded in place once"), "{human}");
    assert!(line.contains(&*copy.to_string_lossy()), "{human}");
    // The new child serves; supervisor_init ran once, not again.
    assert!(read_greeting(addr).unwrap().starts_with("init "));
    let calls = std::fs::read_to_string(svc.control_dir().join("supervisor_init")).unwrap();
    assert_eq!(calls, "1");
    // The old child drained and was reaped by the new image.
    tests::eventually("the old child reaped", || {
        (procfs::children(pid as u32) == (1, 0)).then_some(())
    });
    assert_no_handoff_left(pid, &[Path::new(INIT), &copy]);
    let child_env = procfs::environ(serving_pid(&svc)).unwrap();
    assert!(!child_env.contains_key("LITTLEBOSS_UPGRADE"));
    // A stop reports the serving child's code.
    svc.stop_expecting(7);
}

#[test]
fn a_hundred_upgrading_reloads_under_load_fail_no_request() {
    let mut svc = Service::new(V1);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let pid = svc.pid();
    let copy = copy_of(&svc, V1);
    let load = Load::start(addr);
    tests::eventually("load to run", || (load.count() > 10).then_some(()));
    for i in 0..100u32 {
        let bin = if i.is_multiple_of(2) {
            copy.as_path()
        } else {
            Path::new(V1)
        };
        let reload = svc.control_with(bin, "reload", &[]);
        assert!(reload.status.success(), "reload {i}: {}", text(&reload));
    }
    let replies = load.finish();
    let failed: Vec<_> = replies.iter().filter(|r| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        replies.len(),
        &failed[..failed.len().min(5)]
    );
    let status = status(&svc);
    assert_eq!(
        (status["upgrades"].as_u64(), status["reloads"].as_u64()),
        (Some(100), Some(100))
    );
    assert_eq!(status["supervisor_pid"], pid);
    assert_eq!(exe(pid), Path::new(V1));
    svc.stop_expecting(0);
}

#[test]
fn lines_an_upgrades_exec_loses_to_a_slow_stderr_are_counted_by_the_new_image() {
    let mut svc = Service::new(V1);
    // Its stderr takes nothing until the gate goes (each image's log
    // writer waits before its first write): the lines wait in its queue.
    let gate = svc.gate("log-gate");
    let most = tests::DEADLINE.as_millis().to_string();
    svc.start_with_env(
        &[],
        &[
            ("LITTLEBOSS_TEST_LOG_WRITE_PAUSE_MS", &most),
            ("LITTLEBOSS_TEST_LOG_WRITE_PAUSE_GATE", &gate),
        ],
    );
    let first = tests::eventually("a child to serve", || {
        let out = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["child"]["pid"].as_u64()
    });
    let copy = copy_of(&svc, V1);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(status(&svc)["upgrades"], 1);
    std::fs::remove_file(&gate).unwrap();
    // The new image says how many of the old one's lines were lost: at
    // least the start's line and the first child's readiness, both
    // missing from the output.
    svc.output
        .wait_for("log line(s) dropped: stderr took no lines");
    svc.stop_expecting(0);
    let out = svc.output.text();
    let (before, _) = out
        .split_once(" log line(s) dropped: stderr took no lines")
        .unwrap();
    let dropped: u64 = before
        .rsplit("littleboss: ")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped >= 2, "{out}");
    assert!(!out.contains("littleboss: supervising `"), "{out}");
    assert!(
        !out.contains(&format!("littleboss: child pid {first} is ready")),
        "{out}"
    );
}

#[test]
fn a_child_killed_during_the_exec_window_is_reaped() {
    let mut svc = Service::new(V1);
    // The new image waits before taking over until the gate goes. The old
    // child stays past its lameduck, so the kill below finds it.
    let (gate, env) = gated_pause(&svc);
    let mut env = env.each_ref().map(|(k, v)| (*k, v.as_str())).to_vec();
    env.push(("LITTLEBOSS_TEST_RESUME_PAUSE_ONLY", "taking over"));
    env.push(("VERSIONED_V1_LINGER_MS", "60000"));
    let addr = start_with(&mut svc, &env);
    let pid = svc.pid();
    let copy = copy_of(&svc, V1);
    let reload = svc.spawn_control(&copy, "reload");
    // The new image says when it pauses: the old child is then watched by
    // no one.
    svc.output.wait_for("before taking over");
    let old = winding_down_pid(&svc);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Killed in the window: the new image waits for the gate.
    let out = svc.output.text();
    assert!(!out.contains("in-place upgrade 1)"), "{out}");
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output
        .wait_for(&format!("old child pid {old} was killed by SIGKILL"));
    tests::eventually("no zombie", || {
        (procfs::children(pid as u32) == (1, 0)).then_some(())
    });
    assert_eq!(status(&svc)["upgrades"], 1);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    // The serving child lingers too: killed at its lameduck timeout.
    svc.stop_expecting(137);
}

#[test]
fn a_signal_a_thread_started_before_run_takes_in_the_exec_window_is_kept() {
    let early = env!("CARGO_BIN_EXE_early_thread");
    let mut svc = Service::new(early);
    let (gate, env) = gated_pause(&svc);
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("-littleboss=start").envs(env);
    svc.spawn(cmd);
    svc.printed::<i32>("pid");
    svc.ready();
    // The one thread that does not block the supervisor's signals.
    let term = 1 << (nix::libc::SIGTERM - 1);
    let open = procfs::threads_not_blocking(svc.pid() as u32, term);
    assert_eq!(open.len(), 1, "threads not blocking SIGTERM: {open:?}");
    let copy = copy_of(&svc, early);
    let reload = svc.spawn_control(&copy, "reload");
    // It takes this one while the supervisor's own thread waits to exec.
    svc.output.wait_for("before the exec");
    // SAFETY: tgkill takes plain numbers and only sends a signal.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_tgkill,
            svc.pid(),
            open[0],
            nix::libc::SIGTERM,
        )
    };
    assert_eq!(rc, 0, "tgkill: {}", std::io::Error::last_os_error());
    // Passed on to the supervisor's own thread, where it waits, blocked,
    // through the exec (one still on the early thread would die with it).
    let pid = svc.pid() as u32;
    tests::eventually("the SIGTERM pending on the supervisor's thread", || {
        (procfs::pending(pid, Some(pid))? & term != 0).then_some(())
    });
    std::fs::remove_file(&gate).unwrap();
    // Kept through the exec: the new image stops, in order.
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    let out = svc.output.text();
    assert!(out.contains("SIGTERM received: stopping"), "{out}");
    assert!(out.contains("entering lameduck mode"), "{out}");
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
}

#[test]
fn a_control_folder_removed_around_the_exec_is_made_again_by_the_new_image() {
    // Removed while the old image waits to exec: the watch's events are
    // read by no one until the new image adopts it (handed over with its
    // queue), and the new image also looks for itself as its loop begins.
    let mut svc = Service::new(V1);
    // Paused until the removal has landed, before the new image begins
    // (its own watch would then make the folder again).
    let (gate, env) = gated_pause(&svc);
    let env = env.each_ref().map(|(k, v)| (*k, v.as_str()));
    start_with(&mut svc, &env);
    let copy = copy_of(&svc, V1);
    let reload = svc.spawn_control(&copy, "reload");
    svc.output.wait_for("before the exec");
    tests::remove_folder(&svc.control_dir());
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for("was removed; made it again");
    // By the new image, as it takes over: not the old one remaking it
    // on a failed upgrade (the pid is the same either way).
    let status = status(&svc);
    assert_eq!(status["supervisor_pid"], svc.pid());
    assert_eq!(status["upgrades"], 1, "{}", svc.output.text());
    let out = svc.output.text();
    let new_image = out
        .find("before taking over")
        .expect("the new image's pause");
    let remade = out.find("was removed; made it again").unwrap();
    assert!(new_image < remade, "{out}");
    svc.stop_expecting(0);
}

#[test]
fn a_folder_the_first_images_start_made_is_made_again_by_the_new_image() {
    // `LITTLEBOSS_DIR=BASE/made/run`, both made by the first image's
    // start, then a cleaner's removal of them after an upgrade in place:
    // the new image knows they were its start's, and makes them again,
    // rather than wait for another to make `made` (as for a deploy's).
    let base = tempfile::tempdir().unwrap();
    let made = base.path().join("made");
    let mut svc = Service::sharing(V1, &made.join("run"));
    let addr = start_with(&mut svc, &[]);
    let copy = copy_of(&svc, V1);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(status(&svc)["upgrades"], 1, "{}", svc.output.text());
    tests::remove_folder(&made);
    svc.output.wait_for("was removed; made it again");
    assert_eq!(status(&svc)["supervisor_pid"], svc.pid());
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    let out = svc.output.text();
    assert!(!out.contains("above the control folder is gone"), "{out}");
    svc.stop_expecting(0);
}

#[test]
fn a_folder_above_removed_around_the_exec_is_waited_for_by_the_new_image() {
    // `LITTLEBOSS_DIR=BASE/app/run`, `BASE/app` a deploy's, removed while
    // the old image waits to exec: the new image's first look makes no
    // `BASE/app` (the deploy's `mv` of the new one would go inside it),
    // and makes the control folder once it is back.
    let (_base, app, mut svc) = tests::under_a_deploys_folder(V1);
    let (gate, env) = gated_pause(&svc);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("LITTLEBOSS_TEST_PATH_LOOK_MS", "200"));
    start_with(&mut svc, &env);
    let copy = copy_of(&svc, V1);
    let reload = svc.spawn_control(&copy, "reload");
    svc.output.wait_for("before the exec");
    tests::remove_folder(&app);
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    tests::waits_for_the_folder_above(&svc, &app);
    let status = status(&svc);
    assert_eq!(status["supervisor_pid"], svc.pid());
    assert_eq!(status["upgrades"], 1);
    svc.stop_expecting(0);
}

#[test]
fn a_new_image_that_rejects_the_state_rolls_back_to_the_old_one() {
    let mut svc = Service::new(V1);
    // Every new image claims to read another version of the state.
    let addr = start_with(&mut svc, &[("LITTLEBOSS_TEST_READS_STATE_VERSION", "99")]);
    let pid = svc.pid();
    let copy = copy_of(&svc, V1);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    let status = status(&svc);
    assert_eq!(status["supervisor_pid"], pid);
    assert_eq!(status["supervisor_binary"], V1);
    assert_eq!(status["upgrades"], 0);
    let failure = status["last_failure"].as_str().unwrap();
    assert!(
        failure.contains("the handed-over state is version 1; this binary reads version 99"),
        "{failure}"
    );
    // The children are intact: the new one serves, the old one drained,
    // and nothing is left a zombie.
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    tests::eventually("the old child reaped", || {
        (procfs::children(pid as u32) == (1, 0)).then_some(())
    });
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    // A binary that cannot read the state would fail the same way again:
    // the next child of it serves, the supervisor does not try.
    reload_is_not_upgraded_to_again(&svc, &copy, "this binary reads version 99");
    svc.stop_expecting(0);
}

#[test]
fn a_new_image_whose_service_name_came_out_another_goes_back_to_the_old_one() {
    // Taken over, it would hold the service's socket under another name
    // and refuse every child of the service's own.
    let mut svc = Service::new(V1);
    let addr = start_with(&mut svc, &[]);
    let pid = svc.pid();
    let renamed = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_renamed"));
    let reload = svc.control_with(&renamed, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    let status = status(&svc);
    assert_eq!(status["name"], "versioned");
    assert_eq!(status["upgrades"], 0);
    let failure = status["last_failure"].as_str().unwrap();
    assert!(
        failure.contains("its service name is `versioned-renamed`, not `versioned`"),
        "{failure}"
    );
    // Its child serves all the same (the old one drains, maybe still
    // taking a connection a moment).
    tests::eventually("the renamed binary's child to answer", || {
        read_greeting(addr)
            .ok()
            .filter(|greeting| greeting.starts_with("renamed "))
    });
    assert_no_handoff_left(pid, &[Path::new(V1), &renamed]);
    // It would come out another again: not tried again.
    reload_is_not_upgraded_to_again(&svc, &renamed, "its service name is");
    svc.stop_expecting(0);
}

/// Reloads to `copy` again, whose upgrade failed for good: the reload
/// succeeds, and the supervisor says it keeps its own binary, because
/// `why`, without trying.
fn reload_is_not_upgraded_to_again(svc: &Service, copy: &Path, why: &str) {
    let again = svc.control_with(copy, "reload", &[]);
    assert!(again.status.success(), "{}", text(&again));
    let out = svc
        .output
        .wait_for("keeps running its own binary rather than");
    // On that line: the first try's failure said `why` already.
    let line = (out.lines())
        .find(|line| line.contains("keeps running its own binary rather than"))
        .unwrap_or_default();
    assert!(line.contains(why), "{out}");
    assert_eq!(status(svc)["upgrades"], 0);
}

/// Reloads `closes_listeners`'s service to a copy of it named so that its
/// code before `run` closes the listeners it inherits (see the fixture).
fn reload_to_a_copy_that_closes(svc: &Service) {
    let closes = svc.dir.path().join("closes_listeners-closes");
    tests::copy_binary(&svc.bin, &closes);
    let reload = svc.control_with(&closes, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
}

#[test]
fn a_listener_an_upgraded_image_closed_before_run_is_held_no_more() {
    // The new image's code before `run` closes the inherited listening
    // sockets and opens a file at the number. Going back would not bring one back (it is gone from the
    // process): the supervisor says so and holds it no more. The child
    // that has it serves on; a later one must bind it anew, and is told
    // truly why it cannot while that child holds the port (not that the
    // listener is off, to be turned on by a reload).
    let bin = env!("CARGO_BIN_EXE_closes_listeners");
    let mut svc = Service::new(bin);
    let port = tests::free_port();
    svc.start(&[&format!("-addr=127.0.0.1:{port}")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    reload_to_a_copy_that_closes(&svc);
    let out = svc.output.wait_for("the supervisor holds it no more");
    // Its number taken by a file of the program's: told apart.
    assert!(
        out.contains(&format!(
            "listener 127.0.0.1:{port} was not handed over: fd "
        )),
        "{out}"
    );
    assert!(
        out.contains(" is another file than the one handed over (closed and opened again by code before `run`?)"),
        "{out}"
    );
    assert_eq!(status(&svc)["upgrades"], 1);
    let serving = serving_pid(&svc);
    let greeting = format!("closes_listeners {serving}");
    tests::greeting_eventually(addr, |g| g == greeting);
    let again = svc.control_with(bin, "reload", &[]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let said = text(&again);
    assert!(
        said.contains(&format!(
            "-addr: cannot listen on tcp 127.0.0.1:{port}: Address already in use"
        )),
        "{said}"
    );
    assert!(!said.contains("is off in the running supervisor"), "{said}");
    // Nothing that was running is lost.
    assert_eq!(serving_pid(&svc), serving);
    let greeting = read_greeting(addr).unwrap();
    assert_eq!(greeting.trim(), format!("closes_listeners {serving}"));
    svc.stop_expecting(0);
}

#[test]
fn a_child_whose_channel_an_upgraded_image_closed_before_run_is_started_again() {
    // The new image's code before `run` closes the children's channels (a
    // file at each number): nothing can watch or tell them anything, so
    // both are killed with their groups. The serving one's loss is the
    // supervisor's, not the program's: it is started again at once from
    // the binary it ran, not rolled back within its probation, and the
    // service (persist off) goes on.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_closes_listeners"));
    let port = tests::free_port();
    svc.start(&[&format!("-addr=127.0.0.1:{port}")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let old = serving_pid(&svc);
    let closes = svc.dir.path().join("closes_listeners-closes-channels");
    tests::copy_binary(&svc.bin, &closes);
    let reload = svc.control_with(&closes, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let out = svc.output.wait_for("starting it again");
    let new: u32 = (out.split("reload: child pid ").nth(1))
        .and_then(|said| said.split(' ').next()?.parse().ok())
        .expect("the reload's child");
    let lost = |pid: u32| {
        out.contains(&format!(
            "child pid {pid} came across the in-place upgrade without its channel"
        ))
    };
    // The old one too, unless it had exited before the exec (it leaves at
    // once when told to drain).
    let old_exited = format!("old child pid {old} exited");
    assert!(
        lost(new) && (lost(old) || out.contains(&old_exited)),
        "{out}"
    );
    let again = tests::eventually("a child started again serving", || {
        let serving = status(&svc)["child"]["pid"].as_u64()? as u32;
        (serving != new).then_some(serving)
    });
    assert_eq!(exe(svc.pid()), closes, "{}", svc.output.text());
    assert_eq!(exe(again as i32), closes);
    let greeting = read_greeting(addr).unwrap();
    assert_eq!(greeting.trim(), format!("closes_listeners {again}"));
    let status = status(&svc);
    assert_eq!(status["upgrades"], 1);
    let out = svc.output.text();
    assert!(!out.contains("rolled back"), "{out}");
    svc.stop_expecting(0);
}

/// A `closes_listeners` service on a port of its own, started with `env`,
/// reloaded to a copy of it named `closes_listeners{suffix}` (see the
/// fixture), whose image the supervisor goes back from: the service, its
/// address, its pid, and what the reload said.
fn closes_listeners_gone_back_from(
    suffix: &str,
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, String) {
    gone_back_from(
        Service::new(env!("CARGO_BIN_EXE_closes_listeners")),
        suffix,
        env,
    )
}

/// As `closes_listeners_gone_back_from`, for `svc` (a copy of
/// `closes_listeners`, named as its first binary should be).
fn gone_back_from(
    mut svc: Service,
    suffix: &str,
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, String) {
    let port = tests::free_port();
    let env: Vec<(&str, &dyn AsRef<std::ffi::OsStr>)> = (env.iter())
        .map(|(key, value)| (*key, value as &dyn AsRef<std::ffi::OsStr>))
        .collect();
    svc.start_with_env(&[&format!("-addr=127.0.0.1:{port}")], &env);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let pid = svc.pid();
    let copy = svc.dir.path().join(format!("closes_listeners{suffix}"));
    tests::copy_binary(&svc.bin, &copy);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let said = text(&reload);
    assert!(said.contains("runs on from its old binary"), "{said}");
    (svc, addr, pid, said)
}

/// `svc` (pid `pid`) runs its first binary again, holds no listening
/// socket (`out`: its log), the program's least of all, and its child
/// serves on at `addr`; then it stops.
/// Returns all the service said, once stopped.
fn back_holding_no_listener(
    mut svc: Service,
    pid: i32,
    addr: std::net::SocketAddr,
    out: &str,
) -> String {
    assert_eq!(exe(pid), svc.bin, "{out}");
    assert_eq!(status(&svc)["upgrades"], 0);
    let listening = listening_sockets_of(pid);
    assert!(listening.is_empty(), "{listening:?}\n{out}");
    let serving = format!("closes_listeners {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
    svc.output.text()
}

#[test]
fn an_image_gone_back_to_has_the_environment_and_folder_the_failed_one_started_with() {
    // The new image's code before `run` removes a secret it read, sets a
    // variable, moves to `/`, and exits: the previous image, gone back
    // to, must not keep what it did (its children start with what it has).
    let (mut svc, addr, pid, said) =
        closes_listeners_gone_back_from("-scrubs-exits", &[("CLOSES_LISTENERS_SECRET", "s3")]);
    assert!(said.contains("its code before `run` exited"), "{said}");
    assert_eq!(exe(pid), svc.bin);
    let env = procfs::environ(pid as u32).unwrap();
    assert_eq!(
        env.get("CLOSES_LISTENERS_SECRET").map(String::as_str),
        Some("s3")
    );
    assert!(!env.contains_key("CLOSES_LISTENERS_MARK"), "{env:?}");
    // The tests' own, which the service was started in.
    let folder = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(folder, std::env::current_dir().unwrap());
    let serving = format!("closes_listeners {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

#[test]
fn a_listener_a_new_image_replaced_before_exiting_is_not_taken_back_for_one() {
    // The new image's code before `run` closes the inherited listening
    // sockets, opens a listening socket of its own at each number, and
    // exits: the old image takes the state back, and must not take that
    // socket for its listener.
    let (svc, addr, pid, said) = closes_listeners_gone_back_from("-closes-exits", &[]);
    assert!(said.contains("its code before `run` exited"), "{said}");
    let out = svc.output.wait_for("the supervisor holds it no more");
    let port = addr.port();
    assert!(
        out.contains(&format!(
            "listener 127.0.0.1:{port} was not handed over: fd "
        )),
        "{out}"
    );
    back_holding_no_listener(svc, pid, addr, &out);
}

#[test]
fn a_listener_a_new_image_replaced_before_failing_is_not_taken_back_for_one() {
    // As above, but the new image goes on to `run`, and fails there (as
    // short of descriptors, which the image gone back to is too, until its
    // last try): going back hands over what it was handed, not the
    // program's socket at that number.
    let spare = [("LITTLEBOSS_TEST_NO_SPARE_FDS", "1")];
    let (svc, addr, pid, _) = closes_listeners_gone_back_from("-closes-own", &spare);
    // Said by the old image, its own gone too (the new one failed before
    // its machine, which decides what a lost listener means, ran): once.
    let out = svc.output.wait_for("the supervisor holds it no more");
    let all = back_holding_no_listener(svc, pid, addr, &out);
    let said = all.matches("the supervisor holds it no more").count();
    assert_eq!(said, 1, "{all}");
}

#[test]
fn a_number_a_failed_new_image_closed_is_not_taken_back_for_what_the_old_one_opened_there() {
    // As above, and the image gone back to runs code before `run` that
    // opens sockets of its own, at the lowest free numbers: the listener's
    // among them, which the new image closed. Open now, but not across
    // the exec: the program's, not the listener handed over.
    let mut first = Service::new(env!("CARGO_BIN_EXE_closes_listeners"));
    let fills = first.dir.path().join("closes_listeners-fills");
    tests::copy_binary(&first.bin, &fills);
    first.bin = fills;
    let (mut svc, addr, pid, said) = gone_back_from(first, "-closes-exits", &[]);
    assert!(said.contains("its code before `run` exited"), "{said}");
    let out = svc.output.wait_for("the supervisor holds it no more");
    let port = addr.port();
    let lost = format!("listener 127.0.0.1:{port} was not handed over: fd ");
    assert!(out.contains(&lost), "{out}");
    assert_eq!(exe(pid), svc.bin, "{out}");
    // Its child serves on with the socket it has.
    let serving = format!("closes_listeners {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

#[test]
fn a_child_code_before_run_reaped_is_not_signalled_by_the_new_image() {
    // The old child ends while the old image waits before its exec; the
    // new image's code before `run` reaps it. Its pid may be a stranger's
    // by then: the new image says so, signals nothing, and serves on.
    let bin = env!("CARGO_BIN_EXE_reaps_before_run");
    let mut svc = Service::new(bin);
    let (gate, env) = gated_pause(&svc);
    let env: Vec<(&str, &str)> = (env.iter())
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    let addr = start_with(&mut svc, &env);
    let pid = svc.pid();
    let reaps = svc.dir.path().join("reaps_before_run-reaps");
    tests::copy_binary(&svc.bin, &reaps);
    let reload = svc.spawn_control(&reaps, "reload");
    svc.output.wait_for("before the exec");
    let old = winding_down_pid(&svc) as u32;
    tests::eventually("the old child ended, unreaped", || {
        (procfs::state(old) == Some('Z')).then_some(())
    });
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output
        .wait_for(&format!("reaps_before_run: reaped pid {old} before run"));
    let said = svc.output.wait_for(&format!(
        "cannot watch child pid {old} again: it is no longer this process's child: code of the program's reaped it (before `run`"
    ));
    assert!(!said.contains("killing it"), "{said}");
    assert_eq!(status(&svc)["upgrades"], 1);
    let serving = format!("reaps_before_run {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    tests::eventually("the serving child alone", || {
        (procfs::children(pid as u32) == (1, 0)).then_some(())
    });
    svc.stop_expecting(0);
}

#[test]
fn a_port_0_listener_an_upgraded_image_closed_is_said_to_need_a_restart() {
    // Bound again, it would get another port: held on, and said so.
    let bin = env!("CARGO_BIN_EXE_closes_listeners");
    let mut svc = Service::new(bin);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    reload_to_a_copy_that_closes(&svc);
    let out = svc
        .output
        .wait_for("stop and start the service to have it again");
    assert!(
        out.contains("no later child can be given it (its port was the kernel's choice)"),
        "{out}"
    );
    // Named as declared, not by the key it is held under (`:0#addr`).
    assert!(
        out.contains("listener `addr` (tcp 127.0.0.1:0) was not handed over: fd "),
        "{out}"
    );
    let serving = format!("closes_listeners {}", serving_pid(&svc));
    tests::greeting_eventually(addr, |g| g == serving);
    // `status` says so too, and that the supervisor holds it no more.
    let status = svc.control("status");
    let lost = format!(
        "addr:\ttcp {addr} (not handed over in an upgrade: no later child is given it; stop and start the service to have it again)"
    );
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains(&lost), "{}", text(&status));
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let listener = &status["listeners"][0];
    assert_eq!(listener["lost_in_upgrade"], true, "{status}");
    assert_eq!(listener["listening"], false, "{status}");
    svc.stop_expecting(0);
}

/// A service of V1 whose next `images` supervisor images cannot start
/// their runtime (as short of descriptors: a passing failure), reloaded
/// to a copy of V1, which the reload's client hears it could not upgrade
/// to. Returns the service, its address, its pid and the copy.
fn reloaded_with_runtimes_failing(images: &str) -> (Service, std::net::SocketAddr, i32, PathBuf) {
    reloaded_with_runtimes_failing_and(images, &[])
}

/// [`reloaded_with_runtimes_failing`], the supervisor started with `env`
/// too.
fn reloaded_with_runtimes_failing_and(
    images: &str,
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, PathBuf) {
    let mut all = vec![("LITTLEBOSS_TEST_RUNTIME_FAILS", images)];
    all.extend_from_slice(env);
    let (svc, addr, pid, copy, said) = reloaded_to_a_copy_with(&all);
    assert!(
        said.contains("test: cannot start the tokio runtime"),
        "{said}"
    );
    (svc, addr, pid, copy)
}

/// A service of V1 started with `env` in its environment, reloaded to a
/// copy of V1, which succeeds: the service, its address, its pid, the
/// copy and what the reload said.
fn reloaded_to_a_copy_with(
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, PathBuf, String) {
    let mut svc = Service::new(V1);
    let addr = start_with(&mut svc, env);
    let pid = svc.pid();
    let copy = copy_of(&svc, V1);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    (svc, addr, pid, copy, text(&reload))
}

#[test]
fn a_new_image_without_proc_that_fails_after_taking_the_state_gives_every_descriptor_back() {
    // No `/proc` (a chroot `supervisor_init` entered): what was open
    // across the exec cannot be listed at start, so the handoff's own
    // list is what goes back to the previous binary, which serves on.
    let env = [("LITTLEBOSS_TEST_NO_PROC", "1")];
    let (mut svc, addr, pid, _copy) = reloaded_with_runtimes_failing_and("1", &env);
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    assert_eq!(status(&svc)["upgrades"], 0, "{}", svc.output.text());
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn a_new_image_that_fails_for_a_passing_reason_is_tried_again_by_the_next_reload() {
    // The first new image cannot start its runtime; the next one can.
    let (mut svc, addr, pid, copy) = reloaded_with_runtimes_failing("1");
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    assert_eq!(status(&svc)["upgrades"], 0);
    // Not refused for good: the next child of that release upgrades.
    let again = svc.control_with(&copy, "reload", &[]);
    assert!(again.status.success(), "{}", text(&again));
    let out = svc.output.text();
    assert!(
        !out.contains("keeps running its own binary rather than"),
        "{out}"
    );
    assert_eq!(status(&svc)["upgrades"], 1, "{}", svc.output.text());
    assert_eq!(exe(pid), copy, "{}", svc.output.text());
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn an_image_gone_back_that_fails_for_a_passing_reason_runs_itself_again() {
    // The new image cannot start its runtime, and nor, at first, can the
    // image that goes back to the old binary: it runs itself again,
    // rather than end the service.
    let (mut svc, addr, pid, copy) = reloaded_with_runtimes_failing("2");
    let out = svc.output.wait_for("trying again (1 of 3)");
    assert!(out.contains("after a failed upgrade"), "{out}");
    // The same supervisor, on its own binary, its child serving, and
    // nothing of the extra exec left open.
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    assert_eq!(status(&svc)["upgrades"], 0);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn an_image_gone_back_whose_exec_of_itself_fails_for_a_passing_reason_tries_again() {
    // As above, and each image's first exec of the previous binary fails
    // too (as short of processes): the image gone back tries its own exec
    // again, rather than end the service with tries left.
    let fails = [("LITTLEBOSS_TEST_GO_BACK_FAILS", "1")];
    let (mut svc, addr, pid, copy) = reloaded_with_runtimes_failing_and("2", &fails);
    let out = svc.output.wait_for(
        "cannot run the previous binary again: Resource temporarily unavailable (os error 11); trying again (2 of 3)",
    );
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn an_image_that_cannot_watch_a_child_again_goes_back_with_the_child_kept() {
    // The new image, then the image gone back, cannot register a handed-
    // over child's channel (as short of memory): each goes back, or runs
    // itself again, before letting go of the previous binary, rather than
    // kill the child. The third image takes the state back, every child
    // with it.
    let fails = [("LITTLEBOSS_TEST_REWATCH_FAILS", "2")];
    let (mut svc, addr, pid, copy, said) = reloaded_to_a_copy_with(&fails);
    assert!(
        said.contains("cannot watch child pid ")
            && said.contains("test: cannot register its channel"),
        "{said}"
    );
    let out = svc.output.wait_for("trying again (1 of 3)");
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    assert_eq!(status(&svc)["upgrades"], 0);
    let out = svc.output.text();
    assert!(!out.contains("killing it"), "{out}");
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    // The child the reload started, ready before the upgrade, serves on.
    let serving = serving_pid(&svc);
    assert!(
        said.contains(&format!("pid {serving} is serving")),
        "{said}"
    );
    let serving = format!("v1 {serving}");
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

#[test]
fn an_image_gone_back_on_its_last_try_does_without_a_child_it_cannot_watch() {
    // Every image fails to register the children, the last of the image
    // gone back's tries too: with nothing left to go back to, it kills
    // them, rather than end the service with its control socket, and runs
    // on as when they die: the reload's child, on probation, rolls back.
    let fails = [("LITTLEBOSS_TEST_REWATCH_FAILS", "5")];
    let (mut svc, addr, _, _, said) = reloaded_to_a_copy_with(&fails);
    assert!(said.contains("runs on from its old binary"), "{said}");
    let out = svc.output.wait_for("; killing it");
    assert!(
        out.contains("cannot watch child pid ")
            && out.contains("test: cannot register its channel; killing it")
            && out.contains("trying again (3 of 3)"),
        "{out}"
    );
    svc.output
        .wait_for("from the previous binary is serving again");
    // Not the end of the service: the last try's failure, as it was.
    let out = svc.output.text();
    assert!(!out.contains("(after try 3 of 3)"), "{out}");
    let serving = serving_pid(&svc);
    let serving = format!("v1 {serving}");
    tests::greeting_eventually(addr, |g| g == serving);
    svc.stop_expecting(0);
}

#[test]
fn an_image_short_of_descriptors_on_its_last_try_keeps_every_child_and_client() {
    // No image can have a second descriptor of what was handed over (as
    // short of descriptors): each before the last goes back, or runs
    // itself again; the last, with nothing left to go back to, takes the
    // handed-over ones themselves, which needs none spare, and serves on
    // with every child and the reload's client, none killed.
    let none_spare = [("LITTLEBOSS_TEST_NO_SPARE_FDS", "1")];
    let (mut svc, addr, pid, _, said) = reloaded_to_a_copy_with(&none_spare);
    assert!(
        said.contains("runs on from its old binary")
            && said.contains("cannot serve the control socket: Too many open files"),
        "{said}"
    );
    let out = svc.output.wait_for("trying again (3 of 3)");
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    let serving = serving_pid(&svc);
    assert!(
        said.contains(&format!("pid {serving} is serving")),
        "{said}"
    );
    let serving = format!("v1 {serving}");
    tests::greeting_eventually(addr, |g| g == serving);
    let status = status(&svc);
    assert_eq!(status["upgrades"], 0);
    let out = svc.output.text();
    assert!(
        !out.contains("killing it") && !out.contains("after try 3 of 3"),
        "{out}"
    );
    svc.stop_expecting(0);
}

#[test]
fn an_upgrade_waits_for_a_later_reload_while_a_child_has_not_taken_its_orders() {
    // The children's watchers never say they carried out their orders, as
    // one stuck sending to a child that does not read its channel: an exec
    // now would lose what it holds for the child. The reload stands; the
    // supervisor keeps its binary, to be tried again by the next reload.
    let unsettled = [("LITTLEBOSS_TEST_UNSETTLED", "1")];
    let (mut svc, addr, pid, copy, said) = reloaded_to_a_copy_with(&unsettled);
    assert!(
        said.contains("runs on from its old binary: child pid ")
            && said.contains("has not taken what the supervisor sent it within 500 ms"),
        "{said}"
    );
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    let status = status(&svc);
    assert_eq!(status["upgrades"], 0);
    let serving = status["child"]["pid"].as_u64().unwrap();
    let serving = format!("v1 {serving}");
    tests::greeting_eventually(addr, |g| g == serving);
    // Not refused for good: the next reload's child tries again (and here
    // waits again, its watcher as stuck), where a refused binary is not
    // tried at all.
    let again = svc.control_with(&copy, "reload", &[]);
    let said = text(&again);
    assert!(
        again.status.success()
            && said.contains("has not taken what the supervisor sent it within 500 ms"),
        "{said}"
    );
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    svc.stop_expecting(0);
}

/// A service of V1 reloaded to a copy of a release whose code before
/// `run` exits in a supervisor (see the fixture), with `env`: the reload
/// stands, and its client hears the supervisor runs on from V1. Returns
/// the service, its address, its pid and the copy.
fn reloaded_to_a_release_that_exits_before_run(
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, PathBuf) {
    reloaded_to_exiting(env!("CARGO_BIN_EXE_versioned_exits_early"), env)
}

/// As [`reloaded_to_a_release_that_exits_before_run`], to a copy of
/// `release`.
fn reloaded_to_exiting(
    release: &str,
    env: &[(&str, &str)],
) -> (Service, std::net::SocketAddr, i32, PathBuf) {
    let mut svc = Service::new(V1);
    let addr = start_with(&mut svc, env);
    let pid = svc.pid();
    let copy = reloaded_to_a_copy_that_exits(&svc, release);
    (svc, addr, pid, copy)
}

/// `svc` reloaded to a copy of `release`, whose code before `run` exits
/// in a supervisor: the reload stands, and its client hears the
/// supervisor runs on from its old binary. Returns the copy.
fn reloaded_to_a_copy_that_exits(svc: &Service, release: &str) -> PathBuf {
    let copy = copy_of(svc, release);
    let reload = svc.control_with(&copy, "reload", &[]);
    let said = text(&reload);
    assert!(reload.status.success(), "{said}");
    assert!(
        said.contains("runs on from its old binary: its code before `run` exited"),
        "{said}"
    );
    copy
}

/// The supervisor `pid` runs V1 again, not upgraded, and the reload
/// stands: its child serves, greeting with `greeting` (`out`: what the
/// service said, for a failure).
fn went_back_to_v1(svc: &Service, pid: i32, addr: std::net::SocketAddr, greeting: &str, out: &str) {
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    let status = status(svc);
    assert_eq!(status["supervisor_pid"], pid);
    assert_eq!(status["upgrades"], 0);
    let serving = format!("{greeting} {}", serving_pid(svc));
    tests::greeting_eventually(addr, |g| g == serving);
}

#[test]
fn a_new_image_whose_code_before_run_exits_goes_back_to_the_old_one() {
    // A builder program whose own flag parsing refuses the supervisor's
    // command line: the new image exits before littleboss could take the
    // state over. The old image takes it back, rather than the service
    // ending there.
    let (mut svc, addr, pid, copy) = reloaded_to_a_release_that_exits_before_run(&[]);
    // Read from the shared stderr by the test's own thread: wait for it.
    let out = svc.output.wait_for("exiting before run");
    went_back_to_v1(&svc, pid, addr, "exits_early", &out);
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    // It would exit the same way again: not tried again.
    reload_is_not_upgraded_to_again(&svc, &copy, "its code before `run` exited");
    svc.stop_expecting(0);
}

#[test]
fn a_new_image_that_exits_before_run_goes_back_though_stderr_is_full() {
    // The supervisor's stderr is a pipe nobody reads, full (a hung log
    // shipper): the new image's `atexit` hook, which says it goes back,
    // wrote its lines where they blocked, and held the service's every
    // descriptor, unserved, for as long as nobody read.
    let mut svc = Service::new(V1);
    let read_end = svc.start_with_stderr_unread(&[("EXITS_EARLY_QUIETLY", "1")], false);
    let pid = svc.pid();
    tests::fill_pipe(&read_end);
    reloaded_to_a_copy_that_exits(&svc, env!("CARGO_BIN_EXE_versioned_exits_early"));
    assert_eq!(exe(pid), Path::new(V1));
    assert_eq!(status(&svc)["upgrades"], 0);
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_supervisor_exit().code(), Some(0));
    drop(read_end);
}

#[test]
fn a_copy_forked_before_run_from_a_new_image_takes_nothing_over() {
    // A daemon's fork in the code before `run`: the new image exits (and
    // goes back to the old one), its copy goes on to `run` holding every
    // descriptor handed over. The copy must take none of it: a second
    // supervisor of the same service, on the same sockets, otherwise.
    let (mut svc, addr, pid, _copy) =
        reloaded_to_exiting(env!("CARGO_BIN_EXE_versioned_forks"), &[]);
    let out = svc
        .output
        .wait_for("forked before `run` from the supervisor's new image");
    let forked: i32 = svc.printed("forked pid");
    assert!(
        out.contains(&format!(
            "this process was forked before `run` from the supervisor's new image (pid {pid}), to which the supervisor's state was handed: it takes none of it"
        )),
        "{out}"
    );
    tests::eventually("the forked copy gone", || {
        (!tests::alive(forked)).then_some(())
    });
    went_back_to_v1(&svc, pid, addr, "forks", &out);
    svc.stop_expecting(0);
}

#[test]
fn a_new_image_that_cannot_run_the_old_binary_at_once_tries_again() {
    // Going back, the exec of the old binary fails twice for a passing
    // reason (as short of processes): tried again, rather than the
    // service ending there.
    let fails = [("LITTLEBOSS_TEST_GO_BACK_FAILS", "2")];
    let (mut svc, addr, pid, copy) = reloaded_to_a_release_that_exits_before_run(&fails);
    // Said by the supervisor's log thread, maybe after the reload's answer.
    let out = svc.output.wait_for(
        "cannot go back to the previous binary: Resource temporarily unavailable (os error 11); trying again (2 of 3)",
    );
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    assert!(read_greeting(addr).unwrap().starts_with("exits_early "));
    svc.stop_expecting(0);
}

#[test]
fn a_child_that_said_ready_and_died_at_once_is_not_upgraded_to() {
    let mut svc = Service::new(V1);
    // Its readiness and its exit reach the supervisor in one go: each
    // watcher waits for its child's exit (at most 3 s: the first child
    // serves on) before reading what it said.
    let addr = start_with(&mut svc, &[("LITTLEBOSS_TEST_WATCH_PAUSE_MS", "3000")]);
    let pid = svc.pid();
    let dies = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_ready_dies"));
    let reload = svc.control_with(&dies, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for("rolled back");
    tests::eventually("version 1 back", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("v1 "))
    });
    // The rollback child's watcher has read its hello (after the hook's
    // wait): a stop's lameduck reaches it.
    let out = svc.output.wait_for("is serving again");
    assert!(out.contains("exited before the exec"), "{out}");
    assert!(!out.contains("in-place upgrade"), "{out}");
    assert_eq!(exe(pid), Path::new(V1), "{out}");
    assert_eq!(status(&svc)["upgrades"], 0);
    svc.stop_expecting(0);
}

#[test]
fn a_failed_exec_leaves_the_supervisor_running_and_nothing_inherited() {
    let mut svc = Service::new(V1);
    let (gate, env) = gated_pause(&svc);
    let env = env.each_ref().map(|(k, v)| (*k, v.as_str()));
    let addr = start_with(&mut svc, &env);
    let pid = svc.pid();
    let copy = copy_of(&svc, V1);
    let reload = svc.spawn_control(&copy, "reload");
    // The new child serves from the copy; the exec of it is then refused.
    svc.output.wait_for("before the exec");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(&gate).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    // The reload stands, and its client hears what did not change.
    assert!(
        String::from_utf8_lossy(&reload.stderr)
            .contains("runs on from its old binary: exec failed: Permission denied"),
        "{}",
        text(&reload)
    );
    assert_eq!(exe(pid), Path::new(V1), "{}", svc.output.text());
    let now = status(&svc);
    assert_eq!(now["upgrades"], 0);
    let failure = now["last_failure"].as_str().unwrap();
    assert!(failure.contains("exec failed"), "{failure}");
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    assert_no_handoff_left(pid, &[Path::new(V1), &copy]);
    // What was made inheritable for the exec is close-on-exec again: a
    // child started now gets none of it (the lock file, the state, the
    // binaries).
    svc.reload_ok();
    let child = serving_pid(&svc);
    let inherited: Vec<String> = std::fs::read_dir(format!("/proc/{child}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.to_string_lossy().into_owned())
        .filter(|l| l.ends_with(".lock") || l.contains("littleboss-state") || Path::new(l) == copy)
        .collect();
    assert!(
        inherited.is_empty(),
        "child {child} inherited {inherited:?}"
    );
    svc.stop_expecting(0);
}

#[test]
fn signals_and_requests_in_the_exec_window_are_kept() {
    use std::io::{BufRead, Write};
    let mut svc = Service::new(V1);
    let (gate, env) = gated_pause(&svc);
    let env = env.each_ref().map(|(k, v)| (*k, v.as_str()));
    start_with(&mut svc, &env);
    let copy = copy_of(&svc, V1);
    // A reload that binds a new listener (on a thread of its own) and
    // upgrades the supervisor.
    let port = tests::free_port();
    let reload = svc
        .command(&copy)
        .arg("-littleboss=reload")
        .arg(format!("-addr=127.0.0.1:{port}"))
        .output_in_background();
    svc.output.wait_for("before the exec");
    // A status request written, and a TERM pending, while the old image
    // waits to exec: both for the new image.
    let mut status =
        std::os::unix::net::UnixStream::connect(svc.control_dir().join("versioned.sock")).unwrap();
    status.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    status.write_all(b"{\"v\":1,\"cmd\":\"status\"}\n").unwrap();
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    let term = 1u64 << (nix::libc::SIGTERM - 1);
    let pid = svc.pid() as u32;
    tests::eventually("the SIGTERM pending", || {
        (procfs::pending(pid, None)? & term != 0).then_some(())
    });
    std::fs::remove_file(&gate).unwrap();
    // The TERM waited through the exec: an orderly stop, the child's code.
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
    svc.output.wait_for("SIGTERM received: stopping");
    let reload = reload.join().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    // Answered by the new image.
    let mut answer = String::new();
    std::io::BufReader::new(&status)
        .read_line(&mut answer)
        .unwrap();
    assert!(answer.contains(r#""upgrades":1"#), "{answer}");
}

/// Each datagram on the stand-in notify socket, with its sender's pid.
fn recv_with_pid(socket: &UnixDatagram) -> (String, i32) {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 4096];
    let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("a notification within the deadline");
    let pid = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            ControlMessageOwned::ScmCredentials(creds) => Some(creds.pid()),
            _ => None,
        })
        .expect("credentials");
    let n = msg.bytes;
    (String::from_utf8_lossy(&buf[..n]).into_owned(), pid)
}

#[test]
fn systemd_hears_ready_reloading_ready_from_one_main_pid() {
    let mut svc = Service::new(V1);
    let path = svc.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::PassCred, &true).unwrap();
    svc.start_with_env(&[], &[("NOTIFY_SOCKET", &path)]);
    let pid = svc.pid();
    let mut seen = Vec::new();
    let next = |until: &str, seen: &mut Vec<String>| loop {
        let (message, from) = recv_with_pid(&socket);
        assert_eq!(from, pid, "{message} came from another process");
        if !message.starts_with("STATUS=") {
            let kind = message.lines().next().unwrap().to_owned();
            seen.push(kind.clone());
            if kind == until {
                return;
            }
        }
    };
    next("READY=1", &mut seen);
    let copy = copy_of(&svc, V1);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    next("RELOADING=1", &mut seen);
    next("READY=1", &mut seen);
    assert_eq!(seen, ["READY=1", "RELOADING=1", "READY=1"]);
    assert_eq!(exe(pid), copy);
    assert_eq!(status(&svc)["upgrades"], 1);
    assert_eq!(svc.control("stop").status.code(), Some(0));
    next("STOPPING=1", &mut seen);
    assert_eq!(seen, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn with_self_upgrade_off_neither_side_re_executes() {
    const FIXED: &str = env!("CARGO_BIN_EXE_versioned_no_upgrade");
    // A supervisor that may upgrade, reloaded to a binary that opts out.
    let mut svc = Service::new(V1);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let reload = svc.control_with(FIXED, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    // Its caller hears so, not the log alone.
    assert!(
        text(&reload).contains(&format!(
            "runs on from its old binary: {FIXED} does not offer to take the supervisor's state over"
        )),
        "{}",
        text(&reload)
    );
    // The old child may take a last connection before its lameduck
    // arrives; the new one serves from then on.
    tests::eventually("the new child to answer", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("fixed "))
    });
    assert_eq!(exe(svc.pid()), Path::new(V1));
    assert_eq!(status(&svc)["upgrades"], 0);
    svc.output
        .wait_for("the supervisor keeps running its own binary");
    svc.stop_expecting(0);

    // A supervisor that opted out, reloaded to a copy of itself.
    let mut svc = Service::new(FIXED);
    svc.start(&[]);
    svc.printed_addr("addr");
    svc.ready();
    let copy = copy_of(&svc, FIXED);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    assert_eq!(exe(svc.pid()), Path::new(FIXED));
    assert_eq!(status(&svc)["upgrades"], 0);
    svc.stop_expecting(0);
}

#[test]
fn an_idle_control_connection_is_kept_across_an_upgrade() {
    use std::io::{BufRead, BufReader, Write};
    let mut svc = Service::new(V1);
    svc.start(&[]);
    svc.printed_addr("addr");
    svc.ready();
    // Copied first: the connection's quiet time is bounded (10 s).
    let copy = copy_of(&svc, V1);
    // A monitor's connection, open and quiet across the upgrade.
    let mut conn =
        std::os::unix::net::UnixStream::connect(svc.control_dir().join("versioned.sock")).unwrap();
    conn.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    // Answered once, so the supervisor has taken it in.
    let mut lines = BufReader::new(conn.try_clone().unwrap()).lines();
    let mut ask = |conn: &mut std::os::unix::net::UnixStream| {
        conn.write_all(b"{\"v\":1,\"cmd\":\"status\"}\n").unwrap();
        let line = lines.next().expect("an answer").unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    assert_eq!(ask(&mut conn)["status"]["upgrades"], 0);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    // The same connection, served by the new image.
    let status = ask(&mut conn);
    assert_eq!(status["status"]["upgrades"], 1, "{status}");
    drop(conn);
    svc.stop_expecting(0);
}

#[test]
fn control_bytes_read_before_the_exec_are_kept_across_it() {
    use std::io::{BufRead, BufReader, Write};
    let (mut svc, socket) = v1_with_control_socket();
    // Copied first: half a request is waited for 10 s at most.
    let copy = copy_of(&svc, V1);
    let connect = || {
        let conn = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        conn.set_read_timeout(Some(tests::DEADLINE)).unwrap();
        let lines = BufReader::new(conn.try_clone().unwrap()).lines();
        (conn, lines)
    };
    let answer = |lines: &mut std::io::Lines<BufReader<std::os::unix::net::UnixStream>>| {
        let line = lines.next().expect("an answer").unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    // Half a request, read by the supervisor before the upgrade (a status
    // on the same connection first, so that it is served).
    let (mut halfway, mut halfway_lines) = connect();
    halfway
        .write_all(b"{\"v\":1,\"cmd\":\"status\"}\n")
        .unwrap();
    assert_eq!(answer(&mut halfway_lines)["status"]["upgrades"], 0);
    halfway.write_all(b"{\"v\":1,\"cmd\":").unwrap();
    tests::wait_read_by_peer(&halfway);
    // The reload that upgrades, with a status sent right behind it in the
    // same write: read along with the reload, before the exec.
    let reload = format!(
        "{{\"v\":1,\"cmd\":\"reload\",\"path\":{}}}\n{{\"v\":1,\"cmd\":\"status\"}}\n",
        serde_json::Value::from(copy.to_str().unwrap())
    );
    let (mut ahead, mut ahead_lines) = connect();
    ahead.write_all(reload.as_bytes()).unwrap();
    // Every answer, in order, none cut short: the progress before the
    // exec, the final answer after it, then the status sent ahead.
    let answers: Vec<serde_json::Value> = (0..3).map(|_| answer(&mut ahead_lines)).collect();
    let types: Vec<&str> = answers
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["reloading", "reloaded", "status"], "{answers:?}");
    assert_eq!(answers[2]["status"]["upgrades"], 1, "{answers:?}");
    // The half request's rest, read by the new image after the old one's
    // start of it.
    halfway.write_all(b"\"status\"}\n").unwrap();
    let status = answer(&mut halfway_lines);
    assert_eq!(status["status"]["upgrades"], 1, "{status}");
    assert_eq!(exe(svc.pid()), copy);
    // Again across a second upgrade, on the connection the first handed on.
    halfway.write_all(b"{\"v\":1,").unwrap();
    tests::wait_read_by_peer(&halfway);
    let reload = svc.control_with(V1, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    halfway.write_all(b"\"cmd\":\"status\"}\n").unwrap();
    let status = answer(&mut halfway_lines);
    assert_eq!(status["status"]["upgrades"], 2, "{status}");
    assert_eq!(exe(svc.pid()), Path::new(V1));
    drop((halfway, ahead));
    svc.stop_expecting(0);
}

/// Bytes the peer of `conn` has sent that `conn` has not read yet.
fn queued_to_read(conn: &std::os::unix::net::UnixStream) -> usize {
    use std::os::fd::AsRawFd;
    let mut queued: nix::libc::c_int = -1;
    // SAFETY: FIONREAD writes one int to the pointer, which is valid for
    // the call; `conn` is an open socket for its duration.
    let rc = unsafe { nix::libc::ioctl(conn.as_raw_fd(), nix::libc::FIONREAD, &mut queued) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    queued as usize
}

#[test]
fn answers_a_client_has_not_read_yet_are_kept_across_the_exec() {
    use std::io::{BufRead, BufReader, Write};
    let (mut svc, socket) = v1_with_control_socket();
    // Copied first: an answer unread is held 10 s at most.
    let copy = copy_of(&svc, V1);
    let conn = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    conn.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    // Requests whose answers (about 1 KiB each) far exceed what the socket
    // holds, sent at once by a client that does not read yet: the
    // supervisor writes answers until the socket is full, and holds the
    // rest of the one it is writing.
    let requests = 2000;
    (&conn)
        .write_all(&b"{\"v\":1,\"cmd\":\"status\"}\n".repeat(requests))
        .unwrap();
    tests::eventually("the socket to fill with answers", || {
        (queued_to_read(&conn) > 32 * 1024).then_some(())
    });
    // Read from the exec on, not once the reload ends: the new child's
    // start on a loaded machine is no part of the 10 s an unread answer
    // is held.
    let mut reload = svc.spawn_control(&copy, "reload");
    tests::eventually("the new image to run", || {
        // A reload refused or failed says why, rather than a wait in vain.
        if let Ok(Some(_)) = reload.0.try_wait() {
            assert_eq!(exe(svc.pid()), copy, "{}", text(&reload.output()));
        }
        (exe(svc.pid()) == copy).then_some(())
    });
    // Every answer, whole and in order: those written before the exec, the
    // one it caught halfway, and those the new image wrote.
    let mut upgrades = Vec::new();
    for line in BufReader::new(&conn).lines().take(requests) {
        let line = line.expect("an answer for every request");
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a whole answer, not {line:?}: {e}"));
        upgrades.push(answer["status"]["upgrades"].as_u64().unwrap());
    }
    assert_eq!(upgrades.len(), requests);
    let before = upgrades.iter().take_while(|&&u| u == 0).count();
    assert!(before > 0, "answered before the exec");
    assert!(
        upgrades[before..].iter().all(|&u| u == 1),
        "answered by the new image after the exec: {:?}",
        &upgrades[before..before + 5.min(requests - before)]
    );
    assert!(before < requests, "some answered by the new image");
    let reload = reload.wait_with_output().unwrap();
    assert!(reload.status.success(), "{}", text(&reload));
    drop(conn);
    svc.stop_expecting(0);
}

/// Starts `svc` through a `current` symlink to `release`, as a deploy
/// layout would: the link's path and the listener's address.
fn start_through_link(svc: &mut Service, release: &Path) -> (PathBuf, std::net::SocketAddr) {
    let current = svc.dir.path().join("current");
    std::os::unix::fs::symlink(release, &current).unwrap();
    let mut cmd = svc.command(&current);
    cmd.arg("-littleboss=start");
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    svc.ready();
    (current, addr)
}

/// Points the symlink `link` at `release` in one step, as a deploy does.
fn move_link(link: &Path, release: &Path) {
    let moved = link.with_extension("new");
    std::os::unix::fs::symlink(release, &moved).unwrap();
    std::fs::rename(&moved, link).unwrap();
}

#[test]
fn an_upgraded_supervisor_whose_files_were_removed_leaves_its_successors_alone() {
    // A cleaner removed the first supervisor's socket and lock, and a
    // second started before the first (stopped meanwhile) could make them
    // again; the first, reloaded by signal, upgrades in place. Its new
    // image must still know its own socket from the second's.
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let next = copy_of(&svc, INIT);
    let (current, _) = start_through_link(&mut svc, &first);
    let dir = svc.control_dir();
    svc.freeze();
    std::fs::remove_file(dir.join("versioned.sock")).unwrap();
    std::fs::remove_file(dir.join("versioned.lock")).unwrap();
    let mut second = Service::sharing(V1, &dir);
    second.start(&[]).ready();
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    svc.output.wait_for("cannot be made again");
    move_link(&current, &next);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    svc.output.wait_for("in-place upgrade 1)");
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(7), "{}", svc.output.text());
    // The second's commands, in the folder the two shared.
    let control = |args: &[&str]| second.command(V1).args(args).output_in_time();
    let status = control(&["-littleboss=status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["supervisor_pid"], second.pid());
    let stop = control(&["-littleboss=stop"]);
    assert!(stop.status.success(), "{}", text(&stop));
    assert_eq!(second.wait_exit().code(), Some(0));
}

#[test]
fn a_control_socket_made_again_is_the_one_an_upgraded_supervisor_serves() {
    // Removed and made again, then handed over by an in-place upgrade: the
    // new image answers on it, and removes it (and the lock file) at stop.
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let next = copy_of(&svc, INIT);
    let (current, addr) = start_through_link(&mut svc, &first);
    let dir = svc.control_dir();
    tests::remove_folder(&dir);
    svc.output.wait_for("was removed; made it again");
    // The folder's watch, by descriptor number.
    let watches = |pid: i32| -> Vec<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path()).is_ok_and(|t| t.ends_with("anon_inode:inotify"))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    // The watch the remake replaced goes as its task is dropped, soon.
    let before = tests::eventually("one watch", || {
        let now = watches(svc.pid());
        (now.len() == 1).then_some(now)
    });
    // A copy of it here, to tell after the upgrade whether the supervisor
    // still has the very same one.
    let copy = procfs::copy_fd(svc.pid(), before[0].parse().unwrap());
    move_link(&current, &next);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    svc.output.wait_for("in-place upgrade 1)");
    assert_eq!(status(&svc)["supervisor_pid"], svc.pid());
    assert!(read_greeting(addr).unwrap().starts_with("init "));
    // Handed over, not closed by the exec (which would wait for the
    // kernel's fsnotify grace period) and made anew; none left behind.
    let after = watches(svc.pid());
    assert_eq!(after.len(), 1, "{after:?}");
    if let Ok(copy) = copy {
        let fd = after[0].parse().unwrap();
        assert!(procfs::same_file(&copy, svc.pid(), fd), "a new watch");
    } else {
        eprintln!("not compared: pidfd_getfd refused ({copy:?})");
    }
    svc.stop_expecting(7);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_reload_to_a_binary_with_configuration_mistakes_fails_naming_them() {
    // Reached by SIGHUP through a moved link: the binary never runs its
    // own `reload` (it would refuse itself, exit 2), so its child is where
    // the mistakes are found, and the reload fails with them.
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let mistaken = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_mistaken"));
    let (current, addr) = start_through_link(&mut svc, &first);
    move_link(&current, &mistaken);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    let failure = tests::eventually("the reload's failure", || {
        status(&svc)["last_failure"].as_str().map(str::to_owned)
    });
    assert!(
        failure.contains("the configuration has mistakes: "),
        "{failure}"
    );
    assert!(failure.contains("ready_timeout"), "{failure}");
    assert!(!svc.output.text().contains("version mistaken serving"));
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn sighup_runs_what_the_path_it_was_started_by_names_now() {
    // A deploy layout: `current` points at a release; the next release is
    // a file of its own, and the link moves to it.
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let second = copy_of(&svc, INIT);
    let (current, addr) = start_through_link(&mut svc, &first);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    sighup_runs_what_the_link_names_now(&mut svc, &current, &second, addr);
}

/// `svc`, started through the link `current`, which its status names,
/// runs `second` once the link moves to it and SIGHUP comes.
fn sighup_runs_what_the_link_names_now(
    svc: &mut Service,
    current: &Path,
    second: &Path,
    addr: std::net::SocketAddr,
) {
    assert_eq!(status(svc)["child"]["path"], current.to_str().unwrap());
    move_link(current, second);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    tests::eventually("the release the link names now", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("init "))
    });
    svc.stop_expecting(7);
}

#[test]
fn sighup_runs_a_release_that_declares_a_listener_off_by_default() {
    // The new release adds `debug = "tcp:"`, off unless given: what a
    // `start` with the same arguments would run, SIGHUP runs too (it was
    // refused: "declares listener `debug`, which the supervisor does not
    // hold").
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let next = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_debug_off"));
    let (current, addr) = start_through_link(&mut svc, &first);
    move_link(&current, &next);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    let greeting = tests::eventually("the new release serving", || {
        read_greeting(addr)
            .ok()
            .filter(|g| g.starts_with("debug-off "))
    });
    assert!(greeting.trim_end().ends_with("debug=none"), "{greeting}");
    assert!(
        status(&svc)["last_failure"].is_null(),
        "{}",
        svc.output.text()
    );
    svc.stop_expecting(0);
}

#[test]
fn sighup_follows_a_link_started_by_its_bare_name_through_path() {
    // `myblog -littleboss=start`, with `myblog` a link in a folder on PATH.
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let second = copy_of(&svc, INIT);
    let bin = svc.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let current = bin.join("current");
    std::os::unix::fs::symlink(&first, &current).unwrap();
    let search = std::env::join_paths([Path::new("/nonexistent"), &bin]).unwrap();
    let mut cmd = svc.command("current");
    cmd.env("PATH", search).arg("-littleboss=start");
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    svc.ready();
    sighup_runs_what_the_link_names_now(&mut svc, &current, &second, addr);
}

#[test]
fn a_rollback_runs_the_release_that_served_though_the_link_has_moved() {
    let mut svc = Service::new(V1);
    let first = copy_of(&svc, V1);
    let dies = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_dies"));
    let (current, addr) = start_through_link(&mut svc, &first);
    // The link moves to a release that dies 300 ms after it serves.
    move_link(&current, &dies);
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    svc.output.wait_for("rolled back");
    tests::eventually("the first release back", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("v1 "))
    });
    let child = &status(&svc)["child"];
    assert_eq!(child["path"], first.to_str().unwrap());
    assert!(
        child.get("replaced").is_none(),
        "the file is still there: {child}"
    );
    svc.stop_expecting(0);
}

#[test]
fn a_rollback_runs_the_old_binary_though_a_deploy_replaced_its_file() {
    // The deploy `cargo build` does: a new file renamed over the path the
    // service runs from, then a reload from that same path. The new
    // version dies 300 ms after it serves, after the supervisor upgraded
    // itself in place to it.
    let mut svc = Service::new(V1);
    let app = copy_of(&svc, V1);
    let mut cmd = svc.command(&app);
    cmd.arg("-littleboss=start");
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let dies = copy_of(&svc, env!("CARGO_BIN_EXE_versioned_dies"));
    std::fs::rename(&dies, &app).unwrap();
    let reload = svc.control_with(&app, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for("rolled back");
    // Version 1 again, from the file the deploy deleted, not the dying
    // version its path names now.
    tests::eventually("version 1 back", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("v1 "))
    });
    // The rollback was decided by the image of the dying version: the
    // old file crossed that upgrade, held open.
    let status = status(&svc);
    assert!(status["upgrades"].as_u64().unwrap() >= 1, "{status}");
    // And `status` says that the path names another file than it runs.
    assert_eq!(status["child"]["replaced"], true, "{status}");
    let out = svc.control_with(&app, "status", &[]);
    let held = format!(
        "({} was replaced since: this child runs the earlier file, held open)",
        app.display()
    );
    assert!(text(&out).contains(&held), "{}", text(&out));
    svc.stop_expecting(0);
}

/// Writes `script` to `name` in the service's folder and reloads to it by
/// a request written to `socket` (a script has no `-littleboss` flag):
/// its path and the answers.
fn reload_to_script(
    svc: &Service,
    socket: &Path,
    name: &str,
    script: &str,
) -> (PathBuf, Vec<String>) {
    let path = svc.dir.path().join(name);
    tests::write_executable(&path, script);
    let request = format!(
        "{{\"v\":1,\"cmd\":\"reload\",\"path\":\"{}\"}}\n",
        path.display()
    );
    let replies = tests::control_raw(socket, request.as_bytes());
    (path, replies)
}

/// Asserts that the last of a reload's `replies` is of `kind`
/// (`reloaded`, `error`), with `context` to show if not.
fn last_reply_is(replies: &[String], kind: &str, context: &str) {
    let wanted = format!("\"type\":\"{kind}\"");
    assert!(
        replies.last().is_some_and(|r| r.contains(&wanted)),
        "{replies:?}\n{context}"
    );
}

#[test]
fn a_rollback_to_a_wrapper_script_runs_the_script_not_its_shell() {
    // A child started from a script that execs the program (as a wrapper
    // setting up its environment would): what the kernel ran first is the
    // shell, and a rollback must run the script again, not a bare shell.
    let (mut svc, socket) = v1_with_control_socket();
    let addr = svc.printed_addr("addr");
    let script = format!("#!/bin/sh\nexec {V1} \"$@\"\n");
    let (wrapper, replies) = reload_to_script(&svc, &socket, "wrapper.sh", &script);
    last_reply_is(&replies, "reloaded", "");
    let wrapped = serving_pid(&svc);
    let dies = svc.control_with(env!("CARGO_BIN_EXE_versioned_dies"), "reload", &[]);
    assert!(dies.status.success(), "{}", text(&dies));
    svc.output.wait_for("rolled back");
    tests::eventually("version 1 back through the wrapper", || {
        read_greeting(addr)
            .ok()
            .filter(|g| g.starts_with("v1 ") && !g.contains(&wrapped.to_string()))
    });
    assert_eq!(status(&svc)["child"]["path"], wrapper.to_str().unwrap());
    // Nor did the supervisor try to become what the script's child ran
    // when it started (the shell, perhaps).
    let out = svc.output.text();
    assert!(!out.contains("no longer runs the binary"), "{out}");
    svc.stop_expecting(0);
}

#[test]
fn a_wrapper_script_that_runs_the_program_without_exec_is_told_to_exec_it() {
    // The shell stays above the program, and `timeout` between them: the
    // program says so, not that its supervisor is gone, and version 1
    // serves on.
    let (mut svc, socket) = v1_with_control_socket();
    let script = format!("#!/bin/sh\ntimeout 60 {V1} \"$@\"\nexit $?\n");
    told_to_exec(&mut svc, &socket, "forks.sh", &script);
    svc.stop_expecting(0);
}

/// A reload of `svc` to the wrapper `script` (saved as `name`) fails: the
/// program says the wrapper must `exec` it, not that its supervisor is
/// gone, and version 1 serves on.
fn told_to_exec(svc: &mut Service, socket: &Path, name: &str, script: &str) {
    let addr = svc.printed_addr("addr");
    let (_, replies) = reload_to_script(svc, socket, name, script);
    last_reply_is(&replies, "error", "");
    let out = svc.output.wait_for("through another process");
    assert!(out.contains("a wrapper must `exec` it"), "{out}");
    assert!(!out.contains("which is gone"), "{out}");
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
}

#[test]
fn a_wrapper_that_closes_the_channel_and_forks_is_told_to_exec_the_program() {
    // As Python's `subprocess` does, the wrapper closes every descriptor
    // above 2 for what it runs: the program, finding no channel, says
    // what the wrapper must do rather than serve unsupervised.
    let (mut svc, socket) = v1_with_control_socket();
    let script = format!("#!/bin/sh\n{V1} \"$@\" 3>&-\nexit $?\n");
    told_to_exec(&mut svc, &socket, "closes.sh", &script);
    // A control command such a launcher runs on its way is no child: it
    // answers, and the program the launcher then `exec`s serves.
    let script = format!("#!/bin/sh\n{V1} -littleboss=status 3>&- || exit 1\nexec {V1} \"$@\"\n");
    let (_, replies) = reload_to_script(&svc, &socket, "asks.sh", &script);
    last_reply_is(&replies, "reloaded", &svc.output.text());
    svc.stop_expecting(0);
}

#[test]
fn what_code_before_run_starts_inherits_nothing_meant_for_littleboss() {
    code_before_run_starts_helpers_inheriting_nothing(&[]);
}

#[test]
fn what_code_before_run_starts_inherits_nothing_meant_for_littleboss_without_proc_too() {
    // No `/proc` (a chroot `supervisor_init` entered): the new image
    // cannot list what came across the exec, and marks what the handoff
    // names.
    code_before_run_starts_helpers_inheriting_nothing(&[("LITTLEBOSS_TEST_NO_PROC", "1")]);
}

/// Starts `prerun_spawn` with `env`, upgrades it in place, and checks
/// that none of the helpers its code before `run` started (in the
/// supervisor, its new image and each child) holds anything of
/// littleboss's.
fn code_before_run_starts_helpers_inheriting_nothing(env: &[(&str, &str)]) {
    let bin = env!("CARGO_BIN_EXE_prerun_spawn");
    let mut svc = Service::new(bin);
    let pids = svc.dir.path().join("prerun-pids");
    let mut cmd = svc.command(&svc.bin);
    cmd.envs(env.iter().copied());
    // Under a service manager (one nobody listens for: its lines are
    // logged as lost), whose variables only the first helper, started
    // before littleboss ran, may see.
    let notify_socket = svc.dir.path().join("gone.sock");
    cmd.arg("-littleboss=start")
        .env("PRERUN_PIDS", &pids)
        .env("NOTIFY_SOCKET", &notify_socket);
    svc.spawn(cmd);
    svc.printed_addr("addr");
    svc.ready();
    let copy = copy_of(&svc, bin);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let supervisor = svc.pid();
    // Started by the supervisor (as it started, and as its new image), by
    // the first child and by the reload's.
    let started: Vec<(i32, i32)> = tests::eventually("four helpers", || {
        // Whole lines only: one may be read while it is written.
        let text = std::fs::read_to_string(&pids).ok()?;
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        let lines: Vec<(i32, i32)> = (whole.lines())
            .map(|l| {
                let (by, pid) = l.split_once(' ')?;
                Some((by.parse().ok()?, pid.parse().ok()?))
            })
            .collect::<Option<_>>()?;
        (lines.len() == 4).then_some(lines)
    });
    let _helpers = tests::Strays::of(started.iter().map(|(_, pid)| *pid as u32));
    assert_eq!(exe(supervisor), copy, "{}", svc.output.text());
    let by_supervisor = started.iter().filter(|(by, _)| *by == supervisor).count();
    assert_eq!(by_supervisor, 2, "{started:?}");
    let fds_of = |pid: i32| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let target = std::fs::read_link(e.path()).unwrap_or_default();
                format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    target.display()
                )
            })
            .collect()
    };
    // The first, started before littleboss ran: what the test's own
    // process left open (cargo's jobserver, say), and stdio.
    let before = fds_of(started[0].1);
    let first = started[0].1;
    assert!(
        procfs::environ(first as u32)
            .unwrap()
            .contains_key("NOTIFY_SOCKET")
    );
    // A helper just started may still hold a file of its own start
    // (`sleep`'s setlocale reads /etc/locale.alias): waited out, as one
    // inherited never closes.
    let extra_of = |pid: i32| -> Vec<String> {
        let deadline = std::time::Instant::now() + tests::DEADLINE;
        loop {
            let extra: Vec<String> = fds_of(pid).difference(&before).cloned().collect();
            if extra.is_empty() || std::time::Instant::now() > deadline {
                return extra;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    for (by, pid) in &started {
        let extra = extra_of(*pid);
        assert!(extra.is_empty(), "started by {by}: {extra:?}");
        // Nor, from a child, SIGHUP ignored, as a child starts with it (a
        // helper's own `trap` on HUP would do nothing). The supervisor's
        // have what it was given (`nohup`'s, say).
        let hup = 1 << (nix::libc::SIGHUP - 1);
        let masks = procfs::thread_signal_masks(*pid as u32);
        let ignored = masks.iter().any(|m| m.ignored & hup != 0);
        assert!(
            *by == supervisor || !ignored,
            "started by {by}: SIGHUP ignored"
        );
        let environ = procfs::environ(*pid as u32).unwrap();
        for var in [
            "LITTLEBOSS_UPGRADE",
            "LITTLEBOSS_UPGRADE_FAILED",
            "LITTLEBOSS_UPGRADE_MAY_RETRY",
            "LITTLEBOSS_CHANNEL_FD",
        ] {
            assert!(!environ.contains_key(var), "started by {by}: {var}");
        }
        if *pid != first {
            assert!(
                !environ.contains_key("NOTIFY_SOCKET"),
                "started by {by}: NOTIFY_SOCKET"
            );
        }
    }
    svc.stop_expecting(0);
}

#[test]
fn an_upgraded_image_gets_none_of_systemds_variables_though_threads_kept_them() {
    // A thread started before `run` keeps the supervisor from changing
    // its own environment: the variables stay there, but the image an
    // upgrade execs is given the environment without them (the handoff
    // carries what they said).
    let early = env!("CARGO_BIN_EXE_early_thread");
    let mut svc = Service::new(early);
    svc.start_with_env(&[], &[("NOTIFY_SOCKET", &svc.dir.path().join("gone.sock"))]);
    svc.ready();
    let pid = svc.pid() as u32;
    assert!(procfs::environ(pid).unwrap().contains_key("NOTIFY_SOCKET"));
    let copy = copy_of(&svc, early);
    let reload = svc.control_with(&copy, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    tests::eventually("the upgrade", || {
        let out = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["upgrades"] == 1).then_some(())
    });
    // The environment the new image was started with.
    let environ = procfs::environ(pid).unwrap();
    assert!(!environ.contains_key("NOTIFY_SOCKET"), "{environ:?}");
    svc.stop_expecting(0);
}
