//! Bypass mode and the command line (Go's TestBypass, and more).

use tests::{OutputInTime, Service, text};

const HELLO: &str = env!("CARGO_BIN_EXE_hello");

#[test]
fn bypass_runs_main_directly_by_default_and_on_request() {
    for args in [
        &[][..],
        &["-littleboss=bypass"],
        &["--littleboss", "bypass"],
    ] {
        let out = tests::command(HELLO).args(args).output_in_time();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hello, from littleboss.\n",
            "{args:?}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn activation_variables_for_another_process_are_not_ours_to_judge() {
    use std::os::unix::ffi::OsStrExt;
    // Left by a parent for pid 1, one of them not even UTF-8.
    let out = tests::command(HELLO)
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output_in_time();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello, from littleboss.\n"
    );
}

#[test]
fn help_lists_the_mode_flag_and_every_listener() {
    // Help asked for is help given, whatever else is wrong on the line.
    let with_a_mistake = |flag: &'static str| vec![flag, "-addr=bogus"];
    for args in [
        vec!["-h"],
        vec!["--help"],
        with_a_mistake("-h"),
        with_a_mistake("--help"),
    ] {
        let out = tests::command(HELLO).args(&args).output_in_time();
        let flag = args[0];
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", text(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("-littleboss=MODE"), "{help}");
        assert!(
            help.contains(
                "start:   start and manage this process using service name \"hello_program\""
            ),
            "{help}"
        );
        assert!(
            help.contains("reload:  replace the managed process with the executed binary"),
            "{help}"
        );
        assert!(
            help.contains("-addr=ADDR\n        tcp listener address (default \"127.0.0.1:0\""),
            "{help}"
        );
    }
}

/// What `hello ARG` says as it exits 2, a usage error.
fn usage_error(arg: &str) -> String {
    let out = tests::command(HELLO).arg(arg).output_in_time();
    assert_eq!(out.status.code(), Some(2), "{arg}: {}", text(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_mode_or_address_is_a_usage_error_naming_the_flag() {
    for (arg, said) in [
        (
            "-littleboss=restart",
            "-littleboss: unknown mode `restart` (did you mean `reload`? expected bypass, start, reload, stop or status)",
        ),
        (
            "-addr=localhost",
            "-addr: address `localhost` is not HOST:PORT",
        ),
        ("-addr=:99999", "port 99999 is out of range"),
        // The declaration's form copied to the flag.
        (
            "-addr=tcp::8443",
            "-addr: address `tcp::8443` begins with a network (`tcp:`), which the listener's declaration sets; give the address alone, like `:8443`",
        ),
        ("--littleboss", "-littleboss needs a mode"),
    ] {
        let err = usage_error(arg);
        assert!(err.contains(said), "{arg}: {err}");
    }
}

#[test]
fn a_listener_that_cannot_bind_says_which_and_why() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = tests::command(HELLO)
        .arg(format!("-addr={addr}"))
        .output_in_time();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("-addr: cannot listen on tcp {addr}")),
        "{err}"
    );
}

#[test]
fn plain_fn_main_gets_args_and_listeners() {
    let out = tests::command(env!("CARGO_BIN_EXE_plain_sync"))
        .args(["one", "--two=2"])
        .output_in_time();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("sync main args= one --two=2 addr=127.0.0.1:"),
        "{stdout}"
    );
}

#[test]
fn result_main_prints_the_error_and_exits_1() {
    let bin = env!("CARGO_BIN_EXE_result_main");
    let out = tests::command(bin).arg("fail").output_in_time();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: boom: could not open the database\n"
    );
}

/// The echo server run directly (bypass), once it has echoed a line.
fn echo_server_serving_in_bypass() -> Service {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_echo_server"));
    let cmd = svc.command(&svc.bin);
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    assert_eq!(tests::echo(addr, "hi").unwrap(), "hi\n");
    svc
}

#[test]
fn sigterm_in_bypass_is_lameduck_too() {
    let mut svc = echo_server_serving_in_bypass();
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    let status = svc.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", svc.output.text());
    // Waited for: the process's exit comes before its pipes' readers
    // have taken the last of what it wrote.
    svc.output.wait_for("entering lameduck mode");
    // Said, with nobody else to say it: a stop that seems to do nothing
    // for the drain's length is sent again.
    svc.output.wait_for(
        "littleboss: SIGTERM: draining, for 2s at most (the lameduck timeout); send it again to exit now",
    );
    assert!(!svc.output.text().contains("SupervisorInit called"));
}

#[test]
fn sighup_in_bypass_is_left_to_the_program_and_ends_it_by_default() {
    // Not a reload (there is no supervisor), nor ignored as in a child:
    // as for any program, whose own handler would take it.
    let mut svc = echo_server_serving_in_bypass();
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    svc.dies_of(nix::sys::signal::Signal::SIGHUP);
    assert!(
        !svc.output.text().contains("lameduck"),
        "{}",
        svc.output.text()
    );
}

