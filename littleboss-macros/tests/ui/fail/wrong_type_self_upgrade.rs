#[littleboss::main(name = "svc", self_upgrade = "no")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
