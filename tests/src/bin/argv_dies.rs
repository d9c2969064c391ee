//! An `argv` binary that serves, then dies 300 ms later: a reload to it
//! succeeds and fallback must bring back version 1 as it was.

#[littleboss::main(name = "argv", listener(http = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("http").expect("http listener");
    let pid = std::process::id();
    let args = ctx.args()[1..].join(" ");
    println!("argv dies pid={pid} args=[{args}]");
    let dying = tokio::time::sleep(std::time::Duration::from_millis(300));
    tests::fixture::serve_greetings(listener, format!("dies {pid} {args}"), dying).await;
    println!("argv dies: dying");
    std::process::exit(1);
}
