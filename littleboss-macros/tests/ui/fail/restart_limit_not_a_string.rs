#[littleboss::main(name = "svc", persist, restart_limit = 5)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
