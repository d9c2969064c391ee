//! `paused_accept` with two listeners, `addr` and `other`, each served
//! as `paused_accept` serves its one: both paused while `PAUSE_FILE`
//! exists (each says so once).

#[littleboss::main(
    name = "paused_accept_two",
    listener(addr = "tcp:127.0.0.1:0", other = "tcp:127.0.0.1:0"),
    lameduck = "20s",
    grace = "10s"
)]
async fn main(ctx: littleboss::Context) {
    let addr = ctx.tcp("addr").expect("addr listener");
    let other = ctx.tcp("other").expect("other listener");
    println!("addr={}", addr.local_addr().unwrap());
    println!("other={}", other.local_addr().unwrap());
    tokio::join!(
        tests::fixture::serve_paused_echo(&ctx, addr),
        tests::fixture::serve_paused_echo(&ctx, other),
    );
}
