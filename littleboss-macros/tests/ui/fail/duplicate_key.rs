#[littleboss::main(name = "svc", persist, name = "other")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
