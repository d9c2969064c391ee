#[littleboss::main(name = "svc", ready_timeout = "250ms")]
async fn main(ctx: littleboss::Context) -> Result<(), Box<dyn std::error::Error>> {
    ctx.lameduck().await;
    Ok(())
}
