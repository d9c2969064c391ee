//! A service with a 5 s ready timeout (so a new child has 5 s to say
//! hello), serving `impatient PID`.

#[littleboss::main(
    name = "impatient",
    listener(addr = "tcp:127.0.0.1:0"),
    ready_timeout = "5s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!(
        "impatient pid={pid} addr={}",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("impatient {pid}"), ctx.lameduck()).await;
}
