//! A `paused_accept` still warming up: it takes its listener, accepts
//! nothing and never says ready (manual readiness, a minute to give), as a
//! reload's new child that warms its caches; for a test of what it takes
//! off the queue when the supervisor dies.

#[littleboss::main(
    name = "paused_accept",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "20s",
    grace = "10s",
    ready = "manual",
    ready_timeout = "60s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("warming up pid={}", std::process::id());
    ctx.lameduck().await;
    drop(listener);
}
