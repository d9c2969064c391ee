//! Takes its listener only once lameduck has begun (a stop while it was
//! still starting): the listener must still be there.

#[littleboss::main(name = "late_listener", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    println!("warming up");
    ctx.lameduck().await;
    let listener = ctx.tcp("addr").expect("addr listener is still there");
    println!("took addr={}", listener.local_addr().unwrap());
}
