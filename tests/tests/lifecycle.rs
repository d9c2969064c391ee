//! Start, serve, reload, status, stop (Go's TestStartStopReload), and the
//! exit codes of `stop`.

use tests::{OutputInTime, Service, echo, exits_saying, text};

const ECHO: &str = env!("CARGO_BIN_EXE_echo_server");

#[test]
fn start_echo_reload_status_stop() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    assert_eq!(echo(addr, "hello").unwrap(), "hello\n");

    // What supervisor_init opened for itself, inheritable, it keeps; the
    // child does not get it.
    let held_by = |pid: i32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| target.ends_with("init-held"))
    };
    assert!(held_by(svc.pid()), "supervisor_init's file is not open");
    assert!(!held_by(svc.printed("pid")), "the child inherited it");

    let reload = svc.reload_ok();
    assert!(
        String::from_utf8_lossy(&reload.stderr).contains("reloaded echo_server: pid "),
        "{}",
        text(&reload)
    );
    svc.output.wait_for("reload requested");
    // The new child serves on the very socket the supervisor bound at start.
    svc.output.wait_for_count("addr=", 2);
    assert_eq!(echo(addr, "again").unwrap(), "again\n");

    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.contains(&format!("addr:\ttcp {addr}")),
        "status does not mention {addr}:\n{out}"
    );
    assert!(out.contains("reloads 1, failures 0"), "{out}");
    assert!(
        out.contains(ECHO),
        "status does not mention the path:\n{out}"
    );
    assert!(
        out.contains(&format!("supervisor pid {}", svc.pid())),
        "{out}"
    );

    let stop = svc.stop_expecting(0);
    assert!(String::from_utf8_lossy(&stop.stderr).contains("stopped echo_server: exit code 0"));

    let out = svc.output.text();
    assert_eq!(
        out.matches("entering lameduck mode").count(),
        2,
        "once for reload, once for stop:\n{out}"
    );
    assert_eq!(out.matches("SupervisorInit called").count(), 1, "{out}");
    assert!(!out.contains("supervisor_init sees"), "{out}");
    assert!(
        !svc.control_dir().join("echo_server.sock").exists(),
        "control socket left behind"
    );
    let after = svc.control("status");
    assert_eq!(after.status.code(), Some(3), "not running");
    assert!(
        String::from_utf8_lossy(&after.stderr).contains("`echo_server` is not running"),
        "{}",
        text(&after)
    );
}

#[test]
fn status_as_json() {
    let mut svc = Service::new(ECHO);
    svc.start(&["--verbose"]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let out = svc.control_with(ECHO, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["name"], "echo_server");
    assert_eq!(status["supervisor_pid"], svc.pid());
    assert_eq!(status["reloads"], 0);
    assert_eq!(status["failures"], 0);
    assert_eq!(status["child"]["path"], ECHO);
    assert_eq!(status["child"]["args"], serde_json::json!(["--verbose"]));
    assert_eq!(status["listeners"][0]["name"], "addr");
    assert_eq!(status["listeners"][0]["network"], "tcp");
    assert_eq!(status["listeners"][0]["address"], addr.to_string());
    assert_eq!(status["listeners"][0]["listening"], true);
    // `-json` too, as Go's flags take it.
    let out = svc.control_with(ECHO, "status", &["-json"]);
    assert!(out.status.success(), "{}", text(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["supervisor_pid"], svc.pid());
    // After `--` it is not ours: the text, not JSON.
    let out = svc.control_with(ECHO, "status", &["--", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("littleboss: echo_server\n"), "{shown}");
}

#[test]
fn listeners_are_bound_once_for_the_supervisors_life() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    for n in 2..=4 {
        svc.reload_ok();
        let out = svc.output.wait_for_count("addr=", n);
        let last = out.rsplit("addr=").next().unwrap();
        assert!(
            last.starts_with(&addr.to_string()),
            "child {n} got another address: {last}"
        );
        assert_eq!(echo(addr, "x").unwrap(), "x\n");
    }
}

#[test]
fn stop_exits_with_the_childs_exit_code_every_time() {
    // The Go package's wait race turns a clean exit into 1 in ~40% of stops.
    for code in [
        0, 7, 0, 42, 1, 0, 0, 3, 0, 0, 255, 0, 0, 9, 0, 0, 0, 2, 0, 0,
    ] {
        let mut svc = Service::new(env!("CARGO_BIN_EXE_exit_code"));
        svc.start(&[&code.to_string()]);
        svc.output.wait_for("serving pid=");
        let stop = svc.stop_expecting(code);
        assert!(String::from_utf8_lossy(&stop.stderr).contains(&format!("exit code {code}")));
    }
}

#[test]
fn a_start_right_after_stop_returns_takes_the_name_and_the_port() {
    // `stop && start`, as restart scripts run it: once `stop` returns, the
    // supervisor has let go of its port, control socket and lock, though
    // its process may still be exiting.
    let port = tests::free_port();
    let addr = format!("-addr=127.0.0.1:{port}");
    let mut svc = Service::new(ECHO);
    // Each supervisor lingers after its last answer, as a loaded machine
    // may make it: a successor must not need it gone.
    let start = |svc: &mut Service| {
        svc.start_with_env(&[&addr], &[("LITTLEBOSS_TEST_EXIT_PAUSE_MS", &"300")]);
    };
    start(&mut svc);
    svc.ready();
    for round in 1..=3 {
        let stop = svc.control("stop");
        assert_eq!(stop.status.code(), Some(0), "stop: {}", text(&stop));
        start(&mut svc);
        let ready = |t: &str| t.matches(" is ready\n").count() > round;
        let failed = |t: &str| t.contains("already running") || t.contains("in use");
        let out = svc
            .output
            .wait_until("the next start's child ready", |t| ready(t) || failed(t));
        assert!(!failed(&out), "round {round}: {out}");
        assert_eq!(
            echo(format!("127.0.0.1:{port}").parse().unwrap(), "hi").unwrap(),
            "hi\n"
        );
    }
    svc.stop_expecting(0);
}

/// A supervisor whose control files `remove` takes away while it is
/// stopped (SIGSTOP), and a second one started meanwhile in its folder;
/// returns both once the first, let go on, has said it cannot make its
/// files again, with what it said.
fn path_taken_by_a_second(remove: impl FnOnce(&std::path::Path)) -> (Service, Service, String) {
    let mut first = Service::new(ECHO);
    first.start(&[]).ready();
    let dir = first.control_dir();
    first.freeze();
    remove(&dir);
    let mut second = Service::sharing(ECHO, &dir);
    second.start(&[]).ready();
    first.signal(nix::sys::signal::Signal::SIGCONT);
    let said = first.output.wait_for("cannot be made again");
    (first, second, said)
}

#[test]
fn a_supervisor_whose_files_were_removed_leaves_its_successors_alone() {
    // A cleaner removed the first one's socket and lock, and a second
    // started before the first could make them again (it is stopped
    // meanwhile). The first must leave the second's files alone: when it
    // goes to make them again, and when stopped by a signal.
    let (mut first, mut second, said) = path_taken_by_a_second(|dir| {
        std::fs::remove_file(dir.join("echo_server.sock")).unwrap();
        std::fs::remove_file(dir.join("echo_server.lock")).unwrap();
    });
    let dir = first.control_dir();
    let taken = format!("`echo_server` is already running (pid {})", second.pid());
    assert!(said.contains(&taken), "{said}");
    let pid = first.pid();
    assert!(
        said.contains(&format!("`kill -TERM {pid}` stops it")),
        "{said}"
    );
    first.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(first.wait_exit().code(), Some(0), "{}", first.output.text());
    let status = second
        .command(ECHO)
        .arg("-littleboss=status")
        .output_in_time();
    assert!(status.status.success(), "{}", text(&status));
    let pid = format!("supervisor pid {}", second.pid());
    assert!(text(&status).contains(&pid), "{}", text(&status));
    assert!(dir.join("echo_server.lock").exists());
    let stop = second
        .command(ECHO)
        .arg("-littleboss=stop")
        .output_in_time();
    assert!(stop.status.success(), "{}", text(&stop));
    assert_eq!(second.wait_exit().code(), Some(0));
}

#[test]
fn a_removed_lock_file_alone_is_made_again_and_said() {
    // A cleaner that does not honour `flock` removed the lock file only:
    // made again, and said, so that a second start is refused as before.
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    svc.ready();
    let lock = svc.control_dir().join("echo_server.lock");
    std::fs::remove_file(&lock).unwrap();
    svc.output.wait_for(&format!(
        "the lock file {} had been removed; made it again",
        lock.display()
    ));
    assert!(lock.exists());
    let second = svc.control("start");
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains(&format!(
            "`echo_server` is already running (pid {})",
            svc.pid()
        )),
        "{}",
        text(&second)
    );
    svc.stop_expecting(0);
}

#[test]
fn a_path_that_stays_taken_does_not_make_the_remake_wake_itself() {
    // Both files removed, and the socket's path taken: the remake fails,
    // and must not make and remove a lock file at each try (which woke
    // its own watch into the next try, every 200 ms, for ever). A file
    // that is no socket is another's: no lock file is made. A dangling
    // symlink fails the bind, this supervisor's own failure: its lock
    // file is made once and kept, so a `start` meanwhile finds it. Once
    // the path is free, it comes back.
    for (taken_by, locks_expected) in [("a file", 0), ("a dangling symlink", 1)] {
        let mut svc = Service::new(ECHO);
        svc.start(&[]);
        let addr = svc.printed_addr("addr");
        svc.ready();
        let dir = svc.control_dir();
        let socket = dir.join("echo_server.sock");
        let lock = dir.join("echo_server.lock");
        let made =
            nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::IN_NONBLOCK).unwrap();
        made.add_watch(&dir, nix::sys::inotify::AddWatchFlags::IN_CREATE)
            .unwrap();
        // Stopped meanwhile, so that it sees both changes at once.
        svc.freeze();
        take_path(&socket, locks_expected == 1);
        std::fs::remove_file(&lock).unwrap();
        svc.signal(nix::sys::signal::Signal::SIGCONT);
        svc.output.wait_for("cannot be made again");
        // Two retries' worth (1 s, then 2 s), run (a loaded machine's
        // stall would pass the check unchecked); the events wait queued.
        tests::lets_it_run(&svc, std::time::Duration::from_millis(3500));
        let events = made.read_events().unwrap_or_default();
        let locks_made = (events.iter())
            .filter(|e| e.name.as_deref() == Some(lock.file_name().unwrap()))
            .count();
        assert_eq!(locks_made, locks_expected, "{taken_by}: lock files made");
        let text_now = svc.output.text();
        assert_eq!(
            text_now.matches("cannot be made again").count(),
            1,
            "{taken_by}: said once: {text_now}"
        );
        if locks_expected == 1 {
            let second = svc.control("start");
            let running = format!("`echo_server` is already running (pid {})", svc.pid());
            exits_saying(&second, 1, &running);
        }
        std::fs::remove_file(&socket).unwrap();
        svc.output.wait_for("was removed; made it again");
        let status = svc.control("status");
        assert!(status.status.success(), "{taken_by}: {}", text(&status));
        assert!(lock.exists());
        assert_eq!(echo(addr, "still").unwrap(), "still\n");
        svc.stop_expecting(0);
    }
}

