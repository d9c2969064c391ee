//! A short run of the reload benchmark's scenario as a correctness check:
//! reloads under continuous new-connection load fail no request. (Timing
//! figures come from `src/bin/bench.rs`, never from tests.)

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use examples::load::{Load, Mode, Outcome, failures};
use tests::{Service, text};

const RELOADS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_new_connection_load_fail_no_request() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_http"));
    svc.start(&["-http=127.0.0.1:0"]);
    let out = svc.output.wait_for("serving http://");
    let rest = &out[out.find("serving http://").unwrap() + 15..];
    let addr: SocketAddr = rest[..rest.find('/').unwrap()].parse().unwrap();
    svc.ready();

    let load = Load {
        addr,
        mode: Mode::NewConnection,
        workers: 8,
        timeout: Duration::from_secs(5),
    };
    let running = load.start(Instant::now());
    let svc = tokio::task::spawn_blocking(move || {
        for i in 0..RELOADS {
            let reload = svc.control("reload");
            assert!(reload.status.success(), "reload {i}: {}", text(&reload));
        }
        svc
    })
    .await
    .unwrap();
    let samples = running.stop().await;

    let failed = failures(&samples);
    assert!(
        failed.is_empty(),
        "{failed:?} of {} requests failed over {RELOADS} reloads",
        samples.len()
    );
    let pids: BTreeSet<u32> = samples
        .iter()
        .filter_map(|s| match s.outcome {
            Outcome::Ok { pid } => Some(pid),
            _ => None,
        })
        .collect();
    assert!(
        pids.len() > RELOADS / 2,
        "only {} children answered",
        pids.len()
    );
    assert_eq!(svc.control("stop").status.code(), Some(0));
}
