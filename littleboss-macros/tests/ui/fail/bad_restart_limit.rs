#[littleboss::main(name = "svc", persist, restart_limit = "5 per 60s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
