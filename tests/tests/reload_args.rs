//! Reloads that change the arguments and the listeners: replaced, kept or
//! emptied arguments; listeners kept (the same socket), moved, added and
//! removed; all or nothing when an address cannot be bound; and a rollback
//! that restores what the failed reload changed.

use std::net::{SocketAddr, TcpListener, TcpStream};

use tests::{OutputInTime, Service, free_port, read_greeting, text};

const V1: &str = env!("CARGO_BIN_EXE_argv_v1");
const V2: &str = env!("CARGO_BIN_EXE_argv_v2");
const DIES: &str = env!("CARGO_BIN_EXE_argv_dies");

fn start(bin: &str, args: &[&str]) -> (Service, SocketAddr) {
    let mut svc = Service::new(bin);
    svc.start(args);
    let addr = svc.printed_addr("http");
    svc.ready();
    (svc, addr)
}

fn status(svc: &Service) -> serde_json::Value {
    let out = svc.control_with(V1, "status", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn reload(svc: &Service, bin: &str, args: &[&str]) -> std::process::Output {
    let out = svc.control_with(bin, "reload", args);
    assert!(out.status.success(), "{}", text(&out));
    out
}

/// Waits for a greeting that ends with `args` (the old child may answer
/// a few more while lameduck reaches it) and returns it.
fn greeted_with(addr: SocketAddr, args: &str) -> String {
    let want = format!("{args}\n");
    tests::eventually(&format!("a greeting ending with {args:?}"), || {
        read_greeting(addr).ok().filter(|g| g.ends_with(&want))
    })
}

fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[test]
fn arguments_are_replaced_kept_and_emptied() {
    let (svc, addr) = start(V1, &["--db=a"]);
    greeted_with(addr, " --db=a");
    reload(&svc, V1, &["--db=b", "extra"]);
    greeted_with(addr, " --db=b extra");
    assert_eq!(
        status(&svc)["child"]["args"],
        serde_json::json!(["--db=b", "extra"])
    );
    reload(&svc, V1, &[]);
    let pid = status(&svc)["child"]["pid"].clone();
    greeted_with(addr, &format!("v1 {pid} --db=b extra"));
    reload(&svc, V1, &["--"]);
    let greeting = tests::eventually("a greeting without arguments", || {
        read_greeting(addr)
            .ok()
            .filter(|g| g.trim_end().split(' ').count() == 2)
    });
    assert!(greeting.starts_with("v1 "), "{greeting:?}");
    assert_eq!(status(&svc)["child"]["args"], serde_json::json!([]));
}

#[test]
fn arguments_not_utf8_and_empty_reach_the_new_child_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let (svc, addr) = start(V1, &[]);
    let latin1 = std::ffi::OsStr::from_bytes(b"--name=caf\xe9");
    let out = svc
        .command(V1)
        .arg("-littleboss=reload")
        .arg(latin1)
        .arg("")
        .arg("last")
        .output_in_time();
    assert!(out.status.success(), "{}", text(&out));
    greeted_with(addr, " --name=caf\u{fffd}  last");
    // What the kernel holds for the new child: the very bytes, the empty
    // argument included.
    let pid = status(&svc)["child"]["pid"].as_u64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.ends_with(b"\0--name=caf\xe9\0\0last\0"),
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
}

#[test]
fn long_arguments_reach_the_new_child() {
    let (svc, addr) = start(V1, &[]);
    // 200 KB in four (one argument may not pass 128 KiB): on the wire a
    // number per byte, well over the 64 KiB line the supervisor read.
    let long = format!("--blob={}", "x".repeat(50_000));
    let args = [long.as_str(); 4];
    reload(&svc, V1, &args);
    greeted_with(addr, &format!(" {}", args.join(" ")));
    assert_eq!(status(&svc)["child"]["args"], serde_json::json!(args));
}

#[test]
fn a_kept_listener_is_the_very_same_socket() {
    let (svc, addr) = start(V1, &[]);
    let before = tests::procfs::listening_inode(addr.port()).unwrap();
    reload(&svc, V1, &["--changed"]);
    reload(&svc, V2, &[]);
    tests::eventually("version 2 to answer", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("v2 "))
    });
    assert_eq!(tests::procfs::listening_inode(addr.port()), Some(before));
}

