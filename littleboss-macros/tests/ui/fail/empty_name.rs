#[littleboss::main(name = "")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
