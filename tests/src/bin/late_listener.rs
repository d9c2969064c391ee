//! Takes its listener only 300 ms into main: a stop before that must not
//! find the listener gone.

#[littleboss::main(name = "late_listener", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    println!("warming up");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let listener = ctx.tcp("addr").expect("addr listener is still there");
    println!("took addr={}", listener.local_addr().unwrap());
    ctx.lameduck().await;
}
