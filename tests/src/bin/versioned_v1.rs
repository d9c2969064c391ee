//! Version 1 of the `versioned` service: answers each connection with
//! `v1 PID` until lameduck.

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    let pid = std::process::id();
    println!(
        "running version 1 pid={pid} addr={}",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("v1 {pid}"), ctx.lameduck()).await;
    println!("version 1 pid={pid} done");
}
