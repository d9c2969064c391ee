//! Ready at its first wait, with a ready timeout of 200 ms, serving
//! `short_ready PID`.

#[littleboss::main(
    name = "short_ready",
    listener(addr = "tcp:127.0.0.1:0"),
    ready_timeout = "200ms"
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
