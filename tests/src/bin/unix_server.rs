//! Answers `unix PID` on a unix-socket listener (off unless given a path).
//! A TCP listener declared after it (off unless given) lets a test make
//! the second bind fail. With `--linger` it stays after lameduck, as a
//! program finishing its work does: while the file `LINGER_GATE` names
//! exists (8 s at most: with the 1 s grace before it, within its 10 s
//! lameduck timeout), so that a test on a
//! loaded machine sees it still there, or 3 s without one; with
//! `--linger-long`, 9 s, for a test that ends it sooner itself. With `--panic` it
//! panics once serving, with a blocking job still running (which a
//! runtime dropped as the panic unwinds would wait for forever). With
//! `--exit-3` it calls `std::process::exit(3)` once serving.

use tokio::io::AsyncWriteExt;

#[littleboss::main(
    name = "unix_server",
    listener(sock = "unix:", port = "tcp:"),
    lameduck = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.unix("sock").expect("give -sock=PATH");
    let pid = std::process::id();
    println!("serving unix pid={pid}");
    if ctx.args().iter().any(|a| a == "--exit-3") {
        std::process::exit(3);
    }
    if ctx.args().iter().any(|a| a == "--panic") {
        tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_secs(3600)));
        panic!("told to panic");
    }
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        tokio::select! {
            _ = &mut lameduck => {
                println!("lameduck pid={pid}");
                let linger = |flag: &str| ctx.args().iter().any(|a| a == flag);
                if linger("--linger-long") {
                    tokio::time::sleep(std::time::Duration::from_secs(9)).await;
                } else if linger("--linger") {
                    tests::fixture::hold_while_gated(
                        "LINGER_GATE",
                        std::time::Duration::from_secs(8),
                        std::time::Duration::from_secs(3),
                    )
                    .await;
                }
                return;
            }
            accepted = listener.accept() => {
                if let Ok((mut conn, _)) = accepted {
                    let _ = conn.write_all(format!("unix {pid}\n").as_bytes()).await;
                }
            }
        }
    }
}
