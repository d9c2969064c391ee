#[littleboss::main(name = "myblog", listener(https = "tcp::443", admin = "tcp:"), lameduck = "5s")]
async fn main(ctx: littleboss::Context) {
    let https = ctx.tcp("https").expect("https listener enabled");
    let _ = https;
    ctx.lameduck().await;
}
