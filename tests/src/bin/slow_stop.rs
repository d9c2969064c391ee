//! Answers each connection with a greeting until lameduck, then takes five
//! seconds to finish (work in flight) before it exits: time enough for a
//! test on a loaded machine to look at it finishing.

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
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    println!("finished");
}
