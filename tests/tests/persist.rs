//! `persist`, a `Result` main under a supervisor, and control messages a
//! client should never send.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use tests::{Service, text};

#[test]
fn persist_restarts_a_child_that_exits_on_its_own() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_persist"));
    svc.start(&[]);
    svc.output.wait_for("started run 3 pid=");
    // The supervisor's lines come on another pipe: waited for, not read at once.
    let out = svc.output.wait_for_count("restarting in", 2);
    assert_eq!(out.matches("restarting in").count(), 2, "{out}");
    let status = svc.control("status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("failures 2"),
        "{}",
        text(&status)
    );
    svc.stop_expecting(0);
}

#[test]
fn status_tells_a_persist_restart_after_a_clean_exit() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_persist"));
    svc.start(&["clean"]);
    let out = svc.output.wait_for("started run 3 pid=");
    let second: i32 = (out.split("started run 2 pid=").nth(1))
        .and_then(|rest| rest.lines().next())
        .and_then(|pid| pid.trim().parse().ok())
        .expect("run 2's pid");
    let status = svc.control("status");
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains("failures 0"), "{}", text(&status));
    assert!(!shown.contains("last failure"), "{}", text(&status));
    let exit = format!("last exit:    child pid {second} exited with code 0\n");
    assert!(shown.contains(&exit), "{}", text(&status));
    svc.stop_expecting(0);
}

#[test]
fn without_persist_the_supervisor_exits_with_the_childs_code() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_result_main"));
    svc.start(&["fail"]);
    assert_eq!(svc.wait_exit().code(), Some(1), "{}", svc.output.text());
    let out = svc.output.text();
    assert!(
        out.contains("Error: boom: could not open the database"),
        "{out}"
    );
}

#[test]
fn a_reload_whose_main_returns_an_error_or_panics_before_ready_says_why() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_result_main"));
    svc.start(&[]);
    let serving: i32 = svc.printed("pid");
    let said = [
        (
            "fail-at-once",
            "failed before it was ready: main returned an error (exit code 1): boom: no config at /etc/result_main.toml",
        ),
        (
            "panic-at-once",
            "failed before it was ready: main panicked (exit code 101): boom: the config at /etc/result_main.toml is not TOML",
        ),
    ];
    for (failures, (arg, why)) in (1..).zip(said) {
        let reload = svc.control_with(&svc.bin, "reload", &[arg]);
        assert_eq!(reload.status.code(), Some(1), "{}", text(&reload));
        let err = String::from_utf8_lossy(&reload.stderr);
        assert!(err.contains(why), "{err}");
        // The old child serves on.
        let status = svc.control_with(&svc.bin, "status", &["--json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(status["child"]["pid"], serving, "{status}");
        assert_eq!(
            (status["reloads"].as_u64(), status["failures"].as_u64()),
            (Some(0), Some(failures))
        );
        assert!(tests::alive(serving));
    }
    svc.stop_expecting(0);
}

#[test]
fn a_reload_whose_main_returns_an_error_says_why_though_stderr_is_full() {
    // stderr a full pipe nobody reads (a hung log shipper): the child's
    // `Error:` line would block it, and it told its supervisor nothing,
    // the reload failing at its ready timeout without a word of why.
    let mut svc = Service::new(env!("CARGO_BIN_EXE_result_main"));
    let read_end = svc.start_with_stderr_unread(&[], false);
    let status = svc.control_with(&svc.bin, "status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let serving = status["child"]["pid"].as_i64().unwrap() as i32;
    tests::fill_pipe(&read_end);
    let reload = svc.control_with(&svc.bin, "reload", &["fail-at-once"]);
    assert_eq!(reload.status.code(), Some(1), "{}", text(&reload));
    let err = String::from_utf8_lossy(&reload.stderr);
    assert!(
        err.contains(
            "main returned an error (exit code 1): boom: no config at /etc/result_main.toml"
        ),
        "{err}"
    );
    assert!(tests::alive(serving));
    drop(read_end);
    svc.stop_expecting(0);
}

#[test]
fn result_main_under_a_supervisor_stops_cleanly() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_result_main"));
    svc.start(&[]);
    svc.output.wait_for("serving pid=");
    svc.stop_expecting(0);
}

fn ask(socket: &std::path::Path, line: &[u8]) -> String {
    let mut conn = UnixStream::connect(socket).unwrap();
    conn.set_read_timeout(Some(tests::DEADLINE)).unwrap();
    conn.write_all(line).unwrap();
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply).unwrap();
    reply
}

#[test]
fn bad_control_messages_get_an_error_reply_and_change_nothing() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    let socket = svc.control_dir().join("echo_server.sock");
    let cases: &[(&[u8], &str)] = &[
        (b"garbage\n", "not a JSON message"),
        (
            b"{\"v\":9,\"cmd\":\"stop\"}\n",
            "unsupported protocol version 9",
        ),
        (
            b"{\"v\":1,\"cmd\":\"explode\"}\n",
            "unknown variant `explode`",
        ),
        (
            // The last `cmd` would have stopped the service.
            b"{\"v\":1,\"cmd\":\"status\",\"cmd\":\"stop\"}\n",
            "the key `cmd` appears twice",
        ),
        (
            b"{\"v\":1,\"cmd\":\"reload\",\"path\":\"relative/bin\"}\n",
            "is not absolute",
        ),
        (
            b"{\"v\":1,\"cmd\":\"reload\",\"path\":\"/nonexistent/bin\"}\n",
            "cannot start /nonexistent/bin: No such file or directory",
        ),
    ];
    for (line, want) in cases {
        let reply = ask(&socket, line);
        assert!(reply.contains("\"type\":\"error\""), "{reply}");
        assert!(
            reply.contains(want),
            "{}: {reply}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(tests::echo(addr, "fine").unwrap(), "fine\n");
    let status = svc.control("status");
    assert!(status.status.success());
    // The missing binary counts as a failed reload; nothing else changed.
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("reloads 0, failures 1"),
        "{}",
        text(&status)
    );
}