#[test]
fn a_listener_declared_on_another_ip_network_keeps_the_socket_bound_alike() {
    // `tcp:127.0.0.1:PORT` then `tcp4:127.0.0.1:PORT`: one socket, which a
    // second bind would find in use.
    keeps_its_socket_declared_on_tcp4("127.0.0.1");
}

#[test]
fn a_listener_on_a_host_name_declared_on_another_ip_network_keeps_its_socket() {
    // `tcp` on `localhost:PORT`, bound at `127.0.0.1:PORT`, then `tcp4`:
    // the name binds the same first IPv4 address, one socket (a second
    // bind found it in use, and the reload failed).
    keeps_its_socket_declared_on_tcp4("localhost");
}

/// `-http=HOST:PORT` on `tcp`, then a reload to the version that declares
/// `http` on `tcp4`: served on that very socket.
fn keeps_its_socket_declared_on_tcp4(host: &str) {
    let tcp4 = env!("CARGO_BIN_EXE_argv_tcp4");
    let port = free_port();
    let (mut svc, addr) = start(V1, &[&format!("-http={host}:{port}")]);
    if !addr.ip().is_loopback() || addr.is_ipv6() {
        svc.stop_expecting(0);
        return tests::skipped("`localhost` has no IPv4 address here");
    }
    let before = tests::procfs::listening_inode(port).unwrap();
    reload(&svc, tcp4, &[]);
    // On the port the serving child's arguments gave, kept.
    tests::eventually("the tcp4 version to answer", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("tcp4 "))
    });
    assert_eq!(tests::procfs::listening_inode(port), Some(before));
    assert_eq!(status(&svc)["listeners"][0]["network"], "tcp4");
    svc.stop_expecting(0);
}

#[test]
fn a_port_0_listener_declared_on_another_ip_network_keeps_its_port() {
    // `tcp:127.0.0.1:0`, bound at port P, then `tcp4:127.0.0.1:0`: the
    // socket P names, as README says a listener on port 0 keeps its port.
    let tcp4 = env!("CARGO_BIN_EXE_argv_tcp4");
    let (mut svc, addr) = start(V1, &[]);
    let before = tests::procfs::listening_inode(addr.port()).unwrap();
    reload(&svc, tcp4, &[]);
    tests::eventually("the tcp4 version to answer", || {
        read_greeting(addr).ok().filter(|g| g.starts_with("tcp4 "))
    });
    assert_eq!(tests::procfs::listening_inode(addr.port()), Some(before));
    let listener = &status(&svc)["listeners"][0];
    assert_eq!(listener["network"], "tcp4", "{listener}");
    assert_eq!(listener["address"], addr.to_string(), "{listener}");
    svc.stop_expecting(0);
}

