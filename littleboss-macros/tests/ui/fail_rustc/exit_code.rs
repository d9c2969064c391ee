// std's other `main` return type: refused, with the way to another code.
#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) -> std::process::ExitCode {
    ctx.lameduck().await;
    std::process::ExitCode::from(3)
}