#[test]
fn a_second_ctrl_c_in_bypass_ends_the_program_dead_of_sigint() {
    // Dead of the signal, not exited 130: a shell's loop over the program
    // stops at a Ctrl-C pressed twice rather than run the next command
    // (it takes an exit code for a signal the program handled).
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
    let mut cmd = svc.command(&svc.bin);
    cmd.arg("--drain-ms=4000");
    svc.spawn(cmd);
    svc.output.wait_for("serving pid=");
    svc.signal(nix::sys::signal::Signal::SIGINT);
    svc.output
        .wait_for("SIGINT: draining, for 5s at most (the lameduck timeout); send it again");
    svc.second_stop(|| svc.signal(nix::sys::signal::Signal::SIGINT));
    svc.dies_of(nix::sys::signal::Signal::SIGINT);
    let out = svc.output.text();
    assert!(out.contains("ms after the first: exiting now"), "{out}");
    assert!(!out.contains("drained"), "{out}");
}

#[test]
fn as_a_containers_pid_1_a_second_stop_signal_exits_143_and_sighup_does_nothing() {
    // The kernel ends no PID 1 by a signal at its default action: the
    // program exits 128 + the signal instead. (A SIGHUP from outside the
    // namespace is dropped by the kernel at its default action: the
    // program still serving after one shows only that littleboss does not
    // handle it, as a stop say.)
    if !tests::pid_namespace_or_skip() {
        return;
    }
    let mut svc = Service::new(env!("CARGO_BIN_EXE_slow_drain"));
    svc.spawn_in_pid_namespace(&["--drain-ms=4000"]);
    svc.output.wait_for("serving pid=1\n");
    let program = tests::eventually("the program under unshare", || {
        tests::procfs::live_children(svc.pid() as u32)
            .first()
            .copied()
    });
    let program = nix::unistd::Pid::from_raw(program as i32);
    nix::sys::signal::kill(program, nix::sys::signal::Signal::SIGHUP).unwrap();
    nix::sys::signal::kill(program, nix::sys::signal::Signal::SIGTERM).unwrap();
    // Alive after the SIGHUP: the SIGTERM after it begins the drain.
    svc.output
        .wait_for("SIGTERM: draining, for 5s at most (the lameduck timeout); send it again");
    svc.second_stop(|| nix::sys::signal::kill(program, nix::sys::signal::Signal::SIGTERM).unwrap());
    assert_eq!(svc.wait_exit().code(), Some(143), "{}", svc.output.text());
    let out = svc.output.text();
    assert!(out.contains("ms after the first: exiting now"), "{out}");
    assert!(!out.contains("drained"), "{out}");
}

#[test]
fn after_lameduck_in_bypass_the_port_refuses_connections() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_lingering"));
    let cmd = svc.command(&svc.bin);
    svc.spawn(cmd);
    let addr = svc.printed_addr("addr");
    assert!(std::net::TcpStream::connect(addr).is_ok());
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    svc.output.wait_for("lingering");
    let refused = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn run_called_inside_a_tokio_runtime_is_refused_in_every_mode() {
    // `#[tokio::main]` on a builder program's `main`: run directly it
    // worked, and under `-littleboss=start` the supervisor panicked
    // ("Cannot start a runtime from within a runtime"), its control
    // socket and lock left behind.
    let said = "`run` was called inside a tokio runtime or its context (`#[tokio::main]` on `main`";
    let mut svc = Service::new(env!("CARGO_BIN_EXE_in_a_runtime"));
    let direct = svc.command(&svc.bin).output_in_time();
    assert_eq!(direct.status.code(), Some(2), "{}", text(&direct));
    assert!(text(&direct).contains(said), "{}", text(&direct));
    assert!(!text(&direct).contains("main ran"), "{}", text(&direct));
    svc.start(&[]);
    assert_eq!(svc.wait_exit().code(), Some(2), "{}", svc.output.text());
    assert!(svc.output.text().contains(said), "{}", svc.output.text());
    let left = svc.left_in_control_dir().len();
    assert_eq!(left, 0, "files left in the control folder");
    // A control command too.
    let status = svc.control("status");
    assert_eq!(status.status.code(), Some(2), "{}", text(&status));
    assert!(text(&status).contains(said), "{}", text(&status));
}