#[test]
fn a_moved_listener_serves_on_its_new_port_and_the_old_one_closes() {
    // On a port of its own (one asked for on port 0 is kept until the old
    // child exits: bound anew it would get another port).
    let first = format!("-http=127.0.0.1:{}", free_port());
    // The old child stays after its drain while its gate stands (its
    // lameduck timeout is 10 s), holding its copy of the socket.
    let mut svc = Service::new(V1);
    let gate = svc.start_gated("LINGER_GATE", &[&first, "--linger-ms=5000"]);
    let old = svc.printed_addr("http");
    svc.ready();
    let old_pid: i32 = svc.printed("pid");
    let in_flight = TcpStream::connect(old).unwrap();
    (in_flight.set_read_timeout(Some(tests::DEADLINE))).unwrap();
    // Answered on a later connection: the kernel hands connections over in
    // order, so the old child has accepted the first.
    assert!(read_greeting(old).unwrap().starts_with("v1 "));
    let port = free_port();
    let new = SocketAddr::from(([127, 0, 0, 1], port));
    let out = reload(&svc, V1, &[&format!("-http=127.0.0.1:{port}")]);
    // From the take-over on, the old port refuses, while the old child
    // is still there: nothing is queued for nobody.
    svc.output.wait_for("lingering");
    assert!(refused(old), "the old port still takes connections");
    assert!(tests::alive(old_pid), "checked too late to tell");
    std::fs::remove_file(&gate).unwrap();
    // The reload says what it moves.
    let moved = format!("  listener `http`: tcp {old} -> tcp {new}\n");
    assert!(text(&out).contains(&moved), "{}", text(&out));
    assert!(read_greeting(new).unwrap().starts_with("v1 "));
    assert_eq!(
        status(&svc)["child"]["args"],
        serde_json::json!([format!("-http=127.0.0.1:{port}")])
    );
    // The connection made before the move is answered by the old child.
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut { in_flight }, &mut reply).unwrap();
    assert!(reply.starts_with("v1 "), "{reply:?}");
    let listeners = &status(&svc)["listeners"];
    assert_eq!(
        listeners[0]["address"],
        format!("127.0.0.1:{port}"),
        "{listeners}"
    );
    svc.stop_expecting(0);
}

#[test]
fn a_new_version_with_one_more_listener_gets_it_bound_and_listed() {
    let (svc, http) = start(V1, &[]);
    let out = reload(&svc, V2, &[]);
    let admin: SocketAddr = svc.printed_addr("admin");
    let added = format!("  listener `admin`: new, tcp {admin}\n");
    assert!(text(&out).contains(&added), "{}", text(&out));
    assert!(!text(&out).contains("`http`"), "{}", text(&out));
    assert!(read_greeting(admin).unwrap().starts_with("v2 "));
    tests::eventually("version 2 to answer on http", || {
        read_greeting(http).ok().filter(|g| g.starts_with("v2 "))
    });
    let listeners = status(&svc)["listeners"].clone();
    assert_eq!(listeners[1]["name"], "admin", "{listeners}");
    assert_eq!(listeners[1]["address"], admin.to_string(), "{listeners}");
    let human = svc.control_with(V1, "status", &[]);
    assert!(
        text(&human).contains(&format!("admin:\ttcp {admin}")),
        "{}",
        text(&human)
    );
}

#[test]
fn a_removed_listener_refuses_from_the_take_over() {
    let admin = format!("-admin=127.0.0.1:{}", free_port());
    let (svc, http) = start(V2, &[&admin, "kept"]);
    let admin: SocketAddr = svc.printed_addr("admin");
    reload(&svc, V1, &[]);
    assert!(
        refused(admin),
        "the removed listener still takes connections"
    );
    let greeting = tests::eventually("version 1 to answer", || {
        read_greeting(http).ok().filter(|g| g.starts_with("v1 "))
    });
    // Its flag is not handed to a program that has no such listener; the
    // program's own arguments are.
    assert!(greeting.ends_with(" kept\n"), "{greeting:?}");
    assert!(!greeting.contains("-admin"), "{greeting:?}");
    tests::eventually("the removed listener to close", || {
        refused(admin).then_some(())
    });
    assert_eq!(status(&svc)["listeners"].as_array().unwrap().len(), 1);
}

