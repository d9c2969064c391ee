//! At rest (one child serving alone, a second with nothing happening) the
//! supervisor returns free heap and drops its page-table entries for the
//! code it started with. Code it runs afterwards faults back in from the
//! file: it must go on supervising exactly as before.

use std::time::{Duration, Instant};

use tests::{Service, echo, text};

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

/// Waits until the supervisor is seen dropping its code pages. A status
/// request runs code (so its file-backed RSS is high just after) and
/// starts its second of rest over; then that RSS must fall by at least
/// 512 KiB (about 1 MiB in practice). Should this test be held up past
/// the rest, the drop is missed: the cycle starts over.
fn wait_for_rest(svc: &Service) {
    let supervisor = svc.pid();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let status = svc.control("status");
        assert!(status.status.success(), "status: {}", text(&status));
        let before = file_backed_kib(supervisor).expect("the supervisor's smaps");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let now = file_backed_kib(supervisor).expect("the supervisor's smaps");
            if now + 512 <= before {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        seen.push((before, file_backed_kib(supervisor)));
    }
    panic!("the supervisor never dropped its code pages: (before, after) KiB {seen:?}");
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
    svc.reload_ok();
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
    svc.stop_expecting(0);
}
