//! Takes half a second to drain after lameduck, then exits with code 7:
//! a stop that kills it early shows up as 137 instead.

#[littleboss::main(name = "slow_drain", lameduck = "5s")]
async fn main(ctx: littleboss::Context) {
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    println!("draining");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    println!("drained");
    std::process::exit(7);
}
