//! Drops its listener at lameduck, then lingers for 5 s before exiting:
//! meanwhile its port must refuse connections.

#[littleboss::main(
    name = "lingering",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("addr={}", listener.local_addr().unwrap());
    ctx.lameduck().await;
    drop(listener);
    println!("lingering");
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
}
