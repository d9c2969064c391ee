#[littleboss::main(name = "svc", crate = "nowhere")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
