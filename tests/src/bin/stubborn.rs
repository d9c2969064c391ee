//! Ignores lameduck for a full minute: only a second signal (or the 60 s
//! timeout) gets rid of it.

#[littleboss::main(name = "stubborn", lameduck = "60s")]
async fn main(ctx: littleboss::Context) {
    println!("started pid={}", std::process::id());
    ctx.lameduck().await;
    println!("ignoring lameduck");
    std::future::pending::<()>().await;
}
