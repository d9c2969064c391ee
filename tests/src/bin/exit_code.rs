//! Exits with the code given as its first argument once lameduck begins.

#[littleboss::main(name = "exit_code")]
async fn main(ctx: littleboss::Context) {
    let code: i32 = ctx.args().get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    println!("serving pid={} code={code}", std::process::id());
    ctx.lameduck().await;
    std::process::exit(code);
}
