#[littleboss::main(name = myblog)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
