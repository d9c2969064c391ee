//! A `versioned` binary with manual readiness that takes 400 ms to warm up
//! before it calls `ctx.ready()` and serves `v4 PID`.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!("warming up version 4 pid={pid} argv0={}", ctx.args()[0]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    println!("version 4 ready pid={pid}");
    ctx.ready();
    tests::fixture::serve_greetings(listener, format!("v4 {pid}"), ctx.lameduck()).await;
}
