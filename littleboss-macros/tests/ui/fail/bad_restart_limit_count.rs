#[littleboss::main(name = "svc", persist, restart_limit = "-1 in 60s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