/// Starts `svc` looking at its control socket's path every 200 ms (not
/// 30 s), as `tests::waits_for_the_folder_above` expects; its `addr`.
fn started_looking_often(svc: &mut Service) -> std::net::SocketAddr {
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_PATH_LOOK_MS", &"200")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    addr
}

#[test]
fn a_remake_that_fails_again_for_another_reason_says_the_new_one() {
    // The control socket's path taken by a file, then by a dangling
    // symlink: the retries fail on, and the log tells the new reason
    // once, not only the first. (Looked at every 200 ms, and by the
    // retries, due in 1 s then 2 s: the watch tells sooner, but need not
    // be there.)
    let mut svc = Service::new(ECHO);
    started_looking_often(&mut svc);
    let socket = svc.control_dir().join("echo_server.sock");
    take_path(&socket, false);
    svc.output.wait_for("cannot be made again");
    take_path(&socket, true);
    svc.output.wait_for("still cannot be made again, now: ");
    // Each line's reason: the first's up to what it goes on to say.
    let out = svc.output.text();
    let first = (out.lines())
        .find_map(|l| l.split_once("cannot be made again: "))
        .and_then(|(_, why)| why.split_once("; this supervisor"))
        .map(|(why, _)| why);
    let now = (out.lines()).find_map(|l| l.split_once("still cannot be made again, now: "));
    let (Some(first), Some((_, now))) = (first, now) else {
        panic!("{out}")
    };
    assert_ne!(first, now, "{out}");
    // Past the next retry (due 2 s on), which fails for the same reason:
    // not said again.
    tests::lets_it_run(&svc, std::time::Duration::from_millis(2500));
    let out = svc.output.text();
    assert_eq!(
        out.matches("still cannot be made again").count(),
        1,
        "{out}"
    );
    std::fs::remove_file(&socket).unwrap();
    svc.output.wait_for("was removed; made it again");
    let out = svc.output.text();
    assert_eq!(
        out.matches("still cannot be made again").count(),
        1,
        "{out}"
    );
    svc.stop_expecting(0);
}

#[test]
fn a_lock_file_taken_by_another_process_meanwhile_is_said_so_and_taken_back_later() {
    // The lock file removed, and a new one at its path locked by another
    // process before the supervisor made it again: the supervisor still
    // answers at its socket, and says so (not "signals only"); once the
    // other lets go, it takes the lock back. Its socket removed meanwhile
    // (the same reason to fail, but no longer reachable at it): said in
    // full again, and made again with the lock.
    for socket_too in [false, true] {
        let mut svc = Service::new(ECHO);
        svc.start(&[]);
        svc.ready();
        let path = svc.control_dir().join("echo_server.lock");
        // Stopped meanwhile, so that the other process is first however
        // slow this machine is.
        svc.freeze();
        std::fs::remove_file(&path).unwrap();
        let file = std::fs::File::create(&path).unwrap();
        let held =
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
        svc.signal(nix::sys::signal::Signal::SIGCONT);
        let said = svc.output.wait_for("was removed and cannot be made again");
        let pid = svc.pid();
        assert!(
            said.contains(&format!(
                "the lock file {} was removed and cannot be made again: ",
                path.display()
            )) && said.contains(&format!(
                "this supervisor (pid {pid}) still answers at its control socket "
            )),
            "{said}"
        );
        assert!(!said.contains("signals only"), "{said}");
        // Its retries take the lock back, not a watch of the path (a lock
        // let go of is no event).
        assert!(
            said.contains("it tries to take the lock again in 1s"),
            "{said}"
        );
        let status = svc.control("status");
        assert!(status.status.success(), "{}", text(&status));
        let socket = svc.control_dir().join("echo_server.sock");
        if socket_too {
            std::fs::remove_file(&socket).unwrap();
            let said = svc.output.wait_for(&format!(
                "the control socket {} was removed and cannot be made again: ",
                socket.display()
            ));
            assert!(said.contains("can be reached by signals only"), "{said}");
        }
        drop(held);
        svc.output.wait_for(&match socket_too {
            false => format!(
                "the lock file {} had been removed; made it again",
                path.display()
            ),
            true => format!(
                "the control socket {} was removed; made it again",
                socket.display()
            ),
        });
        let status = svc.control("status");
        assert!(status.status.success(), "{}", text(&status));
        svc.stop_expecting(0);
    }
}

/// Takes `path` (a control socket's) with another file, in one step (put
/// beside it, then renamed over it): a plain file, or a `dangling` link.
fn take_path(path: &std::path::Path, dangling: bool) {
    let aside = path.with_file_name("aside");
    match dangling {
        false => std::fs::write(&aside, "not a socket").unwrap(),
        true => std::os::unix::fs::symlink(path.with_file_name("nowhere"), &aside).unwrap(),
    }
    std::fs::rename(&aside, path).unwrap();
}

/// `first` makes its files again, answers `status` as itself, and stops.
fn comes_back(first: &mut Service) {
    first.output.wait_for("was removed; made it again");
    let status = first.control("status");
    assert!(status.status.success(), "{}", text(&status));
    let pid = format!("supervisor pid {}", first.pid());
    assert!(text(&status).contains(&pid), "{}", text(&status));
    first.stop_expecting(0);
}

