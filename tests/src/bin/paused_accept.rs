//! An echo server whose accept loop a test can pause: while the file
//! named by `PAUSE_FILE` exists it accepts nothing (it says `accept loop
//! paused` once: words no line of the supervisor's holds, though they name
//! the service and its binary `paused_accept`),
//! so connections wait in the kernel's queue. Serves until lameduck, then
//! finishes the connections it has.

#[littleboss::main(
    name = "paused_accept",
    listener(addr = "tcp:127.0.0.1:0"),
    lameduck = "20s",
    grace = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("addr={}", listener.local_addr().unwrap());
    tests::fixture::serve_paused_echo(&ctx, listener).await;
}
