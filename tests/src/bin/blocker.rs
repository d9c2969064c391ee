//! Fixture that ignores lameduck (Go's `blocker`): it must be killed after
//! its 3 s lameduck timeout (long enough for a loaded machine to let it
//! say it got lameduck first).

#[littleboss::main(name = "blocker", lameduck = "3s")]
async fn main(ctx: littleboss::Context) {
    println!("started pid={}", std::process::id());
    ctx.lameduck().await;
    println!("got lameduck signal, blocking");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