#[test]
fn a_supervisor_whose_path_was_taken_comes_back_once_it_is_free() {
    // A second start took the removed path before the first could make
    // its files again; once that second one stops, the first makes them.
    let (mut first, mut second, _) = path_taken_by_a_second(tests::remove_folder);
    let stop = second
        .command(ECHO)
        .arg("-littleboss=stop")
        .output_in_time();
    assert!(stop.status.success(), "{}", text(&stop));
    assert_eq!(second.wait_exit().code(), Some(0));
    comes_back(&mut first);
}

#[test]
fn a_supervisor_whose_path_was_taken_comes_back_once_its_taker_dies() {
    // The second dies without freeing the path (its files stay behind):
    // no event tells the first, which tries again every so often.
    let (mut first, mut second, _) = path_taken_by_a_second(tests::remove_folder);
    second.signal(nix::sys::signal::Signal::SIGKILL);
    second.wait_exit();
    comes_back(&mut first);
}

#[test]
fn a_relative_control_folder_is_refused_but_bypass_needs_none() {
    let svc = Service::new(ECHO);
    for mode in ["start", "status", "stop", "reload"] {
        let out = svc
            .command(ECHO)
            .current_dir(svc.dir.path())
            .env("LITTLEBOSS_DIR", "run")
            .arg(format!("-littleboss={mode}"))
            .output_in_time();
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", text(&out));
        assert!(
            text(&out).contains("LITTLEBOSS_DIR=`run` is not an absolute path"),
            "{mode}: {}",
            text(&out)
        );
    }
    assert!(!svc.dir.path().join("run").exists(), "a folder was made");
    // Bypass mode has no control folder: it runs.
    let mut bypass = Service::new(ECHO);
    let mut cmd = bypass.command(ECHO);
    cmd.current_dir(svc.dir.path()).env("LITTLEBOSS_DIR", "run");
    bypass.spawn(cmd);
    bypass.printed_addr("addr");
    bypass.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(
        bypass.wait_exit().code(),
        Some(0),
        "{}",
        bypass.output.text()
    );
    // A relative XDG_RUNTIME_DIR is ignored, as the XDG rules say: the
    // control folder is under TMPDIR.
    let tmp = svc.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = svc
        .command(ECHO)
        .current_dir(svc.dir.path())
        .env_remove("LITTLEBOSS_DIR")
        .env("XDG_RUNTIME_DIR", "xdg")
        .env("TMPDIR", &tmp)
        .arg("-littleboss=status")
        .output_in_time();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let uid = nix::unistd::geteuid();
    let expected = tmp.join(format!("littleboss-{uid}/echo_server.sock"));
    assert!(
        text(&out).contains(&expected.display().to_string()),
        "{}",
        text(&out)
    );
}

#[test]
fn a_system_service_whose_control_folder_is_the_tmp_fallback_is_told_so() {
    // systemd sets INVOCATION_ID; a system service has no XDG_RUNTIME_DIR,
    // and its /tmp may be private: the commands from a shell would not
    // find the socket, so the supervisor says how to share a folder.
    let mut svc = Service::new(ECHO);
    let tmp = svc.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let as_a_system_service =
        |cmd: &mut std::process::Command| tests::as_a_system_service(cmd, &tmp);
    let mut cmd = svc.command(ECHO);
    as_a_system_service(&mut cmd);
    cmd.arg("-littleboss=start");
    svc.spawn(cmd);
    let folder = tmp.join(format!("littleboss-{}", nix::unistd::geteuid()));
    svc.output.wait_for(&format!(
        "note: the control folder is {}, the fallback with neither LITTLEBOSS_DIR nor XDG_RUNTIME_DIR set; ",
        folder.display()
    ));
    let out = svc.output.wait_for("Environment=LITTLEBOSS_DIR=%t/NAME");
    // Private, as the control folder must be (systemd's default is 0755).
    assert!(
        out.contains(
            "give both the same LITTLEBOSS_DIR (RuntimeDirectory=NAME, RuntimeDirectoryMode=0700, "
        ),
        "{out}"
    );
    // The note comes before the control socket listens: stopped once
    // its child is ready (a stop sent between found it refusing).
    svc.ready();
    let mut stop = svc.command(ECHO);
    as_a_system_service(&mut stop);
    let out = stop.arg("-littleboss=stop").output_in_time();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    svc.wait_exit();
}

#[test]
fn a_supervisor_started_with_another_control_folder_is_found_and_named() {
    // Started from cron (no XDG_RUNTIME_DIR: the folder is under TMPDIR),
    // asked about from a login shell (XDG_RUNTIME_DIR set): it runs, and
    // the commands say where, rather than "not running".
    let mut svc = Service::new(ECHO);
    let tmp = svc.dir.path().join("tmp");
    let xdg = svc.dir.path().join("xdg");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::create_dir(&xdg).unwrap();
    let from_cron = |cmd: &mut std::process::Command| {
        cmd.env_remove("LITTLEBOSS_DIR")
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", &tmp);
    };
    let mut cmd = svc.command(ECHO);
    from_cron(&mut cmd);
    cmd.arg("-littleboss=start");
    svc.spawn(cmd);
    svc.ready();
    // Not started by a service manager: no note of the fallback.
    assert!(!svc.output.text().contains("the fallback with neither"));
    let uid = nix::unistd::geteuid();
    let folder = tmp.join(format!("littleboss-{uid}"));
    let from_shell = |mode: &str| {
        let mut cmd = svc.command(ECHO);
        cmd.env_remove("LITTLEBOSS_DIR")
            .env("XDG_RUNTIME_DIR", &xdg)
            .env("TMPDIR", &tmp)
            .arg(format!("-littleboss={mode}"));
        cmd
    };
    let out = from_shell("status").output_in_time();
    let socket = folder.join("echo_server.sock");
    let says = format!(
        "but one answers at {}, another control folder (it was started with other LITTLEBOSS_DIR, XDG_RUNTIME_DIR or TMPDIR); run this with LITTLEBOSS_DIR={}",
        socket.display(),
        folder.display()
    );
    exits_saying(&out, 4, &says);
    // A start from there says it runs a second one.
    let mut second = Service::new(ECHO);
    second.spawn(from_shell("start"));
    let note = format!(
        "note: another supervisor of `echo_server` answers at {}",
        socket.display()
    );
    second.output.wait_for(&note);
    second.signal(nix::sys::signal::Signal::SIGTERM);
    second.wait_exit();
    let mut stop = svc.command(ECHO);
    from_cron(&mut stop);
    let out = stop.arg("-littleboss=stop").output_in_time();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    svc.wait_exit();
}

#[test]
fn a_second_start_fails_while_the_first_runs() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    let second = svc.control("start");
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!(
            "`echo_server` is already running (pid {})",
            svc.pid()
        )),
        "{err}"
    );
    // The first is untouched.
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    assert!(svc.control("status").status.success());
}

#[test]
fn a_supervisor_whose_control_socket_was_removed_is_named_with_what_still_reaches_it() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let pid = svc.pid();
    // As a cleaner of old files in /tmp might; the supervisor, stopped,
    // cannot make it again yet.
    svc.freeze();
    std::fs::remove_file(svc.control_dir().join("echo_server.sock")).unwrap();
    let gone = "control socket";
    let kill = format!("`kill -HUP {pid}` reloads it, `kill -TERM {pid}` stops it gracefully");
    for mode in ["status", "stop"] {
        let out = svc.control(mode);
        assert_eq!(out.status.code(), Some(4), "{mode}: running, unreachable");
        let err = String::from_utf8_lossy(&out.stderr);
        let runs = format!("`echo_server` runs (supervisor pid {pid}), but its {gone} ");
        assert!(err.contains(&runs), "{mode}: {err}");
        assert!(err.contains(&kill), "{mode}: {err}");
    }
    let second = svc.control("start");
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    let running = format!("`echo_server` is already running (pid {pid}), but its {gone} ");
    assert!(err.contains(&running), "{err}");
    assert!(err.contains(&kill), "{err}");
    // A dead socket in its place (an older supervisor's, say): the lock
    // still says who runs.
    drop(
        std::os::unix::net::UnixListener::bind(svc.control_dir().join("echo_server.sock")).unwrap(),
    );
    let out = svc.control("status");
    let refuses = format!("`echo_server` runs (supervisor pid {pid}), but its control socket ");
    exits_saying(&out, 4, &refuses);
    assert!(text(&out).contains("refuses connections"), "{}", text(&out));
    // Running again, it replaces the dead socket with its own.
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    svc.output.wait_for("was removed; made it again");
    let out = svc.control("status");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("supervisor pid {pid}")));
    // Untouched, and the signal it names stops it gracefully.
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
}

