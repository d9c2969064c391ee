#[littleboss::main(name = "svc", persist, restart_limit = "5 in 0s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
