//! The listener matrix (Go's TestListenerFlag), identical in bypass and
//! under a supervisor.

use tests::{Service, text};

const ARGS: &[&str] = &[
    "-abool",
    "-addr1=127.0.0.1:0",
    "-addr2=",
    "-addr3=",
    "-addr4=127.0.0.1:0",
    "rest",
];

fn run(mode: &str) -> Vec<String> {
    let svc = Service::new(env!("CARGO_BIN_EXE_listeners"));
    let out = svc
        .command(&svc.bin)
        .args(ARGS)
        .arg(format!("-littleboss={mode}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{mode}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn check(mode: &str) {
    let lines = run(mode);
    assert_eq!(lines.len(), 9, "{mode}: {lines:#?}");
    let value = |i: usize| lines[i].split_once("= ").unwrap().1.to_owned();
    for (i, want_addr) in [true, true, false, false, true, false, false, true]
        .into_iter()
        .enumerate()
    {
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
    assert_eq!(lines[8], "args= -abool rest", "{mode}");
}

#[test]
fn listener_matrix_in_bypass() {
    check("bypass");
}

#[test]
fn listener_matrix_under_a_supervisor() {
    check("start");
}