#[test]
fn control_commands_keep_their_exit_codes_when_their_reader_is_gone() {
    // `status | head -0`, `stop 2>&1 | head -n1` under `set -o pipefail`:
    // a write to a pipe nobody reads must not turn the command's own exit
    // code (a stop's: the child's) into a panic's 101.
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    svc.ready();
    let unread = |mode: &str, out: bool| {
        let mut cmd = svc.command(ECHO);
        cmd.arg(format!("-littleboss={mode}"));
        let (stdout, stderr) = match out {
            true => (std::process::Stdio::piped(), std::process::Stdio::null()),
            false => (std::process::Stdio::null(), std::process::Stdio::piped()),
        };
        let mut child = cmd.stdout(stdout).stderr(stderr).spawn().unwrap();
        // The reader goes before the command has anything to say.
        drop((child.stdout.take(), child.stderr.take()));
        tests::KilledOnDrop(child).wait().unwrap()
    };
    assert_eq!(unread("status", true).code(), Some(0));
    assert_eq!(unread("reload", false).code(), Some(0));
    let help = svc
        .command(ECHO)
        .arg("-h")
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut help = help.unwrap();
    drop(help.stdout.take());
    assert_eq!(tests::KilledOnDrop(help).wait().unwrap().code(), Some(0));
    assert_eq!(unread("stop", false).code(), Some(0));
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn a_supervisor_makes_its_removed_control_folder_again() {
    // As `rm -rf` of the folder, or a cleaner that does not honour its
    // lock, does: the running supervisor makes the folder, its lock file
    // and its socket again, so the commands reach it, and a second
    // `start` does not run a second supervisor.
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let pid = svc.pid();
    let dir = svc.control_dir();
    for round in 0..2 {
        tests::remove_folder(&dir);
        let status = tests::eventually("status answers again", || {
            let out = svc.control("status");
            out.status.success().then_some(out)
        });
        let runs = format!("supervisor pid {pid}");
        assert!(
            text(&status).contains(&runs),
            "round {round}: {}",
            text(&status)
        );
        let second = svc.control("start");
        let running = format!("`echo_server` is already running (pid {pid})");
        exits_saying(&second, 1, &running);
    }
    // The supervisor's lines are written off its loop: the second may
    // come a moment after `status` answers.
    let remade = |out: &str| out.matches("was removed; made it again").count();
    tests::eventually("both remakes to be said", || {
        (remade(&svc.output.text()) >= 2).then_some(())
    });
    svc.reload_ok();
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.stop_expecting(0);
    // Said once per removal: counted once all its output is in.
    let out = svc.output.text();
    assert_eq!(remade(&out), 2, "{out}");
    // Nothing left behind, the lock file included.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_cleaner_of_old_files_leaves_a_running_supervisors_folder_alone() {
    // systemd-tmpfiles ages out old files of /tmp (10 days on Debian),
    // here told that 1 s is old.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("systemd-tmpfiles"))
        .find(|bin| bin.exists());
    let Some(tmpfiles) = found else {
        // .ci/run installs it, or warns that this test is skipped.
        tests::skipped("no systemd-tmpfiles (apt-get install systemd)");
        return;
    };
    let tmpfiles = tmpfiles.as_path();
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let dir = svc.dir.path().to_owned();
    let stray = dir.join("stray");
    std::fs::write(&stray, "old").unwrap();
    let rules = dir.join("clean.conf");
    std::fs::write(&rules, format!("e {} - - - 1s\n", dir.display())).unwrap();
    // Until the cleaner, run again and again, finds the stray file old: it
    // ran with everything else old too.
    tests::eventually("the cleaner to remove an old file", || {
        let ran = std::process::Command::new(tmpfiles)
            .arg("--clean")
            .arg(&rules)
            .status()
            .unwrap();
        assert!(ran.success());
        (!stray.exists()).then_some(())
    });
    let control = svc.control_dir();
    for file in ["echo_server.sock", "echo_server.lock"] {
        assert!(control.join(file).exists(), "{file} was cleaned away");
    }
    assert!(svc.control("status").status.success());
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.stop_expecting(0);
}

#[test]
fn a_supervisor_started_during_a_clean_locks_its_folder_once_the_cleaner_is_done() {
    use nix::fcntl::{Flock, FlockArg};
    let mut svc = Service::new(ECHO);
    let control = svc.make_control_dir();
    let exclusive = || {
        let folder = std::fs::File::open(&control).unwrap();
        Flock::lock(folder, FlockArg::LockExclusiveNonblock).ok()
    };
    // systemd-tmpfiles holds the folder's exclusive lock while it cleans,
    // here for as long as the start takes.
    let cleaner = exclusive().unwrap();
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    assert_eq!(echo(addr, "during").unwrap(), "during\n");
    drop(cleaner);
    tests::eventually("the supervisor to hold the folder's shared lock", || {
        exclusive().is_none().then_some(())
    });
    svc.stop_expecting(0);
}

#[test]
fn control_commands_without_a_supervisor_say_so() {
    let svc = Service::new(ECHO);
    for mode in ["reload", "stop", "status"] {
        let out = svc.control(mode);
        assert_eq!(out.status.code(), Some(3), "{mode}: not running");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("`echo_server` is not running (no supervisor at "),
            "{mode}: {err}"
        );
    }
    // `status --json` prints an object whatever happens: a script piping
    // it into `jq` must not read nothing and carry on.
    let out = svc.control_with(ECHO, "status", &["--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(object["name"], "echo_server", "{object}");
    assert_eq!(object["exit_code"], 3, "{object}");
    let error = object["error"].as_str().unwrap();
    assert!(
        error.contains("is not running (no supervisor at "),
        "{error}"
    );
    // So does a usage mistake beside it (exit 2), and a relative folder.
    let usage = |out: &std::process::Output, says: &str| {
        assert_eq!(out.status.code(), Some(2), "{}", text(out));
        let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(object["exit_code"], 2, "{object}");
        let error = object["error"].as_str().unwrap();
        assert!(error.contains(says), "{error}");
    };
    let out = svc.control_with(ECHO, "status", &["--json", "-addr=bogus"]);
    usage(&out, "-addr: ");
    let mut cmd = svc.command(ECHO);
    // In the test's folder: a broken check would make `run` there, not in
    // the crate's, which every test shares.
    let out = cmd
        .current_dir(svc.dir.path())
        .env("LITTLEBOSS_DIR", "run")
        .args(["-littleboss=status", "--json"])
        .output_in_time();
    usage(&out, "LITTLEBOSS_DIR=`run` is not an absolute path");
    // A mode in the wrong case is a mistake too, told in JSON.
    let out = (svc.command(ECHO))
        .args(["-littleboss=STATUS", "--json"])
        .output_in_time();
    usage(&out, "did you mean `status`");
    // A misspelt `--json` is a mistake, not text instead of JSON.
    for typo in ["--jsno", "--JSON", "--json=true"] {
        let out = svc.control_with(ECHO, "status", &[typo]);
        exits_saying(&out, 2, &format!("`{typo}` looks like a misspelt --json"));
        assert!(out.stdout.is_empty(), "{typo}: {}", text(&out));
    }
    // Among the program's own options (an init script passing them to
    // every command), it is theirs.
    let out = svc.control_with(ECHO, "status", &["--jsonl", "-v"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // A file that is no socket where the socket goes: named.
    let dir = svc.make_control_dir();
    std::fs::write(dir.join("echo_server.sock"), "").unwrap();
    let out = svc.control("status");
    exits_saying(&out, 3, "echo_server.sock is not a socket)");
}

#[test]
fn status_gives_up_in_time_on_a_supervisor_that_never_finishes_answering() {
    use std::io::Write;
    let svc = Service::new(ECHO);
    let dir = svc.make_control_dir();
    // Standing in for a supervisor gone wrong: it answers with progress
    // notes (of a kind this build passes over) and never a final answer.
    let listener = std::os::unix::net::UnixListener::bind(dir.join("echo_server.sock")).unwrap();
    let dripping = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for _ in 0..100 {
            let note = b"{\"v\":1,\"final\":false,\"type\":\"warming\"}\n";
            if conn.write_all(note).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    let out = svc
        .command(ECHO)
        .env("LITTLEBOSS_TEST_STATUS_PATIENCE_MS", "1000")
        .arg("-littleboss=status")
        .output_in_time();
    // The stand-in is this test's process.
    let said = format!(
        "the supervisor (pid {}) did not answer in time",
        std::process::id()
    );
    exits_saying(&out, 4, &said);
    dripping.join().unwrap();
}

#[test]
fn status_of_a_supervisor_that_does_not_answer_says_it_cannot_tell() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    svc.ready();
    // Stopped as by a debugger: the connection is queued, never answered.
    // (Waited for 1 s, not the 10 s a user's `status` waits.)
    svc.freeze();
    let out = svc
        .command(ECHO)
        .env("LITTLEBOSS_TEST_STATUS_PATIENCE_MS", "1000")
        .arg("-littleboss=status")
        .output_in_time();
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    // Named, with what that may mean: a supervisor still in its
    // `supervisor_init` looks the same from here.
    let said = format!(
        "the supervisor (pid {}) did not answer in time: it may be starting (its `supervisor_init` still running), stopped",
        svc.pid()
    );
    exits_saying(&out, 4, &said);
    svc.stop_expecting(0);
}

/// A unix socket at `path` standing in for a program that stopped
/// accepting long ago: its queue of connections is full, so that a
/// blocking connect would wait for ever. Dropped, it is gone.
fn stuck_socket(path: &std::path::Path) -> Vec<std::os::fd::OwnedFd> {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
    };
    use std::os::fd::AsRawFd;
    let address = UnixAddr::new(path).unwrap();
    let stream = |flags| socket(AddressFamily::Unix, SockType::Stream, flags, None).unwrap();
    let stuck = stream(SockFlag::SOCK_CLOEXEC);
    bind(stuck.as_raw_fd(), &address).unwrap();
    listen(&stuck, Backlog::new(0).unwrap()).unwrap();
    let mut held = vec![stuck];
    loop {
        let fd = stream(SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK);
        match connect(fd.as_raw_fd(), &address) {
            Ok(()) => held.push(fd),
            Err(nix::errno::Errno::EAGAIN) => return held,
            Err(e) => panic!("connect: {e}"),
        }
    }
}

#[test]
fn a_supervisor_whose_queue_is_full_is_told_apart_without_hanging() {
    let svc = Service::new(ECHO);
    let dir = svc.make_control_dir();
    let _stuck = stuck_socket(&dir.join("echo_server.sock"));
    let out = svc
        .command(ECHO)
        .env("LITTLEBOSS_TEST_STATUS_PATIENCE_MS", "1000")
        .arg("-littleboss=status")
        .output_in_time();
    exits_saying(&out, 4, "stayed full");
    // A start finds it there, listening: running already.
    let out = svc.command(ECHO).arg("-littleboss=start").output_in_time();
    exits_saying(&out, 1, "is already running");
    // So does a unix listener's bind, at a path a stuck program holds.
    let path = svc.dir.path().join("held.sock");
    let _held = stuck_socket(&path);
    let unix = env!("CARGO_BIN_EXE_unix_server");
    let out = svc
        .command(unix)
        .arg(format!("-sock={}", path.display()))
        .output_in_time();
    exits_saying(&out, 1, "in use by a running program");
}

#[test]
fn a_control_folder_others_can_enter_is_refused_by_the_client_too() {
    use std::os::unix::fs::PermissionsExt;
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    svc.ready();
    let dir = svc.control_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = svc.control("status");
    assert_eq!(out.status.code(), Some(4), "cannot tell");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has mode 755; it must be private"), "{err}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(svc.control("status").status.success());
}

/// The names in `dir`, sorted.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_clean_stop_leaves_the_control_folder_empty() {
    let mut svc = Service::new(ECHO);
    let dir = svc.control_dir();
    for round in 1..=2 {
        svc.start(&[]);
        svc.output.wait_for_count("addr=", round);
        // This round's child ready (`ready()` would find round 1's line).
        svc.output.wait_for_count(" is ready", round);
        assert_eq!(entries(&dir), ["echo_server.lock", "echo_server.sock"]);
        svc.stop_expecting(0);
        // Neither the control socket nor the lock file stays behind, and
        // the next start (round 2) takes the service over as before.
        assert_eq!(entries(&dir), Vec::<String>::new(), "round {round}");
    }
}

#[test]
fn two_starts_racing_over_a_stale_socket_leave_exactly_one_controllable() {
    use std::process::Stdio;
    // A program without listeners: its stops wait no grace, and the race
    // is over the control socket and the lock alone.
    const BIN: &str = env!("CARGO_BIN_EXE_exit_code");
    for _ in 0..30 {
        let svc = Service::new(BIN);
        let dir = svc.make_control_dir();
        // A socket file left by a dead supervisor.
        drop(std::os::unix::net::UnixListener::bind(dir.join("exit_code.sock")).unwrap());
        let start = || {
            svc.command(BIN)
                .arg("-littleboss=start")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut both = [start(), start()].map(tests::KilledOnDrop);
        // Exactly one gives up, saying why; the other serves and answers.
        let (loser, code) = tests::eventually("one start to give up", || {
            both.iter_mut()
                .enumerate()
                .find_map(|(i, c)| c.0.try_wait().unwrap().map(|s| (i, s.code())))
        });
        assert_eq!(code, Some(1));
        let mut err = String::new();
        std::io::Read::read_to_string(both[loser].0.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(err.contains("`exit_code` is already running"), "{err}");
        // The loser may give up before the winner has bound its socket.
        tests::eventually("the winner to answer", || {
            svc.control("status").status.success().then_some(())
        });
        let stop = svc.control("stop");
        let out = both[1 - loser].output();
        assert_eq!(
            stop.status.code(),
            Some(0),
            "{}\n{}",
            text(&stop),
            text(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(entries(&dir), Vec::<String>::new());
    }
}

#[test]
fn a_stop_before_main_takes_its_listener_does_not_take_it_away() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_late_listener"));
    svc.start(&[]);
    svc.output.wait_for("warming up");
    svc.ready();
    svc.stop_expecting(0);
    assert!(svc.output.text().contains("took addr=127.0.0.1:"));
}

#[test]
fn once_a_stop_begins_new_connections_are_refused_at_once() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_stop"));
    // The child finishes once the test has looked (its gate removed).
    let gate = svc.start_gated("FINISH_GATE", &[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    assert_eq!(tests::read_greeting(addr).unwrap(), "hello\n");
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let child = status["child"]["pid"].as_i64().expect("a child pid") as i32;
    let stop = svc.spawn_control(&svc.bin, "stop");
    svc.output.wait_for("finishing");
    // While the child finishes its work, a new client is refused, not
    // queued to hang until the exit resets it.
    tests::eventually(
        "new connections refused",
        || match std::net::TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(()),
            _ => None,
        },
    );
    assert!(
        tests::alive(child),
        "refused while the child still finishes: {}",
        svc.output.text()
    );
    // `status` says the supervisor is stopping, and which child it waits
    // for, and for how long at most.
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["stopping"], true, "{status}");
    assert_eq!(status["draining"][0]["pid"], child, "{status}");
    let kill_in = status["draining"][0]["kill_in_ms"].as_u64().unwrap();
    assert!(kill_in <= 10_000, "{status}");
    let shown = text(&svc.control_with(&svc.bin, "status", &[]));
    assert!(shown.contains(", stopping\n"), "{shown}");
    assert!(
        shown.contains(&format!("draining   pid {child}, ")),
        "{shown}"
    );
    // A reload asked now is put off, nothing tried: 4, not 1 (a reload
    // that failed).
    let reload = svc.control_with(&svc.bin, "reload", &[]);
    assert_eq!(reload.status.code(), Some(4), "{}", text(&reload));
    assert!(
        text(&reload).contains("refused: the supervisor is stopping; nothing was tried"),
        "{}",
        text(&reload)
    );
    std::fs::remove_file(&gate).unwrap();
    let stop = stop.wait_with_output().unwrap();
    assert!(stop.status.success(), "{}", text(&stop));
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn a_control_folder_too_deep_for_a_socket_is_refused_before_anything_is_made() {
    let svc = Service::new(ECHO);
    let deep = svc.dir.path().join("d".repeat(120));
    for mode in ["start", "status", "stop", "reload"] {
        let out = svc
            .command(&svc.bin)
            .env("LITTLEBOSS_DIR", &deep)
            .arg(format!("-littleboss={mode}"))
            .output_in_time();
        // A usage mistake, as a relative folder is: no supervisor can run
        // there, so none is "not running" or "cannot tell".
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", text(&out));
        assert!(
            text(&out).contains("more than the 107 a unix socket address holds"),
            "{mode}: {}",
            text(&out)
        );
        assert!(!deep.exists(), "{mode} made the folder it cannot use");
    }
    let out = svc
        .command(&svc.bin)
        .env("LITTLEBOSS_DIR", &deep)
        .args(["-littleboss=status", "--json"])
        .output_in_time();
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(object["exit_code"], 2, "{object}");
}

#[test]
fn a_second_mode_flag_is_refused_and_nothing_is_stopped() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let out = svc
        .command(&svc.bin)
        .args(["-littleboss=status", "-littleboss=stop"])
        .output_in_time();
    exits_saying(
        &out,
        2,
        "-littleboss given twice, as `status` and as `stop`",
    );
    assert_eq!(echo(addr, "still here").unwrap(), "still here\n");
    svc.stop_expecting(0);
}

#[test]
fn a_command_asked_for_help_answers_it_and_leaves_the_service_alone() {
    // The program answers its own help: a control command's must not
    // reach it (nor the supervisor).
    let mut svc = Service::new(env!("CARGO_BIN_EXE_own_help"));
    svc.start(&[]);
    svc.ready();
    let child = svc.output.wait_for("serving on");
    for mode in ["stop", "status"] {
        for ask in ["--help", "-h"] {
            let out = svc.control_with(&svc.bin, mode, &[ask]);
            assert_eq!(out.status.code(), Some(0), "{mode} {ask}: {}", text(&out));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("-littleboss=MODE"),
                "{mode} {ask}: {stdout}"
            );
        }
    }
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["reloads"], 0, "{status}");
    assert_eq!(
        svc.output.text().matches("serving on").count(),
        1,
        "{child}"
    );
    // `--help` or `--version` for a reload: a new child would answer it
    // and exit, in the serving one's place. Refused; the child serves on.
    for ask in ["--help", "--version"] {
        let reload = svc.control_with(&svc.bin, "reload", &[ask]);
        assert_eq!(reload.status.code(), Some(2), "{ask}: {}", text(&reload));
        let err = String::from_utf8_lossy(&reload.stderr);
        assert!(
            err.contains(&format!("`{ask}` asks the program itself, which as a supervised child would answer it and exit rather than serve: run `")),
            "{err}"
        );
        assert!(
            err.contains(&format!("own_help {ask}` without -littleboss=reload")),
            "{err}"
        );
    }
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["reloads"], 0, "{status}");
    // A reload's arguments are the program's: its `-h` is no help to it.
    let reload = svc.control_with(&svc.bin, "reload", &["-h"]);
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for_count("serving on", 2);
    svc.stop_expecting(0);
}

#[test]
fn a_start_asked_for_the_programs_version_is_refused_and_starts_nothing() {
    // The program would print its version as a child and exit: no start.
    let svc = Service::new(env!("CARGO_BIN_EXE_own_help"));
    let out = (svc.command(&svc.bin))
        .args(["-littleboss=start", "--version"])
        .output_in_time();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`--version` asks the program itself")
            && err.contains("without -littleboss=start"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let status = svc.control("status");
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));
    // Run directly, it answers.
    let out = tests::command(&svc.bin).arg("--version").output_in_time();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "own_help 1.0\n");
}