#[test]
fn run_called_from_two_threads_at_once_is_refused_the_second_time() {
    // Both calls took the descriptors the process inherited (a child's
    // channel, a new image's state), each closing them as its own.
    // The second is said, and its thread alone stops: an exit there would
    // end the first call half-way (a new image taking over a service).
    // The first call's program runs until the refusal is read (the gate
    // removed then), however slow the machine.
    let refused_then_ends = |env: Option<&str>, said: &str| {
        let mut svc = Service::new(env!("CARGO_BIN_EXE_run_twice"));
        let gate = svc.gate("gate");
        let mut cmd = svc.command(&svc.bin);
        cmd.env("RUN_TWICE_GATE", &gate);
        if let Some(var) = env {
            cmd.env(var, "1");
        }
        svc.spawn(cmd);
        svc.output.wait_for(said);
        std::fs::remove_file(&gate).unwrap();
        assert_eq!(svc.wait_exit().code(), Some(0), "{}", svc.output.text());
        svc.output.text()
    };
    let said = "littleboss: `run` (or `run_sync`) was called a second time, from another thread, while the first call runs";
    let printed = refused_then_ends(None, said);
    // The first call's program ran, once, to its end.
    assert_eq!(printed.matches("main ran").count(), 1, "{printed}");
    assert_eq!(printed.matches("main done").count(), 1, "{printed}");
    // From a thread in a runtime of its own once the program runs: another
    // thread's, said and parked; the program ends as it would.
    let said = "littleboss: `run` (or `run_sync`) was called a second time, from another thread";
    let printed = refused_then_ends(Some("RUN_TWICE_FROM_ANOTHER_RUNTIME"), said);
    assert_eq!(printed.matches("main done").count(), 1, "{printed}");
    let svc = Service::new(env!("CARGO_BIN_EXE_run_twice"));
    // From a task of the first call's program: inside it, exit 2.
    let mut nested = svc.command(&svc.bin);
    let out = nested.env("RUN_TWICE_IN_A_TASK", "1").output_in_time();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = "littleboss: `run` (or `run_sync`) was called inside the program that `run` runs";
    assert!(text(&out).contains(said), "{}", text(&out));
}

/// Checks that `bin`, given `addr` (a taken port's flag), answers
/// `--version` and clap's `-V` with `version`, exiting 0.
fn answers_its_version(bin: &str, addr: &str, version: &str) {
    for asked in ["--version", "-V"] {
        let answer = tests::command(bin).args([addr, asked]).output_in_time();
        assert_eq!(answer.status.code(), Some(0), "{asked}: {}", text(&answer));
        assert_eq!(String::from_utf8_lossy(&answer.stdout), version);
    }
}

#[test]
fn a_program_answering_its_own_version_does_so_while_its_port_is_taken() {
    // littleboss answering `--help` (`help` on): the program's
    // `--version` is its own all the same, and it failed with "address
    // in use" while its service ran.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("-addr={}", taken.local_addr().unwrap());
    let bin = env!("CARGO_BIN_EXE_own_version");
    answers_its_version(bin, &addr, "own_version 1.0\n");
    // Not asked, binding fails before `main`, as it always did.
    let plain = tests::command(bin).arg(&addr).output_in_time();
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert!(
        text(&plain).contains("ddress already in use"),
        "{}",
        text(&plain)
    );
}

#[test]
fn a_program_answering_its_own_help_does_so_while_its_port_is_taken() {
    // Its service running, say: the port is someone else's.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("-addr={}", taken.local_addr().unwrap());
    let bin = env!("CARGO_BIN_EXE_own_help");
    let help = tests::command(bin).args([&addr, "--help"]).output_in_time();
    assert_eq!(help.status.code(), Some(0), "{}", text(&help));
    assert_eq!(
        String::from_utf8_lossy(&help.stdout),
        "own_help: the program's own help\n"
    );
    assert_eq!(String::from_utf8_lossy(&help.stderr), "");
    // And its version, as clap's `--version` and `-V`.
    answers_its_version(bin, &addr, "own_help 1.0\n");
    // Asked for help it does not answer, it fails as binding would have,
    // once it takes the listener.
    let taking = tests::command(bin).args([&addr, "-h"]).output_in_time();
    assert_eq!(taking.status.code(), Some(1), "{}", text(&taking));
    let stderr = String::from_utf8_lossy(&taking.stderr);
    assert!(stderr.contains("ddress already in use"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&taking.stdout), "");
    // Not asked for help, binding fails before `main`, as it always did.
    let plain = tests::command(bin).arg(&addr).output_in_time();
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert_eq!(
        String::from_utf8_lossy(&plain.stderr),
        stderr,
        "the same words either way"
    );
    // Its logger blocking on the line that says why (a sink gone quiet):
    // it exits all the same, the line given to the logger and, as the
    // logger kept it past the patience, to stderr.
    let stuck = tests::command(bin)
        .args([&addr, "-h"])
        .env("OWN_HELP_LOGGER_BLOCKS", "1")
        .output_in_time();
    assert_eq!(stuck.status.code(), Some(1), "{}", text(&stuck));
    let stdout = String::from_utf8_lossy(&stuck.stdout);
    assert!(
        stdout.starts_with("LOG ERROR: ") && stdout.contains("ddress already in use"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&stuck.stderr);
    assert!(stderr.contains("ddress already in use"), "{stderr}");
    // Blocked before it wrote anything: stderr has the line.
    let silent = tests::command(bin)
        .args([&addr, "-h"])
        .env("OWN_HELP_LOGGER_BLOCKS", "silent")
        .output_in_time();
    assert_eq!(silent.status.code(), Some(1), "{}", text(&silent));
    assert_eq!(String::from_utf8_lossy(&silent.stdout), "");
    let stderr = String::from_utf8_lossy(&silent.stderr);
    assert!(
        stderr.starts_with("littleboss: ") && stderr.contains("ddress already in use"),
        "{stderr}"
    );
}
