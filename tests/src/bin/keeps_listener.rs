//! Keeps its listener until it exits, as `axum::serve` does until its last
//! connection ends: answers `keeps PID` until lameduck, then drains with
//! the listener still open: until the file `DRAIN_GATE` names is removed
//! (at most 25 s: with the 1 s grace before it, within its 30 s lameduck
//! timeout), so that a test on a
//! loaded machine looks at it draining for as long as it needs; without
//! one, for 8 s.

use tokio::io::AsyncWriteExt;

#[littleboss::main(
    name = "keeps_listener",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "30s"
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
    tests::fixture::hold_while_gated(
        "DRAIN_GATE",
        std::time::Duration::from_secs(25),
        std::time::Duration::from_secs(8),
    )
    .await;
    drop(listener);
}
