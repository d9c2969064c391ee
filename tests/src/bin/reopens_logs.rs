//! A program that "reopens its logs" on SIGUSR1, as a log rotation asks:
//! it says so each time.

#[littleboss::main(name = "reopens_logs", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut usr1 = signal(SignalKind::user_defined1()).expect("SIGUSR1 handler");
    println!("handling SIGUSR1 pid={}", std::process::id());
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        tokio::select! {
            _ = &mut lameduck => break,
            _ = usr1.recv() => println!("reopened logs"),
        }
    }
    println!("entering lameduck mode");
}
