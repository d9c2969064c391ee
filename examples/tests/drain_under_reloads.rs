//! A short run of the drain benchmark (`src/bin/drain_bench.rs`) as a
//! correctness check: each of the servers users write (the README's
//! snippet on the `littleboss::http` helper, bare `axum::serve`, a plain
//! tokio accept loop, the `http` example on the helper) is reloaded 20
//! times under new-connection and under keep-alive load, and not one
//! request or reload may fail, with one exception the README explains:
//! bare `axum::serve` (`axum_serve`, the README's `axum::serve` snippet)
//! under keep-alive load, where hyper's graceful shutdown
//! closes each kept-alive connection between two requests, and a client's
//! next request on it fails. There every failure must be that one: on a
//! reused connection, the connection closed or reset. (Timing figures come
//! from the benchmark, never from tests.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::OutputInTime;

use examples::reloading::{Drains, Plan, Server, run};
use examples::traffic::Shape;

const RELOADS: usize = 20;

/// Held by each test here for its whole run: the load of one would slow
/// another's servers past the timings it checks (a drain within its
/// lameduck timeout, a silent client within its grace) on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the server tells keep-alive clients `Connection: close` while
/// draining.
#[derive(PartialEq)]
enum KeepAlive {
    Closes,
    /// Bare `axum::serve`: see the module's comment.
    Races,
}

