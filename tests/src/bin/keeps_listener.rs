//! Keeps its listeners until it exits, as `axum::serve` does until its last
//! connection ends: answers `keeps PID` until lameduck, then drains for 8 s
//! with the listeners still open. A unix listener too, if given a path.

use tokio::io::AsyncWriteExt;

#[littleboss::main(
    name = "keeps_listener",
    listener(addr = "tcp:127.0.0.1:0", sock = "unix:"),
    lameduck = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let unix = ctx.unix("sock");
    let pid = std::process::id();
    println!("addr={} pid={pid}", listener.local_addr().unwrap());
    let greeting = format!("keeps {pid}\n");
    let serving = async {
        loop {
            if let Ok((mut conn, _)) = listener.accept().await {
                let _ = conn.write_all(greeting.as_bytes()).await;
            }
        }
    };
    let serving_unix = async {
        let Some(unix) = &unix else {
            return std::future::pending().await;
        };
        loop {
            if let Ok((mut conn, _)) = unix.accept().await {
                let _ = conn.write_all(greeting.as_bytes()).await;
            }
        }
    };
    tokio::select! {
        _ = serving => {}
        _ = serving_unix => {}
        _ = ctx.lameduck() => {}
    }
    println!("draining pid={pid}");
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    drop((listener, unix));
}
