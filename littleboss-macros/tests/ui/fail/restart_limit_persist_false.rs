#[littleboss::main(name = "svc", restart_limit = "5 in 60s", persist = false)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
