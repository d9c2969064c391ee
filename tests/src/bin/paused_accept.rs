//! An echo server whose accept loop a test can pause: while the file
//! named by `PAUSE_FILE` exists it accepts nothing (it says `accept loop
//! paused` once: words no line of the supervisor's holds, though they name
//! the service and its binary `paused_accept`),
//! so connections wait in the kernel's queue. Serves until lameduck, then
//! finishes the connections it has.

use std::time::Duration;

#[littleboss::main(
    name = "paused_accept",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "20s",
    grace = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pause = std::path::PathBuf::from(std::env::var_os("PAUSE_FILE").expect("PAUSE_FILE"));
    println!("addr={}", listener.local_addr().unwrap());
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut connections = tokio::task::JoinSet::new();
    let mut said = false;
    loop {
        if pause.exists() {
            if !said {
                println!("accept loop paused");
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        tokio::select! {
            _ = &mut lameduck => break,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
            accepted = listener.accept() => {
                let Ok((conn, _)) = accepted else { continue };
                connections.spawn(tests::fixture::echo_line(conn));
            }
        }
    }
    println!("entering lameduck mode");
    let all_done = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
}
