//! A `paused_accept` still warming up: it takes its listener, accepts
//! nothing and is not ready (manual readiness, a minute to give), as a
//! reload's new child that warms its caches; for a test of what it takes
//! off the queue when the supervisor dies. Without `WARM_FILE` it warms
//! up for ever; with it, while the file it names exists, then it says
//! ready and serves as `paused_accept` does.

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
    let Some(warm) = std::env::var_os("WARM_FILE") else {
        ctx.lameduck().await;
        return drop(listener);
    };
    tests::fixture::warm_up(&warm).await;
    ctx.ready();
    tests::fixture::serve_paused_echo(&ctx, listener).await;
}