#[test]
fn a_busy_port_refuses_the_whole_reload_and_changes_nothing() {
    let (svc, http) = start(V1, &[]);
    let first = read_greeting(http).unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let supervisor = svc.pid() as u32;
    let fds = tests::procfs::footprint(supervisor).unwrap().fds;
    let out = svc.control_with(V2, "reload", &[&format!("-admin=127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("-admin: cannot listen on tcp 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("in use"), "{err}");
    // The old child serves on, untouched; no child was started.
    assert_eq!(read_greeting(http).unwrap(), first);
    assert!(!svc.output.text().contains("argv v2"));
    // Once the supervisor has seen the client's connection close: no
    // socket of the refused reload stays open.
    tests::eventually(
        "the supervisor's fds to come back to where they were",
        || (tests::procfs::footprint(supervisor).unwrap().fds == fds).then_some(()),
    );
    assert_eq!(status(&svc)["child"]["path"], V1);
}

#[test]
fn a_bind_whose_thread_cannot_start_fails_the_reload_and_the_supervisor_serves_on() {
    // Thread creation refused (a cgroup's `pids.max`, `RLIMIT_NPROC`), as
    // the test hook makes it: tokio's blocking pool panicked then, and
    // took the supervisor down.
    let mut svc = Service::new(V1);
    svc.start_with_env(&[], &[("LITTLEBOSS_TEST_BIND_THREAD_FAILS", &"1")]);
    let http = svc.printed_addr("http");
    svc.ready();
    let first = read_greeting(http).unwrap();
    let admin = format!("-admin=127.0.0.1:{}", free_port());
    let out = svc.control_with(V2, "reload", &[&admin]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cannot start a thread to bind the listeners"),
        "{}",
        text(&out)
    );
    assert_eq!(read_greeting(http).unwrap(), first);
    assert_eq!(status(&svc)["child"]["path"], V1);
    svc.stop_expecting(0);
}

#[test]
fn a_reload_that_adds_a_listener_loses_nothing_on_the_kept_one() {
    let (mut svc, http) = start(V1, &[]);
    let load = tests::Load::start(http);
    tests::eventually("load to run", || (load.count() > 20).then_some(()));
    reload(&svc, V2, &[]);
    tests::eventually("the new version to answer", || {
        (load.count() > 20 && !load.recent(20, |r| !r.as_ref().is_ok_and(|r| r.starts_with("v2 "))))
            .then_some(())
    });
    let replies = load.finish();
    let failed: Vec<_> = replies.iter().filter(|r| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        replies.len()
    );
    svc.stop_expecting(0);
}

#[test]
fn a_rollback_after_an_argument_change_restores_the_old_arguments() {
    let (svc, http) = start(V1, &["--db=a"]);
    reload(&svc, DIES, &["--db=b"]);
    svc.output.wait_for("argv dies: dying");
    let back = tests::eventually("version 1 to serve again", || {
        read_greeting(http).ok().filter(|r| r.starts_with("v1 "))
    });
    assert!(back.ends_with(" --db=a\n"), "{back:?}");
    let status = status(&svc);
    assert_eq!(status["child"]["path"], V1);
    assert_eq!(status["child"]["args"], serde_json::json!(["--db=a"]));
}

#[test]
fn a_rollback_after_a_move_serves_the_old_address_again() {
    // Let go of at the take-over, the old address is bound anew.
    let first = format!("-http=127.0.0.1:{}", free_port());
    let (svc, old) = start(V1, &[&first]);
    let port = free_port();
    reload(&svc, DIES, &[&format!("-http=127.0.0.1:{port}")]);
    svc.output.wait_for("argv dies: dying");
    tests::eventually("version 1 to serve the old address again", || {
        read_greeting(old).ok().filter(|r| r.starts_with("v1 "))
    });
    let status = status(&svc);
    assert_eq!(status["child"]["path"], V1);
    assert_eq!(status["listeners"][0]["address"], old.to_string());
}

#[test]
fn two_listeners_on_one_address_are_refused_by_start_bypass_and_reload_alike() {
    let port = free_port();
    let shared = format!("-http=127.0.0.1:{port}");
    let also = format!("-admin=127.0.0.1:{port}");
    let want = format!("listeners `http` and `admin` both ask for tcp 127.0.0.1:{port}");
    let svc = Service::new(V2);
    let refused = svc
        .command(V2)
        .args(["-littleboss=start", &shared, &also])
        .output_in_time();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains(&want), "{}", text(&refused));
    assert!(!svc.control_dir().exists(), "start made its folder");
    // Bypass tells the same mistake the same way, not "address in use".
    let bypass = svc.command(V2).args([&shared, &also]).output_in_time();
    assert_eq!(bypass.status.code(), Some(2), "{}", text(&bypass));
    assert!(text(&bypass).contains(&want), "{}", text(&bypass));

    let (mut svc, addr) = start(V1, &[]);
    // A reload too, before it asks the supervisor: two listeners it
    // gives one socket, which no supervisor takes.
    let out = svc.control_with(V2, "reload", &[&shared, &also]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("reload of "), "{}", text(&out));
    assert!(text(&out).contains(&want), "{}", text(&out));
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn a_listener_given_the_address_status_shows_keeps_its_socket() {
    // Started on a free port: the address `status` shows is the one to
    // give, as the "in use" message advises, and it is the same socket.
    let (mut svc, http) = start(V1, &[]);
    let shown = status(&svc)["listeners"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shown, http.to_string());
    let out = reload(&svc, V1, &[&format!("-http={shown}"), "--again"]);
    assert!(
        !text(&out).contains("listener `http`"),
        "told of a change: {}",
        text(&out)
    );
    // The new child answers on the very socket.
    greeted_with(http, " --again");
    assert_eq!(status(&svc)["listeners"][0]["address"], shown.as_str());
    svc.stop_expecting(0);
}

#[test]
fn a_listener_given_port_0_again_keeps_its_socket_and_port() {
    // Started on port 0 (the fixture's default): new arguments that ask
    // for port 0 again mean the port it got, not another one.
    let (mut svc, http) = start(V1, &[]);
    let before = tests::procfs::listening_inode(http.port()).unwrap();
    let out = reload(&svc, V1, &["-http=127.0.0.1:0", "--zero"]);
    assert!(
        !text(&out).contains("listener `http`"),
        "told of a change: {}",
        text(&out)
    );
    greeted_with(http, " --zero");
    assert_eq!(tests::procfs::listening_inode(http.port()), Some(before));
    assert_eq!(
        status(&svc)["listeners"][0]["address"],
        http.to_string().as_str()
    );
    svc.stop_expecting(0);
}

#[test]
fn a_reload_to_its_own_port_spelled_another_way_says_this_service_holds_it() {
    let port = free_port();
    let (mut svc, addr) = start(V1, &[&format!("-http=127.0.0.1:{port}")]);
    // 0.0.0.0 is another socket, which the one held on 127.0.0.1 blocks.
    let out = svc.control_with(V1, "reload", &[&format!("-http=0.0.0.0:{port}")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let held = format!("this service holds tcp 127.0.0.1:{port} already");
    assert!(
        text(&out).contains("Address already in use"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains(&held), "{}", text(&out));
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    // The spelling the message gives keeps that very socket.
    let given = text(&out)
        .split("give `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no spelling in {}", text(&out)))
        .to_owned();
    assert_eq!(given, format!("127.0.0.1:{port}"));
    let out = svc.control_with(V1, "reload", &[&format!("-http={given}")]);
    assert!(out.status.success(), "{}", text(&out));
    // And the way to that other address it gives: by another port.
    let refused = svc.control_with(V1, "reload", &[&format!("-http=0.0.0.0:{port}")]);
    let advice = format!(
        "to listen on another address of port {port}, reload to another port first, or stop and start the service"
    );
    assert!(text(&refused).contains(&advice), "{}", text(&refused));
    reload(&svc, V1, &[&format!("-http=127.0.0.1:{}", free_port())]);
    reload(&svc, V1, &[&format!("-http=0.0.0.0:{port}")]);
    assert!(read_greeting(addr).unwrap().starts_with("v1 "));
    svc.stop_expecting(0);
}

#[test]
fn a_reload_to_its_own_wildcard_port_spelled_another_way_is_told_the_spelling_that_keeps_it() {
    let port = free_port();
    let (mut svc, _) = start(V1, &[&format!("-http=:{port}")]);
    let shown = status(&svc)["listeners"][0]["address"].clone();
    // `status` shows `[::]:PORT` (or `0.0.0.0:PORT` without IPv6), which
    // asked for is another socket; the message says what keeps it.
    let out = svc.control_with(
        V1,
        "reload",
        &[&format!("-http={}", shown.as_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("to keep that socket, give `:{port}`")),
        "{}",
        text(&out)
    );
    let out = svc.control_with(V1, "reload", &[&format!("-http=:{port}")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(status(&svc)["listeners"][0]["address"], shown);
    svc.stop_expecting(0);
}

#[test]
fn a_relative_unix_socket_is_bound_where_the_reload_is_run_from_or_refused() {
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let (home, ops) = (svc.dir.path().join("home"), svc.dir.path().join("ops"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&ops).unwrap();
    // As the supervisor will report them (without a symlink of the path).
    let (home, ops) = (home.canonicalize().unwrap(), ops.canonicalize().unwrap());
    let mut cmd = svc.command(bin);
    cmd.current_dir(&home)
        .args(["-littleboss=start", "-sock=a.sock"]);
    svc.spawn(cmd);
    svc.ready();
    let greet = |path: &std::path::Path| tests::read_unix_greeting(path).ok();
    let first = greet(&home.join("a.sock")).expect("served in the start's folder");
    let reload_in = |dir: &std::path::Path, args: &[&str]| {
        svc.command(bin)
            .current_dir(dir)
            .arg("-littleboss=reload")
            .args(args)
            .output_in_time()
    };
    // From another folder, a new relative path is refused: the supervisor
    // would bind it in its own folder, not where the caller meant.
    let out = reload_in(&ops, &["-sock=b.sock"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refusal = format!(
        "`b.sock` is relative, and the supervisor would bind it in its own folder, {}, not in this one, {}",
        home.display(),
        ops.display()
    );
    assert!(text(&out).contains(&refusal), "{}", text(&out));
    assert!(!home.join("b.sock").exists() && !ops.join("b.sock").exists());
    assert_eq!(
        greet(&home.join("a.sock")),
        Some(first.clone()),
        "untouched"
    );
    // The socket it holds is kept from anywhere.
    let out = reload_in(&ops, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let second = tests::eventually("the new child to answer", || {
        greet(&home.join("a.sock")).filter(|r| *r != first)
    });
    // Spelled another way in its folder, it is the same socket: kept, not
    // probed as someone else's and refused as in use.
    let out = reload_in(&home, &["-sock=./a.sock"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("listener `sock`"), "{}", text(&out));
    let third = tests::eventually("the next child to answer", || {
        greet(&home.join("a.sock")).filter(|r| *r != second)
    });
    // So is its absolute path, from anywhere.
    let held = home.join("a.sock");
    let out = reload_in(&ops, &[&format!("-sock={}", held.display())]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("listener `sock`"), "{}", text(&out));
    tests::eventually("the child after it to answer", || {
        greet(&held).filter(|r| *r != third)
    });
    // An absolute path is bound from anywhere, with a word on where the
    // child runs.
    let absolute = ops.join("c.sock");
    let out = reload_in(&ops, &[&format!("-sock={}", absolute.display())]);
    assert!(out.status.success(), "{}", text(&out));
    let note = format!(
        "the new child runs in {} (the supervisor's folder), not in {}",
        home.display(),
        ops.display()
    );
    assert!(text(&out).contains(&note), "{}", text(&out));
    assert!(greet(&absolute).is_some_and(|r| r.starts_with("unix ")));
    // From the supervisor's own folder a relative path means its folder.
    let out = reload_in(&home, &["-sock=d.sock"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("the new child runs in"),
        "{}",
        text(&out)
    );
    assert!(greet(&home.join("d.sock")).is_some_and(|r| r.starts_with("unix ")));
    // Folders are told apart by what they are, not by their paths: with
    // the supervisor's folder moved away and another made at its path, a
    // relative path from there would land in the moved one.
    let moved = svc.dir.path().join("moved");
    std::fs::rename(&home, &moved).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let out = reload_in(&home, &["-sock=e.sock"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refusal = format!("not the one this command finds at {}", home.display());
    assert!(text(&out).contains(&refusal), "{}", text(&out));
    assert!(!moved.join("e.sock").exists() && !home.join("e.sock").exists());
    svc.stop_expecting(0);
}

#[test]
fn a_sighup_to_a_file_replaced_by_one_without_a_listener_gives_the_program_not_its_flag() {
    // A release replaced in place (the same path, another file), with no
    // `admin` listener; SIGHUP runs it with the serving child's arguments.
    let mut svc = Service::new(V2);
    let release = svc.dir.path().join("argv");
    tests::copy_binary(std::path::Path::new(V2), &release);
    let admin = format!("-admin=127.0.0.1:{}", free_port());
    let mut cmd = svc.command(&release);
    cmd.args(["-littleboss=start", &admin, "kept"]);
    svc.spawn(cmd);
    let http = svc.printed_addr("http");
    svc.ready();
    let next = svc.dir.path().join("argv.next");
    tests::copy_binary(std::path::Path::new(V1), &next);
    std::fs::rename(&next, &release).unwrap();
    svc.signal(nix::sys::signal::Signal::SIGHUP);
    let greeting = tests::eventually("version 1 to answer", || {
        read_greeting(http).ok().filter(|g| g.starts_with("v1 "))
    });
    assert!(greeting.ends_with(" kept\n"), "{greeting:?}");
    assert!(!greeting.contains("-admin"), "{greeting:?}");
}

#[test]
fn a_held_unix_socket_asked_for_through_a_symlinked_folder_is_named_as_ours() {
    // `/run/app.sock` held, `/var/run/app.sock` asked for: the same file,
    // another path. Refused naming the spelling that keeps it, and not
    // connected to as another program's socket to see if it is stale.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let run = svc.dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let run = run.canonicalize().unwrap();
    let var_run = svc.dir.path().join("var-run");
    std::os::unix::fs::symlink(&run, &var_run).unwrap();
    let held = run.join("app.sock");
    let sock = format!("-sock={}", held.display());
    svc.start(&[&sock, "-port=127.0.0.1:0"]);
    svc.ready();
    let through = var_run.join("app.sock");
    let out = svc.control_with(bin, "reload", &[&format!("-sock={}", through.display())]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = format!(
        "-sock: cannot listen on unix {}: it is the socket this service holds as unix {} already, by another path: give `{}` to keep it, or another path for another socket",
        through.display(),
        held.display(),
        held.display()
    );
    assert!(text(&out).contains(&said), "{}", text(&out));
    // The child serves on.
    let reply = tests::read_unix_greeting(&held).unwrap();
    assert!(reply.starts_with("unix "), "{reply}");
}

#[test]
fn a_tcp_address_given_to_a_unix_listener_is_refused_naming_the_file_it_would_make() {
    // `-sock=:9090`, meant for a TCP listener: no socket file `:9090` in
    // the working folder (the service's own here), at start, run directly
    // nor at a reload, which keeps the child.
    let bin = env!("CARGO_BIN_EXE_unix_server");
    let mut svc = Service::new(bin);
    let here = svc.dir.path().to_owned();
    let run = |svc: &Service, mode: &str, args: &[&str]| {
        let mut cmd = svc.command(bin);
        cmd.current_dir(&here)
            .arg(format!("-littleboss={mode}"))
            .args(args);
        cmd.output_in_time()
    };
    let said = "-sock: unix path `:9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./:9090`)";
    for mode in ["start", "bypass"] {
        let out = run(&svc, mode, &["-sock=:9090", "-port=127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", text(&out));
        assert!(text(&out).contains(said), "{mode}: {}", text(&out));
    }
    let held = here.join("app.sock");
    svc.start(&[&format!("-sock={}", held.display()), "-port=127.0.0.1:0"]);
    svc.ready();
    let out = run(&svc, "reload", &["-sock=:9090"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(said), "{}", text(&out));
    assert!(!here.join(":9090").exists());
    let reply = tests::read_unix_greeting(&held).unwrap();
    assert!(reply.starts_with("unix "), "{reply}");
}
