//! Version 2 of the `argv` service: declares one more listener, `admin`,
//! and answers on both with `v2 PID ARGS…`.

#[littleboss::main(
    name = "argv",
    listener(http = "tcp:127.0.0.1:0", admin = "tcp:127.0.0.1:0")
)]
async fn main(ctx: littleboss::Context) {
    let http = ctx.tcp("http").expect("http listener");
    let admin = ctx.tcp("admin").expect("admin listener");
    let pid = std::process::id();
    let args = ctx.args()[1..].join(" ");
    println!(
        "argv v2 pid={pid} http={} admin={} args=[{args}]",
        http.local_addr().unwrap(),
        admin.local_addr().unwrap()
    );
    let greeting = format!("v2 {pid} {args}");
    tokio::join!(
        tests::fixture::serve_greetings(http, greeting.clone(), ctx.lameduck()),
        tests::fixture::serve_greetings(admin, greeting, ctx.lameduck()),
    );
}
