#[littleboss::main(name = "svc", restart_limit = "5 in 60s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
