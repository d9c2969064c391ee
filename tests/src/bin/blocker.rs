//! Fixture that ignores lameduck (Go's `blocker`): it must be killed after
//! its 250 ms lameduck timeout.

#[littleboss::main(name = "blocker", lameduck = "250ms")]
async fn main(ctx: littleboss::Context) {
    println!("started pid={}", std::process::id());
    ctx.lameduck().await;
    println!("got lameduck signal, blocking");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
