//! Ready at its first wait, serving `short_ready PID`, with a ready
//! timeout of 2 s: short, for the tests that wait it out, and long enough
//! that a loaded machine still starts it in time (its hello must come
//! within it of the spawn too).

#[littleboss::main(
    name = "short_ready",
    listener(addr = "tcp:127.0.0.1:0"),
    ready_timeout = "2s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!(
        "short_ready pid={pid} addr={}",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("short_ready {pid}"), ctx.lameduck()).await;
}
