//! Reloads: overlapping hand-over, failures that leave the old child
//! serving, rollback, readiness, and one reload at a time.

use std::net::SocketAddr;
use tests::{Load, Service, read_greeting, text};

const V1: &str = env!("CARGO_BIN_EXE_versioned_v1");
const FAILS: &str = env!("CARGO_BIN_EXE_versioned_fails");
const DIES: &str = env!("CARGO_BIN_EXE_versioned_dies");
const NO_FALLBACK: &str = env!("CARGO_BIN_EXE_versioned_no_fallback");
const SLOW: &str = env!("CARGO_BIN_EXE_versioned_slow");
const NEVER_READY: &str = env!("CARGO_BIN_EXE_versioned_never_ready");

fn start_v1() -> (Service, SocketAddr, String) {
    let mut svc = Service::new(V1);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let first = read_greeting(addr).unwrap();
    assert!(first.starts_with("v1 "), "{first}");
    (svc, addr, first)
}

/// The pid in a greeting `v1 PID`.
fn first_pid(greeting: &str) -> &str {
    greeting.split_whitespace().nth(1).expect("v1 PID")
}

/// Holds version 4 (`versioned_slow`) in its warm-up until the returned
/// file is removed: see the fixture.
fn hold_warm_up(svc: &Service) -> std::path::PathBuf {
    let hold = svc.dir.path().join("hold");
    std::fs::write(&hold, "").unwrap();
    hold
}

