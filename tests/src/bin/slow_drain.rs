//! Takes half a second (or `--drain-ms=N`) to drain after lameduck, then
//! exits with code 7: a stop that kills it early shows up as 137 instead.

#[littleboss::main(name = "slow_drain", lameduck = "5s")]
async fn main(ctx: littleboss::Context) {
    println!("serving pid={}", std::process::id());
    ctx.lameduck().await;
    println!("draining");
    let ms = ctx
        .args()
        .iter()
        .find_map(|a| a.strip_prefix("--drain-ms="))
        .map_or(500, |ms| ms.parse().expect("--drain-ms=N"));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    println!("drained");
    std::process::exit(7);
}
