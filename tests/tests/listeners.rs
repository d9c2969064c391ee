//! The listener matrix (Go's TestListenerFlag, plus a unix socket),
//! identical in bypass and under a supervisor.

use tests::{OutputInTime, Service, text};

const ARGS: &[&str] = &[
    "-abool",
    "-addr1=127.0.0.1:0",
    "-addr2=",
    "-addr3=",
    "-addr4=127.0.0.1:0",
    "rest",
];

fn check(mode: &str) {
    let svc = Service::new(env!("CARGO_BIN_EXE_listeners"));
    let sock = svc.dir.path().join("addr8.sock");
    let out = svc
        .command(&svc.bin)
        .args(ARGS)
        .arg(format!("-addr8={}", sock.display()))
        .arg(format!("-littleboss={mode}"))
        .output_in_time();
    assert!(out.status.success(), "{mode}: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 11, "{mode}: {lines:#?}");
    let value = |i: usize| lines[i].split_once("= ").unwrap().1.to_owned();
    let want = [true, true, false, false, true, false, false, true];
    for (i, want_addr) in want.into_iter().enumerate() {
        let v = value(i);
        assert!(
            lines[i].starts_with(&format!("addr{i}= ")),
            "{mode}: {}",
            lines[i]
        );
        if want_addr {
            let addr: std::net::SocketAddr = v
                .parse()
                .unwrap_or_else(|e| panic!("{mode}: addr{i}={v}: {e}"));
            assert_eq!(addr.ip().to_string(), "127.0.0.1");
            assert_ne!(addr.port(), 0, "{mode}: addr{i} not resolved");
        } else {
            assert_eq!(v, "nil", "{mode}: addr{i}");
        }
    }
    assert_eq!(lines[8], format!("addr8= {}", sock.display()), "{mode}");
    assert_eq!(lines[9], "args= -abool rest", "{mode}");
    assert_eq!(lines[10], "channel env= None", "{mode}");
    if mode == "start" {
        // The supervisor bound the unix socket and removed it at its final exit.
        assert!(!sock.exists(), "unix socket file left behind");
    }
}

#[test]
fn listener_matrix_in_bypass() {
    check("bypass");
}

#[test]
fn listener_matrix_under_a_supervisor() {
    check("start");
}

#[test]
fn a_listener_not_declared_or_of_another_kind_panics_saying_which() {
    let svc = Service::new(env!("CARGO_BIN_EXE_listeners"));
    for (arg, said) in [
        (
            "--take-undeclared",
            "littleboss: no listener named `nope` is declared (declared: addr0, addr1,",
        ),
        (
            "--take-wrong-kind",
            "littleboss: listener `addr0` is tcp, not udp; use ctx.tcp(\"addr0\")",
        ),
    ] {
        let out = svc.command(&svc.bin).arg(arg).output_in_time();
        tests::exits_saying(&out, 101, said);
    }
}

#[test]
fn a_udp_listener_is_shared_across_a_reload_on_the_same_port() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_udp_echo"));
    svc.start(&[]);
    svc.ready();
    let addr = svc.printed_addr("addr");
    let first: u32 = svc.printed("serving udp pid");
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let ask = || -> Option<u32> {
        client.send_to(b"?", addr).ok()?;
        let mut answer = [0u8; 32];
        let n = client.recv(&mut answer).ok()?;
        std::str::from_utf8(&answer[..n]).ok()?.parse().ok()
    };
    assert_eq!(tests::eventually("the first child to answer", ask), first);
    svc.reload_ok();
    // The new child answers on the same socket; the old one stopped
    // reading as it began to drain, and has gone.
    let second = tests::eventually("the new child to answer", || ask().filter(|p| *p != first));
    svc.output.wait_for(&format!("udp pid={first} drained"));
    tests::wait_dead("the old child to exit", first as i32);
    let text = svc.output.text();
    let addrs: Vec<&str> = (text.lines())
        .filter(|l| l.starts_with("serving udp pid="))
        .map(|l| l.rsplit_once("addr=").unwrap().1)
        .collect();
    assert_eq!(addrs, [addr.to_string(), addr.to_string()], "{text}");
    assert!(
        text.contains(&format!("serving udp pid={second} ")),
        "{text}"
    );
    svc.stop_expecting(0);
}
