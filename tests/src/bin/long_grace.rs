//! A line echo server written the natural way (accept until
//! `ctx.lameduck()`, then finish the connections accepted), with a grace
//! of 30 s: its drain ends early only because littleboss ends the grace
//! once every connection it accepted has closed. An answer given after
//! lameduck says so.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[littleboss::main(
    name = "long_grace",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "60s",
    grace = "30s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!("addr={} pid={pid}", listener.local_addr().unwrap());
    let draining = ctx.draining();
    tokio::spawn(async move {
        draining.await;
        println!("pid {pid} draining");
    });
    let after_lameduck = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut connections = tokio::task::JoinSet::new();
    let mut accepted = 0;
    loop {
        tokio::select! {
            () = &mut lameduck => break,
            conn = listener.accept() => {
                let Ok((conn, _)) = conn else { continue };
                accepted += 1;
                println!("pid {pid} accepted {accepted}");
                let after_lameduck = after_lameduck.clone();
                connections.spawn(async move {
                    let (read, mut write) = conn.into_split();
                    let mut line = String::new();
                    if BufReader::new(read).read_line(&mut line).await.is_ok() {
                        let when = match after_lameduck.load(std::sync::atomic::Ordering::SeqCst) {
                            true => "(after lameduck) ",
                            false => "",
                        };
                        let _ = write.write_all(format!("{pid} {when}{line}").as_bytes()).await;
                    }
                });
            }
        }
    }
    after_lameduck.store(true, std::sync::atomic::Ordering::SeqCst);
    println!("pid {pid} lameduck");
    connections.join_all().await;
}