fn status(svc: &Service) -> serde_json::Value {
    let out = svc.control_with(V1, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn overlapping_reload_keeps_answering_and_the_old_child_serves_until_the_new_is_ready() {
    let (svc, addr, first) = start_v1();
    let load = Load::start(addr);
    tests::eventually("load to run", || (load.count() > 10).then_some(()));

    // The new child warms up until the hold goes: the old one answers
    // meanwhile (a count reached, not a rate over a time).
    let hold = hold_warm_up(&svc);
    let reload = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    let before = load.count();
    tests::eventually("answers while the new child warms up", || {
        (load.count() > before + 10).then_some(())
    });
    std::fs::remove_file(hold).unwrap();
    let reload = reload.wait_with_output().unwrap();
    assert!(
        reload.status.success(),
        "{}\n{}",
        text(&reload),
        svc.output.text()
    );
    tests::eventually("the new child to answer", || {
        load.recent(5, |r| r.as_deref().is_ok_and(|r| r.starts_with("v4 ")))
            .then_some(())
    });
    let replies = load.finish();

    let failed: Vec<_> = replies.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {failed:?}",
        failed.len(),
        replies.len()
    );
    // Every answer before the new child's first is the old child's.
    let first_v4 = replies
        .iter()
        .position(|r| r.as_deref().unwrap().starts_with("v4 "))
        .unwrap();
    assert!(
        replies[..first_v4]
            .iter()
            .all(|r| r.as_deref().unwrap() == first)
    );
    // The old child winds down once the new one is ready.
    svc.output
        .wait_for(&format!("version 1 pid={} done", first_pid(&first)));
    assert_eq!(status(&svc)["reloads"], 1);
}

#[test]
fn reload_to_a_binary_that_fails_at_start_leaves_the_old_child_untouched() {
    let (svc, addr, first) = start_v1();
    let reload = svc.control_with(FAILS, "reload", &[]);
    assert_eq!(reload.status.code(), Some(1), "{}", text(&reload));
    let err = String::from_utf8_lossy(&reload.stderr);
    assert!(
        err.contains("reload of versioned failed: new child pid "),
        "{err}"
    );
    // Its own words went to the supervisor's stderr (the test's pipe),
    // which the reload says, as the caller does not see them.
    assert!(
        err.contains(&format!(
            "({FAILS}) exited with code 1 before it was ready (its stderr is the supervisor's: a pipe)"
        )),
        "{err}"
    );
    svc.output.wait_for("failed to start version 2");

    // Same process, never interrupted, never restarted.
    assert_eq!(read_greeting(addr).unwrap(), first);
    let out = svc.output.text();
    assert_eq!(out.matches("running version 1").count(), 1, "{out}");
    let done = format!("version 1 pid={} done", first_pid(&first));
    assert!(!out.contains(&done), "{out}");
    let status = status(&svc);
    assert_eq!(status["failures"], 1);
    assert_eq!(status["reloads"], 0);
    assert_eq!(status["child"]["path"], V1);
    assert!(
        status["last_failure"]
            .as_str()
            .unwrap()
            .contains("before it was ready")
    );

    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
}

#[test]
fn a_reloaded_child_that_dies_during_probation_is_rolled_back() {
    let (mut svc, addr, _) = start_v1();
    let reload = svc.control_with(DIES, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for("version 3 dying");
    svc.output.wait_for_count("running version 1", 2);
    tests::eventually("version 1 to answer again", || {
        read_greeting(addr).ok().filter(|r| r.starts_with("v1 "))
    });
    let status = status(&svc);
    assert_eq!(status["failures"], 1, "{status}");
    assert_eq!(status["child"]["path"], V1);
    // Started again as it was at first: with its own argv[0], not the
    // failed binary's.
    let pid = status["child"]["pid"].as_u64().unwrap();
    let argv = tests::procfs::cmdline(pid as u32).unwrap();
    assert_eq!(String::from_utf8_lossy(&argv[0]), V1);
    // Named as it was too (run from the binary held open, as
    // /proc/self/fd/N, the kernel names it "N"): `pkill`, `ps` and
    // journald go by this name.
    assert_eq!(
        tests::procfs::name(pid as u32).as_deref(),
        Some("versioned_v1"),
        "argv[0] {}",
        String::from_utf8_lossy(&argv[0])
    );
    let why = status["last_failure"].as_str().unwrap();
    assert!(
        why.contains(&format!("reload to {DIES} rolled back")),
        "{why}"
    );
    assert!(why.contains("exited with code 1"), "{why}");
    svc.stop_expecting(0);
}

#[test]
fn without_fallback_a_reloaded_child_that_dies_in_probation_is_not_rolled_back() {
    // `fallback = false` in the running supervisor's binary (which does
    // not upgrade in place, so its settings stay): no rollback, and with
    // persist off the service ends with the dead child's code.
    let mut svc = Service::new(NO_FALLBACK);
    svc.start(&[]);
    svc.ready();
    let reload = svc.control_with(DIES, "reload", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    svc.output.wait_for("version 3 dying");
    assert_eq!(svc.wait_exit().code(), Some(1), "{}", svc.output.text());
    let log = svc.output.text();
    assert!(!log.contains(" rolled back"), "{log}");
    assert_eq!(
        log.matches("running version nofallback").count(),
        1,
        "{log}"
    );
}

#[test]
fn manual_readiness_times_out_and_the_old_child_keeps_serving() {
    let (svc, addr, first) = start_v1();
    let reload = svc.control_with(NEVER_READY, "reload", &[]);
    assert_eq!(reload.status.code(), Some(1), "{}", text(&reload));
    let err = String::from_utf8_lossy(&reload.stderr);
    assert!(err.contains("was not ready within 500ms"), "{err}");
    assert_eq!(read_greeting(addr).unwrap(), first);
    assert_eq!(status(&svc)["failures"], 1);
}

#[test]
fn a_reload_during_a_reload_waits_its_turn() {
    let (svc, addr, _) = start_v1();
    let hold = hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    let second = svc.spawn_control(V1, "reload");
    svc.output.wait_for(&format!("reload of {V1} waits"));
    std::fs::remove_file(hold).unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(second.status.success(), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("reload of versioned waits for child pid "),
        "{err}"
    );
    assert!(err.contains("reloaded versioned: pid "), "{err}");
    assert!(slow.wait_with_output().unwrap().status.success());
    // Both happened, in order: version 4, then version 1 again.
    let status = status(&svc);
    assert_eq!(status["reloads"], 2, "{status}");
    assert_eq!(status["child"]["path"], V1);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
}

#[test]
fn a_reload_ended_by_ctrl_c_says_its_new_child_goes_on_and_dies_of_sigint() {
    reload_ended_by(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn a_reload_ended_by_a_deploy_tools_timeout_says_so_and_dies_of_sigterm() {
    reload_ended_by(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn a_reload_ended_by_its_terminal_closing_says_so_and_dies_of_sighup() {
    reload_ended_by(nix::sys::signal::Signal::SIGHUP);
}

/// A reload command ended by `signal` while its new child starts: it says
/// where it stands and dies of the signal; the reload goes on.
fn reload_ended_by(signal: nix::sys::signal::Signal) {
    let (svc, _addr, _) = start_v1();
    let hold = hold_warm_up(&svc);
    let mut slow = svc.spawn_control(SLOW, "reload");
    let said = slow.said();
    said.wait_for("reloading versioned: new child pid");
    let command = nix::unistd::Pid::from_raw(slow.0.id() as i32);
    nix::sys::signal::kill(command, signal).unwrap();
    let ended = slow.wait().unwrap();
    let said = said.wait_closed();
    // Said where it stands, as when its own wait runs out; dead of the
    // signal, as without a handler (a deploy script's loop stops).
    assert_eq!(tests::died_of(ended), Some(signal), "{said}");
    assert!(
        said.contains(&format!(
            "reload of versioned ended here unfinished: this command was ended by {signal}; its new child pid "
        )) && said.contains("had started; whether it took over is unknown (see -littleboss=status)"),
        "{said}"
    );
    // And it goes on.
    std::fs::remove_file(hold).unwrap();
    tests::eventually("the reload to finish", || {
        (status(&svc)["reloads"] == 1).then_some(())
    });
}

#[test]
fn a_reload_started_with_sighup_ignored_keeps_it_ignored() {
    let (svc, _addr, _) = start_v1();
    let hold = hold_warm_up(&svc);
    let mut cmd = svc.command(SLOW);
    cmd.arg("-littleboss=reload")
        .stderr(std::process::Stdio::piped());
    // As `nohup` starts it.
    // SAFETY: between fork and exec, `signal` is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let ignore = nix::sys::signal::SigHandler::SigIgn;
            nix::sys::signal::signal(nix::sys::signal::Signal::SIGHUP, ignore)
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    let mut reload = tests::KilledOnDrop(cmd.spawn().unwrap());
    let said = reload.said();
    said.wait_for("reloading versioned: new child pid");
    let command = nix::unistd::Pid::from_raw(reload.0.id() as i32);
    nix::sys::signal::kill(command, nix::sys::signal::Signal::SIGHUP).unwrap();
    std::fs::remove_file(hold).unwrap();
    // Undisturbed: it waits for its answer, and says it.
    let said = reload.ended_with(&said, 0);
    assert!(said.contains("reloaded versioned: pid "), "{said}");
    assert!(!said.contains("SIGHUP"), "{said}");
}

#[test]
fn a_reload_whose_answer_never_comes_says_what_that_means_for_it() {
    let (svc, _addr, _) = start_v1();
    hold_warm_up(&svc);
    // One reload's child starts (and stays starting); another waits.
    let mut slow = svc.spawn_control(SLOW, "reload");
    let slow_said = slow.said();
    slow_said.wait_for("reloading versioned: new child pid");
    let mut second = svc.spawn_control(V1, "reload");
    let second_said = second.said();
    second_said.wait_for("reload of versioned waits for child pid");
    // The supervisor is killed (OOM, a mistaken `kill -9`): no answer.
    svc.signal(nix::sys::signal::Signal::SIGKILL);
    let slow_said = slow.ended_with(&slow_said, 4);
    assert!(
        slow_said.contains(
            "reload of versioned ended here unfinished: the supervisor closed the connection without answering; its new child pid "
        ) && slow_said.contains("had started; whether it took over is unknown (see -littleboss=status)"),
        "{slow_said}"
    );
    let second_said = second.ended_with(&second_said, 4);
    assert!(
        second_said.contains(
            "reload of versioned ended here unfinished: the supervisor closed the connection without answering; it was waiting its turn, and a reload still waiting is dropped when its command ends (unless its turn had come: see -littleboss=status)"
        ),
        "{second_said}"
    );
}

#[test]
fn a_new_child_stopped_by_its_own_signal_before_it_is_ready_does_not_take_over() {
    // A `kill PID` of the starting child alone (a mistaken pid, an OOM
    // killer's SIGTERM): it drains, and its warm-up ends at its lameduck
    // and calls `ready()`. Handed the service then, it would exit with it.
    let (svc, addr, first) = start_v1();
    hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    let out = svc.output.wait_for("warming up version 4 pid=");
    let pid: i32 = out
        .split("warming up version 4 pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .expect("its pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    svc.output.wait_for("version 4 ready");
    let reload = slow.wait_with_output().unwrap();
    assert_eq!(reload.status.code(), Some(1), "{}", text(&reload));
    // The old child serves on, untouched.
    assert_eq!(read_greeting(addr).unwrap(), first);
    let status = status(&svc);
    assert_eq!(status["child"]["path"], V1, "{status}");
    assert_eq!(
        (status["reloads"].as_u64(), status["failures"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn stop_during_a_reload_wins() {
    let (mut svc, _addr, _) = start_v1();
    hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    let reload = slow.wait_with_output().unwrap();
    assert_eq!(reload.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&reload.stderr).contains("the supervisor is stopping"),
        "{}",
        text(&reload)
    );
    assert_eq!(svc.wait_exit().code(), Some(0));
}

#[test]
fn a_rollback_while_another_reload_starts_leaves_no_child_behind() {
    let (mut svc, addr, _) = start_v1();
    // Version 3 serves until its gate goes, and version 4 warms up until
    // its hold goes: each step below comes in its order, not by timers
    // (but for version 3's death within its 5 s probation).
    let die_gate = svc.gate("die_gate");
    assert!(svc.control_with(DIES, "reload", &[]).status.success());
    let hold = hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    // Version 3 dies while version 4 starts.
    std::fs::remove_file(&die_gate).unwrap();
    svc.output.wait_for("version 3 dying");
    // Within its probation: a rollback, put off while version 4 starts.
    svc.output
        .wait_for(&format!("reload to {DIES} rolled back"));
    std::fs::remove_file(&hold).unwrap();
    let slow = slow.wait_with_output().unwrap();
    assert!(slow.status.success(), "{}", text(&slow));
    // Version 4 serves; the rollback to version 1 was not needed, and
    // started no child of version 1 again.
    let status = status(&svc);
    assert_eq!(status["child"]["path"], SLOW, "{status}");
    assert!(status["starting"].is_null(), "{status}");
    tests::eventually("version 4 to answer", || {
        read_greeting(addr).ok().filter(|r| r.starts_with("v4 "))
    });
    let out = svc.output.text();
    assert_eq!(out.matches("running version 1 ").count(), 1, "{out}");
    // Every child is accounted for: stop finishes, and each one started
    // was seen to end (a pid long gone may be another process's now).
    svc.stop_expecting(0);
    let out = svc.output.text();
    let started = tests::started_child_pids(&out);
    assert_eq!(started.len(), 3, "versions 1, 3 and 4 only: {out}");
    for pid in started {
        let ended = [" exited with code ", " was killed by "]
            .iter()
            .any(|how| out.contains(&format!("child pid {pid}{how}")));
        assert!(ended, "child pid {pid} not seen to end: {out}");
    }
}

#[test]
fn queued_reloads_proceed_even_when_one_fails_at_once() {
    let mut svc = Service::new(SLOW);
    let hold = hold_warm_up(&svc);
    svc.start(&[]);
    svc.output.wait_for("warming up version 4");
    // While the first child warms up: a reload to a missing binary, then a
    // good one, both queued.
    let socket = svc.control_dir().join("versioned.sock");
    let missing = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let mut conn = std::os::unix::net::UnixStream::connect(socket).unwrap();
        conn.write_all(b"{\"v\":1,\"cmd\":\"reload\",\"path\":\"/nonexistent/bin\"}\n")
            .unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        BufReader::new(conn)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });
    svc.output.wait_for("reload of /nonexistent/bin waits");
    // The good reload must not wait for some unrelated event to wake the
    // supervisor (a liveness bound far above the milliseconds it takes).
    let mut good = svc.spawn_control(V1, "reload");
    svc.output.wait_for(&format!("reload of {V1} waits"));
    std::fs::remove_file(hold).unwrap();
    let done = tests::eventually_within("the queued reload to finish", tests::DEADLINE, || {
        good.try_wait().unwrap()
    });
    assert!(
        done.success(),
        "{}",
        text(&good.wait_with_output().unwrap())
    );
    let lines = missing.join().unwrap();
    assert!(
        lines
            .last()
            .unwrap()
            .contains("cannot start /nonexistent/bin"),
        "{lines:?}"
    );
    assert_eq!(status(&svc)["child"]["path"], V1);
}

#[test]
fn stop_reports_the_serving_childs_code_not_a_starting_ones() {
    let (mut svc, _addr, _) = start_v1();
    let exit3 = svc.spawn_control(env!("CARGO_BIN_EXE_versioned_exit3"), "reload");
    svc.output.wait_for("version exit3 starting");
    let status = status(&svc);
    assert_eq!(status["starting"]["why"], "reload", "{status}");
    // Version 1 was serving and exits 0; the starting child's 3 is not the stop's.
    svc.stop_expecting(0);
    assert_eq!(exit3.wait_with_output().unwrap().status.code(), Some(1));
}

#[test]
fn a_reloaded_binary_keeps_its_own_name() {
    let (svc, _addr, _) = start_v1();
    assert!(svc.control_with(SLOW, "reload", &[]).status.success());
    let out = svc.output.wait_for("warming up version 4");
    assert!(out.contains(&format!("argv0={SLOW}")), "{out}");
}

#[test]
fn a_sighup_queued_behind_a_reload_reloads_the_new_binary_not_the_old() {
    let (svc, _addr, _) = start_v1();
    let hold = hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    svc.output.wait_for("reload of the serving binary waits");
    std::fs::remove_file(hold).unwrap();
    assert!(slow.wait_with_output().unwrap().status.success());
    // Its turn comes once version 4 serves: version 4 again, not a rollback.
    svc.output.wait_for_count("warming up version 4", 2);
    let done = tests::eventually("the SIGHUP reload to finish", || {
        let s = status(&svc);
        (s["reloads"] == 2).then_some(s)
    });
    assert_eq!(done["child"]["path"], SLOW, "{done}");
    // Version 1 never came back.
    assert_eq!(svc.output.text().matches("running version 1").count(), 1);
}

/// A server written the natural way (accept until `ctx.lameduck()`) with
/// a grace of 30 s: the old child's lameduck comes once the connection it
/// accepted before draining has closed, not when the grace ends.
#[test]
fn the_old_childs_grace_ends_once_the_connections_it_accepted_have_closed() {
    use std::io::{BufRead, BufReader, Write};
    let mut svc = Service::new(env!("CARGO_BIN_EXE_long_grace"));
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    let old: i32 = svc.printed("pid");
    svc.ready();
    // Accepted by the old child, and silent through the reload.
    let mut held = std::net::TcpStream::connect(addr).unwrap();
    held.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    svc.output.wait_for(&format!("pid {old} accepted 1"));
    svc.reload_ok();
    // The new child answers (the old one, told to drain as the reload
    // returns, may take one more first).
    tests::eventually("the new child to answer", || {
        let answer = tests::echo(addr, "new").unwrap();
        (!answer.starts_with(&format!("{old} "))).then_some(())
    });

    // The held connection is open: the old child, draining, waits.
    svc.output.wait_for(&format!("pid {old} draining"));
    assert!(tests::alive(old));
    // It speaks, is answered by the old child before its lameduck (the
    // answer would say so), and closes.
    held.write_all(b"late\n").unwrap();
    let mut reply = String::new();
    BufReader::new(&held).read_line(&mut reply).unwrap();
    assert_eq!(reply, format!("{old} late\n"));
    // Nothing accepted is open: lameduck now, well before the grace ends.
    svc.output.wait_for(&format!("pid {old} lameduck"));
    tests::eventually_within(
        "the old child to exit",
        std::time::Duration::from_secs(10),
        || (!tests::alive(old)).then_some(()),
    );
    svc.stop_expecting(0);
}

#[test]
fn a_queued_reload_whose_client_was_killed_is_dropped() {
    let (svc, addr, _) = start_v1();
    let hold = hold_warm_up(&svc);
    let slow = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for("warming up version 4");
    // Queued behind it: one whose client is killed (a deploy tool's
    // timeout), and behind that one whose client waits.
    let mut killed = svc.spawn_control(V1, "reload");
    svc.output.wait_for_count("waits for child pid", 1);
    let waits = svc.spawn_control(SLOW, "reload");
    svc.output.wait_for_count("waits for child pid", 2);
    killed.kill().unwrap();
    killed.wait().unwrap();
    svc.output.wait_for("dropped the queued reload of ");
    std::fs::remove_file(hold).unwrap();
    assert!(slow.wait_with_output().unwrap().status.success());
    let waits = waits.wait_with_output().unwrap();
    assert!(waits.status.success(), "{}", text(&waits));
    let done = status(&svc);
    assert_eq!(done["reloads"], 2, "{done}");
    assert!(read_greeting(addr).unwrap().starts_with("v4 "));
    // Version 1 never came back: the dropped reload did not run.
    assert_eq!(svc.output.text().matches("running version 1").count(), 1);
}

#[test]
fn a_reload_run_from_a_folder_deeper_than_a_path_can_name_goes_ahead() {
    use tests::OutputInTime;
    if tests::command("bash")
        .arg("-c")
        .arg("true")
        .status()
        .is_err()
    {
        return tests::skipped("no bash, which can enter a folder past `PATH_MAX` (dash cannot)");
    }
    let (svc, addr, first) = start_v1();
    // 20 folders of 250 bytes, made and entered one at a time, as bash
    // can (dash cannot): no path names the last (Linux's `PATH_MAX` is 4096),
    // yet glibc's `getcwd` gives its 5,000 bytes, which the request would
    // carry (musl's gives none: nothing to leave out there).
    let script = r#"n=$(printf 'd%.0s' $(seq 1 250))
        for _ in $(seq 1 20); do mkdir "$n" && cd "$n" || exit 9; done
        exec "$0" -littleboss=reload"#;
    let out = svc
        .command("bash")
        .current_dir(svc.dir.path())
        .args(["-c", script, V1])
        .output_in_time();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        svc.output.text()
    );
    let second = tests::eventually("the new child to answer", || {
        read_greeting(addr).ok().filter(|g| *g != first)
    });
    assert!(second.starts_with("v1 "), "{second}");
    assert_eq!(status(&svc)["reloads"], 1);
}