#[test]
fn a_flag_mistake_points_to_help_that_is_littlebosss() {
    // The program answers `-h` itself: the hint names a command that
    // shows littleboss's flags, not one that runs the program.
    let svc = Service::new(env!("CARGO_BIN_EXE_own_help"));
    let out = svc.control_with(&svc.bin, "bogus", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    let hint = format!(
        "Run `{} -littleboss=status -h` for littleboss's flags.",
        svc.bin.display()
    );
    assert!(said.contains(&hint), "{said}");
    let help = svc.control_with(&svc.bin, "status", &["-h"]);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help));
    assert!(String::from_utf8_lossy(&help.stdout).contains("-littleboss=MODE"));
    // With littleboss's help on, `-h` is it.
    let echo = Service::new(ECHO);
    let out = echo.control_with(&echo.bin, "bogus", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("Run `{} -h` for help.", echo.bin.display())),
        "{said}"
    );
}

#[test]
fn a_supervisor_whose_folder_could_not_be_made_again_tries_until_it_can() {
    // A parent of the control folder gone (`/run/user/UID` at logout) and
    // a file in its place: the folder can be neither made nor watched.
    let base = tempfile::tempdir().unwrap();
    let parent = base.path().join("parent");
    let mut svc = Service::sharing(ECHO, &parent.join("control"));
    svc.start(&[]).ready();
    // Stopped, so that the file is in place before it looks.
    svc.freeze();
    std::fs::remove_dir_all(&parent).unwrap();
    std::fs::write(&parent, "not a folder").unwrap();
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    let said = svc.output.wait_for("cannot be made again");
    assert!(said.contains("until it can be made"), "{said}");
    // Meanwhile the commands cannot tell.
    let status = svc.control("status");
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    // The way clear again (the user back): it comes back on its own.
    std::fs::remove_file(&parent).unwrap();
    svc.output.wait_for("was removed; made it again");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    let pid = format!("supervisor pid {}", svc.pid());
    assert!(text(&status).contains(&pid), "{}", text(&status));
    svc.stop_expecting(0);
}

