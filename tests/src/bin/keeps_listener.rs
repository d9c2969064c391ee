//! Keeps its listener until it exits, as `axum::serve` does until its last
//! connection ends: answers `keeps PID` until lameduck, then drains with
//! the listener still open: until the file `DRAIN_GATE` names is removed
//! (at most 9 s, within its 10 s lameduck timeout), so that a test on a
//! loaded machine looks at it draining for as long as it needs; without
//! one, for 8 s.

use tokio::io::AsyncWriteExt;

#[littleboss::main(
    name = "keeps_listener",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!("addr={} pid={pid}", listener.local_addr().unwrap());
    let serving = async {
        loop {
            if let Ok((mut conn, _)) = listener.accept().await {
                let _ = conn.write_all(format!("keeps {pid}\n").as_bytes()).await;
            }
        }
    };
    tokio::select! {
        _ = serving => {}
        _ = ctx.lameduck() => {}
    }
    println!("draining pid={pid}");
    match std::env::var_os("DRAIN_GATE") {
        Some(gate) => {
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(9);
            while std::path::Path::new(&gate).exists() && tokio::time::Instant::now() < until {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        None => tokio::time::sleep(std::time::Duration::from_secs(8)).await,
    }
    drop(listener);
}
