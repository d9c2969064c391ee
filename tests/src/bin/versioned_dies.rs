//! A `versioned` binary that serves, then dies 300 ms later: a reload to it
//! succeeds and fallback must bring version 1 back.

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!("running version 3 pid={pid}");
    let dying = tokio::time::sleep(std::time::Duration::from_millis(300));
    tests::fixture::serve_greetings(listener, format!("v3 {pid}"), dying).await;
    println!("version 3 dying");
    std::process::exit(1);
}