#[test]
fn a_service_dropped_mid_test_leaves_no_child_running() {
    // The harness itself: a test that fails with its service up must not
    // leave the child running its lameduck timeout (a minute here) out.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn"));
    svc.start(&[]);
    let child: u32 = svc.printed("started pid");
    let strays = tests::Strays::of([child]);
    assert!(strays.runs(child), "the child taken while it runs");
    drop(svc);
    tests::eventually_within(
        "the child gone with its service",
        std::time::Duration::from_secs(10),
        || (!strays.runs(child)).then_some(()),
    );
}

#[test]
fn a_service_dropped_after_its_supervisor_was_killed_leaves_no_orphan_running() {
    // The harness again: a test that SIGKILLed the supervisor and then
    // failed leaves the orphaned child to the drop, which finds it by the
    // variable every command of the service's sets.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_stubborn"));
    svc.start(&[]);
    let child: u32 = svc.printed("started pid");
    let strays = tests::Strays::of([child]);
    svc.signal(nix::sys::signal::Signal::SIGKILL);
    svc.wait_supervisor_exit();
    assert!(
        strays.runs(child),
        "the orphan should outlive its supervisor"
    );
    drop(svc);
    tests::eventually_within(
        "the orphan gone with its service",
        std::time::Duration::from_secs(10),
        || (!strays.runs(child)).then_some(()),
    );
}

