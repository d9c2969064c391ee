//! A `versioned` binary that never becomes ready (manual readiness) and,
//! once told to wind down, takes 300 ms and exits with code 3.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual"
)]
async fn main(ctx: littleboss::Context) {
    println!("version exit3 starting pid={}", std::process::id());
    ctx.lameduck().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    std::process::exit(3);
}