async fn reloads_fail_nothing(bin: &str, listener: &str, keep_alive: KeepAlive) {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Closed loop, and keep-alive once more in open loop (2000 requests/s
    // in all, each client on its own schedule), as the benchmark runs it.
    let loads = [
        (Shape::NewConnection, 8, None),
        (Shape::KeepAlive, 100, None),
        (Shape::KeepAlive, 100, Some(2000.0)),
    ];
    for (shape, clients, rate) in loads {
        let epoch = Instant::now();
        let server = Arc::new(Server::start(bin.as_ref(), listener, epoch));
        let plan = Plan {
            shape,
            clients,
            steady: Duration::from_millis(300),
            reloads: RELOADS,
            interval: Duration::from_millis(20),
            paced_reloads: 0,
            paced_interval: Duration::ZERO,
            without_reloads: false,
            timeout: Duration::from_secs(10),
            rate,
        };
        let row = run(server.clone(), plan, epoch).await;
        Arc::into_inner(server).expect("one owner").stop();
        let name = match rate {
            Some(rate) => format!("{} (open loop, {rate}/s)", shape.name()),
            None => shape.name().to_owned(),
        };
        assert_eq!(row.reloads_failed, 0, "{bin} under {name} load: {row:?}");
        assert_eq!(row.killed, 0, "{bin} under {name} load: {row:?}");
        // None crashed (a crash would make its drain look short).
        assert_eq!(row.abnormal, 0, "{bin} under {name} load: {row:?}");
        // Nor did a serving or a new child, and no reload was rolled back.
        assert_eq!(row.lost, 0, "{bin} under {name} load: {row:?}");
        // Every old child drained, exited and was reaped: none left
        // running or a zombie, each drain seen from its start to its end.
        assert!(
            row.settled,
            "{bin} under {name} load: children left: {row:?}"
        );
        assert_eq!(
            row.drains_timed, RELOADS,
            "{bin} under {name} load: {row:?}"
        );
        assert!(
            row.requests > 0,
            "{bin} under {name} load: no request: {row:?}"
        );
        // Some were in flight while a reload command or a drain ran (the
        // spans the table's sharp figure is read over), not all: the load
        // runs on before and after the reloads.
        let touched = row.reload_touched.0;
        assert!(
            touched > 0 && touched < row.reload_requests,
            "{bin} under {name} load: {touched} of {} requests touched by a reload",
            row.reload_requests
        );
        // Kept-alive connections move only when a child drains: at least
        // the first child and a later one answered.
        assert!(
            row.pids >= 2,
            "{bin} under {name} load: only {} children answered",
            row.pids
        );
        // In open loop too: a client looks for the close before it sends,
        // but a close just after the look still meets its request.
        if shape == Shape::KeepAlive && keep_alive == KeepAlive::Races {
            let closed =
                row.failed.get("eof").unwrap_or(&0) + row.failed.get("reset").unwrap_or(&0);
            assert_eq!(
                (closed, row.failed_reused),
                (row.failed_total(), row.failed_total()),
                "{bin} under {name} load: only the keep-alive close race may fail: {row:?}"
            );
            // At most once per connection per reload: the drain closes
            // each of them once.
            assert!(
                row.failed_total() <= clients * RELOADS,
                "{bin} under {name} load: more races than connections closed: {row:?}"
            );
            continue;
        }
        assert!(
            row.failed.is_empty(),
            "{bin} under {name} load: {:?} of {} requests failed over {RELOADS} reloads: {row:?}",
            row.failed,
            row.requests
        );
        // Kept-alive connections move only when a child drains; new ones
        // spread over every child.
        assert!(
            shape != Shape::NewConnection || row.pids > RELOADS / 2,
            "{bin} under {name} load: only {} children answered",
            row.pids
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_snippet_drops_no_request_over_reloads() {
    reloads_fail_nothing(env!("CARGO_BIN_EXE_readme"), "https", KeepAlive::Closes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_axum_serve_drops_only_requests_racing_a_keep_alive_close() {
    reloads_fail_nothing(env!("CARGO_BIN_EXE_axum_serve"), "https", KeepAlive::Races).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_accept_loop_drops_no_request_over_reloads() {
    reloads_fail_nothing(env!("CARGO_BIN_EXE_plain"), "http", KeepAlive::Closes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_helper_drops_no_request_over_reloads() {
    reloads_fail_nothing(env!("CARGO_BIN_EXE_http"), "http", KeepAlive::Closes).await;
}

/// Who answers a connection that stays silent across a reload.
#[derive(PartialEq)]
enum Silent {
    /// The old child, which accepted it, within its first-byte grace
    /// (hyperium/hyper#2730: not closed as idle the moment lameduck
    /// begins).
    OldChildAnswers,
    /// The `littleboss::http` helper defers accepting until the first
    /// byte (`TCP_DEFER_ACCEPT`): no child has accepted it, so the old one
    /// exits without it and the new one answers, however long the silence
    /// outlasts the old child's grace (up to the 31 s deferral).
    NewChildAnswers,
}

/// A connection made before a reload, silent until after it, is answered,
/// never closed unheard.
fn a_connection_silent_across_a_reload_is_answered(bin: &str, listener: &str, silent: Silent) {
    use std::io::{Read, Write};
    let epoch = Instant::now();
    let server = Server::start(bin.as_ref(), listener, epoch);
    let ask = |conn: &mut std::net::TcpStream| {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .unwrap();
    };
    let answer = |conn: &mut std::net::TcpStream| {
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response)
            .unwrap_or_else(|e| panic!("{bin}: {e}, after {response:?}"));
        response.to_ascii_lowercase()
    };
    let pid_of = |response: &str| {
        response
            .lines()
            .find_map(|l| l.strip_prefix("x-littleboss-pid: "))
            .unwrap_or_else(|| panic!("{bin}: no pid in {response:?}"))
            .to_owned()
    };
    let mut conns: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(server.addr).unwrap())
        .collect();
    // Answered on a connection made after them: without a deferral the
    // kernel hands connections over in order, so the old child has
    // accepted the four (with one, none is accepted until it speaks).
    let mut probe = std::net::TcpStream::connect(server.addr).unwrap();
    ask(&mut probe);
    let old_pid = pid_of(&answer(&mut probe));
    let reloaded = Instant::now();
    let reload = server.control("reload");
    assert!(reload.status.success(), "{reload:?}");
    if silent == Silent::OldChildAnswers {
        // The client is slow to speak: its request comes after the old
        // child began draining (told so before the reload returned, and
        // given 200 ms to act on it), within the grace (1 s for
        // `axum_serve`, 3.5 s for `plain`), which leaves a loaded machine
        // the rest.
        std::thread::sleep(Duration::from_millis(200));
    } else {
        // Silent until the old child has exited, which had it accepted
        // them would have been at its lameduck, closing them unheard; and
        // on past `readme`'s default 1 s grace from the reload: no child's
        // grace is what saves them.
        one_clean_drain(&server.drains(), bin);
        std::thread::sleep(Duration::from_millis(1200).saturating_sub(reloaded.elapsed()));
    }
    // All four asked at once, before any is read: the grace is not spent
    // on one answer after another.
    for conn in &mut conns {
        ask(conn);
    }
    for conn in &mut conns {
        let response = answer(conn);
        assert!(
            response.starts_with("http/1.1 200 ok\r\n"),
            "{bin}: {response:?}"
        );
        let pid = pid_of(&response);
        match silent {
            // The old child's answer: the new one taking the connection
            // over would not be the grace at work.
            Silent::OldChildAnswers => assert_eq!(pid, old_pid, "{bin}: {response:?}"),
            Silent::NewChildAnswers => assert_ne!(pid, old_pid, "{bin}: {response:?}"),
        }
    }
    server.stop();
}

#[test]
fn connections_silent_across_a_reload_are_answered() {
    let _alone = ONE_AT_A_TIME.blocking_lock();
    use Silent::{NewChildAnswers, OldChildAnswers};
    a_connection_silent_across_a_reload_is_answered(
        env!("CARGO_BIN_EXE_readme"),
        "https",
        NewChildAnswers,
    );
    a_connection_silent_across_a_reload_is_answered(
        env!("CARGO_BIN_EXE_http"),
        "http",
        NewChildAnswers,
    );
    a_connection_silent_across_a_reload_is_answered(
        env!("CARGO_BIN_EXE_axum_serve"),
        "https",
        OldChildAnswers,
    );
    a_connection_silent_across_a_reload_is_answered(
        env!("CARGO_BIN_EXE_plain"),
        "http",
        OldChildAnswers,
    );
}

/// An old child that finds no connection open when it begins draining
/// exits without waiting out its grace (3.5 s in `plain`): there is
/// nothing the grace could save. (The others keep the default 1 s, too
/// short to tell apart on a loaded machine; `plain`, like bare
/// `axum::serve`, ends by `ctx.lameduck()` alone.)
/// One old child drained, neither killed nor ended abnormally.
fn one_clean_drain(drains: &Drains, bin: &str) {
    let ended = (drains.ms.len(), drains.killed, drains.abnormal);
    assert_eq!(ended, (1, 0, 0), "{bin}: {drains:?}");
}

fn an_idle_old_child_exits_before_its_grace(bin: &str, listener: &str) {
    let server = Server::start(bin.as_ref(), listener, Instant::now());
    let reload = server.control("reload");
    assert!(reload.status.success(), "{reload:?}");
    let drains = server.drains();
    server.stop();
    one_clean_drain(&drains, bin);
    let drains = drains.ms;
    assert!(
        drains[0] < 3000.0,
        "{bin}: the idle old child took {} ms to exit",
        drains[0]
    );
}

#[test]
fn idle_old_children_exit_before_their_grace() {
    let _alone = ONE_AT_A_TIME.blocking_lock();
    // Ended by `ctx.lameduck()` alone: littleboss ends the grace when
    // nothing accepted is open.
    an_idle_old_child_exits_before_its_grace(env!("CARGO_BIN_EXE_plain"), "http");
}

/// The benchmark itself, as the README runs it, at its smallest: it
/// starts the servers it is given from its folder, prints its table
/// under the command that produced it, and exits 0 when nothing failed
/// (bare `axum::serve`'s losses excused, as it says). A bad load or
/// server is refused by name before anything starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_benchmark_runs_and_prints_its_table() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let bench = env!("CARGO_BIN_EXE_drain_bench");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_readme"))
        .parent()
        .unwrap();
    let args = [
        "--reloads=2",
        "--steady-secs=1",
        "--servers=readme,axum_serve",
        "--loads=new-connection,keep-alive",
        "--keep-alive-clients=32",
        "--new-connection-clients=4",
    ];
    // Its environment cleared of the test run's, as the suite's commands;
    // killed at the deadline with the supervisors it started (their
    // children follow them), its output so far said.
    let mut run = tests::command(bench);
    run.args(args).arg("--bin-dir").arg(bin_dir);
    let out = tokio::task::spawn_blocking(move || run.output_within(Duration::from_secs(120)))
        .await
        .expect("the benchmark's output");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let command = format!("`target/{profile}/drain_bench {}", args.join(" "));
    assert!(stdout.starts_with(&command), "{stdout}");
    for row in [
        "| readme | new-connection |",
        "| readme | keep-alive |",
        "| axum_serve | new-connection |",
        "| axum_serve | keep-alive |",
    ] {
        assert_eq!(stdout.matches(row).count(), 1, "{row} in:\n{stdout}");
    }
    // Each bad name said, with the names it takes.
    for (arg, bad, taken) in [
        (
            "--loads=new-connection,keepalive",
            "'keepalive'",
            "keep-alive",
        ),
        ("--servers=readme,nginx", "'nginx'", "axum_serve"),
    ] {
        let refused = tests::command(bench).arg(arg).output_in_time();
        let said = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{said}");
        assert!(said.contains(bad) && said.contains(taken), "{said}");
    }
}
