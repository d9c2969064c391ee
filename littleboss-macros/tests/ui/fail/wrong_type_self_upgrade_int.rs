#[littleboss::main(name = "svc", self_upgrade = 1)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
