//! `paused_accept_unready` with a second listener, `extra`, that the
//! serving `paused_accept` never held: a reload to it adds a listener.
//! It says `extra=ADDR`, then warms up (not ready, accepting nothing)
//! while the file `WARM_FILE` names exists, then says ready and serves
//! `extra` as `paused_accept` does (`addr` is the serving child's).

#[littleboss::main(
    name = "paused_accept",
    listener(addr = "tcp:127.0.0.1:0", extra = "tcp:127.0.0.1:0"),
    lameduck = "20s",
    grace = "10s",
    ready = "manual",
    ready_timeout = "60s"
)]
async fn main(ctx: littleboss::Context) {
    let _addr = ctx.tcp("addr").expect("addr listener");
    let extra = ctx.tcp("extra").expect("extra listener");
    println!("extra={}", extra.local_addr().unwrap());
    println!("warming up pid={}", std::process::id());
    let warm = std::env::var_os("WARM_FILE").expect("WARM_FILE");
    tests::fixture::warm_up(&warm).await;
    ctx.ready();
    tests::fixture::serve_paused_echo(&ctx, extra).await;
}
