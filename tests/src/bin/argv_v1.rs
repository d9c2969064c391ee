//! Version 1 of the `argv` service: answers each connection on `http`
//! with `v1 PID ARGS…` (its own arguments) until lameduck.

#[littleboss::main(name = "argv", listener(http = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("http").expect("http listener");
    let pid = std::process::id();
    let args = ctx.args()[1..].join(" ");
    println!(
        "argv v1 pid={pid} http={} args=[{args}]",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("v1 {pid} {args}"), ctx.lameduck()).await;
}
