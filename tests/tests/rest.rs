//! At rest (one child serving alone, a second with nothing happening) the
//! supervisor returns free heap and drops its page-table entries for the
//! code it started with. Code it runs afterwards faults back in from the
//! file: it must go on supervising exactly as before.

use std::time::Duration;

use tests::{Service, echo, eventually_within, text};

const ECHO: &str = env!("CARGO_BIN_EXE_echo_server");

/// KiB of `pid`'s resident pages that are backed by files (code, mostly).
fn file_backed_kib(pid: i32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(field("Rss:")? - field("Anonymous:")?)
}

/// The serving child's pid, from `status`.
fn child_pid(svc: &Service) -> i32 {
    let status = svc.control("status");
    let out = String::from_utf8_lossy(&status.stdout).into_owned();
    out.lines()
        .find_map(|l| {
            l.strip_prefix("child")?
                .trim_start()
                .strip_prefix("pid ")?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no child pid in status:\n{out}"))
}

/// Waits until the supervisor holds less than half the code pages its
/// child does. Both run the same binary; only the supervisor drops them.
fn wait_for_rest(svc: &Service) {
    let (supervisor, child) = (svc.pid(), child_pid(svc));
    eventually_within(
        "the supervisor to drop its code pages",
        Duration::from_secs(10),
        || {
            let (s, c) = (file_backed_kib(supervisor)?, file_backed_kib(child)?);
            (s * 2 < c).then_some(())
        },
    );
}

#[test]
fn the_supervisor_works_on_after_dropping_its_code_pages() {
    let mut svc = Service::new(ECHO);
    svc.start(&[]);
    let addr = svc.printed_addr("addr");
    svc.ready();
    wait_for_rest(&svc);
    assert_eq!(echo(addr, "at rest").unwrap(), "at rest\n");

    // Everything a reload runs comes back from the file.
    let reload = svc.control("reload");
    assert!(
        reload.status.success(),
        "reload: {}\n{}",
        text(&reload),
        svc.output.text()
    );
    svc.output.wait_for_count("addr=", 2);
    svc.output.wait_for("old child pid");
    assert_eq!(echo(addr, "reloaded").unwrap(), "reloaded\n");

    // And again after a second rest, down to the exit code of `stop`.
    wait_for_rest(&svc);
    let status = svc.control("status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("reloads 1, failures 0"),
        "{}",
        text(&status)
    );
    let stop = svc.control("stop");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert_eq!(svc.wait_exit().code(), Some(0));
}
