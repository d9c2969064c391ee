//! The `argv` service, a version that declares `http` on `tcp4` (version
//! 1 declares it on `tcp`): answers each connection with `tcp4 PID ARGS…`.

#[littleboss::main(name = "argv", listener(http = "tcp4:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("http").expect("http listener");
    let pid = std::process::id();
    let args = ctx.args()[1..].join(" ");
    println!(
        "argv tcp4 pid={pid} http={} args=[{args}]",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("tcp4 {pid} {args}"), ctx.lameduck()).await;
}
