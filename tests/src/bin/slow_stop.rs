//! Answers each connection with a greeting until lameduck, then takes two
//! seconds to finish (work in flight) before it exits.

#[littleboss::main(
    name = "slow_stop",
    lameduck = "10s",
    listener(addr = "tcp:127.0.0.1:0")
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!("addr={}", listener.local_addr().unwrap());
    tests::fixture::serve_greetings(listener, "hello".to_owned(), ctx.lameduck()).await;
    println!("finishing");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    println!("finished");
}