#[test]
fn a_request_read_as_the_supervisor_exits_gets_an_answer() {
    use std::io::{BufRead, Write};
    // Connected before the stop, asking as the supervisor is on its way
    // out (a second `stop`, a monitor's `status`): answered, not met by
    // the close, which `stop` reads as "no answer" (exit 4).
    let mut svc = Service::new(ECHO);
    // It lingers on its way out until both are answered, however loaded
    // the machine.
    let gate = svc.start_gated("LITTLEBOSS_TEST_EXIT_GATE", &[]);
    svc.ready();
    let socket = svc.control_dir().join("echo_server.sock");
    let connect = || {
        let conn = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        conn
    };
    let (mut second_stop, mut status) = (connect(), connect());
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    // Both asked before either answer is read: the two round trips need
    // not fit one after the other in the pause.
    let ask = |conn: &mut std::os::unix::net::UnixStream, cmd: &str| {
        conn.write_all(format!("{{\"v\":1,\"cmd\":\"{cmd}\"}}\n").as_bytes())
            .unwrap();
    };
    let answer = |conn: &mut std::os::unix::net::UnixStream| {
        let mut line = String::new();
        std::io::BufReader::new(conn).read_line(&mut line).unwrap();
        line
    };
    ask(&mut second_stop, "stop");
    ask(&mut status, "status");
    let stopped = answer(&mut second_stop);
    assert!(stopped.contains(r#""type":"stopped""#), "{stopped}");
    assert!(stopped.contains(r#""exit_code":0"#), "{stopped}");
    // Its last status: stopping, no child left (not an error, which
    // `status` exits 4 for: "cannot tell").
    let told = answer(&mut status);
    assert!(told.contains(r#""type":"status""#), "{told}");
    assert!(told.contains(r#""stopping":true"#), "{told}");
    assert!(told.contains(r#""child":null"#), "{told}");
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(svc.wait_supervisor_exit().code(), Some(0));
}

#[test]
fn a_service_with_its_own_mode_flag_is_driven_by_it_alone() {
    let bin = env!("CARGO_BIN_EXE_custom_flag");
    let mut svc = Service::new(bin);
    let mut start = svc.command(bin);
    start.args(["-service=start", "kept"]);
    svc.spawn(start);
    svc.ready();
    let first: u32 = svc.printed("serving pid");
    let run = |args: &[&str]| svc.command(bin).args(args).output_in_time();
    // The mode flag is `-service`: status and reload go through it.
    let status = run(&["-service=status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(
        text(&status).contains("littleboss: customflag"),
        "{}",
        text(&status)
    );
    let reload = run(&["-service=reload"]);
    assert_eq!(reload.status.code(), Some(0), "{}", text(&reload));
    // The new child has the first one's arguments, read with that flag.
    svc.output.wait_until("the new child", |t| {
        t.lines().any(|l| {
            l.starts_with("serving pid=") && !l.starts_with(&format!("serving pid={first} "))
        })
    });
    assert!(
        svc.output
            .text()
            .lines()
            .filter(|l| l.starts_with("serving pid="))
            .all(|l| l.ends_with(" args=kept")),
        "{}",
        svc.output.text()
    );
    // `-littleboss=...` is the program's own argument here.
    let theirs = run(&["-littleboss=status", "--once"]);
    assert_eq!(theirs.status.code(), Some(0), "{}", text(&theirs));
    assert!(
        String::from_utf8_lossy(&theirs.stdout).contains("args=-littleboss=status --once"),
        "{}",
        text(&theirs)
    );
    // Help names the flag.
    let help = run(&["-h"]);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help));
    assert!(text(&help).contains("-service=MODE"), "{}", text(&help));
    let stop = run(&["-service=stop"]);
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn a_start_under_a_strict_umask_leaves_a_folder_and_lock_later_starts_can_use() {
    // umask 0277 (a hardened shell's): the folder littleboss makes is
    // 0700 all the same, and the lock file it leaves when killed (0400)
    // is opened by the next start under the usual umask. (Root, which
    // CI runs these as, opens whatever the modes: they are checked as
    // such, and the lock's read-only open as an owner's is by reading.)
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let mut svc = Service::new(ECHO);
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("-littleboss=start");
    // SAFETY: between fork and exec, `umask` is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o277));
            Ok(())
        });
    }
    svc.spawn(cmd);
    svc.ready();
    let dir = svc.control_dir();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", svc.output.text());
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let child = status["child"]["pid"].as_i64().expect("a child pid") as i32;
    svc.signal(nix::sys::signal::Signal::SIGKILL);
    svc.wait_supervisor_exit();
    tests::wait_dead("the child of the supervisor killed", child);
    let lock = std::fs::metadata(dir.join("echo_server.lock")).unwrap();
    assert_eq!(lock.permissions().mode() & 0o777, 0o400);
    svc.start(&[]);
    // The second child's (the output runs on from the first start's).
    svc.output.wait_for_count(" is ready\n", 2);
    svc.stop_expecting(0);
}

#[test]
fn a_stop_with_its_own_mode_flag_cut_short_names_that_flag_for_the_status() {
    // `see -littleboss=status` would run this program unsupervised.
    let bin = env!("CARGO_BIN_EXE_custom_flag");
    let mut svc = Service::new(bin);
    let mut start = svc.command(bin);
    start.arg("-service=start");
    svc.spawn(start);
    svc.ready();
    svc.freeze();
    let mut stop = svc.command(bin);
    stop.arg("-service=stop")
        .stderr(std::process::Stdio::piped());
    let mut stop = tests::KilledOnDrop(stop.spawn().unwrap());
    let said = stop.said();
    let command = stop.0.id();
    let int = 1 << (nix::libc::SIGINT - 1);
    tests::eventually("the command reads its signals", || {
        let masks = tests::procfs::thread_signal_masks(command);
        masks.iter().any(|m| m.caught & int != 0).then_some(())
    });
    let pid = nix::unistd::Pid::from_raw(command as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let ended = stop.wait().unwrap();
    let said = said.wait_closed();
    svc.signal(nix::sys::signal::Signal::SIGCONT);
    assert_eq!(
        tests::died_of(ended),
        Some(nix::sys::signal::Signal::SIGINT),
        "{said}"
    );
    assert!(
        said.contains("stop of customflag ended here unanswered"),
        "{said}"
    );
    assert!(said.contains("(see -service=status)"), "{said}");
    assert!(!said.contains("-littleboss"), "{said}");
}

#[test]
fn a_control_folder_renamed_from_above_is_made_again_at_its_path() {
    // `LITTLEBOSS_DIR=BASE/app/run`, then a deploy's swap, `mv BASE/app
    // BASE/app.old` and a new `BASE/app` (or a link pointed elsewhere): no
    // event on the folder watched; the supervisor's next look at the path
    // (every 30 s, 200 ms here) makes its files again there, so the
    // commands still reach it rather than find "not running". (A look
    // makes no folder above the control folder: the swap's second `mv`
    // would go inside it.)
    let base = tempfile::tempdir().unwrap();
    let mut svc = Service::sharing(ECHO, &base.path().join("app").join("run"));
    let addr = started_looking_often(&mut svc);
    std::fs::rename(base.path().join("app"), base.path().join("app.old")).unwrap();
    std::fs::create_dir(base.path().join("app")).unwrap();
    svc.output.wait_for("was removed; made it again");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(&format!("supervisor pid {}", svc.pid())));
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.stop_expecting(0);
}

#[test]
fn a_control_folder_removed_with_the_folder_above_waits_for_that_folder() {
    // `LITTLEBOSS_DIR=BASE/app/run`, then a deploy's `rm -rf BASE/app`
    // and, later, its new `BASE/app`: the watch sees the files go, but
    // makes no `BASE/app` meanwhile (the deploy's `mv` into that name
    // would go inside it); once there, the next look (every 200 ms here)
    // makes the control folder in it.
    let (_base, app, mut svc) = tests::under_a_deploys_folder(ECHO);
    let addr = started_looking_often(&mut svc);
    // Moved aside whole, then removed: a look between the removal of
    // `run` and of `app` would make `run` again, as it must.
    tests::remove_folder(&app);
    tests::waits_for_the_folder_above(&svc, &app);
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.stop_expecting(0);
}

#[test]
fn a_retry_due_makes_no_folder_above_that_another_made() {
    // The control socket's path taken (a file renamed over it): its
    // remake fails, and a retry is due in 1 s. Then a deploy's `rm -rf
    // BASE/app`: the retry makes no `BASE/app` either (the deploy's `mv`
    // of the new one would go inside it); once it is back, a look makes
    // the control folder in it.
    let (base, app, mut svc) = tests::under_a_deploys_folder(ECHO);
    let addr = started_looking_often(&mut svc);
    let socket = app.join("run").join("echo_server.sock");
    take_path(&socket, false);
    svc.output.wait_for("cannot be made again");
    tests::remove_folder(&app);
    svc.output.wait_for(&format!(
        "the folder {} above the control folder is gone",
        app.display()
    ));
    // Past two retries' worth (1 s after the failure, then 2 s: this
    // thread may be slow to remove the folder), and looks: what they
    // must not make has no event to wait for. Nor does the retry let go
    // of spin meanwhile (its time past, ready at every turn): most of a
    // CPU for the whole window (2700 ms of its 3500 when tried). The bound
    // is one only a spin reaches: a loaded machine's ticks charge the
    // supervisor some of others' time.
    let cpu = || tests::procfs::cpu_ms(svc.pid() as u32).expect("its CPU time");
    let before = cpu();
    tests::lets_it_run(&svc, std::time::Duration::from_millis(3500));
    assert!(!app.exists(), "{}", svc.output.text());
    let used = cpu().saturating_sub(before);
    assert!(used < 1000, "{used} ms of CPU");
    // The new `BASE/app` brings a file at the socket's path: the failure
    // is said in full again, not taken for the one said before it.
    let new_app = base.path().join("app.new");
    std::fs::create_dir_all(new_app.join("run")).unwrap();
    let private = std::os::unix::fs::PermissionsExt::from_mode(0o700);
    std::fs::set_permissions(new_app.join("run"), private).unwrap();
    std::fs::write(new_app.join("run").join("echo_server.sock"), "").unwrap();
    std::fs::rename(&new_app, &app).unwrap();
    svc.output.wait_for_count("cannot be made again: ", 2);
    std::fs::remove_file(&socket).unwrap();
    svc.output.wait_for("was removed; made it again");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    svc.stop_expecting(0);
}

#[test]
fn a_control_folder_removed_with_a_folder_its_start_made_is_made_again() {
    // `LITTLEBOSS_DIR=BASE/made/run`, both made by the start, then a
    // cleaner's removal of them (one that does not honour its lock):
    // made again, as the control folder alone would be.
    let base = tempfile::tempdir().unwrap();
    let made = base.path().join("made");
    let mut svc = Service::sharing(ECHO, &made.join("run"));
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    tests::remove_folder(&made);
    svc.output.wait_for("was removed; made it again");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(echo(addr, "still").unwrap(), "still\n");
    assert!(
        !svc.output
            .text()
            .contains("above the control folder is gone")
    );
    svc.stop_expecting(0);
}

#[test]
fn a_supervisor_init_that_drops_root_leaves_its_control_files_as_they_are() {
    // Started as root, its `supervisor_init` drops to `nobody`: the
    // control folder, root's (in the test's private folder), is out of
    // its reach from then on. It says so; its looks at the path (every
    // 50 ms here) find nothing to tell, where they found the files
    // "removed" and tried to make them again, for ever; root's commands
    // reach it; the folder's lock, taken before, is not said to fail;
    // and its files are left behind at its exit, as said.
    let bin = env!("CARGO_BIN_EXE_drops_rights");
    // As root, with the right to change users, and a binary `nobody` may
    // run (not under `/root`, 0700).
    use std::os::unix::process::CommandExt;
    let as_nobody = std::process::Command::new(bin)
        .arg("-h")
        .uid(65534)
        .gid(65534)
        .output();
    if !nix::unistd::geteuid().is_root() || !as_nobody.is_ok_and(|o| o.status.success()) {
        tests::skipped("not root, or `nobody` cannot run the test binaries");
        return;
    }
    let mut svc = Service::new(bin);
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_PATH_LOOK_MS", &"50")]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    assert_eq!(tests::read_greeting(addr).unwrap(), "uid 65534\n");
    let status = svc.control("status");
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(&format!("supervisor pid {}", svc.pid())));
    let out = svc
        .output
        .wait_for("unable to look into its control folder");
    assert!(
        out.contains("note: supervisor_init left this supervisor (uid 65534)"),
        "{out}"
    );
    // A window for several looks (its loop proved to have run them): what
    // they must not say has no event to wait for.
    tests::lets_it_run(&svc, std::time::Duration::from_millis(400));
    let out = svc.output.text();
    for unsaid in ["was removed", "cannot lock the control folder"] {
        assert!(!out.contains(unsaid), "{unsaid}: {out}");
    }
    svc.stop_expecting(0);
    // Its files are left behind, as said, not failed to be removed.
    let out = svc.output.wait_closed();
    assert!(out.contains("supervisor exiting with code 0"), "{out}");
    assert!(!out.contains("cannot remove"), "{out}");
    assert_eq!(
        out.matches("unable to look into its control folder")
            .count(),
        1,
        "{out}"
    );
    for file in ["drops_rights.sock", "drops_rights.lock"] {
        assert!(svc.control_dir().join(file).exists(), "{file} removed");
    }
}

#[test]
fn a_supervisor_init_that_enters_a_chroot_keeps_its_control_files_and_lock() {
    // Its `supervisor_init` enters a chroot whose copy of the control
    // folder's path is an empty folder: the files are where they were,
    // out of its sight. It says so; its looks at the path (every 50 ms
    // here) do not take the files for removed, where it made them again
    // in the jail, letting go of the lock and the socket the commands
    // reach it by; a second start finds it running; and its files are
    // left behind at its exit, as said. The jail is in a mount namespace
    // of the supervisor's own (`unshare`), gone with it.
    let bin = env!("CARGO_BIN_EXE_chroots");
    let unshare = std::process::Command::new("unshare")
        .args(["--mount", "true"])
        .output();
    if !nix::unistd::geteuid().is_root() || !unshare.is_ok_and(|o| o.status.success()) {
        tests::skipped("not root, or `unshare --mount` cannot run");
        return;
    }
    let mut svc = Service::new(bin);
    let jail = svc.dir.path().join("jail");
    std::fs::create_dir(&jail).unwrap();
    // Made now (private, as the supervisor would), to be hidden in the
    // jail from the start.
    let folder = svc.control_dir();
    use std::os::unix::fs::DirBuilderExt;
    (std::fs::DirBuilder::new().mode(0o700))
        .create(&folder)
        .unwrap();
    let mut cmd = svc.command("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(JAILED)
        .arg(bin)
        .arg("-littleboss=start")
        .env("JAIL", &jail)
        .env("HIDDEN", &folder)
        .env("LITTLEBOSS_TEST_PATH_LOOK_MS", "50");
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    svc.ready();
    assert_eq!(tests::read_greeting(addr).unwrap(), "jailed\n");
    svc.output
        .wait_for("out of its sight (a chroot or mount namespace");
    // Then upgraded in place (to a copy, which the jail sees): the new
    // image keeps them as they are too, and says it does not lock them.
    let copy = svc.dir.path().join("chroots-copy");
    tests::copy_binary(std::path::Path::new(bin), &copy);
    for upgrade in [false, true] {
        if upgrade {
            let reload = svc.control_with(&copy, "reload", &[]);
            assert!(reload.status.success(), "{}", text(&reload));
            svc.output.wait_for("this image does not lock it");
        }
        // A window for several looks (its loop proved to have run them):
        // what they must not say has no event to wait for.
        tests::lets_it_run(&svc, std::time::Duration::from_millis(400));
        let out = svc.output.text();
        for unsaid in [
            "was removed",
            "made it again",
            "cannot lock the control folder",
        ] {
            assert!(!out.contains(unsaid), "{unsaid}: {out}");
        }
        let status = svc.control_with(&svc.bin, "status", &["--json"]);
        assert!(status.status.success(), "{}", text(&status));
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(status["upgrades"], u32::from(upgrade), "{status}");
        let second = svc.control("start");
        assert_eq!(second.status.code(), Some(1), "{}", text(&second));
        assert!(
            text(&second).contains(&format!("`chroots` is already running (pid {})", svc.pid())),
            "{}",
            text(&second)
        );
    }
    svc.stop_expecting(0);
    let out = svc.output.wait_closed();
    assert!(out.contains("supervisor exiting with code 0"), "{out}");
    for file in ["chroots.sock", "chroots.lock"] {
        assert!(folder.join(file).exists(), "{file} removed");
    }
}

/// Makes a jail at `$JAIL` of every folder at `/` bound again (a symlink
/// there copied), the folder `$HIDDEN` within it hidden under an empty
/// private one, then runs the command given: a chroot there finds all it
/// needs but that folder. For `unshare --mount --propagation private`.
const JAILED: &str = r#"set -e
for d in /*; do
    if [ -L "$d" ]; then cp -P "$d" "$JAIL$d"
    elif [ -d "$d" ]; then mkdir -p "$JAIL$d"; mount --rbind "$d" "$JAIL$d"
    fi
done
mount -t tmpfs -o mode=700 none "$JAIL$HIDDEN"
exec "$0" "$@""#;
