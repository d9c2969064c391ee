#[littleboss::main(name = "svc", crate = "two words")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
