#[littleboss::main(name = "my blog")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
